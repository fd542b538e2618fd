"""The parts of a network as NIR nodes: neurons, op bodies, motifs, cells and the head.

Each function reads a sum of node outputs (a Value), adds its nodes to the
GraphBuilder and returns the sum it outputs; the conventions are in nir_graph.py.
The mapping of a neuron or an op body is named on its registry entry
(msenas.genome.parts NEURONS and OP_KINDS, field `nir`), so a new part without a
mapping is refused by name instead of exported wrong.
"""
from __future__ import annotations

import math

import nir
import numpy as np
import torch
from torch import nn

from msenas.export.nir_builder import DT, GraphBuilder, NIRExportError, Value, add, conv_node, threshold
from msenas.genome.parts import NEURONS, OP_KINDS, load_object
from msenas.genome.types import Edge
from msenas.nn.cost import StateShape
from msenas.nn.network import CellModule, MotifModule, Network, Preprocess
from msenas.nn.ops import SpikingOp

Shape = tuple[int, ...]


def dims(s: StateShape) -> tuple[int, int, int]:
    """(C, H, W) of a state."""
    return s.channels, s.h, s.w


# ----------------------------------------------------------------------------- neurons


def _v_threshold(b: GraphBuilder, m: nn.Module, shape: Shape) -> np.ndarray:
    return b.full(threshold(m.v_threshold, b.dtype), shape)


def _lif(b: GraphBuilder, m: nn.Module, shape: Shape, tau_steps: float) -> nir.LIF:
    v_reset = float(m.v_reset)      # spikingjelly leaks towards v_reset: v += (x - (v - v_reset)) / tau
    return nir.LIF(tau=b.full(tau_steps * DT, shape), r=b.full(1.0, shape), v_leak=b.full(v_reset, shape),
                   v_threshold=_v_threshold(b, m, shape), v_reset=b.full(v_reset, shape))


def _plif_tau(m: nn.Module) -> float:
    return 1.0 / torch.sigmoid(m.w.detach().double()).item()      # spikingjelly: v += (x - v) * sigmoid(w)


def nir_lif(b: GraphBuilder, m: nn.Module, shape: Shape) -> nir.LIF:
    """NEURONS["lif"]: spikingjelly's LIF as nir.LIF."""
    return _lif(b, m, shape, float(m.tau))


def nir_plif(b: GraphBuilder, m: nn.Module, shape: Shape) -> nir.LIF:
    """NEURONS["plif"]: a PLIF neuron as nir.LIF at its learnt tau."""
    return _lif(b, m, shape, _plif_tau(m))


def nir_if(b: GraphBuilder, m: nn.Module, shape: Shape) -> nir.IF:
    """NEURONS["if"]: an IF neuron as nir.IF."""
    return nir.IF(r=b.full(1.0 / DT, shape), v_threshold=_v_threshold(b, m, shape),
                  v_reset=b.full(float(m.v_reset), shape))


def _mapping(registry, name: str, what: str, where: str):
    """The NIR mapping a registry entry names (its `nir` field); NIRExportError when there is none."""
    entry = registry.get(name) if name in registry else None
    if entry is None or entry.nir is None:
        mapped = ", ".join(n for n, e in registry.items() if e.nir)
        raise NIRExportError(f"{where}: {what} {name!r} has no NIR mapping (mapped: {mapped})")
    return load_object(entry.nir)


def neuron(b: GraphBuilder, module: nn.Module, x: Value, shape: Shape, label: str, source: str, where: str) -> Value:
    """A spiking neuron node reading the sum x."""
    kind = getattr(module, "kind", type(module).__name__)
    node = _mapping(NEURONS, kind, "neuron", where)
    if module.v_reset is None or not getattr(module, "decay_input", True):
        raise NIRExportError(f"{where}: a neuron with soft reset or decay_input=False has no NIR mapping here")
    if not x:
        raise NIRExportError(f"{where}: its neuron reads a map that is always zero (only zero ops feed it)")
    return {b.add(f"{label}_{kind}", node(b, module, shape), x, shape, source): 1.0}


