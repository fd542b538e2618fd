"""On-disk layouts shared by event datasets: spikingjelly's events_np and frames trees, label folders.

spikingjelly's event datasets write ``<root>/events_np/...`` (one .npz per
recording with arrays t, x, y, p) and, per T, ``<root>/frames_number_<T>_split_by_number/...``
(one .npz with an array ``frames`` [T, 2, H, W]). Datasets with an official
split (DVS128 Gesture, N-MNIST) put ``{train,test}/<label>/`` under them;
CIFAR10-DVS puts ``<class name>/`` and is split 9:1 per class.
"""
from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np

from msenas.data.event_files import Events, Layout, Listing
from msenas.data.types import DataError

EVENTS_NPZ = "arrays t, x, y, p"
FRAMES_NPZ = "an array 'frames' [T, 2, H, W]"


def read_events_npz(path: Path) -> Events:
    """spikingjelly's events_np file: arrays t, x, y, p."""
    with np.load(path, allow_pickle=False) as f:
        return Events(f["t"], f["x"], f["y"], f["p"])


def read_frames_npz(path: Path) -> np.ndarray:
    """spikingjelly's frames file: an array ``frames`` [T, 2, H, W]."""
    with np.load(path, allow_pickle=False) as f:
        frames = f["frames"]
    if frames.ndim != 4:
        raise ValueError(f"frames have shape {frames.shape}, expected (T, 2, H, W)")
    return frames


def sorted_files(folder: Path, pattern: str) -> list[Path]:
    """Files under ``folder`` in lexicographic order of their relative path (as spikingjelly's DatasetFolder)."""
    return sorted(folder.rglob(pattern), key=lambda q: q.relative_to(folder).as_posix())


def label_folders(name: str, folder: Path, n_classes: int, pattern: str, layout: str) -> Listing:
    """Files of ``folder/<label>/`` for labels 0..n_classes-1 (folder "10" is label 10, not a sort index)."""
    files, labels = [], []
    for sub in sorted(d for d in folder.iterdir() if d.is_dir()):
        if not sub.name.isdigit() or int(sub.name) >= n_classes:
            raise DataError(f"{name}: label folder {sub} is not 0..{n_classes - 1} (expected {layout})")
        found = sorted_files(sub, pattern)
        if not found:
            raise DataError(f"{name}: class folder {sub} holds no {pattern} files (expected {layout})")
        files += found
        labels += [int(sub.name)] * len(found)
    if not files:
        raise DataError(f"{name}: no {pattern} files under {folder} (expected {layout})")
    return files, labels


def _split_tree(name: str, n_classes: int, layout: str, tree: Path) -> tuple[Listing, Listing]:
    out = []
    for split in ("train", "test"):
        if not (tree / split).is_dir():
            raise DataError(f"{name}: no {split} folder in {tree} (expected {layout})")
        out.append(label_folders(name, tree / split, n_classes, "*.npz", layout))
    return out[0], out[1]


def _class_tree(name: str, classes: tuple[str, ...], layout: str, tree: Path) -> tuple[Listing, Listing]:
    missing = [c for c in classes if not (tree / c).is_dir()]
    if missing:
        raise DataError(f"{name}: {tree} lacks class folders {', '.join(missing)} (expected {layout})")
    train: Listing = ([], [])
    test: Listing = ([], [])
    for label, cls in enumerate(classes):
        found = sorted_files(tree / cls, "*.npz")
        if not found:
            raise DataError(f"{name}: no .npz files under {tree / cls} (expected {layout})")
        cut = math.ceil(len(found) * 0.9)  # spikingjelly split_to_train_test_set(0.9), no shuffle
        for part, chunk in ((train, found[:cut]), (test, found[cut:])):
            part[0].extend(chunk)
            part[1].extend([label] * len(chunk))
    return train, test


def _subfolder(sub: str, needs: str | None, folder: Path, T: int) -> Path | None:
    tree = folder / sub.replace("<T>", str(T))
    return tree if tree.is_dir() and (needs is None or (tree / needs).is_dir()) else None


def spikingjelly_split_layouts(name: str, n_classes: int) -> tuple[Layout, Layout]:
    """The frames tree (for the T asked) then the events_np tree, each {train,test}/<label>/*.npz."""
    return _spikingjelly_layouts(f"{{train,test}}/<label 0..{n_classes - 1}>", "train",
                                 partial(_split_tree, name, n_classes))


def spikingjelly_class_layouts(name: str, classes: tuple[str, ...]) -> tuple[Layout, Layout]:
    """The frames tree (for the T asked) then the events_np tree, each <class>/*.npz, split 9:1 per class."""
    return _spikingjelly_layouts(f"<class in {classes[0]}..{classes[-1]}>", None, partial(_class_tree, name, classes))


def _spikingjelly_layouts(below: str, needs: str | None, tree) -> tuple[Layout, Layout]:
    """The frames tree then the events_np tree, each <below>/*.npz; `needs`: a subfolder that marks the tree."""
    layouts = []
    for sub, holds, read in (("frames_number_<T>_split_by_number", FRAMES_NPZ, read_frames_npz),
                             ("events_np", EVENTS_NPZ, read_events_npz)):
        text = f"<root>/{sub}/{below}/*.npz ({holds})"
        layouts.append(Layout(sub, text, partial(_subfolder, sub, needs), partial(tree, text), read))
    return layouts[0], layouts[1]
