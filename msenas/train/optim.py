"""Losses over time steps, optimisers and the warmup + cosine schedule, by name.

TET loss: Deng, Li, Zhang, Gu, "Temporal Efficient Training of Spiking Neural
Network via Gradient Re-weighting", ICLR 2022 (arXiv 2202.11946). We use its
cross-entropy term, the mean over t of CE(logits_t, y) (lambda = 0: no MSE term).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from msenas.registry import Registry

LOSSES: Registry = Registry("loss")
OPTIMIZERS: Registry = Registry("optimizer")   # name -> (params, lr, weight_decay, momentum, nesterov) -> optimizer


@LOSSES.register("ce")
def mean_logits_ce(logits: torch.Tensor, y: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the mean over T of the logits [T,B,K] against labels [B]."""
    return F.cross_entropy(logits.float().mean(0), y, label_smoothing=smoothing)  # [B,K] -> scalar


@LOSSES.register("tet")
def tet_ce(logits: torch.Tensor, y: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """TET: mean over t of CE(logits_t, y), logits [T,B,K] (Deng et al., ICLR 2022)."""
    T, B, K = logits.shape
    # [T*B,K]: the mean over T*B samples is the mean over t of each step's batch CE
    return F.cross_entropy(logits.float().reshape(T * B, K), y.repeat(T), label_smoothing=smoothing)


@LOSSES.register("mse_rate")
def rate_mse(rates: torch.Tensor, y: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """MSE of the mean over T of the outputs [T,B,K] (firing rates) against one-hot labels [B] (smoothed by
    `smoothing`): the loss of Fang et al., ICCV 2021, for its PLIF networks (zoo:plif-cifar10net)."""
    mean = rates.float().mean(0)                                                   # [B,K]
    target = F.one_hot(y, mean.shape[1]).float() * (1 - smoothing) + smoothing / mean.shape[1]
    return F.mse_loss(mean, target)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay conv/linear weights (ndim > 1); never BN affine, biases or PLIF's tau."""
    decay, plain = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else plain).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


@OPTIMIZERS.register("sgd")
def _sgd(params, lr: float, weight_decay: float, momentum: float, nesterov: bool = True) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                           nesterov=nesterov and momentum > 0)


@OPTIMIZERS.register("adamw")
def _adamw(params, lr: float, weight_decay: float, momentum: float, nesterov: bool = True) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def make_optimizer(name: str, model: nn.Module, lr: float, weight_decay: float,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """Optimiser `name` (sgd with Nesterov momentum, adamw) over the model's trainable parameters, weight decay on
    conv/linear weights only (param_groups). Every entry of OPTIMIZERS is (params or param groups, lr,
    weight_decay, momentum, nesterov) -> optimizer; MA-DARTS calls it on its weights as they are."""
    return OPTIMIZERS.get(name)(param_groups(model, weight_decay), lr, weight_decay, momentum)


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR factor per step: linear warmup to 1 over warmup_steps, then cosine to 0 at total_steps."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        rest = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / rest)
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def make_scheduler(opt: torch.optim.Optimizer, total_steps: int,
                   warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LambdaLR with warmup_cosine; its state_dict holds plain values only."""
    return torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(total_steps, warmup_steps))
