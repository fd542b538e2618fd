"""Fitness timing, one script: per genome of a preset, per proxy, serial against Ray, this tree against a baseline.

  preset   seconds per genome of a search preset's fitness (the figure that sizes a preset), scored by the
           engine's serial executor on one torch thread (what one Ray worker has), after one warm-up genome;
           and the preset's expected scoring time: (calibration + population x (generations + 1)) genomes
           shared by its workers
  proxies  CPU seconds of each zero-cost proxy alone per genome; every evaluation builds the network and runs
           the probe forward, which `log_params` alone needs, so its row is the base and each other row's
           extra over it is what the proxy itself costs (a dataset probe, or with --random C,H,W a random
           probe of that shape, 10 classes)
  modes    throughput (genomes/min) per fidelity, serial against Ray with 1 and 2 workers, modes interleaved
           round by round (best of --rounds), Ray's per-task overhead (worker time not spent evaluating), and a
           zero-cost and few-step evaluation against one plain training run of the same genome (8 epochs,
           batch 64, Adam 3e-3, CE on mean-over-T logits); space tiny, digits 16x16, FitnessConfig defaults
  trees    median process CPU seconds per genome of the default fitness (its composite's proxies), this tree
           against a baseline tree (a git worktree), each (round, tree) in its own subprocess, interleaved

  python experiments/bench_fitness.py preset --config experiments/cifar10-cpu.toml --set data.data_dir=~/data/cifar10
  python experiments/bench_fitness.py proxies --space tiny --option size=8 --n 10
  python experiments/bench_fitness.py proxies --space tiny --random 3,16,16 --n 10
  python experiments/bench_fitness.py modes --json results/bench_fitness.json [--rounds 2] [--serial-threads 1,2]
  git worktree add --detach /tmp/sim-base 561d939
  python experiments/bench_fitness.py trees --baseline /tmp/sim-base --space tiny --dataset digits
  python experiments/bench_fitness.py trees --baseline /tmp/sim-base --space fixed --dataset cifar10 \
      --data-dir /work/data/cifar10 --option size=16
"""
from __future__ import annotations

import os
import statistics
import tempfile

import harness

FIDELITIES = {
    "zero-cost": ("rdm", "sahd", "log_params"),
    "few-step": ("rdm", "sahd", "log_params", "rdm_k", "probe_loss", "probe_acc"),
}


def genomes(space, n: int, seed: int) -> list:
    """n genomes sampled from a space (a preset name or a SearchSpace) with one seeded generator."""
    import numpy as np

    from msenas.genome import get_space, sample

    space = get_space(space) if isinstance(space, str) else space
    rng = np.random.default_rng(seed)
    return [sample(space, rng) for _ in range(n)]


def serial(probe, cfg, threads: int = 1):
    """The serial executor of the search, with `threads` torch threads."""
    from msenas.fitness.executors import SerialEvaluator

    return SerialEvaluator(probe, cfg, threads=threads)


# ----------------------------------------------------------------------------- preset


def preset(args) -> dict:
    """Seconds per genome of a preset's fitness, through the engine's executor, and the preset's scoring time."""
    from msenas.fitness.config import ExecutorConfig
    from msenas.fitness.engine import make_engine

    cfg = harness_config(args)
    with harness.timed() as built:
        engine = make_engine(cfg.fitness, cfg.data, ExecutorConfig(executor="serial", workers=0), cfg.seed)
    names = cfg.fitness.proxy_names()
    pool = genomes(cfg.search_space, args.n + 1, args.seed)
    engine.executor.map(pool[:1], names)                    # warm-up: first-call costs stay out of the figure
    recs = engine.executor.map(pool[1:], names)
    wall, cpu = [r.wall_time for r in recs], [r.cpu_time for r in recs]
    med = statistics.median(wall)
    n_eval = cfg.fitness.calibration + cfg.search.population * (cfg.search.generations + 1)
    workers = max(1, cfg.search.workers)
    text = (f"{cfg.name}: {cfg.data.dataset} {dict(cfg.data.options)}, space {cfg.space}, proxies {names}\n"
            f"  dataset + probe {built.wall_s:.1f} s; one genome: median {med:.2f} s (min {min(wall):.2f}, "
            f"max {max(wall):.2f}, n={args.n}; CPU median {statistics.median(cpu):.2f} s)\n"
            f"  preset: about {n_eval} genomes x {med:.2f} s / {workers} workers = {n_eval * med / workers / 60:.1f} "
            "min of scoring (cache hits make it less; Ray's start and the data load add to it)")
    harness.emit(text, json_path=args.json, data={"config": args.config, "overrides": args.overrides,
                                                  "wall_s": wall, "cpu_s": cpu, "expected_genomes": n_eval})
    return {"wall_s": wall, "cpu_s": cpu}


