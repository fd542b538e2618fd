"""Budgets (SPEC 4.1): the config, Deb's feasibility rules in every strategy, sampling within a budget, the
engine's costs-first scoring, and what the records, tables and report show."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from deap import tools
from test_strategies import SPACE, CostEngine
from test_strategies import config as strategy_config

from msenas.config import ConfigError
from msenas.fitness.config import FitnessConfig
from msenas.fitness.engine import FitnessEngine, static_costs
from msenas.fitness.executors.serial import SerialEvaluator
from msenas.fitness.probe import make_probe
from msenas.genome import io, sample
from msenas.search import STRATEGIES
from msenas.search.budget import BudgetConfig, BudgetError, sample_within
from msenas.search.config import load_config
from msenas.search.run import run_search

COSTS = lambda g: static_costs(g, (1, 8, 8), 10, 4)   # noqa: E731 - the digits-8x8 input of `config`


def config(name: str, budget: dict | None = None, **search):
    """test_strategies' tiny run config, with a [search.budget] table."""
    cfg = strategy_config(name, **search)
    return cfg.replace(search=cfg.search.replace(budget=BudgetConfig(**(budget or {}))))


def params_quantile(q: float) -> int:
    rng = np.random.default_rng(0)
    return int(np.quantile([COSTS(sample(SPACE, rng))["params"] for _ in range(200)], q))


def test_budget_table_parses_from_toml_keys_and_overrides_and_names_a_bad_limit():
    cfg = load_config(None, ["search.budget.params=50000", "search.budget.energy_uj=1.5"])
    assert cfg.search.budget.limits() == {"params": 50000.0, "energy_uj": 1.5}
    assert not cfg.search.budget.static_only and BudgetConfig(params=1).static_only
    with pytest.raises(ConfigError, match=r"search\.budget\.sops: must be a number > 0"):
        load_config(None, ["search.budget.sops=0"])
    with pytest.raises(ConfigError, match=r"search\.budget\.flops: unknown field"):
        load_config(None, ["search.budget.flops=1"])


def test_violation_is_the_summed_excess_as_a_fraction_of_each_limit():
    b = BudgetConfig(params=50_000, energy_uj=2.0)
    assert b.violation({"params": 40_000, "energy": 1.0e6}) == 0.0
    assert b.violation({"params": 60_000, "energy": 3.0e6}) == pytest.approx(0.2 + 0.5)
    assert b.violation({"params": 60_000, "energy": 3.0e6}, static=True) == pytest.approx(0.2)
    assert b.use({"params": 25_000}) == {"params": 0.5}


def under_1000_params(name: str):
    """The strategy `name` under a budget of 1000 parameters, keying an individual by its first gene."""
    strategy = STRATEGIES.get(name)(config(name, budget={"params": 1000}).search, SPACE)
    strategy.key = lambda vec: str(vec[0])
    return strategy


def individuals(strategy, records):
    return [strategy.individual([i], {str(i): r}) for i, r in enumerate(records)]


def test_feasible_beats_infeasible_and_smaller_violation_wins_whatever_the_fitness():
    strategy = under_1000_params("ga")
    feasible, slightly, far = individuals(strategy, [
        {"fitness": 0.1, "params": 900}, {"fitness": 0.9, "params": 1100}, {"fitness": 0.99, "params": 5000}])
    assert feasible.fitness > slightly.fitness > far.fitness
    assert tools.selBest([far, slightly, feasible], 3) == [feasible, slightly, far]
    hof = tools.HallOfFame(3)
    hof.update([far, slightly, feasible])
    assert [h.fitness.violation for h in hof] == [0.0, pytest.approx(0.1), pytest.approx(4.0)]   # deep copies keep it
    assert copy.deepcopy(far).fitness.violation == far.fitness.violation


def test_nsga2_uses_constrained_domination():
    strategy = under_1000_params("nsga2")
    good, over = individuals(strategy, [{"fitness": 0.1, "params": 900, "spikes": 50.0},
                                        {"fitness": 0.9, "params": 1200, "spikes": 10.0}])
    assert good.fitness.dominates(over.fitness) and not over.fitness.dominates(good.fitness)
    assert tools.sortNondominated([over, good], 2)[0] == [good]
    a, b = individuals(strategy, [{"fitness": 0.5, "params": 100, "spikes": 5.0},
                                  {"fitness": 0.4, "params": 100, "spikes": 9.0}])
    assert a.fitness.dominates(b.fitness)            # both feasible: plain Pareto domination


def test_a_dead_genome_ranks_below_every_live_one_under_a_budget():
    strategy = under_1000_params("ga")
    dead, over = individuals(strategy, [{"fitness": -1e9, "params": 10, "dead": True},
                                        {"fitness": 0.2, "params": 9000}])
    assert over.fitness > dead.fitness


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_keeps_its_best_within_the_budget_a_size_rewarding_fitness_would_break(name, tmp_path):
    limit = params_quantile(0.3)
    free = run_search(config(name, generations=5), tmp_path / "free", engine=CostEngine(faults=False),
                      progress=False)
    strategy = STRATEGIES.get(name)(config(name).search, SPACE)
    best_free = free.cache[strategy.key(free.hall_of_fame[0])]
    assert best_free["params"] > limit                  # log(params) fitness: unconstrained, it buys size
    cfg = config(name, generations=5, budget={"params": limit})
    final = run_search(cfg, tmp_path / "run", engine=CostEngine(faults=False), progress=False)
    hof = json.loads((tmp_path / "run" / "hall_of_fame.json").read_text())
    assert hof[0]["record"]["params"] <= limit
    feasible = [r for r in final.cache.values() if r["params"] <= limit]
    if name != "nsga2":                                 # single objective: the best feasible fitness leads
        assert hof[0]["fitness"] == max(r["fitness"] for r in feasible)
    over = [i for i, e in enumerate(hof) if e["record"]["params"] > limit]
    under = [i for i, e in enumerate(hof) if e["record"]["params"] <= limit]
    assert not over or not under or max(under) < min(over)      # every feasible entry before any infeasible one
    assert all("feasible" in e for e in final.logbook)


