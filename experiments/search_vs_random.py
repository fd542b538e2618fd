"""Does a search strategy find better architectures than another (random search by default) at equal evaluations?

For each search seed, every strategy of --strategies (any names of
msenas.search.STRATEGIES; default: the config's algorithm, then `random`) runs
`msenas search` with the same config, fitness and calibration. The first
strategy sets the budget: its number of fitness evaluations E (calibration
excluded: it is shared); every other steady-state strategy runs asynchronously
with exactly E evaluations (search.evaluations), a generational one with the
config's generations (its E is reported). Arms, each giving one genome trained
with the same budget over --train-seeds:
  <strategy>        the hall-of-fame best of that strategy's search (by the fitness);
  random-genome     the first genome the `random` strategy drew (random sampling alone; only with `random`).
Results per seed are kept in OUT/seed_<s>.json and the run folders in OUT/run_<s>_<strategy> (the script resumes).

  python experiments/search_vs_random.py run --config experiments/digits.toml --seeds 0 1 2 --out results/svr
  python experiments/search_vs_random.py run --config experiments/digits.toml --strategies aging random \
--out results/svr-aging
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
from msenas.genome import from_dict, io
from msenas.report.figures import usable_fitness
from msenas.rundir import EVALUATIONS, HALL_OF_FAME, read_json, read_jsonl
from msenas.search import STRATEGIES
from msenas.search.config import load_config
from msenas.search.run import run_search
from msenas.train.config import TrainConfig
from msenas.train.trainer import train

ONE_RANDOM = "random-genome"


def _train_acc(genome, ds, epochs: int, seeds: list[int], T: int) -> list[float]:
    accs = []
    for s in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            m = train(genome, ds, TrainConfig(epochs=epochs, seed=s, T=T, warmup_epochs=0.0), tmp, progress=False)
        accs.append(float(m["final"]["test_acc"]))
    return accs


def _search(args: argparse.Namespace, seed: int, strategy: str, budget: int | None, out: Path):
    """Run (or resume) one strategy's search; (config, run folder, evaluations, best entry)."""
    sets = [f"seed={seed}", "search.workers=0", f'search.algorithm="{strategy}"', *args.set]
    if budget is not None and STRATEGIES.get(strategy).steady:
        sets += [f"search.evaluations={budget}", 'search.mode="async"']
    cfg = load_config(args.config, sets)
    run_dir = out / f"run_{seed}_{strategy}"
    state = run_search(cfg, run_dir, resume=(run_dir / "checkpoint.json").exists(), progress=False)
    return cfg, run_dir, state.evaluations, read_json(run_dir / HALL_OF_FAME)[0]


def run_seed(args: argparse.Namespace, seed: int, out: Path) -> dict:
    """One seed of the comparison: every strategy's search at the first one's budget, then training."""
    picks, budget, evaluations, cfg = {}, None, {}, None
    for strategy in args.strategies:
        cfg, run_dir, n, best = _search(args, seed, strategy, budget, out)
        budget = n if budget is None else budget
        evaluations[strategy] = n
        picks[strategy] = (from_dict(best["genome"]), best["fitness"])
        if strategy == "random":
            first = read_jsonl(run_dir / EVALUATIONS, "n")[0][0]
            vec, rec = first["vector"], first["record"]
            genome = STRATEGIES.get("random")(cfg.search, cfg.search_space).genome(vec)
            picks[ONE_RANDOM] = (genome, rec["fitness"])
    ds = cfg.data.build(cfg.fitness.T, seed)
    res = {"seed": seed, "evaluations": budget, "evaluations_per_strategy": evaluations, "arms": {}}
    for arm, (g, fit) in picks.items():
        accs = _train_acc(g, ds, args.epochs, args.train_seeds, cfg.fitness.T)
        res["arms"][arm] = {"key": io.key(g), "fitness": fit, "test_acc": accs}
        print(f"seed {seed} {arm:15s} fitness {fit:+.3f} acc {np.mean(accs):.3f}", flush=True)
    return res


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    for s in args.strategies:
        STRATEGIES.get(s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "setup.json", json.dumps(vars(args), indent=1, default=str))
    for seed in args.seeds:
        path = out / f"seed_{seed}.json"
        if not path.exists():
            atomic_write_text(path, json.dumps(run_seed(args, seed, out), indent=1))


def _nanmean(values: list[float]) -> float:
    """Mean over the values that are not NaN (dead genomes); NaN when there are none."""
    v = np.asarray(values, dtype=float)
    return float(np.nanmean(v)) if not np.isnan(v).all() else float("nan")


