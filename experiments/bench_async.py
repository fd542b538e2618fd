"""Benchmark: worker busy time and evaluations per hour, generational GA against asynchronous aging evolution.

real      Real Ray workers, real genomes and the real fitness of a config. Two searches from the same
          seed: `ga` in generations (the config's population and generations), then `aging` in async mode
          with exactly as many fitness evaluations as the GA made. Busy time = the seconds workers spent
          inside evaluations (each record's wall_time) / (workers x wall seconds of the search loop;
          calibration, shared by both, excluded). Evaluations per hour over the same loop time.
simulate  A discrete-event model of both schedules, with genome costs resampled from the real run's
          measured costs (no sleeping, no Ray): a generation of P genomes on W workers waits for its
          slowest; async hands the next genome to the first free worker. It models 2-64 workers, which
          this 2-core machine cannot run for real; dispatch overhead is not modelled (stated in the table).
Results: OUT/real.json (per mode), OUT/simulated.json; `report` prints the Markdown tables. With
--workers 0 the real searches run serially in this process (busy time then counts one worker).

  python experiments/bench_async.py real --config experiments/digits.toml --out results/async
  python experiments/bench_async.py simulate results/async --workers 2 8 16 32 64
  python experiments/bench_async.py report results/async --md results/async/tables.md
"""
from __future__ import annotations

import argparse
import heapq
from pathlib import Path

import harness
import numpy as np

from msenas.rundir import EVALUATIONS, GENERATIONS, read_jsonl
from msenas.search.config import load_config
from msenas.search.run import run_search


def _measure(run_dir: Path, workers: int) -> dict:
    """Busy fraction and evaluations per hour of a finished run folder (loop time from generations.jsonl)."""
    evals = read_jsonl(run_dir / EVALUATIONS, "n")[0]
    gens = read_jsonl(run_dir / GENERATIONS, "gen")[0]
    seconds = sum(g["time"] for g in gens)
    costs = [float(e["record"].get("wall_time") or 0.0) for e in evals]
    workers = max(1, workers)                  # 0: serial, in this process
    return {"evaluations": len(evals), "loop_seconds": seconds, "workers": workers, "costs": costs,
            "busy": sum(costs) / (workers * seconds), "evaluations_per_hour": 3600 * len(evals) / seconds,
            "cost_min": min(costs), "cost_median": float(np.median(costs)), "cost_max": max(costs)}


def real(args: argparse.Namespace) -> None:
    """The two real searches (resumable: a finished mode is not rerun)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "real.json"
    res = harness.read_json(path) if path.exists() else {}
    base = [f"seed={args.seed}", f"search.workers={args.workers}", *args.overrides]
    for mode, extra in (("sync ga", ['search.algorithm="ga"']),
                        ("async aging", ['search.algorithm="aging"', 'search.mode="async"'])):
        if mode in res:
            continue
        if mode == "async aging":
            extra = extra + [f"search.evaluations={res['sync ga']['evaluations']}"]
        cfg = load_config(args.config, base + extra)
        run_dir = out / mode.replace(" ", "-")
        with harness.timed() as t:
            run_search(cfg, run_dir, resume=(run_dir / "checkpoint.json").exists(), progress=False)
        res[mode] = {**_measure(run_dir, args.workers), "total_seconds": t.wall_s,
                     "config": args.config, "overrides": base + extra}
        stamp = harness.stamp()
        res["machine"] = f"{stamp['machine']}, {args.workers} Ray workers"
        res["date"], res["stamp"] = stamp["date"], stamp
        harness.write_json(path, res)
        print(f"{mode}: busy {res[mode]['busy']:.3f}, {res[mode]['evaluations_per_hour']:.0f} evaluations/hour",
              flush=True)


def schedule(costs: list[float], workers: int, population: int | None) -> float:
    """Makespan of running `costs` in order on `workers`: in generations of `population` (a barrier each), or async."""
    if population is None:
        free = [0.0] * workers                    # each worker's next free time
        for c in costs:
            heapq.heapreplace(free, free[0] + c)
        return max(free)
    total = 0.0
    for i in range(0, len(costs), population):
        total += schedule(costs[i:i + population], workers, None)
    return total


def simulate(args: argparse.Namespace) -> None:
    """Busy fraction and evaluations per hour of both schedules for each worker count, from the real costs."""
    folder = Path(args.folder)
    real_res = harness.read_json(folder / "real.json")
    costs = np.asarray(real_res["sync ga"]["costs"] + real_res["async aging"]["costs"])
    rng = np.random.default_rng(args.seed)
    rows = []
    for w in args.workers:
        draw = rng.choice(costs, size=args.evaluations).tolist()
        for name, pop in (("sync generations", args.population), ("async", None)):
            makespan = schedule(draw, w, pop)
            rows.append({"workers": w, "schedule": name, "population": pop, "busy": sum(draw) / (w * makespan),
                         "evaluations_per_hour": 3600 * len(draw) / makespan})
    sim = {"evaluations": args.evaluations, "population": args.population, "seed": args.seed,
           "cost_source": str(folder / "real.json"), "n_costs": len(costs), "rows": rows}
    harness.write_json(folder / "simulated.json", sim)
    report(argparse.Namespace(folder=str(folder), md=None))


def report(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    res = harness.read_json(folder / "real.json")
    real = [(mode, r["evaluations"], f"{r['loop_seconds']:.0f}", f"{r['busy']:.3f}",
             f"{r['evaluations_per_hour']:.0f}",
             f"{r['cost_min']:.2f} / {r['cost_median']:.2f} / {r['cost_max']:.2f}")
            for mode, r in ((m, res.get(m)) for m in ("sync ga", "async aging")) if r]
    text = (f"Real runs ({res.get('machine', '?')}, {res.get('date', '?')}):\n\n"
            + harness.table(["mode", "evaluations", "loop seconds", "busy (workers' evaluation time / wall)",
                             "evaluations per hour", "genome cost min / median / max (s)"], real))
    sim_path = folder / "simulated.json"
    if sim_path.exists():
        sim = harness.read_json(sim_path)
        text += (f"\n\nSimulated ({sim['evaluations']} genomes with costs resampled from the {sim['n_costs']} "
                 f"measured above; generations of {sim['population']}; no dispatch overhead modelled):\n\n"
                 + harness.table(["workers", "schedule", "busy", "evaluations per hour"],
                                 [(r["workers"], r["schedule"], f"{r['busy']:.3f}", f"{r['evaluations_per_hour']:.0f}")
                                  for r in sim["rows"]]))
    harness.emit(text, md=args.md)


def main(argv=None):
    p, sub = harness.subcommands(__doc__)
    r = harness.command(sub, "real", real, "the two real searches", "set", "seed", "out")
    r.add_argument("--config", default="experiments/digits.toml")
    r.add_argument("--workers", type=int, default=2, help="Ray workers (0: serial, in this process)")
    s = harness.command(sub, "simulate", simulate, "both schedules modelled from the real costs", "seed")
    s.add_argument("folder")
    s.add_argument("--workers", type=int, nargs="+", default=[2, 8, 16, 32, 64])
    s.add_argument("--evaluations", type=int, default=2000)
    s.add_argument("--population", type=int, default=50)
    q = harness.command(sub, "report", report, "the tables of a folder", "md")
    q.add_argument("folder")
    return harness.dispatch(p, argv)


if __name__ == "__main__":
    main()
