#!/usr/bin/env bash
# Results-unchanged check for refactors: one small search, a training of its best genome and one MA-DARTS
# epoch, run with the CLI of a source tree (a git worktree of any commit). Compare two output folders with
# experiments/agreement.py golden.
#   git worktree add --detach /tmp/before <commit>
#   bash experiments/golden_check.sh /tmp/before /tmp/gold-before
#   bash experiments/golden_check.sh "$PWD" /tmp/gold-after
#   python experiments/agreement.py golden /tmp/gold-before /tmp/gold-after
set -euo pipefail
TREE=$(cd "$1" && pwd); OUT=$2; PY=${PYTHON:-$(pwd)/.venv/bin/python}
rm -rf "$OUT"; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
export PYTHONPATH=$TREE RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 OMP_NUM_THREADS=1
cd "$TREE"
"$PY" -m msenas search --config experiments/digits.toml --out "$OUT/search" --workers 0 --no-progress \
  --set 'space="tiny"' --set search.population=6 --set search.generations=2 --set fitness.per_class=2 \
  --set fitness.T=2 --set data.options.size=8 --set fitness.calibration=8 > "$OUT/search.log" 2>&1
"$PY" -m msenas train "$OUT/search/best.json" --dataset digits --epochs 1 --out "$OUT/train" --quiet \
  --set max_train_batches=4 --set batch_size=32 --set T=2 > "$OUT/train.log" 2>&1
"$PY" -m msenas darts --dataset digits --epochs 1 --out "$OUT/darts" --quiet --set n_cells=2 --set channels=4 \
  --set n_nodes=2 --set T=2 --set max_batches=3 --set data.size=8 > "$OUT/darts.log" 2>&1
echo "$OUT: search, train, darts done"
