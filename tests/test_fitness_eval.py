"""Serial evaluation of real tiny networks on digits: records, dead networks, failures, engine."""
import dataclasses
import json
import math
import pickle

import numpy as np
import pytest
import torch
from helpers import silent_last_cell, tiny_genomes

from msenas.config import DataConfig
from msenas.data import DataError, get_dataset
from msenas.fitness import WORST_FITNESS, CalibrationError, FitnessConfig
from msenas.fitness.engine import FitnessEngine, make_engine
from msenas.fitness.evaluate import evaluate_genome as evaluate
from msenas.fitness.executors import SerialEvaluator
from msenas.fitness.probe import make_probe
from msenas.fitness.rdm import categorical_rdm
from msenas.genome import get_space, key, sample
from msenas.nn.cost import complexity

SMALL = dict(T=2, per_class=3, steps=2, batch_size=16, calibration=4)
ALL = ("rdm", "sahd", "log_params", "rdm_k", "probe_loss", "probe_acc")


@pytest.fixture(scope="module")
def digits():
    return get_dataset("digits", T=2, seed=0, size=12)


@pytest.fixture(scope="module")
def probe(digits):
    return make_probe(digits, FitnessConfig(**SMALL), seed=0)


@pytest.fixture(scope="module")
def genomes():
    return tiny_genomes(7)


def test_probe_is_stratified_and_few_step_batches_exclude_it(probe, digits):
    assert probe.x.shape == (30, 1, 12, 12) and np.array_equal(probe.y, np.repeat(np.arange(10), 3))
    assert probe.train_x.shape == (2 * 16, 1, 12, 12)
    assert np.array_equal(probe.target, categorical_rdm(probe.y))
    flat = lambda a: {a[i].tobytes() for i in range(len(a))}  # noqa: E731
    assert not flat(probe.x) & flat(probe.train_x)


def test_record_holds_every_proxy_costs_and_spikes(probe, genomes):
    g = genomes[0]
    rec = evaluate(g, probe, FitnessConfig(**SMALL), ALL)
    assert rec.error is None and rec.key == key(g) and rec.fidelity == "few-step"
    assert set(rec.proxies) == set(ALL) and all(math.isfinite(v) for v in rec.proxies.values())
    assert rec.params == complexity(g, (1, 12, 12), 10, 2).params
    assert math.log(rec.params) == pytest.approx(rec.proxies["log_params"])
    assert len(rec.spikes_per_cell) == g.n_cells and rec.spikes >= sum(rec.spikes_per_cell) > 0
    assert rec.sops > 0 and rec.wall_time > 0 and -1 <= rec.proxies["rdm"] <= 1
    assert 0 <= rec.proxies["probe_acc"] <= 1 and rec.proxies["probe_loss"] < 0
    back = pickle.loads(pickle.dumps(rec))
    assert back == rec and json.loads(json.dumps(rec.to_dict())) == rec.to_dict()


def test_evaluation_is_reproducible_and_seeded_by_the_run_seed(digits, probe, genomes):
    cfg = FitnessConfig(**SMALL)
    a = evaluate(genomes[1], probe, cfg, ("rdm", "sahd"))
    b = evaluate(genomes[1], probe, cfg, ("rdm", "sahd"))
    other = evaluate(genomes[1], make_probe(digits, cfg, seed=5), cfg, ("rdm", "sahd"))
    assert a.outcome() == b.outcome()
    assert a.proxies != other.proxies
    zero_cost = evaluate(genomes[1], probe, cfg, ("rdm",))
    assert zero_cost.fidelity == "zero-cost" and list(zero_cost.proxies) == ["rdm"]


def test_repeats_average_several_initialisations(probe, genomes):
    from msenas.fitness.evaluate import _repeat
    from msenas.fitness.proxies import PROXIES, ProxyContext
    from msenas.runtime import Precision

    g, cfg1 = genomes[2], FitnessConfig(**SMALL)
    one = evaluate(g, probe, cfg1, ("rdm",))
    three = evaluate(g, probe, FitnessConfig(**{**SMALL, "repeats": 3}), ("rdm",))
    ctx = ProxyContext(probe.target, cfg1.metric, cfg1.correlation, cfg1.readout, three.params)
    runs = [_repeat(g, key(g), r, probe, cfg1, [PROXIES.get("rdm")], ctx, Precision(torch.device("cpu")))
            for r in range(3)]
    rdms = [values["rdm"] for values, _, _ in runs]
    assert len(set(rdms)) == 3                                # three different initialisations...
    assert one.proxies["rdm"] == rdms[0]                      # ...the first is the single-repeat score...
    assert three.proxies["rdm"] == pytest.approx(np.mean(rdms), abs=1e-12)     # ...and R=3 reports their mean
    assert three.spikes == pytest.approx(np.mean([s["spikes"] for _, s, _ in runs]))
    assert three.proxies["rdm"] != one.proxies["rdm"]


def test_dead_network_is_flagged_worst_and_never_nan(probe, genomes):
    g = silent_last_cell(genomes[0])
    rec = evaluate(g, probe, FitnessConfig(**SMALL), ALL)
    assert rec.dead and rec.error is None and rec.fitness == WORST_FITNESS
    assert rec.proxies["rdm"] == -1.0 and all(math.isfinite(v) for v in rec.proxies.values())
    engine = FitnessEngine(FitnessConfig(**{**SMALL, "proxy": "rdm"}), SerialEvaluator(probe, FitnessConfig(**SMALL)))
    assert engine.score([g])[0].fitness == WORST_FITNESS


