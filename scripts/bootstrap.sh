#!/usr/bin/env bash
# Create (or reuse) .venv and install msenas with every dependency. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
stamp=.venv/.msenas-installed
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && python -c "import msenas, torch, spikingjelly, tonic" 2>/dev/null; then
  exit 0
fi
python -m pip install -q --upgrade pip
# A torch already present (for example a CUDA build) is kept; otherwise the CPU wheel.
python -c "import torch" 2>/dev/null || python -m pip install -q torch==2.13.0
python -m pip install -q --no-deps spikingjelly==2.0.0
python -m pip install -q --no-deps tonic==1.7.0
python -m pip install -q -e ".[test]"
touch "$stamp"
