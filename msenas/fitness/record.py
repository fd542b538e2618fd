"""The plain result of one genome evaluation (picklable, JSON-able via dataclasses.asdict), and the one rule for a
failed or dead genome: `usable(record)` for a record or its dict, `usable_values` for values that stand in for one
(the worst fitness, the cost penalty of msenas.search.objectives)."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

WORST_FITNESS = -1.0e9  # fitness of a failed or dead genome: finite, below every real fitness
TIMINGS = ("wall_time", "cpu_time")  # the fields that differ between two runs of the same evaluation
PENALTY = 1.0e30        # a cost objective of a failed or dead genome, so it never sits on a front for spending nothing
WORST_CUTOFF = -1.0e8   # a fitness at or below this stands for a failed or dead genome (WORST_FITNESS / 10)
PENALTY_CUTOFF = 1.0e29  # a cost at or beyond this stands for a failed or dead genome (PENALTY / 10)


def usable(record: "Record | Mapping[str, Any]") -> bool:
    """Neither failed nor dead (a Record or its dict): its values can be ranked."""
    get = record.get if isinstance(record, Mapping) else lambda name: getattr(record, name)
    return not get("error") and not get("dead")


def usable_values(values: Sequence[Any], cost: bool = False) -> np.ndarray:
    """Values as floats, NaN where one is missing, non-finite or stands for a failed or dead genome (a fitness at
    WORST_FITNESS; with cost=True, a cost at PENALTY)."""
    out = np.array([v if isinstance(v, (int, float)) else np.nan for v in values], dtype=float)
    out[~np.isfinite(out) | ((np.abs(out) >= PENALTY_CUTOFF) if cost else (out <= WORST_CUTOFF))] = np.nan
    return out


@dataclass
class Record:
    """Raw proxy values, the fitness, costs and spike counts of one genome."""

    key: str
    fitness: float = WORST_FITNESS  # higher is better; written by the fitness engine only (WORST until scored)
    proxies: dict[str, float] = field(default_factory=dict)  # raw value of every proxy computed
    dead: bool = False             # the last cell's representation was silent or constant
    error: str | None = None       # "ExceptionType: message" when the evaluation failed
    spikes: float = 0.0            # spikes per probe sample at initialisation (total)
    spikes_per_cell: list[float] = field(default_factory=list)
    sops: float = 0.0              # measured synaptic ops per sample at initialisation (layers fed by spikes)
    mac_ops: float = 0.0           # measured multiply-accumulates per sample (layers fed by non-spikes: the encoder)
    energy: float = 0.0            # pJ per sample at initialisation: E_MAC x mac_ops + E_AC x sops (msenas.energy)
    energy_dense: float = 0.0      # pJ per sample of the non-spiking network of the same shape: E_MAC x macs
    params: int = 0
    macs: int = 0                  # dense MACs per sample and time step
    wall_time: float = 0.0         # seconds
    cpu_time: float = 0.0          # CPU seconds of the process that evaluated it (its torch threads included)
    fidelity: str = "zero-cost"    # which proxies were computed: "zero-cost", "few-step", or "costs" (over a
    #                                budget's params/macs: never built)
    budget: dict[str, float] = field(default_factory=dict)  # use of each [search.budget] limit: cost / limit
    violation: float = 0.0         # sum of the excesses over the limits as fractions of them (0: within budget)
    worker_deaths: int = 0         # Ray workers that died evaluating this genome (each death retried, up to a limit)

    @property
    def ok(self) -> bool:
        """Neither failed nor dead: its proxy values can be ranked (usable)."""
        return usable(self)

    def to_dict(self) -> dict:
        """Plain dict (dataclasses.asdict)."""
        return dataclasses.asdict(self)

    def outcome(self) -> dict:
        """to_dict without the timings: what a repeated or remote evaluation of the same genome must reproduce."""
        return {k: v for k, v in self.to_dict().items() if k not in TIMINGS}

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        """Inverse of to_dict."""
        return cls(**d)


def failed_record(key: str, error: str, fidelity: str, wall_time: float = 0.0) -> Record:
    """The record of a genome whose evaluation raised or whose worker died."""
    return Record(key=key, proxies={}, dead=False, error=error, spikes=0.0,
                  spikes_per_cell=[], sops=0.0, params=0, macs=0, wall_time=wall_time, fidelity=fidelity)