# ----------------------------------------------------------------------------- op bodies


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _window_counts(n: int, k: int, s: int, p: int) -> np.ndarray:
    """Cells of an axis of length n inside each pooling window (kernel k, stride s, padding p)."""
    starts = np.arange((n + 2 * p - k) // s + 1) * s - p
    return np.minimum(starts + k, n) - np.maximum(starts, 0)


def _sum_pool(b: GraphBuilder, body: nn.Module, x: Value, shape: Shape, label: str, source: str) -> str:
    k, s, p = (np.array(_pair(v)) for v in (body.kernel_size, body.stride, body.padding))
    return b.add(f"{label}_sumpool", nir.SumPool2d(kernel_size=k, stride=s, padding=p), x, shape, source)


def nir_conv(b, body, sign, x, shape, label, source) -> Value:
    """OP_KINDS["conv"]: conv + BatchNorm folded into one NIR conv (times the sign)."""
    conv, bn = body
    return {b.add(f"{label}_conv", conv_node(b, conv, bn, sign, shape[1:]), x, shape, source): 1.0}


def nir_avgpool(b, body, sign, x, shape, label, source) -> Value:
    """OP_KINDS["avgpool"]: nir.AvgPool2d, scaled at the borders when padding is not counted."""
    # AvgPool2d (padding counted, sum / k^2), then Scale(k^2 / cells in the window): exact factors (1, 1.5, 2.25
    # for 3x3), so a reader that divides by k^2, as torch does, rounds like spikingjelly's sum / cells except,
    # in float32, 5/6 at a border (docs/nir.md); a reciprocal Scale(1 / cells) rounds apart more often
    (kh, kw), (sh, sw), (ph, pw) = (_pair(v) for v in (body.kernel_size, body.stride, body.padding))
    pool = nir.AvgPool2d(kernel_size=np.array([kh, kw]), stride=np.array([sh, sw]), padding=np.array([ph, pw]))
    mean = b.add(f"{label}_avgpool", pool, x, shape, source)
    if body.count_include_pad:
        return {mean: sign}
    cells = np.outer(_window_counts(shape[1], kh, sh, ph), _window_counts(shape[2], kw, sw, pw))
    return {b.add(f"{label}_border", nir.Scale(b.full(sign * kh * kw / cells, shape)), {mean: 1.0}, shape, source): 1.0}


def nir_maxpool(b, body, sign, x, shape, label, source) -> Value:
    """OP_KINDS["maxpool"] on spikes: a sum pool and a threshold at 0.5."""
    total = _sum_pool(b, body, x, shape, label, source)       # of spikes: the max is 1 iff the sum is > 0.5
    return {b.add(f"{label}_any", nir.Threshold(b.full(0.5, shape)), {total: 1.0}, shape, source): sign}


def nir_identity(b, body, sign, x, shape, label, source) -> Value:
    """OP_KINDS["identity"]: the sum itself, times the sign."""
    return {name: c * sign for name, c in x.items()}


def op_value(b: GraphBuilder, e: Edge, op: SpikingOp, x: Value, shape: Shape, label: str, source: str,
             where: str) -> Value:
    """One motif edge: neuron -> body -> sign (the sign folded into the body where it can be)."""
    if op.zero:
        return {}
    body = _mapping(OP_KINDS, e.op.kind, "op kind", where)
    if not isinstance(op.neuron, nn.Identity):
        x = neuron(b, op.neuron, x, shape, label, f"{source}.neuron", where)
    elif OP_KINDS.get(e.op.kind).nir_spikes_only:
        raise NIRExportError(f"{where}: {e.op.kind} without a neuron has no NIR mapping (mapped on spikes only)")
    return body(b, op.body, op.sign, x, shape, label, f"{source}.body")


# ----------------------------------------------------------------------------- motifs, cells, head


def motif_value(b: GraphBuilder, mod: MotifModule, inputs: list[Value], shape: Shape, label: str, source: str,
                where: str) -> Value:
    """A motif's output sum; every node fed back to gets a Scale(1) junction that its feedback edges close."""
    m = mod.motif
    nodes = list(inputs) + [{} for _ in range(m.n_nodes)]
    edges = list(enumerate(zip(m.edges, mod.ops)))
    fed_back = {e.dst for _, (e, op) in edges if e.delay == 1 and not op.zero}
    junctions: dict[int, str] = {}

    def value(k: int, e: Edge, op: SpikingOp) -> Value:
        return op_value(b, e, op, nodes[e.src], shape, f"{label}_e{k}", f"{source}.ops.{k}",
                        f"{where}.edges[{k}] ({e.op.name})")

    for n in range(m.n_inputs, m.n_inputs + m.n_nodes):          # index order is a topological order
        acc = add(*(value(k, e, op) for k, (e, op) in edges if e.dst == n and e.delay == 0))
        if n in fed_back:
            if not acc:
                raise NIRExportError(f"{where} node {n}: only its feedback edge feeds it; a NIR executor would "
                                     f"have no input to start the cycle from")
            junctions[n] = b.add(f"{label}_node{n}", nir.Scale(b.full(1.0, shape)), acc, shape, f"{source} node {n}")
            acc = {junctions[n]: 1.0}
        nodes[n] = acc
    for k, (e, op) in edges:
        if e.delay == 1 and not op.zero:
            _close_cycle(b, k, e, value(k, e, op), junctions[e.dst], shape, label, source, where)
    return add(*(nodes[s] for s in m.sinks()))


def _close_cycle(b: GraphBuilder, k: int, e: Edge, y: Value, junction: str, shape: Shape, label: str, source: str,
                 where: str) -> None:
    """Feed y (the delay-1 edge's output) into the junction through one node made after it, on a cycle with it."""
    if not y:
        return
    last = b.term(*next(iter(y.items()))) if len(y) == 1 else None
    if last is None or b.position[last] < b.position[junction]:
        last = b.add(f"{label}_e{k}_fed_back", nir.Scale(b.full(1.0, shape)), y, shape, f"{source}.ops.{k}")
    b.edges.append((last, junction))
    if not b.reaches(junction, last):
        raise NIRExportError(f"{where}.edges[{k}] ({e.op.name}): the delay-1 edge from node {e.src} to node {e.dst} "
                             f"closes no cycle; NIR executors delay only an edge that closes a cycle")


def _uniform_windows(n_in: int, n_out: int) -> tuple[int, int] | None:
    """(kernel, stride) when adaptive average pooling n_in -> n_out uses equal, equally spaced windows."""
    starts = [i * n_in // n_out for i in range(n_out)]
    sizes = {math.ceil((i + 1) * n_in / n_out) - s for i, s in enumerate(starts)}
    strides = {b - a for a, b in zip(starts, starts[1:])} or {n_in}
    return (sizes.pop(), strides.pop()) if len(sizes) == 1 and len(strides) == 1 else None


def preprocess_value(b: GraphBuilder, pre: Preprocess, x: Value, src: StateShape, dst: StateShape, label: str,
                     source: str, where: str) -> Value:
    """LIF -> average pooling to the cell's resolution (when it differs) -> conv1x1 with BatchNorm."""
    s = neuron(b, pre.neuron, x, dims(src), label, f"{source}.neuron", where)
    shape = dims(src)
    if (src.h, src.w) != pre.size:
        wh, ww = _uniform_windows(src.h, dst.h), _uniform_windows(src.w, dst.w)
        if wh is None or ww is None:
            raise NIRExportError(f"{where}: adaptive pooling {src.h}x{src.w} -> {dst.h}x{dst.w} has unequal windows, "
                                 f"which NIR's AvgPool2d cannot express")
        shape = (src.channels, dst.h, dst.w)
        pool = nir.AvgPool2d(kernel_size=np.array([wh[0], ww[0]]), stride=np.array([wh[1], ww[1]]),
                             padding=np.array([0, 0]))
        s = {b.add(f"{label}_pool", pool, s, shape, f"{source} pool"): 1.0}
    return {b.add(f"{label}_conv", conv_node(b, pre.conv, pre.bn, 1.0, shape[1:]), s, dims(dst), f"{source}.conv"): 1.0}


def cell_value(b: GraphBuilder, mod: CellModule, states: list[Value], srcs: list[StateShape], out: StateShape,
               i: int) -> Value:
    """A cell's output sum from the sums of the states it reads (CellModule.forward, node by node)."""
    where, label, source = f"cells[{i}]", f"c{i}", f"cells.{i}"
    if not isinstance(mod.attention, nn.Identity):
        raise NIRExportError(f"{where}: attention {type(mod.attention).__name__} has no NIR mapping")
    xs = [preprocess_value(b, p, x, src, out, f"{label}_pre{j}", f"{source}.pre.{j}", f"{where} input {j}")
          if isinstance(p, Preprocess) else x for j, (p, x, src) in enumerate(zip(mod.pre, states, srcs))]
    total = add(*xs)
    older = add(*xs[:-1]) if len(xs) > 1 else xs[-1]
    outs = [motif_value(b, m, [total] if m.motif.n_inputs == 1 else [older, xs[-1]], dims(out), f"{label}_m{j}",
                        f"{source}.motifs.{j}", f"{where}.motifs[{j}]") for j, m in enumerate(mod.motifs)]
    return _concat(b, mod.project, outs, dims(out), label, source, where) if mod.concat else add(*outs)


def _concat(b: GraphBuilder, project: nn.Sequential, outs: list[Value], shape: Shape, label: str, source: str,
            where: str) -> Value:
    """LIF -> conv1x1 -> BN on the concatenated motif outputs, as a sum over motifs of LIF -> conv on its slice."""
    lif, conv, bn = project
    C = shape[0]
    terms = []
    for j, y in enumerate(outs):
        s = neuron(b, lif, y, shape, f"{label}_cat{j}", f"{source}.project.0", f"{where}.motifs[{j}] (concat)")
        node = conv_node(b, conv, bn, 1.0, shape[1:], slice(j * C, (j + 1) * C), with_bias=j == 0)
        terms.append({b.add(f"{label}_cat{j}_conv", node, s, shape, f"{source}.project.1"): 1.0})
    return add(*terms)


def head_value(b: GraphBuilder, model: Network, x: Value, last: StateShape) -> str:
    """LIF -> global average pooling -> flatten -> affine classifier -> the Output node."""
    C, H, W = dims(last)
    K = model.classifier.out_features
    s = neuron(b, model.head_neuron, x, (C, H, W), "head", "head_neuron", "head")
    pool = nir.AvgPool2d(kernel_size=np.array([H, W]), stride=np.array([H, W]), padding=np.array([0, 0]))
    p = b.add("head_pool", pool, s, (C, 1, 1), "head_neuron mean")
    f = b.add("head_flatten", nir.Flatten(np.array([C, 1, 1]), start_dim=0), {p: 1.0}, (C,))
    lin = model.classifier
    a = b.add("classifier", nir.Affine(weight=b.tensor(lin.weight), bias=b.tensor(lin.bias)), {f: 1.0}, (K,),
              "classifier")
    return b.add("output", nir.Output({"output": np.array([K])}), {a: 1.0}, (K,))
