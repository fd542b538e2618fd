"""Rank-correlation benchmark: how well does each proxy / composite rank architectures?

Samples N genomes (seeded) from a search space, scores each with every
registered proxy (zero-cost and few-step fidelities, timed), trains each with
a fixed short budget over several seeds (the ground truth), and reports
Kendall tau / Spearman rho of every proxy and composite preset against mean
test accuracy, with bootstrap 95% intervals and paired-bootstrap differences
against log(params). Per-genome results live in OUT/genomes/*.json, so an
interrupted run resumes and a proxy added later does not retrain anything.

Genome i is the same for every --n (one seeded sampler), so --n can grow a
benchmark; --fidelity STEPSxBATCH adds few-step fidelities (scored for every
genome, trained ones included), named NAME@STEPSxBATCH in the tables. Costs
are process CPU seconds against the same genomes' training runs.

  python experiments/rank_correlation.py run --space fixed --n 150 --epochs 4 --option size=8 \
      --fidelity 5x32 3x64 --out results/rank/fixed
  python experiments/rank_correlation.py report results/rank/fixed results/rank/tiny --split 90 \
--md results/rank/tables.md
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import harness
import numpy as np
import torch
from scipy.stats import rankdata

from msenas.atomic import atomic_write_text
from msenas.data import get_dataset
from msenas.fitness.composite import COMPOSITES
from msenas.fitness.config import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import make_probe
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST
from msenas.genome import get_space, io, sample
from msenas.train.config import TrainConfig
from msenas.train.trainer import train

# ----------------------------------------------------------------------------- statistics (vectorised over
# bootstrap resamples): tau / rho with bootstrap intervals, paired differences, partial tau, params bands

def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every row pair of x, y [B, n]; 0 where a row is constant."""
    dx = np.sign(x[:, :, None] - x[:, None, :])          # [B, n, n]
    dy = np.sign(y[:, :, None] - y[:, None, :])
    num = (dx * dy).sum(axis=(1, 2))
    den = np.sqrt((dx != 0).sum(axis=(1, 2)) * (dy != 0).sum(axis=(1, 2)).astype(float))
    return np.divide(num, den, out=np.zeros(len(x)), where=den > 0)


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho (Pearson of average ranks) of every row pair; 0 where a row is constant."""
    rx = rankdata(x, axis=1) - (x.shape[1] + 1) / 2
    ry = rankdata(y, axis=1) - (y.shape[1] + 1) / 2
    den = np.sqrt((rx ** 2).sum(1) * (ry ** 2).sum(1))
    return np.divide((rx * ry).sum(1), den, out=np.zeros(len(x)), where=den > 0)


def kendall(x, y) -> float:
    """Kendall tau-b of two samples (a constant sample gives 0)."""
    return float(kendall_rows(np.asarray(x, float)[None], np.asarray(y, float)[None])[0])


def spearman(x, y) -> float:
    """Spearman rho of two samples (a constant sample gives 0)."""
    return float(spearman_rows(np.asarray(x, float)[None], np.asarray(y, float)[None])[0])


ROWS = {kendall: kendall_rows, spearman: spearman_rows}


def _resamples(n: int, b: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(b, n))


def bootstrap(x, y, fn, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Statistic on the full sample and its percentile-bootstrap 95% interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = _resamples(len(x), n, seed)
    boots = ROWS[fn](x[idx], y[idx])
    return fn(x, y), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def paired_difference(a, b, y, fn, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """fn(a, y) - fn(b, y) and its paired-bootstrap 95% interval (same resamples for both)."""
    a, b, y = (np.asarray(v, float) for v in (a, b, y))
    idx = _resamples(len(y), n, seed)
    diffs = ROWS[fn](a[idx], y[idx]) - ROWS[fn](b[idx], y[idx])
    return fn(a, y) - fn(b, y), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def partial_kendall(x, y, z) -> float:
    """Kendall's partial tau of x and y given z: (t_xy - t_xz t_yz) / sqrt((1 - t_xz^2)(1 - t_yz^2))."""
    txy, txz, tyz = kendall(x, y), kendall(x, z), kendall(y, z)
    den = np.sqrt(max(0.0, (1 - txz ** 2) * (1 - tyz ** 2)))
    return float((txy - txz * tyz) / den) if den > 0 else 0.0


