"""Every script of experiments/ runs its real main path at a tiny size (embedded digits, the ten N-MNIST files), so
a refactor cannot break one unnoticed; and the harness they share: options, items that resume, interleaved A/B.

Scripts are called through main(argv) in this process where they can be; what runs in a subprocess (the A/B
workers, budget_bench) runs as the benchmark itself would.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
sys.path.insert(0, str(EXPERIMENTS))
import harness  # noqa: E402

NMNIST = ROOT / "tests" / "data" / "nmnist"
TINY_SEARCH = ['space="tiny"', "data.options.size=8", "search.population=4", "search.generations=1",
               "fitness.calibration=4", "fitness.per_class=2", "fitness.T=2", "fitness.steps=2", "fitness.batch_size=8"]
ELSEWHERE = {"gpu_check": "test_gpu_check.py"}       # a script whose smoke test is in another file (of its helper)


def sets(items: list[str]) -> list[str]:
    return [a for item in items for a in ("--set", item)]


def test_experiments_is_a_small_set_and_every_script_has_a_smoke_test():
    scripts = sorted(p.stem for p in EXPERIMENTS.glob("*.py"))
    assert len(scripts) <= 12, scripts
    tests = [name for name in globals() if name.startswith("test_")]
    for script in set(scripts) - {"harness"}:      # a test here named after it, or a test file that imports it
        runs_it = any(t.startswith(f"test_{script}_") for t in tests) or (
            script in ELSEWHERE and f"import {script}" in (ROOT / "tests" / ELSEWHERE[script]).read_text())
        assert runs_it, f"experiments/{script}.py has no smoke test"


# ----------------------------------------------------------------------------- the harness


def test_options_are_toml_literals_and_a_bad_one_is_named():
    assert harness.options(["size=8", "augment=false", "lr=1e-3", "data_dir=/x/y", "name=a b"]) == {
        "size": 8, "augment": False, "lr": 0.001, "data_dir": "/x/y", "name": "a b"}
    with pytest.raises(SystemExit, match="option 'size': expected key=value"):
        harness.options(["size"])


def test_items_run_once_and_again_when_their_spec_changes(tmp_path):
    items, calls = harness.Items(tmp_path), []

    def work(v):
        calls.append(v)
        return {"v": v}

    first = items.get("a", lambda: work(1), spec={"n": 1}, quiet=True)
    assert items.get("a", lambda: work(2), spec={"n": 1}, quiet=True) == first and calls == [1]
    assert first["v"] == 1 and first["item_cpu_s"] >= 0 and first["finished"].endswith("UTC")
    assert items.get("a", lambda: work(3), spec={"n": 2}, quiet=True)["v"] == 3 and calls == [1, 3]
    assert [i["v"] for i in items.all()] == [3]


def test_ab_interleaves_round_by_round_each_side_on_its_own_tree_and_resumes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(f"import os, sys\nsys.path.insert(0, {str(EXPERIMENTS)!r})\nimport harness\n"
                      "harness.serve_worker(lambda spec: {'x2': 2 * spec['x'], 'path': os.environ['PYTHONPATH']})\n")
    other = tmp_path / "other"
    other.mkdir()
    sides = harness.trees(str(other))
    items = harness.Items(tmp_path / "out")
    done = harness.ab(script, items, [("a", {"x": 1}), ("b", {"x": 2})], sides, rounds=2)
    order = [(i["spec"]["round"], i["item"].split("-")[1], i["spec"]["tree"]) for i in done]
    assert order == [(r, n, t) for r in (0, 1) for n in "ab" for t in ("before", "after")]
    assert [i["x2"] for i in done[:4]] == [2, 2, 4, 4]
    assert {i["spec"]["tree"]: i["path"] for i in done} == {"before": str(other), "after": str(ROOT)}
    stamps = [i["finished"] for i in done]
    assert [i["finished"] for i in harness.ab(script, items, [("a", {"x": 1}), ("b", {"x": 2})], sides, 2)] == stamps


def test_table_and_emit_write_markdown_and_stamped_json(tmp_path, capsys):
    text = harness.table(["a", "b"], [(1, "x")], [True, False])
    assert text == "| a | b |\n| ---: | --- |\n| 1 | x |"
    harness.emit(text, md=tmp_path / "t.md", json_path=tmp_path / "t.json", data={"rows": [1]})
    assert capsys.readouterr().out.strip() == text and (tmp_path / "t.md").read_text() == text + "\n"
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["rows"] == [1] and {"date", "machine", "cpus", "commit", "command"} <= set(saved["stamp"])


# ----------------------------------------------------------------------------- the scripts


def test_bench_fitness_preset_proxies_modes_and_trees(tmp_path, capsys):
    import bench_fitness

    res = bench_fitness.main(["preset", "--config", str(EXPERIMENTS / "digits.toml"), *sets(TINY_SEARCH), "--n", "1"])
    assert len(res["wall_s"]) == 1 and res["cpu_s"][0] > 0
    assert "preset: about 12 genomes" in capsys.readouterr().out            # 4 + 4 x (1 + 1) genomes scored
    out = bench_fitness.main(["proxies", "--n", "1", "--option", "size=8", "--T", "2", "--per-class", "2"])
    assert out["proxies"]["log_params"]["extra_cpu_s"] == 0.0 and out["proxies"]["rdm"]["cpu_s"] > 0
    modes = bench_fitness.main(["modes", "--zero-cost-genomes", "2", "--few-step-genomes", "1", "--train-genomes",
                                "1", "--epochs", "1", "--rounds", "1", "--ray-workers", ""])
    assert {(r["mode"], r["fidelity"]) for r in modes["rows"]} == {    # Ray's pools: tests/test_fitness_ray.py
        ("serial (1 torch thread)", f) for f in ("zero-cost", "few-step")}
    assert modes["training"][0]["train_cpu_s"] > modes["training"][0]["zero_cost_cpu_s"] > 0
    med = bench_fitness.main(["trees", "--baseline", str(ROOT), "--n", "1", "--rounds", "1", "--option", "size=8",
                              "--out", str(tmp_path / "ab"), "--json", str(tmp_path / "ab.json")])
    assert set(med) == {"before", "after"} and all(v > 0 for v in med.values())
    assert len(list((tmp_path / "ab" / "items").glob("*.json"))) == 2


def test_bench_sim_ab_and_kernels(tmp_path):
    import bench_sim

    rows = bench_sim.main(["--baseline", str(ROOT), "--genomes", "demo-best", "--threads", "1", "--batch", "2",
                           "--repeats", "1", "--rounds", "1", "--out", str(tmp_path / "sim")])
    assert [r["impl"] for r in rows] == ["before", "after"] and all(r["train"] > 0 for r in rows)
    assert rows[1]["conv_share_train"] is not None
    ways = bench_sim.main(["--kernels", "--ways", "spikingjelly", "--rounds", "1"])   # (fused: a C build, slow)
    assert [w["way"] for w in ways] == ["spikingjelly"] and ways[0]["ms"] > 0 and ways[0]["first_s"] > 0


def test_bench_train_one_epoch_on_digits(tmp_path):
    import bench_train

    assert bench_train.main(["--datasets", "digits", "--epochs", "1", "--size", "8", "--set", "max_train_batches=2",
                             "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows"][0]["dataset"] == "digits" and 0 <= summary["rows"][0]["test_acc"] <= 1 and summary["stamp"]


def test_bench_darts_run_and_steps(tmp_path):
    import bench_darts

    small = ["--set", "n_cells=2", "--set", "channels=4", "--set", "n_nodes=2", "--set", "max_batches=2"]
    argv = ["run", "--attentions", "none", "--search-epochs", "1", "--train-epochs", "1", *small,
            "--train-set", "max_train_batches=2", "--out", str(tmp_path / "run")]
    rows = bench_darts.main(argv)
    assert rows[0]["attention"] == "none" and 0 <= rows[0]["test_acc"] <= 1
    assert bench_darts.main(argv)[0]["item_wall_s"] == rows[0]["item_wall_s"]        # resumed, not rerun
    steps = bench_darts.main(["steps", "--dataset", "digits", *small[:6], "--set", "T=2", "--set", "data.size=8",
                              "--threads", "1", "--steps", "2"])
    assert [(r["threads"], r["epoch"]) for r in steps] == [(1, 1), (1, 2)] and all(r["s_per_step_pair"] > 0
                                                                                   for r in steps)


def test_bench_async_real_serially_then_simulate_and_report(tmp_path, capsys):
    import bench_async

    bench_async.main(["real", "--config", str(EXPERIMENTS / "digits.toml"), "--workers", "0", *sets(TINY_SEARCH),
                      "--out", str(tmp_path)])
    real = json.loads((tmp_path / "real.json").read_text())
    assert real["async aging"]["evaluations"] == real["sync ga"]["evaluations"] and real["sync ga"]["busy"] > 0
    bench_async.main(["simulate", str(tmp_path), "--workers", "2", "4", "--evaluations", "20", "--population", "4"])
    bench_async.main(["report", str(tmp_path), "--md", str(tmp_path / "t.md")])
    assert "| 4 | async |" in (tmp_path / "t.md").read_text() and "sync ga" in capsys.readouterr().out


def test_bench_events_on_the_ten_nmnist_files(capsys):
    import bench_events

    bench_events.main(["--data-dir", str(NMNIST), "--T", "2"])
    out = capsys.readouterr().out
    assert "10 files, T=2" in out and "tonic and numpy decode the same events: 10/10" in out


def test_search_vs_random_e2e_and_its_report(tmp_path, capsys):
    import search_vs_random as svr

    argv = ["e2e", "--config", str(EXPERIMENTS / "digits.toml"), *sets([*TINY_SEARCH, "search.workers=0"]),
            "--datasets", "digits", "--option", "digits.size=8", "--epochs", "1", "--seeds", "0", "--workers", "0",
            "--out", str(tmp_path)]
    svr.main(argv)
    assert sorted(p.name for p in (tmp_path / "digits" / "s0").iterdir()) == ["baseline", "random", "searched"]
    svr.main(["e2e-report", str(tmp_path)])
    table = capsys.readouterr().out
    assert all(f"| digits | {n} (n=1) |" in table for n in ("searched", "random", "baseline"))


def _rank_folder(folder: Path, n: int = 12) -> None:
    """A finished rank benchmark folder of n genomes whose accuracy follows their probe loss (no training)."""
    rng = np.random.default_rng(0)
    (folder / "genomes").mkdir(parents=True)
    (folder / "setup.json").write_text(json.dumps({"space": "tiny", "seed": 0, "dataset": "digits", "options": {},
                                                   "train_seeds": [0, 1], "epochs": 1, "T": 2, "steps": 2,
                                                   "per_class": 2, "lr": 0.003, "fidelities": [], "n": n}))
    for i in range(n):
        acc = 0.2 + 0.05 * i + rng.normal(0, 0.01)
        proxies = {name: float(rng.normal()) for name in ("rdm", "sahd", "naswot", "grad_norm", "snip", "synflow",
                                                          "zico", "rdm_k", "probe_acc")}
        proxies.update(log_params=float(np.log(1000 + 100 * i)), probe_loss=-acc + rng.normal(0, 0.01))
        (folder / "genomes" / f"{i:03d}_k{i}.json").write_text(json.dumps({
            "index": i, "key": f"k{i}", "params": 1000 + 100 * i, "dead": False, "dead_init": False,
            "proxies": proxies, "seconds": {"zero-cost": 0.1, "few-step": 0.2}, "fidelities": {},
            "train": {s: {"test_acc": acc, "seconds": 1.0} for s in ("0", "1")}}))


def test_rank_correlation_report_and_bands_on_a_finished_folder(tmp_path, capsys):
    import rank_correlation

    _rank_folder(tmp_path / "tiny")
    rank_correlation.main(["report", str(tmp_path / "tiny"), "--md", str(tmp_path / "t.md")])
    analysis = json.loads((tmp_path / "tiny" / "analysis.json").read_text())["all"]
    assert analysis["n"] == 12 and analysis["table"]["probe_loss@2x64"]["tau"][0] < -0.5   # loss falls as acc rises
    rank_correlation.main(["bands", str(tmp_path / "tiny"), "--bands", "2", "--json", str(tmp_path / "b.json")])
    bands = json.loads((tmp_path / "b.json").read_text())["spaces"]["tiny"]
    assert bands["all"]["n"] == 12 and len(bands) == 3 and "Mean over the 2 bands" in capsys.readouterr().out


def _golden(root: Path, acc: float) -> Path:
    for sub in ("search", "train", "darts"):
        (root / sub).mkdir(parents=True)
    rec = {"key": "k", "proxies": {"rdm": 0.5}, "spikes": 3.0}
    (root / "search" / "hall_of_fame.json").write_text(json.dumps([{"key": "k", "fitness": 0.5, "record": rec}]))
    (root / "search" / "evaluations.jsonl").write_text(json.dumps({"record": rec}) + "\n")
    (root / "train" / "metrics.json").write_text(json.dumps({"history": [
        {"epoch": 1, "train_loss": 2.0, "test_acc": acc, "test_loss": 1.9, "spikes": 7.0}]}))
    genome = {"cells": [], "inputs": [], "reductions": [], "channels": 4}
    (root / "darts" / "genome.json").write_text(json.dumps(genome))
    (root / "darts" / "alphas.json").write_text(json.dumps({"ops": ["conv3x3"]}))
    return root


def test_agreement_golden_energy_and_nir(tmp_path, capsys):
    import agreement

    a, b, c = _golden(tmp_path / "a", 0.5), _golden(tmp_path / "b", 0.5), _golden(tmp_path / "c", 0.6)
    assert all(agreement.main(["golden", str(a), str(b)]).values())
    same = agreement.main(["golden", str(a), str(c)])
    assert not same["train: history"] and same["search: hall of fame"]
    assert "train: history: DIFFERENT" in capsys.readouterr().out
    counts = agreement.main(["energy", "--samples", "4"])
    assert counts["msenas"]["sops"] > 0 and counts["spikingjelly"]["macs"] > 0
    rows = agreement.main(["nir", "--spaces", "tiny", "--genomes", "1", "--batch", "2", "-T", "2"])
    assert [r["dtype"] for r in rows] == ["float32", "float64"] and rows[1]["class_agreement"] == 1.0


def test_budget_bench_small_runs_and_reports(tmp_path):
    script = str(EXPERIMENTS / "budget_bench.py")
    subprocess.run([sys.executable, script, "run", "--small", "--budget", "small", "--skip-extend",
                    "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")],
                   check=True, capture_output=True, text=True, cwd=ROOT, timeout=1200)
    assert len(list((tmp_path / "out" / "items").glob("*.json"))) > 5
    rep = subprocess.run([sys.executable, script, "report", str(tmp_path / "out")], check=True, capture_output=True,
                         text=True, cwd=ROOT, timeout=600)
    assert "small" in rep.stdout
