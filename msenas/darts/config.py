"""Typed, frozen MA-DARTS search config, validated once; `--set key=value` overrides.

Defaults follow DARTS (Liu et al., ICLR 2019) for the optimisers (weights: SGD
0.025, momentum 0.9, wd 3e-4, cosine to 0.001; alphas: Adam 3e-4, betas
(0.5, 0.999), wd 1e-3) and MA-DARTS (arXiv 2411.00902) for T = 2.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Mapping

from msenas.errors import MsenasError
from msenas.genome.types import NEURONS, OP_SPECS, SIGNS

DEFAULT_OPS = ("conv3x3", "conv5x5", "avgpool3x3", "maxpool3x3", "identity", "zero")
CHOICES: dict[str, tuple[str, ...]] = {
    "order": ("first", "second"),
    "w_optimizer": ("sgd", "adamw"),
    "device": ("auto", "cpu", "cuda"),
    "neuron": NEURONS,
}


class DartsConfigError(MsenasError, ValueError):
    """A bad MA-DARTS option; the message names the field."""


@dataclass(frozen=True)
class DartsConfig:
    """Supernet shape, bi-level optimisation and attention of one MA-DARTS search."""

    epochs: int = 50
    batch_size: int = 64
    n_cells: int = 8                         # fixed macro: number of cells (layers)
    channels: int = 16                       # base channels C
    n_nodes: int = 4                         # intermediate nodes per cell
    stem_multiplier: int = 3
    reductions: tuple[int, ...] | None = None  # None: cells n_cells//3 and 2*n_cells//3 (DARTS)
    ops: tuple[str, ...] = DEFAULT_OPS       # candidate ops (names of the genome's op registry)
    sign: int = 1                            # sign of every candidate op (1 excitatory)
    neuron: str = "lif"                      # neuron constants: NeuronParams(), as build_network uses
    attention: str = "none"                  # none, eca, cbam, temporal, or parts joined by "+"
    T: int = 2
    order: str = "first"                     # "first" | "second": DARTS eq. 7, virtual SGD step, xi = current w lr
    w_optimizer: str = "sgd"                 # "sgd" | "adamw"
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0                   # 0: no clipping
    alpha_lr: float = 3e-4
    alpha_weight_decay: float = 1e-3
    alpha_warmup_epochs: int = 0             # epochs of weight-only training before alphas move
    train_portion: float = 0.5               # share of the train split for weights; the rest for alphas
    max_batches: int | None = None           # cap on step pairs per epoch (quick runs)
    max_valid_batches: int | None = None     # cap on held-out batches for the epoch's validation
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(DartsConfig)
        for f in dataclasses.fields(self):                   # ints for floats, lists for tuples
            object.__setattr__(self, f.name, _coerce(f.name, getattr(self, f.name), hints[f.name]))
        if self.reductions is None:
            object.__setattr__(self, "reductions", tuple(sorted({self.n_cells // 3, 2 * self.n_cells // 3})))
        self.validate()

    def validate(self) -> "DartsConfig":
        """Raise DartsConfigError naming the first bad field."""
        hints = typing.get_type_hints(DartsConfig)
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name])
        for name in ("epochs", "batch_size", "n_cells", "channels", "n_nodes", "stem_multiplier", "T"):
            _at_least(name, getattr(self, name), 1)
        for name in ("max_batches", "max_valid_batches"):
            if getattr(self, name) is not None:
                _at_least(name, getattr(self, name), 1)
        for name in ("w_lr", "alpha_lr"):
            if not getattr(self, name) > 0:
                raise DartsConfigError(f"{name}: must be > 0, got {getattr(self, name)!r}")
        for name in ("w_lr_min", "w_momentum", "w_weight_decay", "grad_clip", "alpha_weight_decay",
                     "alpha_warmup_epochs"):
            if getattr(self, name) < 0:
                raise DartsConfigError(f"{name}: must be >= 0, got {getattr(self, name)!r}")
        if not 0 < self.train_portion < 1:
            raise DartsConfigError(f"train_portion: must be in (0, 1), got {self.train_portion!r}")
        reds = list(self.reductions)
        if any(not 0 <= r < self.n_cells for r in reds) or reds != sorted(set(reds)):
            raise DartsConfigError(f"reductions: must be sorted distinct cell indices in [0, {self.n_cells}), "
                                   f"got {list(self.reductions)}")
        self._validate_ops()
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise DartsConfigError(f"{name}: must be one of {list(allowed)}, got {getattr(self, name)!r}")
        if self.sign not in SIGNS:
            raise DartsConfigError(f"sign: must be 1 (excitatory) or -1 (inhibitory), got {self.sign!r}")
        self._validate_attention()
        return self

    def _validate_ops(self) -> None:
        unknown = [o for o in self.ops if o not in OP_SPECS]
        if unknown:
            raise DartsConfigError(f"ops: unknown op(s) {unknown}; known: {sorted(OP_SPECS)}")
        if len(set(self.ops)) != len(self.ops):
            raise DartsConfigError(f"ops: must be distinct, got {list(self.ops)}")
        if not any(o != "zero" for o in self.ops):
            raise DartsConfigError(f"ops: need at least one op besides zero, got {list(self.ops)}")

    def _validate_attention(self) -> None:
        from msenas.nn.attention import parse_attention

        try:
            parse_attention(self.attention)
        except MsenasError as e:
            raise DartsConfigError(f"attention: {e}") from None

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> "DartsConfig":
        """Build from a mapping; unknown keys or wrong types name the field."""
        return cls(**_coerce_fields(mapping))

    def replace(self, **changes: Any) -> "DartsConfig":
        """A copy with some fields changed (validated again); a new n_cells re-derives default reductions."""
        changes = _coerce_fields(changes)
        if "n_cells" in changes and "reductions" not in changes:
            changes["reductions"] = None
        return dataclasses.replace(self, **changes)


def _coerce_fields(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Check the keys of a mapping of options (values are coerced in __post_init__)."""
    if not isinstance(mapping, Mapping):
        raise DartsConfigError(f"darts config: expected a mapping, got {type(mapping).__name__}")
    hints = typing.get_type_hints(DartsConfig)
    out = {}
    for key, value in mapping.items():
        if key not in hints:
            raise DartsConfigError(f"{key}: unknown darts option; known: {', '.join(sorted(hints))}")
        out[key] = value
    return out


