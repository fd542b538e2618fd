"""Typed run config: TOML files plus dotted overrides, validated once, frozen, dumped as JSON.

The generic part (`apply_overrides`, `build_dataclass`, `to_plain`, `read_toml`)
turns nested mappings into nested frozen dataclasses with errors that name the
field ("search.population: must be >= 2, got 0"); other commands reuse it.
`RunConfig` is the config of `msenas search`; its defaults are the embedded
`digits` preset (experiments/digits.toml spells the same values out).
"""
from __future__ import annotations

import collections.abc
import copy
import dataclasses
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from msenas.errors import MsenasError
from msenas.fitness.config import FitnessConfig

ALGORITHMS = ("auto", "ga", "mu_plus_lambda", "nsga2")
DIGITS_OPTIONS = {"size": 8}  # the embedded default: 8x8 digits, the setting the default fitness was chosen on
OBJECTIVES = ("fitness", "spikes", "sops", "params", "macs")  # "fitness" is maximised, the others minimised


class ConfigError(MsenasError, ValueError):
    """A config file, override or value is bad; the message names the field."""


# ----------------------------------------------------------------------------- generic machinery


def parse_value(raw: str) -> Any:
    """A command-line value as a TOML literal (8, 0.5, true, [1, 2], "x"), else the plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_overrides(mapping: Mapping[str, Any], overrides: Iterable[str]) -> dict:
    """Copy of a nested mapping with `a.b.c=value` overrides applied (values parsed by parse_value)."""
    out = copy.deepcopy(dict(mapping))
    for item in overrides:
        dotted, sep, raw = item.partition("=")
        parts = [p.strip() for p in dotted.strip().split(".")]
        if not sep or not all(parts):
            raise ConfigError(f"override {item!r}: expected key.path=value")
        node = out
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parts[:i + 1])} is a value, not a section")
        node[parts[-1]] = parse_value(raw.strip())
    return out


def build_dataclass(cls: type, mapping: Any, prefix: str = "") -> Any:
    """Nested mapping -> (nested) dataclass `cls`; unknown keys and mistyped values name the field."""
    where = prefix.rstrip(".") or cls.__name__
    if dataclasses.is_dataclass(mapping) and isinstance(mapping, cls):
        return mapping
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where}: expected a table, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown field; known: {', '.join(sorted(fields))}")
    kwargs = {k: _coerce(f"{prefix}{k}", v, hints[k]) for k, v in mapping.items()}
    try:
        obj = cls(**kwargs)
    except MsenasError as e:
        raise _prefixed(e, prefix) from None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except MsenasError as e:
            raise _prefixed(e, prefix) from None
    return obj


def _prefixed(e: MsenasError, prefix: str) -> ConfigError:
    msg = str(e)
    head = prefix.rstrip(".")
    return ConfigError(msg if not head or msg.startswith(head) else f"{prefix}{msg}")


def _coerce(name: str, value: Any, hint: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _coerce(name, value, inner[0])
        for a in inner:
            try:
                return _coerce(name, value, a)
            except ConfigError:
                pass
        raise ConfigError(f"{name}: expected {_type_name(hint)}, got {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{name}: must be one of {list(args)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, f"{name}.")
    if origin is tuple or hint is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        if args and args[-1] is Ellipsis:
            return tuple(_coerce(f"{name}[{i}]", v, args[0]) for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"{name}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(f"{name}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args or [Any] * len(value))))
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Mapping, collections.abc.Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name}: expected a table, got {value!r}")
        vh = args[1] if len(args) == 2 else Any
        return types.MappingProxyType({str(k): _coerce(f"{name}.{k}", v, vh) for k, v in value.items()})
    return _scalar(name, value, hint)


def _scalar(name: str, value: Any, hint: Any) -> Any:
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(hint, type) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{name}: expected {_type_name(hint)}, got {value!r}")
    return value


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def to_plain(obj: Any) -> Any:
    """Dataclasses, mappings, tuples and numpy values -> plain JSON-ready dicts, lists and scalars."""
    import numpy as np

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_plain(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; a missing or malformed file raises ConfigError naming it."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text())
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None


def _check(cond: bool, name: str, msg: str, value: Any) -> None:
    if not cond:
        raise ConfigError(f"{name}: {msg}, got {value!r}")


# ----------------------------------------------------------------------------- the search run config


@dataclass(frozen=True)
class DataConfig:
    """Which dataset the fitness probes: a registry name, its folder and builder options."""

    dataset: str = "digits"
    data_dir: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", types.MappingProxyType(dict(self.options)))
        self.validate()

    def validate(self) -> None:
        """Unknown dataset names and options raise, naming the field."""
        from msenas.data import DATASETS, dataset_options

        _check(self.dataset in DATASETS, "data.dataset", f"unknown dataset; known: {', '.join(sorted(DATASETS))}", self.dataset)
        accepted = dataset_options(self.dataset)
        for k in self.options:
            _check(k in accepted, f"data.options.{k}", f"not an option of {self.dataset!r} (accepted: {', '.join(sorted(accepted)) or 'none'})", k)
        _check(self.data_dir is None or self.data_dir.strip() != "", "data.data_dir", "must be a path", self.data_dir)


@dataclass(frozen=True)
class SearchConfig:
    """The evolutionary loop (DEAP): operators, sizes, objectives and where evaluation runs."""

    algorithm: str = "auto"            # auto: nsga2 when several objectives, else ga
    population: int = 12
    generations: int = 6
    offspring: int | None = None       # lambda; default: population
    elites: int = 1                    # ga only: best parents copied unchanged
    tournament: int = 3
    cxpb: float = 0.5                  # probability a parent pair is crossed (cell-block two-point)
    mutpb: float = 0.9                 # probability a child is mutated
    indpb: float = 0.03                # per-gene mutation probability
    hof_size: int = 10
    objectives: tuple[str, ...] = ("fitness",)
    workers: int = 2                   # 0: serial in this process; N: Ray workers
    address: str | None = None         # Ray cluster address (host:port); None: local
    eval_timeout: float | None = None  # seconds one genome may run on a Ray worker, then it fails; None: no limit

    def __post_init__(self) -> None:
        if self.algorithm == "auto":
            object.__setattr__(self, "algorithm", "nsga2" if len(self.objectives) > 1 else "ga")
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field."""
        p = "search."
        _check(self.algorithm in ALGORITHMS, p + "algorithm", f"must be one of {list(ALGORITHMS)}", self.algorithm)
        _check(self.population >= 2, p + "population", "must be >= 2", self.population)
        _check(self.generations >= 0, p + "generations", "must be >= 0", self.generations)
        _check(self.offspring is None or self.offspring >= 1, p + "offspring", "must be >= 1", self.offspring)
        _check(0 <= self.elites < self.population, p + "elites", f"must be in [0, population={self.population})", self.elites)
        _check(self.tournament >= 1, p + "tournament", "must be >= 1", self.tournament)
        for name in ("cxpb", "mutpb", "indpb"):
            _check(0.0 <= getattr(self, name) <= 1.0, p + name, "must be in [0, 1]", getattr(self, name))
        _check(self.hof_size >= 1, p + "hof_size", "must be >= 1", self.hof_size)
        _check(len(self.objectives) >= 1, p + "objectives", "must name at least one objective", self.objectives)
        for o in self.objectives:
            _check(o in OBJECTIVES, p + "objectives", f"unknown objective {o!r}; known: {', '.join(OBJECTIVES)}", self.objectives)
        _check(len(set(self.objectives)) == len(self.objectives), p + "objectives", "must not repeat", self.objectives)
        _check(self.algorithm == "nsga2" or len(self.objectives) == 1, p + "algorithm",
               f"{self.algorithm!r} is single-objective; use nsga2 (or auto) with {len(self.objectives)} objectives", self.algorithm)
        _check(self.workers >= 0, p + "workers", "must be >= 0", self.workers)
        _check(self.address is None or self.address.strip() != "", p + "address", "must be host:port", self.address)
        _check(self.eval_timeout is None or self.eval_timeout > 0, p + "eval_timeout", "must be > 0 seconds (or left out)",
               self.eval_timeout)
        _check(self.eval_timeout is None or self.workers > 0 or self.address is not None, p + "eval_timeout",
               "needs Ray workers (workers >= 1 or an address): a serial evaluation cannot be stopped", self.eval_timeout)

    @property
    def n_offspring(self) -> int:
        """Children per generation (lambda)."""
        return self.offspring or self.population


