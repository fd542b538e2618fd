"""Spiking ops: neuron -> body (conv / pool / identity / zero) -> sign; the bodies named by msenas.genome.parts.

Sign (a design choice, see docs/genome.md): an excitatory edge delivers the
body's output y, an inhibitory edge -y. The clamp of the MSE-NAS code
(+relu(y) / -relu(y)) left the last cell silent in 23 of 30 random genomes
of the `fixed` space (9 of 30 with +-y), so we keep the plain sign.
"""
from __future__ import annotations

import torch
from spikingjelly.activation_based import layer
from torch import nn

from msenas.genome.parts import OP_KINDS, load_object
from msenas.genome.types import Op
from msenas.nn.batchnorm import BatchNorm2d
from msenas.nn.maps import AvgPool2d
from msenas.nn.neurons import NeuronParams, make_neuron

# Op bodies, one per kind of msenas.genome.parts.OP_KINDS (its `build` names them): (C, k, step_mode) -> module.

def conv_body(channels: int, kernel: int, step_mode: str) -> nn.Module:
    """Conv k x k (same padding, no bias) then BatchNorm, channels in = out."""
    return nn.Sequential(layer.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False, step_mode=step_mode),
                         BatchNorm2d(channels, step_mode=step_mode))


def avgpool_body(channels: int, kernel: int, step_mode: str) -> nn.Module:
    """k x k average pooling, stride 1, padding excluded from the mean."""
    return AvgPool2d(kernel, 1, kernel // 2, count_include_pad=False, step_mode=step_mode)


def maxpool_body(channels: int, kernel: int, step_mode: str) -> nn.Module:
    """k x k max pooling, stride 1."""
    return layer.MaxPool2d(kernel, 1, kernel // 2, step_mode=step_mode)


def identity_body(channels: int, kernel: int, step_mode: str) -> nn.Module:
    """The input unchanged (identity; the zero op's body, whose output SpikingOp replaces by zeros)."""
    return nn.Identity()


class SpikingOp(nn.Module):
    """One motif edge: [T,B,C,H,W] (or [B,C,H,W] in step mode 's') -> same shape."""

    def __init__(self, op: Op, channels: int, neuron: NeuronParams = NeuronParams(), step_mode: str = "m"):
        super().__init__()
        kind = OP_KINDS.get(op.kind)
        self.zero = kind.silent
        self.sign = float(op.sign)
        self.neuron = make_neuron(op.neuron, neuron, step_mode) if kind.has_neuron else nn.Identity()
        self.body = load_object(kind.build)(channels, op.kernel, step_mode)

    def unsigned(self, x: torch.Tensor) -> torch.Tensor:
        """body(neuron(x)) without the sign (motifs fold the sign into their sums)."""
        return self.body(self.neuron(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.zero:
            return torch.zeros_like(x)
        y = self.unsigned(x)
        return y if self.sign > 0 else -y