def _coerce(name: str, value: Any, hint: Any) -> Any:
    args = typing.get_args(hint)
    if value is None and type(None) in args:
        return None
    base = next((a for a in args if a is not type(None)), hint) if typing.get_origin(hint) is not tuple else hint
    if typing.get_origin(base) is tuple and isinstance(value, (list, tuple)):
        return tuple(value)
    if typing.get_origin(base) is tuple and isinstance(value, str):
        return tuple(v for v in value.replace("+", ",").split(",") if v)
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _check_type(name: str, value: Any, hint: Any) -> None:
    args = typing.get_args(hint)
    if value is None and type(None) in args:
        return
    base = next((a for a in args if a is not type(None)), hint) if typing.get_origin(hint) is not tuple else hint
    if typing.get_origin(base) is tuple:
        inner = typing.get_args(base)[0]
        if not isinstance(value, tuple) or any(isinstance(v, bool) or not isinstance(v, inner) for v in value):
            raise DartsConfigError(f"{name}: expected a list of {inner.__name__}, got {value!r}")
        return
    if (base is int or base is float) and isinstance(value, bool) or not isinstance(value, base):
        raise DartsConfigError(f"{name}: expected {base.__name__}, got {value!r}")
    if base is float and value != value:
        raise DartsConfigError(f"{name}: expected a number, got {value!r}")


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise DartsConfigError(f"{name}: must be >= {low}, got {value!r}")
