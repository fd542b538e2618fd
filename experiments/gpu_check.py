"""GPU check: one table of what a GPU buys msenas, in at most 5 minutes on one H100-class GPU.

Run it through scripts/gpu_check.sh (environment, data, this script); by hand:
  python experiments/gpu_check.py --data-dir DATA --device cuda --out OUT          # DATA: a CIFAR-10 folder
  python experiments/gpu_check.py --data-dir DATA --device cpu --small --out OUT  # toy sizes, CI
Writes OUT/gpu_check.json and OUT/gpu_check.md after every row (a run cut short keeps what it measured) and
prints each row as it is measured (stderr) and the table at the end (stdout).

Rows (full sizes: SIZES["full"]; --small: SIZES["small"], the same code at toy sizes, figures say nothing):
  neurons   which kernels run the spiking neurons (cuda: spikingjelly's implementation and why; cpu: the
            fused C kernels), msenas/nn/cuda_backend.py
  fitness   seconds per genome of the default fitness (loss_params), MSE-NAS space at C=48 on 32x32
            CIFAR-10, T=4, float32 (fitness.amp off, the default) and bfloat16 autocast; target on a GPU:
            <= 1 s per genome
  train     training images/s of the searched genome (experiments/genomes/cifar10_msenas_s0.json at
            --width 48), T=4, batch 128, through msenas.train.train: float32, float16 + GradScaler and
            bfloat16 (the second of two capped epochs, so compilation and autotuning are not counted);
            target: mixed precision >= 1.5x float32
  accuracy  test accuracy after a short training of the same genome (amp auto) on a CIFAR-10 subset
  darts     one MA-DARTS epoch (DARTS supernet 8 cells, C=16, batch 64, T=2, amp auto) capped at 40
            step pairs and 40 validation batches: seconds and validation accuracy
  total     wall seconds of the whole check; target <= 300 on a GPU

How the full sizes were chosen (no GPU was available when they were set, so these are predictions that the
first run replaces with measurements): experiments/predict_gpu.py counts each item's work on the CPU
(kernel launches, bytes, FLOPs, host CPU seconds) and turns it into H100 seconds for a fast and a slow
case (docs/cluster.md, section 8.5): fitness 0.48-1.35 s per genome, a training step at batch 128
0.034-0.235 s, a MA-DARTS step pair 0.21-0.77 s. The items were then sized for a total of about 1.3-3.6
minutes, so that even the slow case plus Triton's kernel compilation stays under 5: 2 x 9 fitness genomes,
3 precisions x 2 capped epochs of 30 training steps, 3 epochs on 10,000 images, 40 MA-DARTS step pairs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from msenas.atomic import atomic_write_text
from msenas.config import DataConfig
from msenas.darts import DartsConfig
from msenas.darts import search as darts_search
from msenas.errors import MsenasError
from msenas.fitness.config import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import make_probe
from msenas.genome import get_space, io, sample
from msenas.runtime import resolve_device
from msenas.train import TrainConfig, train

GENOME = Path(__file__).resolve().parent / "genomes" / "cifar10_msenas_s0.json"


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The size of every item of the check."""

    size: int               # image side (CIFAR-10 is 32)
    train_per_class: int    # train images per class of the subset
    test_per_class: int
    fitness_genomes: int    # genomes timed on the device
    warmup: bool            # score one genome untimed first (kernels compiled, caches filled)
    width: int              # channels: MSE-NAS space and the searched genome
    batch: int
    steps: int              # training steps per timed epoch
    epochs: int             # short training for the accuracy row
    accuracy_batches: int | None   # cap on its train batches per epoch (None: the whole subset)
    darts_batches: int
    darts: dict             # DartsConfig fields besides the defaults
    fitness: dict           # FitnessConfig fields besides the defaults


SIZES = {
    "full": Sizes(size=32, train_per_class=1000, test_per_class=100, fitness_genomes=8, warmup=True, width=48,
                  batch=128, steps=30, epochs=3, accuracy_batches=None, darts_batches=40, darts={}, fitness={}),
    "small": Sizes(size=16, train_per_class=8, test_per_class=2, fitness_genomes=1, warmup=False, width=4,
                   batch=8, steps=1, epochs=1, accuracy_batches=3, darts_batches=1,
                   darts=dict(n_cells=3, channels=4, n_nodes=2, batch_size=16),
                   fitness=dict(per_class=2, steps=2, batch_size=16)),
}


