"""experiments/search_vs_random.py: one real seed end to end at a tiny budget, and its report arithmetic."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import search_vs_random as svr  # noqa: E402

ARMS = ("ga", "random", svr.ONE_RANDOM)


def _seed(seed: int, evo: list[float], rf: list[float], r: list[float], fits=(0.9, 0.8, 0.1)) -> dict:
    arms = dict(zip(ARMS, ((evo, fits[0]), (rf, fits[1]), (r, fits[2]))))
    return {"seed": seed, "evaluations": 10 + seed,
            "arms": {a: {"key": a, "fitness": f, "test_acc": acc, "params": None} for a, (acc, f) in arms.items()}}


def test_summary_pairs_arms_by_search_seed():
    sm = svr.summarise([_seed(0, [0.9, 0.8], [0.8, 0.8], [0.5, 0.3]),
                        _seed(1, [0.7, 0.7], [0.8, 0.8], [0.4, 0.4], fits=(0.5, 0.7, 0.2))])
    assert sm["arms"]["ga"]["acc"] == pytest.approx([0.85, 0.7]) and sm["reference"] == "ga"
    d = sm["reference_minus"]["random"]
    assert d["acc"] == pytest.approx([0.05, -0.1]) and d["acc_mean"] == pytest.approx(-0.025)
    assert d["wins"] == 1 and d["ties"] == 0
    assert d["fitness"] == pytest.approx([0.1, -0.2])
    assert sm["reference_minus"][svr.ONE_RANDOM]["wins"] == 2


def test_summary_leaves_a_dead_genomes_sentinel_fitness_out_of_the_means():
    sm = svr.summarise([_seed(0, [0.9, 0.8], [0.8, 0.8], [0.1, 0.1], fits=(0.9, 0.8, -1.0e9)),
                        _seed(1, [0.7, 0.7], [0.8, 0.8], [0.4, 0.4], fits=(0.5, 0.7, 0.3))])
    one = sm["arms"][svr.ONE_RANDOM]
    assert np.isnan(one["fitness"][0]) and one["fitness_mean"] == pytest.approx(0.3)
    d = sm["reference_minus"][svr.ONE_RANDOM]
    assert np.isnan(d["fitness"][0]) and d["fitness_mean"] == pytest.approx(0.2)
    assert d["acc_mean"] == pytest.approx(0.525)              # its accuracy still counts (a dead net scores chance)


def test_one_seed_end_to_end_resumes_and_reports(tmp_path):
    out = tmp_path / "svr"
    cmd = [sys.executable, str(ROOT / "experiments" / "search_vs_random.py"), "run",
           "--config", str(ROOT / "experiments" / "digits.toml"),
           "--set", "search.population=4", "--set", "search.generations=1", "--set", "fitness.calibration=6",
           "--seeds", "0", "--train-seeds", "0", "--epochs", "1", "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    res = json.loads((out / "seed_0.json").read_text())
    log = [json.loads(x) for x in (out / "run_0_ga" / "generations.jsonl").read_text().splitlines()]
    assert res["evaluations"] == sum(g["evaluations"] for g in log) > 0
    assert res["evaluations_per_strategy"] == {"ga": res["evaluations"], "random": res["evaluations"]}  # equal budgets
    best = json.loads((out / "run_0_ga" / "hall_of_fame.json").read_text())[0]
    arms = res["arms"]
    assert arms["ga"]["key"] == best["key"] and arms["ga"]["fitness"] == best["fitness"]
    assert arms["random"]["fitness"] >= arms[svr.ONE_RANDOM]["fitness"]  # the best of E includes the first
    assert all(len(a["test_acc"]) == 1 and 0.0 <= a["test_acc"][0] <= 1.0 for a in arms.values())
    before = (out / "seed_0.json").stat().st_mtime_ns
    subprocess.run(cmd, check=True, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert (out / "seed_0.json").stat().st_mtime_ns == before  # resumed: nothing redone
    rep = subprocess.run([sys.executable, str(ROOT / "experiments" / "search_vs_random.py"), "report", str(out)],
                         check=True, capture_output=True, text=True)
    assert "| random |" in rep.stdout and "ga minus" in rep.stdout
    sm = json.loads((out / "summary.json").read_text())
    diff = sm["reference_minus"]["random"]["acc"][0]
    assert diff == pytest.approx(arms["ga"]["test_acc"][0] - arms["random"]["test_acc"][0])
    assert np.isfinite(sm["arms"][svr.ONE_RANDOM]["fitness_mean"])
