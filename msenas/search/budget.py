"""Budgets: the most a network may cost (params, MACs, SOPs, energy per sample), and how far a genome is over.

SPEC 4.1. Constraint handling follows Deb, "An efficient constraint handling
method for genetic algorithms", CMAME 186 (2000): a feasible genome beats an
infeasible one; of two infeasible genomes the smaller total violation wins; of
two feasible ones the fitness decides (msenas.search.strategies.base orders
DEAP fitnesses that way; NSGA-II gets constrained domination). The violation
of a genome is the sum over the limits of its excess as a fraction of the
limit: params 60,000 under a 50,000 limit is 0.2.

`params` and `macs` are known from the genome alone (msenas.nn.cost), so a
genome over them is never built; `sops` and `energy_uj` are per sample,
measured on the probe batch at initialisation as the records do, so a genome
is first costed (its zero-cost proxies and one forward) and trained for its
few-step proxies only when it fits (msenas.fitness.engine).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, TypeVar

from msenas.config import Config, ConfigError
from msenas.fitness.record import usable

T = TypeVar("T")

# budget name -> (record field, factor from the budget's unit to the record's, static: known without building)
FIELDS: dict[str, tuple[str, float, bool]] = {
    "params": ("params", 1.0, True),
    "macs": ("macs", 1.0, True),           # dense MACs per sample and time step
    "sops": ("sops", 1.0, False),          # synaptic operations per sample, at initialisation
    "energy_uj": ("energy", 1e6, False),   # records hold pJ per sample
}


@dataclass(frozen=True)
class BudgetConfig(Config):
    """`[search.budget]`: a maximum on any of params, macs, sops and energy_uj (per sample); unset: no limit."""

    section: ClassVar[str] = "search.budget"

    params: float | None = None
    macs: float | None = None
    sops: float | None = None
    energy_uj: float | None = None

    def validate(self) -> "BudgetConfig":
        """Raise ConfigError naming the first bad limit."""
        for name in FIELDS:
            v = getattr(self, name)
            self.need(v is None or (math.isfinite(v) and v > 0), name, "must be a number > 0 (or left out)")
        return self

    @property
    def active(self) -> bool:
        """True when any limit is set."""
        return bool(self.limits())

    def limits(self) -> dict[str, float]:
        """The set limits by budget name, in the budget's units."""
        return {n: float(getattr(self, n)) for n in FIELDS if getattr(self, n) is not None}

    @property
    def static_only(self) -> bool:
        """True when every set limit is known from the genome alone (params, macs)."""
        return all(FIELDS[n][2] for n in self.limits())

    def use(self, costs: dict) -> dict[str, float]:
        """Each set limit's use by a record (or a dict of costs): cost / limit (1.0 = exactly at the limit).

        A limit whose cost the record lacks is left out (a failed genome was never costed).
        """
        out = {}
        for name, limit in self.limits().items():
            field, factor, _ = FIELDS[name]
            v = costs.get(field)
            if v is not None and math.isfinite(float(v)):
                out[name] = float(v) / (limit * factor)
        return out

    def violation(self, costs: dict, static: bool = False) -> float:
        """Sum of the excesses over the set limits as fractions of them (0: feasible).

        static=True looks at params and macs only (what is known before building).
        """
        use = self.use(costs)
        return float(sum(max(0.0, u - 1.0) for n, u in use.items() if not static or FIELDS[n][2]))

    def describe(self) -> str:
        """One line: `params <= 50,000, energy_uj <= 1.5`."""
        return ", ".join(f"{n} <= {v:,.6g}" for n, v in self.limits().items()) or "none"


def order_key(record: dict, budget: BudgetConfig) -> float:
    """Deb's first criterion as one number to minimise: the violation; a failed or dead genome is the worst of all."""
    if not usable(record):
        return math.inf
    return budget.violation(record)          # from the record's costs: one rule, whoever wrote the record


class BudgetError(ConfigError):
    """No genome of the search space fits the budget; the message says what the cheapest one costs."""


MAX_TRIES = 1000   # random draws a sampler makes for one genome within a budget's params/macs limits


def cheapest(costs: Iterable, budget: BudgetConfig) -> str:
    """`params 12,345, energy_uj 0.52`: the smallest cost seen of each set limit (records or cost dicts)."""
    seen: dict[str, float] = {}
    for c in costs:
        c = c.to_dict() if hasattr(c, "to_dict") else c
        for name, u in budget.use(c).items():
            seen[name] = min(seen.get(name, math.inf), u * budget.limits()[name])
    return ", ".join(f"{n} {v:,.6g}" for n, v in seen.items()) or "unknown (every genome failed)"


def sample_within(draw: Callable[[], T], costs: Callable[[T], dict], budget: BudgetConfig, what: str,
                  tries: int = MAX_TRIES) -> T:
    """draw() until one fits the budget's params and macs limits (at most `tries` draws), else BudgetError."""
    if not any(FIELDS[n][2] for n in budget.limits()):
        return draw()
    seen = []
    for _ in range(tries):
        x = draw()
        c = costs(x)
        if budget.violation(c, static=True) == 0:
            return x
        seen.append(c)
    static = BudgetConfig(**{n: v for n, v in budget.limits().items() if FIELDS[n][2]})
    raise BudgetError(f"search.budget: none of {tries} random genomes of {what} fits {static.describe()}; "
                      f"the cheapest drawn costs {cheapest(seen, static)}")
