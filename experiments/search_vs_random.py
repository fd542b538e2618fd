"""What a search buys over random sampling: strategies at equal evaluations (run), and one story end to end (e2e).

run    For each search seed, every strategy of --strategies (any names of msenas.search.STRATEGIES; default:
       the config's algorithm, then `random`) runs `msenas search` with the same config, fitness and
       calibration. The first strategy sets the budget: its number of fitness evaluations E (calibration
       excluded: it is shared); every other steady-state strategy runs asynchronously with exactly E
       evaluations (search.evaluations), a generational one with the config's generations (its E is
       reported). Arms, each giving one genome trained with the same budget over --train-seeds:
         <strategy>        the hall-of-fame best of that strategy's search (by the fitness);
         random-genome     the first genome the `random` strategy drew (random sampling alone; only with
                           `random`).
       Results per seed are kept in OUT/seed_<s>.json, the run folders in OUT/run_<s>_<strategy> and the
       trainings in OUT/train_<s>/ (the script resumes).
e2e    One real story (issue 13 section 3): search with a preset (default experiments/cifar10-cpu.toml: the
       fixed space, 16x16, 200 / 100 images per class; its data_dir the one --datasets gives its dataset);
       three networks: the search's best, the first random genome `search --train-top` draws (the run's
       space, within the best's parameters, live at initialisation) and a hand-written baseline of similar
       size (stem + 3 cells, each a chain of two conv3x3 LIF edges, 16/32/32 channels, the fixed space's
       macro); each trained on every dataset of --datasets (NAME=DIR; cifar10 and nmnist with the options
       of E2E_OPTIONS) for --epochs epochs, training seeds --seeds, with one budget. Every (dataset, seed)
       trains into OUT/<dataset>/s<seed>/<network> (msenas.search.followup.train_picks: a finished training
       is read back), so a rerun resumes.
report, e2e-report   the Markdown tables of a folder (e2e: mean +- sd over seeds of test accuracy, spikes,
       SOPs, energy, params, wall time per training).

  python experiments/search_vs_random.py run --config experiments/digits.toml --seeds 0 1 2 --out results/svr
  python experiments/search_vs_random.py run --config experiments/digits.toml --strategies aging random \
--out results/svr-aging
  python experiments/search_vs_random.py report results/svr --md docs/search_vs_random.md
  python experiments/search_vs_random.py e2e --datasets cifar10=/work/data/cifar10 \
      nmnist=../shared/data/nmnist --out results/e2e --epochs 8 --seeds 0 1
  python experiments/search_vs_random.py e2e-report results/e2e --md results/e2e/table.md
"""
from __future__ import annotations

import argparse
from pathlib import Path

import harness
import numpy as np

ONE_RANDOM = "random-genome"
HERE = Path(__file__).resolve().parent
E2E_OPTIONS = {"cifar10": {"size": 16, "train_per_class": 200, "test_per_class": 100, "augment": False},
               "nmnist": {"size": 17, "train_per_class": 100}}
NETWORKS = ("searched", "random", "baseline")


def _search(args: argparse.Namespace, seed: int, strategy: str, budget: int | None, out: Path):
    """Run (or resume) one strategy's search; (config, run folder, evaluations, best entry)."""
    from msenas.rundir import HALL_OF_FAME, read_json
    from msenas.search import STRATEGIES
    from msenas.search.config import load_config
    from msenas.search.run import run_search

    sets = [f"seed={seed}", "search.workers=0", f'search.algorithm="{strategy}"', *args.overrides]
    if budget is not None and STRATEGIES.get(strategy).steady:
        sets += [f"search.evaluations={budget}", 'search.mode="async"']
    cfg = load_config(args.config, sets)
    run_dir = out / f"run_{seed}_{strategy}"
    state = run_search(cfg, run_dir, resume=(run_dir / "checkpoint.json").exists(), progress=False)
    return cfg, run_dir, state.evaluations, read_json(run_dir / HALL_OF_FAME)[0]


def run_seed(args: argparse.Namespace, seed: int, out: Path) -> dict:
    """One seed of the comparison: every strategy's search at the first one's budget, then training."""
    from msenas.genome import from_dict, io
    from msenas.rundir import EVALUATIONS, read_jsonl
    from msenas.search import STRATEGIES
    from msenas.search.followup import train_picks
    from msenas.train.config import TrainConfig

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
    arms = [(arm, g) for arm, (g, _) in picks.items()]
    accs = {arm: [] for arm in picks}
    for s in args.train_seeds:
        tcfg = TrainConfig(epochs=args.epochs, seed=s, T=cfg.fitness.T, warmup_epochs=0.0)
        for (arm, _), row in zip(arms, train_picks(arms, ds, tcfg, out / f"train_{seed}" / f"s{s}")):
            accs[arm].append(float(row["test_acc"]))
    res = {"seed": seed, "evaluations": budget, "evaluations_per_strategy": evaluations, "arms": {}}
    for arm, (g, fit) in picks.items():
        res["arms"][arm] = {"key": io.key(g), "fitness": fit, "test_acc": accs[arm]}
        print(f"seed {seed} {arm:15s} fitness {fit:+.3f} acc {np.mean(accs[arm]):.3f}", flush=True)
    return res


