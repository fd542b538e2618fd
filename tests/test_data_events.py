"""Event datasets: ten real N-MNIST recordings (tests/data/nmnist), bad files, layout recognition, the frame cache."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_data import _events_file, fake_gesture, nmnist_bin

from msenas.data import DATASETS, DataError, default_workers, get_dataset, labels_of, make_loader
from msenas.data.event_files import EVENT_SOURCES
from msenas.data.nmnist import read_bin
from msenas.data.recognise import DATASET_FOLDERS, recognised

REAL = Path(__file__).parent / "data" / "nmnist"
INDEX = list(csv.DictReader((REAL / "index.csv").read_text().splitlines()))


@pytest.fixture()
def real_copy(tmp_path) -> Path:
    """A writable copy of the ten real recordings (root holding NMNIST/)."""
    shutil.copytree(REAL / "NMNIST", tmp_path / "NMNIST")
    return tmp_path

# ----------------------------------------------------------------------------- real recordings


@pytest.mark.parametrize("row", INDEX, ids=[r["path"] for r in INDEX])
def test_real_nmnist_file_decodes_to_its_indexed_events(row):
    ev = read_bin(REAL / row["path"])
    assert len(ev.t) == int(row["n_events"]) == (REAL / row["path"]).stat().st_size // 5
    assert (int(ev.t.min()), int(ev.t.max())) == (int(row["t_min_us"]), int(row["t_max_us"]))
    assert np.all(np.diff(ev.t) >= 0)  # time-ordered
    assert 0 <= ev.x.min() and ev.x.max() <= 33 and 0 <= ev.y.min() and ev.y.max() <= 33
    assert set(np.unique(ev.p).astype(int)) == {0, 1}
    assert ev.x.max() - ev.x.min() >= 15  # a digit, not a speck: events span much of the 34x34 sensor


def test_real_nmnist_splits_labels_and_frames():
    ds = get_dataset("nmnist", str(REAL), T=5)
    assert ds.info.in_shape == (2, 34, 34) and ds.info.n_classes == 10 and ds.info.event
    for split, name in ((ds.train, "train"), (ds.test, "test")):
        rows = {r["path"]: r for r in INDEX if r["split"] == name}
        assert len(split) == len(rows)
        for i, f in enumerate(split.files):
            row = rows[f.relative_to(REAL).as_posix()]
            x, y = split[i]
            n = int(row["n_events"])
            assert y == int(row["label"]) == int(f.parent.name)
            assert x.shape == (5, 2, 34, 34) and x.dtype == torch.float32
            per_slice = x.sum(dim=(1, 2, 3)).tolist()  # split by number, remainder in the last slice
            assert per_slice == [n // 5] * 4 + [n - 4 * (n // 5)]
            ev = read_bin(f)
            assert float(x[:, 1].sum()) == int(ev.p.sum()) and float(x[:, 0].sum()) == n - int(ev.p.sum())
            assert x[0, int(ev.p[0]), int(ev.y[0]), int(ev.x[0])] >= 1  # first event lands in slice 0


def test_real_nmnist_frames_show_the_digit_shape():
    ds = get_dataset("nmnist", str(REAL), T=2)
    img = {y: x.sum(dim=(0, 1)) for x, y in (ds.train[i] for i in range(len(ds.train)))}  # [34, 34] per digit
    width = {d: int((im.sum(0) > im.sum(0).max() * 0.2).sum()) for d, im in img.items()}  # active columns
    assert width[1] < width[0] and width[1] < width[2]  # a "1" is narrower than a "0" or a "2"
    ys, xs = torch.meshgrid(torch.arange(34.0), torch.arange(34.0), indexing="ij")
    for im in img.values():  # digits are centred on the 34x34 sensor (28x28 MNIST plus saccade margin)
        cy, cx = float((im * ys).sum() / im.sum()), float((im * xs).sum() / im.sum())
        assert 12 < cy < 22 and 12 < cx < 22


def test_real_nmnist_frames_agree_with_tonic_to_frame_except_the_remainder():
    from tonic.io import events_struct, read_mnist_file
    from tonic.transforms import ToFrame

    ds = get_dataset("nmnist", str(REAL), T=4)
    to_frame = ToFrame(sensor_size=(34, 34, 2), n_event_bins=4)
    for i, f in enumerate(ds.train.files):
        theirs = to_frame(read_mnist_file(str(f), dtype=events_struct))  # drops the n % T last events
        ours = ds.train[i][0].numpy()
        assert np.array_equal(ours[:3], theirs[:3])
        assert ours[3].sum() - theirs[3].sum() == len(read_bin(f).t) % 4


@pytest.mark.parametrize("where", [".", "NMNIST", "NMNIST/Train", "NMNIST/Test"])
def test_nmnist_accepts_the_root_the_nmnist_folder_or_a_split_folder(where):
    ds = get_dataset("nmnist", str(REAL / where), T=2)
    assert (len(ds.train), len(ds.test)) == (6, 4)


def test_nmnist_size_sum_pools_exactly_or_resizes():
    full = get_dataset("nmnist", str(REAL), T=3)
    half = get_dataset("nmnist", str(REAL), T=3, size=17)
    odd = get_dataset("nmnist", str(REAL), T=3, size=16)
    x = full.train[2][0]
    assert half.info.in_shape == (2, 17, 17) and half.train.pool == 2
    assert torch.allclose(half.train[2][0], F.interpolate(x, size=(17, 17), mode="area"))
    assert half.train.cache[2].dtype == np.uint8  # cached as integer sums
    assert odd.train.pool == 1 and torch.allclose(odd.train[2][0], F.interpolate(x, size=(16, 16), mode="area"))

# ----------------------------------------------------------------------------- bad files and layouts


def test_truncated_bin_is_named(real_copy):
    f = real_copy / "NMNIST" / "Train" / "4" / "00003.bin"
    f.write_bytes(f.read_bytes()[:-2])
    with pytest.raises(DataError, match=r"nmnist: .*Train/4/00003\.bin is truncated: \d+ bytes is not a multiple of 5"):
        get_dataset("nmnist", str(real_copy))


def test_events_off_the_sensor_are_named(real_copy):
    f = real_copy / "NMNIST" / "Train" / "5" / "00001.bin"
    f.write_bytes(nmnist_bin(np.array([3, 40]), np.array([5, 6]), np.array([0, 1]), np.array([10, 20])))
    ds = get_dataset("nmnist", str(real_copy))  # the build reads the first file only; others when first used
    i = [f.name for f in ds.train.files].index("00001.bin")
    with pytest.raises(DataError,
                       match=r"nmnist: .*Train/5/00001\.bin has events at x 3\.\.40, y 5\.\.6, off the 34x34 sensor"):
        ds.train[i]


def test_empty_bin_and_empty_class_folder_are_named(real_copy):
    (real_copy / "NMNIST" / "Test" / "3").mkdir()
    with pytest.raises(DataError, match=r"nmnist: class folder .*Test/3 holds no \*\.bin files"):
        get_dataset("nmnist", str(real_copy))
    (real_copy / "NMNIST" / "Test" / "3").rmdir()
    (real_copy / "NMNIST" / "Train" / "0" / "00002.bin").write_bytes(b"")  # the first train file: read at build
    with pytest.raises(DataError, match=r"cannot read .*Train/0/00002\.bin \(the file holds no events"):
        get_dataset("nmnist", str(real_copy))


def test_wrong_nmnist_layouts(real_copy):
    (real_copy / "NMNIST" / "Train" / "10").mkdir()
    with pytest.raises(DataError, match=r"label folder .*Train/10 is not 0\.\.9"):
        get_dataset("nmnist", str(real_copy))
    shutil.rmtree(real_copy / "NMNIST" / "Train")
    with pytest.raises(DataError, match=r"nmnist: no Train folder in .*NMNIST"):
        get_dataset("nmnist", str(real_copy))
    (real_copy / "elsewhere").mkdir()
    with pytest.raises(DataError, match=r"nmnist: no NMNIST/\{Train,Test\}, events_np or frames_number_4"):
        get_dataset("nmnist", str(real_copy / "elsewhere"))
    with pytest.raises(DataError, match=r"nmnist: .*nowhere is not a folder"):
        get_dataset("nmnist", str(real_copy / "nowhere"))
    with pytest.raises(DataError, match="nmnist: data_dir is required"):
        get_dataset("nmnist")


def test_another_datasets_folder_is_recognised_not_assumed(tmp_path):
    with pytest.raises(DataError, match=r"dvsgesture: no .* this folder looks like N-MNIST .*use --dataset nmnist"):
        get_dataset("dvsgesture", str(REAL))
    with pytest.raises(DataError, match=r"cifar10dvs: no .* this folder looks like N-MNIST .*use --dataset nmnist"):
        get_dataset("cifar10dvs", str(REAL))
    fake_gesture(tmp_path / "gesture")
    with pytest.raises(DataError, match=r"nmnist: .*this folder looks like DVS128 Gesture.*use --dataset dvsgesture"):
        get_dataset("nmnist", str(tmp_path / "gesture"))


def test_cifar_and_event_readers_name_each_others_folders(tmp_path):
    from test_data import fake_cifar10, fake_cifar100

    c10, c100 = fake_cifar10(tmp_path / "c10"), fake_cifar100(tmp_path / "c100")
    with pytest.raises(DataError, match=r"cifar10: no cifar-10-batches-py under .*nmnist .*; this folder looks like "
                                        r"N-MNIST \(.*\): use --dataset nmnist$"):
        get_dataset("cifar10", str(REAL))
    with pytest.raises(DataError, match=r"cifar10: no .*; this folder looks like CIFAR-100 .*use --dataset cifar100$"):
        get_dataset("cifar10", str(c100))
    with pytest.raises(DataError, match=r"cifar100: no .*; this folder looks like CIFAR-10 .*use --dataset cifar10$"):
        get_dataset("cifar100", str(c10 / "cifar-10-batches-py"))
    for name in ("nmnist", "dvsgesture", "cifar10dvs"):
        with pytest.raises(DataError, match=rf"{name}: no .*; this folder looks like CIFAR-10 .*--dataset cifar10$"):
            get_dataset(name, str(c10))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as e:
        get_dataset("cifar10", str(tmp_path / "empty"))
    assert "looks like" not in str(e.value)


@pytest.mark.parametrize("name", DATASET_FOLDERS.names())
def test_every_folder_kind_is_a_dataset_that_recognises_its_own_fake_folder_only(name, tmp_path):
    from test_data import fake_cifar10, fake_cifar100

    fakes = {"cifar10": fake_cifar10, "cifar100": fake_cifar100}
    assert name in DATASETS and name in fakes
    folder = fakes[name](tmp_path / name)
    assert [n for n, kind in DATASET_FOLDERS.items() if kind.holds(folder)] == [name]
    assert not DATASET_FOLDERS.get(name).holds(tmp_path / "absent") and not DATASET_FOLDERS.get(name).holds(REAL)
    kind = DATASET_FOLDERS.get(name)
    assert recognised(folder, 4, "nmnist") == [(name, kind.title, kind.describe)]


def test_a_wrong_folder_is_a_one_line_exit_2_naming_the_dataset_it_looks_like(tmp_path, capsys):
    from msenas.cli import main

    rc = main(["train", str(Path(__file__).parents[1] / "experiments" / "genomes" / "demo_best.json"),
               "--dataset", "dvsgesture", "--data-dir", str(REAL), "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("msenas train: error: dvsgesture: no ") and str(REAL) in err
    assert err.strip().endswith("looks like N-MNIST (<root>/NMNIST/{Train,Test}/<digit 0..9>/<nnnnn>.bin "
                                "(5 bytes per event)): use --dataset nmnist")


def test_spikingjelly_nmnist_tree_read_as_dvsgesture_is_refused(tmp_path):
    """spikingjelly writes N-MNIST and DVS128 Gesture as the same tree: the recordings' extent tells them apart."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in range(10):
            ev = {"t": np.arange(50), "x": rng.integers(0, 34, 50), "y": rng.integers(0, 34, 50),
                  "p": rng.integers(0, 2, 50)}
            path = tmp_path / "events_np" / split / str(label) / "0.npz"
            path.parent.mkdir(parents=True)
            np.savez(path, **ev)
    with pytest.raises(DataError, match=r"dvsgesture: the events of .* span only 34x34 pixels of the 128x128 sensor; "
                                        r"this folder looks like N-MNIST \(34x34\): use --dataset nmnist"):
        get_dataset("dvsgesture", str(tmp_path))
    ds = get_dataset("nmnist", str(tmp_path), T=2)  # the same tree is a valid nmnist folder
    assert ds.info.in_shape == (2, 34, 34) and len(ds.train) == 10


