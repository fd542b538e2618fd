"""The best network within a budget, against sampling and published networks (issue 25; plan in docs/budget.md).

  python experiments/budget_bench.py run --data-dir ~/data/cifar10 --budget small --out docs/data/budget-c10
  python experiments/budget_bench.py run ... --budget medium           (one process per budget, one core each)
  python experiments/budget_bench.py report docs/data/budget-c10

Every step is an item with its own JSON file in OUT/items/ (searches, halving, random arms, trainings), so a
killed run resumes where it stopped and the per-item results can be committed as they come; search run
folders and training folders go to --work (default results/budget-bench). --small runs the whole pipeline
at a tiny size on the embedded digits data (the suite's smoke test).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from msenas.atomic import atomic_write_text
from msenas.config import DataConfig
from msenas.genome import io as genome_io
from msenas.genome import sample
from msenas.rundir import EVALUATIONS, read_jsonl
from msenas.search.budget import order_key
from msenas.search.config import load_config
from msenas.search.halving import HalvingConfig, successive_halving
from msenas.search.run import calibration_genomes, costs_on, open_engine, run_search
from msenas.search.strategies import STRATEGIES
from msenas.train import TrainConfig, train
from msenas.zoo import ZOO, ZooModel

BUDGETS = {"small": 40_000, "medium": 80_000}
SEEDS = (0, 1, 2, 3, 4)
TRAIN_SEEDS = (0, 1)
CUT_GEN = 4                  # arm (b): the search of (a) up to this generation, then halving
HALVING = HalvingConfig(k=4, epochs=1, val_fraction=0.25)


def setting(a: argparse.Namespace) -> dict:
    """Everything the plan fixes, in one place (the --small form for the smoke test)."""
    if a.small:
        return {"config": None, "data": [], "search": ["search.population=4", "search.generations=2",
                                                       "search.elites=1", "fitness.calibration=6"],
                "gt": {"dataset": "digits", "options": {"size": 8}}, "epochs": 1, "cut": 1,
                "budgets": {"small": 4_000, "medium": 8_000}, "seeds": (0,), "train_seeds": (0,)}
    return {"config": "experiments/cifar10-cpu.toml", "data": [f"data.data_dir={a.data_dir}"],
            "search": ["search.population=12", "search.generations=6", "search.elites=2"],
            "gt": {"dataset": "cifar10", "data_dir": a.data_dir,
                   "options": {"size": 16, "train_per_class": 1000, "test_per_class": 200, "augment": False}},
            "epochs": 2, "cut": CUT_GEN, "budgets": BUDGETS, "seeds": SEEDS, "train_seeds": TRAIN_SEEDS}


class Items:
    """One JSON file per finished item in OUT/items; `get(name, fn)` runs fn only when the item is missing."""

    def __init__(self, out: Path):
        self.dir = out / "items"
        self.dir.mkdir(parents=True, exist_ok=True)

    def get(self, name: str, fn) -> dict:
        path = self.dir / f"{name}.json"
        if path.is_file():
            return json.loads(path.read_text())
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        value = {**value, "item": name, "item_wall_s": time.perf_counter() - t0,
                 "item_cpu_s": time.process_time() - c0, "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                                                   time.gmtime())}
        atomic_write_text(path, json.dumps(value, indent=1) + "\n")
        print(f"[{value['finished']}] {name}: {value['item_cpu_s']:.0f} CPU s", file=sys.stderr, flush=True)
        return value


def ranked(records: list[dict], budget) -> list[dict]:
    """Records best first by Deb's rules (violation, then fitness); failed and dead ones last."""
    return sorted(records, key=lambda r: (order_key(r, budget), -r["fitness"]))


