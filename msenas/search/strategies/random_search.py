"""Random search: every genome drawn uniformly from the space; the hall of fame keeps the best.

The baseline every NAS comparison reports (Li and Talwalkar, "Random Search and
Reproducibility for Neural Architecture Search", UAI 2019). Its population is
simply the last `population` genomes evaluated. Under a budget each draw is
repeated (at most MAX_TRIES times) until it fits the params and MACs limits; a
genome over an SOPs or energy limit is costed, not trained (fitness engine).
"""
from __future__ import annotations

import numpy as np

from msenas.search.strategies.base import STRATEGIES, SteadyState


@STRATEGIES.register("random")
class RandomSearch(SteadyState):
    """Uniform samples of the vector codec, nothing learned from the records."""

    multi_objective = True

    def _ask_one(self, population: list, rng: np.random.Generator) -> list[int]:
        return self.random_vector(rng)
