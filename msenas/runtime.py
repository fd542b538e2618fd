"""What fitness, training and MA-DARTS share at run time: device, mixed precision, seeds, the evaluation loop.

- `resolve_device("auto" | "cpu" | "cuda")`: auto takes a GPU when torch sees one
  (`device_name`, the one rule, also for fitness executors); asking for cuda
  without one is a config error naming the field.
- `use_amp(device, "auto" | "on" | "off")`: float16 autocast (with a GradScaler
  when training) is on exactly when on a GPU, unless switched off.
- `stream_seed(*parts)`: a 32-bit seed per (run seed, epoch, stream), so a
  resumed run sees the same batches; `seeded(seed)`: a forked torch RNG.
- `evaluate_model(...)`: accuracy, loss and spikes (NoS) per sample on a split.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset as TorchDataset

from msenas.config import ConfigError


def device_name(name: str) -> str:
    """The one rule for a device setting: 'auto' or 'cuda' -> "cuda" when torch sees a GPU, else "cpu"."""
    return "cuda" if name in ("auto", "cuda") and torch.cuda.is_available() else "cpu"


def resolve_device(name: str, error: type[ConfigError] = ConfigError, field: str = "device") -> torch.device:
    """device_name(name) as a torch device; 'cuda' without a GPU raises `error` naming the field."""
    if name == "cuda" and not torch.cuda.is_available():
        raise error(f"{field}: 'cuda' requested but torch sees no CUDA GPU (use {field}=auto or cpu)")
    return torch.device(device_name(name))


def use_amp(device: torch.device, amp: str, error: type[ConfigError] = ConfigError) -> bool:
    """Mixed precision for amp = auto | on | off on `device` ('on' needs CUDA)."""
    if amp == "on" and device.type != "cuda":
        raise error("amp: 'on' needs a CUDA device (mixed precision is GPU-only here; use amp=auto)")
    return device.type == "cuda" and amp != "off"


def autocast(device: torch.device, amp: bool):
    """float16 autocast on CUDA when amp is on; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp and device.type == "cuda")


def stream_seed(*parts: int) -> int:
    """A 32-bit seed drawn from (run seed, epoch, stream, ...): loaders reshuffle per epoch, reproducibly."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch inside a forked RNG (CPU and, when present, CUDA): the global stream is untouched."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with torch using n CPU threads, then restore the count (None: leave it as it is)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
def evaluate_model(model: nn.Module, split: TorchDataset, *, T: int, batch_size: int, device: torch.device,
                   amp: bool = False, max_batches: int | None = None, progress: bool = False,
                   desc: str = "eval", energy=None) -> dict:
    """acc, loss, n_samples and, per sample, spikes (total, per cell), firing rate per cell, SOPs, MACs and
    energy in pJ (msenas.energy.EnergyConfig `energy`, default 45 nm constants) of `model` (eval mode) on a split."""
    from tqdm import tqdm

    from msenas.data import make_loader, to_time_major
    from msenas.nn.monitor import SpikeMonitor

    was_training = model.training
    model.eval()
    loader = make_loader(split, batch_size, shuffle=False, seed=0)
    total = len(loader) if max_batches is None else min(len(loader), max_batches)
    correct, loss_sum, n = 0, 0.0, 0
    with SpikeMonitor(model) as mon, tqdm(total=total, desc=desc, file=sys.stderr, disable=not progress,
                                          leave=False, dynamic_ncols=True) as bar:
        for step, (xb, yb) in enumerate(loader):
            if step >= total:
                break
            x = to_time_major(xb, T).to(device, non_blocking=True)   # [T,B,C,H,W]
            y = yb.to(device, non_blocking=True)                     # [B]
            with autocast(device, amp):
                logits = model(x)                                    # [T,B,K]
            mean = logits.float().mean(0)                            # [B,K]
            loss_sum += float(F.cross_entropy(mean, y, reduction="sum"))
            correct += int((mean.argmax(1) == y).sum())
            n += len(y)
            bar.update(1)
        spikes = mon.summary(n, energy)
    model.train(was_training)
    return {"acc": correct / max(1, n), "loss": loss_sum / max(1, n), "n_samples": n, **spikes}