def search_item(cfg, engine, run_dir: Path, cut: int) -> dict:
    """Run (or resume) one search; its best genome, the 4 best up to generation `cut`, and evaluation CPU."""
    if run_dir.exists() and not (run_dir / "checkpoint.json").is_file():
        shutil.rmtree(run_dir)
    run_search(cfg, run_dir, resume=run_dir.exists(), progress=False, engine=engine)
    lines = read_jsonl(run_dir / EVALUATIONS, "n")[0]
    strategy = STRATEGIES.get(cfg.search.algorithm)(cfg.search, cfg.search_space)
    genome_of = {e["key"]: genome_io.to_dict(strategy.genome(e["vector"])) for e in lines}
    early = [e["record"] for e in lines if e["gen"] <= cut]
    best = ranked([e["record"] for e in lines], cfg.search.budget)[0]
    top = [r for r in ranked(early, cfg.search.budget) if not r.get("dead") and not r.get("error")
           and not r.get("violation")][:HALVING.k]
    cpu = sum(e["record"].get("cpu_time", 0.0) for e in lines)
    return {"best": {"key": best["key"], "fitness": best["fitness"], "genome": genome_of[best["key"]],
                     "record": best},
            "top_at_cut": [{"key": r["key"], "fitness": r["fitness"], "genome": genome_of[r["key"]]} for r in top],
            "evaluations": len(lines), "eval_cpu_s": cpu,
            "eval_cpu_s_at_cut": sum(e["record"].get("cpu_time", 0.0) for e in lines if e["gen"] <= cut)}


def random_item(cfg, engine, seed: int, cpu_target: float) -> dict:
    """Arm (c): random genomes within the budget scored by the fitness until their CPU reaches cpu_target."""
    strategy = STRATEGIES.get("random")(cfg.search, cfg.search_space, engine.static_costs)
    rng = np.random.default_rng([seed, 0xC])
    records, genomes, cpu = [], {}, 0.0
    while cpu < cpu_target:
        batch = [strategy.genome(strategy.random_vector(rng)) for _ in range(4)]
        for g, r in zip(batch, engine.score(batch)):
            rec = r.to_dict()
            records.append(rec)
            genomes[rec["key"]] = genome_io.to_dict(g)
            cpu += rec["cpu_time"]
    best = ranked(records, cfg.search.budget)[0]
    return {"best": {"key": best["key"], "fitness": best["fitness"], "genome": genomes[best["key"]], "record": best},
            "evaluations": len(records), "eval_cpu_s": cpu}


def random_genome_item(cfg, engine, seed: int) -> dict:
    """Arm (d): the first random genome within the budget that is live at initialisation."""
    from msenas.fitness.evaluate import evaluate_genome

    rng = np.random.default_rng([seed, 0xD])
    static = engine.static_costs
    ex = engine.executor
    for tries in range(1, 1001):
        g = sample(cfg.search_space, rng)
        if cfg.search.budget.violation(static(g), static=True) > 0:
            continue
        rec = evaluate_genome(g, ex.probe, cfg.fitness, ("log_params",))
        if rec.ok:
            return {"best": {"key": rec.key, "genome": genome_io.to_dict(g), "record": rec.to_dict()}, "draws": tries}
    raise RuntimeError("no live random genome within the budget in 1000 draws")


def train_item(arch, gt, epochs: int, seed: int, folder: Path, loss: str = "ce") -> dict:
    """Ground truth of one pick and training seed: the final metrics of a fresh (or resumed) training."""
    tcfg = TrainConfig(epochs=epochs, T=4, seed=seed, loss=loss, warmup_epochs=min(1.0, epochs / 2))
    resume = (folder / "checkpoint.pt").is_file()
    m = train(arch, gt, tcfg, folder, resume=resume, progress=False)
    return {"final": m["final"], "history": m["history"], "resumed": resume}


