"""Successive halving (SPEC 4.2): its split never touches the test set, its rounds, its pick, its resume."""
from __future__ import annotations

import json

import numpy as np
import pytest

from msenas.config import ConfigError
from msenas.data import get_dataset
from msenas.data.splits import labels_of
from msenas.genome import get_space, sample
from msenas.search.config import load_config
from msenas.search.halving import HalvingConfig, split_for_halving, successive_halving
from msenas.search.run import run_search


@pytest.fixture(scope="module")
def digits():
    return get_dataset("digits", T=2, seed=0, size=8, train_per_class=24, test_per_class=4)


def test_the_validation_split_is_carved_from_the_train_split_class_by_class(digits):
    split = split_for_halving(digits, 0.25, seed=3)
    train_idx, val_idx = split.train.indices, split.test.indices
    assert len(set(train_idx) & set(val_idx)) == 0
    assert len(train_idx) + len(val_idx) == len(digits.train)            # the test split is not used at all
    y = labels_of(digits.train)
    for c in np.unique(y):
        n = int((y == c).sum())
        assert abs(int((y[val_idx] == c).sum()) - 0.25 * n) <= 1


def test_config_names_a_bad_field():
    with pytest.raises(ConfigError, match=r"search\.halving\.k: must be 0 \(off\) or in \[2, 64\]"):
        load_config(None, ["search.halving.k=1"])
    assert HalvingConfig(k=4).rounds() == 2 and HalvingConfig(k=5).rounds() == 3


def test_halving_keeps_the_better_half_each_round_and_a_second_call_retrains_nothing(digits, tmp_path):
    rng = np.random.default_rng(0)
    genomes = [sample(get_space("tiny"), rng) for _ in range(3)]
    cfg = HalvingConfig(k=3, epochs=1, val_fraction=0.25, batch_size=32)
    h = successive_halving(genomes, digits, cfg, T=2, seed=0, out_dir=tmp_path)
    assert [r["epochs"] for r in h["rounds"]] == [1, 2]                  # 3 -> 2 -> 1, epochs doubling
    first, second = h["rounds"]
    scores = first["val_acc"]
    kept = sorted(scores, key=lambda k: -scores[k])[:2]
    assert sorted(first["kept"]) == sorted(kept) and set(second["val_acc"]) == set(kept)
    assert h["key"] == max(second["val_acc"], key=second["val_acc"].get)
    assert h["cpu_s"] > 0 and h["split"]["validation"] > 0
    stamp = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("weights.pt")}
    again = successive_halving(genomes, digits, cfg, T=2, seed=0, out_dir=tmp_path)
    assert again["key"] == h["key"] and again["rounds"] == h["rounds"]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("weights.pt")} == stamp


def test_a_search_with_halving_on_writes_its_pick(tmp_path):
    from msenas.search.halving import halve_run

    cfg = load_config(None, ['space="tiny"', "data.options.size=8", "search.workers=0", "search.population=4",
                             "search.generations=1", "fitness.calibration=4", "fitness.steps=2", "fitness.T=2",
                             "fitness.per_class=2", "fitness.batch_size=8", "search.halving.k=2"])
    run_search(cfg, tmp_path / "run", progress=False)
    h = halve_run(tmp_path / "run", progress=False)
    pick = json.loads((tmp_path / "run" / "pick.json").read_text())
    assert pick["key"] == h["key"] and len(h["candidates"]) == 2 and len(h["rounds"]) == 1