def band_percentile_mean(*columns) -> np.ndarray:
    """The mean of each column's empirical percentile within the sample (a composite calibrated on it)."""
    def pct(v):
        v = np.asarray(v, float)
        return (rankdata(v) - 1) / max(1, len(v) - 1)
    return np.mean([pct(c) for c in columns], axis=0)


def bands(results: list[dict], seeds: list[str], n_bands: int = 3) -> dict:
    """Within terciles (n_bands) of params among live genomes: Kendall tau of loss_params (recalibrated in the
    band) and of the probe loss alone against mean test accuracy, partial tau of the probe loss given
    log(params), the ground truth's seed-to-seed tau; the same over all live genomes ("all")."""
    live = [r for r in results if not r["dead"]]
    params = np.array([r["params"] for r in live], float)
    loss = np.array([r["proxies"]["probe_loss"] for r in live], float)
    accs = np.array([[r["train"][s]["test_acc"] for s in seeds] for r in live], float)
    y = accs.mean(axis=1)
    edges = np.quantile(params, np.linspace(0, 1, n_bands + 1))
    groups = {"all": np.ones(len(live), bool)}
    for b in range(n_bands):
        lo, hi = edges[b], edges[b + 1]
        groups[f"band {b + 1}: params {lo:,.0f}-{hi:,.0f}"] = (params >= lo) & (
            params <= hi if b == n_bands - 1 else params < hi)
    out = {}
    for name, m in groups.items():
        lp = np.log(params[m])
        out[name] = {"n": int(m.sum()),
                     "tau_loss_params": kendall(band_percentile_mean(loss[m], lp), y[m]),
                     "tau_probe_loss": kendall(loss[m], y[m]),
                     "tau_log_params": kendall(lp, y[m]),
                     "partial_tau_loss_given_params": partial_kendall(loss[m], y[m], lp),
                     "seed_tau": kendall(accs[m, 0], accs[m, 1]) if accs.shape[1] > 1 else None}
    return out


# ----------------------------------------------------------------------------- the benchmark


BASE = "base"   # the few-step fidelity of the setup (--steps at batch 64), kept in res["proxies"]


def fidelity_config(base: FitnessConfig, fid: str) -> FitnessConfig:
    """The fitness config of a few-step fidelity named STEPSxBATCH (e.g. 5x32), or the base one."""
    if fid == BASE:
        return base
    steps, _, batch = fid.partition("x")
    if not (steps.isdigit() and batch.isdigit()):
        sys.exit(f"--fidelity {fid!r}: expected STEPSxBATCH, e.g. 5x32")
    return dataclasses.replace(base, steps=int(steps), batch_size=int(batch))


def _timed(g, probe, cfg, names):
    """evaluate_genome() and the process CPU seconds it took (its record's cpu_time: less disturbed by other jobs
    than wall time)."""
    rec = evaluate_genome(g, probe, cfg, names)
    return rec, rec.cpu_time


def _bench(setup: dict):
    """(dataset, base fitness config, probe batch) of a benchmark setup: one recipe for run and retime."""
    ds = get_dataset(setup["dataset"], setup.get("data_dir"), T=setup["T"], seed=setup["seed"], **setup["options"])
    cfg = FitnessConfig(T=setup["T"], per_class=setup["per_class"], steps=setup["steps"])
    return ds, cfg, make_probe(ds, cfg, setup["seed"])


def _train_timed(g, ds, setup: dict, seed: int) -> dict:
    """One ground-truth training run: test accuracy, wall seconds and process CPU seconds."""
    tcfg = TrainConfig(epochs=setup["epochs"], seed=seed, T=setup["T"], lr=setup["lr"], warmup_epochs=0.0)
    with harness.timed() as t, tempfile.TemporaryDirectory() as tmp:
        m = train(g, ds, tcfg, tmp, progress=False)
    return {"test_acc": m["final"]["test_acc"], "seconds": t.wall_s, "cpu_seconds": t.cpu_s}


