"""Dataset registry, the value types every dataset returns, and batch helpers.

A builder is registered under a name and called as
``builder(data_dir, *, T, seed, **options)``; its keyword-only parameters
(besides T and seed) are the options it accepts, so ``get_dataset`` can reject
unknown options before building anything.

Splits are ``torch.utils.data.Dataset`` objects whose items are
``(x: float32 tensor, y: int)`` and which expose ``targets`` (int64 numpy array
of labels). Splits with train-time augmentation also expose ``plain_item(i)``,
the un-augmented item, which ``probe_batch`` uses so probes are reproducible.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from msenas.errors import MsenasError


class DataError(MsenasError, ValueError):
    """A dataset cannot be built: names the dataset, the path and the expected layout."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset."""

    name: str
    in_shape: tuple[int, int, int]  # (C, H, W) of one time step
    n_classes: int
    event: bool  # True: samples are frames [T, C, H, W]; False: images [C, H, W]


@dataclass
class Dataset:
    """A dataset's info plus its train and test splits."""

    info: DatasetInfo
    train: TorchDataset
    test: TorchDataset


DATASETS: dict[str, Callable[..., Dataset]] = {}
_RESERVED = ("T", "seed")


def register_dataset(name: str) -> Callable:
    """Decorator: register a builder ``f(data_dir, *, T, seed, **options) -> Dataset``."""

    def deco(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        if name in DATASETS:
            raise DataError(f"dataset {name!r} is registered twice")
        DATASETS[name] = fn
        return fn

    return deco


def dataset_options(name: str) -> dict[str, object]:
    """Option names accepted by a registered dataset, with their defaults."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
    params = inspect.signature(DATASETS[name]).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in _RESERVED
    }


def get_dataset(
    name: str, data_dir: str | None = None, *, T: int = 4, seed: int = 0, **options
) -> Dataset:
    """Build the registered dataset ``name``; unknown names or options raise DataError."""
    accepted = dataset_options(name)
    for key in options:
        if key not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise DataError(f"{name}: unknown option {key!r} (accepted options: {known})")
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise DataError(f"{name}: T must be a positive integer, got {T!r}")
    return DATASETS[name](data_dir, T=T, seed=int(seed), **options)


# ----------------------------------------------------------------------------- splits


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
    """A subset of a split by indices; keeps ``targets`` and ``plain_item``."""

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
        return _plain_getter(self.base)(int(self.indices[i]))


def augmentation_rng(split: TorchDataset) -> np.random.Generator | None:
    """The numpy Generator a split augments with (its .rng, possibly behind a view), if any."""
    for obj in (split, getattr(split, "base", None)):
        rng = getattr(obj, "rng", None)
        if isinstance(rng, np.random.Generator):
            return rng
    return None


def labels_of(split: TorchDataset) -> np.ndarray:
    """Labels of every item of a split, [N] int64 (uses ``targets`` when present)."""
    targets = getattr(split, "targets", None)
    if targets is None:
        targets = [int(split[i][1]) for i in range(len(split))]
    return np.asarray(targets, dtype=np.int64)


def _plain_getter(split: TorchDataset) -> Callable:
    return getattr(split, "plain_item", split.__getitem__)


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-class split of indices into (train, test), each sorted."""
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


# ----------------------------------------------------------------------------- batches


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
    y = labels_of(ds.train)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < per_class:
            raise DataError(
                f"{ds.info.name}: class {c} has {len(idx)} train samples, fewer than per_class={per_class}"
            )
        chosen.extend(np.sort(rng.choice(idx, size=per_class, replace=False)))
    get = _plain_getter(ds.train)
    items = [get(int(i)) for i in chosen]
    xs = torch.stack([x for x, _ in items])  # [N, ...]
    ys = torch.tensor([int(t) for _, t in items], dtype=torch.int64)  # [N]
    return xs, ys


def train_subset(ds: Dataset, fraction: float, seed: int) -> TorchDataset:
    """A seeded stratified ``fraction`` of the train split (at least one sample per class)."""
    if not 0.0 < fraction <= 1.0:
        raise DataError(f"{ds.info.name}: fraction must be in (0, 1], got {fraction!r}")
    y = labels_of(ds.train)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        n = max(1, int(round(len(idx) * fraction)))
        keep.append(rng.choice(idx, size=n, replace=False))
    return SplitView(ds.train, np.sort(np.concatenate(keep)))


def make_loader(split_dataset: TorchDataset, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    """A single-process DataLoader whose shuffling is seeded by ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    return DataLoader(split_dataset, batch_size=batch_size, shuffle=shuffle,
                      generator=gen, num_workers=0)
