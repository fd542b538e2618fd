#!/usr/bin/env bash
# Create (or reuse) .venv and install msenas with every dependency. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
stamp=.venv/.msenas-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt constraints.txt ] \
   && python -c "import msenas, torch, spikingjelly, tonic, nir, nirtorch" 2>/dev/null; then
  exit 0
fi
python -m pip install -q --upgrade pip
# A torch already present (for example a CUDA build) is kept; otherwise the CPU wheel.
python -c "import torch" 2>/dev/null || python -m pip install -q "$(grep '^torch==' constraints.txt)"
python -m pip install -q --no-deps "$(grep '^spikingjelly==' constraints.txt)"
python -m pip install -q --no-deps "$(grep '^tonic==' constraints.txt)"     # N-MNIST reader; its declared deps pull librosa
# the exact versions of constraints.txt, except torch (whichever torch is installed is kept)
pins=$(mktemp); trap 'rm -f "$pins"' EXIT
grep -v '^torch==' constraints.txt > "$pins"
python -m pip install -q -c "$pins" -e ".[test]"
touch "$stamp"
