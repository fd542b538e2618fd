"""Shapes and costs of a genome's network, computed without building it (pycls-style)."""
from __future__ import annotations

from dataclasses import dataclass

from msenas.genome.parts import attention_cost, op_macs, op_params
from msenas.genome.types import Genome


@dataclass(frozen=True)
class StateShape:
    """Channels and resolution of one state (0 = stem, i = output of cell i-1)."""

    channels: int
    h: int
    w: int


@dataclass(frozen=True)
class Complexity:
    """Trainable parameters and dense synaptic operations of a network."""

    params: int
    macs: int            # dense MACs per sample and time step
    synaptic_ops: int    # dense upper bound over T steps: macs * T

    def as_dict(self) -> dict:
        return {"params": self.params, "macs": self.macs, "synaptic_ops": self.synaptic_ops}


def plan(g: Genome, in_shape: tuple[int, int, int]) -> list[StateShape]:
    """Shape of every state: channels double and resolution halves at reduction cells."""
    _, h, w = in_shape
    states = [StateShape(g.stem_multiplier * g.channels, h, w)]
    c = g.channels
    for i in range(g.n_cells):
        if i in g.reductions:
            c, h, w = 2 * c, max(1, h // 2), max(1, w // 2)
        states.append(StateShape(c, h, w))
    return states


def needs_preprocess(src: StateShape, dst: StateShape) -> bool:
    """A cell input needs LIF -> pool -> conv1x1 -> BN unless shapes already match."""
    return src != dst


def stem_macs(in_shape: tuple[int, int, int], stem: StateShape) -> int:
    """MACs per sample and time step of the encoding layer (conv3x3 on the input, stride 1)."""
    return in_shape[0] * stem.channels * 9 * stem.h * stem.w


def complexity(g: Genome, in_shape: tuple[int, int, int], n_classes: int, T: int = 1) -> Complexity:
    """Parameters and MACs of build_network(g, in_shape, n_classes) without building it."""
    states = plan(g, in_shape)
    stem = states[0]
    params = in_shape[0] * stem.channels * 9 + 2 * stem.channels
    macs = stem_macs(in_shape, stem)
    for i, (cell, reads) in enumerate(zip(g.cells, g.inputs)):
        out = states[i + 1]
        hw = out.h * out.w
        for s in reads:
            if needs_preprocess(states[s], out):
                params += states[s].channels * out.channels + 2 * out.channels
                macs += states[s].channels * out.channels * hw
        for motif in cell.motifs:
            for e in motif.edges:
                params += op_params(e.op.name, e.op.neuron, out.channels)
                macs += op_macs(e.op.name, out.channels, hw)
        if cell.integration == "concat" and len(cell.motifs) > 1:
            params += len(cell.motifs) * out.channels * out.channels + 2 * out.channels
            macs += len(cell.motifs) * out.channels * out.channels * hw
        att_params, att_macs = attention_cost(g.attention, out.channels, out.h, out.w)
        params, macs = params + att_params, macs + att_macs
    last = states[-1].channels
    params += last * n_classes + n_classes
    macs += last * n_classes
    return Complexity(params=params, macs=macs, synaptic_ops=macs * T)

