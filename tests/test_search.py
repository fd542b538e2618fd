"""Evolution loop, checkpoints and run files, in process, with a cheap but real fitness engine.

`CostEngine` implements the fitness-engine protocol on real genomes: its
fitness is log(params) computed by msenas.nn.cost.complexity (no network is
built), so a whole search takes well under a second and the loop itself is
what these tests exercise.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import numpy as np
import pytest
from helpers import generations

from msenas.fitness.record import Record
from msenas.genome import VectorCodec, get_space, io
from msenas.nn.cost import complexity
from msenas.search import checkpoint
from msenas.search.config import SearchConfig, load_config
from msenas.search.objectives import PENALTY
from msenas.search.run import SearchInterrupted, run_search
from msenas.search.state import initial_state
from msenas.search.strategies import STRATEGIES, diversity

SPACE = get_space("tiny")


class CostEngine:
    """Fitness = log(params) (optionally centred by a calibrated median); spikes = MACs / 1000."""

    def __init__(self, calibrate: bool = False, interrupt_after: int | None = None, disturb: bool = False):
        self.calib, self.offset = calibrate, 0.0
        self.scored: list[str] = []
        self.calibrations = 0
        self.interrupt_after, self.disturb = interrupt_after, disturb

    def needs_calibration(self) -> bool:
        return self.calib

    def calibrate(self, genomes, progress=None) -> None:
        self.calibrations += 1
        self.offset = float(np.median([math.log(complexity(g, (1, 8, 8), 4, 2).params) for g in genomes]))

    def score(self, genomes) -> list[Record]:
        if self.interrupt_after is not None and len(self.scored) >= self.interrupt_after:
            raise KeyboardInterrupt
        if self.disturb:  # whatever else uses Python's global random must not change the search
            random.seed(12345)
        out = []
        for g in genomes:
            c = complexity(g, (1, 8, 8), 4, 2)
            k = io.key(g)
            self.scored.append(k)
            out.append(Record(key=k, fitness=math.log(c.params) - self.offset,
                              proxies={"log_params": math.log(c.params)},
                              dead=False, error=None, spikes=c.macs / 1000, sops=float(c.synaptic_ops),
                              params=c.params, macs=c.macs))
        return out

    def state_dict(self) -> dict:
        return {"offset": self.offset}

    def load_state_dict(self, d: dict) -> None:
        self.offset = d["offset"]

    def close(self) -> None:
        pass


def small_config(**search):
    """A tiny run config (digits 8x8, serial) with some search fields changed."""
    sets = [f"search.{k}={json.dumps(v) if not isinstance(v, tuple) else json.dumps(list(v))}"
            for k, v in search.items()]
    return load_config(None, ["space=\"tiny\"", "data.options.size=8", "search.workers=0", "search.population=6",
                              "search.generations=4", "fitness.per_class=2", "fitness.T=2", *sets])


def strategy_of(cfg):
    """The configured strategy on the tiny space."""
    return STRATEGIES.get(cfg.search.algorithm)(cfg.search, SPACE)


def evolve(cfg, engine, state=None, upto=None):
    """Run generations in process; returns the list of states after each generation."""
    until = cfg.search.generations if upto is None else upto
    return generations(strategy_of(cfg), engine, state or initial_state(cfg.seed), until)


def summary(state):
    return [list(p) for p in state.population], [list(h) for h in state.hall_of_fame], state.pareto


@pytest.mark.parametrize("algorithm", ["ga", "mu_plus_lambda", "nsga2"])
def test_same_seed_same_search_and_another_seed_differs(algorithm):
    cfg = small_config(algorithm=algorithm)
    a, b = evolve(cfg, CostEngine())[-1], evolve(cfg, CostEngine())[-1]
    c = evolve(replace(cfg, seed=1), CostEngine())[-1]
    assert summary(a) == summary(b)
    assert a.population != c.population


@pytest.mark.parametrize("algorithm", ["ga", "mu_plus_lambda", "nsga2"])
def test_resuming_any_checkpoint_equals_the_uninterrupted_run(algorithm):
    cfg = small_config(algorithm=algorithm, objectives=("fitness", "spikes") if algorithm == "nsga2" else ("fitness",))
    states = evolve(cfg, CostEngine())
    for mid in states[:-1]:
        restored = checkpoint.decode(checkpoint.encode(mid))
        assert restored == mid
        final = evolve(cfg, CostEngine(), state=restored)[-1]
        assert summary(final) == summary(states[-1])
        assert [e["best"] for e in final.logbook] == [e["best"] for e in states[-1].logbook]


def test_genomes_already_scored_are_not_evaluated_again():
    cfg = small_config(generations=6, mutpb=0.3, cxpb=0.3)
    engine = CostEngine()
    final = evolve(cfg, engine)[-1]
    assert len(engine.scored) == len(set(engine.scored)) == len(final.cache)
    log = final.logbook
    assert sum(e["cache_hits"] for e in log) > 0  # elites and unchanged children come from the cache
    assert all(e["evaluations"] + e["cache_hits"] == (6 if e["gen"] == 0 else 5) for e in log)


def test_elitism_and_mu_plus_lambda_never_lose_the_best():
    for algorithm in ("ga", "mu_plus_lambda"):
        final = evolve(small_config(algorithm=algorithm, generations=6), CostEngine())[-1]
        best = [e["best"] for e in final.logbook]
        assert best == sorted(best), algorithm
        codec = VectorCodec(SPACE)
        hof = [final.cache[io.key(codec.decode(v))]["fitness"] for v in final.hall_of_fame]
        assert hof == sorted(hof, reverse=True) and hof[0] == best[-1]


def test_nsga2_returns_a_non_dominated_front():
    cfg = small_config(objectives=("fitness", "spikes"), population=8, generations=4)
    assert cfg.search.algorithm == "nsga2"
    final = evolve(cfg, CostEngine())[-1]
    evo = strategy_of(cfg)
    front = [evo.objectives_of(io.key(evo.codec.decode(v)), final.cache) for v in final.pareto]
    assert len(front) >= 2

    def dominates(a, b):  # fitness up, spikes down
        return a["fitness"] >= b["fitness"] and a["spikes"] <= b["spikes"] and a != b

    assert not any(dominates(a, b) for a in front for b in front)
    scored = [evo.objectives_of(k, final.cache) for k in final.cache]
    assert not any(dominates(s, f) for s in scored for f in front)  # nothing ever scored beats the front
    for gen_front in (e["front"] for e in final.logbook):
        assert not any(a[0] >= b[0] and a[1] <= b[1] and a != b for a in gen_front for b in gen_front)


def test_dead_networks_get_the_cost_penalty_and_never_join_the_front():
    from msenas.search.objectives import natural_objectives, weighted_objectives

    dead = {"fitness": -1e9, "dead": True, "error": None, "spikes": 0.0}
    assert natural_objectives(dead, ("fitness", "spikes")) == (-1e9, PENALTY)
    assert weighted_objectives(dead, ("fitness", "spikes")) == (-1e9, -PENALTY)


def test_python_random_used_elsewhere_does_not_change_the_search():
    cfg = small_config()
    quiet, noisy = evolve(cfg, CostEngine())[-1], evolve(cfg, CostEngine(disturb=True))[-1]
    assert summary(quiet) == summary(noisy)


def test_diversity_is_zero_for_clones_and_positive_otherwise():
    evo = strategy_of(small_config())
    rng = np.random.default_rng(0)
    v = evo.codec.random_vector(rng)
    assert diversity(evo.codec, [v, list(v), list(v)]) == 0.0
    assert 0.0 < diversity(evo.codec, [evo.codec.random_vector(rng) for _ in range(4)]) <= 1.0


def test_run_folder_files_and_calibration_once(tmp_path):
    cfg = small_config()
    engine = CostEngine(calibrate=True)
    final = run_search(cfg, tmp_path / "run", engine=engine, progress=False)
    run = tmp_path / "run"
    lines = [json.loads(s) for s in (run / "generations.jsonl").read_text().splitlines()]
    assert [e["gen"] for e in lines] == list(range(5))
    assert {"best", "mean", "std", "min", "diversity", "evaluations", "cache_hits", "failures", "dead",
            "time"} <= set(lines[0])
    hof = json.loads((run / "hall_of_fame.json").read_text())
    assert len({e["key"] for e in hof}) == len(hof) == len(final.hall_of_fame)
    assert [e["fitness"] for e in hof] == sorted((e["fitness"] for e in hof), reverse=True)
    best = io.load(run / "best.json")
    assert io.key(best) == hof[0]["key"] and json.loads((run / "best.json").read_text())["fitness"] == hof[0]["fitness"]
    assert json.loads((run / "config.json").read_text())["search"]["population"] == 6
    assert json.loads((run / "dataset.json").read_text())["info"]["in_shape"] == [1, 8, 8]
    assert engine.calibrations == 1 and final.engine == engine.state_dict()
    # resuming a finished run with more generations reloads the calibration instead of recalibrating
    more = replace(cfg, search=replace(cfg.search, generations=6))
    engine2 = CostEngine(calibrate=True)
    resumed = run_search(more, run, resume=True, engine=engine2, progress=False)
    assert engine2.calibrations == 0 and engine2.offset == engine.offset and resumed.gen == 6
    assert len((run / "generations.jsonl").read_text().splitlines()) == 7


def test_interrupt_writes_a_checkpoint_and_resume_matches(tmp_path):
    cfg = small_config()
    reference = evolve(cfg, CostEngine())[-1]
    with pytest.raises(SearchInterrupted, match="--resume"):
        run_search(cfg, tmp_path / "run", engine=CostEngine(interrupt_after=12), progress=False)
    stopped = checkpoint.load(tmp_path / "run")
    assert 0 <= stopped.gen < cfg.search.generations
    final = run_search(cfg, tmp_path / "run", resume=True, engine=CostEngine(), progress=False)
    assert summary(final) == summary(reference)


def test_corrupt_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    cfg = small_config(generations=2)
    states = evolve(cfg, CostEngine())
    checkpoint.save(tmp_path, states[0])
    checkpoint.save(tmp_path, states[1])
    assert checkpoint.load(tmp_path) == states[1]
    text = (tmp_path / checkpoint.CURRENT).read_text()
    (tmp_path / checkpoint.CURRENT).write_text(text[: len(text) // 2])  # truncated
    assert checkpoint.load(tmp_path) == states[0]
    assert "not valid JSON" in capsys.readouterr().err
    checkpoint.save(tmp_path, states[1])  # the good previous one survives the next rotation
    tampered = checkpoint.encode(states[1]).replace('"gen": 1', '"gen": 7')
    (tmp_path / checkpoint.CURRENT).write_text(tampered)
    assert checkpoint.load(tmp_path) == states[0]
    assert "checksum" in capsys.readouterr().err
    (tmp_path / checkpoint.PREVIOUS).write_text("{}")
    (tmp_path / checkpoint.CURRENT).write_text(tampered)
    with pytest.raises(checkpoint.CheckpointError, match="no usable checkpoint"):
        checkpoint.load(tmp_path)


def test_search_config_rejects_bad_values_naming_the_field():
    from msenas.config import ConfigError

    with pytest.raises(ConfigError, match=r"^search\.population: must be >= 2, got 1$"):
        SearchConfig(population=1)
    with pytest.raises(ConfigError, match=r"search\.algorithm: 'ga' is single-objective"):
        SearchConfig(algorithm="ga", objectives=("fitness", "spikes"))
    with pytest.raises(ConfigError, match=r"search\.objectives: unknown objective 'speed'"):
        SearchConfig(objectives=("speed",))
