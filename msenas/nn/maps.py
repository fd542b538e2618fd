"""Map plumbing of the network, in forms that are cheaper on CPU and give the same values.

- add_all: a left-to-right sum without sum()'s leading `0 + x` copy (0 + x == x);
- pool_to: adaptive average pooling of spikes; where k x k blocks tile the map,
  a block sum / kh / kw (torch's CPU adaptive kernel rounds the same way, and a
  block sum of spikes is exact), with a backward that writes each block once;
- cat_channels: concatenation along C that keeps channels-last maps channels-last;
- AvgPool2d: spikingjelly's AvgPool2d; on CPU at stride 1 with the padding not
  counted (the `avgpool` op), a window sum by a depthwise conv of ones divided
  by each output's number of cells, forward and backward (about 2x faster than
  torch's CPU avg_pool2d on channels-last maps, docs/benchmarks.md section 8;
  the window sums of spikes are exact, so the outputs are the same).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import layer
from torch.profiler import record_function


def add_all(xs: list[torch.Tensor]) -> torch.Tensor:
    """xs[0] + xs[1] + ... left to right; no `0 + xs[0]` copy as with sum()."""
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


class _BlockMean(torch.autograd.Function):
    """adaptive_avg_pool2d where k x k blocks tile the map: sum / kh / kw, as torch's CPU kernel rounds it
    (the sum of a block of spikes is exact in any order); backward writes grad / kh / kw to each block
    once instead of zero-filling and scattering."""

    @staticmethod
    def forward(ctx, s, kh: int, kw: int):
        ctx.k = (kh, kw)
        return F.avg_pool2d(s, (kh, kw), divisor_override=1) / kh / kw

    @staticmethod
    def backward(ctx, g):
        kh, kw = ctx.k
        return F.interpolate(g / kh / kw, scale_factor=(kh, kw), mode="nearest"), None, None


def pool_to(s: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Adaptive average pooling of spikes [N,C,H,W] to size; a k x k block mean when k divides both sides."""
    kh, kw = s.shape[-2] // size[0], s.shape[-1] // size[1]
    if (kh * size[0], kw * size[1]) == tuple(s.shape[-2:]):
        return _BlockMean.apply(s, kh, kw)
    return F.adaptive_avg_pool2d(s, size)


def cat_channels(xs: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate [T,B,C_i,H,W] maps along C, keeping channels-last steps channels-last."""
    return torch.cat([x.flatten(0, 1) for x in xs], dim=1).unflatten(0, xs[0].shape[:2])


class _WindowMean(torch.autograd.Function):
    """x [N,C,H,W] -> window sums (a depthwise conv of ones, same padding) / cells of each window; backward:
    the same conv of grad / cells (a stride-1 window of ones is its own transpose)."""

    @staticmethod
    def forward(ctx, x, ones, cells):
        ctx.save_for_backward(ones, cells)
        with record_function("msenas::avgpool_forward"):       # the profiler tells these convs from the network's
            return F.conv2d(x, ones, None, 1, ones.shape[-1] // 2, 1, x.shape[1]).div_(cells)

    @staticmethod
    def backward(ctx, g):
        ones, cells = ctx.saved_tensors
        with record_function("msenas::avgpool_backward"):
            return F.conv2d(g / cells, ones, None, 1, ones.shape[-1] // 2, 1, g.shape[1]), None, None


def _cells(n: int, k: int) -> torch.Tensor:
    """Cells of a same-padded stride-1 window of size k at each of n positions, inside the map."""
    i, p = torch.arange(n), k // 2
    return (torch.clamp(i + p, max=n - 1) - torch.clamp(i - p, min=0) + 1).to(torch.float64)


class AvgPool2d(layer.AvgPool2d):
    """spikingjelly's AvgPool2d, by window sums on CPU where that is the same function (see the module).

    An op counter that reads aten calls (spikingjelly's SynOpCounter) sees those sums as a convolution;
    set `AvgPool2d.by_sums = False` to count with one (msenas's SpikeMonitor counts synapses either way).
    """

    by_sums = True

    def _by_sums(self, x: torch.Tensor) -> bool:
        k, s, p = (v if isinstance(v, int) else v[0] if len(set(v)) == 1 else None
                   for v in (self.kernel_size, self.stride, self.padding))
        return (self.by_sums and x.device.type == "cpu" and x.dim() == 4 and x.dtype in (torch.float32, torch.float64)
                and k is not None and k % 2 == 1 and s == 1 and p == k // 2 and not self.count_include_pad
                and not self.ceil_mode and self.divisor_override is None)

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if not self._by_sums(x):
            return torch.nn.AvgPool2d.forward(self, x)
        C, H, W = x.shape[1:]
        k = self.kernel_size if isinstance(self.kernel_size, int) else self.kernel_size[0]
        ones = torch.ones(C, 1, k, k, dtype=x.dtype).contiguous(memory_format=torch.channels_last)
        cells = torch.outer(_cells(H, k), _cells(W, k)).to(x.dtype)
        return _WindowMean.apply(x, ones, cells)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s":
            return self._pool(x)
        if x.dim() != 5:
            raise ValueError(f"expected x with shape [T, N, C, H, W], but got x with shape {x.shape}!")
        return self._pool(x.flatten(0, 1)).unflatten(0, x.shape[:2])
