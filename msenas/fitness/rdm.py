"""Representational dissimilarity matrices and their agreement with a target RDM (pure numpy).

RDM fitness of MSE-NAS (Pan et al., arXiv 2304.10749), after representational
similarity analysis (Kriegeskorte, Mur, Bandettini, Front. Syst. Neurosci. 2008).
SPEC 3.1. A representation r_i is a sample's spike counts over T at a readout.

With the categorical target (0 same class, 1 different) the score of a network
RDM is 1 only when its within-class dissimilarities all tie below its
between-class ones; class-separated but continuous distances reach less
(Spearman against a binary vector is bounded by the ranks' spread).
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist, squareform

from msenas.registry import Registry

WORST_CORRELATION = -1.0  # score of a dead (silent or constant) representation

RDM_METRICS: Registry = Registry("RDM metric")       # reps [N,F] -> RDM [N,N]
CORRELATIONS: Registry = Registry("RDM correlation")  # (network upper triangle, target's) -> float
READOUTS: Registry = Registry("RDM readout")          # (per-cell reps, score of one rep) -> float


def _cosine_distance(x: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of rows [N,F] -> [N,N], zero diagonal; a zero row is 0-similar to every other row.

    scipy's pdist("correlation"/"cosine") gives NaN for a constant or zero row;
    SPEC 3.1.6 wants such a (silent) representation ranked, never NaN.
    """
    norm = np.linalg.norm(x, axis=1)                     # [N]
    safe = np.where(norm > 0, norm, 1.0)
    sim = (x / safe[:, None]) @ (x / safe[:, None]).T    # [N,N]
    zero = norm == 0
    sim[zero, :] = 0.0
    sim[:, zero] = 0.0
    d = 1.0 - sim
    np.fill_diagonal(d, 0.0)
    return d


@RDM_METRICS.register("pearson")
def pearson_rdm(reps: np.ndarray) -> np.ndarray:
    """D_ij = 1 - pearson(r_i, r_j); a constant row is uncorrelated (distance 1) with the rest."""
    return _cosine_distance(reps - reps.mean(axis=1, keepdims=True))


@RDM_METRICS.register("cosine")
def cosine_rdm(reps: np.ndarray) -> np.ndarray:
    """D_ij = 1 - cos(r_i, r_j); an all-zero row has distance 1 to every other row."""
    return _cosine_distance(reps)


@RDM_METRICS.register("euclidean")
def euclidean_rdm(reps: np.ndarray) -> np.ndarray:
    """D_ij = ||r_i - r_j||_2 (scipy's pdist; pearson and cosine keep our own, which define a silent row)."""
    return squareform(pdist(reps, "euclidean"))


@CORRELATIONS.register("spearman")
def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.spearmanr(a, b).statistic)


@CORRELATIONS.register("kendall")
def _kendall(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.kendalltau(a, b).statistic)  # tau-b: handles the target's ties


def network_rdm(reps: np.ndarray, metric: str = "pearson") -> np.ndarray:
    """RDM [N,N] of representations [N,F] (float64) under a registered metric."""
    reps = np.asarray(reps, dtype=np.float64).reshape(len(reps), -1)
    return RDM_METRICS.get(metric)(reps)


def categorical_rdm(labels: np.ndarray) -> np.ndarray:
    """Target RDM from labels [N]: 0 for a same-class pair, 1 otherwise."""
    y = np.asarray(labels)
    return (y[:, None] != y[None, :]).astype(np.float64)


def upper(m: np.ndarray) -> np.ndarray:
    """Upper triangle (above the diagonal) of a square matrix, as a vector."""
    i, j = np.triu_indices(len(m), k=1)
    return m[i, j]


def is_constant(v: np.ndarray) -> bool:
    """True when a vector carries no ranking (every entry equal up to rounding)."""
    v = np.asarray(v, dtype=np.float64)
    return v.size == 0 or float(np.ptp(v)) <= 1e-12 * max(1.0, float(np.abs(v).max()))


def is_dead(reps: np.ndarray, metric: str = "pearson") -> bool:
    """A silent or constant representation: its RDM does not rank any pair above another."""
    return is_constant(upper(network_rdm(reps, metric)))


def _denoise(u: np.ndarray) -> np.ndarray:
    """Round away float noise (relative 1e-12) so that equal dissimilarities tie exactly when ranked."""
    scale = float(np.abs(u).max()) if u.size else 0.0
    return np.round(u / scale, 12) * scale if scale > 0 else u


def rdm_score(reps: np.ndarray, target: np.ndarray, metric: str = "pearson",
              correlation: str = "spearman") -> tuple[float, bool]:
    """(correlation of the network RDM with the target over upper triangles, dead flag)."""
    u = _denoise(upper(network_rdm(reps, metric)))
    if is_constant(u):
        return WORST_CORRELATION, True
    r = CORRELATIONS.get(correlation)(u, upper(np.asarray(target, dtype=np.float64)))
    return (r, False) if np.isfinite(r) else (WORST_CORRELATION, True)


READOUTS.register("last")(lambda reps, score: score(reps[-1]))
READOUTS.register("mean")(lambda reps, score: float(np.mean([score(r) for r in reps])))
READOUTS.register("max")(lambda reps, score: float(np.max([score(r) for r in reps])))


def readout_score(cell_reps: list[np.ndarray], target: np.ndarray, metric: str = "pearson",
                  correlation: str = "spearman", readout: str = "last") -> float:
    """RDM score at a readout: the last cell, or the mean or max of every cell's score (dead cells score worst)."""
    return READOUTS.get(readout)(cell_reps, lambda r: rdm_score(r, target, metric, correlation)[0])