class Table:
    """Rows written to OUT/gpu_check.{json,md} as they come (atomic writes)."""

    def __init__(self, out: Path, meta: dict):
        self.out, self.meta, self.rows = out, meta, []
        out.mkdir(parents=True, exist_ok=True)

    def add(self, check: str, device: str, value, unit: str, note: str = "") -> None:
        """Record one row, print it, rewrite both files."""
        self.rows.append({"check": check, "device": device, "value": value, "unit": unit, "note": note})
        print(f"{check:9s} {device:5s} {_fmt(value):>10s} {unit} {note}", file=sys.stderr, flush=True)
        atomic_write_text(self.out / "gpu_check.json", json.dumps({**self.meta, "rows": self.rows}, indent=1))
        atomic_write_text(self.out / "gpu_check.md", self.markdown() + "\n")

    def markdown(self) -> str:
        """The table with a line saying where and how it was made."""
        m = self.meta
        head = [f"{m['machine']}, torch {m['torch']}, {m['date']}: `{m['command']}`", "",
                "| check | device | value | unit | note |", "| --- | --- | --- | --- | --- |"]
        return "\n".join(head + [f"| {r['check']} | {r['device']} | {_fmt(r['value'])} | {r['unit']} | {r['note']} |"
                                 for r in self.rows])


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)


def neuron_kernels(device: torch.device) -> tuple[str, str]:
    """(implementation, note): what runs the spiking neurons on `device`."""
    from msenas.nn import cuda_backend, kernels

    if device.type == "cpu":
        return ("fused-c", "msenas's fused C kernels") if kernels.load() is not None else \
            ("spikingjelly", "no C compiler: spikingjelly's CPU neurons")
    name = cuda_backend.select_backend(device)
    choice = cuda_backend.choose(cuda_backend.probe("lif", device.index or 0))
    return name, choice.line(f"cuda:{device.index or 0}").split(": ", 1)[1]


def fitness_seconds(data: DataConfig, device: str, n: int, s: Sizes, amp: str = "off", seed: int = 0) -> list[float]:
    """Seconds of the default fitness per MSE-NAS-space genome (width s.width) on `device` (after a warm-up)."""
    cfg = FitnessConfig(device=device, amp=amp, **s.fitness)
    width = s.width
    ds = data.build(cfg.T, seed)
    probe = make_probe(ds, cfg, seed)
    space = dataclasses.replace(get_space("mse-nas"), channels=(width,))
    rng = np.random.default_rng(seed)
    genomes = [sample(space, rng) for _ in range(n + 1)]
    if s.warmup:
        evaluate_genome(genomes[0], probe, cfg, cfg.proxy_names())        # untimed: kernels, caches
    recs = [evaluate_genome(g, probe, cfg, cfg.proxy_names()) for g in genomes[1:]]
    failed = [r.error for r in recs if r.error]
    if failed:
        raise RuntimeError(f"fitness on {device} ({amp}) failed: {failed[0]}")
    return [r.wall_time for r in recs]


def train_images_per_s(genome, ds, data: DataConfig, device: str, amp: str, s: Sizes) -> tuple[float, str]:
    """Training images/s of msenas.train.train over the second of two epochs of `s.steps` steps; its precision."""
    cfg = TrainConfig(epochs=2, batch_size=s.batch, device=device, amp=amp, warmup_epochs=0.0,
                      max_train_batches=s.steps)
    with tempfile.TemporaryDirectory() as tmp:
        m = train(genome, ds, cfg, tmp, progress=False, data=data)
        precision = json.loads((Path(tmp) / "config.json").read_text())["resolved"]["precision"]
    return s.steps * s.batch / m["history"][-1]["epoch_time"], precision


