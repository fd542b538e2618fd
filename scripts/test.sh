#!/usr/bin/env bash
# Install (if needed), lint (ruff, the rules in pyproject.toml) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0
python -m ruff check --quiet .
exec python -m pytest "$@"
