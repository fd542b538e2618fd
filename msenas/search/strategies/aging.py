"""Regularized (aging) evolution: mutate the best of a random sample; the oldest genome dies.

Real, Aggarwal, Huang, Le, "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019 (the strategy behind AmoebaNet). Population P
(search.population) in order of birth; each child: sample S (search.tournament)
members with replacement, mutate the best of them (per-gene mutation, redrawn
until the genome itself changes), append the child, remove the oldest. It needs
no generation barrier: in async mode each worker takes the next child as soon
as it is free.
"""
from __future__ import annotations

import numpy as np

from msenas.genome import mutate_vector
from msenas.search.strategies.base import STRATEGIES, SteadyState


@STRATEGIES.register("aging")
class Aging(SteadyState):
    """Tournament of S on the population, mutate the winner, the oldest leaves."""

    def _ask_one(self, population: list, rng: np.random.Generator) -> list[int]:
        picks = rng.integers(len(population), size=self.cfg.tournament)
        parent = population[max(picks.tolist(), key=lambda i: population[i].fitness)]   # Deb: feasibility first
        for _ in range(100):                 # a draw may only touch unused genes: draw again
            child = mutate_vector(list(parent), self.codec.upper, rng, self.cfg.indpb)
            if self.key(child) != parent.key:
                return child
        return child
