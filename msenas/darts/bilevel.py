"""Architecture gradients of the DARTS bi-level problem (Liu, Simonyan, Yang, ICLR 2019).

min_a L_val(w*(a), a)  s.t.  w*(a) = argmin_w L_train(w, a).

First order: grad_a L_val(w, a) at the current weights.
Second order (DARTS eq. 7 and 8): one virtual SGD step
w' = w - xi * (grad_w L_train(w, a) + wd * w), then
grad_a L_val(w', a) - xi * (grad_a L_train(w+, a) - grad_a L_train(w-, a)) / (2 eps),
with w+- = w +- eps * grad_w' L_val(w', a) and eps = 0.01 / ||grad_w' L_val(w', a)||.

A model exposes arch_parameters() and weight_parameters(); loss(model, batch)
runs the forward and returns a scalar. `loss_scale`: the factor the loss was
multiplied by (float16 loss scaling, msenas.runtime.Precision); every gradient
is divided by it as soon as it is taken, so the result is in unscaled units. Weights and buffers (BatchNorm running
statistics) are restored, so only the real optimiser steps change them.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

Loss = Callable[[nn.Module, Any], torch.Tensor]


def _grads(loss: torch.Tensor, params: Sequence[torch.Tensor], scale: float = 1.0) -> list[torch.Tensor]:
    gs = torch.autograd.grad(loss, list(params), allow_unused=True)
    return [torch.zeros_like(p) if g is None else (g if scale == 1.0 else g / scale) for p, g in zip(params, gs)]


def first_order(model: nn.Module, loss: Loss, val_batch: Any, loss_scale: float = 1.0) -> list[torch.Tensor]:
    """grad_a L_val(w, a), one tensor per arch parameter."""
    return _grads(loss(model, val_batch), model.arch_parameters(), loss_scale)


@torch.no_grad()
def _add_(params: Sequence[torch.Tensor], deltas: Sequence[torch.Tensor], scale: float) -> None:
    for p, d in zip(params, deltas):
        p.add_(d, alpha=scale)


def second_order(model: nn.Module, loss: Loss, train_batch: Any, val_batch: Any, xi: float,
                 weight_decay: float = 0.0, eps_scale: float = 0.01, loss_scale: float = 1.0) -> list[torch.Tensor]:
    """The unrolled DARTS gradient (eq. 7) with the finite-difference Hessian term (eq. 8)."""
    alphas, weights = list(model.arch_parameters()), list(model.weight_parameters())
    saved_w = [p.detach().clone() for p in weights]
    saved_b = [b.detach().clone() for b in model.buffers()]
    try:
        g_train = _grads(loss(model, train_batch), weights, loss_scale)
        with torch.no_grad():                                    # virtual step w -> w'
            for p, g in zip(weights, g_train):
                p.sub_(xi * (g + weight_decay * p))
        g_val = _grads(loss(model, val_batch), alphas + weights, loss_scale)
        d_alpha, d_w = g_val[:len(alphas)], g_val[len(alphas):]
        norm = torch.sqrt(sum((d * d).sum() for d in d_w))
        eps = eps_scale / float(norm) if float(norm) > 0 else 0.0
        _restore(weights, saved_w)
        if eps == 0.0:
            return d_alpha
        _add_(weights, d_w, eps)                                 # w+
        g_pos = _grads(loss(model, train_batch), alphas, loss_scale)
        _add_(weights, d_w, -2 * eps)                            # w-
        g_neg = _grads(loss(model, train_batch), alphas, loss_scale)
        return [da - xi * (gp - gn) / (2 * eps) for da, gp, gn in zip(d_alpha, g_pos, g_neg)]
    finally:
        _restore(weights, saved_w)
        _restore(list(model.buffers()), saved_b)


@torch.no_grad()
def _restore(params: Sequence[torch.Tensor], saved: Sequence[torch.Tensor]) -> None:
    for p, s in zip(params, saved):
        p.copy_(s)
