"""Score integer vectors through the fitness engine, once per genome key (a score cache).

Objectives: "fitness" (maximised) and the record costs "spikes", "sops",
"params", "macs" (minimised). Inside DEAP every objective is maximised, so a
cost enters negated. A failed or dead genome gets the record's worst fitness
and the cost PENALTY, so it can never sit on a Pareto front only because a
silent network spends no spikes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, Sequence


from msenas.genome import VectorCodec, key
from msenas.genome.types import Genome

PENALTY = 1e30  # cost objective of a failed or dead genome


class Engine(Protocol):
    """What the search needs from a fitness engine (msenas.fitness.engine.FitnessEngine)."""

    def needs_calibration(self) -> bool: ...
    def calibrate(self, genomes: Sequence[Genome]) -> None: ...
    def score(self, genomes: Sequence[Genome]) -> list[Any]: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, d: dict) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class ScoreStats:
    """What one scoring call did."""

    evaluations: int  # genomes sent to the engine
    cache_hits: int   # vectors whose genome key was already scored
    failures: int     # new records with an error
    dead: int         # new records flagged dead (silent network)


def plain(value: Any) -> Any:
    """Record values -> JSON-ready Python values (msenas.config.to_plain)."""
    from msenas.config import to_plain

    return to_plain(value)


def natural_objectives(record: dict, objectives: Sequence[str]) -> tuple[float, ...]:
    """Objective values in their own sign (fitness up, costs down), penalised when failed or dead."""
    bad = bool(record.get("error")) or bool(record.get("dead"))
    out = []
    for name in objectives:
        value = record.get(name)
        if name != "fitness" and (bad or value is None or not math.isfinite(float(value))):
            value = PENALTY
        out.append(float(value))
    return tuple(out)


def weighted_objectives(record: dict, objectives: Sequence[str]) -> tuple[float, ...]:
    """Objective values to maximise (costs negated), as DEAP fitness values."""
    nat = natural_objectives(record, objectives)
    return tuple(v if name == "fitness" else -v for name, v in zip(objectives, nat))


def score_vectors(engine: Engine, codec: VectorCodec, vectors: Sequence[Sequence[int]],
                  cache: dict[str, dict]) -> tuple[list[str], ScoreStats]:
    """Genome keys of the vectors; new keys are scored in one engine call and added to `cache`."""
    genomes = [codec.decode(v) for v in vectors]
    keys = [key(g) for g in genomes]
    todo: dict[str, Genome] = {}
    for k, g in zip(keys, genomes):
        if k not in cache and k not in todo:
            todo[k] = g
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
    return keys, stats
