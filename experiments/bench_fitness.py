"""Benchmark: fitness throughput (genomes/min) per fidelity, serial vs Ray with 1 and 2 workers.

Demo configuration: space "tiny", dataset digits (16x16), FitnessConfig defaults
(T=4, 8 probe samples per class; few-step proxies after `steps` Adam steps at
`batch_size`: 10 x 64 until 2026-11-23, 5 x 32 since 2026-11-24). Also measures Ray's per-task
overhead (driver wall time against the
evaluation time the workers report) and compares a zero-cost evaluation with
one plain training run of the same genome (8 epochs, batch 64, Adam 3e-3,
CE on mean-over-T logits, reset_net after each batch).

    python experiments/bench_fitness.py --json results/bench_fitness.json [--rounds 2] [--serial-threads 1,2]
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # numpy's BLAS in the driver: one thread, like a Ray worker
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_worker_niceness", "0")  # as msenas.fitness.executors.connect does
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from msenas.data import get_dataset, make_loader, to_time_major  # noqa: E402
from msenas.fitness import FitnessConfig  # noqa: E402
from msenas.fitness.executors import RayEvaluator, SerialEvaluator  # noqa: E402
from msenas.fitness.probe import make_probe  # noqa: E402
from msenas.genome import get_space, key, sample  # noqa: E402

FIDELITIES = {
    "zero-cost": ("rdm", "sahd", "log_params"),
    "few-step": ("rdm", "sahd", "log_params", "rdm_k", "probe_loss", "probe_acc"),
}


def timed_map(ev, genomes, proxies) -> dict:
    """Run one map; wall time, genomes/min and the evaluation time the records report."""
    t0, c0 = time.perf_counter(), time.process_time()
    recs = ev.map(genomes, proxies)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    work = sum(r.wall_time for r in recs)
    return {"wall_s": wall, "driver_cpu_s": cpu, "per_min": 60 * len(genomes) / wall, "eval_s": work,
            "failed": sum(r.error is not None for r in recs), "dead": sum(r.dead for r in recs), "records": recs}


def train_run(genome, ds, T: int, epochs: int, seed: int) -> tuple[float, float]:
    """(wall s, CPU s) of one plain surrogate-gradient training run (the reference 'training run')."""
    from spikingjelly.activation_based import functional

    from msenas.nn.network import build_network

    torch.manual_seed(seed)
    net = build_network(genome, ds.info.in_shape, ds.info.n_classes, T).train()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    t0, c0 = time.perf_counter(), time.process_time()
    for epoch in range(epochs):
        for xb, yb in make_loader(ds.train, 64, shuffle=True, seed=seed + epoch):
            loss = torch.nn.functional.cross_entropy(net(to_time_major(xb, T)).mean(0), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            functional.reset_net(net)
    return time.perf_counter() - t0, time.process_time() - c0


def _cpu_of(genome, probe, cfg) -> tuple[float, float]:
    """CPU seconds of one zero-cost and one few-step serial evaluation of a genome."""
    from msenas.fitness.evaluate import evaluate_genome

    out = []
    for fid in ("zero-cost", "few-step"):
        c0 = time.process_time()
        evaluate_genome(genome, probe, cfg, FIDELITIES[fid])
        out.append(time.process_time() - c0)
    return out[0], out[1]


def bench_modes(probe, cfg, sets: dict, rounds: int, serial_threads: tuple[int, ...]) -> dict:
    """Best-of-`rounds` throughput of every mode on every fidelity's genome set, modes interleaved.

    Ray gets 3 logical CPUs so that the 1-worker and the 2-worker pools stay
    alive side by side (never more than 2 actors busy at once); interleaving
    the modes round by round spreads any outside load over all of them.
    """
    import ray

    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False)
    try:
        modes: dict[str, tuple[int, object]] = {}
        for t in serial_threads:
            modes[f"serial ({t} torch thread{'s' * (t > 1)})"] = (t, SerialEvaluator(probe, cfg, threads=t))
        startup = {}
        for w in (1, 2):
            t0 = time.perf_counter()
            ev = RayEvaluator(probe, cfg, workers=w)
            ev.map(sets["zero-cost"][:w], FIDELITIES["zero-cost"])        # actors started and warm
            startup[w] = time.perf_counter() - t0
            modes[f"Ray, {w} worker{'s' * (w > 1)}"] = (1, ev)
        modes["serial (1 torch thread)"][1].map(sets["zero-cost"][:1], FIDELITIES["zero-cost"])  # warm-up
        runs: dict[tuple[str, str], list[dict]] = {}
        for _ in range(rounds):
            for fid, genomes in sets.items():
                for name, (threads, ev) in modes.items():
                    torch.set_num_threads(threads)
                    runs.setdefault((name, fid), []).append(timed_map(ev, genomes, FIDELITIES[fid]))
        torch.set_num_threads(1)
        for name, (_, ev) in modes.items():
            ev.close()
    finally:
        ray.shutdown()
    results = {k: min(v, key=lambda r: r["wall_s"]) for k, v in runs.items()}
    for (name, fid), r in results.items():
        r["all_wall_s"] = [x["wall_s"] for x in runs[(name, fid)]]
        if name.startswith("Ray"):
            r["startup_s"] = startup[int(name.split()[1])]
    return results


def print_table(results: dict, sets: dict) -> list[dict]:
    """Markdown table of throughput; overhead = worker time not spent evaluating, over evaluation time."""
    print("| mode | fidelity | genomes | wall s (best) | wall s (all rounds) | genomes/min | "
          "speed-up vs serial (1 thread) | Ray overhead |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |")
    rows = []
    for (mode, fid), r in results.items():
        base = results[("serial (1 torch thread)", fid)]["wall_s"]
        w = int(mode.split()[1]) if mode.startswith("Ray") else 0
        over = (r["wall_s"] * w - r["eval_s"]) / r["eval_s"] if w else None
        over_txt = f"{100 * over:.1f}%" if over is not None else ""
        rounds = ", ".join(f"{x:.1f}" for x in r["all_wall_s"])
        print(f"| {mode} | {fid} | {len(sets[fid])} | {r['wall_s']:.1f} | {rounds} | {r['per_min']:.1f} | "
              f"{base / r['wall_s']:.2f}x | {over_txt} |")
        rows.append({"mode": mode, "fidelity": fid, "genomes": len(sets[fid]),
                     **{k: v for k, v in r.items() if k != "records"}, "overhead": over})
    for w in (1, 2):
        r = results[(f"Ray, {w} worker{'s' * (w > 1)}", "zero-cost")]
        print(f"Ray, {w} worker(s): actors started and warm in {r['startup_s']:.1f} s (not in the table)")
    return rows


def compare_training(genomes: list, results: dict, probe, cfg, ds, args) -> list[dict]:
    """Zero-cost and few-step evaluation against one plain training run of the same genome."""
    torch.set_num_threads(1)
    serial = {fid: {r.key: r for r in results[("serial (1 torch thread)", fid)]["records"]} for fid in FIDELITIES}
    rows = []
    for g in genomes:
        k = key(g)
        cz, cf = _cpu_of(g, probe, cfg)
        wall, cpu = train_run(g, ds, cfg.T, args.epochs, args.seed)
        z, f = serial["zero-cost"][k].wall_time, serial["few-step"].get(k)
        rows.append({"key": k, "train_s": wall, "train_cpu_s": cpu, "zero_cost_s": z, "zero_cost_cpu_s": cz,
                     "few_step_s": f.wall_time if f else None, "few_step_cpu_s": cf})
        print(f"genome {k}: training run {wall:.1f} s wall / {cpu:.1f} s CPU ({args.epochs} epochs, batch 64); "
              f"zero-cost eval {z:.2f} s wall / {cz:.2f} s CPU = {100 * cz / cpu:.2f}% of the run's CPU; "
              f"few-step eval {cf:.2f} s CPU = {100 * cf / cpu:.1f}%")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--zero-cost-genomes", type=int, default=16)
    p.add_argument("--few-step-genomes", type=int, default=8)
    p.add_argument("--train-genomes", type=int, default=2, help="genomes given a full training run")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the table shows the best")
    p.add_argument("--serial-threads", default="1", help="torch thread counts for serial runs, e.g. 1,2")
    p.add_argument("--json", default=None, help="write the numbers here")
    args = p.parse_args()

    load0 = os.getloadavg()
    cfg = FitnessConfig()
    ds = get_dataset("digits", T=cfg.T, seed=args.seed)
    probe = make_probe(ds, cfg, args.seed)
    rng = np.random.default_rng(args.seed)
    pool = [sample(get_space("tiny"), rng) for _ in range(max(args.zero_cost_genomes, args.few_step_genomes))]
    sets = {"zero-cost": pool[:args.zero_cost_genomes], "few-step": pool[:args.few_step_genomes]}
    threads = tuple(int(t) for t in args.serial_threads.split(","))
    results = bench_modes(probe, cfg, sets, args.rounds, threads)

    print(f"load average before: {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}; after: "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    rows = print_table(results, sets)
    train_rows = compare_training(pool[:args.train_genomes], results, probe, cfg, ds, args)
    if args.json:
        from msenas.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({"load_before": load0, "load_after": os.getloadavg(),
                                                 "config": cfg.to_dict(), "rows": rows, "training": train_rows},
                                                indent=1))


if __name__ == "__main__":
    main()