def test_random_draws_stay_within_the_budget_or_say_what_the_cheapest_costs():
    limit = params_quantile(0.2)
    cfg = config("random", budget={"params": limit})
    strategy = STRATEGIES.get("random")(cfg.search, SPACE, COSTS)
    rng = np.random.default_rng(1)
    assert all(COSTS(strategy.genome(strategy.random_vector(rng)))["params"] <= limit for _ in range(20))
    tight = config("random", budget={"params": 10})
    with pytest.raises(BudgetError, match=r"none of 1000 random genomes of space 'tiny' fits params <= 10; "
                                          r"the cheapest drawn costs params [\d,]+"):
        STRATEGIES.get("random")(tight.search, SPACE, COSTS).random_vector(rng)
    with pytest.raises(BudgetError, match="none of 5 random genomes"):
        sample_within(lambda: sample(SPACE, rng), COSTS, BudgetConfig(params=10), "space 'tiny'", tries=5)


@pytest.fixture(scope="module")
def digits_probe():
    from msenas.data import get_dataset

    cfg = FitnessConfig(T=2, per_class=2, steps=2, batch_size=8, calibration=6)
    return cfg, make_probe(get_dataset("digits", T=2, seed=0, size=8), cfg, 0)


def engine_with(budget: BudgetConfig, digits_probe) -> FitnessEngine:
    cfg, probe = digits_probe
    engine = FitnessEngine(cfg, SerialEvaluator(probe, cfg), budget,
                           lambda g: static_costs(g, probe.in_shape, probe.n_classes, cfg.T))
    rng = np.random.default_rng(5)
    engine.calibrate([sample(SPACE, rng) for _ in range(cfg.calibration)])
    return engine


def test_the_engine_never_builds_a_genome_over_a_params_limit(digits_probe):
    rng = np.random.default_rng(2)
    genomes = [sample(SPACE, rng) for _ in range(8)]
    params = [COSTS(g)["params"] for g in genomes]
    limit = sorted(params)[3]
    recs = engine_with(BudgetConfig(params=limit), digits_probe).score(genomes)
    for g, p, r in zip(genomes, params, recs):
        assert r.key == io.key(g)
        if p > limit:
            assert r.fidelity == "costs" and r.proxies == {} and r.violation == pytest.approx(p / limit - 1)
            assert r.spikes == 0.0 and r.wall_time == 0.0       # never built, never run
        else:
            assert r.fidelity == "few-step" and r.violation == 0.0 and "probe_loss" in r.proxies
        assert r.budget == {"params": pytest.approx(p / limit)}


def test_under_an_energy_limit_only_the_genomes_that_fit_are_trained(digits_probe):
    rng = np.random.default_rng(3)
    genomes = [sample(SPACE, rng) for _ in range(8)]
    free = engine_with(BudgetConfig(energy_uj=1e6), digits_probe).score(genomes)     # a limit nothing reaches
    energies = sorted(r.energy for r in free if r.ok)
    limit_uj = energies[len(energies) // 2] / 1e6
    recs = engine_with(BudgetConfig(energy_uj=limit_uj), digits_probe).score(genomes)
    for r0, r in zip(free, recs):
        assert r.energy == pytest.approx(r0.energy)            # the same costs at initialisation
        if r.ok and r.energy > limit_uj * 1e6:
            assert r.fidelity == "zero-cost" and "probe_loss" not in r.proxies and r.violation > 0
        elif r.ok:
            assert r.fidelity == "few-step" and r.proxies["probe_loss"] == pytest.approx(r0.proxies["probe_loss"])


def test_a_budget_no_calibration_genome_meets_is_a_one_line_error(digits_probe):
    with pytest.raises(BudgetError, match=r"none of the 6 calibration genomes fits energy_uj <= 1e-09; "
                                          r"the cheapest costs energy_uj [\d.]+"):
        engine_with(BudgetConfig(energy_uj=1e-9), digits_probe)


def test_a_real_budgeted_search_shows_each_limits_use_in_results_csv_and_report(tmp_path):
    from msenas.report.build import make_report
    from msenas.report.tables import results, to_csv

    limit = params_quantile(0.5)
    cfg = load_config(None, ['space="tiny"', "data.options.size=8", "search.workers=0", "search.population=4",
                             "search.generations=1", "fitness.calibration=4", "fitness.steps=2", "fitness.T=2",
                             "fitness.per_class=2", "fitness.batch_size=8",
                             f"search.budget.params={limit}"])
    run_search(cfg, tmp_path / "run", progress=False)
    rows = results(tmp_path / "run")
    assert rows and all(r["budget.params"] == pytest.approx(r["params"] / limit) for r in rows if not r["error"])
    assert all(r["violation"] == pytest.approx(max(0.0, r["params"] / limit - 1)) for r in rows if not r["error"])
    assert "budget.params" in to_csv(rows).splitlines()[0].split(",")
    make_report(tmp_path / "run", tmp_path / "rep", rdm=False)
    md = (tmp_path / "rep" / "report.md").read_text()
    assert f"| budget | params <= {limit}" in md.replace(",", "") and "| budget use of the best | params " in md
