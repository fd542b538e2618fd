"""The config of `msenas search`: RunConfig (data, search space, fitness, search, executor), TOML + overrides.

Its defaults are the embedded `digits` preset (experiments/digits.toml spells
the same values out). The run folder's config.json holds the resolved config,
the whole search space included, so a resumed run continues in the space it
started in even after the presets change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Literal, Mapping

from msenas.config import Config, DataConfig, apply_overrides, build_dataclass, read_toml
from msenas.fitness.config import ExecutorFields, FitnessConfig
from msenas.genome.space import SearchSpace, get_space
from msenas.search.budget import BudgetConfig

MAX_POPULATION = 100_000     # population, offspring, hall of fame: far beyond any search, far below exhausting memory
DIGITS_OPTIONS = {"size": 8}  # the embedded default: 8x8 digits (the demo; the default fitness was chosen on CIFAR-10)
MAX_K = 64                   # most candidates of successive halving


@dataclass(frozen=True)
class HalvingConfig(Config):
    """`[search.halving]`: successive halving after the search (k = 0: off)."""

    section: ClassVar[str] = "search.halving"

    k: int = 0                   # candidates: the k best of the hall of fame (0: no halving stage)
    epochs: float = 1.0          # epochs of the first round; each later round doubles them
    val_fraction: float = 0.25   # share of each class of the train split held out for validation
    batch_size: int = 64

    def validate(self) -> "HalvingConfig":
        """Raise ConfigError naming the first bad field."""
        self.need(self.k == 0 or 2 <= self.k <= MAX_K, "k", f"must be 0 (off) or in [2, {MAX_K}]")
        self.need(0 < self.epochs <= 1000, "epochs", "must be in (0, 1000]")
        self.need(0 < self.val_fraction < 1, "val_fraction", "must be in (0, 1)")
        self.need(self.batch_size >= 1, "batch_size", "must be >= 1")
        return self

    def rounds(self) -> int:
        """Rounds until one genome is left: ceil(log2 k)."""
        return max(0, math.ceil(math.log2(self.k))) if self.k else 0


@dataclass(frozen=True)
class SearchConfig(ExecutorFields, Config):
    """The search loop: strategy, sizes, objectives, sync/async mode, and where fitness runs (the executor's fields,
    msenas.fitness.config.ExecutorFields)."""

    section: ClassVar[str] = "search"

    algorithm: str = "auto"            # a registered strategy (ga, mu_plus_lambda, nsga2, aging, random); auto: nsga2
    #                                    when several objectives, else ga
    mode: Literal["sync", "async"] = "sync"   # async: steady-state strategies; a free worker gets the next genome
    population: int = 12
    generations: int = 6
    offspring: int | None = None       # lambda; default: population
    elites: int = 1                    # ga only: best parents copied unchanged
    tournament: int = 3                # tournament size (aging: the sample size S)
    cxpb: float = 0.5                  # probability a parent pair is crossed (cell-block two-point)
    mutpb: float = 0.9                 # probability a child is mutated
    indpb: float = 0.03                # per-gene mutation probability
    hof_size: int = 10
    objectives: tuple[str, ...] = ("fitness",)
    evaluations: int | None = None     # async budget of new evaluations; default population + generations x offspring
    budget: BudgetConfig = field(default_factory=BudgetConfig)   # [search.budget]: max params/macs/sops/energy_uj
    halving: HalvingConfig = field(default_factory=HalvingConfig)  # [search.halving]: final pick (k = 0: off)

    def __post_init__(self) -> None:
        if self.algorithm == "auto":
            object.__setattr__(self, "algorithm", "nsga2" if len(self.objectives) > 1 else "ga")
        super().__post_init__()

    def validate(self) -> "SearchConfig":
        """Raise ConfigError naming the first bad field."""
        from msenas.search.objectives import OBJECTIVES
        from msenas.search.strategies.registry import STRATEGIES

        self.need_name("algorithm", STRATEGIES)
        strategy = STRATEGIES.get(self.algorithm)
        self.need(self.population >= 2, "population", "must be >= 2")
        self.need(self.generations >= 0, "generations", "must be >= 0")
        self.need(self.offspring is None or self.offspring >= 1, "offspring", "must be >= 1")
        self.need(0 <= self.elites < self.population, "elites", f"must be in [0, population={self.population})")
        self.need(self.tournament >= 1, "tournament", "must be >= 1")
        for name in ("cxpb", "mutpb", "indpb"):
            self.need(0.0 <= getattr(self, name) <= 1.0, name, "must be in [0, 1]")
        self.need(self.hof_size >= 1, "hof_size", "must be >= 1")
        for name in ("population", "offspring", "hof_size", "tournament"):   # each is held in memory at once
            self.need((getattr(self, name) or 0) <= MAX_POPULATION, name, f"must be <= {MAX_POPULATION}")
        self.need(len(self.objectives) >= 1, "objectives", "must name at least one objective")
        for o in self.objectives:
            self.need(o in OBJECTIVES, "objectives", f"unknown objective {o!r}; known: {', '.join(OBJECTIVES.names())}")
        self.need(len(set(self.objectives)) == len(self.objectives), "objectives", "must not repeat")
        self.need(strategy.multi_objective or len(self.objectives) == 1, "algorithm",
                  f"{self.algorithm!r} is single-objective; use nsga2 (or auto) with {len(self.objectives)} objectives")
        self.need(self.mode == "sync" or strategy.steady, "mode",
                  f"'async' needs a steady-state strategy ({', '.join(n for n, s in STRATEGIES.items() if s.steady)}); "
                  f"{self.algorithm!r} works in generations", self.mode)
        self.need(self.evaluations is None or self.evaluations >= 1, "evaluations", "must be >= 1")
        self.executor_config()   # its fields live in this table and are checked with it
        return self

    @property
    def n_offspring(self) -> int:
        """Children per generation (lambda)."""
        return self.offspring or self.population

    def max_evaluations(self) -> int:
        """Most new evaluations the search may run: `evaluations`, or population + generations x children."""
        from msenas.search.strategies.registry import STRATEGIES

        if self.evaluations is not None:
            return self.evaluations
        return self.population + self.generations * STRATEGIES.get(self.algorithm).children_of(self)


def _space(value: Any) -> Any:
    return get_space(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class RunConfig(Config):
    """Everything `msenas search` needs; saved as config.json in the run folder."""

    name: str = "digits"
    seed: int = 0
    out_dir: str = "runs"              # run folders are created inside it (unless --out names one)
    space: str = "tiny"                # a preset name (msenas.genome.PRESETS), or the name of search_space
    search_space: SearchSpace | None = None  # the resolved space: the preset `space` names, unless given in full
    data: DataConfig = field(default_factory=lambda: DataConfig(options=DIGITS_OPTIONS))
    fitness: FitnessConfig = field(default_factory=FitnessConfig)
    search: SearchConfig = field(default_factory=SearchConfig)

    def __post_init__(self) -> None:
        from msenas.genome.space import PRESETS

        if self.search_space is None and isinstance(self.space, str) and self.space in PRESETS:
            object.__setattr__(self, "search_space", PRESETS.get(self.space))
        super().__post_init__()

    def validate(self) -> "RunConfig":
        """Raise ConfigError naming the first bad field (sections validate themselves)."""
        from msenas.genome.space import PRESETS

        self.need(bool(self.name.strip()) and "/" not in self.name, "name", "must be a non-empty name without '/'")
        self.need(self.seed >= 0, "seed", "must be an integer >= 0")
        self.need(self.search_space is not None, "space",
                  f"unknown search space; known: {', '.join(PRESETS.names())} (or give [search_space] in full)")
        self.need(self.search_space.name == self.space, "search_space.name", f"must equal space ({self.space!r})",
                  self.search_space.name)
        self.need(bool(self.out_dir.strip()), "out_dir", "must be a path")
        self.need(self.search.mode == "sync" or self.fitness.promote >= 1, "fitness.promote",
                  "must be 1 in async mode (promotion ranks a whole generation)", self.fitness.promote)
        return self


def config_from_dict(d: Mapping[str, Any]) -> RunConfig:
    """Nested mapping (TOML or config.json) -> validated, frozen RunConfig."""
    return build_dataclass(RunConfig, d)


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> RunConfig:
    """Read a TOML file (None: the embedded digits defaults), apply `a.b=value` overrides, validate."""
    raw = read_toml(path) if path is not None else {}
    return config_from_dict(apply_overrides(raw, list(overrides)))
