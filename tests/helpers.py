"""Small pieces the tests share: tiny sampled genomes, a digits probe batch, a dead genome, plain records,
generations of a search in process, two neuron runs compared."""
from __future__ import annotations

import dataclasses

import numpy as np

from msenas.genome import Cell, Op, get_space, instantiate, sample


def tiny_genomes(seed: int, n: int = 4) -> list:
    """n genomes of the tiny space, drawn with a seeded rng."""
    rng = np.random.default_rng(seed)
    return [sample(get_space("tiny"), rng) for _ in range(n)]


def digits_probe(cfg, size: int, seed: int = 0):
    """The probe batch of cfg on digits at size x size, T = 2."""
    from msenas.data import get_dataset
    from msenas.fitness.probe import make_probe

    return make_probe(get_dataset("digits", T=2, seed=0, size=size), cfg, seed=seed)


def silent_last_cell(g):
    """The genome with its last cell replaced by a motif of 'zero' ops: the output never spikes."""
    zero = Cell((instantiate("chain", 2, [Op("zero"), Op("zero")]),))
    return dataclasses.replace(g, cells=g.cells[:-1] + (zero,))


def plain(records) -> list:
    """The outcome of each record (what must agree between executors)."""
    return [r.outcome() for r in records]


def generations(strategy, engine, state, until: int) -> list:
    """The search states after each generation of `strategy` on `engine`, from `state` up to generation `until`."""
    from msenas.search.loop import step

    states = []
    while state.gen < until:
        state, _ = step(strategy, engine, state)
        states.append(state)
    return states


def assert_same_neuron_run(outs, name: str, grad_atol: float) -> None:
    """Two runs of a neuron, each (spikes, input gradient, final v, tau-weight gradient or None), agree: spikes
    exactly (and some, not all, fire), gradients and state to float tolerance."""
    import torch

    (ya, ga, va, wa), (yb, gb, vb, wb) = outs
    assert torch.equal(ya, yb) and 0 < ya.mean() < 1
    assert torch.allclose(ga, gb, atol=grad_atol) and torch.allclose(va, vb, atol=1e-6)
    if name == "plif":
        assert torch.allclose(wa, wb, rtol=1e-4)
