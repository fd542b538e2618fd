"""(mu + lambda) evolution: lambda children of tournament-selected parents; the best mu of both survive.

Back and Schwefel's (mu + lambda) scheme, as DEAP's eaMuPlusLambda selects
(Fortin et al., JMLR 2012); mu = population, lambda = offspring.
"""
from __future__ import annotations

import numpy as np
from deap import tools

from msenas.search.strategies.base import STRATEGIES, Strategy, select_and_vary


@STRATEGIES.register("mu_plus_lambda")
class MuPlusLambda(Strategy):
    """Parents and children compete; the best `population` survive."""

    def _ask(self, parents: list, n: int, rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
        return select_and_vary(self, tools.selTournament, parents, n, rng, py)

    def _tell(self, parents: list, children: list) -> list:
        return tools.selBest(parents + children, self.cfg.population)
