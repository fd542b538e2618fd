"""Benchmark: accuracy, spikes and time per epoch of surrogate-gradient training.

CPU (this repo's default): the default genome below on digits and digits-dvs.
GPU (when there is one): the same script with a searched genome on CIFAR10, e.g.

    python experiments/bench_train.py --datasets cifar10 --data-dir DATA/ --genome best.json \
        --device cuda --epochs 100 --set batch_size=128 --set T=4

Mixed precision (float16 autocast + GradScaler) switches on by itself on CUDA (amp=auto).
Writes OUT/summary.json and prints a Markdown table; the result folders stay in OUT/<dataset>-s<seed>.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import harness

from msenas.config import DataConfig
from msenas.genome import Op, instantiate, io
from msenas.genome.types import Cell, Genome
from msenas.train import TrainConfig, parse_overrides, train


def default_genome() -> Genome:
    """The `fixed` macro (stem + 3 cells, 16/32/32 channels, reduction at cell 1), each cell a
    2-node chain of excitatory LIF conv3x3 ops: a plain, hand-written baseline."""
    cell = lambda: Cell((instantiate("chain", 2, [Op("conv3x3"), Op("conv3x3")]),))  # noqa: E731
    return Genome(cells=(cell(), cell(), cell()), inputs=((0,), (1,), (2,)), reductions=(1,),
                  channels=16, stem_multiplier=1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = harness.parser(__doc__)
    p.add_argument("--datasets", nargs="+", default=["digits", "digits-dvs"])
    p.add_argument("--genome", default=None, help="genome JSON (default: default_genome())")
    p.add_argument("--data-dir", default=None, help="dataset folder (cifar10, cifar10dvs, ...)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--size", type=int, default=None, help="data option size (digits, digits-dvs)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--amp", default="auto", choices=("auto", "on", "off"))
    harness.add(p, "threads", "set", "out", threads=None, out="results/bench_train")
    return p.parse_args(argv)


def run_one(genome: Genome, name: str, seed: int, args: argparse.Namespace, out: Path) -> dict:
    """Train one (dataset, seed); return its summary row."""
    train_fields, data_fields = parse_overrides(args.overrides)
    cfg = TrainConfig.from_dict({**train_fields, "epochs": args.epochs, "seed": seed,
                                 "device": args.device, "amp": args.amp})
    if args.size is not None and name in ("digits", "digits-dvs"):
        data_fields["size"] = args.size
    seed = int(data_fields.pop("seed", 0))
    spec = DataConfig(name, args.data_dir, data_fields, seed=seed)
    dataset = spec.build(cfg.T)
    folder = out / f"{name}-s{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    with harness.timed() as t:
        metrics = train(genome, dataset, cfg, folder, progress=sys.stderr.isatty(), data=spec)
    wall = t.wall_s
    hist = metrics["history"]
    config = json.loads((folder / "config.json").read_text())
    return {"dataset": name, "seed": seed, "in_shape": list(dataset.info.in_shape), "epochs": cfg.epochs,
            "T": cfg.T, "device": config["resolved"]["device"], "amp": config["resolved"]["amp"],
            "test_acc": metrics["final"]["test_acc"], "best_test_acc": max(h["test_acc"] for h in hist),
            "spikes": metrics["final"]["spikes"], "spikes_per_cell": metrics["final"]["spikes_per_cell"],
            "params": metrics["final"]["params"],
            "epoch_time_mean": statistics.mean(h["epoch_time"] for h in hist),
            "epoch_cpu_time_mean": statistics.mean(h.get("epoch_cpu_time", float("nan")) for h in hist),
            "eval_time_mean": statistics.mean(h["eval_time"] for h in hist), "wall": wall,
            "acc_per_epoch": [round(h["test_acc"], 4) for h in hist]}


def table(rows: list[dict]) -> str:
    """Markdown table of the summary rows."""
    return harness.table(
        ["dataset", "input", "seed", "epochs", "T", "test acc", "best", "spikes/sample", "params",
         "train s/epoch (wall)", "train CPU s/epoch", "eval s/epoch"],
        [(r["dataset"], "x".join(map(str, r["in_shape"])), r["seed"], r["epochs"], r["T"], f"{r['test_acc']:.4f}",
          f"{r['best_test_acc']:.4f}", f"{r['spikes']:.0f}", f"{r['params']:,}", f"{r['epoch_time_mean']:.2f}",
          f"{r['epoch_cpu_time_mean']:.2f}", f"{r['eval_time_mean']:.2f}") for r in rows])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    genome = io.load(args.genome) if args.genome else default_genome()
    out = Path(args.out)
    rows = []
    for name in args.datasets:
        for seed in args.seeds:
            rows.append(run_one(genome, name, seed, args, out))
            print(json.dumps(rows[-1]), flush=True)
    harness.emit(table(rows), json_path=out / "summary.json", data={"genome": io.to_dict(genome), "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