def run(args: argparse.Namespace) -> None:
    import torch

    from msenas.search import STRATEGIES
    from msenas.search.config import load_config

    if args.strategies is None:
        args.strategies = [load_config(args.config, args.overrides).search.algorithm, "random"]
    torch.set_num_threads(args.threads)
    for s in args.strategies:
        STRATEGIES.get(s)
    out = Path(args.out)
    harness.write_json(out / "setup.json", {**{k: v for k, v in vars(args).items() if k != "fn"},
                                            "set": args.overrides, "stamp": harness.stamp()})
    for seed in args.seeds:
        path = out / f"seed_{seed}.json"
        if not path.exists():
            harness.write_json(path, run_seed(args, seed, out))


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
    from msenas.fitness.record import usable_values

    arms = list(seeds[0]["arms"])
    out = {"seeds": [s["seed"] for s in seeds], "evaluations": [s["evaluations"] for s in seeds], "arms": {},
           "reference": arms[0]}
    for arm in arms:
        acc = [float(np.mean(s["arms"][arm]["test_acc"])) for s in seeds]
        fit = usable_values([s["arms"][arm]["fitness"] for s in seeds]).tolist()   # dead: NaN, out of means
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
    setup = harness.read_json(out / "setup.json")
    seeds = [harness.read_json(p) for p in sorted(out.glob("seed_*.json"))]
    if not seeds:
        raise SystemExit(f"error: no seed_*.json results in {out}")
    sm = summarise(seeds)
    arms = harness.table(
        ["arm", "mean test acc", "std over search seeds", "per seed (mean over training seeds)",
         "fitness of its genome (mean over live genomes; per seed)", "fitness evaluations"],
        [(arm, f"{a['acc_mean']:.3f}", f"{a['acc_std']:.3f}", ", ".join(f"{p:.3f}" for p in a["acc"]),
          f"{_fit(a['fitness_mean'])}; {', '.join(_fit(p) for p in a['fitness'])}",
          ", ".join(str(e) for e in sm["evaluations"])) for arm, a in sm["arms"].items()])
    minus = harness.table(
        [f"{sm['reference']} minus", "test acc: mean +- std (per seed)", f"seeds {sm['reference']} wins / ties",
         "fitness: mean (per seed)"],
        [(arm, f"{d['acc_mean']:+.3f} +- {d['acc_std']:.3f} ({', '.join(f'{x:+.3f}' for x in d['acc'])})",
          f"{d['wins']} / {d['ties']} of {len(seeds)}",
          f"{_fit(d['fitness_mean'], '+')} ({', '.join(_fit(x, '+') for x in d['fitness'])})")
         for arm, d in sm["reference_minus"].items()])
    head = (f"Config `{setup['config']}` with overrides {setup['set']}; strategies {setup['strategies']} at equal "
            f"fitness evaluations; {len(seeds)} search seeds; each arm's genome trained {setup['epochs']} epochs "
            f"with training seeds {setup['train_seeds']}.")
    harness.write_json(out / "summary.json", _nulls(sm))                    # strict JSON: dead is null
    harness.emit(f"{head}\n\n{arms}\n\n{minus}", md=args.md)


# ----------------------------------------------------------------------------- e2e


def baseline():
    """Stem + 3 cells of two chained conv3x3 LIF edges each, a reduction at cell 1 (16/32/32 channels)."""
    from msenas.genome import Op, instantiate
    from msenas.genome.types import Cell, Genome

    cell = lambda: Cell((instantiate("chain", 2, [Op("conv3x3")] * 2),))  # noqa: E731
    return Genome(cells=(cell(), cell(), cell()), inputs=((0,), (1,), (2,)), reductions=(1,), channels=16,
                  stem_multiplier=1)