def harness_config(args):
    """The run config of --config and --set, scored on one torch thread."""
    import torch

    from msenas.search.config import load_config

    torch.set_num_threads(1)
    return load_config(args.config, args.overrides)


# ----------------------------------------------------------------------------- proxies


def random_probe(shape: tuple[int, int, int], per_class: int, seed: int, n_classes: int = 10):
    """A probe of uniform random images of `shape`, `per_class` samples of each of `n_classes` classes."""
    import numpy as np

    from msenas.fitness.probe import ProbeData
    from msenas.fitness.rdm import categorical_rdm

    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    x = rng.random((len(y), *shape), dtype=np.float32)
    return ProbeData(x, y, x, y, categorical_rdm(y), shape, n_classes, seed)


def proxies(args) -> dict:
    """CPU seconds of each zero-cost proxy alone per genome (the records' cpu_time), and its extra over log_params."""
    import numpy as np
    import torch

    from msenas.data import get_dataset
    from msenas.fitness.config import FitnessConfig
    from msenas.fitness.probe import make_probe
    from msenas.fitness.proxies import PROXIES, ZERO_COST

    torch.set_num_threads(1)
    cfg = FitnessConfig(T=args.T, per_class=args.per_class)
    if args.random:
        probe = random_probe(tuple(int(v) for v in args.random.split(",")), args.per_class, args.seed)
    else:
        ds = get_dataset(args.dataset, args.data_dir, T=args.T, seed=args.seed, **harness.options(args.option))
        probe = make_probe(ds, cfg, args.seed)
    pool = genomes(args.space, args.n, args.seed)
    names = [n for n in PROXIES.names() if PROXIES.get(n).fidelity == ZERO_COST]
    ex = serial(probe, cfg)
    ex.map(pool[:1], tuple(names))                          # warm-up: first-call costs stay out
    cpu = {n: [] for n in names}
    for g in pool:
        for n in names:
            cpu[n].append(ex.map([g], (n,))[0].cpu_time)
    base = float(np.mean(cpu["log_params"]))
    rows = {n: {"cpu_s": float(np.mean(v)), "extra_cpu_s": float(np.mean(v)) - base} for n, v in cpu.items()}
    text = (f"space {args.space}, {args.n} genomes, probe {list(probe.x.shape)}, T={args.T}: CPU s per genome\n"
            + harness.table(["proxy", "CPU s", "extra over log_params"],
                            [(n, f"{r['cpu_s']:.3f}", f"{r['extra_cpu_s']:+.3f}") for n, r in rows.items()],
                            [False, True, True]))
    out = {"space": args.space, "n": args.n, "probe_shape": list(probe.x.shape), "T": args.T, "proxies": rows}
    harness.emit(text, json_path=args.json, data=out)
    return out


# ----------------------------------------------------------------------------- modes


def timed_map(ev, pool, names) -> dict:
    """One map: wall time, genomes/min and the evaluation time the records report."""
    with harness.timed() as t:
        recs = ev.map(pool, names)
    work = sum(r.wall_time for r in recs)
    return {"wall_s": t.wall_s, "driver_cpu_s": t.cpu_s, "per_min": 60 * len(pool) / t.wall_s, "eval_s": work,
            "failed": sum(r.error is not None for r in recs), "dead": sum(r.dead for r in recs), "records": recs}


