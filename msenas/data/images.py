"""Image helpers shared by the static datasets: size checks, one-time resizing, crop/flip augmentation."""
from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from msenas.data.types import DataError


def check_size(name: str, size: int | None) -> None:
    """Raise DataError unless ``size`` is None or a positive int."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise DataError(f"{name}: option size must be a positive integer, got {size!r}")


def resize_images(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, size, size]: area when shrinking, bilinear when growing; dtype kept."""
    if size is None or x.shape[-2:] == (size, size):
        return x
    mode = "area" if size < x.shape[-1] else "bilinear"
    kw = {} if mode == "area" else {"align_corners": False}
    out = [F.interpolate(x[i:i + 4096].float(), size=(size, size), mode=mode, **kw) for i in range(0, len(x), 4096)]
    out = torch.cat(out)
    if x.dtype == torch.uint8:
        return out.round_().clamp_(0, 255).to(torch.uint8)  # as an image library resizes 8-bit images
    return out.to(x.dtype)


def crop_flip(x: torch.Tensor, rng: np.random.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and random horizontal flip of x [C,H,W]."""
    _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))  # [C, H+2p, W+2p]
    i, j = rng.integers(0, 2 * pad + 1, size=2)
    out = padded[:, i:i + h, j:j + w]
    if rng.random() < 0.5:
        out = out.flip(-1)
    return out.contiguous()


def crop_flip_for(size: int, native: int = 32, native_pad: int = 4):
    """crop_flip with the padding scaled to the image size (pad 4 at 32x32, at least 1)."""
    pad = max(1, round(native_pad * size / native))
    return crop_flip if pad == native_pad else partial(crop_flip, pad=pad)
