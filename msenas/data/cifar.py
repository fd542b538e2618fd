"""CIFAR-10/100, python version (pickled batches), read with a restricted unpickler.

The python layout is a pickle: only read trusted copies. ``safe_pickle`` admits
plain data and numpy arrays only, so no file can run code, but it cannot make
an untrusted file's pixels or labels right.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from msenas.data import safe_pickle
from msenas.data.images import check_size, crop_flip_for, resize_images
from msenas.data.recognise import DATASET_FOLDERS, DatasetFolder, looks_like
from msenas.data.registry import register_dataset
from msenas.data.splits import ArraySplit
from msenas.data.types import DataError, Dataset, DatasetInfo

CIFAR_STATS = {  # name -> (mean, std) per RGB channel, on [0, 1] pixels
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


@dataclass(frozen=True)
class CifarLayout:
    """Where one CIFAR variant keeps its batches and labels."""

    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: bytes
    n_classes: int
    what: str
    title: str


LAYOUTS = {
    "cifar10": CifarLayout("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                           b"labels", 10, "the python-version CIFAR-10 folder with data_batch_1..5 and test_batch",
                           "CIFAR-10"),
    "cifar100": CifarLayout("cifar-100-python", ("train",), ("test",), b"fine_labels", 100,
                            "the python-version CIFAR-100 folder with train and test", "CIFAR-100"),
}
_READ_ERRORS = (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError,
                IndexError, MemoryError, RecursionError)


def _read_batch(name: str, path: Path, layout: CifarLayout) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            d = safe_pickle.load(f)
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = np.asarray(d[layout.label_key], dtype=np.int64)
    except _READ_ERRORS as e:
        raise DataError(f"{name}: cannot read {path} ({type(e).__name__}: {e}; expected a pickled dict "
                        f"with b'data' [N,3072] uint8 and {layout.label_key!r})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.ndim != 1 or len(labels) != len(data):
        raise DataError(f"{name}: {path} has data {data.shape} and labels {labels.shape} (expected [N,3072] and [N])")
    if len(labels) and (labels.min() < 0 or labels.max() >= layout.n_classes):
        raise DataError(f"{name}: {path} has labels {labels.min()}..{labels.max()} "
                        f"(expected 0..{layout.n_classes - 1})")
    return data, labels


def _load(name: str, folder: Path, files: tuple[str, ...], layout: CifarLayout, size: int | None):
    parts = [_read_batch(name, folder / f, layout) for f in files]
    x = torch.from_numpy(np.concatenate([d for d, _ in parts]).reshape(-1, 3, 32, 32))  # [N, 3, 32, 32] uint8
    return resize_images(x, size), np.concatenate([y for _, y in parts])


def _missing(root: Path, layout: CifarLayout) -> tuple[Path, list[str]]:
    """(the batches folder: root/<layout.folder> or root itself, the batch files it lacks)."""
    folder = root / layout.folder if (root / layout.folder).is_dir() else root
    return folder, [f for f in layout.train_files + layout.test_files if not (folder / f).is_file()]


def _folder(name: str, data_dir: str | None, layout: CifarLayout, T: int) -> Path:
    if data_dir is None:
        raise DataError(f"{name}: data_dir is required (expected {layout.what}, or its parent folder)")
    root = Path(data_dir)
    folder, missing = _missing(root, layout)
    if missing:
        raise DataError(f"{name}: no {layout.folder} under {root} (expected {layout.what}; missing "
                        f"{', '.join(missing)}){looks_like(root, T, name)}")
    return folder


for _name, _layout in LAYOUTS.items():    # so any reader pointed at a CIFAR folder says which one it is
    DATASET_FOLDERS.register(_name)(DatasetFolder(
        _layout.title, _layout.what, lambda root, lay=_layout: root.is_dir() and not _missing(root, lay)[1]))


def build_cifar(name: str, data_dir: str | None, seed: int, augment: bool, size: int | None, T: int = 4) -> Dataset:
    """CIFAR train/test splits, resized once to ``size``; train augmentation crop + flip (padding scaled)."""
    check_size(name, size)
    layout = LAYOUTS[name]
    folder = _folder(name, data_dir, layout, T)
    x, y = _load(name, folder, layout.train_files, layout, size)
    xt, yt = _load(name, folder, layout.test_files, layout, size)
    side = int(x.shape[-1])
    mean, std = CIFAR_STATS[name]
    aug = crop_flip_for(side) if augment else None
    train = ArraySplit(x, y, scale=1 / 255, mean=mean, std=std, augment=aug, seed=seed)
    test = ArraySplit(xt, yt, scale=1 / 255, mean=mean, std=std)
    return Dataset(DatasetInfo(name, (3, side, side), layout.n_classes, event=False), train, test)


@register_dataset("cifar10")
def build_cifar10(data_dir: str | None, *, T: int, seed: int, augment: bool = True, size: int | None = None) -> Dataset:
    """CIFAR-10 from cifar-10-batches-py; optional size; train: crop (pad 4 at 32) + flip; both normalised."""
    return build_cifar("cifar10", data_dir, seed, augment, size, T)


@register_dataset("cifar100")
def build_cifar100(data_dir: str | None, *, T: int, seed: int, augment: bool = True,
                   size: int | None = None) -> Dataset:
    """CIFAR-100 (fine labels) from cifar-100-python; same options and augmentation as cifar10."""
    return build_cifar("cifar100", data_dir, seed, augment, size, T)
