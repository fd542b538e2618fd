"""The one config machinery: frozen dataclasses that coerce and validate themselves once, on construction.

Every typed config of msenas (the search run, fitness, executor, data, search
space, training, MA-DARTS) is a frozen dataclass deriving from `Config`:
constructing it (directly, from TOML, from `--set` overrides or from a run
folder's JSON) coerces each field to its annotated type and runs its
`validate()`, with messages that name the field ("search.population: must be
>= 2, got 0"). `build_dataclass` turns nested mappings into nested configs,
`apply_overrides` applies dotted `a.b=value` overrides, `to_plain` dumps any
config back to JSON-ready data, so TOML -> config -> JSON -> config is exact.

`DataConfig`, the one "which dataset" value of every command, lives here too.
"""
from __future__ import annotations

import collections.abc
import copy
import dataclasses
import functools
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

import tomllib

from msenas.errors import MsenasError, short


class ConfigError(MsenasError, ValueError):
    """A config file, override or value is bad; the message names the field."""


# ----------------------------------------------------------------------------- the base class


class Config:
    """Mixin of every typed config (a frozen dataclass): fields coerced and validated on construction.

    Subclasses set `section` (the dotted prefix their fields carry in messages,
    e.g. "fitness") and `error` (the ConfigError subclass they raise), and
    override `validate()`, which calls `self.need(...)` for each rule.
    """

    section: ClassVar[str] = ""
    error: ClassVar[type[ConfigError]] = ConfigError

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            if f.init:
                try:
                    value = _coerce(self.where(f.name), getattr(self, f.name), hints[f.name])
                except ConfigError as e:
                    raise self.error(str(e)) from None
                object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> "Config":
        """Raise `error` naming the first bad field; return self. Called once, by the constructor."""
        return self

    def where(self, name: str) -> str:
        """The dotted name of a field in messages."""
        return f"{self.section}.{name}" if self.section else name

    def need(self, ok: bool, name: str, msg: str, value: Any = ...) -> None:
        """Raise `error` "<field>: <msg>, got <value>" unless ok (value defaults to the field's)."""
        if not ok:
            value = getattr(self, name.split(".")[0].split("[")[0]) if value is ... else value
            raise self.error(f"{self.where(name)}: {msg}, got {short(value)}")

    def need_name(self, name: str, registry) -> None:
        """Raise unless the field holds a name of `registry` ("must be one of [...]")."""
        msg = registry.check(self.where(name), getattr(self, name))
        if msg:
            raise self.error(msg)

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any], where: str | None = None):
        """Build from a nested mapping (TOML table, JSON object); unknown keys and bad values name the field."""
        prefix = where if where is not None else (f"{cls.section}." if cls.section else "")
        return build_dataclass(cls, mapping, prefix)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples as lists, mappings as dicts)."""
        return to_plain(self)

    def replace(self, **changes: Any):
        """A copy with some fields changed (coerced and validated again)."""
        return dataclasses.replace(self, **changes)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# ----------------------------------------------------------------------------- mappings -> configs


def parse_value(raw: str) -> Any:
    """A command-line value as a TOML literal (8, 0.5, true, [1, 2], "x"), else the plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except (ValueError, RecursionError):   # TOMLDecodeError, a 4300-digit integer, absurd nesting
        return raw


def apply_overrides(mapping: Mapping[str, Any], overrides: Iterable[str]) -> dict:
    """Copy of a nested mapping with `a.b.c=value` overrides applied (values parsed by parse_value)."""
    out = copy.deepcopy(dict(mapping))
    for item in overrides:
        dotted, sep, raw = item.partition("=")
        parts = [p.strip() for p in dotted.strip().split(".")]
        if not sep or not all(parts):
            raise ConfigError(f"override {short(item)}: expected key.path=value")
        node = out
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {short(item)}: {'.'.join(parts[:i + 1])} is a value, not a section")
        node[parts[-1]] = parse_value(raw.strip())
    return out


def build_dataclass(cls: type, mapping: Any, prefix: str = "") -> Any:
    """Nested mapping -> (nested) dataclass `cls`; unknown keys and mistyped values name the field."""
    where = prefix.rstrip(".") or cls.__name__
    if dataclasses.is_dataclass(mapping) and isinstance(mapping, cls):
        return mapping
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where}: expected a table, got {short(mapping)}")
    error = cls.error if isinstance(cls, type) and issubclass(cls, Config) else ConfigError
    hints = _hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in set(mapping) - fields)
    if unknown:
        raise error(f"{prefix}{unknown[0]}: unknown field; known: {', '.join(sorted(fields))}")
    try:
        kwargs = {k: _coerce(f"{prefix}{k}", v, hints[k]) for k, v in mapping.items()}
    except ConfigError as e:
        raise (e if isinstance(e, error) else error(str(e))) from None
    try:
        obj = cls(**kwargs)
        if not isinstance(obj, Config) and callable(getattr(obj, "validate", None)):
            obj.validate()
    except MsenasError as e:
        raise _prefixed(e, prefix) from None
    return obj


