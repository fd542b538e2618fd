"""What fitness, training and MA-DARTS share at run time: device, mixed precision, seeds, the evaluation loop.

- `resolve_device("auto" | "cpu" | "cuda")`: auto takes a GPU when torch sees one
  (`device_name`, the one rule, also for fitness executors);
  asking for cuda without one is a config error naming the field. On a GPU it
  also picks (once per process, with a log line) spikingjelly's neuron kernels:
  msenas/nn/cuda_backend.py.
- `resolve_precision(device, amp)`: the one mixed-precision helper of training,
  evaluation, the fitness probe and MA-DARTS. amp = auto (float16 on a GPU,
  float32 on the CPU), on (float16; needs a GPU), off, bf16 or fp16 (that
  autocast dtype on any device, the CPU included). The returned `Precision`
  gives the autocast context and the GradScaler (enabled for float16 only:
  bfloat16 has float32's exponent range, so its gradients do not underflow).
- `stream_seed(*parts)`: a 32-bit seed per (run seed, epoch, stream), so a
  resumed run sees the same batches; `seeded(seed)`: a forked torch RNG.
- `evaluate_model(...)`: accuracy, loss and spikes (NoS) per sample on a split.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
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
    device = torch.device(device_name(name))
    if device.type == "cuda":                      # once per process: which spikingjelly kernels run the neurons
        from msenas.nn.cuda_backend import select_backend

        select_backend(device)
    return device


AMP_MODES = ("auto", "on", "off", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    """The device a network runs on and the dtype autocast computes in (None: float32 throughout)."""

    device: torch.device
    dtype: torch.dtype | None = None

    @property
    def mixed(self) -> bool:
        """True when autocast is on."""
        return self.dtype is not None

    @property
    def name(self) -> str:
        """float32, bfloat16 or float16 (for logs and result files)."""
        return str(self.dtype or torch.float32).removeprefix("torch.")

    def autocast(self):
        """The autocast context of this precision (a no-op context for float32)."""
        return torch.autocast(device_type=self.device.type, dtype=self.dtype, enabled=self.mixed)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaling for float16 (its small gradients underflow otherwise); a pass-through for the others."""
        return torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)


def resolve_precision(device: torch.device, amp: str = "auto", error: type[ConfigError] = ConfigError,
                      field: str = "amp") -> Precision:
    """Precision for amp = auto | on | off | bf16 | fp16 on `device`; 'on' without CUDA raises `error`."""
    if amp not in AMP_MODES:
        raise error(f"{field}: must be one of {', '.join(AMP_MODES)}, got {amp!r}")
    if amp == "on" and device.type != "cuda":
        raise error(f"{field}: 'on' needs a CUDA device (use {field}=auto, or bf16 / fp16 to force "
                    "mixed precision on the CPU)")
    if amp in _DTYPES:
        return Precision(device, _DTYPES[amp])
    return Precision(device, torch.float16 if device.type == "cuda" and amp != "off" else None)


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
                   precision: Precision | None = None, max_batches: int | None = None, progress: bool = False,
                   desc: str = "eval", energy=None) -> dict:
    """acc, loss, n_samples and, per sample, spikes (total, per cell), firing rate per cell, SOPs, MACs and
    energy in pJ (msenas.energy.EnergyConfig `energy`, default 45 nm constants) of `model` (eval mode) on a split,
    forwards under `precision` (default float32)."""
    from tqdm import tqdm

    from msenas.data import make_loader, to_time_major
    from msenas.nn.monitor import SpikeMonitor

    precision = precision or Precision(device)
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
            with precision.autocast():
                logits = model(x)                                    # [T,B,K]
            mean = logits.float().mean(0)                            # [B,K]
            loss_sum += float(F.cross_entropy(mean, y, reduction="sum"))
            correct += int((mean.argmax(1) == y).sum())
            n += len(y)
            bar.update(1)
        spikes = mon.summary(n, energy)
    model.train(was_training)
    return {"acc": correct / max(1, n), "loss": loss_sum / max(1, n), "n_samples": n, **spikes}
