"""Spiking op registry: neuron -> body (conv / pool / identity / zero) -> sign.

Sign (a design choice, see docs/genome.md): an excitatory edge delivers the
body's output y, an inhibitory edge -y. The clamp of the MSE-NAS code
(+relu(y) / -relu(y)) left the last cell silent in 23 of 30 random genomes
of the `fixed` space (9 of 30 with +-y), so we keep the plain sign.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from spikingjelly.activation_based import layer
from torch import nn

from msenas.genome.types import Op
from msenas.nn.batchnorm import BatchNorm2d
from msenas.nn.neurons import NeuronParams, make_neuron, neuron_params
from msenas.registry import Registry


@dataclass(frozen=True)
class OpKind:
    """How to build an op body, and its cost without building it."""

    build: Callable[[int, int, str], nn.Module]   # (channels, kernel, step_mode) -> body
    params: Callable[[int, int], int]              # (channels, kernel) -> trainable parameters
    macs: Callable[[int, int, int], int]           # (channels, kernel, H*W) -> MACs per time step
    has_neuron: bool = True


OP_KINDS: Registry = Registry("op kind")
OP_KINDS.register("conv")(OpKind(
    build=lambda c, k, sm: nn.Sequential(
        layer.Conv2d(c, c, k, padding=k // 2, bias=False, step_mode=sm), BatchNorm2d(c, step_mode=sm)),
    params=lambda c, k: c * c * k * k + 2 * c,
    macs=lambda c, k, hw: c * c * k * k * hw,
))
OP_KINDS.register("avgpool")(OpKind(
    build=lambda c, k, sm: layer.AvgPool2d(k, 1, k // 2, count_include_pad=False, step_mode=sm),
    params=lambda c, k: 0, macs=lambda c, k, hw: 0,
))
OP_KINDS.register("maxpool")(OpKind(
    build=lambda c, k, sm: layer.MaxPool2d(k, 1, k // 2, step_mode=sm),
    params=lambda c, k: 0, macs=lambda c, k, hw: 0,
))
OP_KINDS.register("identity")(OpKind(
    build=lambda c, k, sm: nn.Identity(), params=lambda c, k: 0, macs=lambda c, k, hw: 0, has_neuron=False,
))
OP_KINDS.register("zero")(OpKind(
    build=lambda c, k, sm: nn.Identity(), params=lambda c, k: 0, macs=lambda c, k, hw: 0, has_neuron=False,
))


class SpikingOp(nn.Module):
    """One motif edge: [T,B,C,H,W] (or [B,C,H,W] in step mode 's') -> same shape."""

    def __init__(self, op: Op, channels: int, neuron: NeuronParams = NeuronParams(), step_mode: str = "m"):
        super().__init__()
        kind = OP_KINDS.get(op.kind)
        self.zero = op.kind == "zero"
        self.sign = float(op.sign)
        self.neuron = make_neuron(op.neuron, neuron, step_mode) if kind.has_neuron else nn.Identity()
        self.body = kind.build(channels, op.kernel, step_mode)

    def unsigned(self, x: torch.Tensor) -> torch.Tensor:
        """body(neuron(x)) without the sign (motifs fold the sign into their sums)."""
        return self.body(self.neuron(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.zero:
            return torch.zeros_like(x)
        y = self.unsigned(x)
        return y if self.sign > 0 else -y


def op_params(op: Op, channels: int) -> int:
    """Parameters of one op at `channels` channels, without building it."""
    kind = OP_KINDS.get(op.kind)
    return kind.params(channels, op.kernel) + (neuron_params(op.neuron) if kind.has_neuron else 0)


def op_macs(op: Op, channels: int, hw: int) -> int:
    """Dense multiply-accumulates of one op per sample and time step."""
    return OP_KINDS.get(op.kind).macs(channels, op.kernel, hw)
