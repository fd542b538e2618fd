"""Event datasets stored one file per sample: the description each dataset registers, and its split.

An ``EventSource`` describes one event dataset (sensor, classes, the on-disk
layouts it can read, in order of preference); ``build_events`` finds the first
layout present under a folder, lists its files and labels, and returns splits
whose items are float32 frames [T, 2, H, W] (see frames.py). A folder that holds
another registered dataset's layout, or recordings that fit another sensor, is
named in the error ("this folder looks like N-MNIST: use --dataset nmnist").

Each file is read and integrated once: its counts are kept in memory as compact
unsigned integers (sum-pooled when ``size`` divides the sensor; other resizes
keep their float32 result), so later epochs only convert and scale them.
``cache=False`` reads and integrates on every access instead.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from msenas.data.frames import compact, integrate_events, pool_factor, resize_frames, sum_pool
from msenas.data.images import check_size
from msenas.data.registry import EVENT_SOURCES
from msenas.data.types import DataError, Dataset, DatasetInfo
from msenas.errors import reason


class Events(NamedTuple):
    """One recording's events, in time order."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray


Listing = tuple[list[Path], list[int]]  # files, labels


@dataclass(frozen=True)
class Layout:
    """One on-disk layout: where its tree is under a folder, how to list it, how to read one file."""

    name: str
    describe: str                                       # for error messages
    locate: Callable[[Path, int], Path | None]          # (folder, T) -> its tree, or None
    listing: Callable[[Path], tuple[Listing, Listing]]  # tree -> (train, test)
    read: Callable[[Path], "Events | np.ndarray"]       # file -> events, or frames [T, 2, H, W]


@dataclass(frozen=True)
class EventSource:
    """What one event dataset is: its sensor, classes and readable layouts."""

    name: str
    title: str
    sensor: tuple[int, int]  # (H, W)
    n_classes: int
    layouts: tuple[Layout, ...]
    parents: tuple[str, ...] = ()  # name patterns of inner folders a user may point at (e.g. "Train")

    def expected(self, T: int | str = "<T>") -> str:
        """The layouts, as an error message lists them."""
        return " or ".join(lay.describe.replace("<T>", str(T)) for lay in self.layouts)

    def lists(self, layout: Layout, root: Path, T: int) -> bool:
        """True when ``layout`` is under ``root`` and lists its files without error (recognise.py asks)."""
        return lists_layout(self, layout, root, T)


class EventFileSplit(TorchDataset):
    """One file per sample, read and integrated once into a compact in-memory cache."""

    def __init__(self, source: EventSource, files: list[Path], targets: list[int], layout: Layout,
                 T: int, size: int | None, cache: bool = True):
        self.source, self.files, self.layout, self.T, self.size = source, list(files), layout, T, size
        self.targets = np.asarray(targets, dtype=np.int64)
        self.pool = pool_factor(source.sensor, size)
        self.cache: dict[int, np.ndarray] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.files)

    def stored(self, i: int) -> np.ndarray:
        """Item i as cached: integer counts [T, 2, h, w] (sum-pooled by ``self.pool``), or resized float32 frames."""
        if self.cache is not None and i in self.cache:
            return self.cache[i]
        counts = self._read(self.files[i])
        if self.pool > 1 or self.size is None or self.size == counts.shape[-1] == counts.shape[-2]:
            out = compact(sum_pool(counts, self.pool))
        else:  # a resize that is not a whole sum-pool: keep its float32 result
            out = resize_frames(torch.from_numpy(counts.astype(np.float32)), self.size).numpy()
        if self.cache is not None:
            self.cache[i] = out
        return out

    def load(self, path: Path) -> "Events | np.ndarray":
        """The file's events, or its stored frames; a DataError naming the file if it cannot be read."""
        try:
            return self.layout.read(path)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(f"{self.source.name}: cannot read {path} "
                            f"({reason(e)}; layout {self.source.expected(self.T)})") from None

    def _read(self, path: Path) -> np.ndarray:
        H, W = self.source.sensor
        data = self.load(path)
        if isinstance(data, Events):
            extent = event_extent(data)
            if extent[0] > H or extent[1] > W or (len(data.x) and min(np.min(data.x), np.min(data.y)) < 0):
                raise DataError(f"{self.source.name}: {path} has events at x {np.min(data.x)}..{np.max(data.x)}, "
                                f"y {np.min(data.y)}..{np.max(data.y)}, off the {H}x{W} sensor"
                                f"{hint_for_shape(self.source, extent)}")
            return integrate_events(data.t, data.x, data.y, data.p, self.T, H, W)
        if data.shape != (self.T, 2, H, W):
            raise DataError(f"{self.source.name}: {path} holds frames {data.shape}, expected ({self.T}, 2, {H}, {W})"
                            f"{hint_for_shape(self.source, data.shape[-2:])}")
        return data

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = torch.from_numpy(self.stored(i).astype(np.float32))  # [T, 2, size, size], a copy of the cache entry
        if self.pool > 1:
            x /= float(self.pool * self.pool)  # sum-pool / k^2 == area resizing
        return x, int(self.targets[i])

    def warm(self, workers: int = 0, indices: np.ndarray | None = None) -> None:
        """Integrate every (or the given) item into the cache now, with ``workers`` processes."""
        if self.cache is None:
            return
        todo = [int(i) for i in (range(len(self)) if indices is None else indices) if int(i) not in self.cache]
        loader = DataLoader(_Counts(self, todo), batch_size=None, num_workers=workers)
        for i, c in zip(todo, loader):
            self.cache[i] = c.numpy()


