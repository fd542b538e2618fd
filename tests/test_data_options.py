"""Options every dataset accepts (class-balanced subsets), CIFAR's size option, and bad data files."""
from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_data import data_dir_of, fake_cifar10

from msenas.data import COMMON_OPTIONS, DATASETS, DataError, dataset_options, get_dataset, labels_of
from msenas.data.images import crop_flip_for
from msenas.data.static import CIFAR_STATS
from msenas.registry import Registry

# ----------------------------------------------------------------------------- registry and common options


def test_datasets_is_a_registry_and_validators_ask_it():
    from msenas.config import ConfigError, DataConfig

    assert isinstance(DATASETS, Registry) and "nmnist" in DATASETS
    with pytest.raises(ConfigError, match="data.dataset: unknown dataset"):
        DataConfig(dataset="mnist")
    with pytest.raises(ConfigError, match=r"data.options.sise: not an option of 'cifar10' .*size"):
        DataConfig(dataset="cifar10", options={"sise": 16})
    assert DataConfig(dataset="cifar10", options={"size": 16, "train_per_class": 5}).options["size"] == 16


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_dataset_takes_class_balanced_subsets(name, tmp_path):
    assert set(COMMON_OPTIONS) <= set(dataset_options(name))
    data_dir = data_dir_of(name, tmp_path)
    whole = get_dataset(name, data_dir, T=2, seed=0)
    sub = get_dataset(name, data_dir, T=2, seed=0, train_per_class=1, test_per_class=1)
    for part in ("train", "test"):
        full, kept = labels_of(getattr(whole, part)), labels_of(getattr(sub, part))
        assert sorted(kept.tolist()) == sorted(np.unique(full).tolist())  # every class, one sample each
    x, y = sub.train[0]
    assert tuple(x.shape)[-3:] == sub.info.in_shape and y == labels_of(sub.train)[0]


def test_subsets_are_seeded_capped_and_match_the_whole_split():
    a = get_dataset("digits", size=8, seed=1, train_per_class=7, test_per_class=200)
    b = get_dataset("digits", size=8, seed=1, train_per_class=7, test_per_class=200)
    c = get_dataset("digits", size=8, seed=2, train_per_class=7)
    whole = get_dataset("digits", size=8, seed=1)
    assert np.bincount(labels_of(a.train)).tolist() == [7] * 10
    assert np.array_equal(a.train.indices, b.train.indices) and not np.array_equal(a.train.indices, c.train.indices)
    assert np.bincount(labels_of(a.test)).tolist() == np.bincount(labels_of(whole.test)).tolist()  # capped: all
    i = int(a.train.indices[3])
    assert torch.equal(a.train[3][0], whole.train[i][0])


@pytest.mark.parametrize("value", [0, -3, True, 2.5, "10"])
def test_bad_subset_sizes_are_rejected(value):
    with pytest.raises(DataError, match=r"digits: option train_per_class must be a positive integer"):
        get_dataset("digits", train_per_class=value)


def test_a_split_left_empty_is_rejected(tmp_path):
    np.savez(tmp_path / "one.npz", x=np.zeros((3, 1, 4, 4), np.uint8), y=np.array([0, 1, 2]))
    with pytest.raises(DataError, match=r"npz: .*one\.npz: 3 samples in 3 classes leave an empty test split"):
        get_dataset("npz", str(tmp_path / "one.npz"))

# ----------------------------------------------------------------------------- CIFAR size


def test_cifar_size_resizes_once_at_load_with_area_and_scales_the_crop(tmp_path):
    fake_cifar10(tmp_path)
    full = get_dataset("cifar10", str(tmp_path), augment=False)
    small = get_dataset("cifar10", str(tmp_path), size=16, seed=0)
    assert small.info.in_shape == (3, 16, 16) and small.train.x.shape[1:] == (3, 16, 16)
    assert small.train.x.dtype == torch.uint8  # stored resized, 8-bit, as loaded: nothing is resized per item
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in CIFAR_STATS["cifar10"])
    raw = full.test.x[1:2].float()  # [1, 3, 32, 32] in 0..255
    expect = (F.interpolate(raw, size=(16, 16), mode="area").round()[0] / 255 - mean) / std
    assert torch.allclose(small.test[1][0], expect, atol=1e-5)
    assert small.train[0][0].shape == (3, 16, 16)  # augmented items keep the size
    assert crop_flip_for(16).keywords["pad"] == 2 and crop_flip_for(8).keywords["pad"] == 1
    assert crop_flip_for(32).__name__ == "crop_flip"  # pad 4 at 32x32, as before
    up = get_dataset("cifar10", str(tmp_path), size=40)
    assert up.test[0][0].shape == (3, 40, 40)


