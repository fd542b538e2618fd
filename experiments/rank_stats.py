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


def partial_kendall(x, y, z) -> float:
    """Kendall's partial tau of x and y given z: (t_xy - t_xz t_yz) / sqrt((1 - t_xz^2)(1 - t_yz^2))."""
    txy, txz, tyz = kendall(x, y), kendall(x, z), kendall(y, z)
    den = np.sqrt(max(0.0, (1 - txz ** 2) * (1 - tyz ** 2)))
    return float((txy - txz * tyz) / den) if den > 0 else 0.0


def band_percentile_mean(*columns) -> np.ndarray:
    """The mean of each column's empirical percentile within the sample (a composite calibrated on it)."""
    def pct(v):
        v = np.asarray(v, float)
        return (rankdata(v) - 1) / max(1, len(v) - 1)
    return np.mean([pct(c) for c in columns], axis=0)


def bands(results: list[dict], seeds: list[str], n_bands: int = 3) -> dict:
    """Within terciles (n_bands) of params among live genomes: Kendall tau of loss_params (recalibrated in the
    band) and of the probe loss alone against mean test accuracy, partial tau of the probe loss given
    log(params), the ground truth's seed-to-seed tau; the same over all live genomes ("all")."""
    live = [r for r in results if not r["dead"]]
    params = np.array([r["params"] for r in live], float)
    loss = np.array([r["proxies"]["probe_loss"] for r in live], float)
    accs = np.array([[r["train"][s]["test_acc"] for s in seeds] for r in live], float)
    y = accs.mean(axis=1)
    edges = np.quantile(params, np.linspace(0, 1, n_bands + 1))
    groups = {"all": np.ones(len(live), bool)}
    for b in range(n_bands):
        lo, hi = edges[b], edges[b + 1]
        groups[f"band {b + 1}: params {lo:,.0f}-{hi:,.0f}"] = (params >= lo) & (
            params <= hi if b == n_bands - 1 else params < hi)
    out = {}
    for name, m in groups.items():
        lp = np.log(params[m])
        out[name] = {"n": int(m.sum()),
                     "tau_loss_params": kendall(band_percentile_mean(loss[m], lp), y[m]),
                     "tau_probe_loss": kendall(loss[m], y[m]),
                     "tau_log_params": kendall(lp, y[m]),
                     "partial_tau_loss_given_params": partial_kendall(loss[m], y[m], lp),
                     "seed_tau": kendall(accs[m, 0], accs[m, 1]) if accs.shape[1] > 1 else None}
    return out