def train_run(genome, ds, T: int, epochs: int, seed: int) -> harness.Timing:
    """Wall and CPU seconds of one plain surrogate-gradient training run (the reference 'training run')."""
    import torch

    from msenas.data import make_loader, to_time_major
    from msenas.nn.network import build_network

    torch.manual_seed(seed)
    net = build_network(genome, ds.info.in_shape, ds.info.n_classes, T).train()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    with harness.timed() as t:
        for epoch in range(epochs):
            for xb, yb in make_loader(ds.train, 64, shuffle=True, seed=seed + epoch):
                harness.train_step(net, opt, to_time_major(xb, T), yb)
    return t


def bench_modes(probe, cfg, sets: dict, rounds: int, serial_threads: tuple[int, ...], ray_workers: tuple[int, ...]):
    """Best-of-`rounds` throughput of every mode on every fidelity's genome set, modes interleaved.

    Ray gets one logical CPU more than the largest pool, so the pools stay alive side by side (never more than
    the largest busy at once); interleaving the modes round by round spreads any outside load over all of them.
    """
    import ray
    import torch

    from msenas.fitness.executors import RayEvaluator

    modes, startup = {}, {}
    if ray_workers:
        ray.init(address="local", num_cpus=max(ray_workers) + 1, include_dashboard=False, log_to_driver=False)
    try:
        for t in serial_threads:
            modes[f"serial ({t} torch thread{'s' * (t > 1)})"] = (t, serial(probe, cfg, t))
        for w in ray_workers:
            with harness.timed() as up:
                ev = RayEvaluator(probe, cfg, workers=w)
                ev.map(sets["zero-cost"][:w], FIDELITIES["zero-cost"])        # actors started and warm
            startup[w] = up.wall_s
            modes[f"Ray, {w} worker{'s' * (w > 1)}"] = (1, ev)
        modes[SERIAL][1].map(sets["zero-cost"][:1], FIDELITIES["zero-cost"])  # warm-up
        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(rounds):
            for fid, pool in sets.items():
                for name, (threads, ev) in modes.items():
                    torch.set_num_threads(threads)
                    runs.setdefault((name, fid), []).append(timed_map(ev, pool, FIDELITIES[fid]))
        torch.set_num_threads(1)
        for _, ev in modes.values():
            ev.close()
    finally:
        if ray_workers:
            ray.shutdown()
    results = {k: min(v, key=lambda r: r["wall_s"]) for k, v in runs.items()}
    for (name, fid), r in results.items():
        r["all_wall_s"] = [x["wall_s"] for x in runs[(name, fid)]]
        if name.startswith("Ray"):
            r["startup_s"] = startup[int(name.split()[1])]
    return results


SERIAL = "serial (1 torch thread)"


def modes_table(results: dict, sets: dict) -> tuple[str, list[dict]]:
    """Markdown table of throughput; overhead = worker time not spent evaluating, over evaluation time."""
    rows, cells = [], []
    for (mode, fid), r in results.items():
        base = results[(SERIAL, fid)]["wall_s"]
        w = int(mode.split()[1]) if mode.startswith("Ray") else 0
        over = (r["wall_s"] * w - r["eval_s"]) / r["eval_s"] if w else None
        cells.append((mode, fid, len(sets[fid]), f"{r['wall_s']:.1f}", ", ".join(f"{x:.1f}" for x in r["all_wall_s"]),
                      f"{r['per_min']:.1f}", f"{base / r['wall_s']:.2f}x", f"{100 * over:.1f}%" if w else ""))
        rows.append({"mode": mode, "fidelity": fid, "genomes": len(sets[fid]),
                     **{k: v for k, v in r.items() if k != "records"}, "overhead": over})
    text = harness.table(["mode", "fidelity", "genomes", "wall s (best)", "wall s (all rounds)", "genomes/min",
                          "speed-up vs serial (1 thread)", "Ray overhead"], cells,
                         [False, False, True, True, False, True, True, True])
    for (mode, fid), r in results.items():
        if fid == "zero-cost" and "startup_s" in r:
            text += f"\n{mode}: actors started and warm in {r['startup_s']:.1f} s (not in the table)"
    return text, rows


