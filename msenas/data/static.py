"""Static image datasets: digits (embedded); npz and CIFAR-10/100 live in npz.py and cifar.py.

Static samples are float32 images [C, H, W]; ``to_time_major`` repeats them over
T steps (direct encoding).
"""
from __future__ import annotations

import numpy as np
import torch

from msenas.data.cifar import CIFAR_STATS  # noqa: F401  (re-exported: msenas.data.static.CIFAR_STATS)
from msenas.data.images import check_size, crop_flip, resize_images  # noqa: F401  (re-exported)
from msenas.data.registry import register_dataset
from msenas.data.splits import ArraySplit, stratified_split
from msenas.data.types import Dataset, DatasetInfo


def digits_images(size: int) -> tuple[torch.Tensor, np.ndarray]:
    """scikit-learn digits scaled to [0, 1] and resized: (x [N,1,size,size], y [N])."""
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)  # [N, 1, 8, 8]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.clamp_(0.0, 1.0), bunch.target.astype(np.int64)


@register_dataset("digits")
def build_digits(data_dir: str | None, *, T: int, seed: int, size: int = 16) -> Dataset:
    """scikit-learn's 8x8 digits (no download), resized to size x size, seeded 80/20 split."""
    check_size("digits", size)
    x, y = digits_images(size)
    tr, te = stratified_split(y, 0.2, seed)
    info = DatasetInfo("digits", (1, size, size), 10, event=False)
    return Dataset(info, ArraySplit(x[tr], y[tr]), ArraySplit(x[te], y[te]))
