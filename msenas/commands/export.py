"""msenas export RUN_DIR --top K: the best genomes of a search as JSON files with scores and costs."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a search run folder")
    p.add_argument("--top", type=int, default=5, metavar="K", help="how many genomes (default 5)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/export)")
    p.add_argument("--from", dest="source", choices=("hall_of_fame", "pareto"), default="hall_of_fame",
                   help="hall_of_fame (best fitness first) or pareto (multi-objective front)")


def run(args: argparse.Namespace) -> int:
    from msenas.search.results import export_top

    for path in export_top(args.run_dir, args.top, args.out, args.source):
        print(path)
    return 0
