"""The three-scale genome: frozen values, no torch (MSE-NAS, arXiv 2304.10749).

micro  Op      the operation on one motif edge: kind, kernel, sign, neuron model
meso   Motif   a small DAG of ops (delay-1 edges are feedback); Cell = motifs + integration
macro  Genome  cells, reductions, base channels and which earlier states each cell reads,
               and the attention on every cell output ("none" unless MA-DARTS derived it)

Plain values only: validate() lives in checks.py, the names of ops, neurons and
attentions in parts.py (their registries), templates in templates.py.

State indices: state 0 is the stem, state i (i >= 1) is the output of cell i-1.
Motif node indices: 0 .. n_inputs-1 are the motif inputs, then the intermediate
nodes. A node sums its incoming edges; the motif output is the sum of its sink
nodes (intermediate nodes without an outgoing delay-0 edge).
"""
from __future__ import annotations

from dataclasses import dataclass

from msenas.errors import MsenasError
from msenas.genome.parts import OPS

SCHEMA_VERSION = 1


class GenomeError(MsenasError, ValueError):
    """A genome that is malformed; the message names the offending field."""


@dataclass(frozen=True)
class Op:
    """Micro gene: operation name (a registered op, genome/parts.py), sign and neuron model."""

    name: str = "conv3x3"
    sign: int = 1
    neuron: str = "lif"

    @property
    def kind(self) -> str:
        return OPS.get(self.name).kind

    @property
    def kernel(self) -> int:
        return OPS.get(self.name).kernel


@dataclass(frozen=True)
class Edge:
    """One motif edge src -> dst carrying an op; delay 1 reads src at t-1."""

    src: int
    dst: int
    op: Op
    delay: int = 0


@dataclass(frozen=True)
class Motif:
    """Meso gene: a small DAG instantiated from a named template."""

    template: str
    n_inputs: int
    n_nodes: int
    edges: tuple[Edge, ...]

    @property
    def has_feedback(self) -> bool:
        return any(e.delay == 1 for e in self.edges)

    def sinks(self) -> tuple[int, ...]:
        """Intermediate nodes without an outgoing delay-0 edge (summed as the output)."""
        has_out = {e.src for e in self.edges if e.delay == 0}
        first = self.n_inputs
        return tuple(n for n in range(first, first + self.n_nodes) if n not in has_out)


@dataclass(frozen=True)
class Cell:
    """One cell: its motifs and how their outputs integrate (sum or concat)."""

    motifs: tuple[Motif, ...]
    integration: str = "sum"


@dataclass(frozen=True)
class Genome:
    """Macro gene plus the cells: the whole architecture as a plain value."""

    cells: tuple[Cell, ...]
    inputs: tuple[tuple[int, ...], ...]  # per cell, sorted earlier state indices it reads
    reductions: tuple[int, ...]          # indices of cells that halve resolution, double channels
    channels: int = 16
    stem_multiplier: int = 3
    attention: str = "none"              # on every cell output: none, eca, cbam, temporal, or parts joined by "+"

    @property
    def n_cells(self) -> int:
        return len(self.cells)
