"""Named motif templates: each turns a node count into a DAG wiring.

A wiring is a tuple of (src, dst, delay) triples in a fixed order; the ops of a
motif are assigned to the wiring in that order. Only the DARTS-style template
has free choices (the two sources of every intermediate node).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from msenas.genome.types import Edge, GenomeError, Motif, Op
from msenas.registry import Registry

Wiring = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Template:
    """A motif family: how many motif inputs, and the wiring for n nodes."""

    name: str
    n_inputs: int
    wire: Callable[[int, Sequence[int]], Wiring]
    free_sources: bool = False  # True: wire() reads one source choice per edge

    def n_edges(self, n_nodes: int) -> int:
        return len(self.wire(n_nodes, [0] * 2 * n_nodes))


def _chain(n: int, _: Sequence[int]) -> Wiring:
    # 0 -> 1 -> 2 -> ... -> n
    return tuple((i, i + 1, 0) for i in range(n))


def _fan_in(n: int, _: Sequence[int]) -> Wiring:
    # 0 -> {1..n-1} -> n   (n = 1: a single edge)
    if n == 1:
        return ((0, 1, 0),)
    return tuple((0, i, 0) for i in range(1, n)) + tuple((i, n, 0) for i in range(1, n))


def _fan_out(n: int, _: Sequence[int]) -> Wiring:
    # 0 -> 1 -> {2..n}; the parallel leaves are summed as the output
    return ((0, 1, 0),) + tuple((1, i, 0) for i in range(2, n + 1))


def _lateral(n: int, _: Sequence[int]) -> Wiring:
    # 0 -> every node, plus lateral edges i -> i+1 between neighbours
    return tuple((0, i, 0) for i in range(1, n + 1)) + tuple((i, i + 1, 0) for i in range(1, n))


def _feedback(n: int, _: Sequence[int]) -> Wiring:
    # a chain with a delay-1 edge from the last node back to the first (self-loop for n = 1)
    return _chain(n, ()) + ((n, 1, 1),)


def _darts(n: int, sources: Sequence[int]) -> Wiring:
    # inputs 0, 1; node 2+j reads two earlier states chosen by sources[2j], sources[2j+1]
    out = []
    for j in range(n):
        dst = 2 + j
        for k in (2 * j, 2 * j + 1):
            out.append((int(sources[k]) % dst, dst, 0))
    return tuple(out)


TEMPLATES: Registry[Template] = Registry("motif template")
for _t in (
    Template("chain", 1, _chain),
    Template("fan_in", 1, _fan_in),
    Template("fan_out", 1, _fan_out),
    Template("lateral", 1, _lateral),
    Template("feedback", 1, _feedback),
    Template("darts", 2, _darts, free_sources=True),
):
    TEMPLATES.register(_t.name)(_t)


def get_template(name: str) -> Template:
    """Look a template up by name, with a clear error for an unknown one."""
    return TEMPLATES.get(name, GenomeError)


def instantiate(name: str, n_nodes: int, ops: Sequence[Op], sources: Sequence[int] = ()) -> Motif:
    """Build a motif of template `name` with n_nodes, ops assigned in wiring order."""
    t = get_template(name)
    sources = list(sources) or [0] * (2 * n_nodes)
    wiring = t.wire(n_nodes, sources)
    if len(ops) < len(wiring):
        raise GenomeError(f"template {name!r} with {n_nodes} nodes needs {len(wiring)} ops, got {len(ops)}")
    edges = tuple(Edge(s, d, op, delay) for (s, d, delay), op in zip(wiring, ops))
    return Motif(template=name, n_inputs=t.n_inputs, n_nodes=n_nodes, edges=edges)


def sources_of(motif: Motif) -> list[int]:
    """The free source choices that reproduce `motif` from its template (checks the wiring)."""
    t = get_template(motif.template)
    sources = [e.src for e in motif.edges] if t.free_sources else [0] * len(motif.edges)
    expected = t.wire(motif.n_nodes, sources + [0] * (2 * motif.n_nodes - len(sources)))
    actual = tuple((e.src, e.dst, e.delay) for e in motif.edges)
    if actual != expected:
        raise GenomeError(
            f"motif edges do not follow template {motif.template!r} with {motif.n_nodes} nodes"
        )
    return sources
