"""A genome file's recorded input (dataset, in_shape): train, transfer, inspect and train_genome use it by default
and say in one line when they change it; files without it keep the old defaults."""
from __future__ import annotations

import json
import warnings

import pytest
from test_train import small_genome

import msenas
from msenas.cli import main
from msenas.genome import save

QUICK = ["--epochs", "1", "--quiet", "--set", "max_train_batches=1", "--set", "batch_size=32"]


@pytest.fixture()
def searched_at_8(tmp_path):
    """A genome file as export writes it: searched on digits at 8x8."""
    return save(small_genome(), tmp_path / "g8.json", dataset="digits", in_shape=[1, 8, 8], n_classes=10)


def _trained_shape(out) -> list:
    return json.loads((out / "config.json").read_text())["in_shape"]


def test_train_uses_the_files_dataset_and_size_and_says_when_a_run_changes_them(searched_at_8, tmp_path, capsys):
    assert main(["train", str(searched_at_8), "--out", str(tmp_path / "a"), *QUICK]) == 0
    assert _trained_shape(tmp_path / "a") == [1, 8, 8]
    assert "genome file records" not in capsys.readouterr().err

    assert main(["train", str(searched_at_8), "--dataset", "digits", "--out", str(tmp_path / "b"), *QUICK]) == 0
    assert _trained_shape(tmp_path / "b") == [1, 8, 8]              # same dataset named: still the file's size

    assert main(["train", str(searched_at_8), "--set", "data.size=16", "--out", str(tmp_path / "c"), *QUICK]) == 0
    assert _trained_shape(tmp_path / "c") == [1, 16, 16]
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["genome file records input [1, 8, 8] (digits); training at [1, 16, 16] (digits)"]

    assert main(["train", str(searched_at_8), "--dataset", "digits-dvs", "--out", str(tmp_path / "d"), *QUICK]) == 0
    assert capsys.readouterr().err.strip() == ("genome file records input [1, 8, 8] (digits); "
                                               "training at [2, 16, 16] (digits-dvs)")


def test_a_genome_file_without_a_recorded_input_trains_as_before(tmp_path, capsys):
    plain = save(small_genome(), tmp_path / "g.json")
    assert main(["train", str(plain), "--out", str(tmp_path / "r"), *QUICK]) == 0
    assert _trained_shape(tmp_path / "r") == [1, 16, 16]              # digits at its default size
    assert capsys.readouterr().err == ""


def test_transfer_to_the_files_own_dataset_keeps_its_size(searched_at_8, tmp_path, capsys):
    assert main(["transfer", str(searched_at_8), "--to", "digits", "--out", str(tmp_path / "t"), *QUICK]) == 0
    assert _trained_shape(tmp_path / "t") == [1, 8, 8]
    assert "transfer: digits input (1, 8, 8), 10 classes -> digits input (1, 8, 8)" in capsys.readouterr().out


def test_an_unknown_recorded_dataset_asks_for_one_in_one_line(tmp_path, capsys):
    g = save(small_genome(), tmp_path / "g.json", dataset="imagenet", in_shape=[3, 8, 8])
    assert main(["train", str(g), "--out", str(tmp_path / "r"), *QUICK]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "records dataset 'imagenet', not a known one; give --dataset" in err


def test_inspect_costs_the_files_input_by_default_and_notes_another(searched_at_8, tmp_path, capsys):
    assert main(["inspect", str(searched_at_8)]) == 0
    out = capsys.readouterr()
    assert "costs for input (1, 8, 8), 10 classes, T=4" in out.out and out.err == ""

    assert main(["inspect", str(searched_at_8), "--in-shape", "1,16,16"]) == 0
    out = capsys.readouterr()
    assert "costs for input (1, 16, 16)" in out.out
    assert out.err.strip() == "genome file records input [1, 8, 8] (digits); costs below for [1, 16, 16]"

    cifar = save(small_genome(), tmp_path / "c.json", dataset="cifar100", in_shape=[3, 32, 32], n_classes=100)
    assert main(["inspect", str(cifar)]) == 0
    assert "costs for input (3, 32, 32), 100 classes" in capsys.readouterr().out

    plain = save(small_genome(), tmp_path / "p.json", in_shape=["a", 8, 8], n_classes=True)   # malformed: ignored
    assert main(["inspect", str(plain)]) == 0
    assert "costs for input (1, 16, 16), 10 classes" in capsys.readouterr().out


def test_train_genome_api_takes_a_file_and_warns_when_the_input_changes(searched_at_8, tmp_path):
    cfg = msenas.TrainConfig(epochs=1, max_train_batches=1, batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        msenas.train_genome(searched_at_8, cfg=cfg, out_dir=tmp_path / "a", progress=False)
    assert _trained_shape(tmp_path / "a") == [1, 8, 8]
    with pytest.warns(UserWarning, match=r"records input \[1, 8, 8\] \(digits\); training at \[1, 16, 16\]"):
        msenas.train_genome(searched_at_8, msenas.DataConfig("digits"), cfg, tmp_path / "b", progress=False)
    assert _trained_shape(tmp_path / "b") == [1, 16, 16]