def compare_training(pool: list, results: dict, probe, cfg, ds, epochs: int, seed: int) -> list[dict]:
    """Zero-cost and few-step evaluation against one plain training run of the same genome."""
    import torch

    from msenas.genome import key

    torch.set_num_threads(1)
    timed_recs = {fid: {r.key: r for r in results[(SERIAL, fid)]["records"]} for fid in FIDELITIES}
    ex, rows = serial(probe, cfg), []
    for g in pool:
        k = key(g)
        cz, cf = (ex.map([g], FIDELITIES[fid])[0].cpu_time for fid in FIDELITIES)
        run = train_run(g, ds, cfg.T, epochs, seed)
        z, f = timed_recs["zero-cost"][k].wall_time, timed_recs["few-step"].get(k)
        rows.append({"key": k, "train_s": run.wall_s, "train_cpu_s": run.cpu_s, "zero_cost_s": z,
                     "zero_cost_cpu_s": cz, "few_step_s": f.wall_time if f else None, "few_step_cpu_s": cf})
        print(f"genome {k}: training run {run.wall_s:.1f} s wall / {run.cpu_s:.1f} s CPU ({epochs} epochs, "
              f"batch 64); zero-cost eval {z:.2f} s wall / {cz:.2f} s CPU = {100 * cz / run.cpu_s:.2f}% of the "
              f"run's CPU; few-step eval {cf:.2f} s CPU = {100 * cf / run.cpu_s:.1f}%")
    return rows


def modes(args) -> dict:
    """Serial against Ray throughput per fidelity, and evaluations against plain training runs."""
    os.environ.setdefault("RAY_worker_niceness", "0")   # as msenas.fitness.executors.connect does
    from msenas.data import get_dataset
    from msenas.fitness import FitnessConfig
    from msenas.fitness.probe import make_probe

    load0 = os.getloadavg()
    cfg = FitnessConfig()
    ds = get_dataset("digits", T=cfg.T, seed=args.seed)
    probe = make_probe(ds, cfg, args.seed)
    pool = genomes("tiny", max(args.zero_cost_genomes, args.few_step_genomes), args.seed)
    sets = {"zero-cost": pool[:args.zero_cost_genomes], "few-step": pool[:args.few_step_genomes]}
    threads = tuple(int(t) for t in args.serial_threads.split(","))
    workers = tuple(int(w) for w in args.ray_workers.split(",") if w)
    results = bench_modes(probe, cfg, sets, args.rounds, threads, workers)
    text, rows = modes_table(results, sets)
    harness.emit(f"load average before: {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}\n{text}")
    training = compare_training(pool[:args.train_genomes], results, probe, cfg, ds, args.epochs, args.seed)
    out = {"load_before": load0, "config": cfg.to_dict(), "rows": rows, "training": training}
    if args.json:
        harness.emit("", json_path=args.json, data=out)
    return out


# ----------------------------------------------------------------------------- trees (A/B)


def tree_worker(spec: dict) -> dict:
    """In the tree on PYTHONPATH: CPU seconds of the default fitness on each genome (old trees' names too)."""
    import time

    import torch

    torch.set_num_threads(1)
    import msenas.fitness.evaluate as E
    from msenas.data import get_dataset
    from msenas.fitness import FitnessConfig
    from msenas.fitness.composite import COMPOSITES
    from msenas.fitness.probe import make_probe

    evaluate = getattr(E, "evaluate_genome", None) or getattr(E, "evaluate")
    ds = get_dataset(spec["dataset"], spec["data_dir"], T=4, seed=0, **spec["options"])
    cfg = FitnessConfig()
    names = tuple(n for n, _ in COMPOSITES.get(cfg.proxy)) if cfg.proxy in COMPOSITES else (cfg.proxy,)
    probe = make_probe(ds, cfg, 0)
    pool = genomes(spec["space"], spec["n"] + 1, spec["seed"])
    evaluate(pool[0], probe, cfg, names)                    # warm-up (kernel build, first-call costs)
    cpu = []
    for g in pool[1:]:
        c0 = time.process_time()
        evaluate(g, probe, cfg, names)
        cpu.append(time.process_time() - c0)
    return {"cpu": cpu, "names": list(names)}


