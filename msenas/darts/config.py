"""Typed, frozen MA-DARTS search config, validated once on construction (msenas.config.Config).

Defaults follow DARTS (Liu et al., ICLR 2019) for the optimisers (weights: SGD
0.025, momentum 0.9, wd 3e-4, cosine to 0.001; alphas: Adam 3e-4, betas
(0.5, 0.999), wd 1e-3) and MA-DARTS (arXiv 2411.00902) for T = 2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from msenas.config import Config, ConfigError
from msenas.genome.checks import LIMITS
from msenas.genome.parts import NEURONS, OPS, SIGNS, parse_attention

DEFAULT_OPS = ("conv3x3", "conv5x5", "avgpool3x3", "maxpool3x3", "identity", "zero")


class DartsConfigError(ConfigError):
    """A bad MA-DARTS option; the message names the field."""


@dataclass(frozen=True)
class DartsConfig(Config):
    """Supernet shape, bi-level optimisation and attention of one MA-DARTS search."""

    error: ClassVar[type[ConfigError]] = DartsConfigError

    epochs: int = 50
    batch_size: int = 64
    n_cells: int = 8                         # fixed macro: number of cells (layers)
    channels: int = 16                       # base channels C
    n_nodes: int = 4                         # intermediate nodes per cell
    stem_multiplier: int = 3
    reductions: tuple[int, ...] | None = None  # None: cells n_cells//3 and 2*n_cells//3 (DARTS)
    ops: tuple[str, ...] = DEFAULT_OPS       # candidate ops (names of the genome's op registry)
    sign: int = 1                            # sign of every candidate op (1 excitatory)
    neuron: str = "lif"                      # neuron model of every candidate op (msenas.genome.NEURONS)
    attention: str = "none"                  # none, eca, cbam, temporal, or parts joined by "+"
    T: int = 2
    order: Literal["first", "second"] = "first"  # DARTS eq. 7: second = virtual SGD step, xi = current w lr
    w_optimizer: str = "sgd"                 # msenas.train.optim.OPTIMIZERS: sgd | adamw
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
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "on", "off", "bf16", "fp16"] = "auto"   # as training: float16 exactly on a GPU
    torch_threads: int | None = None         # CPU threads (None: torch's default; 1 on a CPU shared with other jobs)

    def __post_init__(self) -> None:
        if isinstance(self.ops, str):                       # --set ops=conv3x3+identity
            object.__setattr__(self, "ops", tuple(v for v in self.ops.replace("+", ",").split(",") if v))
        if self.reductions is None and isinstance(self.n_cells, int):
            object.__setattr__(self, "reductions", tuple(sorted({self.n_cells // 3, 2 * self.n_cells // 3})))
        super().__post_init__()

    def validate(self) -> "DartsConfig":
        """Raise DartsConfigError naming the first bad field."""
        from msenas.train.optim import OPTIMIZERS

        for name in ("epochs", "batch_size", "n_cells", "channels", "n_nodes", "stem_multiplier", "T"):
            self.need(getattr(self, name) >= 1, name, "must be >= 1")
        for name, limit in (("n_cells", "cells"), ("channels", "channels"), ("stem_multiplier", "stem_multiplier"),
                            ("n_nodes", "n_nodes")):
            self.need(getattr(self, name) <= LIMITS[limit], name, f"must be <= {LIMITS[limit]} (the genome limit)")
        for name in ("max_batches", "max_valid_batches", "torch_threads"):
            self.need(getattr(self, name) is None or getattr(self, name) >= 1, name, "must be >= 1")
        for name in ("w_lr", "alpha_lr"):
            self.need(getattr(self, name) > 0, name, "must be > 0")
        for name in ("w_lr_min", "w_momentum", "w_weight_decay", "grad_clip", "alpha_weight_decay",
                     "alpha_warmup_epochs"):
            self.need(getattr(self, name) >= 0, name, "must be >= 0")
        self.need(0 < self.train_portion < 1, "train_portion", "must be in (0, 1)")
        reds = list(self.reductions)
        self.need(all(0 <= r < self.n_cells for r in reds) and reds == sorted(set(reds)), "reductions",
                  f"must be sorted distinct cell indices in [0, {self.n_cells})", reds)
        unknown = [o for o in self.ops if o not in OPS]
        self.need(not unknown, "ops", f"unknown op(s) {unknown}; known: {OPS.names()}", list(self.ops))
        self.need(len(set(self.ops)) == len(self.ops), "ops", "must be distinct", list(self.ops))
        self.need(any(o != "zero" for o in self.ops), "ops", "need at least one op besides zero", list(self.ops))
        self.need_name("neuron", NEURONS)
        self.need_name("w_optimizer", OPTIMIZERS)
        self.need(self.sign in SIGNS, "sign", "must be 1 (excitatory) or -1 (inhibitory)")
        try:
            parse_attention(self.attention)
        except Exception as e:  # noqa: BLE001 - RegistryError: a one-line message
            raise DartsConfigError(f"attention: {e}") from None
        return self

    def replace(self, **changes: Any) -> "DartsConfig":
        """A copy with some fields changed (validated again); a new n_cells re-derives default reductions."""
        if "n_cells" in changes and "reductions" not in changes:
            changes["reductions"] = None
        return super().replace(**changes)
