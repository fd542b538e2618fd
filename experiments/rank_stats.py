"""Rank-correlation statistics for proxy benchmarks: tau/rho with bootstrap intervals.

Used by experiments/rank_correlation.py; plain numpy/scipy, no msenas imports.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def kendall(x, y) -> float:
    """Kendall tau-b; nan-safe (a constant vector gives 0)."""
    t = stats.kendalltau(x, y).statistic
    return 0.0 if not np.isfinite(t) else float(t)


def spearman(x, y) -> float:
    """Spearman rho; a constant vector gives 0."""
    r = stats.spearmanr(x, y).statistic
    return 0.0 if not np.isfinite(r) else float(r)


def bootstrap(x, y, fn, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Statistic on the full sample and its percentile-bootstrap 95% interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n, len(x)))
    boots = np.array([fn(x[i], y[i]) for i in idx])
    return fn(x, y), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def paired_difference(a, b, y, fn, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """fn(a, y) - fn(b, y) and its paired-bootstrap 95% interval (same resamples for both)."""
    a, b, y = (np.asarray(v, float) for v in (a, b, y))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(y), size=(n, len(y)))
    diffs = np.array([fn(a[i], y[i]) - fn(b[i], y[i]) for i in idx])
    return fn(a, y) - fn(b, y), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))
