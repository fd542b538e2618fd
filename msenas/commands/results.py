"""msenas results DIR: a run's evaluations (or hall of fame), a training history or an MA-DARTS search as a table."""
from __future__ import annotations

import argparse

from msenas.errors import short

DEFAULT_COLUMNS = {  # per folder kind: what the terminal table shows (--csv writes every column)
    "run": ("n", "gen", "rank", "key", "fitness", "params", "spikes", "sops", "energy", "wall_time", "dead", "error"),
    "result": ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "spikes", "energy_pj", "epoch_time"),
    "darts": ("epoch", "w_lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "epoch_time"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="a run folder of msenas search, a folder of msenas darts, "
                                                 "or a result folder of msenas train/transfer")
    p.add_argument("--from", dest="source", choices=("evaluations", "hall_of_fame"), default="evaluations",
                   help="search runs: every evaluation in completion order (default) or the hall of fame")
    p.add_argument("--csv", metavar="FILE", help="also write every column as CSV")
    p.add_argument("--columns", metavar="A,B", help="columns of the printed table (default: a summary set)")
    p.add_argument("--sort", metavar="COLUMN", help="sort rows by this column, largest first")
    p.add_argument("--top", type=int, metavar="K", help="print only the first K rows")


def run(args: argparse.Namespace) -> int:
    from msenas.atomic import atomic_write_text
    from msenas.outguard import check_file
    from msenas.report.folders import ReportError, read_folder
    from msenas.report.tables import columns, results, to_csv, to_text

    if args.top is not None and args.top < 1:
        raise ReportError(f"--top: must be >= 1, got {args.top}")
    if args.csv:
        check_file(args.csv, "--csv")
    rows = results(args.folder, args.source)
    known = columns(rows)
    cols = [c.strip() for c in args.columns.split(",")] if args.columns else \
        default_columns(read_folder(args.folder).kind, known)
    for flag, names in (("--sort", [args.sort] if args.sort else []), ("--columns", cols)):
        unknown = [c for c in names if c not in known]
        if rows and unknown:                       # checked before the CSV is written
            raise ReportError(f"{flag}: no column {', '.join(map(short, unknown[:5]))}"
                              f"{f' (and {len(unknown) - 5} more)' if len(unknown) > 5 else ''}; "
                              f"columns: {_listed(known)}")
    if args.csv:
        atomic_write_text(args.csv, to_csv(rows))
    if args.sort:
        rows = sorted(rows, key=lambda r: (r.get(args.sort) is None, -(r.get(args.sort) or 0)))
    print(to_text(rows[:args.top] if args.top else rows, cols))
    if args.csv:
        print(f"wrote {len(rows)} rows x {len(known)} columns to {args.csv}")
    return 0


def default_columns(kind: str, have: list[str]) -> list[str]:
    """The summary columns a folder's rows have; a budgeted run's also show each limit's use and the violation."""
    cols = [c for c in DEFAULT_COLUMNS[kind] if c in have]
    budget = [c for c in have if c.startswith("budget.")] + [c for c in have if c == "violation"]
    return cols[:cols.index("wall_time")] + budget + cols[cols.index("wall_time"):] if budget and "wall_time" in cols \
        else cols + budget


def _listed(names: list[str], most: int = 60) -> str:
    """The first `most` names, comma-separated, and how many more there are."""
    return ", ".join(names[:most]) + (f", ... ({len(names) - most} more)" if len(names) > most else "")
