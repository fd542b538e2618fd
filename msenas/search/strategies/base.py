"""The strategy protocol: ask for genomes, tell their records; the base keeps the bookkeeping every strategy shares.

After evosax's algorithms/base.py (a template method: the base does ask/tell
on a plain state, each algorithm file fills in `_ask`/`_tell`) and Ray Tune's
Searcher (suggest/observe with save/restore as plain data). The base owns the
score cache (records by genome key, in SearchState.cache), the hall of fame and
Pareto front (DEAP), the logbook, both RNG streams and the evaluation count;
a strategy owns only its population rule.

Under a budget (`search.budget`, msenas.search.budget) every comparison follows
Deb's feasibility rules: the DEAP fitness of an individual carries the record's
violation, and compares (and dominates) by it first, so tournaments, elitism,
the hall of fame and NSGA-II's constrained domination need no change; random
draws (generation 0, random search) are made within the budget's params and
MACs limits.

Two ways to run (msenas.search.loop): generational (`ask` a batch, score it,
`tell` the batch: one generation) for every strategy, and asynchronous
(`ask_one` when a worker is free, `tell_one` when a record arrives) for
steady-state strategies (`steady = True`).
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any, Callable, ClassVar

import numpy as np
from deap import base, creator, tools

from msenas.fitness.record import usable
from msenas.genome import Genome, VectorCodec, crossover_vectors, key, mutate_vector
from msenas.genome.space import SearchSpace
from msenas.search.budget import order_key, sample_within
from msenas.search.config import SearchConfig
from msenas.search.objectives import OBJECTIVES, natural_objectives, weighted_objectives
from msenas.search.state import SearchState, generator, with_python_random
from msenas.search.strategies.registry import STRATEGIES  # noqa: F401  (re-exported: the registry of this package)


class ConstrainedFitness(base.Fitness):
    """A DEAP fitness ordered by Deb's feasibility rules: the smaller violation first, then the values.

    With no budget every violation is 0 and this is DEAP's Fitness exactly. A
    failed or dead genome under a budget has an infinite violation.
    """

    violation: float = 0.0

    def _key(self) -> tuple:
        return (-self.violation, self.wvalues)

    def dominates(self, other, obj=slice(None)) -> bool:
        """Constrained domination (Deb 2002): feasible over infeasible, smaller violation, then Pareto."""
        if self.violation != other.violation:
            return self.violation < other.violation
        return super().dominates(other, obj)

    def __gt__(self, other): return self._key() > other._key()         # noqa: E704
    def __ge__(self, other): return self._key() >= other._key()        # noqa: E704
    def __lt__(self, other): return self._key() < other._key()         # noqa: E704
    def __le__(self, other): return self._key() <= other._key()        # noqa: E704
    def __eq__(self, other): return self._key() == other._key()        # noqa: E704
    def __ne__(self, other): return self._key() != other._key()        # noqa: E704
    def __hash__(self): return hash(self._key())                       # noqa: E704

    def __deepcopy__(self, memo):
        copy_ = super().__deepcopy__(memo)
        copy_.violation = self.violation
        return copy_


# DEAP classes, created once: every objective is maximised (costs enter negated, see objectives.py).
for _n in range(1, len(OBJECTIVES) + 1):
    if not hasattr(creator, f"MsenasFitness{_n}"):
        creator.create(f"MsenasFitness{_n}", ConstrainedFitness, weights=(1.0,) * _n)
        creator.create(f"MsenasIndividual{_n}", list, fitness=getattr(creator, f"MsenasFitness{_n}"))


class Strategy:
    """Base of every search strategy; subclasses implement `_ask` and `_tell` (and `_ask_one` when steady)."""

    steady: ClassVar[bool] = False    # proposes one genome at a time from its population (async-capable)
    multi_objective: ClassVar[bool] = False

    def __init__(self, cfg: SearchConfig, space: SearchSpace, static_costs: Callable[[Genome], dict] | None = None):
        self.cfg = cfg
        self.space = space
        self.codec = VectorCodec(space)
        self.objectives = tuple(cfg.objectives)
        self.Individual = getattr(creator, f"MsenasIndividual{len(self.objectives)}")
        self.budget = cfg.budget if cfg.budget.active else None
        self.static_costs = static_costs      # genome -> params and macs (needed by a params or macs limit)

    # -- what a strategy file implements --------------------------------------
    @classmethod
    def children_of(cls, cfg: SearchConfig) -> int:
        """Genomes one generation asks for (after generation 0, which is `population` random ones)."""
        return cfg.n_offspring

    def children(self) -> int:
        """children_of(this strategy's config)."""
        return self.children_of(self.cfg)

    def _ask(self, parents: list, n: int, rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
        """n child vectors from the parents (DEAP individuals); returns (vectors, new Python random state)."""
        raise NotImplementedError

    def _tell(self, parents: list, children: list) -> list:
        """The next population (individuals) from the parents and the scored children."""
        raise NotImplementedError

    # -- decoding, once per vector per process ----------------------------------
    @functools.lru_cache(maxsize=65536)
    def _decoded(self, vec: tuple[int, ...]) -> tuple[Genome, str]:
        g = self.codec.decode(list(vec))
        return g, key(g)

    def genome(self, vec: list[int]) -> Genome:
        """The genome of a vector (decoded once, then remembered)."""
        return self._decoded(tuple(vec))[0]

    def key(self, vec: list[int]) -> str:
        """The genome key of a vector."""
        return self._decoded(tuple(vec))[1]

    def random_vector(self, rng: np.random.Generator) -> list[int]:
        """A uniformly random in-bounds vector; under a budget, the first of at most MAX_TRIES within its
        params and macs limits (BudgetError when none is)."""
        if self.budget is None or self.static_costs is None:
            return self.codec.random_vector(rng)
        return sample_within(lambda: self.codec.random_vector(rng), lambda v: self.static_costs(self.genome(v)),
                             self.budget, f"space {self.space.name!r}")

    def random_vectors(self, n: int, rng: np.random.Generator) -> list[list[int]]:
        """n random vectors (random_vector)."""
        return [self.random_vector(rng) for _ in range(n)]

    # -- individuals <-> plain data ---------------------------------------------
    def individual(self, vec: list[int], cache: dict[str, dict]):
        """A DEAP individual of a scored vector, with its objectives as fitness values."""
        ind = self.Individual(list(vec))
        ind.key = self.key(vec)
        ind.fitness.values = weighted_objectives(cache[ind.key], self.objectives)
        ind.fitness.violation = self.violation(cache[ind.key])
        return ind

    def violation(self, record: dict) -> float:
        """Deb's first criterion for a record: 0 without a budget; infinite for a failed or dead genome."""
        return 0.0 if self.budget is None else order_key(record, self.budget)

    def individuals(self, vectors: list[list[int]], cache: dict[str, dict]) -> list:
        """DEAP individuals of scored vectors."""
        return [self.individual(v, cache) for v in vectors]

    def objectives_of(self, k: str, cache: dict[str, dict]) -> dict[str, float]:
        """Natural-sign objective values of a scored genome key."""
        return dict(zip(self.objectives, natural_objectives(cache[k], self.objectives)))

    # -- the generational protocol ------------------------------------------------
    def ask(self, state: SearchState, n: int | None = None) -> tuple[list[list[int]], SearchState]:
        """The vectors of the next generation (generation 0: `population` random ones) and the state after drawing."""
        rng, py = generator(state), state.py_rng
        if state.gen < 0:
            vectors = self.random_vectors(self.cfg.population, rng)
        else:
            parents = self.individuals(state.population, state.cache)
            vectors, py = self._ask(parents, self.children() if n is None else n, rng, py)
        return vectors, replace(state, np_rng=rng.bit_generator.state, py_rng=py, asks=state.asks + len(vectors))

    def tell(self, state: SearchState, vectors: list[list[int]], stats: dict[str, Any], seconds: float) -> SearchState:
        """The state after a generation whose vectors are scored (their records in state.cache)."""
        cache = state.cache
        children = self.individuals(vectors, cache)
        parents = self.individuals(state.population, cache) if state.gen >= 0 else []
        population = self._tell(parents, children) if parents else children
        state = self.remember(state, children)
        entry = self.log_entry(state.gen + 1, [list(p) for p in population], cache, stats, seconds)
        return replace(state, gen=state.gen + 1, population=[list(p) for p in population],
                       logbook=state.logbook + [entry])

    # -- hall of fame, front and logbook (shared) ---------------------------------
    def remember(self, state: SearchState, children: list) -> SearchState:
        """The state with the scored children offered to the hall of fame (and Pareto front)."""
        cache = state.cache
        hof = self._hall(tools.HallOfFame(self.cfg.hof_size, similar=_same_key), state.hall_of_fame, cache)
        hof.update(children)
        pareto = self._hall(tools.ParetoFront(similar=_same_key), state.pareto, cache)
        if len(self.objectives) > 1:
            pareto.update(children)
        return replace(state, hall_of_fame=[list(h) for h in hof], pareto=[list(p) for p in pareto])

    def _hall(self, hof, vectors: list[list[int]], cache: dict[str, dict]):
        hof.items = self.individuals(vectors, cache)
        hof.keys = [ind.fitness for ind in reversed(hof.items)]  # DEAP keeps keys ascending, items best first
        return hof

    def log_entry(self, gen: int, population: list[list[int]], cache: dict[str, dict], stats: dict[str, Any],
                  seconds: float) -> dict:
        """One generations.jsonl line: fitness statistics of the population's healthy members, diversity, counts."""
        recs = [cache[self.key(v)] for v in population]
        healthy = [r for r in recs if usable(r)]
        feasible = [r for r in healthy if self.violation(r) == 0]
        summary = FITNESS_STATS.compile(feasible or healthy or recs)   # stats over healthy (feasible) members
        entry = {"gen": gen, **{k: float(v) for k, v in summary.items()},
                 "diversity": diversity(self.codec, population, self.genome),
                 "unique": len({self.key(v) for v in population}) / len(population), "healthy": len(healthy),
                 **({"feasible": len(feasible)} if self.budget is not None else {}),
                 **stats, "time": round(seconds, 4)}
        if len(self.objectives) > 1:
            inds = self.individuals(population, cache)
            front = tools.sortNondominated(inds, len(inds), first_front_only=True)[0]
            entry["front"] = [list(o) for o in sorted({natural_objectives(cache[p.key], self.objectives)
                                                       for p in front})]
        return entry


class SteadyState(Strategy):
    """A population in order of birth: children join at the end, the oldest leave (one at a time in async mode).

    A subclass implements `_ask_one(population individuals, rng) -> vector`.
    """

    steady: ClassVar[bool] = True

    def _ask_one(self, population: list, rng: np.random.Generator) -> list[int]:
        raise NotImplementedError

    def _ask(self, parents: list, n: int, rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
        return [self._ask_one(parents, rng) for _ in range(n)], py

    def _tell(self, parents: list, children: list) -> list:
        return (list(parents) + list(children))[-self.cfg.population:]

    def ask_one(self, state: SearchState) -> tuple[list[int], SearchState]:
        """One genome for a free worker: random until `population` genomes are out, then the strategy's rule."""
        rng = generator(state)
        if not state.population or len(state.population) + len(state.inflight) < self.cfg.population:
            vec = self.random_vector(rng)
        else:
            vec = self._ask_one(self.individuals(state.population, state.cache), rng)
        return vec, replace(state, np_rng=rng.bit_generator.state, asks=state.asks + 1)

    def tell_one(self, state: SearchState, vec: list[int]) -> SearchState:
        """The state after one scored genome (its record in state.cache) joins the population."""
        state = self.remember(state, [self.individual(vec, state.cache)])
        return replace(state, population=(state.population + [list(vec)])[-self.cfg.population:])


def vary(strategy: Strategy, kids: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
    """Cell-block two-point crossover of consecutive pairs (cxpb), then per-gene mutation (mutpb, indpb)."""
    cfg, codec = strategy.cfg, strategy.codec
    for i in range(1, len(kids), 2):
        if rng.random() < cfg.cxpb:
            kids[i - 1], kids[i] = crossover_vectors(kids[i - 1], kids[i], codec.block_starts, rng)
    for i in range(len(kids)):
        if rng.random() < cfg.mutpb:
            kids[i] = mutate_vector(kids[i], codec.upper, rng, cfg.indpb)
    return kids


def select_and_vary(strategy: Strategy, select: Callable[[list, int, int], list], parents: list, n: int,
                    rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
    """n children: `select(parents, n, tournament size)` under the search's Python random state, then `vary`;
    returns (child vectors, the new Python random state)."""
    chosen, py = with_python_random(py, lambda: select(parents, n, strategy.cfg.tournament))
    return vary(strategy, [list(p) for p in chosen], rng), py


def _fitness_of(record: dict) -> float:
    return record["fitness"]


FITNESS_STATS = tools.Statistics(_fitness_of)      # DEAP's statistics over records' fitness
FITNESS_STATS.register("best", np.max)
FITNESS_STATS.register("mean", np.mean)
FITNESS_STATS.register("std", np.std)
FITNESS_STATS.register("min", np.min)


def _same_key(a, b) -> bool:
    return a.key == b.key


def diversity(codec: VectorCodec, vectors: list[list[int]], decode=None) -> float:
    """Mean pairwise normalised Hamming distance of the canonical vectors (unused genes zeroed)."""
    if len(vectors) < 2:
        return 0.0
    decode = decode or codec.decode
    v = np.asarray([codec.encode(decode(x)) for x in vectors])  # [N, L]
    diff = (v[:, None, :] != v[None, :, :]).mean(axis=2)  # [N, N]
    n = len(v)
    return float(diff.sum() / (n * (n - 1)))
