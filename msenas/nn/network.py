"""genome -> spikingjelly multi-step network. The only place that knows both.

Network input [T,B,C,H,W] (or [B,C,H,W], repeated T times: direct encoding),
output logits [T,B,classes]. Delay-1 motif edges deliver the previous time
step's value of their source node (zero at t = 0).

Speed (docs/benchmarks.md, "Simulation speed"): conv weights are kept
channels-last, so every [T*B,C,H,W] map is channels-last (faster convolutions,
pooling and BatchNorm on CPU); neurons run their whole T loop in one fused
kernel (msenas/nn/fused.py); stepwise motifs split their inputs into views
and join their outputs with one cat (no per-step copies, forward or backward).
"""
from __future__ import annotations

import torch
from spikingjelly.activation_based import functional, layer
from torch import nn

from msenas.genome.checks import validate
from msenas.genome.types import Cell, Genome, Motif
from msenas.nn.attention import make_attention
from msenas.nn.batchnorm import BatchNorm2d
from msenas.nn.cost import StateShape, needs_preprocess, plan
from msenas.nn.maps import add_all, cat_channels, pool_to
from msenas.nn.memory import keep_freed_memory
from msenas.nn.neurons import NeuronParams, make_neuron
from msenas.nn.ops import SpikingOp


def make_stem(in_channels: int, channels: int) -> nn.Sequential:
    """The encoding layer of every network and supernet: conv3x3 -> BN on the input (multi-step)."""
    return nn.Sequential(layer.Conv2d(in_channels, channels, 3, padding=1, bias=False, step_mode="m"),
                         BatchNorm2d(channels, step_mode="m"))


def head_logits(neuron: nn.Module, classifier: nn.Linear, last: torch.Tensor) -> torch.Tensor:
    """The readout of every network and supernet: LIF -> global average pool -> linear, [T,B,C,H,W] -> [T,B,K]."""
    return classifier(neuron(last).mean(dim=(3, 4)))


