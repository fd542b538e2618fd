"""The three-scale genome: frozen values, no torch (MSE-NAS, arXiv 2304.10749).

micro  Op      the operation on one motif edge: kind, kernel, sign, neuron model
meso   Motif   a small DAG of ops (delay-1 edges are feedback); Cell = motifs + integration
macro  Genome  cells, reductions, base channels and which earlier states each cell reads,
               and the attention on every cell output ("none" unless MA-DARTS derived it)

State indices: state 0 is the stem, state i (i >= 1) is the output of cell i-1.
Motif node indices: 0 .. n_inputs-1 are the motif inputs, then the intermediate
nodes. A node sums its incoming edges; the motif output is the sum of its sink
nodes (intermediate nodes without an outgoing delay-0 edge).
"""
from __future__ import annotations

from dataclasses import dataclass

from msenas.errors import MsenasError

SCHEMA_VERSION = 1

# name -> (kind, kernel). Kernel 0 means "no spatial extent".
OP_SPECS: dict[str, tuple[str, int]] = {
    "conv1x1": ("conv", 1),
    "conv3x3": ("conv", 3),
    "conv5x5": ("conv", 5),
    "avgpool3x3": ("avgpool", 3),
    "maxpool3x3": ("maxpool", 3),
    "identity": ("identity", 0),
    "zero": ("zero", 0),
}
NEURONS: tuple[str, ...] = ("lif", "plif", "if")
SIGNS: tuple[int, ...] = (1, -1)  # +1 excitatory, -1 inhibitory
INTEGRATIONS: tuple[str, ...] = ("sum", "concat")


class GenomeError(MsenasError, ValueError):
    """A genome that is malformed; the message names the offending field."""


@dataclass(frozen=True)
class Op:
    """Micro gene: operation name (see OP_SPECS), sign and neuron model."""

    name: str = "conv3x3"
    sign: int = 1
    neuron: str = "lif"

    @property
    def kind(self) -> str:
        return OP_SPECS[self.name][0]

    @property
    def kernel(self) -> int:
        return OP_SPECS[self.name][1]


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


def validate(g: Genome) -> Genome:
    """Check every invariant; raise GenomeError naming the first bad field."""
    if not isinstance(g.channels, int) or g.channels < 1:
        raise GenomeError(f"channels: must be a positive integer, got {g.channels!r}")
    if not isinstance(g.stem_multiplier, int) or g.stem_multiplier < 1:
        raise GenomeError(f"stem_multiplier: must be a positive integer, got {g.stem_multiplier!r}")
    if g.n_cells < 1:
        raise GenomeError("cells: a genome needs at least one cell")
    if len(g.inputs) != g.n_cells:
        raise GenomeError(f"inputs: expected one entry per cell ({g.n_cells}), got {len(g.inputs)}")
    if list(g.reductions) != sorted(set(g.reductions)) or any(
        not 0 <= r < g.n_cells for r in g.reductions
    ):
        raise GenomeError(f"reductions: must be sorted distinct cell indices in [0, {g.n_cells}), got {list(g.reductions)}")
    for i, reads in enumerate(g.inputs):
        if not reads or list(reads) != sorted(set(reads)) or any(not 0 <= s <= i for s in reads):
            raise GenomeError(f"inputs[{i}]: must be sorted distinct states in [0, {i}], got {list(reads)}")
        if i not in reads:
            raise GenomeError(f"inputs[{i}]: must include state {i} (the previous cell or the stem)")
    for i, cell in enumerate(g.cells):
        _validate_cell(cell, f"cells[{i}]")
    if g.attention != "none":
        from msenas.nn.attention import parse_attention  # local: only derived genomes carry attention
        from msenas.registry import RegistryError

        try:
            parse_attention(g.attention)
        except RegistryError as e:
            raise GenomeError(f"attention: {e}") from None
    return g


def _validate_cell(cell: Cell, where: str) -> None:
    if cell.integration not in INTEGRATIONS:
        raise GenomeError(f"{where}.integration: must be one of {list(INTEGRATIONS)}, got {cell.integration!r}")
    if not cell.motifs:
        raise GenomeError(f"{where}.motifs: a cell needs at least one motif")
    for j, motif in enumerate(cell.motifs):
        _validate_motif(motif, f"{where}.motifs[{j}]")


def _validate_motif(m: Motif, where: str) -> None:
    from msenas.genome.templates import TEMPLATES  # local: templates imports types

    if m.template not in TEMPLATES:
        raise GenomeError(f"{where}.template: unknown {m.template!r}; known: {sorted(TEMPLATES)}")
    if m.n_inputs not in (1, 2):
        raise GenomeError(f"{where}.n_inputs: must be 1 or 2, got {m.n_inputs!r}")
    if not isinstance(m.n_nodes, int) or m.n_nodes < 1:
        raise GenomeError(f"{where}.n_nodes: must be a positive integer, got {m.n_nodes!r}")
    if not m.edges:
        raise GenomeError(f"{where}.edges: a motif needs at least one edge")
    first, total = m.n_inputs, m.n_inputs + m.n_nodes
    fed = set()
    for k, e in enumerate(m.edges):
        at = f"{where}.edges[{k}]"
        _validate_op(e.op, f"{at}.op")
        if e.delay not in (0, 1):
            raise GenomeError(f"{at}.delay: must be 0 or 1, got {e.delay!r}")
        if not first <= e.dst < total:
            raise GenomeError(f"{at}.dst: must be an intermediate node in [{first}, {total}), got {e.dst!r}")
        if e.delay == 0 and not 0 <= e.src < e.dst:
            raise GenomeError(f"{at}.src: a delay-0 edge needs 0 <= src < dst={e.dst}, got {e.src!r}")
        if e.delay == 1 and not first <= e.src < total:
            raise GenomeError(f"{at}.src: a feedback edge must leave an intermediate node, got {e.src!r}")
        if e.delay == 0:
            fed.add(e.dst)
    missing = [n for n in range(first, total) if n not in fed]
    if missing:
        raise GenomeError(f"{where}.edges: intermediate node(s) {missing} have no delay-0 input")


def _validate_op(op: Op, where: str) -> None:
    if op.name not in OP_SPECS:
        raise GenomeError(f"{where}.name: unknown op {op.name!r}; known: {sorted(OP_SPECS)}")
    if op.sign not in SIGNS:
        raise GenomeError(f"{where}.sign: must be 1 (excitatory) or -1 (inhibitory), got {op.sign!r}")
    if op.neuron not in NEURONS:
        raise GenomeError(f"{where}.neuron: must be one of {list(NEURONS)}, got {op.neuron!r}")
