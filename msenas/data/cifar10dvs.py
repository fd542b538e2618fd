"""CIFAR10-DVS (Li et al., Front. Neurosci. 2017): CIFAR-10 images recorded by a 128x128 DVS.

Read from spikingjelly's frames tree (for the T asked) or its events_np tree,
``<class>/*.npz``; split 9:1 per class with files sorted by name, as
spikingjelly's ``split_to_train_test_set(0.9)`` without shuffling. tonic's
CIFAR10-DVS files are AEDAT4 and are not read: convert them once to events_np.
"""
from __future__ import annotations

from msenas.data.event_files import EVENT_SOURCES, EventSource, build_events
from msenas.data.layouts import spikingjelly_class_layouts
from msenas.data.registry import register_dataset
from msenas.data.types import Dataset

CIFAR10DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                      "dog", "frog", "horse", "ship", "truck")

SOURCE = EVENT_SOURCES.register("cifar10dvs")(EventSource(
    "cifar10dvs", "CIFAR10-DVS", (128, 128), 10,
    spikingjelly_class_layouts("cifar10dvs", CIFAR10DVS_CLASSES),
    parents=("events_np", "frames_number_*")))


@register_dataset("cifar10dvs")
def build_cifar10dvs(data_dir: str | None, *, T: int, seed: int, size: int | None = None,
                     cache: bool = True) -> Dataset:
    """CIFAR10-DVS from spikingjelly's events_np or frames tree; 9:1 per class, files sorted by name."""
    return build_events(SOURCE, data_dir, T, size, cache)
