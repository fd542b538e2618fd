"""The search state: everything a search needs to continue, as plain JSON-ready data (see checkpoint.py).

Randomness: a numpy Generator draws the initial vectors and the variation;
DEAP's selection draws from Python's `random`, whose state is swapped in and
out around every selection so nothing else in the process can disturb it.
Both states live here, so a resumed search takes the uninterrupted path.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class SearchState:
    """Plain data: population, hall of fame, logbook, score cache, every RNG state, the strategy's own state."""

    gen: int                                   # last completed generation; -1 before generation 0
    population: list[list[int]]                # the strategy's population (GA: parents; aging: by age)
    hall_of_fame: list[list[int]]              # best first
    pareto: list[list[int]]                    # first front ever seen (multi-objective runs)
    logbook: list[dict]
    cache: dict[str, dict]                     # genome key -> record (plain dict)
    np_rng: dict                               # numpy bit_generator.state
    py_rng: list                               # random.getstate() as JSON lists
    engine: dict | None = None                 # fitness engine state after calibration
    evaluations: int = 0                       # genomes evaluated (cache misses), in completion order
    asks: int = 0                              # genomes the strategy proposed (cache hits included)
    inflight: list[list] = field(default_factory=list)   # async: [tag, vector] asked and not yet told
    strategy: dict[str, Any] = field(default_factory=dict)  # what a strategy keeps besides the population
    config: dict[str, Any] = field(default_factory=dict)  # the run config it was made with, minus the fields a
    #                                                      resume may change (run.py refuses a resume that differs)


def initial_state(seed: int) -> SearchState:
    """The state before generation 0: empty population, RNGs seeded from `seed`."""
    np_state = np.random.Generator(np.random.PCG64(seed)).bit_generator.state
    return SearchState(-1, [], [], [], [], {}, np_state, py_state_to_json(random.Random(seed).getstate()))


def py_state_to_json(state: tuple) -> list:
    """random.getstate() -> JSON lists."""
    version, internal, gauss = state
    return [version, list(internal), gauss]


def py_state_from_json(data: list) -> tuple:
    """Inverse of py_state_to_json."""
    version, internal, gauss = data
    return (version, tuple(internal), gauss)


def with_python_random(state: list, fn: Callable[[], Any]) -> tuple[Any, list]:
    """Run fn with Python's global random set to `state`; return (result, new state); restore the old."""
    saved = random.getstate()
    random.setstate(py_state_from_json(state))
    try:
        out = fn()
        return out, py_state_to_json(random.getstate())
    finally:
        random.setstate(saved)


def generator(state: SearchState) -> np.random.Generator:
    """A numpy Generator positioned at the state's np_rng."""
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state.np_rng
    return rng