def test_cifar_labels_out_of_range_are_named(tmp_path):
    fake_cifar10(tmp_path)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10**9]}, f, protocol=2)
    with pytest.raises(DataError, match=r"cifar10: .*test_batch has labels 0\.\.1000000000 \(expected 0\.\.9\)"):
        get_dataset("cifar10", str(tmp_path))

# ----------------------------------------------------------------------------- pickles that are not data


class _RunsCode:
    """Pickles as a call of os.system: what a hostile 'CIFAR batch' would hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar_pickle_cannot_run_code(tmp_path):
    fake_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_2", "wb") as f:
        pickle.dump({b"data": _RunsCode(marker), b"labels": [0]}, f, protocol=2)
    with pytest.raises(DataError, match=r"cifar10: cannot read .*data_batch_2 \(ForbiddenGlobal: it references "
                                        r"(posix|os)\.system, which is not plain data or a numpy array"):
        get_dataset("cifar10", str(tmp_path))
    assert not marker.exists()


def test_cifar_pickle_naming_a_missing_module_is_one_line(tmp_path):
    fake_cifar10(tmp_path)
    blob = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]}, protocol=2)
    blob = blob.replace(b"numpy\nndarray", b"nopkg\nndarray")  # the GLOBAL opcode of a module that is not there
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(blob)
    with pytest.raises(DataError, match=r"test_batch \(ForbiddenGlobal: it references nopkg\.ndarray"):
        get_dataset("cifar10", str(tmp_path))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_pickles_of_every_protocol_still_load(tmp_path, protocol):
    fake_cifar10(tmp_path)
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({b"batch_label": b"testing", b"labels": np.array([3, 4]), b"data": data,
                     b"filenames": [b"a.png", b"b.png"]}, f, protocol=protocol)
    ds = get_dataset("cifar10", str(tmp_path), augment=False)
    assert labels_of(ds.test).tolist() == [3, 4] and torch.equal(ds.test.x[1].flatten(), torch.from_numpy(data[1]))

# ----------------------------------------------------------------------------- npz that is not data


@pytest.mark.parametrize("arrays, msg", [
    ({"x": np.zeros((0, 1, 3, 3)), "y": np.zeros(0, int)}, r"x holds no samples"),
    ({"x": np.full((4, 1, 2, 2), "a"), "y": np.zeros(4, int)}, r"x has dtype <U1; expected real numbers"),
    ({"x": np.zeros((4, 1, 2, 2), np.complex64), "y": np.zeros(4, int)}, r"x has dtype complex64"),
    ({"x": np.full((4, 1, 2, 2), np.nan, np.float32), "y": np.zeros(4, int)}, r"x holds 16 NaN or infinite values"),
    ({"x": np.array([1, np.inf, 0, 0] * 4, np.float64).reshape(4, 1, 2, 2), "y": np.zeros(4, int)}, r"x holds 4 NaN"),
    ({"x": np.zeros((4, 1, 2, 2)), "y": np.array(["a"] * 4)}, r"y must hold non-negative integer labels"),
    ({"x": np.zeros((4, 1, 2, 2)), "y": np.zeros(4, int), "x_test": np.zeros((0, 1, 2, 2)),
      "y_test": np.zeros(0, int)}, r"x_test holds no samples"),
])
def test_npz_content_that_is_not_data_is_named(tmp_path, arrays, msg):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=r"npz: .*bad\.npz: " + msg):
        get_dataset("npz", str(tmp_path / "bad.npz"))


def test_npz_huge_label_is_rejected_without_allocating(tmp_path):
    np.savez(tmp_path / "big.npz", x=np.zeros((4, 1, 2, 2), np.uint8), y=np.array([0, 1, 0, 10**9]))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"big\.npz: y holds label 1000000000; labels must be below 100,000"):
        get_dataset("npz", str(tmp_path / "big.npz"))
    assert time.perf_counter() - t0 < 5.0


def test_npz_not_a_zip_is_named(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"\xff\xfe not a zip")
    with pytest.raises(DataError, match=r"npz: cannot read .*junk\.npz"):
        get_dataset("npz", str(tmp_path / "junk.npz"))


def test_data_dir_with_a_tilde_is_the_users_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    fake_cifar10(tmp_path / "data")
    assert len(get_dataset("cifar10", "~/data", test_per_class=1).test) == 4