class _Counts(TorchDataset):
    """Items ``todo`` of a split as compact count arrays (for warming a cache with worker processes)."""

    def __init__(self, split: EventFileSplit, todo: list[int]):
        self.split, self.todo = split, todo

    def __len__(self) -> int:
        return len(self.todo)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.split.stored(self.todo[k])


# ----------------------------------------------------------------------------- recognising layouts


def hint_for_folder(source: EventSource, root: Path, T: int) -> str:
    """'; this folder looks like N-MNIST (...): use --dataset nmnist' when another dataset's layout is here."""
    from msenas.data.recognise import looks_like  # recognise.py reads the registered sources

    return looks_like(root, T, source.name)


def lists_layout(source: EventSource, layout: Layout, root: Path, T: int) -> bool:
    """True when ``layout`` of ``source`` is under ``root`` and lists its files without error."""
    tree = _locate(source, layout, root, T)
    if tree is None:
        return False
    try:
        layout.listing(tree)
    except DataError:
        return False
    return True


def _fits(extent: tuple[int, int]) -> list[EventSource]:
    """The registered sources with the smallest sensor that holds ``extent`` (H, W)."""
    fits = [s for s in (EVENT_SOURCES.get(n) for n in EVENT_SOURCES)
            if s.sensor[0] >= extent[0] and s.sensor[1] >= extent[1]]
    if not fits:
        return []
    best = min(s.sensor for s in fits)
    return [s for s in fits if s.sensor == best]


def hint_for_shape(source: EventSource, extent: tuple[int, int]) -> str:
    """'; recordings of HxW look like N-MNIST ...' when another registered sensor fits ``extent`` best."""
    best = _fits(tuple(int(v) for v in extent))
    others = [s for s in best if s.name != source.name]
    if not others or len(others) < len(best):  # this source's own sensor fits as tightly
        return ""
    names = " or ".join(f"{s.title} ({s.sensor[0]}x{s.sensor[1]}): use --dataset {s.name}" for s in others)
    return f"; this folder looks like {names}"


def event_extent(ev: Events) -> tuple[int, int]:
    """(H, W) of the smallest sensor that holds every event of a recording."""
    if len(ev.x) == 0:
        return (0, 0)
    return int(np.max(ev.y)) + 1, int(np.max(ev.x)) + 1


# ----------------------------------------------------------------------------- building


def _locate(source: EventSource, layout: Layout, root: Path, T: int) -> Path | None:
    inner = any(fnmatch(root.name, pattern) for pattern in source.parents)
    for folder in (root, root.parent) if inner else (root,):
        tree = layout.locate(folder, T)
        if tree is not None:
            return tree
    return None


def find_layout(source: EventSource, data_dir: str | None, T: int) -> tuple[Layout, Path]:
    """The first of the source's layouts present under ``data_dir``: (layout, its tree)."""
    if data_dir is None:
        raise DataError(f"{source.name}: data_dir is required (expected {source.expected(T)})")
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{source.name}: {root} is not a folder (expected {source.expected(T)})")
    for layout in source.layouts:
        tree = _locate(source, layout, root, T)
        if tree is not None:
            return layout, tree
    names = sorted(lay.name.replace("<T>", str(T)) for lay in source.layouts)
    raise DataError(f"{source.name}: no {', '.join(names[:-1])} or {names[-1]} "
                    f"under {root} (expected {source.expected(T)}){hint_for_folder(source, root, T)}")


def _check_first(split: EventFileSplit) -> None:
    """Read the first train file now (not mid-training) and check it fits this sensor, not a smaller one."""
    path = split.files[0]
    split.stored(0)  # a DataError on a malformed file
    data = split.load(path)
    if isinstance(data, Events) and len(data.x):
        extent = event_extent(data)
        hint = hint_for_shape(split.source, extent)
        if hint:
            raise DataError(f"{split.source.name}: the events of {path} span only {extent[0]}x{extent[1]} pixels of "
                            f"the {split.source.sensor[0]}x{split.source.sensor[1]} sensor{hint}")


def build_events(source: EventSource, data_dir: str | None, T: int, size: int | None, cache: bool) -> Dataset:
    """Train and test splits of an event dataset from the first of its layouts found under ``data_dir``."""
    check_size(source.name, size)
    if not isinstance(cache, bool):
        raise DataError(f"{source.name}: option cache must be true or false, got {cache!r}")
    layout, tree = find_layout(source, data_dir, T)
    try:
        (train_files, train_labels), (test_files, test_labels) = layout.listing(tree)
    except DataError as e:
        raise DataError(f"{e}{hint_for_folder(source, Path(str(data_dir)), T)}") from None
    train = EventFileSplit(source, train_files, train_labels, layout, T, size, cache)
    test = EventFileSplit(source, test_files, test_labels, layout, T, size, cache)
    if len(train):
        _check_first(train)
    H, W = (size, size) if size else source.sensor
    return Dataset(DatasetInfo(source.name, (2, H, W), source.n_classes, event=True), train, test)
