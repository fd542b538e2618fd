"""N-MNIST (Orchard et al., Front. Neurosci. 9:437, 2015): MNIST digits recorded by an ATIS camera on saccades.

The original raw layout, as the authors distribute it and as ``tonic.datasets.NMNIST``
stores it: ``NMNIST/{Train,Test}/<digit>/<nnnnn>.bin``, 5 bytes per event (x,
y, polarity bit and a 23-bit microsecond timestamp), 34x34 pixels. Files are
decoded with tonic's ``read_mnist_file`` (which also drops the ATIS timestamp-
overflow markers, y = 240) and integrated by frames.py. spikingjelly's NMNIST
trees (events_np, frames_number_<T>_split_by_number) are read too.
"""
from __future__ import annotations

from pathlib import Path

from msenas.data.event_files import EVENT_SOURCES, Events, EventSource, Layout, Listing, build_events
from msenas.data.layouts import label_folders, spikingjelly_split_layouts
from msenas.data.registry import register_dataset
from msenas.data.types import DataError, Dataset

EVENT_BYTES = 5
SPLITS = {"train": "Train", "test": "Test"}
RAW_LAYOUT = "<root>/NMNIST/{Train,Test}/<digit 0..9>/<nnnnn>.bin (5 bytes per event)"
_BASES = (".", "NMNIST", "extract")  # root itself, tonic's save_to/NMNIST, spikingjelly's root/extract


def read_bin(path: Path) -> Events:
    """One N-MNIST .bin recording; a truncated or empty file raises ValueError."""
    size = path.stat().st_size
    if size % EVENT_BYTES:
        raise ValueError(f"file size {size} bytes is not a multiple of {EVENT_BYTES} bytes per event: truncated")
    if size == 0:
        raise ValueError("the file holds no events")
    try:
        from tonic.io import events_struct, read_mnist_file
    except ImportError as e:
        raise DataError(f"nmnist: reading {path} needs the package tonic ({e}); run scripts/bootstrap.sh or "
                        "pip install --no-deps tonic==1.7.0 h5py importRosbag") from None
    ev = read_mnist_file(str(path), dtype=events_struct)
    return Events(ev["t"], ev["x"], ev["y"], ev["p"])


def _locate_raw(folder: Path, T: int) -> Path | None:
    for base in (folder / b for b in _BASES):
        if any((base / sub).is_dir() for sub in SPLITS.values()):
            return base
    return None


def _raw_listing(base: Path) -> tuple[Listing, Listing]:
    out = []
    for sub in SPLITS.values():
        if not (base / sub).is_dir():
            raise DataError(f"nmnist: no {sub} folder in {base} (expected {RAW_LAYOUT})")
        files, labels = label_folders("nmnist", base / sub, 10, "*.bin", RAW_LAYOUT)
        for f in files:
            if f.stat().st_size % EVENT_BYTES:
                raise DataError(f"nmnist: {f} is truncated: {f.stat().st_size} bytes is not a multiple of "
                                f"{EVENT_BYTES} bytes per event")
        out.append((files, labels))
    return out[0], out[1]


SOURCE = EVENT_SOURCES.register("nmnist")(EventSource(
    "nmnist", "N-MNIST", (34, 34), 10,
    (*spikingjelly_split_layouts("nmnist", 10),
     Layout("NMNIST/{Train,Test}", RAW_LAYOUT, _locate_raw, _raw_listing, read_bin)),
    parents=("Train", "Test", "events_np", "frames_number_*")))


@register_dataset("nmnist")
def build_nmnist(data_dir: str | None, *, T: int, seed: int, size: int | None = None,
                 cache: bool = True) -> Dataset:
    """N-MNIST from its raw .bin tree (or spikingjelly's trees); official train/test split, 34x34."""
    return build_events(SOURCE, data_dir, T, size, cache)
