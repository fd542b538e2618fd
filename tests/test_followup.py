"""--train-top: the best genome against live random genomes and a published network of the same budget."""
from __future__ import annotations

from msenas.search.config import load_config
from msenas.search.followup import N_RANDOM, median_random, train_top, verdict
from msenas.search.run import run_search


def test_train_top_trains_the_best_three_live_random_genomes_and_a_zoo_network_within_the_budget(tmp_path):
    limit = 12_000
    cfg = load_config(None, ['space="tiny"', "data.options.size=8", "data.options.train_per_class=16",
                             "data.options.test_per_class=4", "search.workers=0", "search.population=4",
                             "search.generations=1", "fitness.calibration=4", "fitness.steps=2", "fitness.T=2",
                             "fitness.per_class=2", "fitness.batch_size=8", f"search.budget.params={limit}"])
    run_search(cfg, tmp_path / "run", progress=False)
    rows = train_top(tmp_path / "run", k=1, epochs=1, progress=False)
    names = [r["network"].split(" ")[0] for r in rows]
    assert names == ["best-01", *[f"random-{i}" for i in range(1, N_RANDOM + 1)], "zoo:plif-cifar10net"]
    assert all(r["params"] <= limit for r in rows)                  # every network within the run's budget
    assert median_random(rows)["test_acc"] == sorted(r["test_acc"] for r in rows[1:4])[1]
    line = verdict(rows, 1)
    assert "median of 3 random genomes" in line and "zoo:plif-cifar10net" in line
    again = train_top(tmp_path / "run", k=1, epochs=1, progress=False)     # finished trainings are read back
    assert [r["test_acc"] for r in again] == [r["test_acc"] for r in rows]
