"""Zero-cost NAS proxies from the ANN literature, reduced from per-layer statistics (pure numpy).

The torch side (msenas/fitness/gradients.py, measure.KernelHooks) turns a
spiking network at initialisation into plain per-layer statistics; these
functions reduce them to one score, higher is better, always finite.

- NASWOT: Mellor, Turner, Storkey, Crowley, "Neural Architecture Search
  without Training", ICML 2021 (arXiv 2006.04647): log|det K_H| with
  K_H = N_A - d_H(c_i, c_j), c_i the binary code of sample i over all
  rectified units. Here the code is the spike pattern of every LIF neuron at
  every time step, concatenated over the LIF layers: the plain Hamming kernel,
  without SNASNet's sparsity normalisation and per-layer averaging (sahd.py).
- grad_norm, snip: Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for
  Lightweight NAS", ICLR 2021 (arXiv 2101.08134); SNIP: Lee, Ajanthan, Torr,
  "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019.
- synflow: Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any
  data by iteratively conserving synaptic flow", NeurIPS 2020; as a NAS proxy
  (one shot, BN removed) in Abdelfattah et al. 2021.
- ZiCo: Li, Yang, Bhardwaj, Marculescu, "ZiCo: Zero-shot NAS via Inverse
  Coefficient of Variation on Gradients", ICLR 2023 (arXiv 2301.11300).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FLOOR = -1.0e9   # score of a network with nothing to measure (singular kernel, no gradient): finite, worst

Codes = list[tuple[np.ndarray, np.ndarray, int]]   # per LIF layer: (A = x x^T [B,B], n = ones [B], N neurons)


@dataclass(frozen=True)
class LayerGrads:
    """Gradient statistics of one conv/linear weight over the probe's sub-batches (plain floats)."""

    snip: float   # sum |theta * g|, g the mean gradient over the sub-batches
    norm: float   # ||g||_2
    icv: float    # sum over weights with std > 0 of mean_b |g_b| / std_b(g_b) (ZiCo's inner sum)


def naswot_kernel(codes: Codes) -> np.ndarray | None:
    """K_H [B,B]: neurons on which two samples agree (both spike or both silent), summed over layers."""
    if not codes:
        return None
    return sum(N - n[:, None] - n[None, :] + 2.0 * A for A, n, N in codes)


def log_abs_det(kernel: np.ndarray | None) -> float:
    """log|det K|; FLOOR when the kernel is missing or singular."""
    if kernel is None:
        return FLOOR
    sign, logdet = np.linalg.slogdet(np.asarray(kernel, dtype=np.float64))
    return float(logdet) if sign != 0 and np.isfinite(logdet) else FLOOR


def log_or_floor(total: float) -> float:
    """Natural log of a positive total; FLOOR for zero (nothing flowed) or a non-finite total."""
    return math.log(total) if total > 0 and math.isfinite(total) else FLOOR


def grad_norm_score(layers: list[LayerGrads]) -> float:
    """Sum over layers of the gradient's L2 norm (Abdelfattah et al. 2021)."""
    return float(sum(g.norm for g in layers))


def snip_score(layers: list[LayerGrads]) -> float:
    """Sum over every weight of |theta * dL/dtheta| (SNIP saliency summed, Abdelfattah et al. 2021)."""
    return float(sum(g.snip for g in layers))


def zico_score(layers: list[LayerGrads]) -> float:
    """Sum over layers of log(sum of mean|g| / std(g)); layers whose sum is 0 are skipped, as in ZiCo's code."""
    return float(sum(math.log(g.icv) for g in layers if g.icv > 0 and math.isfinite(g.icv)))
