"""Run a NIR graph of msenas (nir_graph.py) with nirtorch: the node map a reader supplies, and a T-step loop.

nirtorch 2.6 maps only Affine, AvgPool2d, Conv1d/2d, Flatten, Linear and SumPool2d
by default, and of those its Affine drops the bias, its Flatten counts dimensions
with the batch and its SumPool2d ignores padding; neurons it leaves to the
simulator. node_map() maps every primitive our graphs use, unbatched NIR shapes
with a leading batch dimension, each neuron by forward Euler at DT:

    v <- v + DT / tau * (v_leak - v + R * I)     (LIF)      v <- v + DT * R * I     (IF)
    z = v > v_threshold;  v <- v_reset where z

which, with the exported parameters, is spikingjelly's update (decay_input,
hard reset). nirtorch runs one time step per call and carries the state; a
cycle's closing edge delivers its source's output of the previous step
(zero at the first), so the delay-1 feedback edges come out one step late as
in msenas.
"""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Callable

import nir
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from msenas.export.nir_builder import DT


def _buffer(module: nn.Module, **arrays: np.ndarray) -> None:
    for name, a in arrays.items():
        module.register_buffer(name, torch.as_tensor(np.asarray(a, dtype=np.float64)))


class LIF(nn.Module):
    """NIR LIF by forward Euler: (x [B,...], v or None) -> (spikes, v)."""

    def __init__(self, node: nir.LIF, dt: float = DT):
        super().__init__()
        self.dt = dt
        _buffer(self, tau=node.tau, r=node.r, v_leak=node.v_leak, v_threshold=node.v_threshold, v_reset=node.v_reset)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        v = torch.zeros_like(x) if state is None else state
        v = v + self.dt / self.tau * (self.v_leak - v + self.r * x)
        z = v > self.v_threshold
        return z.to(x.dtype), torch.where(z, self.v_reset, v)


class IF(nn.Module):
    """NIR IF by forward Euler: (x [B,...], v or None) -> (spikes, v)."""

    def __init__(self, node: nir.IF, dt: float = DT):
        super().__init__()
        self.dt = dt
        _buffer(self, r=node.r, v_threshold=node.v_threshold, v_reset=node.v_reset)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        v = torch.zeros_like(x) if state is None else state
        v = v + self.dt * self.r * x
        z = v > self.v_threshold
        return z.to(x.dtype), torch.where(z, self.v_reset, v)


class Elementwise(nn.Module):
    """Scale (x * s) or Threshold (x > s) with a per-element array s."""

    def __init__(self, s: np.ndarray, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fn = fn
        _buffer(self, s=s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, self.s)


class Pool(nn.Module):
    """SumPool2d (zero padding) or AvgPool2d (padding counted, as NIR's SumPool2d then Scale)."""

    def __init__(self, node: nir.SumPool2d | nir.AvgPool2d, total: bool):
        super().__init__()
        self.k, self.s, self.p = (tuple(int(v) for v in np.broadcast_to(a, 2)) for a in
                                  (node.kernel_size, node.stride, node.padding))
        self.total = total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        divisor = 1 if self.total else None
        return F.avg_pool2d(x, self.k, self.s, self.p, count_include_pad=True, divisor_override=divisor)


def _conv(node: nir.Conv2d) -> nn.Conv2d:
    w = torch.as_tensor(np.asarray(node.weight))
    conv = nn.Conv2d(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]),
                     stride=tuple(int(v) for v in np.broadcast_to(node.stride, 2)),
                     padding=tuple(int(v) for v in np.broadcast_to(node.padding, 2)),
                     dilation=tuple(int(v) for v in np.broadcast_to(node.dilation, 2)), groups=int(node.groups))
    conv.weight.data, conv.bias.data = w.clone(), torch.as_tensor(np.asarray(node.bias)).clone()
    return conv


def _affine(node: nir.Affine) -> nn.Linear:
    lin = nn.Linear(node.weight.shape[1], node.weight.shape[0])
    lin.weight.data, lin.bias.data = torch.as_tensor(node.weight).clone(), torch.as_tensor(node.bias).clone()
    return lin


