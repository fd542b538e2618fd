"""Every registered strategy, through the same checks: same seed same search, resume = uninterrupted,
failed and dead genomes handled, budget respected; async runs replay and resume; ported strategies unchanged.

`CostEngine` implements the engine protocol (batch and one-by-one) on real genomes with a cheap, real
fitness: log(params) from msenas.nn.cost.complexity (no network is built). Genomes whose key hashes to
0 mod 7 fail and to 0 mod 5 are dead, as a real engine reports them. It completes submitted genomes
first in, first out, `capacity` at a time: the completion order of a real cluster varies, this one is
fixed, so resumed and uninterrupted async runs can be compared exactly.
"""
from __future__ import annotations

import collections
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import generations

from msenas.fitness.record import WORST_FITNESS, Record
from msenas.genome import get_space, io
from msenas.nn.cost import complexity
from msenas.rundir import read_jsonl
from msenas.search import STRATEGIES, checkpoint
from msenas.search.config import load_config
from msenas.search.loop import AsyncLoop
from msenas.search.results import evaluation_lines
from msenas.search.run import SearchInterrupted, run_search
from msenas.search.state import initial_state

SPACE = get_space("tiny")
GOLDEN = Path(__file__).parent / "data" / "strategies_before_protocol.json"


class CostEngine:
    """log(params) fitness; some genomes fail or are dead; FIFO completion, `capacity` at a time."""

    def __init__(self, capacity: int = 2, faults: bool = True, interrupt_after: int | None = None):
        self.capacity, self.faults, self.interrupt_after = capacity, faults, interrupt_after
        self.queue: collections.deque = collections.deque()
        self.completed = 0
        self.scored: list[str] = []

    def needs_calibration(self) -> bool:
        return False

    def calibrate(self, genomes, progress=None) -> None:
        pass

    def record(self, g) -> Record:
        k = io.key(g)
        self.scored.append(k)
        c = complexity(g, (1, 8, 8), 4, 2)
        h = int(k, 16)
        if self.faults and h % 7 == 0:
            return Record(key=k, error="RuntimeError: injected failure")
        dead = self.faults and h % 5 == 0
        return Record(key=k, fitness=WORST_FITNESS if dead else math.log(c.params),
                      proxies={"log_params": math.log(c.params)}, dead=dead, spikes=c.macs / 1000,
                      params=c.params, macs=c.macs, wall_time=0.01)

    def score(self, genomes) -> list[Record]:
        return [self.record(g) for g in genomes]

    def submit(self, tag, genome) -> None:
        self.queue.append((tag, genome))

    def poll(self, timeout=None):
        if self.interrupt_after is not None and self.completed >= self.interrupt_after:
            raise KeyboardInterrupt
        if not self.queue:
            return []
        tag, g = self.queue.popleft()
        self.completed += 1
        return [(tag, self.record(g))]

    @property
    def pending(self) -> int:
        return len(self.queue)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None:
        pass

    def close(self) -> None:
        pass


def config(name: str, mode: str = "sync", **search):
    """A tiny run config for strategy `name` (two objectives for a multi-objective-only strategy)."""
    objectives = ("fitness", "spikes") if name == "nsga2" else ("fitness",)
    sets = {"algorithm": name, "mode": mode, "population": 6, "generations": 4, "workers": 0,
            "objectives": list(objectives), "tournament": 3, **search}
    return load_config(None, ['space="tiny"', "data.options.size=8",
                              *[f"search.{k}={json.dumps(v)}" for k, v in sets.items()]])


def evolve(cfg, engine, state=None):
    """The states after each generation of cfg's strategy on the tiny space."""
    strategy = STRATEGIES.get(cfg.search.algorithm)(cfg.search, SPACE)
    return generations(strategy, engine, state or initial_state(cfg.seed), cfg.search.generations)


