"""Events -> frames: "split by number" integration, compact integer storage, resizing.

Frames are counts [T, 2, H, W], channel 0 = OFF events (p = 0), channel 1 = ON
events (p = 1), T slices with equal numbers of events and the remainder in the
last slice: spikingjelly's ``integrate_events_by_fixed_frames_number(split_by=
"number")``, so frames match the ``frames_number_<T>_split_by_number`` trees it
writes. (tonic's ``ToFrame(n_event_bins=T)`` drops the ``n % T`` remainder and
is 5x slower here; docs/datasets.md has the measurement.)
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def integrate_events(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray,
                     T: int, H: int, W: int) -> np.ndarray:
    """Events -> counts [T, 2, H, W] split by number (channel 0 OFF, 1 ON); t fixes only the length."""
    n = len(t)
    x, y = np.asarray(x).astype(np.int64), np.asarray(y).astype(np.int64)
    if n and (x.min() < 0 or y.min() < 0 or x.max() >= W or y.max() >= H):
        raise ValueError(f"event coordinates outside the {H}x{W} sensor (x {x.min()}..{x.max()}, "
                         f"y {y.min()}..{y.max()})")
    per = n // T
    seg = np.minimum(np.arange(n) // per, T - 1) if per > 0 else np.full(n, T - 1)
    pos = ((seg * 2 + (np.asarray(p) > 0)) * H + y) * W + x
    return np.bincount(pos, minlength=T * 2 * H * W).reshape(T, 2, H, W).astype(np.float32)


def compact(counts: np.ndarray) -> np.ndarray:
    """Counts in the smallest unsigned dtype that holds them (uint8 for almost every recording).

    Frames that are not non-negative whole numbers (a frames file holding other values) stay float32.
    """
    if counts.size and (counts.min() < 0 or not np.array_equal(counts, np.floor(counts))):
        return counts.astype(np.float32)
    top = float(counts.max(initial=0))
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return counts.astype(dtype)
    return counts.astype(np.float32)


def resize_frames(frames: torch.Tensor, size: int | None) -> torch.Tensor:
    """[T, C, H, W] -> [T, C, size, size]: area when shrinking, bilinear when growing."""
    if size is None or size == frames.shape[-1] == frames.shape[-2]:
        return frames
    if size < frames.shape[-1]:
        return F.interpolate(frames, size=(size, size), mode="area")
    return F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)


def pool_factor(sensor: tuple[int, int], size: int | None) -> int:
    """k when shrinking the square sensor to ``size`` is an exact k x k sum-pool, else 1."""
    H, W = sensor
    if size is None or H != W or size >= H or H % size:
        return 1
    return H // size


def sum_pool(counts: np.ndarray, k: int) -> np.ndarray:
    """[T, C, H, W] -> [T, C, H/k, W/k] sums of k x k blocks (area resizing times k*k, still integers)."""
    if k == 1:
        return counts
    T, C, H, W = counts.shape
    return counts.reshape(T, C, H // k, k, W // k, k).sum(axis=(3, 5))
