"""Search spaces (presets) and the operators on them: sample, mutate, crossover, key.

Every operator works on the flat integer vector of `VectorCodec` and takes an
explicit numpy Generator, so the same seed gives the same genomes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from msenas.genome.types import INTEGRATIONS, NEURONS, OP_SPECS, SIGNS, Genome, GenomeError


@dataclass(frozen=True)
class SearchSpace:
    """The choices open to a search at each scale."""

    name: str
    n_cells: tuple[int, ...] = (3,)
    channels: tuple[int, ...] = (16,)
    stem_multiplier: int = 1
    reduction_fractions: tuple[float, ...] = (0.5,)
    inputs: tuple[int, int] = (1, 1)  # min, max states a cell reads (capped by what exists)
    max_motifs: int = 1
    nodes: tuple[int, int] = (1, 3)
    templates: tuple[str, ...] = ("chain", "fan_in", "fan_out", "lateral", "feedback", "darts")
    ops: tuple[str, ...] = ("conv1x1", "conv3x3", "conv5x5", "avgpool3x3", "maxpool3x3", "identity")
    neurons: tuple[str, ...] = NEURONS
    signs: tuple[int, ...] = SIGNS
    integrations: tuple[str, ...] = INTEGRATIONS
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        from msenas.genome.templates import TEMPLATES

        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise GenomeError(f"search space {self.name!r}: {msg}")

        need(all(isinstance(n, int) and n >= 1 for n in self.n_cells) and self.n_cells, "n_cells must be positive integers")
        need(all(isinstance(c, int) and c >= 1 for c in self.channels) and self.channels, "channels must be positive integers")
        need(all(0 <= f < 1 for f in self.reduction_fractions), "reduction_fractions must lie in [0, 1)")
        need(1 <= self.inputs[0] <= self.inputs[1], "inputs must be (min, max) with 1 <= min <= max")
        need(self.max_motifs >= 1, "max_motifs must be >= 1")
        need(1 <= self.nodes[0] <= self.nodes[1], "nodes must be (min, max) with 1 <= min <= max")
        need(all(t in TEMPLATES for t in self.templates) and self.templates, f"templates must be among {sorted(TEMPLATES)}")
        need(all(o in OP_SPECS for o in self.ops) and self.ops, f"ops must be among {sorted(OP_SPECS)}")
        need(all(n in NEURONS for n in self.neurons) and self.neurons, f"neurons must be among {list(NEURONS)}")
        need(all(s in SIGNS for s in self.signs) and self.signs, "signs must be among (1, -1)")
        need(all(i in INTEGRATIONS for i in self.integrations) and self.integrations, f"integrations must be among {list(INTEGRATIONS)}")

    def reductions_for(self, n_cells: int) -> tuple[int, ...]:
        """Cells that reduce resolution: floor(f * L) for every reduction fraction."""
        return tuple(sorted({int(f * n_cells) for f in self.reduction_fractions}))


PRESETS: dict[str, SearchSpace] = {
    s.name: s
    for s in (
        SearchSpace(
            name="mse-nas",
            n_cells=(6,), channels=(48,), stem_multiplier=3,
            reduction_fractions=(0.25, 0.5, 0.75), inputs=(2, 4), max_motifs=2, nodes=(1, 5),
            ops=("conv3x3", "conv5x5", "avgpool3x3", "identity"),
            description="MSE-NAS scale: 6 cells, C=48, reductions at L/4, L/2, 3L/4, cells read 2-4 states",
        ),
        SearchSpace(
            name="tiny",
            n_cells=(2, 3, 4), channels=(4, 8, 12), stem_multiplier=2,
            reduction_fractions=(1 / 3, 2 / 3), inputs=(1, 3), max_motifs=2, nodes=(1, 3),
            description="small and fast: 2-4 cells, 4-12 channels; depth and width vary (tests, demo)",
        ),
        SearchSpace(
            name="fixed",
            n_cells=(3,), channels=(16,), stem_multiplier=1,
            reduction_fractions=(0.5,), inputs=(1, 1), max_motifs=2, nodes=(1, 3),
            description="fixed macro (stem + 3 cells, 16/32/32 channels): only micro and meso genes vary",
        ),
    )
}


def get_space(name: str) -> SearchSpace:
    """Look a preset up by name, with a clear error for an unknown one."""
    try:
        return PRESETS[name]
    except KeyError:
        raise GenomeError(f"unknown search space {name!r}; known: {sorted(PRESETS)}") from None


def sample(space: SearchSpace, rng: np.random.Generator) -> Genome:
    """A uniformly random in-bounds vector, decoded (and repaired) to a genome."""
    from msenas.genome.codec import VectorCodec

    codec = VectorCodec(space)
    return codec.decode(codec.random_vector(rng))


def mutate(g: Genome, space: SearchSpace, rng: np.random.Generator, indpb: float = 0.05) -> Genome:
    """Resample each gene with probability indpb until the genome itself changes."""
    from msenas.genome.codec import VectorCodec

    codec = VectorCodec(space)
    vec = codec.encode(g)
    for _ in range(100):  # a draw may only touch unused genes: draw again
        child = codec.decode(mutate_vector(vec, codec.upper, rng, indpb))
        if child != g:
            return child
    return child


def mutate_vector(vec: list[int], upper: list[int], rng: np.random.Generator, indpb: float) -> list[int]:
    """Per-gene uniform integer reset in [0, upper]; forces one change when nothing moved."""
    out = list(vec)
    hits = np.flatnonzero(rng.random(len(out)) < indpb).tolist()
    if not hits:
        hits = [int(rng.integers(len(out)))]
    for i in hits:
        if upper[i] > 0:
            new = int(rng.integers(upper[i]))  # one of the other values
            out[i] = new if new < out[i] else new + 1
    return out


def crossover(a: Genome, b: Genome, space: SearchSpace, rng: np.random.Generator) -> tuple[Genome, Genome]:
    """Two-point crossover at block boundaries: whole cell blocks stay intact."""
    from msenas.genome.codec import VectorCodec

    codec = VectorCodec(space)
    va, vb = crossover_vectors(codec.encode(a), codec.encode(b), codec.block_starts, rng)
    return codec.decode(va), codec.decode(vb)


def crossover_vectors(va: list[int], vb: list[int], cuts: list[int], rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Swap the genes between two distinct block boundaries of `cuts` (plus the end)."""
    points = sorted(set(cuts) | {len(va)})
    if len(points) < 2:
        return list(va), list(vb)
    lo, hi = sorted(rng.choice(len(points), size=2, replace=False).tolist())
    i, j = points[lo], points[hi]
    return va[:i] + vb[i:j] + va[j:], vb[:i] + va[i:j] + vb[j:]
