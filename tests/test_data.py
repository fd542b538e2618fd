"""Dataset registry tests on tiny fake files in the exact on-disk layouts users have."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from msenas.data import (
    DATASETS,
    DataError,
    get_dataset,
    labels_of,
    make_loader,
    probe_batch,
    to_time_major,
    train_subset,
)
from msenas.data.events import CIFAR10DVS_CLASSES, integrate_events
from msenas.data.static import CIFAR_STATS, crop_flip
from msenas.errors import MsenasError

# ----------------------------------------------------------------------------- fake layouts


def _pickle(path: Path, d: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(d, f, protocol=2)


def fake_cifar10(root: Path, rows: int = 4) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8)
        labels = [(i * rows + r) % 10 for r in range(rows)]
        _pickle(folder / name, {b"batch_label": name.encode(), b"labels": labels, b"data": data})
    return root


def fake_cifar100(root: Path, rows: int = 6) -> Path:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in ("train", "test"):
        data = rng.integers(0, 256, size=(rows, 3072), dtype=np.uint8)
        _pickle(folder / name, {b"data": data, b"fine_labels": [50 + r for r in range(rows)],
                                b"coarse_labels": [r for r in range(rows)]})
    return root


def _events_file(path: Path, rng: np.random.Generator, n: int = 40) -> dict:
    ev = {"t": np.sort(rng.integers(0, 10_000, n)).astype(np.int64),
          "x": rng.integers(0, 128, n).astype(np.uint16), "y": rng.integers(0, 128, n).astype(np.uint16),
          "p": rng.integers(0, 2, n).astype(np.uint8)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **ev)
    return ev


def fake_gesture(root: Path, n_train: int = 2, n_test: int = 1) -> Path:
    rng = np.random.default_rng(2)
    for split, n in (("train", n_train), ("test", n_test)):
        for label in range(11):
            for i in range(n):
                _events_file(root / "events_np" / split / str(label) / f"user{i:02d}_{label}.npz", rng)
    return root


def fake_cifar10dvs(root: Path, per_class: int = 10) -> Path:
    rng = np.random.default_rng(3)
    for cls in CIFAR10DVS_CLASSES:
        for i in range(per_class):
            _events_file(root / "events_np" / cls / f"cifar10_{cls}_{i}.npz", rng)
    return root


def nmnist_bin(x: np.ndarray, y: np.ndarray, p: np.ndarray, t: np.ndarray) -> bytes:
    """Events in N-MNIST's 5-byte format: x, y, polarity bit 7 + 23-bit timestamp (big-endian)."""
    out = np.zeros((len(x), 5), np.uint8)
    out[:, 0], out[:, 1] = x, y
    out[:, 2] = (p.astype(np.uint32) << 7) | ((t >> 16) & 0x7F)
    out[:, 3], out[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    return out.tobytes()


def fake_nmnist(root: Path, n_train: int = 2, n_test: int = 1, n: int = 30) -> Path:
    """The raw N-MNIST tree under tonic's save_to: NMNIST/{Train,Test}/<digit>/<nnnnn>.bin."""
    rng = np.random.default_rng(6)
    number = 0
    for split, k in (("Train", n_train), ("Test", n_test)):
        for digit in range(10):
            for _ in range(k):
                number += 1
                path = root / "NMNIST" / split / str(digit) / f"{number:05d}.bin"
                path.parent.mkdir(parents=True, exist_ok=True)
                t = np.sort(rng.integers(0, 300_000, n)).astype(np.uint32)
                path.write_bytes(nmnist_bin(rng.integers(0, 34, n), rng.integers(0, 34, n), rng.integers(0, 2, n), t))
    return root


def fake_npz(root: Path) -> Path:
    rng = np.random.default_rng(4)
    np.savez(root / "data.npz", x=rng.integers(0, 256, (30, 1, 6, 6), dtype=np.uint8), y=np.arange(30) % 3)
    return root


FAKES = {"cifar10": fake_cifar10, "cifar100": fake_cifar100, "dvsgesture": fake_gesture,   # datasets read from files
         "cifar10dvs": fake_cifar10dvs, "npz": fake_npz, "nmnist": fake_nmnist}


def data_dir_of(name: str, root: Path) -> str | None:
    """The fake folder of a dataset read from files (FAKES), written under root; None for one that needs none."""
    return str(FAKES[name](root)) if name in FAKES else None


# ----------------------------------------------------------------------------- registry contract


@pytest.mark.parametrize("name", DATASETS.names())
def test_registered_dataset_items_match_info(name, tmp_path):
    """A dataset that reads files is built from its fake layout in FAKES; one that needs none, from nothing."""
    ds = get_dataset(name, data_dir_of(name, tmp_path), T=4, seed=0)
    assert ds.info.name == name
    for split in (ds.train, ds.test):
        assert len(split) > 0
        x, y = split[0]
        assert x.dtype == torch.float32 and isinstance(y, int)
        assert tuple(x.shape) == ((4,) if ds.info.event else ()) + ds.info.in_shape
        assert labels_of(split).max() < ds.info.n_classes
    xb, yb = probe_batch(ds, 1, seed=0)
    assert len(xb) == len(np.unique(labels_of(ds.train))) == len(yb)


def test_unknown_dataset_lists_known_names():
    with pytest.raises(DataError, match="unknown dataset 'mnist'.*cifar10.*digits"):
        get_dataset("mnist")


def test_unknown_option_is_named():
    with pytest.raises(DataError, match="unknown option 'sise'.*size"):
        get_dataset("digits", sise=8)


def test_bad_T_is_rejected():
    with pytest.raises(DataError, match="T must be a positive integer"):
        get_dataset("digits", T=0)

def test_data_error_message_is_one_line():
    assert str(DataError("npz: bad\n  file")) == "npz: bad file"
    assert isinstance(DataError("x"), MsenasError) and isinstance(DataError("x"), ValueError)  # CLI prints it


# ----------------------------------------------------------------------------- digits + helpers


def test_digits_size_option_range_and_stratified_split():
    ds = get_dataset("digits", size=12, seed=3)
    assert ds.info.in_shape == (1, 12, 12) and not ds.info.event
    assert len(ds.train) + len(ds.test) == 1797
    assert 0.0 <= float(ds.train.x.min()) and float(ds.train.x.max()) <= 1.0 and float(ds.train.x.max()) > 0.5
    ytr, yte = labels_of(ds.train), labels_of(ds.test)
    for c in range(10):
        frac = (yte == c).sum() / ((ytr == c).sum() + (yte == c).sum())
        assert abs(frac - 0.2) < 0.01
    other = get_dataset("digits", size=12, seed=4)
    assert not torch.equal(ds.test.x, other.test.x)


def test_probe_batch_is_stratified_sorted_and_seeded():
    ds = get_dataset("digits", size=8)
    x1, y1 = probe_batch(ds, 3, seed=7)
    x2, y2 = probe_batch(ds, 3, seed=7)
    x3, _ = probe_batch(ds, 3, seed=8)
    assert x1.shape == (30, 1, 8, 8)
    assert y1.tolist() == sorted(y1.tolist()) and np.bincount(y1.numpy()).tolist() == [3] * 10
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    with pytest.raises(DataError, match="fewer than per_class"):
        probe_batch(ds, 10_000, seed=0)


def test_to_time_major_shapes():
    static = torch.randn(5, 3, 8, 8)
    out = to_time_major(static, 4)
    assert out.shape == (4, 5, 3, 8, 8) and torch.equal(out[2], static)
    frames = torch.randn(5, 4, 2, 8, 8)
    out = to_time_major(frames, 4)
    assert out.shape == (4, 5, 2, 8, 8) and torch.equal(out[1, 3], frames[3, 1])
    with pytest.raises(DataError, match="T=6"):
        to_time_major(frames, 6)
    with pytest.raises(DataError, match="expected a batch"):
        to_time_major(torch.randn(5, 8, 8), 4)


def test_make_loader_shuffle_is_seeded():
    ds = get_dataset("digits", size=8)
    first = [next(iter(make_loader(ds.train, 16, True, seed=s)))[1].tolist() for s in (1, 1, 2)]
    assert first[0] == first[1] and first[0] != first[2]
    unshuffled = next(iter(make_loader(ds.train, 16, False, seed=5)))[1]
    assert unshuffled.tolist() == labels_of(ds.train)[:16].tolist()


def test_train_subset_is_stratified_fraction():
    ds = get_dataset("digits", size=8)
    sub = train_subset(ds, 0.1, seed=0)
    counts = np.bincount(labels_of(sub), minlength=10)
    full = np.bincount(labels_of(ds.train), minlength=10)
    assert np.all(np.abs(counts - full * 0.1) <= 1)
    assert torch.equal(sub[0][0], ds.train[int(sub.indices[0])][0])

# ----------------------------------------------------------------------------- npz


def test_npz_static_uint8_scaled_and_split(tmp_path):
    ds = get_dataset("npz", str(fake_npz(tmp_path)), test_fraction=0.4, seed=1)
    assert ds.info.in_shape == (1, 6, 6) and ds.info.n_classes == 3 and not ds.info.event
    assert len(ds.test) == 12 and np.bincount(labels_of(ds.test)).tolist() == [4, 4, 4]
    xs = torch.stack([ds.train[i][0] for i in range(len(ds.train))])
    assert 0.0 <= float(xs.min()) and float(xs.max()) <= 1.0 and float(xs.max()) > 0.9


def test_npz_explicit_test_split_and_event_frames(tmp_path):
    f = tmp_path / "ev.npz"
    np.savez(f, x=np.ones((6, 4, 2, 5, 5), np.float32) * 3, y=np.arange(6) % 2,
             x_test=np.zeros((2, 4, 2, 5, 5), np.float32), y_test=np.array([0, 1]))
    ds = get_dataset("npz", str(f), T=4)
    assert ds.info.event and ds.info.in_shape == (2, 5, 5)
    assert len(ds.train) == 6 and len(ds.test) == 2
    assert float(ds.train[0][0].max()) == 3.0 and float(ds.test[0][0].max()) == 0.0


@pytest.mark.parametrize("arrays, msg", [
    ({"x": np.zeros((4, 1, 3, 3))}, "no array 'y'"),
    ({"x": np.zeros((4, 3, 3)), "y": np.zeros(4, int)}, "ndim 3"),
    ({"x": np.zeros((4, 1, 3, 3)), "y": np.zeros(5, int)}, "y has shape"),
    ({"x": np.zeros((4, 1, 3, 3)), "y": np.zeros(4, int), "x_test": np.zeros((2, 1, 3, 3))}, "x_test/y_test"),
])
def test_npz_malformed_raises(tmp_path, arrays, msg):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=msg):
        get_dataset("npz", str(tmp_path / "bad.npz"))