def bench_space(setup: dict):
    """The search space of a benchmark: a preset, at another base width when `channels` is set (e.g. mse-nas at 8)."""
    space = get_space(setup["space"])
    return dataclasses.replace(space, channels=(setup["channels"],)) if setup.get("channels") else space


IDENTITY = ("space", "channels", "seed", "dataset", "data_dir", "options", "train_seeds", "epochs", "T", "steps",
            "per_class", "lr")


def run(args: argparse.Namespace) -> None:
    """Score and train every genome that has no result yet (genome i is the same for every --n)."""
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    (out / "genomes").mkdir(parents=True, exist_ok=True)
    options = harness.options(args.option)
    setup = {"space": args.space, "channels": args.channels, "seed": args.seed, "dataset": args.dataset,
             "data_dir": args.data_dir, "options": options,
             "train_seeds": args.train_seeds, "epochs": args.epochs, "T": args.T, "steps": args.steps,
             "per_class": args.per_class, "lr": args.lr}
    saved = out / "setup.json"
    if saved.exists():
        old = json.loads(saved.read_text())
        if {k: old.get(k) for k in IDENTITY} != setup:
            sys.exit(f"{saved} was made with another setup; use another --out")
        setup["fidelities"] = sorted(set(old.get("fidelities", [])) | set(args.fidelity))
        setup["n"] = max(old.get("n", 0), args.n)
    else:
        setup["fidelities"], setup["n"] = sorted(set(args.fidelity)), args.n
    atomic_write_text(saved, json.dumps(setup, indent=1))
    ds, cfg, probe = _bench(setup)
    rng = np.random.default_rng(args.seed)
    genomes = [sample(bench_space(setup), rng) for _ in range(args.n)]
    zero = tuple(n for n in PROXIES.names() if PROXIES.get(n).fidelity == ZERO_COST)
    few = tuple(n for n in PROXIES.names() if PROXIES.get(n).fidelity == FEW_STEP)
    evaluate_genome(genomes[0], probe, cfg, zero + few)           # warm-up: first-call costs stay out of the timings
    for i, g in enumerate(genomes):
        path = out / "genomes" / f"{i:03d}_{io.key(g)}.json"
        res = json.loads(path.read_text()) if path.exists() else {"index": i, "key": io.key(g), "genome": io.to_dict(g)}
        if [n for n in zero + few if n not in res.get("proxies", {})]:
            res["proxies"], res["seconds"], res["cpu_seconds"], res["dead"] = {}, {}, {}, False
            for fid, names in ((ZERO_COST, zero), (FEW_STEP, few)):
                rec, cpu = _timed(g, probe, cfg, names)
                res["proxies"].update(rec.proxies)
                res["seconds"][fid], res["cpu_seconds"][fid] = rec.wall_time, cpu
                res["dead"] |= rec.dead
                res["params"], res["spikes"] = rec.params, rec.spikes
                if fid == ZERO_COST:
                    res["dead_init"] = rec.dead
            atomic_write_text(path, json.dumps(res, indent=1))
        if "dead_init" not in res:                           # results of round 1 lack it: re-score zero-cost
            rec, cpu = _timed(g, probe, cfg, zero)
            res["dead_init"] = rec.dead
            res.setdefault("cpu_seconds", {})[ZERO_COST] = cpu
        res.setdefault("fidelities", {})
        for fid in args.fidelity:
            if fid == BASE or fid in res["fidelities"]:
                continue
            rec, cpu = _timed(g, probe, fidelity_config(cfg, fid), few + ("log_params",))
            res["fidelities"][fid] = {"proxies": {n: rec.proxies[n] for n in few}, "dead": rec.dead,
                                      "seconds": rec.wall_time, "cpu_seconds": cpu}
        atomic_write_text(path, json.dumps(res, indent=1))
        res.setdefault("train", {})
        for s in args.train_seeds:
            if str(s) in res["train"]:
                continue
            res["train"][str(s)] = _train_timed(g, ds, setup, s)
            atomic_write_text(path, json.dumps(res, indent=1))
        accs = [res["train"][str(s)]["test_acc"] for s in args.train_seeds]
        print(f"[{i + 1}/{args.n}] {res['key']} params={res['params']} dead={res['dead']} "
              f"acc={np.mean(accs):.3f} rdm={res['proxies']['rdm']:+.3f} rdm_k={res['proxies']['rdm_k']:+.3f}",
              flush=True)


