"""Batches: time-major layout, stratified probe batches, train subsets and data loaders."""
from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info
from torch.utils.data import Dataset as TorchDataset

from msenas.data.splits import SplitView, augmentation_rng, draw_per_class, labels_of, plain_getter
from msenas.data.types import DataError, Dataset


def to_time_major(xb: torch.Tensor, T: int) -> torch.Tensor:
    """[B,C,H,W] -> repeated [T,B,C,H,W] (direct encoding); [B,T,C,H,W] -> [T,B,C,H,W]."""
    if xb.ndim == 4:
        return xb.unsqueeze(0).repeat(T, 1, 1, 1, 1)  # [T, B, C, H, W]
    if xb.ndim == 5:
        if xb.shape[1] != T:
            raise DataError(f"event batch has {xb.shape[1]} frames per sample but T={T}")
        return xb.transpose(0, 1).contiguous()  # [T, B, C, H, W]
    raise DataError(f"expected a batch [B,C,H,W] or [B,T,C,H,W], got shape {tuple(xb.shape)}")


def probe_batch(ds: Dataset, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded stratified batch from the train split: (x [N,...], y [N]) sorted by class."""
    if per_class < 1:
        raise DataError(f"{ds.info.name}: per_class must be >= 1, got {per_class}")
    chosen = np.concatenate(draw_per_class(labels_of(ds.train), lambda n: per_class, seed, lambda c, n: DataError(
        f"{ds.info.name}: class {c} has {n} train samples, fewer than per_class={per_class}")))
    get = plain_getter(ds.train)
    items = [get(int(i)) for i in chosen]
    xs = torch.stack([x for x, _ in items])  # [N, ...]
    ys = torch.tensor([int(t) for _, t in items], dtype=torch.int64)  # [N]
    return xs, ys


def train_subset(ds: Dataset, fraction: float, seed: int) -> TorchDataset:
    """A seeded stratified ``fraction`` of the train split (at least one sample per class)."""
    if not 0.0 < fraction <= 1.0:
        raise DataError(f"{ds.info.name}: fraction must be in (0, 1], got {fraction!r}")
    keep = draw_per_class(labels_of(ds.train), lambda n: max(1, int(round(n * fraction))), seed)
    return SplitView(ds.train, np.sort(np.concatenate(keep)))


def _seed_worker(worker_id: int) -> None:
    """Each loader worker augments with its own Generator, seeded from the loader's seed."""
    info = get_worker_info()
    rng = augmentation_rng(info.dataset)
    if rng is not None:
        rng.bit_generator.state = np.random.default_rng(info.seed).bit_generator.state


def default_workers(device: str | torch.device | None) -> int:
    """0 (one deterministic process) unless batches go to CUDA: then up to 4 worker processes."""
    if not _cuda(device):
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _cuda(device: str | torch.device | None) -> bool:
    if device is None:
        return torch.cuda.is_available()
    return torch.device(device).type == "cuda"


def make_loader(split: TorchDataset, batch_size: int, shuffle: bool, seed: int, *,
                workers: int | None = None, device: str | torch.device | None = None) -> DataLoader:
    """A DataLoader whose shuffling (and worker augmentation) is seeded by ``seed``.

    ``workers=None`` picks ``default_workers(device)``; memory is pinned only when
    batches go to CUDA (``device=None``: when CUDA is available). Event splits are
    integrated into their cache once, in this process, before workers start.
    """
    workers = default_workers(device) if workers is None else int(workers)
    if workers > 0 and hasattr(split, "warm"):
        split.warm(workers)
    gen = torch.Generator().manual_seed(int(seed))
    return DataLoader(split, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=workers,
                      pin_memory=_cuda(device) and torch.cuda.is_available(),
                      worker_init_fn=_seed_worker if workers > 0 else None)
