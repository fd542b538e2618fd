"""Genome <-> flat integer vector (for DEAP) and genome <-> JSON (schema-versioned).

Vector layout, one block per scale unit (crossover cuts only between blocks):
  macro   [n_cells, channels]
  cell i  [integration, n_motifs-1, read(state 0) .. read(state i-1),
           per motif slot: [template, n_nodes-min, per edge slot: [src, op, sign, neuron]]]
Unused slots encode as 0. Any in-bounds vector decodes to a valid genome
(repair, never reject) and decode(encode(g)) == g for every g in the space.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from msenas.genome.checks import validate
from msenas.genome.space import SearchSpace
from msenas.genome.templates import get_template, instantiate, sources_of
from msenas.genome.types import Cell, Genome, GenomeError, Motif, Op

EDGE_GENES = 4  # src, op, sign, neuron


class VectorCodec:
    """Encode/decode genomes of one search space as bounded integer vectors."""

    def __init__(self, space: SearchSpace):
        self.space = space
        n_lo, n_hi = space.nodes
        self.max_cells = max(space.n_cells)
        self.max_edges = max(get_template(t).n_edges(n) for t in space.templates for n in range(n_lo, n_hi + 1))
        self.motif_len = 2 + EDGE_GENES * self.max_edges

    @cached_property
    def upper(self) -> list[int]:
        """Inclusive upper bound of every gene (lower bounds are 0)."""
        s = self.space
        up = [len(s.n_cells) - 1, len(s.channels) - 1]
        edge = [s.nodes[1] + 1, len(s.ops) - 1, len(s.signs) - 1, len(s.neurons) - 1]
        motif = [len(s.templates) - 1, s.nodes[1] - s.nodes[0]] + edge * self.max_edges
        for i in range(self.max_cells):
            up += [len(s.integrations) - 1, s.max_motifs - 1] + [1] * i + motif * s.max_motifs
        return up

    @cached_property
    def block_starts(self) -> list[int]:
        """Index where each block (macro, then one per cell) starts."""
        starts, pos = [0], 2
        for i in range(self.max_cells):
            starts.append(pos)
            pos += 2 + i + self.motif_len * self.space.max_motifs
        return starts

    def random_vector(self, rng: np.random.Generator) -> list[int]:
        """A uniformly random in-bounds vector."""
        return [int(v) for v in rng.integers(0, np.asarray(self.upper) + 1)]

    def clip(self, vec) -> list[int]:
        """Clamp a vector into the bounds."""
        return [int(min(max(int(v), 0), u)) for v, u in zip(vec, self.upper)]

    # -- decode -------------------------------------------------------------
    def decode(self, vec) -> Genome:
        """Vector -> genome, repairing whatever the bounds allow but the genome forbids."""
        if len(vec) != len(self.upper):
            raise GenomeError(f"vector: expected {len(self.upper)} genes for space {self.space.name!r}, got {len(vec)}")
        v = self.clip(vec)
        s = self.space
        n_cells, channels = s.n_cells[v[0]], s.channels[v[1]]
        cells, inputs = [], []
        for i in range(n_cells):
            pos = self.block_starts[i + 1]
            integration, n_motifs = s.integrations[v[pos]], v[pos + 1] + 1
            inputs.append(self._repair_inputs(i, v[pos + 2: pos + 2 + i]))
            pos += 2 + i
            motifs = [self._decode_motif(v[pos + m * self.motif_len: pos + (m + 1) * self.motif_len])
                      for m in range(n_motifs)]
            cells.append(Cell(tuple(motifs), integration))
        g = Genome(tuple(cells), tuple(inputs), s.reductions_for(n_cells), channels, s.stem_multiplier)
        return validate(g)

    def _repair_inputs(self, i: int, bits: list[int]) -> tuple[int, ...]:
        lo, hi = (min(b, i + 1) for b in self.space.inputs)
        chosen = [st for st, b in enumerate(bits) if b] + [i]
        while len(chosen) > hi:  # drop the oldest optional read
            chosen.pop(0)
        extra = [st for st in range(i - 1, -1, -1) if st not in chosen]
        while len(chosen) < lo:  # add the most recent missing state
            chosen.append(extra.pop(0))
        return tuple(sorted(chosen))

    def _decode_motif(self, g: list[int]) -> Motif:
        s = self.space
        name, n_nodes = s.templates[g[0]], s.nodes[0] + g[1]
        edges = [g[2 + k * EDGE_GENES: 2 + (k + 1) * EDGE_GENES] for k in range(self.max_edges)]
        ops = [Op(s.ops[o], s.signs[sg], s.neurons[nr]) for _, o, sg, nr in edges]
        return instantiate(name, n_nodes, ops, [e[0] for e in edges])

    # -- encode -------------------------------------------------------------
    def encode(self, g: Genome) -> list[int]:
        """Genome -> vector; raises GenomeError naming the field outside this space."""
        s = self.space
        vec = [0] * len(self.upper)
        vec[0] = _index(s.n_cells, g.n_cells, "n_cells", s)
        vec[1] = _index(s.channels, g.channels, "channels", s)
        if g.stem_multiplier != s.stem_multiplier:
            raise GenomeError(f"stem_multiplier: {g.stem_multiplier} is not {s.stem_multiplier} as in space {s.name!r}")
        if tuple(g.reductions) != s.reductions_for(g.n_cells):
            raise GenomeError(f"reductions: {list(g.reductions)} differ from space {s.name!r} "
                              f"({list(s.reductions_for(g.n_cells))})")
        for i, (cell, reads) in enumerate(zip(g.cells, g.inputs)):
            where, pos = f"cells[{i}]", self.block_starts[i + 1]
            if not 1 <= len(cell.motifs) <= s.max_motifs:
                raise GenomeError(f"{where}.motifs: {len(cell.motifs)} motifs, "
                                  f"space {s.name!r} allows 1..{s.max_motifs}")
            if self._repair_inputs(i, [int(st in reads) for st in range(i)]) != tuple(reads):
                raise GenomeError(f"inputs[{i}]: {list(reads)} not allowed by space {s.name!r} (reads {s.inputs})")
            vec[pos] = _index(s.integrations, cell.integration, f"{where}.integration", s)
            vec[pos + 1] = len(cell.motifs) - 1
            vec[pos + 2: pos + 2 + i] = [int(st in reads) for st in range(i)]
            pos += 2 + i
            for m, motif in enumerate(cell.motifs):
                at = pos + m * self.motif_len
                vec[at: at + self.motif_len] = self._encode_motif(motif, f"{where}.motifs[{m}]")
        return vec

    def _encode_motif(self, m: Motif, where: str) -> list[int]:
        s = self.space
        out = [0] * self.motif_len
        out[0] = _index(s.templates, m.template, f"{where}.template", s)
        if not s.nodes[0] <= m.n_nodes <= s.nodes[1]:
            raise GenomeError(f"{where}.n_nodes: {m.n_nodes} outside {s.nodes} of space {s.name!r}")
        out[1] = m.n_nodes - s.nodes[0]
        try:
            sources = sources_of(m)
        except GenomeError as e:
            raise GenomeError(f"{where}: {e}") from None
        for k, (e, src) in enumerate(zip(m.edges, sources)):
            at, op = 2 + k * EDGE_GENES, f"{where}.edges[{k}].op"
            out[at: at + EDGE_GENES] = [
                src,
                _index(s.ops, e.op.name, f"{op}.name", s),
                _index(s.signs, e.op.sign, f"{op}.sign", s),
                _index(s.neurons, e.op.neuron, f"{op}.neuron", s),
            ]
        return out


def _index(options: tuple, value, where: str, space: SearchSpace) -> int:
    try:
        return options.index(value)
    except ValueError:
        raise GenomeError(f"{where}: {value!r} is not in space {space.name!r} ({list(options)})") from None
