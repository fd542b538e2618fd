"""Variation operators on genomes of a search space: sample, mutate, crossover (explicit rng).

Every operator works on the flat integer vector of `VectorCodec` and takes an
explicit numpy Generator, so the same seed gives the same genomes.
"""
from __future__ import annotations

import numpy as np

from msenas.genome.codec import VectorCodec
from msenas.genome.space import SearchSpace
from msenas.genome.types import Genome


def sample(space: SearchSpace, rng: np.random.Generator) -> Genome:
    """A uniformly random in-bounds vector, decoded (and repaired) to a genome."""
    codec = VectorCodec(space)
    return codec.decode(codec.random_vector(rng))


def mutate(g: Genome, space: SearchSpace, rng: np.random.Generator, indpb: float = 0.05) -> Genome:
    """Resample each gene with probability indpb until the genome itself changes."""
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
    codec = VectorCodec(space)
    va, vb = crossover_vectors(codec.encode(a), codec.encode(b), codec.block_starts, rng)
    return codec.decode(va), codec.decode(vb)


def crossover_vectors(va: list[int], vb: list[int], cuts: list[int],
                      rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Swap the genes between two distinct block boundaries of `cuts` (plus the end)."""
    points = sorted(set(cuts) | {len(va)})
    if len(points) < 2:
        return list(va), list(vb)
    lo, hi = sorted(rng.choice(len(points), size=2, replace=False).tolist())
    i, j = points[lo], points[hi]
    return va[:i] + vb[i:j] + va[j:], vb[:i] + va[i:j] + vb[j:]
