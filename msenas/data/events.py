"""Event-camera datasets: CIFAR10-DVS, DVS128 Gesture (spikingjelly and tonic layouts) and digits-dvs.

Every event sample is float32 frames [T, 2, H, W] of event counts, channel 0 =
OFF events (p = 0), channel 1 = ON events (p = 1), integrated "split by number"
as spikingjelly does (T slices with equal numbers of events, the last slice
takes the remainder). Real data is integrated on the fly in ``__getitem__``;
nothing is cached on disk.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset as TorchDataset

from msenas.data.base import ArraySplit, DataError, Dataset, DatasetInfo, register_dataset, stratified_split
from msenas.data.static import check_size, digits_images

CIFAR10DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                      "dog", "frog", "horse", "ship", "truck")
SENSOR = {"cifar10dvs": (128, 128), "dvsgesture": (128, 128)}  # (H, W)
_LAYOUT = {
    "cifar10dvs": "<root>/events_np/<class>/*.npz (t, x, y, p) or <root>/frames_number_<T>_split_by_number/"
                  "<class>/*.npz (frames), class in airplane..truck",
    "dvsgesture": "<root>/events_np/{train,test}/<label 0..10>/*.npz (t, x, y, p) or "
                  "<root>/frames_number_<T>_split_by_number/{train,test}/<label>/*.npz (frames) or tonic's "
                  "<root>/ibmGesture{Train,Test}/<user>/<label 0..10>.npy (columns x, y, p, t)",
}
TONIC_GESTURE = {"train": "ibmGestureTrain", "test": "ibmGestureTest"}  # tonic.datasets.DVSGesture folders


def integrate_events(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray,
                     T: int, H: int, W: int) -> np.ndarray:
    """Events -> counts [T, 2, H, W] split by number (channel 0 OFF, 1 ON); t fixes only the length."""
    n = len(t)
    x, y = x.astype(np.int64), y.astype(np.int64)
    if n and (x.min() < 0 or y.min() < 0 or x.max() >= W or y.max() >= H):
        raise ValueError(f"event coordinates outside the {H}x{W} sensor")
    per = n // T
    seg = np.minimum(np.arange(n) // per, T - 1) if per > 0 else np.full(n, T - 1)
    pos = ((seg * 2 + (p > 0)) * H + y) * W + x
    return np.bincount(pos, minlength=T * 2 * H * W).reshape(T, 2, H, W).astype(np.float32)


def resize_frames(frames: torch.Tensor, size: int | None) -> torch.Tensor:
    """[T, C, H, W] -> [T, C, size, size]: area when shrinking, bilinear when growing."""
    if size is None or size == frames.shape[-1] == frames.shape[-2]:
        return frames
    if size < frames.shape[-1]:
        return F.interpolate(frames, size=(size, size), mode="area")
    return F.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)


class EventFileSplit(TorchDataset):
    """One file per sample: .npz events (t, x, y, p) or stored frames, or tonic's .npy [N, 4] (x, y, p, t)."""

    def __init__(self, name: str, files: list[Path], targets: list[int], kind: str,
                 T: int, size: int | None):
        self.name, self.files, self.kind, self.T, self.size = name, files, kind, T, size
        self.targets = np.asarray(targets, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.files)

    def _load(self, path: Path) -> np.ndarray:
        H, W = SENSOR[self.name]
        try:
            if self.kind == "tonic":
                ev = np.load(path, allow_pickle=False)
                if ev.ndim != 2 or ev.shape[1] != 4:
                    raise ValueError(f"array has shape {ev.shape}, expected (N, 4)")
                return integrate_events(ev[:, 3], ev[:, 0], ev[:, 1], ev[:, 2], self.T, H, W)
            with np.load(path) as f:
                if self.kind == "frames":
                    frames = f["frames"].astype(np.float32)  # [T, 2, H, W]
                    if frames.ndim != 4 or frames.shape[:2] != (self.T, 2):
                        raise ValueError(f"frames have shape {frames.shape}, expected ({self.T}, 2, H, W)")
                    return frames
                return integrate_events(f["t"], f["x"], f["y"], f["p"], self.T, H, W)
        except (OSError, KeyError, ValueError) as e:
            want = {"frames": "an array 'frames'", "events": "arrays t, x, y, p",
                    "tonic": "an [N, 4] array of x, y, p, t"}[self.kind]
            raise DataError(f"{self.name}: cannot read {path} ({e}; expected {want}; layout {_LAYOUT[self.name]})") from None

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        frames = torch.from_numpy(self._load(self.files[i]))  # [T, 2, H, W]
        return resize_frames(frames, self.size), int(self.targets[i])


