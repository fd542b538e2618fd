"""What a search bought: its best genomes against random genomes and a published network at the same budget.

`train_top(run_dir, k, epochs)` trains, on the run's dataset and T with one recipe (each into
RUN/train/<name>; a finished training is read back, not redone):
- the hall of fame's k best genomes;
- 3 random genomes of the run's space within its budget and live at initialisation (drawn with the run's
  seed; a genome silent on the probe batch is drawn again), whose median is what a user would get without
  searching;
- a published network of spikingjelly's model zoo (msenas.zoo) at the widest width within the run's
  budget, or, without a budget, within the best genome's parameter count: equal size, equal recipe.
It returns one row per network (test accuracy, spikes, SOPs and energy per sample, parameters, training
time) and the median row of the random genomes. `train_picks` is that one recipe for any named networks
(experiments/search_vs_random.py trains its arms with it), `random_picks` the run's random genomes.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from msenas.genome import io, sample
from msenas.rundir import CONFIG, METRICS, read_json
from msenas.search.budget import BudgetConfig, BudgetError, sample_within
from msenas.search.config import config_from_dict
from msenas.search.results import read_entries

COLUMNS = ("network", "test_acc", "spikes", "sops", "energy_uj", "params", "train_s")
N_RANDOM = 3
RANDOM_STREAM = 0x7A4D               # the random genomes' generator: np.random.default_rng([run seed, RANDOM_STREAM])
ZOO_NETWORK = "plif-cifar10net"      # multi-step, so it takes static and event data alike


def train_top(run_dir: str | Path, k: int = 1, epochs: int = 3, progress: bool = True,
              zoo: str | None = ZOO_NETWORK) -> list[dict]:
    """Train the k best genomes, 3 random genomes within the budget and a zoo network of the same budget; rows."""
    from msenas.train import TrainConfig

    run_dir = Path(run_dir)
    cfg = config_from_dict(read_json(run_dir / CONFIG, "run config"))
    best = read_entries(run_dir)[:k]
    dataset = cfg.data.build(cfg.fitness.T, cfg.seed)
    budget = cfg.search.budget if cfg.search.budget.active else BudgetConfig(params=best[0]["record"]["params"])
    picks = [(f"best-{i:02d}", io.from_dict(e["genome"])) for i, e in enumerate(best, 1)]
    picks += random_picks(cfg, dataset, budget)
    if zoo is not None:
        picks.append(_zoo_pick(zoo, budget, dataset, cfg))
    tcfg = TrainConfig(epochs=epochs, T=cfg.fitness.T, seed=cfg.seed, warmup_epochs=min(1.0, epochs / 2))
    data = cfg.data.replace(seed=cfg.data.seed if cfg.data.seed is not None else cfg.seed)
    return train_picks(picks, dataset, tcfg, run_dir / "train", progress, data)


def train_picks(picks: list[tuple[str, object]], dataset, cfg, out: str | Path, progress: bool = False,
                data=None) -> list[dict]:
    """Train each (name, genome or zoo network) with one recipe `cfg` (a TrainConfig; a zoo network with the loss
    it was published with) into OUT/name, a finished training read back, not redone; one row each (COLUMNS)."""
    from msenas.train import train
    from msenas.zoo import ZOO

    rows = []
    for name, arch in picks:
        folder = Path(out) / name
        t0 = time.perf_counter()
        done = (folder / METRICS).is_file() and (read_json(folder / METRICS).get("final") is not None)
        loss = ZOO.get(arch.name).loss if hasattr(arch, "width") else cfg.loss
        metrics = read_json(folder / METRICS) if done else train(arch, dataset, cfg.replace(loss=loss), folder,
                                                                 progress=progress, data=data)
        final = metrics["final"]
        label = arch.key() if hasattr(arch, "width") else io.key(arch)[:8]
        rows.append({"network": f"{name} ({label})", "test_acc": final["test_acc"],
                     "spikes": final["spikes"], "sops": final["sops"],
                     "energy_uj": final["energy_pj"] / 1e6 if "energy_pj" in final else float("nan"),
                     "params": final["params"], "train_s": final.get("train_time", time.perf_counter() - t0)})
    return rows


def random_picks(cfg, dataset, budget: BudgetConfig, n: int = N_RANDOM) -> list[tuple[str, object]]:
    """("random-1", genome), ...: n genomes of the run's space within the budget and live at initialisation, drawn
    with the run's seed (the same ones for every caller of the same run config)."""
    from msenas.fitness.engine import static_costs

    info = dataset.info
    costs = lambda g: static_costs(g, info.in_shape, info.n_classes, cfg.fitness.T)   # noqa: E731
    rng = np.random.default_rng([cfg.seed, RANDOM_STREAM])
    return [(f"random-{i}", g) for i, g in enumerate(live_randoms(cfg, dataset, costs, budget, rng, n), 1)]


def live_randoms(cfg, dataset, costs, budget: BudgetConfig, rng: np.random.Generator, n: int = N_RANDOM,
                 tries: int = 100) -> list:
    """n random genomes within the budget that are live at initialisation (the records' dead check)."""
    from msenas.fitness.evaluate import evaluate_genome
    from msenas.fitness.probe import make_probe

    probe = make_probe(dataset, cfg.fitness, cfg.seed)
    out = []
    for _ in range(tries * n):
        g = sample_within(lambda: sample(cfg.search_space, rng), costs, budget, f"space {cfg.space!r}")
        if evaluate_genome(g, probe, cfg.fitness, ("log_params",)).ok:
            out.append(g)
            if len(out) == n:
                return out
    raise BudgetError(f"fewer than {n} live genomes within {budget.describe()} in {tries * n} draws")


def _zoo_pick(name: str, budget: BudgetConfig, dataset, cfg) -> tuple[str, object]:
    from msenas.fitness.probe import make_probe
    from msenas.zoo.common import widest_within

    probe = make_probe(dataset, cfg.fitness, cfg.seed)
    model, _ = widest_within(name, budget, probe, cfg.fitness.T, cfg.fitness.energy, cfg.seed)
    return f"zoo:{name}", model


def median_random(rows: list[dict]) -> dict | None:
    """The random genome of median test accuracy (the middle of 3), or None when there are none."""
    rand = sorted((r for r in rows if r["network"].startswith("random-")), key=lambda r: r["test_acc"])
    return rand[len(rand) // 2] if rand else None


def verdict(rows: list[dict], epochs: int) -> str:
    """One plain sentence on what the comparison shows (one training seed: small differences are noise)."""
    best = rows[0]
    med = median_random(rows)
    zoo = next((r for r in rows if r["network"].startswith("zoo:")), None)
    parts = []
    if med is not None:
        parts.append(f"the best genome {best['test_acc'] - med['test_acc']:+.3f} against the median of "
                     f"{N_RANDOM} random genomes within the budget")
    if zoo is not None:
        parts.append(f"{best['test_acc'] - zoo['test_acc']:+.3f} against {zoo['network']} "
                     f"({zoo['params']:,} params)")
    return (f"test accuracy after {epochs} epoch(s), one training seed: " + "; ".join(parts) +
            ". A difference of a few points is within the noise of one short training; docs/budget.md measures "
            "this with several seeds.")
