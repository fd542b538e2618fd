"""Does evolution find better architectures than random sampling at equal fitness evaluations?

For each seed: run `msenas search` (the given config, default fitness), count
its fitness evaluations E (calibration excluded, it is shared), then sample E
random genomes from the same space and score them with the same calibrated
engine. Three arms, each giving one genome that is then trained with the
same budget:
  evolution      the hall-of-fame best of the search;
  random+fitness the best of the E random genomes by the same fitness;
  random         the first random genome (random sampling alone).
Results per seed are kept in OUT/seed_<s>.json (the script resumes).

  python experiments/search_vs_random.py run --config experiments/digits.toml --seeds 0 1 2 --out results/svr
  python experiments/search_vs_random.py report results/svr --md docs/search_vs_random.md
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from msenas.atomic import atomic_write_text
from msenas.config import load_config
from msenas.data import get_dataset
from msenas.genome import from_dict, get_space, io, sample
from msenas.search.run import open_engine, run_search
from msenas.train.config import TrainConfig
from msenas.train.trainer import train

ARMS = ("evolution", "random+fitness", "random")


def _train_acc(genome, ds, epochs: int, seeds: list[int], T: int) -> list[float]:
    accs = []
    for s in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            m = train(genome, ds, TrainConfig(epochs=epochs, seed=s, T=T, warmup_epochs=0.0), tmp, progress=False)
        accs.append(float(m["final"]["test_acc"]))
    return accs


def run_seed(args: argparse.Namespace, seed: int, out: Path) -> dict:
    """One seed of the comparison (search, random arms, training of each arm's genome)."""
    cfg = load_config(args.config, [f"seed={seed}", "search.workers=0", *args.set])
    run_dir = out / f"run_{seed}"
    state = run_search(cfg, run_dir, resume=run_dir.exists(), progress=False)
    log = [json.loads(line) for line in (run_dir / "generations.jsonl").read_text().splitlines() if line.strip()]
    evaluations = int(sum(g["evaluations"] for g in log))
    best = json.loads((run_dir / "hall_of_fame.json").read_text())[0]
    engine = open_engine(cfg)
    try:
        engine.load_state_dict(state.engine)
        rng = np.random.default_rng([seed, 0x5EED])
        space = get_space(cfg.space)
        randoms = [sample(space, rng) for _ in range(evaluations)]
        recs = engine.score(randoms)
    finally:
        engine.close()
    i_best = int(np.argmax([r.fitness for r in recs]))
    picks = {"evolution": (from_dict(best["genome"]), best["fitness"]),
             "random+fitness": (randoms[i_best], recs[i_best].fitness),
             "random": (randoms[0], recs[0].fitness)}
    ds = get_dataset(cfg.data.dataset, cfg.data.data_dir, T=cfg.fitness.T, seed=seed, **dict(cfg.data.options))
    res = {"seed": seed, "evaluations": evaluations, "arms": {}}
    for arm, (g, fit) in picks.items():
        accs = _train_acc(g, ds, args.epochs, args.train_seeds, cfg.fitness.T)
        res["arms"][arm] = {"key": io.key(g), "fitness": fit, "test_acc": accs, "params": None}
        print(f"seed {seed} {arm:15s} fitness {fit:+.3f} acc {np.mean(accs):.3f}", flush=True)
    return res


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "setup.json", json.dumps(vars(args), indent=1, default=str))
    for seed in args.seeds:
        path = out / f"seed_{seed}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(run_seed(args, seed, out), indent=1))


def summarise(seeds: list[dict]) -> dict:
    """Per arm: accuracy per search seed (mean over training seeds) and fitness; paired differences to evolution."""
    out = {"seeds": [s["seed"] for s in seeds], "evaluations": [s["evaluations"] for s in seeds], "arms": {}}
    for arm in ARMS:
        acc = [float(np.mean(s["arms"][arm]["test_acc"])) for s in seeds]
        fit = [float(s["arms"][arm]["fitness"]) for s in seeds]
        out["arms"][arm] = {"acc": acc, "acc_mean": float(np.mean(acc)), "acc_std": float(np.std(acc)),
                            "fitness": fit, "fitness_mean": float(np.mean(fit))}
    evo = np.asarray(out["arms"]["evolution"]["acc"])
    evo_fit = np.asarray(out["arms"]["evolution"]["fitness"])
    out["evolution_minus"] = {}
    for arm in ARMS[1:]:
        d = evo - np.asarray(out["arms"][arm]["acc"])
        f = evo_fit - np.asarray(out["arms"][arm]["fitness"])
        out["evolution_minus"][arm] = {"acc": d.tolist(), "acc_mean": float(d.mean()), "acc_std": float(d.std()),
                                       "wins": int((d > 0).sum()), "ties": int((d == 0).sum()),
                                       "fitness": f.tolist(), "fitness_mean": float(f.mean())}
    return out


def report(args: argparse.Namespace) -> None:
    out = Path(args.folder)
    setup = json.loads((out / "setup.json").read_text())
    seeds = [json.loads(p.read_text()) for p in sorted(out.glob("seed_*.json"))]
    if not seeds:
        raise SystemExit(f"error: no seed_*.json results in {out}")
    sm = summarise(seeds)
    lines = [f"Config `{setup['config']}` with overrides {setup['set']}; {len(seeds)} search seeds; each arm's "
             f"genome trained {setup['epochs']} epochs with training seeds {setup['train_seeds']}.", "",
             "| arm | mean test acc | std over search seeds | per seed (mean over training seeds) | "
             "fitness of its genome (mean; per seed) | fitness evaluations |",
             "| --- | --- | --- | --- | --- | --- |"]
    for arm in ARMS:
        a = sm["arms"][arm]
        lines.append(f"| {arm} | {a['acc_mean']:.3f} | {a['acc_std']:.3f} | {', '.join(f'{p:.3f}' for p in a['acc'])} | "
                     f"{a['fitness_mean']:.3f}; {', '.join(f'{p:.3f}' for p in a['fitness'])} | "
                     f"{', '.join(str(e) for e in sm['evaluations'])} |")
    lines += ["", "| evolution minus | test acc: mean +- std (per seed) | seeds evolution wins / ties | "
              "fitness: mean (per seed) |", "| --- | --- | --- | --- |"]
    for arm, d in sm["evolution_minus"].items():
        lines.append(f"| {arm} | {d['acc_mean']:+.3f} +- {d['acc_std']:.3f} ({', '.join(f'{x:+.3f}' for x in d['acc'])}) | "
                     f"{d['wins']} / {d['ties']} of {len(seeds)} | "
                     f"{d['fitness_mean']:+.3f} ({', '.join(f'{x:+.3f}' for x in d['fitness'])}) |")
    text = "\n".join(lines)
    print(text)
    atomic_write_text(out / "summary.json", json.dumps(sm, indent=1))
    if args.md:
        atomic_write_text(args.md, text + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", default="experiments/digits.toml")
    r.add_argument("--set", action="append", default=[], help="config override key=value")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--epochs", type=int, default=4)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--out", required=True)
    q = sub.add_parser("report")
    q.add_argument("folder")
    q.add_argument("--md")
    args = p.parse_args()
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()
