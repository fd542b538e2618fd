"""Count spikes (NoS) per cell, synaptic operations and multiply-accumulates with forward hooks.

The hooks add into float64 tensors on the model's device, so a forward on a
GPU is never stopped for a host sync; the totals are read (one sync) when a
property or summary() asks for them.
"""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from spikingjelly.activation_based.neuron import BaseNode
from torch import nn

from msenas.energy import EnergyConfig

_CELL = re.compile(r"(?:^|\.)cells\.(\d+)\.")


class SpikeMonitor:
    """Context manager: totals of spikes (per cell), synaptic ops and MACs over the forwards it sees.

    Every conv/linear layer is counted by what its input is. Spikes or event
    counts (non-negative integers): synaptic operations (SOPs), one accumulate
    per input event and weight it reaches, exactly (a spike at a padded border
    reaches fewer outputs), as spikingjelly's op_counter.SynOpCounter counts
    them. Anything else (a static image into the encoding layer, the head's
    mean-pooled rates): dense multiply-accumulates (MACs), every output times
    its fan-in. Which of the two a layer's input is gets decided once, on the
    first input that is not all zeros (a layer's input kind does not change
    from batch to batch). Energy per sample: E_MAC x MACs + E_AC x SOPs
    (msenas.energy).
    """

    def __init__(self, model: nn.Module, n_cells: int | None = None):
        self.model = model
        self.n_cells = n_cells if n_cells is not None else len(getattr(model, "cells", []))
        self.reset()
        self._handles: list = []

    def reset(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}   # "cell i" | "other" | "sops" -> float64 on the device
        self._neurons: dict[str, int] = {}         # "cell i" | "other" -> neuron outputs seen (neurons x steps)
        self._macs = 0                             # MACs of layers fed by non-spikes (a host int)

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
        """Synaptic operations seen (layers fed by spikes or event counts)."""
        return self._get("sops")

    @property
    def macs(self) -> float:
        """Multiply-accumulates seen (layers fed by anything else: the encoding layer on a static image)."""
        return float(self._macs)

    @property
    def firing_rate_per_cell(self) -> list[float]:
        """Spikes per neuron and time step in each cell's neurons."""
        return [self._get(f"cell {i}") / max(1, self._neurons.get(f"cell {i}", 0)) for i in range(self.n_cells)]

    def __enter__(self) -> "SpikeMonitor":
        for name, mod in self.model.named_modules():
            if isinstance(mod, BaseNode):
                m = _CELL.search(name + ".")
                self._handles.append(mod.register_forward_hook(self._spike_hook(int(m.group(1)) if m else None)))
            elif isinstance(mod, (nn.Conv2d, nn.Linear)):
                self._handles.append(mod.register_forward_hook(self._synapse_hook()))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _spike_hook(self, cell: int | None):
        key = "other" if cell is None or cell >= self.n_cells else f"cell {cell}"

        def hook(_mod, _inp, out):
            self._add(key, out.detach().sum())                   # float32 sum, as float(out.sum()) was
            self._neurons[key] = self._neurons.get(key, 0) + out.numel()       # a host int: no device work
        return hook

    def _synapse_hook(self):
        uses: dict[tuple, torch.Tensor] = {}    # (H, W, Ho, Wo) -> outputs each input position reaches
        kind: list[bool] = []                   # [events?]: decided on the first input that is not all zeros

        def hook(mod, inp, out):
            x, out = inp[0].detach(), out.detach()
            if not kind:                        # one host sync per layer and monitor, not per batch
                events, silent = (bool(v) for v in (torch.logical_and(x >= 0, x == torch.round(x)).all(),
                                                    torch.count_nonzero(x) == 0))
                if silent:
                    return                      # no input, no operations; decide on a later batch
                kind.append(events)
            if isinstance(mod, nn.Linear):
                sops = x.sum(dtype=torch.float64) * mod.out_features
                macs = out.numel() * mod.in_features
            else:
                shape = (*x.shape[-2:], *out.shape[-2:])
                if shape not in uses:
                    uses[shape] = _reach(mod, shape, x.device)
                # events per input position: float32 sums of integers are exact below 2**24 per position
                per_pixel = x.sum(dim=tuple(range(x.dim() - 2)), dtype=torch.float32).double()   # [H, W]
                sops = (per_pixel * uses[shape]).sum() * (mod.out_channels // mod.groups)
                macs = out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
            if kind[0]:
                self._add("sops", sops)
            else:
                self._macs += macs                  # known on the host: no device work
        return hook

    @property
    def total(self) -> float:
        """Spikes seen in all neurons."""
        return sum(self.per_cell) + self.other

    def summary(self, n_samples: int, energy: EnergyConfig | None = None) -> dict:
        """Per-sample figures: spikes total and per cell, firing rate per cell, SOPs, MACs and energy (pJ)."""
        n = max(1, n_samples)
        per_cell, other = self.per_cell, self.other
        sops, macs = self.sops / n, self.macs / n
        return {
            "spikes": (sum(per_cell) + other) / n,
            "spikes_per_cell": [s / n for s in per_cell],
            "firing_rate_per_cell": self.firing_rate_per_cell,
            "sops": sops,
            "macs": macs,
            "energy_pj": (energy or EnergyConfig()).spiking_pj(macs, sops),
        }


def _reach(conv: nn.Conv2d, shape: tuple[int, int, int, int], device: torch.device) -> torch.Tensor:
    """[H, W] float64: how many output positions each input position of `conv` feeds (fewer near padded borders)."""
    h, w, ho, wo = shape
    kernel = torch.ones(1, 1, *conv.kernel_size, dtype=torch.float64, device=device)
    r = F.conv_transpose2d(torch.ones(1, 1, ho, wo, dtype=torch.float64, device=device), kernel,
                           stride=conv.stride, padding=conv.padding, dilation=conv.dilation)[0, 0]
    return F.pad(r, (0, w - r.shape[1], 0, h - r.shape[0]))