def _flatten(node: nir.Flatten) -> nn.Flatten:
    return nn.Flatten(node.start_dim + 1 if node.start_dim >= 0 else node.start_dim,
                      node.end_dim + 1 if node.end_dim >= 0 else node.end_dim)     # NIR shapes have no batch


def node_map(dt: float = DT) -> dict[type, Callable[[nir.NIRNode], nn.Module]]:
    """nirtorch's node_map for the primitives of our graphs, neurons stepped at dt (ms)."""
    return {
        nir.LIF: lambda n: LIF(n, dt), nir.IF: lambda n: IF(n, dt),
        nir.Scale: lambda n: Elementwise(n.scale, torch.mul),
        nir.Threshold: lambda n: Elementwise(n.threshold, lambda x, s: (x > s).to(x.dtype)),
        nir.SumPool2d: lambda n: Pool(n, total=True), nir.AvgPool2d: lambda n: Pool(n, total=False),
        nir.Conv2d: _conv, nir.Affine: _affine, nir.Flatten: _flatten,
    }


def load(graph: nir.NIRGraph | str | os.PathLike, dtype: torch.dtype = torch.float32,
         nodes: dict | None = None) -> nn.Module:
    """A NIR graph (or .nir file) as a nirtorch module (x [B,...], state) -> (output, state); `nodes` overrides
    entries of node_map()."""
    import nirtorch

    if not isinstance(graph, nir.NIRGraph):
        graph = nir.read(graph)
    return nirtorch.nir_to_torch(graph, {**node_map(), **(nodes or {})}, dtype=dtype)


def run(module: nn.Module, x: torch.Tensor, T: int) -> torch.Tensor:
    """Outputs [T,B,...] of T steps from a fresh state; x is [B,...] (the same at every step) or [T,B,...]."""
    state, ys = None, []
    for t in range(T):
        y, state = module(x[t] if x.dim() == 5 else x, state)
        ys.append(y)
    return torch.stack(ys)


# ----------------------------------------------------------------------------- spikes on both sides (round trips)


class Recorder(nn.Module):
    """A nirtorch neuron module that keeps its spikes."""

    def __init__(self, inner: nn.Module, log: list):
        super().__init__()
        self.inner, self.log = inner, log

    def forward(self, x, state=None):
        z, v = self.inner(x, state)
        self.log.append(z)
        return z, v


def graph_spikes(graph: nir.NIRGraph, x: torch.Tensor, T: int,
                 dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits [T,B,K] and every msenas module's spikes [T,B,...] from nirtorch: neuron nodes grouped by the module
    they came from (the per-motif neurons of a concat projection joined along channels, in name order)."""
    names = {id(node): name for name, node in graph.nodes.items()}
    logs: dict[str, list] = {}

    def recording(cls):
        return lambda node: Recorder(cls(node), logs.setdefault(names[id(node)], []))

    module = load(graph, dtype, {nir.LIF: recording(LIF), nir.IF: recording(IF)})
    with torch.no_grad():
        logits = run(module, x, T)
    grouped = defaultdict(list)
    for name in sorted(logs):
        grouped[graph.nodes[name].metadata["msenas"]].append(torch.stack(logs[name]))
    return logits, {p: torch.cat(zs, dim=2) for p, zs in grouped.items()}


def network_spikes(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits [T,B,K] and every neuron module's spikes [steps,B,...] of an msenas network (stepwise motifs call
    theirs once a step), the other side of graph_spikes."""
    from msenas.nn.neurons import FusedNode

    calls = defaultdict(list)
    hooks = [m.register_forward_hook(lambda mod, inp, out, p=path: calls[p].append(out))
             for path, m in net.named_modules() if isinstance(m, FusedNode)]
    with torch.no_grad():
        logits = net(x)
    for h in hooks:
        h.remove()
    return logits, {p: c[0] if len(c) == 1 and c[0].dim() == x.dim() + 1 else torch.stack(c) for p, c in calls.items()}
