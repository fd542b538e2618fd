"""Genetic algorithm with elitism: tournament selection, cell-block crossover, per-gene mutation.

The evolution of MSE-NAS (Pan et al., arXiv 2304.10749), on DEAP (Fortin et al.,
"DEAP: Evolutionary Algorithms Made Easy", JMLR 2012): each generation the
`elites` best parents survive unchanged beside population - elites children.
"""
from __future__ import annotations

import numpy as np
from deap import tools

from msenas.search.config import SearchConfig
from msenas.search.strategies.base import STRATEGIES, Strategy, select_and_vary


@STRATEGIES.register("ga")
class GA(Strategy):
    """Generational GA: elites + children of tournament-selected parents."""

    @classmethod
    def children_of(cls, cfg: SearchConfig) -> int:
        return cfg.population - cfg.elites

    def _ask(self, parents: list, n: int, rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
        return select_and_vary(self, tools.selTournament, parents, n, rng, py)

    def _tell(self, parents: list, children: list) -> list:
        return tools.selBest(parents, self.cfg.elites) + children
