"""Results as tables (msenas results, msenas.results) and the public Python API."""
import csv
import importlib
import json
import subprocess
import sys

import pytest

import msenas
from msenas.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("results") / "run"
    cfg = msenas.load_config(None, ["search.workers=0", "search.population=4", "search.generations=2",
                                    'fitness.proxy="log_params"', "fitness.per_class=2"])
    msenas.run_search(cfg, run, progress=False)
    return run


def test_every_evaluation_is_a_row_readable_outside_the_checkpoint(run_dir, tmp_path, capsys):
    rows = msenas.results(run_dir)
    state = json.loads((run_dir / "checkpoint.json").read_text())["payload"]
    assert [r["n"] for r in rows] == list(range(1, state["evaluations"] + 1))
    assert {r["key"] for r in rows} == set(state["cache"])
    healthy = [r for r in rows if not r["dead"] and not r["error"]]
    assert healthy and all(r["fitness"] == r["proxy.log_params"] > 0 for r in healthy)
    assert main(["results", str(run_dir), "--csv", str(tmp_path / "e.csv")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:3] == ["n", "gen", "key"] and len(printed) == len(rows) + 2
    with open(tmp_path / "e.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) and float(table[0]["fitness"]) == pytest.approx(rows[0]["fitness"])


def test_the_hall_of_fame_as_a_table_sorted_best_first(run_dir, capsys):
    hof = msenas.results(run_dir, "hall_of_fame")
    assert [r["rank"] for r in hof] == list(range(1, len(hof) + 1))
    assert [r["fitness"] for r in hof] == sorted((r["fitness"] for r in hof), reverse=True)
    assert main(["results", str(run_dir), "--from", "hall_of_fame", "--top", "2", "--columns", "rank,fitness"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_a_training_history_is_a_table_with_the_learning_rate(run_dir, tmp_path):
    genome = msenas.load_genome(run_dir / "best.json")
    ds = msenas.DataConfig("digits", options={"size": 8}).build(4)
    msenas.train_genome(genome, ds, msenas.TrainConfig(epochs=2, max_train_batches=2), tmp_path / "res", progress=False)
    rows = msenas.results(tmp_path / "res")
    assert [r["epoch"] for r in rows] == [1, 2] and all(r["lr"] > 0 for r in rows)
    assert "spikes_per_cell[0]" in rows[0]


def test_bad_requests_are_one_line_errors(run_dir, tmp_path, capsys):
    assert main(["results", str(tmp_path)]) == 2
    assert main(["results", str(run_dir), "--sort", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no column 'nope'" in err[1]


def test_import_msenas_is_light_and_names_load_on_use():
    code = ("import sys, msenas; print(msenas.__version__); "
            "print(any(m.startswith(('torch', 'ray')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False" and out[0] == msenas.__version__
    assert callable(msenas.build_network) and callable(msenas.run_darts) and "train_genome" in dir(msenas)
    with pytest.raises(AttributeError):
        msenas.no_such_name  # noqa: B018
    importlib.import_module("msenas.train")                        # the subpackage does not shadow an API name
    assert callable(msenas.train_genome) and not callable(msenas.train)
