"""NSGA-II: crowded tournament selection and non-dominated sorting survival, for several objectives.

Deb, Pratap, Agarwal, Meyarivan, "A fast elitist non-dominated sorting genetic
algorithm for multi-objective optimization: NSGA-II", IEEE TEC 2002; DEAP's
selNSGA2 and sortNondominated.
"""
from __future__ import annotations

import random

import numpy as np
from deap import tools

from msenas.search.strategies.base import STRATEGIES, Strategy, select_and_vary


@STRATEGIES.register("nsga2")
class NSGA2(Strategy):
    """Children of crowded-tournament winners; the best `population` by front, then crowding, survive."""

    multi_objective = True

    def _ask(self, parents: list, n: int, rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
        return select_and_vary(self, crowded_tournament, parents, n, rng, py)

    def _tell(self, parents: list, children: list) -> list:
        return tools.selNSGA2(parents + children, self.cfg.population)


def crowded_tournament(individuals: list, k: int, size: int) -> list:
    """k picks, each the best of `size` random individuals by (front rank, then crowding distance)."""
    fronts = tools.sortNondominated(individuals, len(individuals))
    rank = {}
    for r, front in enumerate(fronts):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            rank[id(ind)] = r
    order = lambda ind: (-rank[id(ind)], ind.fitness.crowding_dist)  # noqa: E731
    return [max((random.choice(individuals) for _ in range(size)), key=order) for _ in range(k)]