def test_npz_folder_must_hold_exactly_one_file(tmp_path):
    fake_npz(tmp_path)
    np.savez(tmp_path / "second.npz", x=np.zeros((2, 1, 2, 2)), y=np.zeros(2, int))
    with pytest.raises(DataError, match="holds 2 .npz files.*expected arrays x"):
        get_dataset("npz", str(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        get_dataset("npz", str(tmp_path / "nope"))
    with pytest.raises(DataError, match="npz: option test_fraction"):
        get_dataset("npz", str(tmp_path / "data.npz"), test_fraction=1.0)

# ----------------------------------------------------------------------------- CIFAR


def test_cifar10_reads_batches_normalises_and_accepts_folder_or_parent(tmp_path):
    fake_cifar10(tmp_path)
    for d in (tmp_path, tmp_path / "cifar-10-batches-py"):
        ds = get_dataset("cifar10", str(d))
        assert len(ds.train) == 20 and len(ds.test) == 4 and ds.info.n_classes == 10
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in CIFAR_STATS["cifar10"])
    expect = (torch.from_numpy(raw[b"data"][1].reshape(3, 32, 32)).float() / 255 - mean) / std
    x, y = ds.test[1]
    assert torch.allclose(x, expect, atol=1e-5) and y == raw[b"labels"][1]


def test_cifar10_train_augmentation_crops_and_flips_but_plain_item_does_not(tmp_path):
    ds = get_dataset("cifar10", str(fake_cifar10(tmp_path)), seed=0)
    plain = ds.train.plain_item(0)[0]
    seen = [ds.train[0][0] for _ in range(10)]
    assert all(s.shape == (3, 32, 32) for s in seen)
    assert any(not torch.allclose(s, plain) for s in seen)
    assert torch.equal(ds.train.plain_item(0)[0], plain)
    off = get_dataset("cifar10", str(tmp_path), augment=False)
    assert torch.equal(off.train[0][0], plain)


def test_crop_flip_draws_pad4_crops_and_flips():
    x = torch.arange(1, 3 * 8 * 8 + 1, dtype=torch.float32).view(3, 8, 8)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        out = crop_flip(x, rng)
        match = [(i, j, fl) for i in range(9) for j in range(9) for fl in (False, True)
                 if torch.equal(out, (padded[:, i:i + 8, j:j + 8].flip(-1) if fl else padded[:, i:i + 8, j:j + 8]))]
        assert len(match) == 1
        seen.add(match[0])
    assert {fl for *_, fl in seen} == {False, True}
    assert len({(i, j) for i, j, _ in seen}) > 10


def test_cifar100_uses_fine_labels(tmp_path):
    ds = get_dataset("cifar100", str(fake_cifar100(tmp_path)))
    assert ds.info.n_classes == 100
    assert labels_of(ds.train).tolist() == [50, 51, 52, 53, 54, 55]


def test_cifar_missing_folder_names_expected_layout(tmp_path):
    with pytest.raises(DataError, match=r"cifar10: no cifar-10-batches-py under .*data_batch_1\.\.5 and test_batch"):
        get_dataset("cifar10", str(tmp_path))
    with pytest.raises(DataError, match="cifar100: no cifar-100-python under"):
        get_dataset("cifar100", str(tmp_path))
    with pytest.raises(DataError, match="data_dir is required"):
        get_dataset("cifar10")


def test_cifar_malformed_pickle_raises(tmp_path):
    fake_cifar10(tmp_path)
    _pickle(tmp_path / "cifar-10-batches-py" / "data_batch_3", {b"data": np.zeros((2, 3072), np.uint8)})
    with pytest.raises(DataError, match="data_batch_3.*b'labels'"):
        get_dataset("cifar10", str(tmp_path))

# ----------------------------------------------------------------------------- DVS


def test_integrate_events_splits_by_number_and_polarity():
    t = np.arange(7)
    x, y = np.array([0, 1, 2, 3, 0, 0, 0]), np.array([0, 0, 0, 0, 1, 1, 1])
    p = np.array([1, 0, 1, 1, 0, 0, 1])
    f = integrate_events(t, x, y, p, T=3, H=2, W=4)  # 7 events -> slices of 2, 2, 3
    assert f.shape == (3, 2, 2, 4)
    assert f.sum(axis=(1, 2, 3)).tolist() == [2, 2, 3]
    assert f[0, 1, 0, 0] == 1 and f[0, 0, 0, 1] == 1  # ON at (0,0), OFF at (y0,x1)
    assert f[2, 0, 1, 0] == 2 and f[2, 1, 1, 0] == 1
    with pytest.raises(ValueError, match="outside"):
        integrate_events(t, x + 4, y, p, T=3, H=2, W=4)


def test_dvsgesture_honours_official_split_and_folder_labels(tmp_path):
    fake_gesture(tmp_path, n_train=2, n_test=1)
    ds = get_dataset("dvsgesture", str(tmp_path), T=4)
    assert ds.info.in_shape == (2, 128, 128) and ds.info.n_classes == 11 and ds.info.event
    assert len(ds.train) == 22 and len(ds.test) == 11
    assert all("/train/" in f.as_posix() for f in ds.train.files)
    assert all("/test/" in f.as_posix() for f in ds.test.files)
    for f, label in zip(ds.test.files, labels_of(ds.test)):
        assert int(f.parent.name) == label  # folder "10" is label 10, not the lexicographic index
    x, y = ds.test[0]
    ev = np.load(ds.test.files[0])
    assert x.shape == (4, 2, 128, 128) and float(x.sum()) == len(ev["t"])
    assert float(x[:, 1].sum()) == int(ev["p"].sum())


def fake_tonic_gesture(root: Path, users: int = 2) -> Path:
    """tonic.datasets.DVSGesture's extracted tree: ibmGesture{Train,Test}/<user>/<label>.npy,
    columns x, y, p, t (ms)."""
    rng = np.random.default_rng(5)
    for folder, n in (("ibmGestureTrain", users), ("ibmGestureTest", 1)):
        for u in range(n):
            for label in range(11):
                k = 30 + label
                ev = np.stack([rng.integers(0, 128, k), rng.integers(0, 128, k), rng.integers(0, 2, k),
                               np.sort(rng.integers(0, 6000, k))], axis=1).astype(np.float64)
                path = root / "DVSGesture" / folder / f"user{u + 1:02d}_fluorescent" / f"{label}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, ev)
    return root


def test_dvsgesture_reads_tonic_raw_tree_from_save_to_or_its_folder(tmp_path):
    fake_tonic_gesture(tmp_path, users=2)
    for data_dir in (tmp_path, tmp_path / "DVSGesture", tmp_path / "DVSGesture" / "ibmGestureTrain"):
        ds = get_dataset("dvsgesture", str(data_dir), T=3, size=32)
        assert len(ds.train) == 22 and len(ds.test) == 11 and ds.info.in_shape == (2, 32, 32)
    full = get_dataset("dvsgesture", str(tmp_path), T=3)
    assert all(f.parent.parent.name == "ibmGestureTest" for f in full.test.files)
    assert sorted(labels_of(full.train).tolist()) == sorted(list(range(11)) * 2)
    i = int(np.flatnonzero(labels_of(full.test) == 10)[0])  # "10.npy" is label 10, not a lexicographic index
    ev = np.load(full.test.files[i])
    x, y = full.test[i]
    assert y == 10 and x.shape == (3, 2, 128, 128) and float(x.sum()) == len(ev) == 40
    assert float(x[:, 1].sum()) == ev[:, 2].sum()  # ON events in channel 1
    j = int(ev[0, 0]), int(ev[0, 1])  # the first event lands in slice 0 at (y, x)
    assert x[0, int(ev[0, 2] > 0), j[1], j[0]] >= 1


def test_dvsgesture_tonic_malformed_files_raise(tmp_path):
    fake_tonic_gesture(tmp_path)
    np.save(tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "other.npy", np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"other.npy is not a label 0..10"):
        get_dataset("dvsgesture", str(tmp_path))
    (tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "other.npy").unlink()
    first = sorted((tmp_path / "DVSGesture" / "ibmGestureTrain").rglob("*.npy"))[0]
    np.save(first, np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"cannot read .*\.npy.*shape \(3, 3\).*\[N, 4\] array of x, y, p, t"):
        get_dataset("dvsgesture", str(tmp_path))
    shutil.rmtree(tmp_path / "DVSGesture" / "ibmGestureTest")
    with pytest.raises(DataError, match="no ibmGestureTest folder"):
        get_dataset("dvsgesture", str(tmp_path))


def test_dvs_size_option_resizes_with_area(tmp_path):
    fake_gesture(tmp_path)
    full = get_dataset("dvsgesture", str(tmp_path), T=2)
    small = get_dataset("dvsgesture", str(tmp_path), T=2, size=32)
    assert small.info.in_shape == (2, 32, 32) and small.train[0][0].shape == (2, 2, 32, 32)
    assert torch.allclose(small.train[0][0].sum() * 16, full.train[0][0].sum())


def test_cifar10dvs_splits_9_to_1_per_class(tmp_path):
    ds = get_dataset("cifar10dvs", str(fake_cifar10dvs(tmp_path, per_class=10)), T=3)
    assert len(ds.train) == 90 and len(ds.test) == 10
    assert np.bincount(labels_of(ds.test)).tolist() == [1] * 10
    assert sorted(f.name for f in ds.test.files) == sorted(f"cifar10_{c}_9.npz" for c in CIFAR10DVS_CLASSES)
    assert CIFAR10DVS_CLASSES[labels_of(ds.train)[45]] == ds.train.files[45].parent.name
    assert ds.train[0][0].shape == (3, 2, 128, 128)


def test_frames_tree_is_used_for_its_T_only(tmp_path):
    fake_gesture(tmp_path)
    for split in ("train", "test"):
        f = tmp_path / "frames_number_4_split_by_number" / split / "3" / "a.npz"
        f.parent.mkdir(parents=True)
        np.savez_compressed(f, frames=np.full((4, 2, 128, 128), 7.0, np.float32))
    ds = get_dataset("dvsgesture", str(tmp_path), T=4, size=16)
    assert len(ds.train) == 1 and labels_of(ds.train).tolist() == [3]
    assert torch.allclose(ds.train[0][0], torch.full((4, 2, 16, 16), 7.0))
    assert len(get_dataset("dvsgesture", str(tmp_path), T=2).train) == 22  # falls back to events_np


def test_dvs_missing_or_malformed_layout_raises(tmp_path):
    with pytest.raises(DataError, match=r"dvsgesture: no events_np, frames_number_4_split_by_number or ibmGestureTrain"
                                        r".*train,test"):
        get_dataset("dvsgesture", str(tmp_path))
    (tmp_path / "events_np" / "train" / "0").mkdir(parents=True)
    _events_file(tmp_path / "events_np" / "train" / "0" / "a.npz", np.random.default_rng(0))
    with pytest.raises(DataError, match="no test folder"):
        get_dataset("dvsgesture", str(tmp_path))
    (tmp_path / "events_np" / "test" / "left_hand").mkdir(parents=True)
    with pytest.raises(DataError, match="label folder .*left_hand is not 0..10"):
        get_dataset("dvsgesture", str(tmp_path))
    with pytest.raises(DataError, match="cifar10dvs: .* lacks class folders airplane"):
        get_dataset("cifar10dvs", str(tmp_path))


def test_dvs_event_file_without_polarity_raises_at_build(tmp_path):
    fake_cifar10dvs(tmp_path, per_class=2)
    np.savez(tmp_path / "events_np" / "airplane" / "cifar10_airplane_0.npz",
             t=np.arange(3), x=np.zeros(3), y=np.zeros(3))
    with pytest.raises(DataError, match="cifar10_airplane_0.npz.*arrays t, x, y, p"):
        get_dataset("cifar10dvs", str(tmp_path))

# ----------------------------------------------------------------------------- digits-dvs


def test_digits_dvs_is_deterministic_nonempty_and_class_specific():
    a = get_dataset("digits-dvs", T=4, seed=0)
    b = get_dataset("digits-dvs", T=4, seed=0)
    c = get_dataset("digits-dvs", T=4, seed=1)
    assert a.info.in_shape == (2, 16, 16) and a.info.event
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x[:50], c.train.x[:50])
    x = a.train.x.float()  # [N, T, 2, H, W]
    assert x.shape[1:] == (4, 2, 16, 16)
    assert bool((x.sum(dim=(2, 3, 4)) > 0).all())  # every frame of every sample has events
    assert float(x[:, :, 0].sum()) > 0 and float(x[:, :, 1].sum()) > 0  # both polarities
    y = labels_of(a.train)
    means = torch.stack([x[torch.from_numpy(y == k)].mean(0) for k in range(10)])
    dist = torch.cdist(means.flatten(1), means.flatten(1))
    assert float(dist[~torch.eye(10, dtype=torch.bool)].min()) > 1.0


def test_digits_dvs_options_and_split_match_digits():
    dd = get_dataset("digits-dvs", T=2, seed=5, size=12, threshold=0.5)
    d = get_dataset("digits", seed=5, size=12)
    assert dd.train[0][0].shape == (2, 2, 12, 12)
    assert labels_of(dd.test).tolist() == labels_of(d.test).tolist()
    fewer = float(dd.train.x.float().sum())
    more = float(get_dataset("digits-dvs", T=2, seed=5, size=12, threshold=0.1).train.x.float().sum())
    assert more > 2 * fewer
    with pytest.raises(DataError, match="threshold must be > 0"):
        get_dataset("digits-dvs", threshold=0.0)
