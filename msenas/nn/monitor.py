"""Count spikes (NoS) per cell and synaptic operations with forward hooks.

The hooks add into float64 tensors on the model's device, so a forward on a
GPU is never stopped for a host sync; the totals are read (one sync) when a
property or summary() asks for them.
"""
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
        self._sums: dict[str, torch.Tensor] = {}   # "cell i" | "other" | "sops" -> float64 scalar on the device

    def _add(self, key: str, value: torch.Tensor) -> None:
        acc = self._sums.get(key)
        if acc is None:
            self._sums[key] = value.detach().to(torch.float64, copy=True)
        else:
            acc.add_(value.detach())

    def _get(self, key: str) -> float:
        acc = self._sums.get(key)
        return 0.0 if acc is None else float(acc)

    @property
    def per_cell(self) -> list[float]:
        """Spikes seen in each cell's neurons."""
        return [self._get(f"cell {i}") for i in range(self.n_cells)]

    @property
    def other(self) -> float:
        """Spikes seen in neurons outside the cells (the head)."""
        return self._get("other")

    @property
    def sops(self) -> float:
        """Synaptic operations seen."""
        return self._get("sops")

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
        key = "other" if cell is None or cell >= self.n_cells else f"cell {cell}"

        def hook(_mod, _inp, out):
            self._add(key, out.detach().sum())                   # float32 sum, as float(out.sum()) was
        return hook

    def _sop_hook(self, fan_out: int):
        def hook(_mod, inp, _out):
            self._add("sops", torch.count_nonzero(inp[0].detach()) * fan_out)
        return hook

    @property
    def total(self) -> float:
        """Spikes seen in all neurons."""
        return sum(self.per_cell) + self.other

    def summary(self, n_samples: int) -> dict:
        """Per-sample figures: spikes total and per cell, synaptic ops."""
        n = max(1, n_samples)
        per_cell, other = self.per_cell, self.other
        return {
            "spikes": (sum(per_cell) + other) / n,
            "spikes_per_cell": [s / n for s in per_cell],
            "sops": self.sops / n,
        }
