"""How long one genome's fitness takes under a search preset: the figure that sizes a preset.

  python experiments/time_fitness.py --config experiments/cifar10-cpu.toml --set data.data_dir=~/data/cifar10 --n 5

Builds the preset's dataset and probe once, then scores N genomes sampled from its space with its
fitness config on one torch thread (what one Ray worker has) and prints the median seconds per genome,
and the preset's expected scoring time: (calibration + population x (generations + 1)) genomes
shared by its workers.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from msenas.data import get_dataset
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import make_probe
from msenas.genome import get_space, sample
from msenas.search.config import load_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--n", type=int, default=5)
    p.add_argument("--seed", type=int, default=1, help="seed of the sampled genomes")
    a = p.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(a.config, a.overrides)
    t0 = time.perf_counter()
    ds = get_dataset(cfg.data.dataset, cfg.data.data_dir, T=cfg.fitness.T, seed=cfg.seed, **dict(cfg.data.options))
    probe = make_probe(ds, cfg.fitness, cfg.seed)
    built = time.perf_counter() - t0
    rng = np.random.default_rng(a.seed)
    genomes = [sample(get_space(cfg.space), rng) for _ in range(a.n + 1)]
    names = cfg.fitness.proxy_names()
    evaluate_genome(genomes[0], probe, cfg.fitness, names)  # warm-up: first-call costs stay out of the figure
    secs = [evaluate_genome(g, probe, cfg.fitness, names).wall_time for g in genomes[1:]]
    med = statistics.median(secs)
    n_eval = cfg.fitness.calibration + cfg.search.population * (cfg.search.generations + 1)
    workers = max(1, cfg.search.workers)
    print(f"{cfg.name}: {cfg.data.dataset} {dict(cfg.data.options)}, space {cfg.space}, proxies {names}")
    print(f"  dataset + probe {built:.1f} s; one genome: median {med:.2f} s (min {min(secs):.2f}, "
          f"max {max(secs):.2f}, n={a.n})")
    print(f"  preset: about {n_eval} genomes x {med:.2f} s / {workers} workers = {n_eval * med / workers / 60:.1f} min "
          "of scoring (cache hits make it less; Ray's start and the data load add to it)")


if __name__ == "__main__":
    main()
