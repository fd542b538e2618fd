"""The two ways a strategy runs: generations (a barrier per batch) or asynchronously (no barrier).

Generational: `step(strategy, engine, state)` asks a batch, scores it through
the engine (once per genome key) and tells it: one generation, a pure function
of the state, so a resumed run takes the uninterrupted path.

Asynchronous (`AsyncLoop`, steady-state strategies): whenever a worker is free
the strategy proposes one genome; whenever a record arrives it is told at once.
Every completed evaluation is appended to evaluations.jsonl with the number of
proposals made before it (`asks`); since a proposal is a pure function of the
state, the state after any prefix of that log is reproducible: a resumed run
replays the log past its checkpoint, re-submits what was in flight, and goes
on. What is not reproducible is the completion order itself (it depends on
timing); the log records it, so a run can be replayed exactly.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Callable, Hashable

from msenas.search.scoring import AsyncEngine, Engine, events, plain, score_vectors
from msenas.search.state import SearchState
from msenas.search.strategies import SteadyState, Strategy

MAX_ASKS_PER_EVALUATION = 20  # an async search that keeps proposing cached genomes stops after this many per budget


def step(strategy: Strategy, engine: Engine, state: SearchState) -> tuple[SearchState, list[tuple[list[int], dict]]]:
    """Run generation state.gen + 1: (the new state, (vector, record) of each new evaluation in scoring order).

    The input state is not modified.
    """
    t0 = time.perf_counter()
    vectors, state = strategy.ask(state)
    cache = dict(state.cache)
    new, stats = score_vectors(engine, strategy.genome, strategy.key, vectors, cache)
    state = replace(state, cache=cache, evaluations=state.evaluations + stats.evaluations)
    state = strategy.tell(state, vectors, {**stats.as_dict(), **events(engine)}, time.perf_counter() - t0)
    vector_of = {strategy.key(v): list(v) for v in reversed(vectors)}
    return state, [(vector_of[r["key"]], r) for r in new]


class AsyncLoop:
    """Steady-state search without a generation barrier, replayable from its evaluation log.

    `on_evaluation(line)` is called with every completed evaluation's log line
    (before it is told); `on_entry(state)` after every `population` evaluations
    and at the end (the state then carries a new logbook entry: checkpoint it).
    """

    def __init__(self, strategy: SteadyState, engine: AsyncEngine, budget: int,
                 on_evaluation: Callable[[dict], None] = lambda line: None,
                 on_entry: Callable[[SearchState], None] = lambda state: None,
                 on_progress: Callable[[SearchState, int], None] = lambda state, busy: None):
        self.strategy, self.engine, self.budget = strategy, engine, budget
        self.on_evaluation, self.on_entry, self.on_progress = on_evaluation, on_entry, on_progress
        self.leader: dict[str, int] = {}              # genome key -> tag whose evaluation is running
        self.window = self._new_window()

    @staticmethod
    def _new_window() -> dict[str, Any]:
        return {"evaluations": 0, "cache_hits": 0, "failures": 0, "dead": 0, "busy": 0.0, "t0": time.perf_counter()}

    # -- proposals ------------------------------------------------------------------
    def _can_ask(self, state: SearchState) -> bool:
        running = len(self.leader)
        return (state.evaluations + running < self.budget
                and state.asks < MAX_ASKS_PER_EVALUATION * self.budget)

    def _ask(self, state: SearchState, submit: bool) -> SearchState:
        """One proposal: told at once when cached, else in flight (submitted unless replaying)."""
        tag = state.asks
        vec, state = self.strategy.ask_one(state)
        k = self.strategy.key(vec)
        if k in state.cache:
            self.window["cache_hits"] += 1
            return self.strategy.tell_one(state, vec)
        state = replace(state, inflight=state.inflight + [[tag, list(vec)]])
        if k not in self.leader:
            self.leader[k] = tag
            if submit:
                self.engine.submit(tag, self.strategy.genome(vec))
        return state

    # -- completions ----------------------------------------------------------------
    def _complete(self, state: SearchState, tag: Hashable, record: dict, log: bool) -> SearchState:
        """Store a record and tell its genome (and any proposal of the same genome waiting on it)."""
        vec = next(v for t, v in state.inflight if t == tag)
        k = self.strategy.key(vec)
        if log:
            self.on_evaluation({"n": state.evaluations + 1, "tag": tag, "asks": state.asks, "key": k,
                                "vector": list(vec), "record": record})
        cache = dict(state.cache)
        cache[k] = record
        state = replace(state, cache=cache, evaluations=state.evaluations + 1)
        del self.leader[k]
        w = self.window
        w["evaluations"] += 1
        w["failures"] += bool(record.get("error"))
        w["dead"] += bool(record.get("dead"))
        w["busy"] += float(record.get("wall_time") or 0.0)
        for t, v in [(t, v) for t, v in state.inflight if self.strategy.key(v) == k]:
            state = replace(state, inflight=[iv for iv in state.inflight if iv[0] != t])
            state = self.strategy.tell_one(state, v)
        if state.evaluations % self.strategy.cfg.population == 0:
            state = self._entry(state)
        return state

    def _entry(self, state: SearchState) -> SearchState:
        """Append a logbook entry for the evaluations since the last one."""
        w, seconds = self.window, time.perf_counter() - self.window["t0"]
        cap = max(1, getattr(self.engine, "capacity", 1))
        stats = {k: w[k] for k in ("evaluations", "cache_hits", "failures", "dead")} | events(self.engine)
        stats["busy"] = round(min(1.0, w["busy"] / (seconds * cap)), 4) if seconds > 0 else 0.0
        gen = math.ceil(state.evaluations / self.strategy.cfg.population) - 1
        entry = self.strategy.log_entry(gen, state.population, state.cache, stats, seconds)
        self.window = self._new_window()
        state = replace(state, gen=gen, logbook=state.logbook + [entry])
        self.on_entry(state)
        return state

    # -- the loop ---------------------------------------------------------------------
    def replay(self, state: SearchState, lines: list[dict]) -> SearchState:
        """The state after the logged completions past the checkpoint (nothing is evaluated or logged)."""
        self.leader = {}
        for tag, vec in state.inflight:
            self.leader.setdefault(self.strategy.key(vec), tag)
        for line in lines:
            while state.asks < line["asks"]:
                state = self._ask(state, submit=False)
            state = self._complete(state, line["tag"], line["record"], log=False)
        return state

    def run(self, state: SearchState, lines: list[dict] = ()) -> SearchState:
        """Replay `lines`, re-submit what is in flight, then search until the budget is spent."""
        state = self.replay(state, list(lines))
        for tag, vec in state.inflight:
            if self.leader.get(self.strategy.key(vec)) == tag:
                self.engine.submit(tag, self.strategy.genome(vec))
        self.window = self._new_window()
        while True:
            while self.engine.pending < self.engine.capacity and self._can_ask(state):
                state = self._ask(state, submit=True)
            if self.engine.pending == 0 and not self._can_ask(state):
                break
            for tag, rec in self.engine.poll(timeout=1.0):
                state = self._complete(state, tag, plain(rec), log=True)
            self.on_progress(state, self.engine.pending)
        if self.window["evaluations"] or not state.logbook:
            state = self._entry(state)
        return state
