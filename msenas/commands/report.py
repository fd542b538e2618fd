"""msenas report DIR: figures (PNG) and report.md of a search run, MA-DARTS or training result folder."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of msenas report."""
    p.add_argument("folder", metavar="DIR",
                   help="a run folder of msenas search, a folder of msenas darts, "
                        "or a result folder of msenas train/transfer")
    p.add_argument("--out", metavar="DIR", default=None, help="where to write the report (default: DIR/report)")
    p.add_argument("--no-rdm", action="store_true",
                   help="skip rdm.png (it rebuilds the best genome and runs the probe batch)")


def run(args: argparse.Namespace) -> int:
    """Write the report and list what was written."""
    import matplotlib

    matplotlib.use("Agg")
    from msenas.report import make_report

    report = make_report(args.folder, args.out, rdm=not args.no_rdm)
    for fig in report.figures:
        print(f"wrote {fig.path} ({fig.width}x{fig.height})")
    for note in report.notes:
        print(f"not drawn: {note}")
    print(f"wrote {report.summary}")
    return 0
