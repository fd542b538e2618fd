"""DVS128 Gesture (Amir et al., CVPR 2017): 11 gestures, 128x128 DVS, official user-based train/test split.

Layouts, in order of preference: spikingjelly's frames tree for the T asked,
its events_np tree, and the raw tree ``tonic.datasets.DVSGesture`` extracts
(``ibmGesture{Train,Test}/<user>/<label>.npy``, an [N, 4] array of x, y, p, t),
read directly with numpy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from msenas.data.event_files import EVENT_SOURCES, Events, EventSource, Layout, Listing, build_events
from msenas.data.layouts import sorted_files, spikingjelly_split_layouts
from msenas.data.registry import register_dataset
from msenas.data.types import DataError, Dataset

TONIC_GESTURE = {"train": "ibmGestureTrain", "test": "ibmGestureTest"}  # tonic.datasets.DVSGesture folders
TONIC_LAYOUT = "<root>/ibmGesture{Train,Test}/<user>/<label 0..10>.npy (an [N, 4] array of x, y, p, t)"


def read_tonic_npy(path: Path) -> Events:
    """tonic's DVSGesture file: an [N, 4] array with columns x, y, p, t."""
    ev = np.load(path, allow_pickle=False)
    if ev.ndim != 2 or ev.shape[1] != 4:
        raise ValueError(f"array has shape {ev.shape}, expected (N, 4)")
    return Events(ev[:, 3], ev[:, 0], ev[:, 1], ev[:, 2])


def _locate_tonic(folder: Path, T: int) -> Path | None:
    for root in (folder, folder / "DVSGesture"):  # the folder tonic extracted into, or its save_to
        if any((root / sub).is_dir() for sub in TONIC_GESTURE.values()):
            return root
    return None


def _tonic_split(root: Path, split: str) -> Listing:
    folder = root / TONIC_GESTURE[split]
    if not folder.is_dir():
        raise DataError(f"dvsgesture: no {folder.name} folder in {root} (expected {TONIC_LAYOUT})")
    files = sorted_files(folder, "*.npy")
    if not files:
        raise DataError(f"dvsgesture: no .npy files under {folder} (expected {TONIC_LAYOUT})")
    bad = [f for f in files if not f.stem.isdigit() or int(f.stem) > 10]
    if bad:
        raise DataError(f"dvsgesture: file name {bad[0]} is not a label 0..10 (expected {TONIC_LAYOUT})")
    return files, [int(f.stem) for f in files]


def _tonic_listing(root: Path) -> tuple[Listing, Listing]:
    return _tonic_split(root, "train"), _tonic_split(root, "test")


SOURCE = EVENT_SOURCES.register("dvsgesture")(EventSource(
    "dvsgesture", "DVS128 Gesture", (128, 128), 11,
    (*spikingjelly_split_layouts("dvsgesture", 11),
     Layout("ibmGestureTrain", TONIC_LAYOUT, _locate_tonic, _tonic_listing, read_tonic_npy)),
    parents=("events_np", "frames_number_*", "ibmGestureTrain", "ibmGestureTest")))


@register_dataset("dvsgesture")
def build_dvsgesture(data_dir: str | None, *, T: int, seed: int, size: int | None = None,
                     cache: bool = True) -> Dataset:
    """DVS128 Gesture from spikingjelly's frames/events_np tree or tonic's raw .npy tree; official split."""
    return build_events(SOURCE, data_dir, T, size, cache)


