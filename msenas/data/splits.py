"""Split objects (in-memory arrays, index views) and seeded, class-stratified index selection.

Splits are ``torch.utils.data.Dataset`` objects whose items are ``(x: float32
tensor, y: int)`` and which expose ``targets`` (int64 numpy array of labels).
Splits with train-time augmentation also expose ``plain_item(i)``, the
un-augmented item, which probes use so they are reproducible.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from msenas.data.types import DataError


class ArraySplit(TorchDataset):
    """An in-memory split: x[i] -> float, * scale, optional augment, optional normalise."""

    def __init__(self, x: torch.Tensor, targets: np.ndarray, *, scale: float = 1.0,
                 mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None,
                 augment: Callable | None = None, seed: int = 0):
        if len(x) != len(targets):
            raise DataError(f"split has {len(x)} samples but {len(targets)} labels")
        self.x = x  # [N, C, H, W] or [N, T, C, H, W], any dtype
        self.targets = np.asarray(targets, dtype=np.int64)
        self.scale = scale
        shape = (-1, 1, 1)
        self.mean = None if mean is None else torch.tensor(mean).view(shape)
        self.std = None if std is None else torch.tensor(std).view(shape)
        self.augment = augment  # augment(x [C,H,W], rng: np.random.Generator) -> [C,H,W]
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.targets)

    def _item(self, i: int, augment: bool) -> tuple[torch.Tensor, int]:
        x = self.x[i].to(torch.float32) * self.scale
        if augment and self.augment is not None:
            x = self.augment(x, self.rng)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x, int(self.targets[i])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self._item(i, augment=True)

    def plain_item(self, i: int) -> tuple[torch.Tensor, int]:
        """The item without train-time augmentation."""
        return self._item(i, augment=False)


class SplitView(TorchDataset):
    """A subset of a split by indices; keeps ``targets``, ``plain_item`` and cache warming."""

    def __init__(self, base: TorchDataset, indices: np.ndarray):
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.targets = labels_of(base)[self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        return self.base[int(self.indices[i])]

    def plain_item(self, i: int):
        """The item without train-time augmentation."""
        return plain_getter(self.base)(int(self.indices[i]))

    def warm(self, workers: int = 0, indices: np.ndarray | None = None) -> None:
        """Fill the base split's cache for these items, if it has one."""
        own = self.indices if indices is None else self.indices[np.asarray(indices, dtype=np.int64)]
        warm = getattr(self.base, "warm", None)
        if warm is not None:
            warm(workers, own)


def augmentation_rng(split: TorchDataset) -> np.random.Generator | None:
    """The numpy Generator a split augments with (its .rng, possibly behind views), if any."""
    obj = split
    while obj is not None:
        rng = getattr(obj, "rng", None)
        if isinstance(rng, np.random.Generator):
            return rng
        obj = getattr(obj, "base", None)
    return None


def labels_of(split: TorchDataset) -> np.ndarray:
    """Labels of every item of a split, [N] int64 (uses ``targets`` when present)."""
    targets = getattr(split, "targets", None)
    if targets is None:
        targets = [int(split[i][1]) for i in range(len(split))]
    return np.asarray(targets, dtype=np.int64)


def plain_getter(split: TorchDataset) -> Callable:
    """``split.plain_item`` when the split augments, else ``split.__getitem__``."""
    return getattr(split, "plain_item", split.__getitem__)


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split of indices into (train, test), each sorted.

    Kept rather than scikit-learn's StratifiedShuffleSplit, which rounds and draws
    differently: switching would change every existing split (and digits results).
    """
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def draw_per_class(y: np.ndarray, size: Callable[[int], int], seed: int,
                   too_few: Callable[[int, int], Exception] | None = None) -> list[np.ndarray]:
    """Class by class, `size(n)` of its n indices drawn without replacement by one seeded rng, sorted;
    `too_few(class, n)` is raised for the first class smaller than its size."""
    rng = np.random.default_rng(seed)
    draws = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if too_few is not None and len(idx) < size(len(idx)):
            raise too_few(int(c), len(idx))
        draws.append(np.sort(rng.choice(idx, size=size(len(idx)), replace=False)))
    return draws


def per_class_indices(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a class-balanced subset: ``per_class`` drawn per class (all of a smaller class).

    scikit-learn's stratified splitters keep class proportions; a fixed count per
    class (capped by the class size) is this one line of numpy per class.
    """
    keep = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
