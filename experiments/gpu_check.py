"""GPU check: one table of what a GPU buys msenas, in at most 5 minutes on one GPU (and a smaller run on a CPU).

Rows:
  fitness      seconds per genome of the default fitness, MSE-NAS space (6 cells, C=48), CIFAR-10 32x32,
               on the device and, for comparison, on the CPU (fewer genomes there); target on GPU: <= 1 s
  train        training images/s of a searched genome at T=4, batch 128, full precision and mixed precision
               (float16 autocast + GradScaler; GPU only); target: mixed >= 1.5x full
  accuracy     test accuracy of a searched genome after a short CIFAR-10 training (subset, epochs below)
  darts        seconds of one MA-DARTS epoch (8 cells, C=16, capped batches) and its validation accuracy
CPU mode (`--device cpu --small`): the same code at toy sizes (16x16 images, MSE-NAS space at width 8, a
few batches), so CI runs it; its figures say nothing about a GPU.

  python experiments/gpu_check.py --data-dir ~/data/cifar10 --device cuda --out results/gpu_check
  python experiments/gpu_check.py --data-dir tests/tmp/cifar --device cpu --small --genome g.json --out /tmp/gc
Writes OUT/gpu_check.json and OUT/gpu_check.md (the table, with machine and date).
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
from msenas.fitness.config import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import make_probe
from msenas.genome import get_space, io, sample
from msenas.runtime import autocast, resolve_device, use_amp
from msenas.train import TrainConfig, build_model, train
from msenas.train.optim import LOSSES, make_optimizer

SIZES = {  # full (GPU) and small (CPU, CI) settings
    False: dict(size=32, per_class=500, test_per_class=100, fitness_genomes=8, cpu_genomes=1, width=48,
                batch=128, steps=20, epochs=2, darts_batches=40),
    True: dict(size=16, per_class=20, test_per_class=5, fitness_genomes=2, cpu_genomes=1, width=8,
               batch=16, steps=3, epochs=1, darts_batches=2),
}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fitness_seconds(data: DataConfig, device: str, n: int, width: int, seed: int = 0) -> list[float]:
    """Seconds of the default fitness per MSE-NAS-space genome (width `width`) on `device`, after a warm-up."""
    cfg = FitnessConfig(device=device)
    ds = data.build(cfg.T, seed)
    probe = make_probe(ds, cfg, seed)
    space = dataclasses.replace(get_space("mse-nas"), channels=(width,))
    rng = np.random.default_rng(seed)
    genomes = [sample(space, rng) for _ in range(n + 1)]
    evaluate_genome(genomes[0], probe, cfg, cfg.proxy_names())            # warm-up: kernels, caches
    return [evaluate_genome(g, probe, cfg, cfg.proxy_names()).wall_time for g in genomes[1:]]


def train_images_per_s(genome, ds, device: torch.device, amp: bool, batch: int, steps: int, T: int = 4) -> float:
    """Training images/s (forward, backward, optimiser step) at T, after two warm-up steps."""
    model = build_model(genome, ds, TrainConfig(T=T)).to(device).train()
    opt = make_optimizer("adamw", model, 1e-3, 0.01)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    loss_fn = LOSSES.get("ce")
    x = torch.stack([ds.train[i % len(ds.train)][0] for i in range(batch)]).to(device)     # [B,C,H,W]
    y = torch.as_tensor([int(ds.train[i % len(ds.train)][1]) for i in range(batch)]).to(device)
    x = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)                                                # [T,B,C,H,W]

    def one_step() -> None:
        with autocast(device, amp):
            logits = model(x)
        loss = loss_fn(logits, y, 0.1)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(2):
        one_step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        one_step()
    _sync(device)
    return batch * steps / (time.perf_counter() - t0)


def short_training(genome, ds, data: DataConfig, device: str, epochs: int, batch: int) -> tuple[float, float]:
    """(test accuracy, seconds) of `epochs` epochs of msenas train."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        m = train(genome, ds, TrainConfig(epochs=epochs, batch_size=batch, device=device, warmup_epochs=0.0,
                                          lr=3e-3), tmp, progress=False, data=data)
        return m["final"]["test_acc"], time.perf_counter() - t0