class Preprocess(nn.Module):
    """LIF -> adaptive avg pool to the cell's resolution -> conv1x1 -> BN (multi-step)."""

    def __init__(self, src: StateShape, dst: StateShape, neuron: NeuronParams):
        super().__init__()
        self.size = (dst.h, dst.w)
        self.neuron = make_neuron("lif", neuron)
        self.conv = layer.Conv2d(src.channels, dst.channels, 1, bias=False, step_mode="m")
        self.bn = BatchNorm2d(dst.channels, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.neuron(x)                                   # [T,B,Cs,Hs,Ws] spikes
        if s.shape[-2:] != self.size:
            s = pool_to(s.flatten(0, 1), self.size).unflatten(0, s.shape[:2])
        return self.bn(self.conv(s))                         # [T,B,Cd,H,W]


class MotifModule(nn.Module):
    """A motif DAG; steps through time itself when it has feedback edges."""

    def __init__(self, motif: Motif, channels: int, neuron: NeuronParams):
        super().__init__()
        self.motif = motif
        self.stepwise = motif.has_feedback
        mode = "s" if self.stepwise else "m"
        self.ops = nn.ModuleList(SpikingOp(e.op, channels, neuron, mode) for e in motif.edges)
        self.sinks = motif.sinks()

    def _nodes(self, inputs: list[torch.Tensor], prev: list[torch.Tensor] | None) -> list[torch.Tensor]:
        m = self.motif
        nodes = list(inputs) + [None] * m.n_nodes
        for n in range(m.n_inputs, m.n_inputs + m.n_nodes):     # index order is a topological order
            acc = None
            for e, op in zip(m.edges, self.ops):
                src = nodes if e.delay == 0 else prev            # delay 1: node value at t-1 (none at t = 0)
                if e.dst != n or op.zero or src is None:
                    continue
                y = op.unsigned(src[e.src])                      # acc + sign * y, as acc + op(x) did
                acc = (y if op.sign > 0 else -y) if acc is None else (acc + y if op.sign > 0 else acc - y)
            nodes[n] = acc if acc is not None else torch.zeros_like(inputs[0])
        return nodes

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if not self.stepwise:
            nodes = self._nodes(inputs, None)
            return add_all([nodes[n] for n in self.sinks])
        T, B = inputs[0].shape[:2]
        steps = [x.flatten(0, 1).tensor_split(T) for x in inputs]   # T views [B,C,H,W]; backward: one cat
        ys, prev = [], None
        for t in range(T):
            nodes = self._nodes([x[t] for x in steps], prev)
            ys.append(add_all([nodes[n] for n in self.sinks]))   # [B,C,H,W]
            prev = nodes
        return torch.cat(ys).unflatten(0, (T, B))                # [T,B,C,H,W]; a 4-D cat keeps channels-last


class CellModule(nn.Module):
    """Preprocess the states a cell reads, run its motifs, integrate them, apply the genome's attention."""

    def __init__(self, cell: Cell, srcs: list[StateShape], out: StateShape, neuron: NeuronParams,
                 attention: str = "none"):
        super().__init__()
        self.pre = nn.ModuleList(
            Preprocess(s, out, neuron) if needs_preprocess(s, out) else nn.Identity() for s in srcs)
        self.motifs = nn.ModuleList(MotifModule(m, out.channels, neuron) for m in cell.motifs)
        self.concat = cell.integration == "concat" and len(cell.motifs) > 1
        if self.concat:
            k = len(cell.motifs)
            self.project = nn.Sequential(
                make_neuron("lif", neuron),
                layer.Conv2d(k * out.channels, out.channels, 1, bias=False, step_mode="m"),
                BatchNorm2d(out.channels, step_mode="m"))
        self.attention = make_attention(attention, out.channels)

    def forward(self, states: list[torch.Tensor]) -> torch.Tensor:
        xs = [p(s) for p, s in zip(self.pre, states)]            # each [T,B,C,H,W]
        total = add_all(xs) if any(m.motif.n_inputs == 1 for m in self.motifs) else None
        older = add_all(xs[:-1]) if len(xs) > 1 else xs[-1]      # DARTS-style: (older states, newest state)
        outs = [m([total] if m.motif.n_inputs == 1 else [older, xs[-1]]) for m in self.motifs]
        out = self.project(cat_channels(outs)) if self.concat else add_all(outs)
        return self.attention(out)


class Network(nn.Module):
    """stem -> cells (each reading its earlier states) -> LIF -> global pool -> linear."""

    def __init__(self, genome: Genome, in_shape: tuple[int, int, int], n_classes: int, T: int,
                 neuron: NeuronParams = NeuronParams()):
        super().__init__()
        self.genome, self.in_shape, self.n_classes, self.T = genome, tuple(in_shape), n_classes, T
        states = plan(genome, in_shape)
        self.stem = make_stem(in_shape[0], states[0].channels)
        self.cells = nn.ModuleList(
            CellModule(c, [states[s] for s in reads], states[i + 1], neuron, genome.attention)
            for i, (c, reads) in enumerate(zip(genome.cells, genome.inputs)))
        self.head_neuron = make_neuron("lif", neuron)
        self.classifier = nn.Linear(states[-1].channels, n_classes)
        self.to(memory_format=torch.channels_last)               # conv weights; maps follow (module docstring)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits [T,B,K] and every cell's output [T,B,C,H,W]; state is reset first."""
        functional.reset_net(self)
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)        # direct encoding
        states = [self.stem(x)]
        for cell, reads in zip(self.cells, self.genome.inputs):
            states.append(cell([states[s] for s in reads]))
        return head_logits(self.head_neuron, self.classifier, states[-1]), states[1:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


def build_network(genome: Genome, in_shape: tuple[int, int, int], n_classes: int, T: int = 4,
                  neuron: NeuronParams = NeuronParams()) -> Network:
    """The one genome -> nn.Module function."""
    keep_freed_memory()
    return Network(validate(genome), in_shape, n_classes, T, neuron)
