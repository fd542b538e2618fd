#!/usr/bin/env bash
# Install (if needed), run a real search on the embedded digits dataset, then train its best genome beside
# 3 random genomes and zoo:plif-cifar10net of the same size, and print what the search bought.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled} RAY_USAGE_STATS_ENABLED=${RAY_USAGE_STATS_ENABLED:-0}
exec msenas search --config experiments/digits.toml --train-top 1 --train-epochs 3 "$@"