def _prefixed(e: MsenasError, prefix: str) -> ConfigError:
    msg, head = str(e), prefix.rstrip(".")
    text = msg if not head or msg.startswith(head) else f"{prefix}{msg}"
    return type(e)(text) if isinstance(e, ConfigError) else ConfigError(text)


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
        raise ConfigError(f"{name}: expected {_type_name(hint)}, got {short(value)}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{name}: must be one of {', '.join(map(str, args))}, got {short(value)}")
        return value
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, f"{name}.")
    if origin is tuple or hint is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {short(value)}")
        if args and args[-1] is Ellipsis:
            return tuple(_coerce(f"{name}[{i}]", v, args[0]) for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"{name}: expected a list of {len(args)} values, got {short(value)}")
        return tuple(_coerce(f"{name}[{i}]", v, a) for i, (v, a) in enumerate(zip(value, args or [Any] * len(value))))
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Mapping, collections.abc.Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name}: expected a table, got {short(value)}")
        vh = args[1] if len(args) == 2 else Any
        return types.MappingProxyType({str(k): _coerce(f"{name}.{k}", v, vh) for k, v in value.items()})
    return _scalar(name, value, hint)


def _scalar(name: str, value: Any, hint: Any) -> Any:
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(f"{name}: expected a finite number, got {short(value)}")
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(hint, type) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{name}: expected {_type_name(hint)}, got {short(value)}")
    return value


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


# ----------------------------------------------------------------------------- configs -> files


def to_plain(obj: Any) -> Any:
    """Dataclasses, mappings, tuples and numpy values -> plain JSON-ready dicts, lists and scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):     # numpy arrays and scalars
        return to_plain(obj.tolist())
    return obj


def read_text(path: str | Path, what: str, error: type[MsenasError] = ConfigError) -> str:
    """A UTF-8 text file; a missing, unreadable or non-UTF-8 file raises `error` naming it."""
    p = Path(path)
    try:
        if p.exists() and not p.is_file():       # a folder, or a device or pipe that never ends (/dev/zero)
            raise error(f"{p}: not a regular file; expected a {what} file")
        data = p.read_bytes()
    except OSError as e:
        raise error(f"{p}: cannot read {what} ({e.strerror or e})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{p}: not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r}); "
                    f"{what} files are UTF-8") from None


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file; a missing or malformed file raises ConfigError naming it."""
    text = read_text(path, "config")
    try:
        return tomllib.loads(text)
    except ValueError as e:      # TOMLDecodeError, or an integer of more than 4300 digits
        raise ConfigError(f"{Path(path)}: not valid TOML ({e})") from None
    except RecursionError:
        raise ConfigError(f"{Path(path)}: TOML nested too deeply to be a config") from None


def read_json(path: str | Path, what: str, error: type[MsenasError] = ConfigError) -> Any:
    """Parse a JSON file; unreadable, non-UTF-8, malformed or absurdly nested files raise `error` naming it."""
    return parse_json(read_text(path, what, error), what, error, f"{Path(path)}: ")


def parse_json(text: str, what: str, error: type[MsenasError] = ConfigError, prefix: str = "") -> Any:
    """JSON text -> value; malformed, absurdly nested or absurdly long-numbered JSON raises `error`."""
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{prefix}JSON nested too deeply to be a {what}") from None
    except ValueError as e:      # JSONDecodeError, or an integer of more than 4300 digits
        raise error(f"{prefix}not valid JSON ({e})") from None


def dump_config(cfg: Any) -> str:
    """The resolved config as pretty JSON text (what config.json holds)."""
    return json.dumps(to_plain(cfg), indent=1)


# ----------------------------------------------------------------------------- which dataset


@dataclass(frozen=True)
class DataConfig(Config):
    """Which dataset: a registered name, its folder, builder options, and the split/subset seed."""

    section: ClassVar[str] = "data"

    dataset: str = "digits"
    data_dir: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    seed: int | None = None        # train/test split and subset seed; None: the run's seed (search) or 0 (train)

    def validate(self) -> "DataConfig":
        """Unknown dataset names and options raise, naming the field."""
        from msenas.data import DATASETS, dataset_options

        self.need(self.dataset in DATASETS, "dataset", f"unknown dataset; known: {', '.join(DATASETS)}")
        accepted = dataset_options(self.dataset)
        for k in self.options:
            self.need(k in accepted, f"options.{k}",
                      f"not an option of {self.dataset!r} (accepted: {', '.join(sorted(accepted)) or 'none'})", k)
        self.need(self.data_dir is None or self.data_dir.strip() != "", "data_dir", "must be a path")
        self.need(self.seed is None or self.seed >= 0, "seed", "must be >= 0")
        return self

    def build(self, T: int, seed: int = 0):
        """The msenas Dataset, with T frames per event sample; `seed` is used when self.seed is None."""
        from msenas.data import get_dataset

        split_seed = self.seed if self.seed is not None else seed
        return get_dataset(self.dataset, self.data_dir, T=T, seed=split_seed, **dict(self.options))

    @classmethod
    def from_record(cls, d: Any, where: str = "data") -> "DataConfig":
        """From a folder's config.json data block (also the older {name, data_dir, seed, options} form)."""
        if isinstance(d, Mapping) and "name" in d and "dataset" not in d:
            d = {"dataset": d["name"], **{k: v for k, v in d.items() if k != "name"}}
        return cls.from_dict(d, f"{where}.")
