"""The pieces of a NIR graph export: sums of node outputs, the graph builder, folded convolutions.

The conventions are in nir_graph.py and docs/nir.md.
"""
from __future__ import annotations

import nir
import numpy as np
import torch
from torch import nn

from msenas.errors import MsenasError

DT = 1.0   # ms per time step: every tau is in ms, R in 1/ms for IF

Value = dict[str, float]   # a sum of node outputs: node name -> coefficient (never 0)


class NIRExportError(MsenasError, ValueError):
    """A network with a part NIR cannot express; the message names the part."""


def add(*values: Value) -> Value:
    """The sum of several sums of node outputs."""
    out: Value = {}
    for v in values:
        for name, c in v.items():
            out[name] = out.get(name, 0.0) + c
    return {name: c for name, c in out.items() if c != 0.0}


def threshold(v_threshold: float, dtype: type = np.float32) -> float:
    """NIR's threshold for spikingjelly's: the number of `dtype` just below it, so that in that precision NIR's
    v > threshold fires exactly when spikingjelly's v >= v_threshold does (at v == v_threshold too)."""
    return float(np.nextafter(dtype(v_threshold), dtype(-np.inf)))


class GraphBuilder:
    """Nodes in creation order (a topological order of the delay-0 edges), their shapes, and the edges."""

    def __init__(self, dtype: type = np.float32):
        self.dtype = dtype
        self.nodes: dict[str, nir.NIRNode] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.position: dict[str, int] = {}
        self.edges: list[tuple[str, str]] = []
        self._scaled: dict[tuple[str, float], str] = {}

    def full(self, value: float | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """An array of `shape` in the export dtype (NIR neuron parameters are per neuron)."""
        return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).astype(self.dtype)

    def tensor(self, t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().double().contiguous().numpy().astype(self.dtype)

    def add(self, label: str, node: nir.NIRNode, inputs: Value, shape: tuple[int, ...], source: str = "") -> str:
        """Add a node fed by the sum `inputs`; its name (Scale nodes for coefficients come first)."""
        sources = [self.term(name, c) for name, c in inputs.items()]
        name, i = label, 1
        while name in self.nodes:
            name, i = f"{label}_{i}", i + 1
        if source:
            node.metadata = {"msenas": source}
        self.nodes[name], self.shapes[name] = node, tuple(int(d) for d in shape)
        self.position[name] = len(self.position)
        self.edges += [(s, name) for s in sources]
        return name

    def term(self, name: str, c: float) -> str:
        """`name` itself, or a shared Scale(c) node reading it."""
        if c == 1.0:
            return name
        if (name, c) not in self._scaled:
            shape = self.shapes[name]
            self._scaled[name, c] = self.add(f"{name}_neg" if c == -1.0 else f"{name}_scaled",
                                             nir.Scale(self.full(c, shape)), {name: 1.0}, shape)
        return self._scaled[name, c]

    def reaches(self, src: str, dst: str) -> bool:
        """Whether a path of edges leads from src to dst."""
        seen, todo = set(), [src]
        while todo:
            n = todo.pop()
            if n == dst:
                return True
            if n not in seen:
                seen.add(n)
                todo += [b for a, b in self.edges if a == n]
        return False

    def graph(self, metadata: dict) -> nir.NIRGraph:
        """The NIRGraph; names get a zero-padded creation index, so their sorted order is the creation order."""
        width = len(str(len(self.nodes)))
        new = {n: n if isinstance(node, (nir.Input, nir.Output)) else f"n{i:0{width}d}_{n}"
               for i, (n, node) in enumerate(self.nodes.items())}
        return nir.NIRGraph(nodes={new[n]: node for n, node in self.nodes.items()},
                            edges=[(new[a], new[b]) for a, b in self.edges], metadata=metadata)


def conv_node(b: GraphBuilder, conv: nn.Conv2d, bn: nn.BatchNorm2d | None, sign: float,
              in_hw: tuple[int, int], channels: slice = slice(None), with_bias: bool = True) -> nir.Conv2d:
    """Conv2d with the eval-mode BatchNorm and the sign folded in (weight[:, channels] only, for split convs)."""
    w = conv.weight.detach().double()[:, channels]
    bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        gamma = bn.weight.detach().double() if bn.weight is not None else 1.0
        beta = bn.bias.detach().double() if bn.bias is not None else 0.0
        scale = gamma / torch.sqrt(bn.running_var.double() + bn.eps)
        w, bias = w * scale[:, None, None, None], bias * scale + beta - bn.running_mean.double() * scale
    bias = bias if with_bias else torch.zeros_like(bias)
    return nir.Conv2d(input_shape=tuple(int(d) for d in in_hw), weight=b.tensor(sign * w),
                      stride=np.array(conv.stride), padding=np.array(conv.padding),
                      dilation=np.array(conv.dilation), groups=conv.groups, bias=b.tensor(sign * bias))
