"""Typed, frozen training config, validated once on construction (msenas.config.Config).

Defaults follow SPEC section 5 (MSE-NAS final training): AdamW, cosine schedule
with linear warmup, label smoothing 0.1, loss on the mean over T of the logits.
Which dataset a training run reads is a msenas.config.DataConfig.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from msenas.config import Config, ConfigError, apply_overrides
from msenas.energy import EnergyConfig


class TrainConfigError(ConfigError):
    """A training config with a bad field; the message names the field."""


@dataclass(frozen=True)
class TrainConfig(Config):
    """Everything the trainer needs besides the genome and the data."""

    error: ClassVar[type[ConfigError]] = TrainConfigError

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"          # msenas.train.optim.OPTIMIZERS: sgd | adamw
    lr: float = 3e-3
    weight_decay: float = 0.01        # applied to conv/linear weights only, never BN, bias or PLIF tau
    momentum: float = 0.9             # SGD only
    warmup_epochs: float = 1.0        # linear warmup, then cosine to 0 (per step)
    label_smoothing: float = 0.1
    loss: str = "ce"                  # msenas.train.optim.LOSSES: "ce" (CE of mean-over-T logits) | "tet"
    T: int = 4
    amp: Literal["auto", "on", "off", "bf16", "fp16"] = "auto"  # auto: float16 exactly on a GPU (msenas.runtime)
    device: Literal["auto", "cpu", "cuda"] = "auto"  # "auto": cuda when available
    seed: int = 0
    max_train_batches: int | None = None  # cap on train batches per epoch (quick runs)
    energy: EnergyConfig = EnergyConfig()  # pJ per MAC and per accumulate (energy per test sample)

    def validate(self) -> "TrainConfig":
        """Raise TrainConfigError naming the first bad field."""
        from msenas.train.optim import LOSSES, OPTIMIZERS

        for name in ("epochs", "batch_size", "T"):
            self.need(getattr(self, name) >= 1, name, "must be >= 1")
        self.need(self.max_train_batches is None or self.max_train_batches >= 1, "max_train_batches", "must be >= 1")
        self.need(self.seed >= 0, "seed", "must be >= 0")
        self.need(self.lr > 0, "lr", "must be > 0")
        for name in ("weight_decay", "momentum", "warmup_epochs"):
            self.need(getattr(self, name) >= 0, name, "must be >= 0")
        self.need(self.warmup_epochs <= self.epochs, "warmup_epochs", f"must be <= epochs ({self.epochs})")
        self.need(0 <= self.label_smoothing < 1, "label_smoothing", "must be in [0, 1)")
        self.need_name("optimizer", OPTIMIZERS)
        self.need_name("loss", LOSSES)
        return self


def parse_overrides(items: list[str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """`key=value` strings -> (config fields, data fields); `data.KEY` goes to the dataset (options, seed)."""
    fields = apply_overrides({}, items or [])
    data = fields.pop("data", {})
    if not isinstance(data, dict):
        raise TrainConfigError(f"--set data={data!r}: use data.OPTION=value (e.g. data.size=8)")
    return fields, data
