"""Attention on spiking cell outputs [T,B,C,H,W] -> same shape, by name (MA-DARTS, arXiv 2411.00902).

- eca:      channel attention, Wang et al., "ECA-Net", CVPR 2020: global average
            pool -> 1-D conv across channels (adaptive kernel) -> sigmoid.
- cbam:     channel then spatial attention, Woo et al., "CBAM", ECCV 2018: shared
            MLP on avg- and max-pooled channels; 7x7 conv on channel mean and max.
- temporal: attention over time steps, after Yao et al., "Temporal-wise Attention
            Spiking Neural Networks", ICCV 2021: squeeze C,H,W (mean and max)
            -> 1-D conv across T -> sigmoid, one weight per step and sample.

Design choices: eca and cbam act on each time step separately (T folded into
the batch); the temporal conv runs over T, so one module serves any T.
Specs combine with "+": "eca+temporal" applies eca, then temporal.
The registry of attention names with their costs is torch-free (msenas/genome/parts.py:
ATTENTIONS); each entry names its module here.
"""
from __future__ import annotations

import torch
from torch import nn

from msenas.genome.parts import (  # noqa: F401  (re-exported: the registry and constants the modules use)
    ATTENTIONS,
    CBAM_KERNEL,
    CBAM_REDUCTION,
    TEMPORAL_KERNEL,
    eca_kernel,
    load_object,
    parse_attention,
)


class ECA(nn.Module):
    """Efficient channel attention, applied at every time step."""

    def __init__(self, channels: int):
        super().__init__()
        k = eca_kernel(channels)
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=(3, 4))                                       # [T,B,C]
        T, B, C = y.shape
        w = self.conv(y.reshape(T * B, 1, C)).reshape(T, B, C, 1, 1)
        return x * torch.sigmoid(w)                                  # [T,B,C,H,W]


class CBAM(nn.Module):
    """Channel attention (shared MLP on avg and max pools), then spatial attention (7x7 conv)."""

    def __init__(self, channels: int, reduction: int = CBAM_REDUCTION, kernel: int = CBAM_KERNEL):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)

    def channel_gate(self, x: torch.Tensor) -> torch.Tensor:
        """Per step and channel weights [T,B,C,1,1] in (0, 1)."""
        a = self.mlp(x.mean(dim=(3, 4))) + self.mlp(x.amax(dim=(3, 4)))   # [T,B,C]
        return torch.sigmoid(a)[..., None, None]

    def spatial_gate(self, x: torch.Tensor) -> torch.Tensor:
        """Per step and position weights [T,B,1,H,W] in (0, 1)."""
        s = torch.stack([x.mean(dim=2), x.amax(dim=2)], dim=2)       # [T,B,2,H,W]
        T = s.shape[0]
        return torch.sigmoid(self.spatial(s.flatten(0, 1))).unflatten(0, (T, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.channel_gate(x)
        return x * self.spatial_gate(x)                              # [T,B,C,H,W]


class TemporalAttention(nn.Module):
    """One weight per time step and sample from a 1-D conv over T of the squeezed input."""

    def __init__(self, channels: int, kernel: int = TEMPORAL_KERNEL):
        super().__init__()
        self.conv = nn.Conv1d(2, 1, kernel, padding=kernel // 2)

    def step_gate(self, x: torch.Tensor) -> torch.Tensor:
        """Weights [T,B] in (0, 1)."""
        s = torch.stack([x.mean(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4))], dim=1)  # [T,2,B]
        s = s.permute(2, 1, 0)                                                   # [B,2,T]
        return torch.sigmoid(self.conv(s))[:, 0].transpose(0, 1)                 # [T,B]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.step_gate(x)[..., None, None, None]          # [T,B,C,H,W]


def make_attention(spec: str, channels: int) -> nn.Module:
    """The attention module(s) named by spec, for `channels` channels (identity for 'none')."""
    parts = [load_object(ATTENTIONS.get(n).build)(channels) for n in parse_attention(spec)]
    if not parts:
        return nn.Identity()
    return parts[0] if len(parts) == 1 else nn.Sequential(*parts)