def _fit(value: float, sign: str = "") -> str:
    return "dead" if value != value else f"{value:{sign}.3f}"


def _nulls(obj):
    if isinstance(obj, dict):
        return {k: _nulls(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nulls(v) for v in obj]
    return None if isinstance(obj, float) and obj != obj else obj


def summarise(seeds: list[dict]) -> dict:
    """Per arm: accuracy per search seed (mean over training seeds) and fitness; paired differences to the first arm."""
    arms = list(seeds[0]["arms"])
    out = {"seeds": [s["seed"] for s in seeds], "evaluations": [s["evaluations"] for s in seeds], "arms": {},
           "reference": arms[0]}
    for arm in arms:
        acc = [float(np.mean(s["arms"][arm]["test_acc"])) for s in seeds]
        fit = usable_fitness([s["arms"][arm]["fitness"] for s in seeds]).tolist()   # dead: NaN, out of means
        out["arms"][arm] = {"acc": acc, "acc_mean": float(np.mean(acc)), "acc_std": float(np.std(acc)),
                            "fitness": fit, "fitness_mean": _nanmean(fit)}
    ref = np.asarray(out["arms"][arms[0]]["acc"])
    ref_fit = np.asarray(out["arms"][arms[0]]["fitness"], dtype=float)
    out["reference_minus"] = {}
    for arm in arms[1:]:
        d = ref - np.asarray(out["arms"][arm]["acc"])
        f = (ref_fit - np.asarray(out["arms"][arm]["fitness"], dtype=float)).tolist()
        out["reference_minus"][arm] = {"acc": d.tolist(), "acc_mean": float(d.mean()), "acc_std": float(d.std()),
                                       "wins": int((d > 0).sum()), "ties": int((d == 0).sum()),
                                       "fitness": f, "fitness_mean": _nanmean(f)}
    return out


def report(args: argparse.Namespace) -> None:
    out = Path(args.folder)
    setup = json.loads((out / "setup.json").read_text())
    seeds = [json.loads(p.read_text()) for p in sorted(out.glob("seed_*.json"))]
    if not seeds:
        raise SystemExit(f"error: no seed_*.json results in {out}")
    sm = summarise(seeds)
    lines = [f"Config `{setup['config']}` with overrides {setup['set']}; strategies {setup['strategies']} at equal "
             f"fitness evaluations; {len(seeds)} search seeds; each arm's genome trained {setup['epochs']} epochs "
             f"with training seeds {setup['train_seeds']}.", "",
             "| arm | mean test acc | std over search seeds | per seed (mean over training seeds) | "
             "fitness of its genome (mean over live genomes; per seed) | fitness evaluations |",
             "| --- | --- | --- | --- | --- | --- |"]
    for arm, a in sm["arms"].items():
        lines.append(f"| {arm} | {a['acc_mean']:.3f} | {a['acc_std']:.3f} | "
                     f"{', '.join(f'{p:.3f}' for p in a['acc'])} | "
                     f"{_fit(a['fitness_mean'])}; {', '.join(_fit(p) for p in a['fitness'])} | "
                     f"{', '.join(str(e) for e in sm['evaluations'])} |")
    lines += ["", f"| {sm['reference']} minus | test acc: mean +- std (per seed) | "
              f"seeds {sm['reference']} wins / ties | "
              "fitness: mean (per seed) |", "| --- | --- | --- | --- |"]
    for arm, d in sm["reference_minus"].items():
        lines.append(f"| {arm} | {d['acc_mean']:+.3f} +- {d['acc_std']:.3f} "
                     f"({', '.join(f'{x:+.3f}' for x in d['acc'])}) | "
                     f"{d['wins']} / {d['ties']} of {len(seeds)} | "
                     f"{_fit(d['fitness_mean'], '+')} ({', '.join(_fit(x, '+') for x in d['fitness'])}) |")
    text = "\n".join(lines)
    print(text)
    atomic_write_text(out / "summary.json", json.dumps(_nulls(sm), indent=1))   # strict JSON: dead is null
    if args.md:
        atomic_write_text(args.md, text + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", default="experiments/digits.toml")
    r.add_argument("--set", action="append", default=[], help="config override key=value")
    r.add_argument("--strategies", nargs="+", default=None,
                   help="strategies to compare, the first sets the budget (default: the config's algorithm, random)")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--epochs", type=int, default=4)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--out", required=True)
    q = sub.add_parser("report")
    q.add_argument("folder")
    q.add_argument("--md")
    args = p.parse_args()
    if args.cmd == "run" and args.strategies is None:
        args.strategies = [load_config(args.config, args.set).search.algorithm, "random"]
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()