def retime(args: argparse.Namespace) -> None:
    """Time again, in this process, one evaluation at a fidelity and one training run of stored genomes.

    The costs stored by `run` come from whatever else the machine did then; this re-measures a range of
    genomes under the caller's conditions (say, one process per core). Results: FOLDER/retime_<fid>.json.
    """
    torch.set_num_threads(args.threads)
    folder = Path(args.folder)
    setup = json.loads((folder / "setup.json").read_text())
    ds, base, probe = _bench(setup)
    cfg = fidelity_config(base, args.fidelity)
    names = tuple(n for n in PROXIES.names() if PROXIES.get(n).fidelity == FEW_STEP) + ("log_params",)
    path = folder / f"retime_{args.fidelity}.json"
    done = json.loads(path.read_text()) if path.exists() else {}
    files = {int(f.name[:3]): f for f in (folder / "genomes").glob("*.json")}
    todo = [i for i in range(args.start, args.end) if i in files and str(i) not in done]
    if todo:  # warm-up: first-call costs stay out of the timings
        evaluate_genome(io.from_dict(json.loads(files[todo[0]].read_text())["genome"]), probe, cfg, names)
    for i in todo:
        g = io.from_dict(json.loads(files[i].read_text())["genome"])
        _, cpu = _timed(g, probe, cfg, names)
        trained = _train_timed(g, ds, setup, setup["train_seeds"][0])
        done[str(i)] = {"eval_cpu_seconds": cpu, "train_cpu_seconds": trained["cpu_seconds"]}
        atomic_write_text(path, json.dumps(done, indent=1))
        print(f"[{i}] eval {cpu:.2f} s train {done[str(i)]['train_cpu_seconds']:.1f} s", flush=True)
    rows = [done[str(i)] for i in range(args.start, args.end) if str(i) in done]
    ev = float(np.mean([r["eval_cpu_seconds"] for r in rows]))
    tr = float(np.mean([r["train_cpu_seconds"] for r in rows]))
    print(f"genomes {args.start}..{args.end - 1} ({len(rows)} timed): {args.fidelity} evaluation {ev:.2f} CPU s, "
          f"one {setup['epochs']}-epoch training run {tr:.1f} CPU s = {100 * ev / tr:.1f}%")


def _percentiles(v: np.ndarray) -> np.ndarray:
    """Percentile of every value within the sample (ties share their mean rank)."""
    return (rankdata(v) - 1) / max(1, len(v) - 1)


def _few(r: dict, fid: str) -> tuple[dict, bool]:
    """Few-step proxy values of a genome at a fidelity, and whether it is dead there."""
    if fid == BASE:
        return r["proxies"], r["dead"]
    f = r["fidelities"][fid]
    return f["proxies"], r["dead_init"] or f["dead"]


def _column(values, dead) -> np.ndarray:
    v = np.array(values, float)
    v[dead] = np.min(v) - 1.0
    return v


def dead_masks(results: list[dict], fidelities: list[str], base_name: str) -> dict[str, np.ndarray]:
    """Per score name suffix: genomes counted dead ("" = at initialisation; "@FID" = also after FID's steps)."""
    init_dead = np.array([r.get("dead_init", r["dead"]) for r in results])
    out = {"": init_dead}
    for fid in fidelities:
        out[f"@{base_name if fid == BASE else fid}"] = np.array([d for _, d in (_few(r, fid) for r in results)])
    return out


def _mask_of(name: str, masks: dict[str, np.ndarray]) -> np.ndarray:
    return masks[name[name.index("@"):]] if "@" in name else masks[""]


