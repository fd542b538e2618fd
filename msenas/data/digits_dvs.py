"""digits-dvs: SYNTHETIC event data, scikit-learn digits moved on N-MNIST-like saccades through an event emulator.

Lets the event path run with no download; frames [T, 2, size, size], same split as digits.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from msenas.data.images import check_size
from msenas.data.registry import register_dataset
from msenas.data.splits import ArraySplit, stratified_split
from msenas.data.static import digits_images
from msenas.data.types import DataError, Dataset, DatasetInfo


def saccade_shifts(n: int, steps: int, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Per-sample closed triangle paths (N-MNIST-like saccades): shifts [n, steps, 2] in pixels."""
    theta = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    angles = theta + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3, 2 * np.pi])  # [n, 4], closed
    verts = amp * np.stack([np.cos(angles), np.sin(angles)], -1)  # [n, 4, 2]
    verts = verts - verts[:, :1]  # start at zero shift
    u = np.linspace(0.0, 3.0, steps)  # position along the 3 edges
    k = np.minimum(u.astype(int), 2)
    w = (u - k)[None, :, None]
    return (1 - w) * verts[:, k] + w * verts[:, k + 1]  # [n, steps, 2]


def emulate_events(images: torch.Tensor, shifts: np.ndarray, T: int, substeps: int,
                   threshold: float, eps: float = 0.1) -> torch.Tensor:
    """Event-camera emulator: images [n,1,H,W] moved by shifts [n,T*substeps+1,2] -> counts [n,T,2,H,W]."""
    n, _, H, W = images.shape
    K = shifts.shape[1]
    d = torch.as_tensor(shifts, dtype=torch.float32).reshape(n * K, 2)
    theta = torch.zeros(n * K, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2], theta[:, 1, 2] = -2 * d[:, 0] / W, -2 * d[:, 1] / H  # sample at x - dx
    grid = F.affine_grid(theta, [n * K, 1, H, W], align_corners=False)
    src = images.repeat_interleave(K, dim=0)  # [n*K, 1, H, W]
    moved = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    logi = torch.log(moved.reshape(n, K, H, W).clamp(min=0) + eps)  # [n, K, H, W]
    ref = logi[:, 0].clone()
    out = torch.zeros(n, T, 2, H, W)
    for k in range(1, K):
        diff = logi[:, k] - ref
        on = torch.floor(diff / threshold).clamp(min=0)
        off = torch.floor(-diff / threshold).clamp(min=0)
        ref += (on - off) * threshold
        f = (k - 1) // substeps
        out[:, f, 0] += off
        out[:, f, 1] += on
    return out


@register_dataset("digits-dvs")
def build_digits_dvs(data_dir: str | None, *, T: int, seed: int, size: int = 16,
                     threshold: float = 0.2, substeps: int = 4) -> Dataset:
    """SYNTHETIC event digits: sklearn digits moved along seeded saccades through an event emulator."""
    check_size("digits-dvs", size)
    if not threshold > 0:
        raise DataError(f"digits-dvs: option threshold must be > 0, got {threshold!r}")
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        raise DataError(f"digits-dvs: option substeps must be a positive integer, got {substeps!r}")
    x, y = digits_images(size)  # [N, 1, size, size]
    rng = np.random.default_rng([seed, 1])
    shifts = saccade_shifts(len(x), T * substeps + 1, size / 8.0, rng)
    chunks = [emulate_events(x[i:i + 128], shifts[i:i + 128], T, substeps, threshold)
              for i in range(0, len(x), 128)]
    frames = torch.cat(chunks)  # [N, T, 2, size, size]
    if frames.max() <= 255:
        frames = frames.to(torch.uint8)  # 4x less memory; ArraySplit casts back to float32
    tr, te = stratified_split(y, 0.2, seed)
    info = DatasetInfo("digits-dvs", (2, size, size), 10, event=True)
    return Dataset(info, ArraySplit(frames[tr], y[tr]), ArraySplit(frames[te], y[te]))
