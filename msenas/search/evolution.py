"""Evolution over the genome's integer vector codec with DEAP: GA with elitism, (mu+lambda), NSGA-II.

Pan et al., "Multi-scale Evolutionary Neural Architecture Search for Deep
Spiking Neural Networks" (MSE-NAS), arXiv 2304.10749; Deb et al., "A fast
elitist non-dominated sorting genetic algorithm: NSGA-II", IEEE TEC 2002;
Fortin et al., "DEAP: Evolutionary Algorithms Made Easy", JMLR 2012.

One generation is a pure function of a `SearchState` (plain JSON data: vectors,
hall of fame, logbook, score cache, every RNG state): `Evolution.step` rebuilds
the DEAP individuals from it, runs the generation and returns the next state.
An uninterrupted run and a resumed one therefore take the same path.
Randomness: a numpy Generator draws the initial vectors and the variation; DEAP's
selection draws from Python's `random`, whose state is swapped in and out
around every selection so nothing else in the process can disturb it.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
from deap import base, creator, tools

from msenas.config import OBJECTIVES, SearchConfig
from msenas.genome import VectorCodec
from msenas.genome.space import SearchSpace, crossover_vectors, mutate_vector
from msenas.search.scoring import Engine, natural_objectives, score_vectors, weighted_objectives

# DEAP classes, created once: every objective is maximised (costs enter negated, see scoring.py).
for _n in range(1, len(OBJECTIVES) + 1):
    if not hasattr(creator, f"MsenasFitness{_n}"):
        creator.create(f"MsenasFitness{_n}", base.Fitness, weights=(1.0,) * _n)
        creator.create(f"MsenasIndividual{_n}", list, fitness=getattr(creator, f"MsenasFitness{_n}"))


@dataclass
class SearchState:
    """Everything a generation needs and produces; JSON-ready (see checkpoint.py)."""

    gen: int                                   # last completed generation; -1 before generation 0
    population: list[list[int]]
    hall_of_fame: list[list[int]]              # best first
    pareto: list[list[int]]                    # first front ever seen (multi-objective runs)
    logbook: list[dict]
    cache: dict[str, dict]                     # genome key -> record (plain dict)
    np_rng: dict                               # numpy bit_generator.state
    py_rng: list                               # random.getstate() as JSON lists
    engine: dict | None = None                 # fitness engine state after calibration


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


def _with_python_random(state: list, fn: Callable[[], Any]) -> tuple[Any, list]:
    """Run fn with Python's global random set to `state`; return (result, new state); restore the old."""
    saved = random.getstate()
    random.setstate(py_state_from_json(state))
    try:
        out = fn()
        return out, py_state_to_json(random.getstate())
    finally:
        random.setstate(saved)


def diversity(codec: VectorCodec, vectors: list[list[int]]) -> float:
    """Mean pairwise normalised Hamming distance of the canonical vectors (unused genes zeroed)."""
    if len(vectors) < 2:
        return 0.0
    v = np.asarray([codec.encode(codec.decode(x)) for x in vectors])  # [N, L]
    diff = (v[:, None, :] != v[None, :, :]).mean(axis=2)  # [N, N]
    n = len(v)
    return float(diff.sum() / (n * (n - 1)))


