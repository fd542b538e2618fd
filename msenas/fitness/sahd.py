"""Sparsity-aware Hamming distance (SAHD) kernel score of binary spike patterns (pure numpy).

SNASNet: Kim, Li, Park, Venkatesha, Panda, "Neural Architecture Search for
Spiking Neural Networks", ECCV 2022 (arXiv 2201.10355). SPEC 3.2:
per LIF layer, x_i the binary pattern of sample i over N neurons (here: every
neuron at every time step), s_i = sum(x_i)/N, H_ij the Hamming distance,
K_ij = N - 0.5*H_ij / (N*(s_i(1-s_j) + (1-s_i)s_j) + 1e-3); K averaged over
layers; score = log|det K|.

Patterns enter as sufficient statistics (A = x x^T, n = row sums, N), which add
up over time steps and chunks, so a network never has to keep its spikes.
"""
from __future__ import annotations

import numpy as np

from msenas.fitness.zero_cost import FLOOR, log_abs_det

SAHD_FLOOR = FLOOR   # score of a singular kernel (e.g. every layer silent): finite, below any real score


def layer_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(A = x x^T [B,B], n = ones per sample [B], N neurons) of binary patterns x [B,N]."""
    x = (np.asarray(x).reshape(len(x), -1) > 0).astype(np.float64)
    return x @ x.T, x.sum(axis=1), x.shape[1]


def layer_kernel(A: np.ndarray, n: np.ndarray, N: int) -> np.ndarray:
    """SAHD kernel K [B,B] of one layer from its statistics (see the module docstring)."""
    s = n / N                                             # [B] sparsity
    hamming = n[:, None] + n[None, :] - 2.0 * A           # [B,B] disagreeing neurons
    expected = N * (s[:, None] * (1 - s[None, :]) + (1 - s[:, None]) * s[None, :]) + 1e-3
    return N - 0.5 * hamming / expected


def sahd_kernel(layers: list[np.ndarray]) -> np.ndarray:
    """Layer-averaged SAHD kernel [B,B] of per-layer binary patterns, each [B, N_l]."""
    return np.mean([layer_kernel(*layer_stats(x)) for x in layers], axis=0)


def sahd_score(kernel: np.ndarray | None) -> float:
    """log|det K| of a (layer-averaged) kernel; SAHD_FLOOR when singular or missing."""
    return log_abs_det(kernel)