def darts_epoch(ds, data: DataConfig, device: str, batches: int, small: bool) -> tuple[float, float]:
    """(seconds, validation accuracy) of one MA-DARTS epoch."""
    cfg = DartsConfig(epochs=1, device=device, max_batches=batches, max_valid_batches=batches,
                      **(dict(n_cells=3, channels=4, n_nodes=2, batch_size=16) if small else {}))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = darts_search(ds, cfg, tmp, progress=False, data=data)
        return time.perf_counter() - t0, res.history[-1]["valid_acc"]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="CIFAR-10 folder (cifar-10-batches-py or its parent)")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--small", action="store_true", help="toy sizes (CPU, CI)")
    p.add_argument("--genome", default="experiments/genomes/cifar10-cpu-best.json",
                   help="a searched genome (JSON) for the training rows")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    s = SIZES[args.small]
    device = resolve_device(args.device)
    data = DataConfig("cifar10", args.data_dir, {"size": s["size"], "train_per_class": s["per_class"],
                                                 "test_per_class": s["test_per_class"], "augment": False}, seed=0)
    genome = io.load(args.genome)
    ds = data.build(4)
    rows = []

    def add(check: str, dev: str, value: float, unit: str, note: str = "") -> None:
        rows.append({"check": check, "device": dev, "value": value, "unit": unit, "note": note})
        print(f"{check:9s} {dev:5s} {value:10.4g} {unit} {note}", file=sys.stderr, flush=True)

    fit = fitness_seconds(data, device.type, s["fitness_genomes"], s["width"])
    add("fitness", device.type, statistics.median(fit), "s/genome",
        f"median of {len(fit)}; MSE-NAS space at C={s['width']}, {s['size']}x{s['size']}; target on GPU <= 1 s")
    if device.type == "cuda":
        cpu = fitness_seconds(data, "cpu", s["cpu_genomes"], s["width"])
        add("fitness", "cpu", statistics.median(cpu), "s/genome", f"median of {len(cpu)}, same genomes first")
    full = train_images_per_s(genome, ds, device, False, s["batch"], s["steps"])
    add("train", device.type, full, "images/s", f"full precision, T=4, batch {s['batch']}")
    if use_amp(device, "auto"):
        mixed = train_images_per_s(genome, ds, device, True, s["batch"], s["steps"])
        add("train", device.type, mixed, "images/s", f"mixed precision: {mixed / full:.2f}x full; target >= 1.5x")
    acc, secs = short_training(genome, ds, data, device.type, s["epochs"], s["batch"])
    add("accuracy", device.type, acc, "test acc",
        f"{s['epochs']} epoch(s) on {s['per_class']}/class, {secs:.0f} s (JPEG-decoded CIFAR-10)")
    secs, vacc = darts_epoch(ds, data, device.type, s["darts_batches"], args.small)
    add("darts", device.type, secs, "s/epoch", f"{s['darts_batches']} batches, valid acc {vacc:.3f}")
    meta = {"machine": f"{platform.node()}, {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}",
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "python experiments/gpu_check.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    table = "\n".join([f"{meta['machine']}, torch {meta['torch']}, {meta['date']}: `{meta['command']}`", "",
                       "| check | device | value | unit | note |", "| --- | --- | --- | --- | --- |"] +
                      [f"| {r['check']} | {r['device']} | {r['value']:.4g} | {r['unit']} | {r['note']} |"
                       for r in rows])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "gpu_check.json", json.dumps({**meta, "rows": rows}, indent=1))
    atomic_write_text(out / "gpu_check.md", table + "\n")
    print(table)
    return {**meta, "rows": rows}


if __name__ == "__main__":
    main()
