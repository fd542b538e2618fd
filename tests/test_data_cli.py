"""Data options through the commands a user runs: search and train on a tiny CIFAR-10 folder, transfer to N-MNIST."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fuzz_corpus import search_toml
from test_data import fake_cifar10

from msenas.cli import main
from msenas.genome import get_space, io, sample

REAL_NMNIST = Path(__file__).parent / "data" / "nmnist"


def test_search_and_train_on_a_cifar10_folder_with_subset_and_size(tmp_path, capsys):
    data = fake_cifar10(tmp_path / "data", rows=6)  # 30 train, 6 test images in the python layout
    cfg = tmp_path / "c.toml"
    cfg.write_text(search_toml("cifar-subset", seed=1, data=f'dataset = "cifar10"\ndata_dir = "{data}"\n'
                               "options = { size = 8, train_per_class = 3, test_per_class = 1, augment = false }"))
    run = tmp_path / "run"
    assert main(["search", "--config", str(cfg), "--out", str(run), "--no-progress"]) == 0
    saved = json.loads((run / "config.json").read_text())["data"]
    assert saved["options"] == {"size": 8, "train_per_class": 3, "test_per_class": 1, "augment": False}
    assert json.loads((run / "hall_of_fame.json").read_text())  # scored genomes on 8x8 subsets
    best = run / "best.json"
    out = tmp_path / "result"
    assert main(["train", str(best), "--dataset", "cifar10", "--data-dir", str(data), "--epochs", "1",
                 "--set", "T=2", "--set", "batch_size=4", "--set", "max_train_batches=2", "--set", "data.size=8",
                 "--set", "data.train_per_class=2", "--set", "data.test_per_class=1", "--out", str(out),
                 "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["in_shape"] == [3, 8, 8]
    assert config["data"]["options"] == {"size": 8, "train_per_class": 2, "test_per_class": 1}
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert round(final["test_acc"] * 6) == final["test_acc"] * 6  # a fraction of the 6 kept test images (6 classes)


def test_transfer_to_real_nmnist_recordings(tmp_path, capsys):
    genome = tmp_path / "g.json"
    io.save(sample(get_space("tiny"), np.random.default_rng(0)), genome)
    out = tmp_path / "nm"
    assert main(["transfer", str(genome), "--to", "nmnist", "--data-dir", str(REAL_NMNIST / "NMNIST"), "--epochs", "1",
                 "--set", "T=2", "--set", "batch_size=3", "--set", "max_train_batches=1", "--set", "data.size=17",
                 "--out", str(out), "--quiet"]) == 0
    assert "nmnist input (2, 17, 17), 10 classes" in capsys.readouterr().out
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert final["spikes"] > 0 and 0.0 <= final["test_acc"] <= 1.0


def test_a_bad_data_option_is_one_line_exit_2(tmp_path, capsys):
    genome = tmp_path / "g.json"
    io.save(sample(get_space("tiny"), np.random.default_rng(0)), genome)
    code = main(["train", str(genome), "--dataset", "digits", "--set", "data.train_per_class=0", "--out",
                 str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "train_per_class must be a positive integer" in err[0]
