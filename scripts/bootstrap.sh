#!/usr/bin/env bash
# Create (or reuse) .venv and install msenas with every dependency. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  # A CUDA torch installed in the machine's python (a GPU image) stays visible inside .venv.
  if "$PY" -c "import sys, torch; sys.exit(torch.version.cuda is None)" 2>/dev/null; then
    "$PY" -m venv --system-site-packages .venv
  else
    "$PY" -m venv .venv
  fi
fi
. .venv/bin/activate
stamp=.venv/.msenas-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt constraints.txt ] \
   && python -c "import msenas, torch, spikingjelly, tonic, nir, nirtorch" 2>/dev/null; then
  exit 0
fi
python -m pip install -q --upgrade pip || echo "bootstrap: pip not upgraded (offline?); going on" >&2
# A torch already present (for example a CUDA build) is kept; otherwise the CPU wheel.
python -c "import torch" 2>/dev/null || python -m pip install -q "$(grep '^torch==' constraints.txt)"
python -m pip install -q --no-deps "$(grep '^spikingjelly==' constraints.txt)"
python -m pip install -q --no-deps "$(grep '^tonic==' constraints.txt)"     # N-MNIST reader; its declared deps pull librosa
# the exact versions of constraints.txt, except torch (whichever torch is installed is kept)
pins=$(mktemp); trap 'rm -f "$pins"' EXIT
grep -v '^torch==' constraints.txt > "$pins"
python -m pip install -q -c "$pins" -e ".[test]"
touch "$stamp"
