"""Static image datasets: digits (embedded), any .npz file, CIFAR-10/100 (python version).

Static samples are float32 images [C, H, W]; ``to_time_major`` repeats them over
T steps (direct encoding). Event-frame .npz files ([N, T, C, H, W]) are also
read here, since the npz format is the same.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from msenas.data.base import ArraySplit, DataError, Dataset, DatasetInfo, register_dataset, stratified_split

CIFAR_STATS = {  # name -> (mean, std) per RGB channel, on [0, 1] pixels
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


def check_size(name: str, size: int | None) -> None:
    """Raise DataError unless ``size`` is None or a positive int."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise DataError(f"{name}: option size must be a positive integer, got {size!r}")


def digits_images(size: int) -> tuple[torch.Tensor, np.ndarray]:
    """scikit-learn digits scaled to [0, 1] and resized: (x [N,1,size,size], y [N])."""
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


# ----------------------------------------------------------------------------- npz

_NPZ_LAYOUT = "expected arrays x [N,C,H,W] or [N,T,C,H,W] and y [N], optionally x_test/y_test"


def _find_npz(data_dir: str | None) -> Path:
    if data_dir is None:
        raise DataError(f"npz: data_dir is required (a .npz file or a folder with one; {_NPZ_LAYOUT})")
    path = Path(data_dir)
    if path.is_file():
        return path
    found = sorted(path.glob("*.npz")) if path.is_dir() else []
    if len(found) != 1:
        what = "does not exist" if not path.exists() else f"holds {len(found)} .npz files"
        raise DataError(f"npz: {path} {what} (expected a .npz file or a folder with exactly one; {_NPZ_LAYOUT})")
    return found[0]


def _check_xy(path: Path, x: np.ndarray, y: np.ndarray, kx: str, ky: str) -> None:
    if x.ndim not in (4, 5):
        raise DataError(f"npz: {path}: {kx} has shape {x.shape}, ndim {x.ndim} ({_NPZ_LAYOUT})")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"npz: {path}: {ky} has shape {y.shape} but {kx} has {len(x)} samples ({_NPZ_LAYOUT})")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and y.min() < 0):
        raise DataError(f"npz: {path}: {ky} must hold non-negative integer labels ({_NPZ_LAYOUT})")


def _npz_split(x: np.ndarray, y: np.ndarray) -> ArraySplit:
    scale = 1.0 / 255.0 if (x.dtype == np.uint8 and x.ndim == 4) else 1.0
    return ArraySplit(torch.from_numpy(np.ascontiguousarray(x)), y.astype(np.int64), scale=scale)


@register_dataset("npz")
def build_npz(data_dir: str | None, *, T: int, seed: int, test_fraction: float = 0.2) -> Dataset:
    """Arrays from one .npz file; uint8 images scaled to [0, 1]; event frames kept as stored."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"npz: option test_fraction must be in (0, 1), got {test_fraction!r}")
    path = _find_npz(data_dir)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise DataError(f"npz: cannot read {path}: {e} ({_NPZ_LAYOUT})") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"npz: {path} has no array {key!r} (has {sorted(arrays)}; {_NPZ_LAYOUT})")
    x, y = arrays["x"], arrays["y"]
    _check_xy(path, x, y, "x", "y")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"npz: {path} has only one of x_test/y_test ({_NPZ_LAYOUT})")
    if "x_test" in arrays:
        xt, yt = arrays["x_test"], arrays["y_test"]
        _check_xy(path, xt, yt, "x_test", "y_test")
        if xt.shape[1:] != x.shape[1:]:
            raise DataError(f"npz: {path}: x_test sample shape {xt.shape[1:]} != x {x.shape[1:]}")
    else:
        tr, te = stratified_split(y, test_fraction, seed)
        x, y, xt, yt = x[tr], y[tr], x[te], y[te]
    event = x.ndim == 5
    if event and x.shape[1] != T:
        raise DataError(f"npz: {path} holds {x.shape[1]} frames per sample but T={T} was requested")
    n_classes = int(max(y.max(initial=0), yt.max(initial=0))) + 1
    info = DatasetInfo("npz", tuple(int(s) for s in x.shape[-3:]), n_classes, event=event)
    return Dataset(info, _npz_split(x, y), _npz_split(xt, yt))


# ----------------------------------------------------------------------------- CIFAR

_CIFAR_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels",
                "the python-version CIFAR-10 folder with data_batch_1..5 and test_batch"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels",
                 "the python-version CIFAR-100 folder with train and test"),
}


def crop_flip(x: torch.Tensor, rng: np.random.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and random horizontal flip of x [C,H,W]."""
    _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))  # [C, H+2p, W+2p]
    i, j = rng.integers(0, 2 * pad + 1, size=2)
    out = padded[:, i:i + h, j:j + w]
    if rng.random() < 0.5:
        out = out.flip(-1)
    return out.contiguous()


def _load_cifar_batches(name: str, folder: Path, files: list[str], label_key: bytes) -> tuple[torch.Tensor, np.ndarray]:
    xs, ys = [], []
    for fname in files:
        path = folder / fname
        try:
            with open(path, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            data, labels = np.asarray(d[b"data"], dtype=np.uint8), np.asarray(d[label_key], dtype=np.int64)
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as e:
            raise DataError(f"{name}: cannot read {path} ({type(e).__name__}: {e}; expected a pickled dict "
                            f"with b'data' [N,3072] uint8 and {label_key!r})") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
            raise DataError(f"{name}: {path} has data {data.shape} and {len(labels)} labels (expected [N,3072] and N)")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(labels)
    return torch.from_numpy(np.concatenate(xs)), np.concatenate(ys)


def _build_cifar(name: str, data_dir: str | None, seed: int, augment: bool, n_classes: int) -> Dataset:
    sub, train_files, test_files, label_key, what = _CIFAR_LAYOUT[name]
    if data_dir is None:
        raise DataError(f"{name}: data_dir is required (expected {what}, or its parent folder)")
    root = Path(data_dir)
    folder = root / sub if (root / sub).is_dir() else root
    missing = [f for f in train_files + test_files if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{name}: no {sub} under {root} (expected {what}; missing {', '.join(missing)})")
    x, y = _load_cifar_batches(name, folder, train_files, label_key)
    xt, yt = _load_cifar_batches(name, folder, test_files, label_key)
    mean, std = CIFAR_STATS[name]
    train = ArraySplit(x, y, scale=1 / 255, mean=mean, std=std, augment=crop_flip if augment else None, seed=seed)
    test = ArraySplit(xt, yt, scale=1 / 255, mean=mean, std=std)
    return Dataset(DatasetInfo(name, (3, 32, 32), n_classes, event=False), train, test)


@register_dataset("cifar10")
def build_cifar10(data_dir: str | None, *, T: int, seed: int, augment: bool = True) -> Dataset:
    """CIFAR-10 from cifar-10-batches-py; train: crop 32 pad 4 + flip; both normalised."""
    return _build_cifar("cifar10", data_dir, seed, augment, 10)


@register_dataset("cifar100")
def build_cifar100(data_dir: str | None, *, T: int, seed: int, augment: bool = True) -> Dataset:
    """CIFAR-100 (fine labels) from cifar-100-python; same augmentation as cifar10."""
    return _build_cifar("cifar100", data_dir, seed, augment, 100)
