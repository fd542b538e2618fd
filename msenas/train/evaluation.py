"""Test-split evaluation: accuracy of the mean-over-T logits, loss, spikes per sample (NoS)."""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn
from torch.utils.data import Dataset as TorchDataset

from msenas.data import make_loader, to_time_major
from msenas.nn.monitor import SpikeMonitor
from msenas.train.config import TrainConfig, TrainConfigError


def resolve_device(cfg: TrainConfig) -> tuple[torch.device, bool]:
    """(device, use mixed precision) for a config; 'auto' picks cuda when available."""
    has_cuda = torch.cuda.is_available()
    if cfg.device == "cuda" and not has_cuda:
        raise TrainConfigError("device: 'cuda' requested but torch sees no CUDA GPU (use device=auto or cpu)")
    device = torch.device("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and has_cuda) else "cpu")
    if cfg.amp == "on" and device.type != "cuda":
        raise TrainConfigError("amp: 'on' needs a CUDA device (mixed precision is GPU-only here; use amp=auto)")
    return device, device.type == "cuda" and cfg.amp != "off"


def autocast(device: torch.device, amp: bool):
    """float16 autocast on CUDA when amp is on; a no-op context otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp and device.type == "cuda")


@torch.no_grad()
def evaluate(model: nn.Module, split: TorchDataset, *, T: int, batch_size: int, device: torch.device,
             amp: bool = False, progress: bool = False) -> dict:
    """Accuracy, CE loss, spikes per sample (total, per cell) and synaptic ops on a split."""
    from tqdm import tqdm

    was_training = model.training
    model.eval()
    loader = make_loader(split, batch_size, shuffle=False, seed=0)
    correct, loss_sum, n = 0, 0.0, 0
    with SpikeMonitor(model) as mon:
        for xb, yb in tqdm(loader, desc="eval", file=sys.stderr, disable=not progress, leave=False):
            x = to_time_major(xb, T).to(device, non_blocking=True)   # [T,B,C,H,W]
            y = yb.to(device, non_blocking=True)                     # [B]
            with autocast(device, amp):
                logits = model(x)                                    # [T,B,K]
            mean = logits.float().mean(0)                            # [B,K]
            loss_sum += float(F.cross_entropy(mean, y, reduction="sum"))
            correct += int((mean.argmax(1) == y).sum())
            n += len(y)
            functional.reset_net(model)
        spikes = mon.summary(n)
    model.train(was_training)
    return {"test_acc": correct / max(1, n), "test_loss": loss_sum / max(1, n), "n_samples": n, **spikes}