class Evolution:
    """GA (elitism), (mu+lambda) or NSGA-II over one search space; talks to the engine only via score()."""

    def __init__(self, cfg: SearchConfig, space: SearchSpace, engine: Engine):
        self.cfg, self.engine = cfg, engine
        self.codec = VectorCodec(space)
        self.objectives = tuple(cfg.objectives)
        self.Individual = getattr(creator, f"MsenasIndividual{len(self.objectives)}")

    # -- individuals <-> plain data ---------------------------------------------
    def _individual(self, vec: list[int], k: str, cache: dict[str, dict]):
        ind = self.Individual(vec)
        ind.key = k
        ind.fitness.values = weighted_objectives(cache[k], self.objectives)
        return ind

    def _individuals(self, vectors: list[list[int]], cache: dict[str, dict]) -> list:
        keys, _ = score_vectors(self.engine, self.codec, vectors, cache)  # all cached: no evaluation
        return [self._individual(list(v), k, cache) for v, k in zip(vectors, keys)]

    def _hall(self, hof: tools.HallOfFame, vectors: list[list[int]], cache: dict[str, dict]) -> tools.HallOfFame:
        hof.items = self._individuals(vectors, cache)
        hof.keys = [ind.fitness for ind in reversed(hof.items)]  # DEAP keeps keys ascending, items best first
        return hof

    # -- one generation ------------------------------------------------------
    def step(self, state: SearchState) -> SearchState:
        """Run generation state.gen + 1 and return the new state (the input is not modified)."""
        t0 = time.perf_counter()
        cache = dict(state.cache)
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = state.np_rng
        py = state.py_rng
        if state.gen < 0:
            vectors = [self.codec.random_vector(rng) for _ in range(self.cfg.population)]
            parents: list = []
        else:
            parents = self._individuals(state.population, cache)
            vectors, py = self._offspring(parents, rng, py)
        keys, stats = score_vectors(self.engine, self.codec, vectors, cache)
        children = [self._individual(list(v), k, cache) for v, k in zip(vectors, keys)]
        population = self._survivors(parents, children)
        hof = self._hall(tools.HallOfFame(self.cfg.hof_size, similar=_same_key), state.hall_of_fame, cache)
        hof.update(children)
        pareto = self._hall(tools.ParetoFront(similar=_same_key), state.pareto, cache)
        if len(self.objectives) > 1:
            pareto.update(children)
        gen = state.gen + 1
        entry = self._log_entry(gen, population, stats, cache, time.perf_counter() - t0)
        return replace(
            state, gen=gen, population=[list(p) for p in population], hall_of_fame=[list(h) for h in hof],
            pareto=[list(p) for p in pareto], logbook=state.logbook + [entry], cache=cache,
            np_rng=rng.bit_generator.state, py_rng=py,
        )

    def _offspring(self, parents: list, rng: np.random.Generator, py: list) -> tuple[list[list[int]], list]:
        cfg = self.cfg
        k = cfg.population - cfg.elites if cfg.algorithm == "ga" else cfg.n_offspring
        if cfg.algorithm == "nsga2":
            chosen, py = _with_python_random(py, lambda: _crowded_tournament(parents, k, cfg.tournament))
        else:
            chosen, py = _with_python_random(py, lambda: tools.selTournament(parents, k, cfg.tournament))
        return self._vary([list(p) for p in chosen], rng), py

    def _vary(self, kids: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
        """Cell-block two-point crossover of consecutive pairs (cxpb), then per-gene mutation (mutpb, indpb)."""
        for i in range(1, len(kids), 2):
            if rng.random() < self.cfg.cxpb:
                kids[i - 1], kids[i] = crossover_vectors(kids[i - 1], kids[i], self.codec.block_starts, rng)
        for i in range(len(kids)):
            if rng.random() < self.cfg.mutpb:
                kids[i] = mutate_vector(kids[i], self.codec.upper, rng, self.cfg.indpb)
        return kids

    def _survivors(self, parents: list, children: list) -> list:
        cfg = self.cfg
        if not parents:
            return children
        if cfg.algorithm == "ga":
            return tools.selBest(parents, cfg.elites) + children
        if cfg.algorithm == "mu_plus_lambda":
            return tools.selBest(parents + children, cfg.population)
        return tools.selNSGA2(parents + children, cfg.population)

    # -- statistics ----------------------------------------------------------
    def _log_entry(self, gen: int, population: list, stats, cache: dict[str, dict], seconds: float) -> dict:
        recs = [cache[p.key] for p in population]
        healthy = [r["fitness"] for r in recs if not r.get("error") and not r.get("dead")]
        fit = np.asarray(healthy or [r["fitness"] for r in recs], dtype=float)  # stats over healthy members
        entry = {
            "gen": gen, "best": float(fit.max()), "mean": float(fit.mean()), "std": float(fit.std()),
            "min": float(fit.min()), "diversity": diversity(self.codec, [list(p) for p in population]),
            "unique": len({p.key for p in population}) / len(population), "healthy": len(healthy),
            "evaluations": stats.evaluations, "cache_hits": stats.cache_hits,
            "failures": stats.failures, "dead": stats.dead, "time": round(seconds, 4),
        }
        if len(self.objectives) > 1:
            front = tools.sortNondominated(population, len(population), first_front_only=True)[0]
            entry["front"] = sorted({natural_objectives(cache[p.key], self.objectives) for p in front})
            entry["front"] = [list(o) for o in entry["front"]]
        return entry

    def objectives_of(self, k: str, cache: dict[str, dict]) -> dict[str, float]:
        """Natural-sign objective values of a scored genome key."""
        return dict(zip(self.objectives, natural_objectives(cache[k], self.objectives)))


def _same_key(a, b) -> bool:
    return a.key == b.key


def _crowded_tournament(individuals: list, k: int, size: int) -> list:
    """k picks, each the best of `size` random individuals by (front rank, then crowding distance)."""
    fronts = tools.sortNondominated(individuals, len(individuals))
    rank = {}
    for r, front in enumerate(fronts):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            rank[id(ind)] = r
    order = lambda ind: (-rank[id(ind)], ind.fitness.crowding_dist)  # noqa: E731
    return [max((random.choice(individuals) for _ in range(size)), key=order) for _ in range(k)]
