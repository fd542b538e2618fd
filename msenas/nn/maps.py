"""Map plumbing of the network, in forms that are cheaper on CPU and give the same values.

- add_all: a left-to-right sum without sum()'s leading `0 + x` copy (0 + x == x);
- pool_to: adaptive average pooling of spikes; where k x k blocks tile the map,
  a block sum / kh / kw (torch's CPU adaptive kernel rounds the same way, and a
  block sum of spikes is exact), with a backward that writes each block once;
- cat_channels: concatenation along C that keeps channels-last maps channels-last.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


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