def e2e_networks(args, out: Path) -> dict:
    """name -> network: the search's best (searched now, or resumed), the first random pick, the baseline."""
    from msenas.config import read_toml
    from msenas.genome import io
    from msenas.rundir import BEST
    from msenas.search.budget import BudgetConfig
    from msenas.search.config import load_config
    from msenas.search.followup import random_picks
    from msenas.search.results import read_entries
    from msenas.search.run import run_search

    run = out / "search"
    dirs = dict(item.partition("=")[::2] for item in args.datasets)
    searched_on = read_toml(args.config).get("data", {}).get("dataset")
    where = [f'data.data_dir="{dirs[searched_on]}"'] if dirs.get(searched_on) else []    # its folder, when given
    cfg = load_config(args.config, [*where, f"search.workers={args.workers}", *args.overrides])
    if not (run / BEST).is_file():
        with harness.timed() as t:
            run_search(cfg, run, resume=(run / "checkpoint.json").is_file(), progress=False)
        harness.write_json(out / "search_seconds.json", {"seconds": t.wall_s, "cpu_seconds": t.cpu_s})
    entry = read_entries(run)[0]
    best = io.from_dict(entry["genome"])
    dataset = cfg.data.build(cfg.fitness.T, cfg.seed)
    budget = cfg.search.budget if cfg.search.budget.active else BudgetConfig(params=entry["record"]["params"])
    networks = {"searched": best, "random": random_picks(cfg, dataset, budget, n=1)[0][1], "baseline": baseline()}
    for name, genome in networks.items():
        if not (out / f"{name}.json").exists():
            io.save(genome, out / f"{name}.json")
    return networks


def e2e(args: argparse.Namespace) -> None:
    import torch

    from msenas.config import DataConfig
    from msenas.search.followup import train_picks
    from msenas.train import TrainConfig

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    networks = e2e_networks(args, out)
    extra = harness.options(args.option)
    for item in args.datasets:
        name, _, data_dir = item.partition("=")
        opts = {**E2E_OPTIONS.get(name, {}), **{k.partition(".")[2]: v for k, v in extra.items()
                                                 if k.partition(".")[0] == name}}
        data = DataConfig(name, data_dir or None, opts, seed=0)
        dataset = data.build(4)
        for seed in args.seeds:
            with harness.timed() as t:
                rows = train_picks(list(networks.items()), dataset, TrainConfig(epochs=args.epochs, seed=seed, T=4),
                                   out / name / f"s{seed}", data=data)
            print(f"{name} seed {seed}: " + ", ".join(f"{n} {r['test_acc']:.3f}" for n, r in zip(networks, rows))
                  + f" ({t.wall_s:.0f} s)", flush=True)
    harness.write_json(out / "machine.json", {**harness.stamp(), "threads": args.threads})


def e2e_report(args: argparse.Namespace) -> None:
    from msenas.rundir import METRICS, read_json

    out = Path(args.folder)
    rows = []
    for data_dir in sorted(p for p in out.iterdir() if p.is_dir() and p.name not in ("search", "train")):
        for name in NETWORKS:
            folders = sorted([*data_dir.glob(f"s*/{name}"), *data_dir.glob(f"{name}-s*")])   # and the old layout
            finals = [read_json(p / METRICS)["final"] for p in folders
                      if (p / METRICS).is_file() and read_json(p / METRICS).get("final")]
            if not finals:
                continue
            col = lambda k: [f[k] for f in finals]  # noqa: E731
            rows.append((data_dir.name, f"{name} (n={len(finals)})", harness.mean_sd(col("test_acc"), ".3f"),
                         harness.mean_sd(col("spikes"), ".4g"), harness.mean_sd(col("sops"), ".4g"),
                         harness.mean_sd([e / 1e6 for e in col("energy_pj")], ".3g"), f"{finals[0]['params']:,}",
                         harness.mean_sd(col("train_time"), ".0f")))
    harness.emit(harness.table(["dataset", "network", "test accuracy", "spikes / sample", "SOPs / sample",
                                "energy / sample (uJ)", "params", "training wall time (s)"], rows), md=args.md)


def main(argv=None):
    p, sub = harness.subcommands(__doc__)
    r = harness.command(sub, "run", run, "strategies at equal evaluations, their picks trained", "out", "set",
                        "threads")
    r.add_argument("--config", default="experiments/digits.toml")
    r.add_argument("--strategies", nargs="+", default=None,
                   help="strategies to compare, the first sets the budget (default: the config's algorithm, random)")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--epochs", type=int, default=4)
    q = harness.command(sub, "report", report, "the tables of a `run` folder", "md")
    q.add_argument("folder")
    e = harness.command(sub, "e2e", e2e, "search, then the best, a random genome and a baseline trained on datasets",
                        "out", "set", "threads", "option")
    e.add_argument("--config", default=str(HERE / "cifar10-cpu.toml"), help="search preset (--set overrides it)")
    e.add_argument("--datasets", nargs="+", required=True, metavar="NAME=DIR",
                   help="datasets to train on (cifar10 and nmnist with their options above; --option NAME.KEY=V)")
    e.add_argument("--epochs", type=int, default=8)
    e.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    e.add_argument("--workers", type=int, default=1, help="Ray workers of the search")
    q = harness.command(sub, "e2e-report", e2e_report, "the table of an `e2e` folder", "md")
    q.add_argument("folder")
    return harness.dispatch(p, argv)


if __name__ == "__main__":
    main()
