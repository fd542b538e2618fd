"""Rank-correlation statistics for proxy benchmarks: tau/rho with bootstrap intervals.

Vectorised over bootstrap resamples (numpy); used by experiments/rank_correlation.py.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every row pair of x, y [B, n]; 0 where a row is constant."""
    dx = np.sign(x[:, :, None] - x[:, None, :])          # [B, n, n]
    dy = np.sign(y[:, :, None] - y[:, None, :])
    num = (dx * dy).sum(axis=(1, 2))
    den = np.sqrt((dx != 0).sum(axis=(1, 2)) * (dy != 0).sum(axis=(1, 2)).astype(float))
    return np.divide(num, den, out=np.zeros(len(x)), where=den > 0)


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho (Pearson of average ranks) of every row pair; 0 where a row is constant."""
    rx = rankdata(x, axis=1) - (x.shape[1] + 1) / 2
    ry = rankdata(y, axis=1) - (y.shape[1] + 1) / 2
    den = np.sqrt((rx ** 2).sum(1) * (ry ** 2).sum(1))
    return np.divide((rx * ry).sum(1), den, out=np.zeros(len(x)), where=den > 0)


def kendall(x, y) -> float:
    """Kendall tau-b of two samples (a constant sample gives 0)."""
    return float(kendall_rows(np.asarray(x, float)[None], np.asarray(y, float)[None])[0])


def spearman(x, y) -> float:
    """Spearman rho of two samples (a constant sample gives 0)."""
    return float(spearman_rows(np.asarray(x, float)[None], np.asarray(y, float)[None])[0])


ROWS = {kendall: kendall_rows, spearman: spearman_rows}


def _resamples(n: int, b: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(b, n))


def bootstrap(x, y, fn, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Statistic on the full sample and its percentile-bootstrap 95% interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = _resamples(len(x), n, seed)
    boots = ROWS[fn](x[idx], y[idx])
    return fn(x, y), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def paired_difference(a, b, y, fn, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """fn(a, y) - fn(b, y) and its paired-bootstrap 95% interval (same resamples for both)."""
    a, b, y = (np.asarray(v, float) for v in (a, b, y))
    idx = _resamples(len(y), n, seed)
    diffs = ROWS[fn](a[idx], y[idx]) - ROWS[fn](b[idx], y[idx])
    return fn(a, y) - fn(b, y), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))