def test_a_failing_genome_is_recorded_and_the_batch_goes_on(probe, genomes):
    broken = dataclasses.replace(genomes[0], channels=0)
    recs = SerialEvaluator(probe, FitnessConfig(**SMALL)).map([genomes[1], broken, genomes[2]], ("rdm", "log_params"))
    assert [r.error is None for r in recs] == [True, False, True]
    assert recs[1].fitness == WORST_FITNESS and "channels" in recs[1].error and not recs[1].ok


def test_single_proxy_engine_uses_the_raw_value(probe, genomes):
    cfg = FitnessConfig(**{**SMALL, "proxy": "log_params"})
    engine = FitnessEngine(cfg, SerialEvaluator(probe, cfg))
    assert not engine.needs_calibration()
    recs = engine.score(genomes[:2])
    assert [r.fitness for r in recs] == [r.proxies["log_params"] for r in recs]


def test_composite_engine_calibrates_scores_and_resumes_identically(probe, genomes):
    cfg = FitnessConfig(**{**SMALL, "proxy": "rdm_params"})
    engine = FitnessEngine(cfg, SerialEvaluator(probe, cfg))
    assert engine.needs_calibration()
    with pytest.raises(CalibrationError):
        engine.score(genomes[:1])
    engine.calibrate(genomes)
    first = engine.score(genomes[:3])
    assert all(0 <= r.fitness <= 1 for r in first)
    state = json.loads(json.dumps(engine.state_dict()))
    resumed = FitnessEngine(cfg, SerialEvaluator(probe, cfg))
    resumed.load_state_dict(state)
    assert not resumed.needs_calibration()
    assert [r.fitness for r in resumed.score(genomes[:3])] == [r.fitness for r in first]
    other = FitnessEngine(FitnessConfig(**{**SMALL, "proxy": "sahd_params"}), SerialEvaluator(probe, cfg))
    with pytest.raises(CalibrationError, match="saved for composite"):
        other.load_state_dict(state)


def test_extended_upper_tail_separates_genomes_that_beat_the_calibration(probe, genomes):
    scored = {}
    for tail in ("saturate", "extend"):
        cfg = FitnessConfig(**{**SMALL, "proxy": "rdm_params", "upper_tail": tail})
        engine = FitnessEngine(cfg, SerialEvaluator(probe, cfg))
        engine.calibrate(genomes)                               # their rdm values stay inside the calibration
        engine.calibration.values["log_params"] = [0.0, 1.0]   # every real genome is bigger than this
        scored[tail] = engine.score(genomes)
    live = [i for i, r in enumerate(scored["saturate"]) if r.ok]
    assert live
    for i in live:
        sat, ext = scored["saturate"][i], scored["extend"][i]
        # log_params percentile: 1 when saturated; extended at the top-decile slope 0.1 / (1 - 0.9) -> the value
        assert ext.fitness - sat.fitness == pytest.approx((ext.proxies["log_params"] - 1.0) / 2)
        assert ext.fitness > 1.0 >= sat.fitness


def test_promotion_gives_few_step_proxies_only_to_the_best_fraction(probe, genomes):
    cfg = FitnessConfig(**{**SMALL, "proxy": "rdm_k_acc_params", "promote": 0.5})
    engine = FitnessEngine(cfg, SerialEvaluator(probe, cfg))
    engine.calibrate(genomes)
    recs = engine.score(genomes)
    promoted = [i for i, r in enumerate(recs) if r.fidelity == "few-step"]
    assert len(promoted) == 2 and all("probe_acc" in recs[i].proxies for i in promoted)
    rest = [i for i in range(4) if i not in promoted]
    assert all(set(recs[i].proxies) == {"log_params"} for i in rest)
    by_zero = [engine.calibration.percentile("log_params", r.proxies["log_params"]) for r in recs]
    assert min(by_zero[i] for i in promoted) >= max([by_zero[i] for i in rest if recs[i].ok], default=0)
    assert all(recs[i].fitness <= max(recs[j].fitness for j in promoted) for i in rest)


def test_make_engine_with_a_user_target_rdm(tmp_path):
    # A target that ranks the pairs in the reverse order of the labels: 1 - categorical RDM (probe samples are in
    # class order). Spearman's rho over reversed ranks is exactly the negation, so the score must flip sign; an
    # engine that ignored the target (scoring against the labels) would return the same value instead.
    labels = np.repeat(np.arange(10), 2)
    np.save(tmp_path / "target.npy", 1.0 - categorical_rdm(labels))
    base = {**SMALL, "per_class": 2, "proxy": "rdm"}
    g = sample(get_space("tiny"), np.random.default_rng(0))
    scores = {}
    for target in ("labels", str(tmp_path / "target.npy")):
        engine = make_engine(FitnessConfig(**{**base, "target": target}), DataConfig("digits", options={"size": 8}),
                             seed=0)
        scores[target] = engine.score([g])[0].fitness
        engine.close()
    by_labels, by_user = scores.values()
    assert abs(by_labels) > 0.05                              # the network ranks something, so the sign can flip
    assert by_user == pytest.approx(-by_labels, abs=1e-12)
    with pytest.raises(DataError, match="unknown dataset"):
        make_engine(FitnessConfig(**base), "mnist-please")


def test_event_frames_are_evaluated_time_major():
    cfg = FitnessConfig(**{**SMALL, "per_class": 2, "steps": 1})
    probe = make_probe(get_dataset("digits-dvs", T=2, seed=0, size=8), cfg, seed=0)
    assert probe.x.shape == (20, 2, 2, 8, 8)
    rec = evaluate(sample(get_space("tiny"), np.random.default_rng(3)), probe, cfg, ("rdm", "probe_acc"))
    assert rec.error is None and set(rec.proxies) == {"rdm", "probe_acc"}
