"""Typed, frozen training config (validated once) and the recipe for rebuilding a dataset.

Defaults follow SPEC section 5 (MSE-NAS final training): AdamW, cosine schedule
with linear warmup, label smoothing 0.1, loss on the mean over T of the logits.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from msenas.errors import MsenasError

CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": ("sgd", "adamw"),
    "loss": ("ce", "tet"),
    "amp": ("auto", "on", "off"),
    "device": ("auto", "cpu", "cuda"),
}


class TrainConfigError(MsenasError, ValueError):
    """A training config or data recipe with a bad field; the message names the field."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything the trainer needs besides the genome and the data."""

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"          # "sgd" | "adamw"
    lr: float = 3e-3
    weight_decay: float = 0.01        # applied to conv/linear weights only, never BN, bias or PLIF tau
    momentum: float = 0.9             # SGD only
    warmup_epochs: float = 1.0        # linear warmup, then cosine to 0 (per step)
    label_smoothing: float = 0.1
    loss: str = "ce"                  # "ce": CE of mean-over-T logits; "tet": mean over t of CE
    T: int = 4
    amp: str = "auto"                 # "auto": mixed precision exactly when on a GPU
    device: str = "auto"              # "auto": cuda when available
    seed: int = 0
    max_train_batches: int | None = None  # cap on train batches per epoch (quick runs)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "TrainConfig":
        """Raise TrainConfigError naming the first bad field."""
        _positive_int(self, "epochs", "batch_size", "T")
        _int(self, "seed")
        if self.max_train_batches is not None:
            _positive_int(self, "max_train_batches")
        for name in ("lr", "weight_decay", "momentum", "warmup_epochs", "label_smoothing"):
            _number(self, name)
        if not self.lr > 0:
            raise TrainConfigError(f"lr: must be > 0, got {self.lr!r}")
        for name in ("weight_decay", "momentum", "warmup_epochs"):
            if getattr(self, name) < 0:
                raise TrainConfigError(f"{name}: must be >= 0, got {getattr(self, name)!r}")
        if self.warmup_epochs > self.epochs:
            raise TrainConfigError(f"warmup_epochs: must be <= epochs ({self.epochs}), got {self.warmup_epochs!r}")
        if not 0 <= self.label_smoothing < 1:
            raise TrainConfigError(f"label_smoothing: must be in [0, 1), got {self.label_smoothing!r}")
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise TrainConfigError(f"{name}: must be one of {list(allowed)}, got {getattr(self, name)!r}")
        return self

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any], where: str = "") -> "TrainConfig":
        """Build from a mapping; unknown keys and values of the wrong type name the field."""
        from msenas.config import build_dataclass

        return build_dataclass(cls, mapping, where)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return type(self).from_dict({**self.to_dict(), **changes})


@dataclass(frozen=True)
class DataSpec:
    """How to rebuild a dataset: registry name, folder, split seed and builder options."""

    name: str = "digits"
    data_dir: str | None = None
    seed: int = 0                                   # the train/test split seed, not the training seed
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        return {"name": self.name, "data_dir": self.data_dir, "seed": self.seed, "options": dict(self.options)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "DataSpec":
        """Inverse of to_dict."""
        if not isinstance(d, Mapping) or not isinstance(d.get("name"), str):
            raise TrainConfigError(f"data: expected an object with a dataset name, got {d!r}")
        return cls(d["name"], d.get("data_dir"), int(d.get("seed", 0)), dict(d.get("options") or {}))

    @classmethod
    def from_cli(cls, name: str, data_dir: str | None, fields: Mapping[str, Any]) -> "DataSpec":
        """From a command line: `data.*` overrides (seed and builder options) and --data-dir."""
        from msenas.data import DataError

        fields = dict(fields)
        seed = fields.pop("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TrainConfigError(f"data.seed: expected an integer, got {seed!r}")
        if data_dir is not None and not Path(data_dir).exists():
            raise DataError(f"--data-dir: {data_dir} does not exist")
        return cls(name, None if data_dir is None else str(Path(data_dir).resolve()), seed, fields)

    def build(self, T: int):
        """The Dataset this spec names, with T frames per event sample."""
        from msenas.data import get_dataset

        return get_dataset(self.name, self.data_dir, T=T, seed=self.seed, **dict(self.options))


def parse_overrides(items: list[str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """`key=value` strings -> (train fields, data fields); `data.KEY` goes to the data recipe."""
    from msenas.config import apply_overrides

    fields = apply_overrides({}, items or [])
    data = fields.pop("data", {})
    if not isinstance(data, dict):
        raise TrainConfigError(f"--set data={data!r}: use data.OPTION=value (e.g. data.size=8)")
    return fields, data


def _int(cfg: TrainConfig, *names: str) -> None:
    for name in names:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int):
            raise TrainConfigError(f"{name}: expected an integer, got {v!r}")


def _positive_int(cfg: TrainConfig, *names: str) -> None:
    _int(cfg, *names)
    for name in names:
        if getattr(cfg, name) < 1:
            raise TrainConfigError(f"{name}: must be >= 1, got {getattr(cfg, name)!r}")


def _number(cfg: TrainConfig, name: str) -> None:
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise TrainConfigError(f"{name}: expected a number, got {v!r}")