def short_training(genome, ds, data: DataConfig, device: str, s: Sizes) -> tuple[float, float]:
    """(test accuracy, seconds) of `s.epochs` epochs of msenas train with amp auto."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        m = train(genome, ds, TrainConfig(epochs=s.epochs, batch_size=s.batch, device=device, warmup_epochs=0.0,
                                          lr=3e-3, max_train_batches=s.accuracy_batches), tmp, progress=False,
                  data=data)
        return m["final"]["test_acc"], time.perf_counter() - t0


def darts_epoch(ds, data: DataConfig, device: str, s: Sizes) -> tuple[float, float]:
    """(seconds, validation accuracy) of one MA-DARTS epoch (amp auto)."""
    cfg = DartsConfig(epochs=1, device=device, max_batches=s.darts_batches, max_valid_batches=s.darts_batches,
                      **s.darts)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = darts_search(ds, cfg, tmp, progress=False, data=data)
        return time.perf_counter() - t0, res.history[-1]["valid_acc"]


def run(args: argparse.Namespace, table: Table, t_start: float) -> None:
    """Measure every row into `table`."""
    s = SIZES["small" if args.small else "full"]
    device = resolve_device(args.device)
    dev = device.type
    data = DataConfig("cifar10", args.data_dir, {"size": s.size, "train_per_class": s.train_per_class,
                                                 "test_per_class": s.test_per_class, "augment": False}, seed=0)
    width = args.width or s.width
    genome = dataclasses.replace(io.load(args.genome), channels=width)
    ds = data.build(4)
    name, note = neuron_kernels(device)
    table.add("neurons", dev, name, "", note)
    where = f"MSE-NAS space at C={s.width}, {s.size}x{s.size}, T=4"
    for amp in ("off", "bf16"):
        fit = fitness_seconds(data, dev, s.fitness_genomes, s, amp)
        target = "; target on a GPU <= 1 s" if dev == "cuda" and amp == "off" else ""
        table.add("fitness", dev, statistics.median(fit), "s/genome",
                  f"{'float32' if amp == 'off' else 'bfloat16 autocast'}, median of {len(fit)}; {where}{target}")
    full = None
    for amp in ("off", "fp16", "bf16"):
        if amp == "bf16" and dev == "cuda" and not torch.cuda.is_bf16_supported():
            table.add("train", dev, "-", "images/s", "bfloat16: not supported by this GPU")
            continue
        rate, precision = train_images_per_s(genome, ds, data, dev, amp, s)
        full = rate if amp == "off" else full
        ratio = "" if amp == "off" else f"; {rate / full:.2f}x float32, target >= 1.5x"
        table.add("train", dev, rate, "images/s",
                  f"{precision}, genome at C={width}, T=4, batch {s.batch}, {s.size}x{s.size}{ratio}")
    acc, secs = short_training(genome, ds, data, dev, s)
    capped = f" (at most {s.accuracy_batches} batches each)" if s.accuracy_batches else ""
    table.add("accuracy", dev, acc, "test acc", f"{s.epochs} epoch(s){capped} on {s.train_per_class}/class, amp auto, "
                                                f"{secs:.0f} s")
    secs, vacc = darts_epoch(ds, data, dev, s)
    table.add("darts", dev, secs, "s/epoch", f"{s.darts_batches} step pairs + {s.darts_batches} validation "
                                             f"batches, amp auto, valid acc {vacc:.3f}")
    total = time.perf_counter() - t_start
    table.add("total", dev, total, "s", "the whole check" + ("; target on a GPU <= 300 s" if dev == "cuda" else ""))


def main(argv: list[str] | None = None) -> dict:
    t_start = time.perf_counter()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="CIFAR-10 folder (cifar-10-batches-py or its parent)")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--small", action="store_true", help="toy sizes (CPU, CI)")
    p.add_argument("--genome", default=str(GENOME), help="a searched genome (JSON) for the training rows")
    p.add_argument("--width", type=int, help="its channels C for training (default 48, --small 8)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    machine = torch.cuda.get_device_name() if args.device == "cuda" and torch.cuda.is_available() else "CPU"
    meta = {"machine": f"{platform.node()}, {machine}", "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "python experiments/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    table = Table(Path(args.out), meta)
    try:
        run(args, table, t_start)
    except MsenasError as e:                       # no GPU for --device cuda, a bad data folder, ...
        print(f"gpu_check: error: {' '.join(str(e).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    print(table.markdown())
    return {**meta, "rows": table.rows}


if __name__ == "__main__":
    main()