def run(a: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    s = setting(a)
    out, work = Path(a.out), Path(a.work) / a.budget     # one work folder per process
    items = Items(out)
    limit = s["budgets"][a.budget]
    gt = DataConfig.from_dict(s["gt"]).build(4, 0)
    base = load_config(s["config"], [*s["data"], *s["search"], "search.workers=0",
                                     f"search.budget.params={limit}"])
    atomic_write_text(out / f"setting-{a.budget}.json", json.dumps({**s, "budget": a.budget, "limit": limit,
                                                                   "config": base.to_dict()}, indent=1, default=str))
    dataset = base.data.build(base.fitness.T, base.seed)
    probe_engine = open_engine(base, dataset)

    def trained(arch, key: str, loss: str = "ce") -> list[dict]:
        return [items.get(f"train-{key}-t{t}", lambda t=t: train_item(arch, gt, s["epochs"], t,
                                                                       work / "train" / f"{key}-t{t}", loss))
                for t in s["train_seeds"]]

    for name in ZOO.names():                                        # (e) the published networks at the budget
        z = items.get(f"zoo-{a.budget}-{name}", lambda name=name: _zoo_fit(name, base, probe_engine))
        model = ZooModel(name, z["width"])
        trained(model, model.key(), ZOO.get(name).loss)
    for seed in s["seeds"]:
        cfg = base.replace(seed=seed)
        engine = open_engine(cfg, dataset)
        cal = items.get(f"cal-{a.budget}-s{seed}", lambda: _calibrate(cfg, engine, dataset))
        engine.load_state_dict(cal["engine"])
        tag = f"{a.budget}-s{seed}"
        ga = items.get(f"search-{tag}", lambda: search_item(cfg, engine, work / f"ga-{tag}", s["cut"]))
        picks = {"a": ga["best"]}
        h = items.get(f"halving-{tag}", lambda: _halve(ga, cfg, dataset, work / f"halving-{tag}"))
        picks["b"] = h["best"]
        picks["c"] = items.get(f"random-{tag}", lambda: random_item(cfg, engine, seed, ga["eval_cpu_s"]))["best"]
        picks["d"] = items.get(f"randgenome-{tag}", lambda: random_genome_item(cfg, engine, seed))["best"]
        for arm in "abcd":
            trained(genome_io.from_dict(picks[arm]["genome"]), picks[arm]["key"])
        engine.close()
    if not a.skip_extend:                                           # (a') decision 2, lowest priority
        for seed in s["seeds"]:
            cfg = base.replace(seed=seed, fitness=base.fitness.replace(upper_tail="extend"))
            engine = open_engine(cfg, dataset)
            engine.load_state_dict(items.get(f"cal-{a.budget}-s{seed}", lambda: {})["engine"])
            tag = f"{a.budget}-s{seed}"
            x = items.get(f"extend-{tag}", lambda: search_item(cfg, engine, work / f"extend-{tag}", s["cut"]))
            trained(genome_io.from_dict(x["best"]["genome"]), x["best"]["key"])
            engine.close()
    probe_engine.close()


def _calibrate(cfg, engine, dataset) -> dict:
    engine.calibrate(calibration_genomes(cfg, costs_on(cfg, dataset.info)))
    return {"engine": engine.state_dict()}


def _halve(ga: dict, cfg, dataset, folder: Path) -> dict:
    genomes = [genome_io.from_dict(e["genome"]) for e in ga["top_at_cut"]]
    if len(genomes) < 2:
        return {"best": ga["top_at_cut"][0] if genomes else ga["best"], "cpu_s": 0.0, "rounds": []}
    h = successive_halving(genomes, dataset, HALVING, cfg.fitness.T, cfg.seed, folder, data=cfg.data)
    return {"best": ga["top_at_cut"][h["pick"]], **h}


def _zoo_fit(name: str, cfg, engine) -> dict:
    """The widest zoo network within the params budget (params do not depend on initialisation)."""
    from msenas.zoo.common import widest_within

    model, costs = widest_within(name, cfg.search.budget, engine.executor.probe, cfg.fitness.T,
                                 cfg.fitness.energy)
    return {"width": model.width, "costs": costs}


# ----------------------------------------------------------------------------- report


def load(out: Path) -> dict[str, dict]:
    """Every item of a benchmark folder by name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "items").glob("*.json"))}


def acc(items: dict, key: str, seeds) -> tuple[float | None, dict | None]:
    """Mean test accuracy over training seeds of a pick (None until every seed is trained), and seed 0's final."""
    runs = [items.get(f"train-{key}-t{t}") for t in seeds]
    if any(r is None for r in runs):
        return None, None
    return float(np.mean([r["final"]["test_acc"] for r in runs])), runs[0]["final"]


def boot_interval(d: np.ndarray, n: int = 10_000, seed: int = 0, level: float = 0.90) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences."""
    idx = np.random.default_rng(seed).integers(0, len(d), size=(n, len(d)))
    means = d[idx].mean(axis=1)
    return float(np.quantile(means, (1 - level) / 2)), float(np.quantile(means, 1 - (1 - level) / 2))


def report(a: argparse.Namespace) -> None:
    out = Path(a.out)
    items = load(out)
    lines, summary = [], {}
    for budget in ("small", "medium"):
        sfile = out / f"setting-{budget}.json"
        if not sfile.is_file():
            continue
        s = json.loads(sfile.read_text())
        seeds, tseeds = s["seeds"], s["train_seeds"]
        arms: dict[str, dict] = {k: {} for k in ("a", "b", "c", "d", "a'")}
        cpu: dict[str, dict] = {k: {} for k in arms}
        halving_share = {}
        for seed in seeds:
            tag = f"{budget}-s{seed}"
            ga, h, rnd, rg, x = (items.get(f"{p}-{tag}") for p in ("search", "halving", "random", "randgenome",
                                                                    "extend"))
            for arm, it in (("a", ga), ("b", h), ("c", rnd), ("d", rg), ("a'", x)):
                if it is not None:
                    arms[arm][seed] = (it["best"]["key"], *acc(items, it["best"]["key"], tseeds))
            if ga:
                cpu["a"][seed] = ga["eval_cpu_s"]
                if h:
                    cpu["b"][seed] = ga["eval_cpu_s_at_cut"] + h.get("cpu_s", 0.0)
                    cal = items.get(f"cal-{tag}", {}).get("item_cpu_s", 0.0)
                    halving_share[seed] = (h.get("cpu_s", 0.0) / ga["eval_cpu_s"],
                                           h.get("cpu_s", 0.0) / (ga["eval_cpu_s"] + cal))
            if rnd:
                cpu["c"][seed] = rnd["eval_cpu_s"]
        zoo = {}
        for name in ZOO.names():
            z = items.get(f"zoo-{budget}-{name}")
            if z:
                zoo[name] = (ZooModel(name, z["width"]).key(), *acc(items, ZooModel(name, z["width"]).key(), tseeds))
        lines += _budget_tables(budget, s, arms, cpu, zoo, items, tseeds)
        lines += _ground_truth_noise(arms, zoo, items, tseeds)
        if halving_share:
            v, w = zip(*halving_share.values())
            lines += [f"Halving stage CPU as a share of the search's: {np.mean(v):.0%} of (a)'s scoring of its "
                      f"72 genomes (per seed {', '.join(f'{x:.0%}' for x in v)}), {np.mean(w):.0%} with the "
                      f"calibration included (per seed {', '.join(f'{x:.0%}' for x in w)}); target at most 25%.",
                      ""]
        summary[budget] = {"arms": {k: {str(sd): list(v[:2]) for sd, v in d.items()} for k, d in arms.items()},
                           "zoo": {n: list(v[:2]) for n, v in zoo.items()}, "cpu": cpu}
    lines += _decision2(summary)
    text = "\n".join(lines)
    print(text)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    if a.md:
        atomic_write_text(a.md, text + "\n")


def _ground_truth_noise(arms, zoo, items, tseeds) -> list[str]:
    """Kendall tau between the two training seeds' test accuracies over every distinct pick of the budget."""
    from scipy.stats import kendalltau

    if len(tseeds) < 2:
        return []
    keys = sorted({v[0] for per in arms.values() for v in per.values()} | {v[0] for v in zoo.values()})
    pairs = [[items[f"train-{k}-t{t}"]["final"]["test_acc"] for t in tseeds[:2]] for k in keys
             if all(f"train-{k}-t{t}" in items for t in tseeds[:2])]
    if len(pairs) < 3:
        return []
    a, b = np.array(pairs).T
    return [f"Ground truth noise: Kendall tau between training seeds {tseeds[0]} and {tseeds[1]} over the "
            f"{len(pairs)} distinct trained picks of this budget: {kendalltau(a, b).statistic:+.2f}; mean absolute "
            f"seed-to-seed difference {np.abs(a - b).mean():.3f}.", ""]


def _decision2(summary: dict) -> list[str]:
    """Decision 2 of docs/budget.md: (a') - (a) over every (budget, seed) pair with both trained."""
    d, pairs, same = [], [], 0
    for budget, sm in summary.items():
        a, x = sm["arms"]["a"], sm["arms"]["a'"]
        for sd in a:
            if sd in x and a[sd][1] is not None and x[sd][1] is not None:
                d.append(x[sd][1] - a[sd][1])
                pairs.append(f"{budget}-s{sd}")
                same += a[sd][0] == x[sd][0]                   # the same genome picked
    if len(d) < 2:
        return []
    d = np.array(d)
    lo, hi = boot_interval(d)
    switch = d.mean() > 0 and lo > 0
    return ["### Decision 2: (a') upper_tail extend - (a) saturate", "",
            "| pairs | mean difference | 90% bootstrap interval | wins / ties / losses | same pick |",
            "| --- | --- | --- | --- | --- |",
            f"| {len(d)} of 10 ({', '.join(pairs)}) | {d.mean():+.4f} | [{lo:+.4f}, {hi:+.4f}] | "
            f"{int((d > 0).sum())} / {int((d == 0).sum())} / {int((d < 0).sum())} | {same} of {len(d)} |", "",
            f"Rule: switch the default to extend if the mean is positive and the interval excludes 0: "
            f"{'switch' if switch else 'stay with saturate'}"
            f"{'' if len(d) == 10 else ' (NOT decided: the run is incomplete)'}.", ""]


NAMES = {"a": "(a) evolution", "b": "(b) evolution + halving", "c": "(c) random, ranked by fitness",
         "d": "(d) random genome", "a'": "(a') evolution, upper_tail extend"}


def _budget_tables(budget, s, arms, cpu, zoo, items, tseeds) -> list[str]:
    lines = [f"### Budget {budget}: params <= {s['limit']:,}", "",
             "| arm | mean test acc | std over seeds | per seed | params | energy uJ/sample (trained) | "
             "search CPU s (mean) |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for arm, per in arms.items():
        done = {sd: v for sd, v in per.items() if v[1] is not None}
        if not done:
            continue
        accs = np.array([v[1] for v in done.values()])
        params = [v[2]["params"] for v in done.values()]
        energy = [v[2]["energy_pj"] / 1e6 for v in done.values()]
        c = np.mean(list(cpu[arm].values())) if cpu.get(arm) else float("nan")
        lines.append(f"| {NAMES[arm]} | {accs.mean():.3f} | {accs.std():.3f} | "
                     f"{', '.join(f'{x:.3f}' for x in accs)} (seeds {', '.join(map(str, done))}) | "
                     f"{np.mean(params):,.0f} | {np.mean(energy):.2f} | {c:.0f} |")
    for name, (key, m, final) in zoo.items():
        if m is not None:
            lines.append(f"| (e) {key} | {m:.3f} | (one network) | | {final['params']:,} | "
                         f"{final['energy_pj'] / 1e6:.2f} | 0 |")
    lines += ["", "| paired difference | mean | 90% bootstrap interval | std over seeds | wins | seeds |",
              "| --- | --- | --- | --- | --- | --- |"]
    refs = {"c": arms["c"], "d": arms["d"], **{f"e:{n}": {sd: (k, m, f) for sd in arms["a"]}
                                               for n, (k, m, f) in zoo.items()}}
    for arm in ("a", "b"):
        for ref, per_ref in refs.items():
            common = [sd for sd in arms[arm] if sd in per_ref and arms[arm][sd][1] is not None
                      and per_ref[sd][1] is not None]
            if len(common) < 2:
                continue
            d = np.array([arms[arm][sd][1] - per_ref[sd][1] for sd in common])
            lo, hi = boot_interval(d)
            lines.append(f"| ({arm}) - ({ref}) | {d.mean():+.3f} | [{lo:+.3f}, {hi:+.3f}] | {d.std():.3f} | "
                         f"{int((d > 0).sum())} / {len(d)} | {', '.join(map(str, common))} |")
    if cpu["a"] and cpu["b"]:
        share = [(cpu["b"][sd] - cpu["a"][sd]) for sd in cpu["b"] if sd in cpu["a"]]
        lines += ["", f"Halving stage: (b) costs {np.mean(share):+.0f} CPU s against (a)'s search on average."]
    lines.append("")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--data-dir", help="the CIFAR-10 folder (cifar-10-batches-py)")
    r.add_argument("--budget", choices=tuple(BUDGETS), required=True)
    r.add_argument("--out", required=True, help="per-item results (commit these)")
    r.add_argument("--work", default="results/budget-bench", help="search runs and training folders")
    r.add_argument("--skip-extend", action="store_true", help="leave out arm (a') (decision 2)")
    r.add_argument("--small", action="store_true", help="tiny sizes on digits (the smoke test)")
    q = sub.add_parser("report")
    q.add_argument("out")
    q.add_argument("--md", help="also write the tables here")
    a = p.parse_args()
    if a.cmd == "run" and not a.small and not a.data_dir:
        p.error("run: --data-dir is required (or --small)")
    {"run": run, "report": report}[a.cmd](a)


if __name__ == "__main__":
    main()
