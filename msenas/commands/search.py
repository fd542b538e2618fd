"""msenas search: evolve SNN architectures; checkpoints every generation, --resume continues a run."""
from __future__ import annotations

import argparse
import json
import sys

from msenas.commands import add_quiet


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML run config (default: the embedded digits preset)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override, e.g. search.population=8 or fitness.proxy=sahd (repeatable)")
    p.add_argument("--out", metavar="DIR", help="run folder (default: OUT_DIR/NAME-YYYYmmdd-HHMMSS)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--workers", type=int, metavar="N",
                   help="fitness workers: 0 = serial in this process, N = Ray workers")
    p.add_argument("--address", metavar="HOST:PORT", help="Ray cluster address (default: a local Ray)")
    p.add_argument("--start-over", action="store_true",
                   help="with --resume: start a run whose checkpoints are gone over from generation 0")
    p.add_argument("--train-top", type=int, default=0, metavar="K",
                   help="after the search, train its K best genomes, 3 random genomes of the space within its "
                        "budget and a published network (zoo:plif-cifar10net) of the same budget (without a budget: "
                        "of the best genome's size), with one recipe, and print what the search bought (default 0)")
    p.add_argument("--train-epochs", type=int, default=3, metavar="E", help="epochs of that training (default 3)")
    add_quiet(p, "no progress bars")


def _cli_overrides(args: argparse.Namespace) -> list[str]:
    extra = list(args.overrides)
    if args.workers is not None:
        extra.append(f"search.workers={args.workers}")
    if args.address is not None:
        extra.append(f"search.address={json.dumps(args.address)}")
    return extra


def run(args: argparse.Namespace) -> int:
    from msenas.config import ConfigError
    from msenas.search.config import load_config
    from msenas.search.run import SearchInterrupted, new_run_dir, resume_config, run_search

    overrides = _cli_overrides(args)
    if args.train_top < 0 or args.train_epochs < 1:
        raise ConfigError("--train-top must be >= 0 and --train-epochs >= 1, "
                          f"got {args.train_top}, {args.train_epochs}")
    if args.resume:
        if args.config or args.out:
            raise ConfigError("--resume RUN_DIR continues that run with its own config.json; drop --config/--out")
    elif args.start_over:
        raise ConfigError("--start-over goes with --resume RUN_DIR")
    if args.resume:
        cfg, run_dir = resume_config(args.resume, overrides), args.resume
    else:
        cfg = load_config(args.config, overrides)
        run_dir = new_run_dir(cfg, args.out)
    try:
        state = run_search(cfg, run_dir, resume=bool(args.resume), progress=not args.quiet,
                           start_over=args.start_over)
    except SearchInterrupted as e:
        print(f"msenas search: {e}", file=sys.stderr)
        return 130
    from msenas.search.halving import halve_run
    from msenas.search.results import read_entries

    hof = read_entries(run_dir) if state.hall_of_fame else []
    best = hof[0]["fitness"] if hof else float("nan")       # the hall of fame's order: feasibility first
    print(f"run folder: {run_dir}")
    print(f"generations: {state.gen + 1}, evaluations: {state.evaluations}, best fitness: {best:.4f}")
    if hof and cfg.search.budget.active:
        use = ", ".join(f"{k} {100 * u:.0f}%" for k, u in hof[0]["record"].get("budget", {}).items())
        print(f"budget {cfg.search.budget.describe()}: the best uses {use or 'n/a'}")
    print(f"best genome: {run_dir}/best.json (msenas inspect {run_dir}/best.json)")
    if cfg.search.halving.k:
        h = halve_run(run_dir, progress=not args.quiet)
        if h is not None:
            print(f"successive halving of the {len(h['candidates'])} best on a validation split of the train set: "
                  f"pick {h['key']} ({h['cpu_s']:.0f} CPU s): {run_dir}/pick.json")
    if args.train_top:
        _train_top(run_dir, args)
    return 0


def _train_top(run_dir, args: argparse.Namespace) -> None:
    from msenas.report.tables import to_text
    from msenas.search.followup import COLUMNS, N_RANDOM, train_top, verdict

    print(f"training the {args.train_top} best genome(s), {N_RANDOM} random genomes within the budget and "
          f"zoo:plif-cifar10net at the same budget, {args.train_epochs} epochs each ...", file=sys.stderr)
    rows = train_top(run_dir, args.train_top, args.train_epochs, progress=not args.quiet)
    print(to_text(rows, list(COLUMNS)))
    print(verdict(rows, args.train_epochs))
    print(f"trained networks: {run_dir}/train/ (spikes, synaptic ops and energy per test sample; energy in uJ)")