def ensemble_column(names: tuple[str, ...], sc: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> np.ndarray:
    """Equal-weight mean of the named scores' percentiles within the sample; dead genomes (any part) rank last."""
    comp = sum(_percentiles(sc[n]) for n in names) / len(names)
    comp[np.any([_mask_of(n, masks) for n in names], axis=0)] = -1.0
    return comp


def choose_ensemble(sc: dict[str, np.ndarray] | list, y: np.ndarray | list, masks: dict | list, top: int = 6,
                    sizes: tuple[int, ...] = (2, 3)) -> tuple[str, ...]:
    """The ensemble (pre-registered rule, docs/fitness.md round 5): among the `top` single proxies by Kendall tau
    on the selection set, the subset of `sizes` members whose equal-weight percentile mean has the highest tau;
    ties go to fewer members, then to the alphabetically first. Given lists (one entry per search space), tau is
    the mean over the spaces, and only proxies scored in every space compete."""
    from itertools import combinations

    scs, ys, ms = (sc, y, masks) if isinstance(sc, list) else ([sc], [y], [masks])
    names = set.intersection(*(set(s) for s in scs))
    singles = [n for n in names if n != "params" and n.split("@")[0] not in COMPOSITES]
    tau = lambda col: float(np.mean([kendall(col(s, m), t) for s, m, t in zip(scs, ms, ys)]))  # noqa: E731
    best = sorted(singles, key=lambda n: (-tau(lambda s, m: s[n]), n))[:top]
    subsets = [c for k in sizes for c in combinations(sorted(best), k)]
    return max(subsets, key=lambda c: (tau(lambda s, m: ensemble_column(c, s, m)), -len(c),
                                       [-ord(ch) for ch in "+".join(c)]))


def finished(folder: Path, indices: str | None = None) -> tuple[dict, list[dict], list[str], list[str]]:
    """(setup, results, training seeds, fidelities) of a benchmark folder's genomes (a subset of them) that have
    every training seed and every fidelity."""
    setup = json.loads((folder / "setup.json").read_text())
    results = [json.loads(p.read_text()) for p in sorted((folder / "genomes").glob("*.json"))]
    seeds = [str(s) for s in setup["train_seeds"]]
    fids = [BASE] + [f for f in setup.get("fidelities", []) if f != BASE]
    results = [r for r in _subset(results, indices) if all(s in r.get("train", {}) for s in seeds)
               and all(f in r.get("fidelities", {}) for f in fids if f != BASE)]
    return setup, results, seeds, fids


def scored(folder: Path, indices: str | None = None) -> tuple[dict[str, np.ndarray], np.ndarray, dict]:
    """(scores, mean test accuracy, dead masks) of the finished genomes of a benchmark folder (a subset of them)."""
    setup, results, seeds, fids = finished(folder, indices)
    y = np.array([[r["train"][s]["test_acc"] for s in seeds] for r in results]).mean(axis=1)
    base_name = f"{setup['steps']}x64"
    return scores(results, fids, base_name), y, dead_masks(results, fids, base_name)


def scores(results: list[dict], fidelities: list[str], base_name: str) -> dict[str, np.ndarray]:
    """Every proxy and composite as one score per genome; dead genomes rank last, as in the engine.

    Zero-cost proxies count a genome dead when it is silent at initialisation;
    few-step proxies and composites with one (named NAME@STEPSxBATCH) also when
    it is silent after the steps. `params` is the parameter count with no
    forward pass at all (dead genomes not detected), for reference.
    """
    init_dead = np.array([r.get("dead_init", r["dead"]) for r in results])
    zero = [n for n in PROXIES.names() if PROXIES.get(n).fidelity == ZERO_COST     # a proxy registered after
            and all(n in r["proxies"] for r in results)]                            # the run: `run` adds it
    out = {n: _column([r["proxies"][n] for r in results], init_dead) for n in zero}
    out["params"] = np.log(np.array([r["params"] for r in results], float))
    for name, weights in COMPOSITES.items():
        if all(PROXIES.get(n).fidelity == ZERO_COST and n in out for n, _ in weights):
            comp = sum(w * _percentiles(out[n]) for n, w in weights) / sum(w for _, w in weights)
            comp[init_dead] = -1.0
            out[name] = comp
    for fid in fidelities:
        label = base_name if fid == BASE else fid
        few = [_few(r, fid) for r in results]
        dead = np.array([d for _, d in few])
        cols = {n: _column([p[n] for p, _ in few], dead) for n in few[0][0] if PROXIES.get(n).fidelity == FEW_STEP}
        out.update({f"{n}@{label}": v for n, v in cols.items()})
        for name, weights in COMPOSITES.items():
            if any(PROXIES.get(n).fidelity == FEW_STEP for n, _ in weights):
                comp = sum(w * _percentiles(cols.get(n, out.get(n))) for n, w in weights) / sum(w for _, w in weights)
                comp[dead] = -1.0
                out[f"{name}@{label}"] = comp
    return out


def _subset(results: list[dict], spec: str | None) -> list[dict]:
    """Genomes whose index is in START:STOP (None = all)."""
    if not spec:
        return results
    a, _, b = spec.partition(":")
    lo, hi = int(a or 0), int(b) if b else 10 ** 9
    return [r for r in results if lo <= r["index"] < hi]


def analyse(folder: Path, indices: str | None = None, ensemble: tuple[str, ...] | None = None) -> dict:
    """Correlations of every score with mean test accuracy, with intervals; costs per fidelity.

    `ensemble`: proxies whose equal-weight percentile mean is added as the score `ensemble(a+b)`; without
    it, the ensemble the pre-registered rule chooses on these genomes is added and recorded.
    """
    setup, results, seeds, fids = finished(folder, indices)
    if len(results) < 4:
        sys.exit(f"{folder}: only {len(results)} finished genomes in {indices or 'all'}; need at least 4")
    acc = np.array([[r["train"][s]["test_acc"] for s in seeds] for r in results])
    y = acc.mean(axis=1)
    base_name = f"{setup['steps']}x64"
    sc = scores(results, fids, base_name)
    masks = dead_masks(results, fids, base_name)
    chosen = tuple(ensemble) if ensemble else choose_ensemble(sc, y, masks)
    sc[f"ensemble({'+'.join(chosen)})"] = ensemble_column(chosen, sc, masks)
    table = {}
    for name, v in sc.items():
        table[name] = {"tau": bootstrap(v, y, kendall), "rho": bootstrap(v, y, spearman),
                       "tau_minus_log_params": paired_difference(v, sc["log_params"], y, kendall)}
    alive = ~np.array([r["dead"] or any(f["dead"] for f in r.get("fidelities", {}).values()) for r in results])
    alive_tau = {n: kendall(v[alive], y[alive]) for n, v in sc.items()} if alive.sum() > 3 else {}
    timed = [r for r in results if "cpu_seconds" in r["train"][seeds[0]] and FEW_STEP in r.get("cpu_seconds", {})]
    cost = {}
    if timed:
        train_cpu = float(np.mean([r["train"][s]["cpu_seconds"] for r in timed for s in seeds]))
        cost = {"genomes": len(timed), "train_cpu_s": train_cpu,
                ZERO_COST: float(np.mean([r["cpu_seconds"][ZERO_COST] for r in timed]))}
        for fid in fids:
            sec = [r["cpu_seconds"][FEW_STEP] if fid == BASE else r["fidelities"][fid]["cpu_seconds"] for r in timed]
            cost[base_name if fid == BASE else fid] = float(np.mean(sec))
        cost["fraction_of_training"] = {k: v / train_cpu for k, v in cost.items()
                                        if k not in ("genomes", "train_cpu_s")}
    return {
        "setup": setup, "indices": indices or "all", "n": len(results), "dead": int((~alive).sum()),
        "ensemble": list(chosen), "ensemble_chosen_here": ensemble is None,
        "dead_init": int(sum(r.get("dead_init", r["dead"]) for r in results)), "table": table,
        "alive_tau": alive_tau,
        "repeatability_tau": kendall(acc[:, 0], acc[:, 1]) if acc.shape[1] > 1 else None,
        "acc_mean": float(y.mean()), "acc_range": [float(y.min()), float(y.max())],
        "seconds": {fid: float(np.mean([r["seconds"][fid] for r in results])) for fid in (ZERO_COST, FEW_STEP)}
        | {"train": float(np.mean([r["train"][s]["seconds"] for r in results for s in seeds]))},
        "cpu_cost": cost,
    }


def _fmt(t) -> str:
    return f"{t[0]:+.2f} [{t[1]:+.2f}, {t[2]:+.2f}]"


def _table(a: dict) -> list[str]:
    lines = ["| proxy / composite | Kendall tau [95% CI] | Spearman rho [95% CI] | tau - tau(log params) [95% CI] "
             "| tau, live genomes only |", "| --- | --- | --- | --- | --- |"]
    for n in sorted(a["table"], key=lambda n: -a["table"][n]["tau"][0]):
        t, alive = a["table"][n], a["alive_tau"].get(n)
        lines.append(f"| `{n}` | {_fmt(t['tau'])} | {_fmt(t['rho'])} | {_fmt(t['tau_minus_log_params'])} | "
                     f"{'' if alive is None else f'{alive:+.2f}'} |")
    return lines + [""]


def _costs(a: dict) -> list[str]:
    c = a["cpu_cost"]
    if not c:
        return []
    fr = c["fraction_of_training"]
    return [f"CPU seconds per genome ({c['genomes']} genomes timed, 1 torch thread): one {a['setup']['epochs']}-epoch "
            f"training run {c['train_cpu_s']:.1f} s; " + "; ".join(f"{k} {c[k]:.2f} s = {100 * fr[k]:.1f}%" for k in fr)
            + " of the training run.", ""]


def report(args: argparse.Namespace) -> None:
    """Markdown tables over one or more benchmark folders; JSON summary beside each.

    With --split S, genomes 0..S-1 form the selection set and S.. the
    confirmation set: the composite chosen on the first is shown on both.
    """
    lines, analyses = [], {}
    subsets = [None] + ([f":{args.split}", f"{args.split}:"] if args.split else [])
    picked = [scored(Path(f), f":{args.split}" if args.split else None) for f in args.folders]
    joint = choose_ensemble(*map(list, zip(*[(sc, y, m) for sc, y, m in picked])))
    lines += [f"Ensemble `{'+'.join(joint)}`: chosen by the round-5 rule on "
              f"{'the selection sets (genomes below ' + str(args.split) + ')' if args.split else 'all genomes'} of "
              f"{', '.join(Path(f).name for f in args.folders)} (mean tau over the spaces).", ""]
    for folder in map(Path, args.folders):
        if args.split:      # the ensemble is chosen on the selection set(s) and only shown on the others
            runs = {sub or "all": analyse(folder, sub, joint) for sub in subsets}
        else:
            runs = {"all": analyse(folder, None, joint)}
        a = runs["all"]
        analyses[folder.name] = runs
        atomic_write_text(folder / "analysis.json", json.dumps(runs, indent=1))
        s = a["setup"]
        lines += [
            f"### space `{s['space']}`: N={a['n']} genomes ({a['dead_init']} dead at init, {a['dead']} dead at init "
            f"or after a fidelity's steps), dataset {s['dataset']} {s['options']}",
            "",
            f"Ground truth: test accuracy after {s['epochs']} epochs (AdamW lr {s['lr']}, batch 64, T={s['T']}), "
            f"mean over training seeds {s['train_seeds']}; mean {a['acc_mean']:.3f}, range "
            f"{a['acc_range'][0]:.3f}..{a['acc_range'][1]:.3f}; seed-to-seed Kendall tau "
            f"{'n/a' if a['repeatability_tau'] is None else format(a['repeatability_tau'], '+.2f')}. "
            "Few-step fidelities are named STEPSxBATCH.",
            "",

            *_costs(a),
            *_table(a),
        ]
        if args.split:
            c = runs[f"{args.split}:"]
            lines += [f"#### space `{s['space']}`, confirmation set only: genomes {args.split}.. (N={c['n']}, "
                      f"{c['dead_init']} dead at init; seed-to-seed tau {c['repeatability_tau']:+.2f})", "",
                      *_costs(c), *_table(c)]
    names = sorted(set.intersection(*(set(r["all"]["table"]) for r in analyses.values())))   # ties: in name order
    for sub in subsets:
        key = sub or "all"
        mean_tau = {n: float(np.mean([r[key]["table"][n]["tau"][0] for r in analyses.values()])) for n in names}
        ns = ", ".join(f"{f} N={r[key]['n']}" for f, r in analyses.items())
        lines += [f"### Mean Kendall tau over the spaces, genomes {key} ({ns})", "",
                  "| proxy / composite | mean tau | " + " | ".join(analyses) + " |",
                  "| --- | --- |" + " --- |" * len(analyses)]
        for n in sorted(names, key=lambda n: -mean_tau[n]):
            per = " | ".join(f"{r[key]['table'][n]['tau'][0]:+.2f}" for r in analyses.values())
            lines.append(f"| `{n}` | {mean_tau[n]:+.2f} | {per} |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.md:
        atomic_write_text(args.md, text + "\n")


def bands_report(args: argparse.Namespace) -> None:
    """Within-budget ranking (docs/budget.md, decision 1): per space, tau within params bands among live genomes."""
    lines, per_space = [], {}
    for folder in map(Path, args.folders):
        setup, results, seeds, _ = finished(folder)
        per_space[setup["space"]] = b = bands(results, seeds, args.bands)
        lines += [f"#### space `{setup['space']}` ({len(results)} genomes, {b['all']['n']} live at the default "
                  f"fidelity)", "",
                  "| genomes | N | tau loss_params (recalibrated) | tau probe loss alone | tau log(params) | "
                  "partial tau of probe loss given log(params) | ground truth seed-to-seed tau |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, r in b.items():
            lines.append(f"| {name} | {r['n']} | {r['tau_loss_params']:+.2f} | {r['tau_probe_loss']:+.2f} | "
                         f"{r['tau_log_params']:+.2f} | {r['partial_tau_loss_given_params']:+.2f} | "
                         f"{r['seed_tau']:+.2f} |")
        lines.append("")
    in_bands = [r for b in per_space.values() for k, r in b.items() if k != "all"]
    mean_lp = float(np.mean([r["tau_loss_params"] for r in in_bands]))
    mean_pl = float(np.mean([r["tau_probe_loss"] for r in in_bands]))
    lines += [f"Mean over the {len(in_bands)} bands: tau loss_params {mean_lp:+.3f}, probe loss alone {mean_pl:+.3f}.",
              ""]
    text = "\n".join(lines)
    print(text)
    if args.json:
        atomic_write_text(args.json, json.dumps({"spaces": per_space, "mean_in_bands": {
            "loss_params": mean_lp, "probe_loss": mean_pl}}, indent=1) + "\n")


def main(argv=None):
    p, sub = harness.subcommands(__doc__)
    r = harness.command(sub, "run", run, "score and train the genomes that have no result yet", "seed", "option",
                        "threads", "out")
    r.add_argument("--space", default="fixed")
    r.add_argument("--channels", type=int, default=None, help="base width instead of the preset's (mse-nas at 8)")
    r.add_argument("--n", type=int, default=30)
    r.add_argument("--dataset", default="digits")
    r.add_argument("--data-dir", default=None, help="dataset folder (cifar10, nmnist, ...; not needed for digits)")
    r.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--epochs", type=int, default=6)
    r.add_argument("--lr", type=float, default=3e-3)
    r.add_argument("--T", type=int, default=4)
    r.add_argument("--steps", type=int, default=10)
    r.add_argument("--per-class", type=int, default=8)
    r.add_argument("--fidelity", nargs="+", default=[BASE],
                   help="few-step fidelities to score besides the base one (--steps at batch 64): "
                        "STEPSxBATCH, e.g. 5x32")
    q = harness.command(sub, "report", report, "Markdown tables over benchmark folders", "md")
    q.add_argument("folders", nargs="+")
    q.add_argument("--split", type=int, help="genomes below this index are the selection set, the rest confirm")
    b = harness.command(sub, "bands", bands_report, "tau within params bands among live genomes (docs/budget.md, "
                        "decision 1)", "json")
    b.add_argument("folders", nargs="+")
    b.add_argument("--bands", type=int, default=3)
    t = harness.command(sub, "retime", retime, "re-measure the CPU cost of one fidelity against one training run",
                        "threads")
    t.add_argument("folder")
    t.add_argument("--fidelity", default="5x32")
    t.add_argument("--start", type=int, default=0)
    t.add_argument("--end", type=int, required=True, help="genomes start..end-1")
    return harness.dispatch(p, argv)


if __name__ == "__main__":
    main()
