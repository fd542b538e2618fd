#!/usr/bin/env bash
# Install (if needed) and run a real search on the embedded digits dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled} RAY_USAGE_STATS_ENABLED=${RAY_USAGE_STATS_ENABLED:-0}
exec msenas search --config experiments/digits.toml "$@"
