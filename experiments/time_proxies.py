"""CPU cost of each zero-cost proxy per genome: evaluate_genome() with that proxy alone, process CPU seconds.

Every evaluation builds the network and runs the probe forward; `log_params`
needs nothing more, so its row is the shared base and each other row's extra
over it is what the proxy itself costs. Input: a msenas dataset (digits,
size=8 as in the rank benchmark) or, with --random C,H,W, a random probe of
that shape (e.g. 3,16,16: CIFAR-shaped), 10 classes, --per-class samples each.

  python experiments/time_proxies.py --space tiny --option size=8 --n 10
  python experiments/time_proxies.py --space tiny --random 3,16,16 --n 10
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from msenas.data import get_dataset
from msenas.fitness.config import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import ProbeData, make_probe
from msenas.fitness.proxies import PROXIES, ZERO_COST
from msenas.fitness.rdm import categorical_rdm
from msenas.genome import get_space, sample


def random_probe(shape: tuple[int, int, int], per_class: int, seed: int, n_classes: int = 10) -> ProbeData:
    """A probe of uniform random images of `shape`, `per_class` samples of each of `n_classes` classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    x = rng.random((len(y), *shape), dtype=np.float32)
    return ProbeData(x, y, x, y, categorical_rdm(y), shape, n_classes, seed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="tiny")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--option", action="append", default=[], help="dataset option key=value (e.g. size=8)")
    p.add_argument("--random", help="C,H,W: a random probe of this shape instead of the dataset")
    p.add_argument("--T", type=int, default=4)
    p.add_argument("--per-class", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(1)
    cfg = FitnessConfig(T=args.T, per_class=args.per_class)
    if args.random:
        probe = random_probe(tuple(int(v) for v in args.random.split(",")), args.per_class, args.seed)
    else:
        opts = {k: int(v) if v.isdigit() else v for k, _, v in (o.partition("=") for o in args.option)}
        probe = make_probe(get_dataset(args.dataset, T=args.T, seed=args.seed, **opts), cfg, args.seed)
    rng = np.random.default_rng(args.seed)
    genomes = [sample(get_space(args.space), rng) for _ in range(args.n)]
    names = [n for n in PROXIES.names() if PROXIES.get(n).fidelity == ZERO_COST]
    evaluate_genome(genomes[0], probe, cfg, tuple(names))           # warm-up: first-call costs stay out
    cpu = {n: [] for n in names}
    for g in genomes:
        for n in names:
            c0 = time.process_time()
            evaluate_genome(g, probe, cfg, (n,))
            cpu[n].append(time.process_time() - c0)
    base = float(np.mean(cpu["log_params"]))
    rows = {n: {"cpu_s": float(np.mean(v)), "extra_cpu_s": float(np.mean(v)) - base} for n, v in cpu.items()}
    print(json.dumps({"space": args.space, "n": args.n, "probe_shape": list(probe.x.shape), "T": args.T,
                      "proxies": rows}, indent=1))


if __name__ == "__main__":
    main()
