"""spikingjelly's BatchNorm2d with a faster CPU backward for channels-last maps in training mode.

Forward is torch's own native_batch_norm (same output, same running
statistics). torch's CPU backward for a channels-last map with few channels
took 29 ms on [256,16,32,32] against 3.7 ms for the forward (2026-12-01), the
largest cost after the convolutions in a training step; the C kernel of
msenas/nn/kernels.py (`bn_bwd_*`: torch's formula, sums in float64, two
passes) replaces it. Anything else (eval mode, contiguous maps, CUDA, other
dtypes, no compiler) runs torch's BatchNorm unchanged.
"""
from __future__ import annotations

import ctypes

import torch
from spikingjelly.activation_based import layer
from torch.autograd.function import once_differentiable
from torch.profiler import record_function

from msenas.nn import kernels

_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}


def _ptr(t: torch.Tensor | None):
    return None if t is None else ctypes.c_void_p(t.data_ptr())


def _applies(x: torch.Tensor) -> bool:
    return (x.dim() == 4 and x.device.type == "cpu" and x.dtype in _SUFFIX and x.numel() > 0
            and x.is_contiguous(memory_format=torch.channels_last) and kernels.load() is not None)


class _BatchNorm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum: float, eps: float):
        out, mean, rstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved_tensors                 # x [N,C,H,W] channels-last
        g = g.contiguous(memory_format=torch.channels_last)
        C = x.shape[1]
        gx = torch.empty_like(x)
        sums = torch.empty(2, C, dtype=torch.float64)              # sum g, sum g * (x - mean)
        fn = getattr(kernels.load(), f"bn_bwd_{_SUFFIX[x.dtype]}")
        with record_function("msenas::batch_norm_backward"):
            fn(_ptr(x), _ptr(g), _ptr(mean.contiguous()), _ptr(rstd.contiguous()),
               _ptr(None if weight is None else weight.detach().contiguous()), _ptr(gx),
               _ptr(sums[0]), _ptr(sums[1]), x.numel() // C, C, torch.get_num_threads())
        gw = (sums[1] * rstd.double()).to(x.dtype) if weight is not None and ctx.needs_input_grad[1] else None
        gb = sums[0].to(x.dtype) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None, None, None, None


class BatchNorm2d(layer.BatchNorm2d):
    """layer.BatchNorm2d (single- or multi-step) whose training-mode CPU backward is the fused kernel."""

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