def trees(args) -> dict:
    """Median CPU seconds per genome of the default fitness, this tree against the baseline, interleaved."""
    spec = {"space": args.space, "dataset": args.dataset, "data_dir": args.data_dir,
            "options": harness.options(args.option), "n": args.n, "seed": args.seed}
    sides = harness.trees(args.baseline)
    with tempfile.TemporaryDirectory() as tmp:
        items = harness.Items(args.out or tmp)
        done = harness.ab(__file__, items, [(f"{args.space}-{args.dataset}", spec)], sides, args.rounds)
    per_round = {side: [statistics.median(i["cpu"]) for i in done if i["spec"]["tree"] == side] for side in sides}
    med = {side: statistics.median(v) for side, v in per_round.items()}
    text = harness.table(["tree", "median CPU s per genome", "per round", "speed-up vs before"],
                         [(side, f"{med[side]:.3f}", ", ".join(f"{v:.3f}" for v in per_round[side]),
                           f"{med['before'] / med[side]:.2f}x" if "before" in med else "")
                          for side in sides], [False, True, False, True])
    head = (f"{args.space} on {args.dataset} {spec['options']}: default fitness, {args.n} genomes, "
            f"{args.rounds} rounds")
    harness.emit(f"{head}\n{text}", json_path=args.json, data={"spec": spec, "per_round": per_round, "median": med})
    return med


def main(argv=None):
    p, sub = harness.subcommands(__doc__)
    c = harness.command(sub, "preset", preset, "seconds per genome of a search preset's fitness", "set", "seed", "json")
    c.add_argument("--config", required=True, help="search preset TOML")
    c.add_argument("--n", type=int, default=5, help="genomes timed (after one warm-up genome)")
    c.set_defaults(seed=1)
    c = harness.command(sub, "proxies", proxies, "CPU seconds of each zero-cost proxy alone", "option", "seed", "json")
    c.add_argument("--space", default="tiny")
    c.add_argument("--n", type=int, default=10)
    c.add_argument("--dataset", default="digits")
    c.add_argument("--data-dir", default=None)
    c.add_argument("--random", help="C,H,W: a random probe of this shape instead of the dataset")
    c.add_argument("--T", type=int, default=4)
    c.add_argument("--per-class", type=int, default=8)
    c = harness.command(sub, "modes", modes, "serial against Ray throughput, and against training", "seed", "json")
    c.add_argument("--zero-cost-genomes", type=int, default=16)
    c.add_argument("--few-step-genomes", type=int, default=8)
    c.add_argument("--train-genomes", type=int, default=2, help="genomes given a full training run")
    c.add_argument("--epochs", type=int, default=8)
    c.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the table shows the best")
    c.add_argument("--serial-threads", default="1", help="torch thread counts for serial runs, e.g. 1,2")
    c.add_argument("--ray-workers", default="1,2", help="Ray pool sizes, e.g. 1,2 ('' for none)")
    c = harness.command(sub, "trees", trees, "default fitness CPU per genome, this tree against a baseline",
                        "option", "seed", "rounds", "json", "baseline")
    c.add_argument("--space", default="tiny")
    c.add_argument("--dataset", default="digits")
    c.add_argument("--data-dir", default=None)
    c.add_argument("--n", type=int, default=8)
    c.add_argument("--out", default=None, help="keep each (round, tree) item here (a rerun resumes)")
    return harness.dispatch(p, argv)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")     # numpy's BLAS in the driver: one thread, like a Ray worker
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    harness.serve_worker(tree_worker)
    main()
