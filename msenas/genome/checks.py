"""validate(genome): every invariant of the genome, each error naming the bad field (torch-free).

Sizes are bounded by limits that no real architecture reaches (MSE-NAS uses 6
cells of 48-384 channels and motifs of 1-5 nodes), so a malformed or hostile
genome file fails here in microseconds instead of exhausting memory later.
"""
from __future__ import annotations

from msenas.errors import short
from msenas.genome.parts import ATTENTION_PARTS, ATTENTIONS, INTEGRATIONS, NEURONS, OPS, SIGNS, parse_attention
from msenas.genome.templates import TEMPLATES
from msenas.genome.types import Cell, Genome, GenomeError, Motif, Op
from msenas.registry import RegistryError

LIMITS = {  # field -> largest accepted value
    "cells": 64,
    "channels": 4096,
    "stem_multiplier": 16,
    "motifs": 16,
    "n_nodes": 64,
    "edges": 4096,
    "attention_parts": ATTENTION_PARTS,
}
LISTS = {  # every list a genome carries -> the most entries it may hold (checked before anything is built from it)
    "cells": LIMITS["cells"],
    "inputs": LIMITS["cells"],
    "inputs[]": LIMITS["cells"] + 1,       # states 0 .. i
    "reductions": LIMITS["cells"],
    "motifs": LIMITS["motifs"],
    "edges": LIMITS["edges"],
}


def check_length(values, name: str, where: str) -> None:
    """GenomeError naming `where` when a list holds more entries than LISTS[name] allows (its values not echoed)."""
    if len(values) > LISTS[name]:
        raise GenomeError(f"{where}: at most {LISTS[name]} entries, got {len(values):,}")


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def validate(g: Genome) -> Genome:
    """Check every invariant; raise GenomeError naming the first bad field."""
    for name in ("channels", "stem_multiplier"):
        value = getattr(g, name)
        if not _int_in(value, 1, LIMITS[name]):
            raise GenomeError(f"{name}: must be an integer in [1, {LIMITS[name]}], got {short(value)}")
    if not 1 <= g.n_cells <= LIMITS["cells"]:
        raise GenomeError(f"cells: a genome needs 1 to {LIMITS['cells']} cells, got {g.n_cells:,}")
    if len(g.inputs) != g.n_cells:
        raise GenomeError(f"inputs: expected one entry per cell ({g.n_cells}), got {len(g.inputs):,}")
    check_length(g.reductions, "reductions", "reductions")
    if list(g.reductions) != sorted(set(g.reductions)) or any(not 0 <= r < g.n_cells for r in g.reductions):
        raise GenomeError(f"reductions: must be sorted distinct cell indices in [0, {g.n_cells}), "
                          f"got {short(list(g.reductions))}")
    for i, reads in enumerate(g.inputs):
        check_length(reads, "inputs[]", f"inputs[{i}]")
        if not reads or list(reads) != sorted(set(reads)) or any(not 0 <= s <= i for s in reads):
            raise GenomeError(f"inputs[{i}]: must be sorted distinct states in [0, {i}], got {short(list(reads))}")
        if i not in reads:
            raise GenomeError(f"inputs[{i}]: must include state {i} (the previous cell or the stem)")
    for i, cell in enumerate(g.cells):
        _validate_cell(cell, f"cells[{i}]")
    if not isinstance(g.attention, str):
        raise GenomeError(f"attention: expected str, got {type(g.attention).__name__}")
    try:
        parse_attention(g.attention)
    except RegistryError as e:
        raise GenomeError(f"attention: {e} (known: {', '.join(ATTENTIONS.names())}, or parts joined by '+')") from None
    return g


def _validate_cell(cell: Cell, where: str) -> None:
    if cell.integration not in INTEGRATIONS:
        raise GenomeError(f"{where}.integration: must be one of {list(INTEGRATIONS)}, got {short(cell.integration)}")
    if not 1 <= len(cell.motifs) <= LIMITS["motifs"]:
        raise GenomeError(f"{where}.motifs: a cell needs 1 to {LIMITS['motifs']} motifs, got {len(cell.motifs):,}")
    for j, motif in enumerate(cell.motifs):
        _validate_motif(motif, f"{where}.motifs[{j}]")


def _validate_motif(m: Motif, where: str) -> None:
    if m.template not in TEMPLATES:
        raise GenomeError(f"{where}.template: unknown {short(m.template)}; known: {TEMPLATES.names()}")
    if m.n_inputs not in (1, 2):
        raise GenomeError(f"{where}.n_inputs: must be 1 or 2, got {short(m.n_inputs)}")
    if not _int_in(m.n_nodes, 1, LIMITS["n_nodes"]):
        raise GenomeError(f"{where}.n_nodes: must be an integer in [1, {LIMITS['n_nodes']}], got {short(m.n_nodes)}")
    if not 1 <= len(m.edges) <= LIMITS["edges"]:
        raise GenomeError(f"{where}.edges: a motif needs 1 to {LIMITS['edges']} edges, got {len(m.edges):,}")
    first, total = m.n_inputs, m.n_inputs + m.n_nodes
    fed = set()
    for k, e in enumerate(m.edges):
        at = f"{where}.edges[{k}]"
        _validate_op(e.op, f"{at}.op")
        if e.delay not in (0, 1):
            raise GenomeError(f"{at}.delay: must be 0 or 1, got {short(e.delay)}")
        if not first <= e.dst < total:
            raise GenomeError(f"{at}.dst: must be an intermediate node in [{first}, {total}), got {short(e.dst)}")
        if e.delay == 0 and not 0 <= e.src < e.dst:
            raise GenomeError(f"{at}.src: a delay-0 edge needs 0 <= src < dst={e.dst}, got {short(e.src)}")
        if e.delay == 1 and not first <= e.src < total:
            raise GenomeError(f"{at}.src: a feedback edge must leave an intermediate node, got {short(e.src)}")
        if e.delay == 0:
            fed.add(e.dst)
    missing = [n for n in range(first, total) if n not in fed]
    if missing:
        raise GenomeError(f"{where}.edges: intermediate node(s) {missing} have no delay-0 input")


def _validate_op(op: Op, where: str) -> None:
    if op.name not in OPS:
        raise GenomeError(f"{where}.name: unknown op {short(op.name)}; known: {OPS.names()}")
    if op.sign not in SIGNS:
        raise GenomeError(f"{where}.sign: must be 1 (excitatory) or -1 (inhibitory), got {short(op.sign)}")
    if op.neuron not in NEURONS:
        raise GenomeError(f"{where}.neuron: must be one of {NEURONS.names()}, got {short(op.neuron)}")
