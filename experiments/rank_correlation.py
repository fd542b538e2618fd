"""Rank-correlation benchmark: how well does each proxy / composite rank architectures?

Samples N genomes (seeded) from a search space, scores each with every
registered proxy (zero-cost and few-step fidelities, timed), trains each with
a fixed short budget over several seeds (the ground truth), and reports
Kendall tau / Spearman rho of every proxy and composite preset against mean
test accuracy, with bootstrap 95% intervals and paired-bootstrap differences
against log(params). Per-genome results live in OUT/genomes/*.json, so an
interrupted run resumes and a proxy added later does not retrain anything.

  python experiments/rank_correlation.py run --space fixed --n 30 --out results/rank/fixed
  python experiments/rank_correlation.py report results/rank/fixed results/rank/tiny --md results/rank/tables.md
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rank_stats import bootstrap, kendall, paired_difference, spearman  # noqa: E402

from msenas.atomic import atomic_write_text  # noqa: E402
from msenas.data import get_dataset  # noqa: E402
from msenas.fitness.composite import COMPOSITES  # noqa: E402
from msenas.fitness.config import FitnessConfig  # noqa: E402
from msenas.fitness.evaluate import evaluate  # noqa: E402
from msenas.fitness.probe import make_probe  # noqa: E402
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST  # noqa: E402
from msenas.genome import get_space, io, sample  # noqa: E402
from msenas.train.config import TrainConfig  # noqa: E402
from msenas.train.trainer import train  # noqa: E402


def _options(items: list[str]) -> dict:
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k] = json.loads(v) if v[:1].isdigit() or v in ("true", "false") else v
    return out


def run(args: argparse.Namespace) -> None:
    """Score and train every genome that has no result yet."""
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    (out / "genomes").mkdir(parents=True, exist_ok=True)
    options = _options(args.option)
    setup = {"space": args.space, "n": args.n, "seed": args.seed, "dataset": args.dataset, "options": options,
             "train_seeds": args.train_seeds, "epochs": args.epochs, "T": args.T, "steps": args.steps,
             "per_class": args.per_class, "lr": args.lr}
    saved = out / "setup.json"
    if saved.exists() and json.loads(saved.read_text()) != setup:
        sys.exit(f"{saved} was made with another setup; use another --out")
    atomic_write_text(saved, json.dumps(setup, indent=1))
    ds = get_dataset(args.dataset, T=args.T, seed=args.seed, **options)
    cfg = FitnessConfig(T=args.T, per_class=args.per_class, steps=args.steps)
    probe = make_probe(ds, cfg, args.seed)
    rng = np.random.default_rng(args.seed)
    genomes = [sample(get_space(args.space), rng) for _ in range(args.n)]
    zero = tuple(n for n in PROXIES.names() if PROXIES.get(n).fidelity == ZERO_COST)
    few = tuple(n for n in PROXIES.names() if PROXIES.get(n).fidelity == FEW_STEP)
    for i, g in enumerate(genomes):
        path = out / "genomes" / f"{i:03d}_{io.key(g)}.json"
        res = json.loads(path.read_text()) if path.exists() else {"index": i, "key": io.key(g), "genome": io.to_dict(g)}
        missing = [n for n in zero + few if n not in res.get("proxies", {})]
        if missing:
            res["proxies"], res["seconds"], res["dead"] = {}, {}, False
            for fid, names in ((ZERO_COST, zero), (FEW_STEP, few)):
                rec = evaluate(g, probe, cfg, names)
                res["proxies"].update(rec.proxies)
                res["seconds"][fid] = rec.wall_time
                res["dead"] |= rec.dead
                res["params"], res["spikes"] = rec.params, rec.spikes
            atomic_write_text(path, json.dumps(res, indent=1))
        res.setdefault("train", {})
        for s in args.train_seeds:
            if str(s) in res["train"]:
                continue
            tcfg = TrainConfig(epochs=args.epochs, seed=s, T=args.T, lr=args.lr, warmup_epochs=0.0)
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                m = train(g, ds, tcfg, tmp, progress=False)
            res["train"][str(s)] = {"test_acc": m["final"]["test_acc"], "seconds": time.perf_counter() - t0}
            atomic_write_text(path, json.dumps(res, indent=1))
        accs = [res["train"][str(s)]["test_acc"] for s in args.train_seeds]
        print(f"[{i + 1}/{args.n}] {res['key']} params={res['params']} dead={res['dead']} "
              f"acc={np.mean(accs):.3f} rdm={res['proxies']['rdm']:+.3f} rdm_k={res['proxies']['rdm_k']:+.3f}",
              flush=True)


def _percentiles(v: np.ndarray) -> np.ndarray:
    """Percentile of every value within the sample (ties share their mean rank)."""
    from scipy.stats import rankdata

    return (rankdata(v) - 1) / max(1, len(v) - 1)


def scores(results: list[dict]) -> dict[str, np.ndarray]:
    """Every proxy and composite preset as one score per genome (dead genomes rank last)."""
    dead = np.array([r["dead"] for r in results])
    out = {}
    for name in sorted(results[0]["proxies"]):
        v = np.array([r["proxies"][name] for r in results], float)
        v[dead] = np.min(v) - 1.0
        out[name] = v
    for name, weights in COMPOSITES.items():
        total = sum(w for _, w in weights)
        comp = sum(w * _percentiles(out[n]) for n, w in weights) / total
        comp[dead] = -1.0
        out[name] = comp
    return out


def analyse(folder: Path) -> dict:
    """Correlations of every score with mean test accuracy, with intervals."""
    results = [json.loads(p.read_text()) for p in sorted((folder / "genomes").glob("*.json"))]
    setup = json.loads((folder / "setup.json").read_text())
    seeds = [str(s) for s in setup["train_seeds"]]
    results = [r for r in results if all(s in r.get("train", {}) for s in seeds)]
    acc = np.array([[r["train"][s]["test_acc"] for s in seeds] for r in results])
    y = acc.mean(axis=1)
    table = {}
    sc = scores(results)
    for name, v in sc.items():
        tau = bootstrap(v, y, kendall)
        rho = bootstrap(v, y, spearman)
        diff = paired_difference(v, sc["log_params"], y, kendall)
        table[name] = {"tau": tau, "rho": rho, "tau_minus_log_params": diff}
    alive = ~np.array([r["dead"] for r in results])
    alive_tau = {n: kendall(v[alive], y[alive]) for n, v in sc.items()} if alive.sum() > 3 else {}
    train_s = np.mean([r["train"][s]["seconds"] for r in results for s in seeds])
    cost = {fid: float(np.mean([r["seconds"][fid] for r in results])) for fid in (ZERO_COST, FEW_STEP)}
    return {
        "setup": setup, "n": len(results), "dead": int((~alive).sum()), "table": table, "alive_tau": alive_tau,
        "repeatability_tau": kendall(acc[:, 0], acc[:, 1]) if acc.shape[1] > 1 else None,
        "acc_mean": float(y.mean()), "acc_range": [float(y.min()), float(y.max())],
        "seconds": {**cost, "train": float(train_s)},
    }


def _fmt(t) -> str:
    return f"{t[0]:+.2f} [{t[1]:+.2f}, {t[2]:+.2f}]"


def report(args: argparse.Namespace) -> None:
    """Markdown tables over one or more benchmark folders; JSON summary beside each."""
    lines = []
    analyses = {}
    for folder in map(Path, args.folders):
        a = analyse(folder)
        analyses[folder.name] = a
        atomic_write_text(folder / "analysis.json", json.dumps(a, indent=1))
        s = a["setup"]
        lines += [
            f"### space `{s['space']}`: N={a['n']} genomes ({a['dead']} dead at init), dataset {s['dataset']} {s['options']}",
            "",
            f"Ground truth: test accuracy after {s['epochs']} epochs (AdamW lr {s['lr']}, batch 64, T={s['T']}), "
            f"mean over training seeds {s['train_seeds']}; mean {a['acc_mean']:.3f}, range "
            f"{a['acc_range'][0]:.3f}..{a['acc_range'][1]:.3f}; seed-to-seed Kendall tau "
            f"{a['repeatability_tau']:+.2f}.",
            f"Cost per genome: zero-cost proxies {a['seconds'][ZERO_COST]:.2f} s, few-step proxies "
            f"({s['steps']} steps) {a['seconds'][FEW_STEP]:.2f} s, one training run {a['seconds']['train']:.1f} s.",
            "",
            "| proxy / composite | Kendall tau [95% CI] | Spearman rho [95% CI] | tau - tau(log params) [95% CI] | tau, live genomes only |",
            "| --- | --- | --- | --- | --- |",
        ]
        order = sorted(a["table"], key=lambda n: -a["table"][n]["tau"][0])
        for n in order:
            t = a["table"][n]
            alive = a["alive_tau"].get(n)
            lines.append(f"| `{n}` | {_fmt(t['tau'])} | {_fmt(t['rho'])} | {_fmt(t['tau_minus_log_params'])} | "
                         f"{'' if alive is None else f'{alive:+.2f}'} |")
        lines.append("")
    names = set.intersection(*(set(a["table"]) for a in analyses.values()))
    mean_tau = {n: float(np.mean([a["table"][n]["tau"][0] for a in analyses.values()])) for n in names}
    best = max((n for n in names if n in COMPOSITES), key=lambda n: mean_tau[n])
    lines += ["### Mean Kendall tau over the spaces", "", "| proxy / composite | mean tau |", "| --- | --- |"]
    lines += [f"| `{n}` | {mean_tau[n]:+.2f} |" for n in sorted(names, key=lambda n: -mean_tau[n])]
    lines += ["", f"Best composite preset by mean tau: `{best}`.", ""]
    text = "\n".join(lines)
    print(text)
    if args.md:
        atomic_write_text(args.md, text + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--space", default="fixed")
    r.add_argument("--n", type=int, default=30)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--dataset", default="digits")
    r.add_argument("--option", action="append", default=[], help="dataset option key=value (e.g. size=8)")
    r.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--epochs", type=int, default=6)
    r.add_argument("--lr", type=float, default=3e-3)
    r.add_argument("--T", type=int, default=4)
    r.add_argument("--steps", type=int, default=10)
    r.add_argument("--per-class", type=int, default=8)
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--out", required=True)
    q = sub.add_parser("report")
    q.add_argument("folders", nargs="+")
    q.add_argument("--md")
    args = p.parse_args()
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()
