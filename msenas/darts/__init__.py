"""MA-DARTS: differentiable architecture search for SNNs with multi-dimensional attention.

Man, Xie, Qiao, Zhou, Shang, arXiv 2411.00902, on DARTS (Liu et al., ICLR 2019).
"""
from msenas.darts.config import DEFAULT_OPS, DartsConfig, DartsConfigError
from msenas.darts.derive import alphas_summary, derive_genome, derive_motif
from msenas.darts.folder import DartsRunError, read_alphas, read_nos
from msenas.darts.loop import SearchResult, evaluate_supernet, search, split_train
from msenas.darts.supernet import MixedOp, SuperCell, Supernet, candidate_ops, edge_list, skeleton

__all__ = [
    "DEFAULT_OPS", "DartsConfig", "DartsConfigError", "DartsRunError", "MixedOp", "SearchResult", "SuperCell",
    "Supernet", "alphas_summary", "candidate_ops", "derive_genome", "derive_motif", "edge_list",
    "evaluate_supernet", "read_alphas", "read_nos", "search", "skeleton", "split_train",
]
