"""A zoo network whose neurons start every forward from rest, as msenas networks do."""
from __future__ import annotations

import torch
from spikingjelly.activation_based import functional
from torch import nn


class FreshState(nn.Module):
    """A zoo network whose neurons start every forward from rest, as msenas networks do (no state leaks between
    batches, in training or evaluation)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(self.net)
        return self.net(x)                                     # [T,B,C,H,W] -> [T',B,K]
