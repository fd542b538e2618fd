"""Fitness CPU seconds per genome, this tree against a baseline tree (a git worktree), interleaved.

The default fitness composite's proxies (zero-cost and few-step) on the same genomes of a space, one torch
thread, serial, process CPU seconds per genome (less disturbed by other jobs than wall time). Each
(round, tree) runs in its own subprocess with PYTHONPATH set to that tree; the table shows medians.

    git worktree add --detach /tmp/sim-base 561d939
    python experiments/bench_fitness_trees.py --baseline /tmp/sim-base --space tiny --dataset digits
    python experiments/bench_fitness_trees.py --baseline /tmp/sim-base --space fixed --dataset cifar10 \
        --data-dir /work/data/cifar10 --option size=16
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from msenas.data import get_dataset
from msenas.fitness import FitnessConfig
from msenas.fitness.composite import COMPOSITES
from msenas.fitness.probe import make_probe
import msenas.fitness.evaluate as E
from msenas.genome import sample
from msenas.genome.space import get_space
a = json.loads(sys.argv[1])
evaluate = getattr(E, "evaluate_genome", None) or getattr(E, "evaluate")
ds = get_dataset(a["dataset"], a["data_dir"], T=4, seed=0, **a["options"])
cfg = FitnessConfig()
names = tuple(n for n, _ in COMPOSITES.get(cfg.proxy)) if cfg.proxy in COMPOSITES else (cfg.proxy,)
probe = make_probe(ds, cfg, 0)
rng = np.random.default_rng(a["seed"])
genomes = [sample(get_space(a["space"]), rng) for _ in range(a["n"] + 1)]
evaluate(genomes[0], probe, cfg, names)                       # warm-up (kernel build, first-call costs)
cpu = []
for g in genomes[1:]:
    c0 = time.process_time()
    evaluate(g, probe, cfg, names)
    cpu.append(time.process_time() - c0)
print(json.dumps({"cpu": cpu, "names": names}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True)
    p.add_argument("--space", default="tiny")
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--option", action="append", default=[], help="dataset option key=value")
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    options = {k: json.loads(v) if v[:1].isdigit() or v in ("true", "false") else v
               for k, v in (o.split("=", 1) for o in args.option)}
    spec = json.dumps({"space": args.space, "dataset": args.dataset, "data_dir": args.data_dir, "options": options,
                       "n": args.n, "seed": args.seed})
    trees = {"before": Path(args.baseline).resolve(), "after": Path(__file__).resolve().parent.parent}
    results: dict[str, list[float]] = {k: [] for k in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
            out = subprocess.run([sys.executable, "-c", WORKER, spec], env=env, capture_output=True, text=True,
                                 check=True, cwd=tree)
            results[name].append(statistics.median(json.loads(out.stdout.splitlines()[-1])["cpu"]))
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{args.space} on {args.dataset} {options}: median CPU s per genome (default fitness, {args.n} genomes, "
          f"{args.rounds} rounds): before {med['before']:.2f}, after {med['after']:.2f}, "
          f"speed-up {med['before'] / med['after']:.2f}x; per round {json.dumps(results)}")


if __name__ == "__main__":
    main()
