"""Typed, frozen fitness config, validated once with messages that name the field (SPEC 3).

The few-step proxies train with Adam (the same family as the trainer's AdamW,
without weight decay: k steps are too few for decay to matter) at `lr`, on
`steps` batches of `batch_size` train samples (the probe samples excluded).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from msenas.errors import MsenasError

READOUTS = ("last", "mean", "max")
METRICS = ("pearson", "euclidean", "cosine")
CORRELATIONS = ("spearman", "kendall")
UPPER_TAILS = ("saturate", "extend")      # composite percentiles above the calibration's best
DEFAULT_PROXY = "rdm_k_loss_params"  # calibrated {RDM, probe loss after k steps, log params}: docs/fitness.md


class FitnessConfigError(MsenasError, ValueError):
    """A fitness config with a bad field; the message names the field (fitness.<name>)."""


@dataclass(frozen=True)
class FitnessConfig:
    """How a genome is scored: proxy or composite, probe, RDM options, few-step budget."""

    proxy: str = DEFAULT_PROXY    # a registered proxy name or a composite preset name
    T: int = 4
    per_class: int = 8            # probe samples per class
    readout: str = "last"         # last | mean | max (over cells)
    metric: str = "pearson"       # network RDM: pearson | euclidean | cosine
    correlation: str = "spearman"  # spearman | kendall
    target: str = "labels"        # "labels" or a path to a .npy RDM [N, N], N = probe size
    repeats: int = 1              # R: independent initialisations averaged
    steps: int = 5                # k: Adam steps on the train split for few-step proxies (5 x batch 32:
    lr: float = 0.003             #   chosen by the rank benchmark under 5% of a training run, docs/fitness.md)
    batch_size: int = 32
    calibration: int = 50         # random genomes in the calibration sample (composites only)
    upper_tail: str = "saturate"  # above the calibration's best: saturate at 1 (SPEC 3.4) | extend past 1
    promote: float = 1.0          # fraction promoted to the few-step proxies (1.0 = everyone)
    weights: tuple[tuple[str, float], ...] = ()  # custom composite; empty = the preset named by `proxy`

    def validate(self) -> "FitnessConfig":
        """Raise FitnessConfigError naming the first bad field; return self."""
        from msenas.fitness.composite import COMPOSITES
        from msenas.fitness.proxies import PROXIES

        if not self.weights and self.proxy not in PROXIES and self.proxy not in COMPOSITES:
            known = ", ".join(PROXIES.names() + sorted(COMPOSITES))
            _fail("proxy", f"unknown proxy or composite {self.proxy!r}; known: {known}")
        _positive_int(self, "T", "per_class", "repeats", "steps", "batch_size")
        _choice(self, "readout", READOUTS)
        _choice(self, "metric", METRICS)
        _choice(self, "correlation", CORRELATIONS)
        _choice(self, "upper_tail", UPPER_TAILS)
        if self.target == "labels" and self.per_class < 2:
            _fail("per_class", f"must be >= 2 with target 'labels' (else every pair differs), got {self.per_class}")
        if self.target != "labels" and not Path(str(self.target)).is_file():
            _fail("target", f"must be 'labels' or an existing .npy file, got {self.target!r}")
        if not _number(self.lr) or not self.lr > 0:
            _fail("lr", f"must be a finite number > 0, got {self.lr!r}")
        if not isinstance(self.calibration, int) or isinstance(self.calibration, bool) or self.calibration < 2:
            _fail("calibration", f"must be an integer >= 2, got {self.calibration!r}")
        if not _number(self.promote) or not 0 < self.promote <= 1:
            _fail("promote", f"must be a number in (0, 1], got {self.promote!r}")
        _check_weights(self.weights, PROXIES)
        return self

    def composite(self) -> tuple[tuple[str, float], ...] | None:
        """The (proxy, weight) pairs of the composite, or None when a single proxy is the fitness."""
        from msenas.fitness.composite import COMPOSITES

        if self.weights:
            return tuple((str(n), float(w)) for n, w in self.weights)
        return COMPOSITES.get(self.proxy)

    def proxy_names(self) -> tuple[str, ...]:
        """Every proxy the fitness needs, in a stable order."""
        comp = self.composite()
        return (self.proxy,) if comp is None else tuple(n for n, _ in comp)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (weights as lists)."""
        d = dataclasses.asdict(self)
        d["weights"] = [[n, w] for n, w in self.weights]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FitnessConfig":
        """Build from a plain dict (e.g. a TOML table); unknown keys name themselves."""
        known = {f.name for f in dataclasses.fields(cls)}
        for k in d:
            if k not in known:
                raise FitnessConfigError(f"fitness.{k}: unknown field; known: {', '.join(sorted(known))}")
        kw = dict(d)
        if "weights" in kw:
            kw["weights"] = _weights_tuple(kw["weights"])
        return cls(**kw).validate()


def _fail(field: str, msg: str) -> None:
    raise FitnessConfigError(f"fitness.{field}: {msg}")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive_int(cfg: FitnessConfig, *names: str) -> None:
    for n in names:
        v = getattr(cfg, n)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            _fail(n, f"must be a positive integer, got {v!r}")


def _choice(cfg: FitnessConfig, name: str, choices: tuple[str, ...]) -> None:
    v = getattr(cfg, name)
    if v not in choices:
        _fail(name, f"must be one of {', '.join(choices)}, got {v!r}")


def _weights_tuple(w: Any) -> tuple:
    try:
        return tuple((n, v) for n, v in w)
    except (TypeError, ValueError):
        raise FitnessConfigError(f"fitness.weights: expected a list of [proxy, weight] pairs, got {w!r}") from None


def _check_weights(weights: Any, proxies) -> None:
    if not isinstance(weights, tuple):
        _fail("weights", f"expected a tuple of (proxy, weight) pairs, got {weights!r}")
    seen = set()
    for i, pair in enumerate(weights):
        if not isinstance(pair, tuple) or len(pair) != 2:
            _fail(f"weights[{i}]", f"expected a (proxy, weight) pair, got {pair!r}")
        name, w = pair
        if name not in proxies:
            _fail(f"weights[{i}]", f"unknown proxy {name!r}; known: {', '.join(proxies.names())}")
        if name in seen:
            _fail(f"weights[{i}]", f"proxy {name!r} listed twice")
        if not _number(w) or not w > 0:
            _fail(f"weights[{i}]", f"weight of {name!r} must be a finite number > 0, got {w!r}")
        seen.add(name)
