"""spikingjelly's BatchNorm2d with C kernels for channels-last maps in training mode (CPU).

Why: torch's CPU backward for a channels-last map with few channels took
29 ms on [256,16,32,32] against 3.7 ms for its forward (2026-12-01), the
largest cost after the convolutions in a training step; and torch's
channels-last training forward sums the batch statistics in an order that
depends on the thread count, so 1 and 2 threads gave different spikes (0.6%
of them on the `fixed` CIFAR-10-shape genome). Here the statistics are sums in
float64 over fixed blocks of rows, added in block order (the same for any
thread count), the map is normalised by torch's own eval-mode BatchNorm with
those statistics, and the backward is torch's formula in one C kernel
(msenas/nn/csrc/batchnorm.c, loaded by msenas/nn/kernels.py). Eval mode, contiguous
maps, CUDA, other dtypes or no compiler: torch's BatchNorm, unchanged.
"""
from __future__ import annotations

import ctypes

import torch
from spikingjelly.activation_based import layer
from torch.autograd.function import once_differentiable
from torch.profiler import record_function

from msenas.nn import kernels

_DTYPES = (torch.float32, torch.float64)


def _ptr(t: torch.Tensor | None):
    return None if t is None else ctypes.c_void_p(t.data_ptr())


def _applies(x: torch.Tensor) -> bool:
    return (x.dim() == 4 and x.device.type == "cpu" and x.dtype in _DTYPES and x.numel() > x.shape[1]
            and x.is_contiguous(memory_format=torch.channels_last) and kernels.load(kernels.BATCHNORM) is not None)


def batch_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance (float64, [C]) of a channels-last map [N,C,H,W]."""
    C = x.shape[1]
    M = x.numel() // C
    sums = torch.empty(2, C, dtype=torch.float64)
    lib = kernels.load(kernels.BATCHNORM)
    fn = lib.batchnorm_stats_f32 if x.dtype == torch.float32 else lib.batchnorm_stats_f64
    with record_function("msenas::batch_norm_stats"):
        rc = fn(_ptr(x), _ptr(sums[0]), _ptr(sums[1]), M, C, torch.get_num_threads())
    kernels.check(rc, "BatchNorm statistics")
    mean = sums[0] / M
    return mean, (sums[1] / M - mean * mean).clamp_min(0.0)


class _BatchNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum: float, eps: float):
        mean, var = batch_stats(x)                                 # [C] float64
        out = torch.batch_norm(x, weight, bias, mean.to(x.dtype), var.to(x.dtype), False, 0.0, eps, False)
        if running_mean is not None:                               # torch's update, unbiased variance
            M = x.numel() // x.shape[1]
            running_mean.mul_(1 - momentum).add_(mean.to(x.dtype), alpha=momentum)
            running_var.mul_(1 - momentum).add_((var * (M / (M - 1))).to(x.dtype), alpha=momentum)
        ctx.save_for_backward(x, weight, mean.to(x.dtype), torch.rsqrt(var + eps).to(x.dtype))
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved_tensors                 # x [N,C,H,W] channels-last
        g = g.contiguous(memory_format=torch.channels_last)
        C = x.shape[1]
        gx = torch.empty_like(x)
        sums = torch.empty(2, C, dtype=torch.float64)              # sum g, sum g * (x - mean)
        lib = kernels.load(kernels.BATCHNORM)
        fn = lib.batchnorm_backward_f32 if x.dtype == torch.float32 else lib.batchnorm_backward_f64
        w = None if weight is None else weight.detach().contiguous()
        with record_function("msenas::batch_norm_backward"):
            rc = fn(_ptr(x), _ptr(g), _ptr(mean), _ptr(rstd), _ptr(w), _ptr(gx), _ptr(sums[0]), _ptr(sums[1]),
                    x.numel() // C, C, torch.get_num_threads())
        kernels.check(rc, "BatchNorm backward")
        gw = (sums[1] * rstd.double()).to(x.dtype) if weight is not None and ctx.needs_input_grad[1] else None
        gb = sums[0].to(x.dtype) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None


class BatchNorm2d(layer.BatchNorm2d):
    """layer.BatchNorm2d (single- or multi-step); training mode on channels-last CPU maps runs the C kernels."""

    def super_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.track_running_stats and _applies(x)):
            return super().super_forward(x)
        self._check_input_dim(x)
        factor = 0.0 if self.momentum is None else self.momentum   # nn.BatchNorm2d.forward's bookkeeping
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        return _BatchNorm.apply(x, self.weight, self.bias, self.running_mean, self.running_var, factor, self.eps)
