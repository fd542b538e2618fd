"""Count spikes (NoS) per cell and synaptic operations with forward hooks."""
from __future__ import annotations

import re

import torch
from spikingjelly.activation_based.neuron import BaseNode
from torch import nn

_CELL = re.compile(r"(?:^|\.)cells\.(\d+)\.")


class SpikeMonitor:
    """Context manager: totals of spikes (per cell) and synaptic ops over the forwards it sees.

    Synaptic ops count, for every conv/linear layer, each non-zero input
    element times its fan-out (out_channels * k * k, or out_features): the
    accumulate operations an event-driven chip would perform.
    """

    def __init__(self, model: nn.Module, n_cells: int | None = None):
        self.model = model
        self.n_cells = n_cells if n_cells is not None else len(getattr(model, "cells", []))
        self.reset()
        self._handles: list = []

    def reset(self) -> None:
        self.per_cell = [0.0] * self.n_cells
        self.other = 0.0
        self.sops = 0.0

    def __enter__(self) -> "SpikeMonitor":
        for name, mod in self.model.named_modules():
            if isinstance(mod, BaseNode):
                m = _CELL.search(name + ".")
                self._handles.append(mod.register_forward_hook(self._spike_hook(int(m.group(1)) if m else None)))
            elif isinstance(mod, nn.Conv2d):
                fan = mod.out_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
                self._handles.append(mod.register_forward_hook(self._sop_hook(fan)))
            elif isinstance(mod, nn.Linear):
                self._handles.append(mod.register_forward_hook(self._sop_hook(mod.out_features)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _spike_hook(self, cell: int | None):
        def hook(_mod, _inp, out):
            n = float(out.detach().sum())
            if cell is None or cell >= self.n_cells:
                self.other += n
            else:
                self.per_cell[cell] += n
        return hook

    def _sop_hook(self, fan_out: int):
        def hook(_mod, inp, _out):
            self.sops += float(torch.count_nonzero(inp[0].detach())) * fan_out
        return hook

    @property
    def total(self) -> float:
        return sum(self.per_cell) + self.other

    def summary(self, n_samples: int) -> dict:
        """Per-sample figures: spikes total and per cell, synaptic ops."""
        n = max(1, n_samples)
        return {
            "spikes": self.total / n,
            "spikes_per_cell": [s / n for s in self.per_cell],
            "sops": self.sops / n,
        }
