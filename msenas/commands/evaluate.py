"""msenas evaluate RESULT_DIR: load a trained result folder and evaluate it on its test split."""
from __future__ import annotations

import argparse

from msenas.commands import at_least


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="result folder written by msenas train / transfer")
    p.add_argument("--data-dir", default=None, help="dataset folder, when it moved since training")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where to evaluate")
    p.add_argument("--batch-size", type=at_least(1), default=None, help="evaluation batch size (default: training's)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from msenas.commands.train import summary_line
    from msenas.data import DataError
    from msenas.train import evaluate_result

    if args.data_dir is not None and not Path(args.data_dir).exists():
        raise DataError(f"--data-dir: {args.data_dir} does not exist")
    ev = evaluate_result(args.result, args.data_dir, device=args.device, batch_size=args.batch_size)
    print(json.dumps(ev) if args.json else f"{args.result}: {ev['n_samples']} test samples, " + summary_line(ev))
    return 0
