"""Any .npz file of arrays x [N,C,H,W] (images) or [N,T,C,H,W] (event frames) and labels y [N]."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from msenas.data.registry import register_dataset
from msenas.data.splits import ArraySplit, stratified_split
from msenas.data.types import DataError, Dataset, DatasetInfo
from msenas.errors import reason

LAYOUT = "expected arrays x [N,C,H,W] or [N,T,C,H,W] and y [N], optionally x_test/y_test"
MAX_CLASSES = 100_000  # more than any real label set (ImageNet-21k has 21,841); bounds what a label may allocate
_NUMERIC = "biuf"  # numpy dtype kinds accepted for x: bool, signed, unsigned, float


def _find(data_dir: str | None) -> Path:
    if data_dir is None:
        raise DataError(f"npz: data_dir is required (a .npz file or a folder with one; {LAYOUT})")
    path = Path(data_dir)
    if path.is_file():
        return path
    found = sorted(path.glob("*.npz")) if path.is_dir() else []
    if len(found) != 1:
        what = "does not exist" if not path.exists() else f"holds {len(found)} .npz files"
        raise DataError(f"npz: {path} {what} (expected a .npz file or a folder with exactly one; {LAYOUT})")
    return found[0]


def _check_x(path: Path, x: np.ndarray, kx: str) -> None:
    if x.ndim not in (4, 5):
        raise DataError(f"npz: {path}: {kx} has shape {x.shape}, ndim {x.ndim} ({LAYOUT})")
    if len(x) == 0:
        raise DataError(f"npz: {path}: {kx} holds no samples (shape {x.shape})")
    if x.dtype.kind not in _NUMERIC:
        raise DataError(f"npz: {path}: {kx} has dtype {x.dtype}; expected real numbers (bool, int, uint or float)")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise DataError(f"npz: {path}: {kx} holds {bad} NaN or infinite values; every value must be finite")


def _check_y(path: Path, y: np.ndarray, n: int, ky: str, kx: str) -> None:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"npz: {path}: {ky} has shape {y.shape} but {kx} has {n} samples ({LAYOUT})")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"npz: {path}: {ky} must hold non-negative integer labels ({LAYOUT})")
    if len(y) and y.max() >= MAX_CLASSES:
        raise DataError(f"npz: {path}: {ky} holds label {int(y.max())}; labels must be below {MAX_CLASSES:,} "
                        "(one output per class up to the largest label)")


def _check(path: Path, x: np.ndarray, y: np.ndarray, kx: str, ky: str) -> None:
    _check_x(path, x, kx)
    _check_y(path, y, len(x), ky, kx)


def _split(x: np.ndarray, y: np.ndarray) -> ArraySplit:
    scale = 1.0 / 255.0 if (x.dtype == np.uint8 and x.ndim == 4) else 1.0
    return ArraySplit(torch.from_numpy(np.ascontiguousarray(x)), y.astype(np.int64), scale=scale)


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"npz: cannot read {path}: {reason(e)} ({LAYOUT})") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"npz: {path} has no array {key!r} (has {sorted(arrays)}; {LAYOUT})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"npz: {path} has only one of x_test/y_test ({LAYOUT})")
    return arrays


@register_dataset("npz")
def build_npz(data_dir: str | None, *, T: int, seed: int, test_fraction: float = 0.2) -> Dataset:
    """Arrays from one .npz file; uint8 images scaled to [0, 1]; event frames kept as stored."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"npz: option test_fraction must be in (0, 1), got {test_fraction!r}")
    path = _find(data_dir)
    arrays = _read(path)
    x, y = arrays["x"], arrays["y"]
    _check(path, x, y, "x", "y")
    if "x_test" in arrays:
        xt, yt = arrays["x_test"], arrays["y_test"]
        _check(path, xt, yt, "x_test", "y_test")
        if xt.shape[1:] != x.shape[1:]:
            raise DataError(f"npz: {path}: x_test sample shape {xt.shape[1:]} != x {x.shape[1:]}")
    else:
        tr, te = stratified_split(y, test_fraction, seed)
        if len(te) == 0 or len(tr) == 0:
            raise DataError(f"npz: {path}: {len(y)} samples in {len(np.unique(y))} classes leave an empty "
                            f"{'test' if len(te) == 0 else 'train'} split at test_fraction={test_fraction}; "
                            "add samples or give x_test/y_test")
        x, y, xt, yt = x[tr], y[tr], x[te], y[te]
    if x.ndim == 5 and x.shape[1] != T:
        raise DataError(f"npz: {path} holds {x.shape[1]} frames per sample but T={T} was requested")
    n_classes = int(max(y.max(initial=0), yt.max(initial=0))) + 1
    info = DatasetInfo("npz", tuple(int(s) for s in x.shape[-3:]), n_classes, event=x.ndim == 5)
    return Dataset(info, _split(x, y), _split(xt, yt))
