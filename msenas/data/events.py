"""Event-camera datasets: N-MNIST, DVS128 Gesture, CIFAR10-DVS (real recordings) and digits-dvs (synthetic).

Every event sample is float32 frames [T, 2, H, W] of event counts, channel 0 =
OFF events (p = 0), channel 1 = ON events (p = 1), integrated "split by number"
(frames.py). Each real dataset is one module that registers an ``EventSource``
(its sensor, classes and layouts; event_files.py builds it); importing this
module registers them all.
"""
from __future__ import annotations

from msenas.data import cifar10dvs, digits_dvs, dvsgesture, nmnist  # noqa: F401  (register the datasets)
from msenas.data.cifar10dvs import CIFAR10DVS_CLASSES
from msenas.data.digits_dvs import emulate_events, saccade_shifts
from msenas.data.event_files import EVENT_SOURCES, EventFileSplit, EventSource
from msenas.data.frames import integrate_events, resize_frames

SENSOR = {name: EVENT_SOURCES.get(name).sensor for name in EVENT_SOURCES}  # name -> (H, W)

__all__ = ["CIFAR10DVS_CLASSES", "EVENT_SOURCES", "EventFileSplit", "EventSource", "SENSOR",
           "emulate_events", "integrate_events", "resize_frames", "saccade_shifts"]
