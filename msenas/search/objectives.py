"""Search objectives by name: "fitness" (maximised) and record costs (minimised), in one registry.

Inside DEAP every objective is maximised, so a cost enters negated. A failed or
dead genome gets the record's worst fitness and the cost PENALTY, so it can
never sit on a Pareto front only because a silent network spends no spikes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from msenas.fitness.record import PENALTY, usable
from msenas.registry import Registry


@dataclass(frozen=True)
class Objective:
    """A record field to optimise: +1 maximised (fitness), -1 minimised (a cost)."""

    field: str
    sense: int
    doc: str


OBJECTIVES: Registry[Objective] = Registry("objective")
for _name, _sense, _doc in (
    ("fitness", 1, "the fitness (higher is better)"),
    ("spikes", -1, "spikes per probe sample at initialisation"),
    ("sops", -1, "measured synaptic operations per probe sample"),
    ("params", -1, "trainable parameters"),
    ("macs", -1, "dense multiply-accumulates per sample and time step"),
    ("energy", -1, "energy per probe sample in pJ (SPEC 3.3: E_MAC x encoding MACs + E_AC x SOPs)"),
):
    OBJECTIVES.register(_name)(Objective(_name, _sense, _doc))


def natural_objectives(record: dict, objectives: Sequence[str]) -> tuple[float, ...]:
    """Objective values in their own sign (fitness up, costs down), penalised when failed or dead."""
    bad = not usable(record)
    out = []
    for name in objectives:
        obj = OBJECTIVES.get(name)
        value = record.get(obj.field)
        if obj.sense < 0 and (bad or value is None or not math.isfinite(float(value))):
            value = PENALTY
        out.append(float(value))
    return tuple(out)


def weighted_objectives(record: dict, objectives: Sequence[str]) -> tuple[float, ...]:
    """Objective values to maximise (costs negated), as DEAP fitness values."""
    return tuple(OBJECTIVES.get(n).sense * v for n, v in zip(objectives, natural_objectives(record, objectives)))
