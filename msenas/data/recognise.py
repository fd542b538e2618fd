"""Which known dataset a folder holds, so a reader pointed at another dataset's folder says which one.

Event datasets are recognised by their registered layouts (event_files.py: a
layout counts when it lists its files without error); other datasets with a
folder layout (CIFAR-10/100) register a ``DatasetFolder``. ``looks_like`` turns
what is found into the tail of a one-line error:
"; this folder looks like N-MNIST (<root>/NMNIST/...): use --dataset nmnist".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from msenas.data.registry import EVENT_SOURCES
from msenas.registry import Registry


@dataclass(frozen=True)
class DatasetFolder:
    """A non-event dataset's folder layout: its title, its description, and whether a folder holds it."""

    title: str
    describe: str
    holds: Callable[[Path], bool]


DATASET_FOLDERS: Registry[DatasetFolder] = Registry("dataset folder")  # dataset name -> its folder layout


def recognised(root: Path, T: int, asked: str) -> list[tuple[str, str, str]]:
    """(dataset, title, layout) of every known layout under ``root`` other than dataset ``asked``'s."""
    found = [(name, kind.title, kind.describe) for name, kind in DATASET_FOLDERS.items()
             if name != asked and kind.holds(root)]
    for source in (EVENT_SOURCES.get(n) for n in EVENT_SOURCES):
        found += [(source.name, source.title, lay.describe.replace("<T>", str(T))) for lay in source.layouts
                  if source.name != asked and source.lists(lay, root, T)]
    return found


def looks_like(root: str | Path, T: int, asked: str) -> str:
    """'; this folder looks like TITLE (LAYOUT): use --dataset NAME' ('' when no other known layout is there)."""
    try:
        found = recognised(Path(root), T, asked)
    except OSError:                  # an unreadable folder: the caller's own error says enough
        return ""
    if not found:
        return ""
    return "; this folder looks like " + " or ".join(f"{title} ({lay}): use --dataset {name}"
                                                     for name, title, lay in found)