@dataclass(frozen=True)
class RunConfig:
    """Everything `msenas search` needs; saved as config.json in the run folder."""

    name: str = "digits"
    seed: int = 0
    out_dir: str = "runs"              # run folders are created inside it (unless --out names one)
    space: str = "tiny"
    data: DataConfig = field(default_factory=lambda: DataConfig(options=DIGITS_OPTIONS))
    fitness: FitnessConfig = field(default_factory=FitnessConfig)
    search: SearchConfig = field(default_factory=SearchConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first bad field (sections validate themselves)."""
        from msenas.genome.space import PRESETS

        _check(bool(self.name.strip()) and "/" not in self.name, "name", "must be a non-empty name without '/'", self.name)
        _check(self.space in PRESETS, "space", f"unknown search space; known: {', '.join(sorted(PRESETS))}", self.space)
        _check(bool(self.out_dir.strip()), "out_dir", "must be a path", self.out_dir)


def config_from_dict(d: Mapping[str, Any]) -> RunConfig:
    """Nested mapping (TOML or config.json) -> validated, frozen RunConfig."""
    return build_dataclass(RunConfig, d)


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> RunConfig:
    """Read a TOML file (None: the embedded digits defaults), apply `a.b=value` overrides, validate."""
    raw = read_toml(path) if path is not None else {}
    return config_from_dict(apply_overrides(raw, list(overrides)))


def dump_config(cfg: Any) -> str:
    """The resolved config as pretty JSON text (what config.json holds)."""
    return json.dumps(to_plain(cfg), indent=1)
