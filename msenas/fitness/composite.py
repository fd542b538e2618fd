"""Calibrated percentile composites of proxies, and multi-fidelity promotion (SPEC 3.4).

A proxy value is mapped to its empirical percentile within the values a
calibration sample of random genomes reached (linear between calibration
values, 0 below the smallest, 1 above the largest); the composite is the
weighted mean of those percentiles. With upper tail "extend", a value above
the largest keeps climbing past 1 at the slope of the calibration's top
decile, so genomes that beat every calibration genome still differ (SPEC 3.4
saturates; docs/fitness.md measures when that matters). The calibration is scored once per run
and stored with it, so a fitness means the same in every generation and
after a resume. A genome not promoted to the few-step proxies counts as
percentile 0 on them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from msenas.errors import MsenasError
from msenas.fitness.record import WORST_FITNESS, Record
from msenas.registry import Registry

Weights = tuple[tuple[str, float], ...]

COMPOSITES: Registry[Weights] = Registry("composite")
for _name, _weights in (
    ("rdm_only", (("rdm", 1.0),)),                                        # paper-faithful MSE-NAS
    ("sahd_params", (("sahd", 1.0), ("log_params", 1.0))),                # best zero-cost pair of SPEC 3.0
    ("rdm_params", (("rdm", 1.0), ("log_params", 1.0))),
    ("rdm_k_params", (("rdm_k", 1.0), ("log_params", 1.0))),
    ("rdm_k_acc_params", (("rdm_k", 1.0), ("probe_acc", 1.0), ("log_params", 1.0))),  # SPEC 3.0 best
    ("loss_params", (("probe_loss", 1.0), ("log_params", 1.0))),          # added 2026-11-24, before round 2
    ("rdm_k_loss_params", (("rdm_k", 1.0), ("probe_loss", 1.0), ("log_params", 1.0))),
):
    COMPOSITES.register(_name)(_weights)


class CalibrationError(MsenasError, ValueError):
    """A calibration that cannot be used (all genomes failed, or it was made for other proxies)."""


def percentile(values, v: float, upper: str = "saturate") -> float:
    """Empirical percentile of v: interpolated between values, 0 below them, 1 above (or more, see module)."""
    vals = np.sort(np.asarray(values, dtype=np.float64))
    xs, inv = np.unique(vals, return_inverse=True)
    if len(xs) == 1:
        return 0.0 if v < xs[0] else (1.0 if v > xs[0] else 0.5)
    pos = np.arange(len(vals)) / (len(vals) - 1)                  # position of each sorted value
    ps = np.bincount(inv, weights=pos) / np.bincount(inv)         # tied values share their mean position
    if upper == "extend" and v > xs[-1]:
        top = float(np.quantile(vals, 0.9))
        lo, dp = (top, 0.1) if top < xs[-1] else (xs[0], 1.0)      # top decile, or the whole range if it is flat
        return float(ps[-1] + (v - xs[-1]) * dp / (xs[-1] - lo))
    return float(np.interp(v, xs, ps))


@dataclass
class Calibration:
    """Per proxy, the sorted values healthy calibration genomes reached."""

    values: dict[str, list[float]]
    n_genomes: int

    @classmethod
    def from_records(cls, records: list[Record], names: tuple[str, ...]) -> "Calibration":
        """Keep the healthy records' values of every named proxy."""
        ok = [r for r in records if r.ok]
        if not ok:
            raise CalibrationError(f"calibration: all {len(records)} genomes failed or were dead")
        return cls({n: sorted(float(r.proxies[n]) for r in ok) for n in names}, len(records))

    def percentile(self, name: str, v: float, upper: str = "saturate") -> float:
        """Percentile of a value of proxy `name` within the calibration."""
        return percentile(np.asarray(self.values[name]), v, upper)

    def fitness(self, rec: Record, weights: Weights, upper: str = "saturate") -> float:
        """Weighted mean percentile; a proxy the record lacks counts 0; failed/dead -> WORST_FITNESS."""
        if not rec.ok:
            return WORST_FITNESS
        total = sum(w for _, w in weights)
        s = sum(w * self.percentile(n, rec.proxies[n], upper) for n, w in weights if n in rec.proxies)
        return float(s / total)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"values": {k: list(v) for k, v in self.values.items()}, "n_genomes": self.n_genomes}

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        """Inverse of to_dict."""
        return cls({k: [float(x) for x in v] for k, v in d["values"].items()}, int(d["n_genomes"]))


def partial_weights(weights: Weights, keep: set[str]) -> Weights:
    """The pairs of `weights` whose proxy is in `keep`."""
    return tuple((n, w) for n, w in weights if n in keep)


def promoted(records: list[Record], calibration: Calibration, weights: Weights, fraction: float,
             upper: str = "saturate") -> list[int]:
    """Indices of the best ceil(fraction*n) healthy records by the composite of what they have."""
    n = math.ceil(fraction * len(records))
    scored = [(calibration.fitness(r, weights, upper), i) for i, r in enumerate(records) if r.ok]
    scored.sort(key=lambda t: (-t[0], t[1]))                      # best first, ties by position
    return sorted(i for _, i in scored[:n])
