"""What a search bought: its best genomes and a random genome of the same space, trained with one budget.

`train_top(run_dir, k, epochs)` trains the hall of fame's k best genomes and
one random genome (drawn from the run's search space with the run's seed)
on the run's dataset and T, each into RUN/train/<name>, and returns one row
per network: test accuracy, spikes and synaptic operations per sample, energy
per sample, parameters and wall time. A finished training is not redone.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from msenas.genome import io, sample
from msenas.rundir import CONFIG, METRICS, read_json
from msenas.search.config import config_from_dict
from msenas.search.results import read_entries

COLUMNS = ("network", "test_acc", "spikes", "sops", "energy_uj", "params", "train_s")


def train_top(run_dir: str | Path, k: int = 1, epochs: int = 3, progress: bool = True) -> list[dict]:
    """Train the k best genomes of a run and one random genome of its space with the same budget; their rows."""
    from msenas.train import TrainConfig, train

    run_dir = Path(run_dir)
    cfg = config_from_dict(read_json(run_dir / CONFIG, "run config"))
    picks = [(f"best-{i:02d}", io.from_dict(e["genome"])) for i, e in enumerate(read_entries(run_dir)[:k], 1)]
    picks.append(("random", sample(cfg.search_space, np.random.default_rng([cfg.seed, 0x7A4D]))))
    dataset = cfg.data.build(cfg.fitness.T, cfg.seed)
    tcfg = TrainConfig(epochs=epochs, T=cfg.fitness.T, seed=cfg.seed, warmup_epochs=min(1.0, epochs / 2))
    data = cfg.data.replace(seed=cfg.data.seed if cfg.data.seed is not None else cfg.seed)
    rows = []
    for name, genome in picks:
        out = run_dir / "train" / name
        t0 = time.perf_counter()
        done = (out / METRICS).is_file() and (read_json(out / METRICS).get("final") is not None)
        metrics = read_json(out / METRICS) if done else train(genome, dataset, tcfg, out, progress=progress, data=data)
        final = metrics["final"]
        rows.append({"network": f"{name} ({io.key(genome)[:8]})", "test_acc": final["test_acc"],
                     "spikes": final["spikes"], "sops": final["sops"],
                     "energy_uj": final["energy_pj"] / 1e6 if "energy_pj" in final else float("nan"),
                     "params": final["params"], "train_s": final.get("train_time", time.perf_counter() - t0)})
    return rows