def _tree(name: str, data_dir: str | None, T: int) -> tuple[Path, str]:
    """The frames tree for T if present, else the events_np tree, else tonic's raw tree: (folder, kind)."""
    if data_dir is None:
        raise DataError(f"{name}: data_dir is required (expected {_LAYOUT[name]})")
    root = Path(data_dir)
    if root.name == "events_np" or root.name.startswith("frames_number_") or root.name in TONIC_GESTURE.values():
        root = root.parent
    frames = root / f"frames_number_{T}_split_by_number"
    if frames.is_dir():
        return frames, "frames"
    if (root / "events_np").is_dir():
        return root / "events_np", "events"
    if name == "dvsgesture":
        for tonic_root in (root, root / "DVSGesture"):  # the folder tonic extracted into, or its save_to
            if any((tonic_root / sub).is_dir() for sub in TONIC_GESTURE.values()):
                return tonic_root, "tonic"
    trees = f"events_np, frames_number_{T}_split_by_number" + (" or ibmGestureTrain" if name == "dvsgesture" else "")
    raise DataError(f"{name}: no {trees} under {root} (expected {_LAYOUT[name]})")


def _npz_files(folder: Path) -> list[Path]:
    # lexicographic, like spikingjelly's DatasetFolder, so the 9:1 cut matches its split
    return sorted(folder.rglob("*.npz"), key=lambda q: q.relative_to(folder).as_posix())


def _gesture_split(tree: Path, split: str) -> tuple[list[Path], list[int]]:
    folder = tree / split
    if not folder.is_dir():
        raise DataError(f"dvsgesture: no {split} folder in {tree} (expected {_LAYOUT['dvsgesture']})")
    files, labels = [], []
    for sub in sorted(d for d in folder.iterdir() if d.is_dir()):
        if not sub.name.isdigit() or int(sub.name) > 10:
            raise DataError(f"dvsgesture: label folder {sub} is not 0..10 (expected {_LAYOUT['dvsgesture']})")
        found = _npz_files(sub)
        files += found
        labels += [int(sub.name)] * len(found)
    if not files:
        raise DataError(f"dvsgesture: no .npz files under {folder} (expected {_LAYOUT['dvsgesture']})")
    return files, labels


def _tonic_gesture_split(root: Path, split: str) -> tuple[list[Path], list[int]]:
    folder = root / TONIC_GESTURE[split]
    if not folder.is_dir():
        raise DataError(f"dvsgesture: no {folder.name} folder in {root} (expected {_LAYOUT['dvsgesture']})")
    files = sorted(folder.rglob("*.npy"), key=lambda q: q.relative_to(folder).as_posix())
    if not files:
        raise DataError(f"dvsgesture: no .npy files under {folder} (expected {_LAYOUT['dvsgesture']})")
    bad = [f for f in files if not f.stem.isdigit() or int(f.stem) > 10]
    if bad:
        raise DataError(f"dvsgesture: file name {bad[0]} is not a label 0..10 (expected {_LAYOUT['dvsgesture']})")
    return files, [int(f.stem) for f in files]


def _cifar10dvs_split(tree: Path) -> tuple[tuple[list[Path], list[int]], tuple[list[Path], list[int]]]:
    missing = [c for c in CIFAR10DVS_CLASSES if not (tree / c).is_dir()]
    if missing:
        raise DataError(f"cifar10dvs: {tree} lacks class folders {', '.join(missing)} (expected {_LAYOUT['cifar10dvs']})")
    train, test = ([], []), ([], [])
    for label, cls in enumerate(CIFAR10DVS_CLASSES):
        found = _npz_files(tree / cls)
        if not found:
            raise DataError(f"cifar10dvs: no .npz files under {tree / cls} (expected {_LAYOUT['cifar10dvs']})")
        cut = math.ceil(len(found) * 0.9)  # spikingjelly split_to_train_test_set(0.9), no shuffle
        for part, chunk in ((train, found[:cut]), (test, found[cut:])):
            part[0].extend(chunk)
            part[1].extend([label] * len(chunk))
    return train, test


def _build_dvs(name: str, data_dir: str | None, T: int, size: int | None, n_classes: int) -> Dataset:
    check_size(name, size)
    tree, kind = _tree(name, data_dir, T)
    if kind == "tonic":
        train, test = _tonic_gesture_split(tree, "train"), _tonic_gesture_split(tree, "test")
    elif name == "dvsgesture":
        train, test = _gesture_split(tree, "train"), _gesture_split(tree, "test")
    else:
        train, test = _cifar10dvs_split(tree)
    tr = EventFileSplit(name, *train, kind, T, size)
    te = EventFileSplit(name, *test, kind, T, size)
    _ = tr[0]  # fail now, not mid-training, on a malformed file
    H, W = (size, size) if size else SENSOR[name]
    return Dataset(DatasetInfo(name, (2, H, W), n_classes, event=True), tr, te)


@register_dataset("cifar10dvs")
def build_cifar10dvs(data_dir: str | None, *, T: int, seed: int, size: int | None = None) -> Dataset:
    """CIFAR10-DVS from spikingjelly's events_np or frames tree; 9:1 per class, files sorted by name."""
    return _build_dvs("cifar10dvs", data_dir, T, size, 10)


@register_dataset("dvsgesture")
def build_dvsgesture(data_dir: str | None, *, T: int, seed: int, size: int | None = None) -> Dataset:
    """DVS128 Gesture from spikingjelly's events_np or frames tree, or tonic's raw .npy tree; official split."""
    return _build_dvs("dvsgesture", data_dir, T, size, 11)


# ----------------------------------------------------------------------------- digits-dvs


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
