"""Count spikes (NoS) per cell, synaptic operations and multiply-accumulates with forward hooks.

The hooks add into float64 tensors on the model's device, so a forward on a
GPU is never stopped for a host sync; the totals are read (one sync) when a
property or summary() asks for them. Each map of spikes is read once: the
neuron hook sums it per pixel (its total comes from those sums), and a conv
fed directly by that neuron output reuses the sums for its synaptic
operations instead of reading the spikes again.
"""
from __future__ import annotations

import re
import weakref

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
        self._pixels: dict[int, tuple] = {}        # id(neuron output) -> (weakref, version, [H, W] spike sums)

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
            if out.dim() >= 4:                                   # maps [..., C, H, W]: per pixel, then the total
                per_pixel = pixel_sums(out.detach())
                self._add(key, per_pixel.sum())
                self._remember(out, per_pixel)
            else:
                self._add(key, out.detach().sum())               # float32 sum, as float(out.sum()) was
            self._neurons[key] = self._neurons.get(key, 0) + out.numel()       # a host int: no device work
        return hook

    def _remember(self, out: torch.Tensor, per_pixel: torch.Tensor) -> None:
        """Keep a neuron output's per-pixel sums while the output lives (a conv fed by it reuses them)."""
        version = _version(out)
        if version is None:
            return
        k, pixels = id(out), self._pixels
        pixels[k] = (weakref.ref(out, lambda _r: pixels.pop(k, None)), version, per_pixel)

    def _recalled(self, x: torch.Tensor) -> torch.Tensor | None:
        """The per-pixel sums of x if x is a neuron output seen by this monitor and unchanged since."""
        entry = self._pixels.get(id(x))
        if entry is None or entry[0]() is not x or entry[1] != _version(x):
            return None
        return entry[2]

    def _synapse_hook(self):
        uses: dict[tuple, torch.Tensor] = {}    # (H, W, Ho, Wo) -> outputs each input position reaches
        kind: list[bool] = []                   # [events?]: decided on the first input that is not all zeros

        def hook(mod, inp, out):
            per_pixel = None if isinstance(mod, nn.Linear) else self._recalled(inp[0])
            x, out = inp[0].detach(), out.detach()
            if not kind:
                if per_pixel is not None:       # a neuron's spikes: events
                    kind.append(True)
                else:                           # one host sync per layer and monitor, not per batch
                    flat = _flat(x)
                    events, silent = (bool(v) for v in (torch.logical_and(flat >= 0, flat == torch.round(flat)).all(),
                                                        torch.count_nonzero(flat) == 0))
                    if silent:
                        return                  # no input, no operations; decide on a later batch
                    kind.append(events)
            if isinstance(mod, nn.Linear):
                sops = x.sum(dtype=torch.float64) * mod.out_features
                macs = out.numel() * mod.in_features
            else:
                shape = (*x.shape[-2:], *out.shape[-2:])
                if shape not in uses:
                    uses[shape] = _reach(mod, shape, x.device)
                if per_pixel is None and kind[0]:
                    per_pixel = pixel_sums(x)
                sops = (per_pixel.double() * uses[shape]).sum() * (mod.out_channels // mod.groups) if kind[0] else 0
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


def pixel_sums(x: torch.Tensor) -> torch.Tensor:
    """[..., C, H, W] -> [H, W] float32 sums over every other dim (exact for integer counts below 2**24 per
    pixel), read in memory order: channels first for channels-last maps, then the leading dims."""
    if x.dim() >= 3 and x.stride(-3) == 1 and x.size(-3) > 1:
        x = x.movedim(-3, -1).sum(-1, dtype=torch.float32)
        return x.sum(dim=tuple(range(x.dim() - 2))) if x.dim() > 2 else x
    return x.sum(dim=tuple(range(x.dim() - 2)), dtype=torch.float32)


def _flat(x: torch.Tensor) -> torch.Tensor:
    """x as one dim, a view in memory order when x is dense (elementwise checks then run contiguously)."""
    y = x.permute(sorted(range(x.dim()), key=lambda d: -x.stride(d)))
    return y.view(-1) if y.is_contiguous() else x.reshape(-1)


def _version(x: torch.Tensor) -> int | None:
    try:
        return x._version
    except RuntimeError:                # inference tensors have no version counter: not remembered
        return None


def _reach(conv: nn.Conv2d, shape: tuple[int, int, int, int], device: torch.device) -> torch.Tensor:
    """[H, W] float64: how many output positions each input position of `conv` feeds (fewer near padded borders)."""
    h, w, ho, wo = shape
    kernel = torch.ones(1, 1, *conv.kernel_size, dtype=torch.float64, device=device)
    r = F.conv_transpose2d(torch.ones(1, 1, ho, wo, dtype=torch.float64, device=device), kernel,
                           stride=conv.stride, padding=conv.padding, dilation=conv.dilation)[0, 0]
    return F.pad(r, (0, w - r.shape[1], 0, h - r.shape[0]))
