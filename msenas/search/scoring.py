"""Score vectors through the fitness engine, once per genome key (the score cache), and what the search needs of
an engine."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Protocol, Sequence

from msenas.genome.types import Genome


class Engine(Protocol):
    """What the search needs from a fitness engine (msenas.fitness.engine.FitnessEngine)."""

    def needs_calibration(self) -> bool: ...
    def calibrate(self, genomes: Sequence[Genome], progress: Callable[[], None] | None = None) -> None: ...
    def score(self, genomes: Sequence[Genome]) -> list[Any]: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, d: dict) -> None: ...
    def close(self) -> None: ...


class AsyncEngine(Engine, Protocol):
    """An engine that also scores genomes one by one as workers free up (async search)."""

    capacity: int
    pending: int

    def submit(self, tag: Hashable, genome: Genome) -> None: ...
    def poll(self, timeout: float | None = None) -> list[tuple[Hashable, Any]]: ...


@dataclass(frozen=True)
class ScoreStats:
    """What one scoring call did."""

    evaluations: int  # genomes sent to the engine
    cache_hits: int   # vectors whose genome key was already scored
    failures: int     # new records with an error
    dead: int         # new records flagged dead (silent network)

    def as_dict(self) -> dict[str, int]:
        """Plain dict for the logbook."""
        return {"evaluations": self.evaluations, "cache_hits": self.cache_hits, "failures": self.failures,
                "dead": self.dead}


def plain(value: Any) -> Any:
    """Record values -> JSON-ready Python values (msenas.config.to_plain)."""
    from msenas.config import to_plain

    return to_plain(value)


def events(engine: Any) -> dict[str, int]:
    """Worker deaths, retries and timeouts since the last call (zeros for an engine that has no workers)."""
    taken = engine.take_events() if hasattr(engine, "take_events") else {}
    return {k: int(taken.get(k, 0)) for k in ("worker_deaths", "retries", "timeouts")}


def score_vectors(engine: Engine, genome_of: Callable[[list[int]], Genome], key_of: Callable[[list[int]], str],
                  vectors: Sequence[Sequence[int]], cache: dict[str, dict]) -> tuple[list[dict], ScoreStats]:
    """New records (in scoring order) of the vectors not yet in `cache`, added to it, and what was done."""
    keys = [key_of(list(v)) for v in vectors]
    todo: dict[str, Genome] = {}
    for k, v in zip(keys, vectors):
        if k not in cache and k not in todo:
            todo[k] = genome_of(list(v))
    records = engine.score(list(todo.values())) if todo else []
    if len(records) != len(todo):
        raise RuntimeError(f"fitness engine returned {len(records)} records for {len(todo)} genomes")
    new = [plain(r) for r in records]
    for k, rec in zip(todo, new):
        cache[k] = rec
    stats = ScoreStats(
        evaluations=len(todo),
        cache_hits=len(vectors) - len(todo),
        failures=sum(1 for r in new if r.get("error")),
        dead=sum(1 for r in new if r.get("dead")),
    )
    return new, stats
