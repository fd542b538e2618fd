#!/usr/bin/env bash
# The first hour on a GPU: environment, CIFAR-10 subset, experiments/gpu_check.py, one table.
#
#   bash scripts/gpu_check.sh DATA_DIR OUT          # on a GPU machine: the full check, <= 5 minutes on one H100
#   bash scripts/gpu_check.sh DATA_DIR OUT --cpu    # the same steps at toy sizes on the CPU (tests/test_gpu_check.py)
#
# Leaves OUT/gpu_check.md (the table) and OUT/gpu_check.json (the same rows), rewritten after every row.
# DATA_DIR: a CIFAR-10 folder in the python layout (cifar-10-batches-py, or its parent); the check reads a
#   class-balanced subset of it (1,000 train and 100 test images per class; --cpu: 8 and 2). When it holds
#   no CIFAR-10 and ../shared/data/cifar10/make_cifar10.py exists, that subset is written there first.
# Python: an active environment that already imports msenas's dependencies is used as it is (CI, a
#   prepared machine); otherwise scripts/bootstrap.sh installs .venv, which keeps a CUDA torch that the
#   machine's python already has. Without a GPU the full form stops before running anything.
# Sizes: experiments/gpu_check.py's docstring says how each item was sized for 5 minutes on one H100;
#   docs/cluster.md ("first hour on a GPU") says how to read the table and what to do next.
set -euo pipefail

usage="usage: bash scripts/gpu_check.sh DATA_DIR OUT [--cpu]"
fail() { echo "gpu_check: error: $*" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || fail "$usage"
mode=${3:-}
[ -z "$mode" ] || [ "$mode" = "--cpu" ] || fail "unknown option $mode ($usage)"
data=$(realpath -m -- "$1")
out=$(realpath -m -- "$2")
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"   # this checkout's msenas, whichever python runs it

# 1. Python with msenas's dependencies (and, for the full form, a CUDA torch that sees a GPU)
needs="import torch, spikingjelly, msenas.train, msenas.darts, msenas.fitness.evaluate"
if [ ! -x .venv/bin/python ] && command -v python >/dev/null && python -c "$needs" 2>/dev/null; then
  py=$(command -v python)
else
  bash scripts/bootstrap.sh
  py="$root/.venv/bin/python"
fi
if [ "$mode" = "--cpu" ]; then
  device=(--device cpu --small); train=80; test=20
else
  device=(--device cuda); train=10000; test=1000
  if ! "$py" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    cuda=$("$py" -c "import torch; print(torch.version.cuda)")
    if [ "$cuda" = "None" ]; then
      fail "$py has a CPU-only torch: install the CUDA build of torch for this machine, then run this again"
    fi
    fail "torch (CUDA $cuda) sees no GPU here (nvidia-smi?); for the CPU form add --cpu"
  fi
fi
echo "gpu_check: python $py ($("$py" -c "import torch; print('torch', torch.__version__)"))" >&2

# 2. CIFAR-10: the folder given, or the subset written from ../shared
if [ -f "$data/cifar-10-batches-py/data_batch_1" ] || [ -f "$data/data_batch_1" ]; then
  echo "gpu_check: CIFAR-10 from $data" >&2
elif [ -f "$root/../shared/data/cifar10/make_cifar10.py" ]; then
  echo "gpu_check: writing $train train / $test test CIFAR-10 images into $data" >&2
  "$py" "$root/../shared/data/cifar10/make_cifar10.py" "$data" --train "$train" --test "$test" --seed 0 >&2
else
  fail "$data holds no CIFAR-10 (cifar-10-batches-py, python version) and ../shared/data/cifar10 is not here"
fi

# 3. The check
"$py" experiments/gpu_check.py --data-dir "$data" "${device[@]}" --out "$out"
echo "gpu_check: wrote $out/gpu_check.md and $out/gpu_check.json" >&2
