"""The data every evaluation reads: stratified probe, fixed few-step batches, target RDM.

One plain, picklable value (numpy arrays): Ray puts it in the object store once
and every worker reads it from there. The few-step batches come from the train
split without the probe samples, so probe loss/accuracy are held-out figures;
every genome trains on the same batches (drawn from the run seed), so
differences between genomes are not batch luck.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from msenas.errors import reason
from msenas.fitness.config import FitnessConfig, FitnessConfigError
from msenas.fitness.rdm import categorical_rdm, is_constant, upper


@dataclass(frozen=True)
class ProbeData:
    """Probe batch, few-step training batches and the target RDM of one run."""

    x: np.ndarray          # [N,C,H,W] static or [N,T,C,H,W] event frames, float32
    y: np.ndarray          # [N] int64, sorted by class
    train_x: np.ndarray    # [steps*batch_size, ...] the few-step batches, in order
    train_y: np.ndarray    # [steps*batch_size]
    target: np.ndarray     # [N,N] target RDM
    in_shape: tuple[int, int, int]
    n_classes: int
    seed: int


def stratified_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Seeded `per_class` indices of every class (sorted within a class), classes in order."""
    from msenas.data import DataError
    from msenas.data.splits import draw_per_class

    return np.concatenate(draw_per_class(labels, lambda n: per_class, seed, lambda c, n: DataError(
        f"class {c} has {n} train samples, fewer than fitness.per_class={per_class}")))


def batch_indices(pool: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n indices from `pool`: seeded permutations of it, one after another."""
    if len(pool) == 0:
        from msenas.data import DataError

        raise DataError("the train split has no samples left for few-step training besides the probe")
    rng = np.random.default_rng([seed, 1])
    reps = -(-n // len(pool))
    return np.concatenate([rng.permutation(pool) for _ in range(reps)])[:n]


def load_target(path: str, n: int) -> np.ndarray:
    """A user RDM from .npy: square [n,n], finite, with some spread above the diagonal."""
    p = Path(path)
    try:
        m = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise FitnessConfigError(f"fitness.target: cannot read {p} as a .npy array ({reason(e)})") from None
    if not isinstance(m, np.ndarray):                  # an .npz archive
        m.close()
        raise FitnessConfigError(f"fitness.target: {p} is an .npz archive; save the RDM with np.save (.npy)")
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise FitnessConfigError(f"fitness.target: {p} must hold a square matrix, got shape {m.shape}")
    if m.shape[0] != n:
        raise FitnessConfigError(f"fitness.target: {p} is {m.shape[0]}x{m.shape[1]} but the probe has {n} samples "
                                 f"(n_classes x per_class)")
    if not np.issubdtype(m.dtype, np.number) or not np.all(np.isfinite(m)):
        raise FitnessConfigError(f"fitness.target: {p} must hold finite numbers")
    if is_constant(upper(m.astype(np.float64))):
        raise FitnessConfigError(f"fitness.target: {p} is constant above the diagonal (ranks nothing)")
    return m.astype(np.float64)


def make_probe(ds, cfg: FitnessConfig, seed: int) -> ProbeData:
    """Probe (cfg.per_class per class), few-step batches and target RDM from a msenas Dataset."""
    from msenas.data import labels_of

    labels = labels_of(ds.train)
    probe_idx = stratified_indices(labels, cfg.per_class, seed)
    pool = np.setdiff1d(np.arange(len(labels)), probe_idx)
    train_idx = batch_indices(pool, cfg.steps * cfg.batch_size, seed)
    get = getattr(ds.train, "plain_item", ds.train.__getitem__)  # no augmentation: reproducible
    x, y = _stack([get(int(i)) for i in probe_idx])
    tx, ty = _stack([get(int(i)) for i in train_idx])
    target = categorical_rdm(y) if cfg.target == "labels" else load_target(cfg.target, len(y))
    return ProbeData(x, y, tx, ty, target, tuple(ds.info.in_shape), int(ds.info.n_classes), int(seed))


def _stack(items: list) -> tuple[np.ndarray, np.ndarray]:
    xs = np.stack([np.asarray(x, dtype=np.float32) for x, _ in items])  # [N, ...]
    ys = np.asarray([int(t) for _, t in items], dtype=np.int64)          # [N]
    return xs, ys