def summary(state):
    return state.population, state.hall_of_fame, state.pareto, sorted(state.cache), state.evaluations


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_same_seed_same_search_and_any_checkpoint_resumes_to_the_uninterrupted_run(name):
    cfg = config(name)
    states = evolve(cfg, CostEngine())
    assert summary(evolve(cfg, CostEngine())[-1]) == summary(states[-1])
    assert summary(evolve(replace(cfg, seed=1), CostEngine())[-1]) != summary(states[-1])
    for mid in states[:-1]:
        restored = checkpoint.decode(checkpoint.encode(mid))
        assert restored == mid
        assert summary(evolve(cfg, CostEngine(), restored)[-1]) == summary(states[-1])


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_failed_and_dead_genomes_are_kept_out_of_the_lead_and_the_budget_holds(name):
    cfg = config(name, generations=6)
    engine = CostEngine()
    final = evolve(cfg, engine)[-1]
    recs = list(final.cache.values())
    assert any(r["error"] for r in recs) and any(r["dead"] for r in recs)       # the faults did happen
    best = final.cache[io.key(STRATEGIES.get(name)(cfg.search, SPACE).genome(final.hall_of_fame[0]))]
    assert not best["error"] and not best["dead"]
    assert final.evaluations == len(engine.scored) == len(set(engine.scored)) <= cfg.search.max_evaluations()
    assert all(math.isfinite(e["best"]) for e in final.logbook)


def test_ported_strategies_give_the_results_they_gave_before_the_protocol():
    golden = json.loads(GOLDEN.read_text())    # written by the pre-protocol Evolution class (commit 561d939)
    for run, want in golden.items():
        name, seed = run.rsplit("-", 1)
        objectives = ["fitness", "spikes"] if name == "nsga2" else ["fitness"]
        cfg = load_config(None, ['space="tiny"', "search.workers=0", "search.population=8", "search.generations=5",
                                 f'search.algorithm="{name}"', f"search.objectives={json.dumps(objectives)}",
                                 f"seed={seed}"])
        final = evolve(cfg, CostEngine(faults=False))[-1]
        strategy = STRATEGIES.get(name)(cfg.search, SPACE)
        keys = lambda vs: [strategy.key(v) for v in vs]  # noqa: E731
        assert keys(final.population) == want["population"], run
        assert keys(final.hall_of_fame) == want["hall_of_fame"], run
        assert keys(final.pareto) == want["pareto"], run
        assert [e["best"] for e in final.logbook] == want["best"], run


STEADY = [n for n, s in STRATEGIES.items() if s.steady]


@pytest.mark.parametrize("name", STEADY)
def test_async_search_spends_exactly_its_budget_and_replays_from_its_log(name, tmp_path):
    cfg = config(name, mode="async", evaluations=23)
    final = run_search(cfg, tmp_path / "run", engine=CostEngine(), progress=False)
    assert final.evaluations == 23 and not final.inflight
    lines = evaluation_lines(tmp_path / "run")
    assert [e["n"] for e in lines] == list(range(1, 24))
    logged = read_jsonl(tmp_path / "run" / "generations.jsonl", "gen")[0]
    assert [e["gen"] for e in logged] == [0, 1, 2, 3]                     # after 6, 12, 18 and 23 evaluations
    assert [e["evaluations"] for e in logged] == [6, 6, 6, 5] and all(0 < e["busy"] <= 1 for e in logged)
    strategy = STRATEGIES.get(name)(cfg.search, SPACE)
    replayed = AsyncLoop(strategy, CostEngine(), 23).replay(replace(initial_state(cfg.seed), engine={}), lines)
    assert summary(replayed) == summary(final)
    assert replayed.np_rng == final.np_rng and replayed.asks == final.asks


@pytest.mark.parametrize("name", STEADY)
@pytest.mark.parametrize("cut", [1, 5, 6, 13])
def test_an_interrupted_async_search_resumes_to_the_uninterrupted_result(name, cut, tmp_path):
    cfg = config(name, mode="async", evaluations=20)
    full = run_search(cfg, tmp_path / "full", engine=CostEngine(), progress=False)
    with pytest.raises(SearchInterrupted):
        run_search(cfg, tmp_path / "cut", engine=CostEngine(interrupt_after=cut), progress=False)
    saved = checkpoint.load(tmp_path / "cut")
    assert saved.evaluations <= cut and len(evaluation_lines(tmp_path / "cut")) == cut
    resumed = run_search(cfg, tmp_path / "cut", resume=True, engine=CostEngine(), progress=False)
    assert summary(resumed) == summary(full)
    assert evaluation_lines(tmp_path / "cut") == evaluation_lines(tmp_path / "full")


def test_async_mode_needs_a_steady_state_strategy():
    from msenas.config import ConfigError

    with pytest.raises(ConfigError, match=r"^search\.mode: 'async' needs a steady-state strategy"):
        config("ga", mode="async")
