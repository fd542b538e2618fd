"""Derive the discrete cell from the alphas and export it as a genome (DARTS, Liu et al. ICLR 2019).

Each intermediate node keeps its two strongest inputs, an input's strength
being its largest softmax weight over the non-zero ops; the kept edge carries
that strongest non-zero op. Normal and reduction cells are derived apart and
placed into the supernet's macro (skeleton), so the genome trains, transfers
and inspects like any other.
"""
from __future__ import annotations

import torch

from msenas.darts.config import DartsConfig
from msenas.darts.supernet import candidate_ops, edge_list, skeleton
from msenas.genome.templates import instantiate
from msenas.genome.types import Genome, Motif

UNIFORM_TOLERANCE = 0.05   # alphas whose every op weight is within 5% of 1/n_ops have hardly been searched


def derive_motif(weights: torch.Tensor, cfg: DartsConfig) -> Motif:
    """The discrete 'darts' motif of one cell type from its softmaxed alphas [n_edges, n_ops]."""
    ops = candidate_ops(cfg)
    keep = [k for k, op in enumerate(ops) if op.name != "zero"]
    w = weights.detach().float().cpu()[:, keep]                  # [n_edges, n_nonzero]
    edges = edge_list(cfg.n_nodes)
    chosen_ops, sources = [], []
    for j in range(cfg.n_nodes):
        rows = [k for k, (_, dst) in enumerate(edges) if dst == 2 + j]
        strength = w[rows].max(dim=1).values                     # [2 + j]
        best = sorted(range(len(rows)), key=lambda r: (-float(strength[r]), r))[:2]  # ties: lower source
        top = sorted(rows[r] for r in best)
        for k in top:
            sources.append(edges[k][0])
            chosen_ops.append(ops[keep[int(w[k].argmax())]])
    return instantiate("darts", cfg.n_nodes, chosen_ops, sources)


def derive_genome(op_weights: dict[str, torch.Tensor], cfg: DartsConfig) -> Genome:
    """The genome of the derived network: {'normal', 'reduce'} softmaxed alphas -> Genome."""
    return skeleton(cfg, derive_motif(op_weights["normal"], cfg), derive_motif(op_weights["reduce"], cfg))


def alphas_summary(op_weights: dict[str, torch.Tensor], cfg: DartsConfig) -> dict:
    """JSON-ready softmaxed alphas: op names, edges (src, dst) and weights per cell type."""
    return {"ops": list(cfg.ops), "edges": [list(e) for e in edge_list(cfg.n_nodes)],
            **{kind: [[round(float(v), 6) for v in row] for row in w.detach().cpu()] for kind, w in op_weights.items()}}


def uniform_deviation(op_weights: dict[str, torch.Tensor]) -> float:
    """The largest |n * w - 1| over every op weight w of every edge and cell type (0: exactly uniform)."""
    return max(float((w.detach().float() * w.shape[-1] - 1).abs().max()) for w in op_weights.values())


def uniform_warning(op_weights: dict[str, torch.Tensor], steps: int) -> str | None:
    """A one-line warning when the alphas are still within UNIFORM_TOLERANCE of uniform, else None."""
    dev, n = uniform_deviation(op_weights), next(iter(op_weights.values())).shape[-1]
    if dev >= UNIFORM_TOLERANCE:
        return None
    return (f"the architecture weights have hardly moved from uniform after {steps} alpha steps (every op weight "
            f"within {100 * dev:.1f}% of 1/{n}, below {100 * UNIFORM_TOLERANCE:.0f}%): the derived genome rests on "
            f"near-random differences; run more epochs or raise alpha_lr")