def test_every_event_source_is_a_registered_dataset():
    from msenas.data import DATASETS

    for name in EVENT_SOURCES:
        src = EVENT_SOURCES.get(name)
        assert name in DATASETS and src.layouts and min(src.sensor) > 0

# ----------------------------------------------------------------------------- the frame cache


def test_frames_files_that_are_not_counts_stay_float(tmp_path):
    from msenas.data.frames import compact

    assert compact(np.array([0.0, 3.0, 300.0])).dtype == np.uint16
    assert compact(np.array([0.5, 3.0])).tolist() == [0.5, 3.0] and compact(np.array([-1.0])).tolist() == [-1.0]
    f = tmp_path / "frames_number_2_split_by_number" / "train" / "1" / "a.npz"
    f.parent.mkdir(parents=True)
    np.savez(f, frames=np.full((2, 2, 34, 34), 0.25, np.float32))
    shutil.copytree(f.parent.parent, tmp_path / "frames_number_2_split_by_number" / "test")
    ds = get_dataset("nmnist", str(tmp_path), T=2)
    assert torch.equal(ds.train[0][0], torch.full((2, 2, 34, 34), 0.25))


def test_event_files_are_read_once_then_served_from_the_cache(real_copy):
    ds = get_dataset("nmnist", str(real_copy), T=3)
    first = [ds.test[i][0] for i in range(len(ds.test))]
    shutil.rmtree(real_copy / "NMNIST" / "Test")  # the files are gone: the cache still serves them
    again = [ds.test[i][0] for i in range(len(ds.test))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    again[0].fill_(-1)  # an item is a copy, not a view of the cache
    assert torch.equal(ds.test[0][0], first[0])
    assert all(c.dtype == np.uint8 for c in ds.test.cache.values())


def test_cache_false_reads_every_time(real_copy):
    ds = get_dataset("nmnist", str(real_copy), T=3, cache=False)
    _ = ds.test[0]
    shutil.rmtree(real_copy / "NMNIST" / "Test")
    with pytest.raises(DataError, match="cannot read"):
        ds.test[0]
    with pytest.raises(DataError, match="option cache must be true or false"):
        get_dataset("nmnist", str(REAL), cache="yes")


def test_loader_workers_warm_the_cache_and_give_the_same_batches(tmp_path):
    fake_gesture(tmp_path, n_train=2, n_test=1)
    ds = get_dataset("dvsgesture", str(tmp_path), T=2, size=32)
    serial = [(x.clone(), y.clone()) for x, y in make_loader(ds.train, 5, True, seed=3, workers=0)]
    fresh = get_dataset("dvsgesture", str(tmp_path), T=2, size=32)
    parallel = list(make_loader(fresh.train, 5, True, seed=3, workers=2))
    assert len(fresh.train.cache) == len(fresh.train)  # integrated once, in this process, before workers start
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(serial, parallel))


def test_loader_workers_augment_reproducibly_from_the_seed(tmp_path):
    from test_data import fake_cifar10

    ds = get_dataset("cifar10", str(fake_cifar10(tmp_path, rows=8)), seed=0)
    runs = [[x for x, _ in make_loader(ds.train, 8, True, seed=s, workers=2)] for s in (5, 5, 6)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))  # same seed, same crops and flips
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], runs[2]))


def test_default_loader_is_single_process_and_unpinned_on_cpu():
    assert default_workers("cpu") == 0
    if not torch.cuda.is_available():
        assert default_workers(None) == 0
        loader = make_loader(get_dataset("digits", size=8).train, 4, True, seed=0)
        assert loader.num_workers == 0 and not loader.pin_memory


def test_cifar10dvs_and_gesture_events_np_still_read(tmp_path):
    _events_file(tmp_path / "x.npz", np.random.default_rng(0))  # the shared fake writer still works
    fake_gesture(tmp_path / "g")
    ds = get_dataset("dvsgesture", str(tmp_path / "g" / "events_np"), T=2, size=64)
    assert ds.train.pool == 2 and ds.train[0][0].shape == (2, 2, 64, 64)
    assert sorted(set(labels_of(ds.test).tolist())) == list(range(11))
