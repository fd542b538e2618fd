"""Proxies on hand-made data with known answers: RDM, SAHD, percentile composites, config."""
import json

import numpy as np
import pytest

from msenas.errors import MsenasError
from msenas.fitness import COMPOSITES, PROXIES, WORST_FITNESS, FitnessConfig, FitnessConfigError, Record
from msenas.fitness.composite import Calibration, percentile
from msenas.fitness.probe import load_target
from msenas.fitness.proxies import FEW_STEP, ZERO_COST, Measurement, ProxyContext
from msenas.fitness.rdm import WORST_CORRELATION, categorical_rdm, is_dead, rdm_score, readout_score
from msenas.fitness.sahd import SAHD_FLOOR, layer_kernel, layer_stats, sahd_kernel, sahd_score

LABELS = np.repeat(np.arange(5), 6)  # 5 classes x 6 samples


def one_hot(labels, width=8):
    return np.eye(width)[labels] * 3.0  # [N, width]: identical within a class


# ----------------------------------------------------------------------------- RDM


@pytest.mark.parametrize("metric", ["pearson", "euclidean", "cosine"])
@pytest.mark.parametrize("correlation", ["spearman", "kendall"])
def test_perfectly_class_separated_representations_score_one(metric, correlation):
    score, dead = rdm_score(one_hot(LABELS), categorical_rdm(LABELS), metric, correlation)
    assert not dead and score == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffled_labels_score_about_zero(seed):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), 8)
    reps = one_hot(labels, 10) + 0.05 * rng.standard_normal((80, 10))
    score, dead = rdm_score(reps, categorical_rdm(rng.permutation(labels)))
    assert not dead and abs(score) < 0.1
    assert rdm_score(reps, categorical_rdm(labels))[0] > 0.4  # the true labels do rank


def test_rdm_score_is_invariant_to_sample_order():
    rng = np.random.default_rng(3)
    reps = rng.poisson(2.0, size=(30, 40)).astype(float) + one_hot(LABELS, 40)
    perm = rng.permutation(30)
    for metric in ("pearson", "euclidean", "cosine"):
        a = rdm_score(reps, categorical_rdm(LABELS), metric)[0]
        b = rdm_score(reps[perm], categorical_rdm(LABELS[perm]), metric)[0]
        assert a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("reps", [
    np.zeros((30, 16)),                                   # silent
    np.ones((30, 16)) * 2.0,                              # every sample identical
    np.repeat(np.arange(30.0)[:, None], 16, axis=1),      # each row constant: Pearson undefined
], ids=["silent", "identical", "row-constant"])
def test_dead_representation_gets_worst_score_and_flag_never_nan(reps):
    score, dead = rdm_score(reps, categorical_rdm(LABELS), "pearson")
    assert dead and score == WORST_CORRELATION and is_dead(reps, "pearson")


def test_readouts_last_mean_max_over_cells():
    good, dead = one_hot(LABELS), np.zeros((30, 8))
    target = categorical_rdm(LABELS)
    assert readout_score([good, dead], target, readout="last") == WORST_CORRELATION
    assert readout_score([dead, good], target, readout="last") == pytest.approx(1.0)
    assert readout_score([good, dead], target, readout="max") == pytest.approx(1.0)
    assert readout_score([good, dead], target, readout="mean") == pytest.approx(0.0)


def test_user_target_rdm_is_validated(tmp_path):
    good = categorical_rdm(LABELS)
    np.save(tmp_path / "ok.npy", good)
    assert np.array_equal(load_target(str(tmp_path / "ok.npy"), 30), good)
    cases = {"rect.npy": (np.zeros((30, 29)), "square"), "small.npy": (good[:20, :20], "probe has 30"),
             "flat.npy": (np.ones((30, 30)), "constant")}
    for name, (m, words) in cases.items():
        np.save(tmp_path / name, m)
        with pytest.raises(FitnessConfigError, match=words):
            load_target(str(tmp_path / name), 30)


# ----------------------------------------------------------------------------- SAHD


def test_sahd_kernel_of_two_hand_made_patterns():
    x = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])  # s = 0.5 each, Hamming 4, N = 4
    k = sahd_kernel([x])
    off = 4 - 0.5 * 4 / (4 * (0.25 + 0.25) + 1e-3)
    assert np.allclose(k, [[4 - 0.5 * 0 / 2.001, off], [off, 4.0]])
    assert sahd_score(k) == pytest.approx(np.log(abs(16 - off * off)))


def test_sahd_averages_layers_and_sparsity_matters():
    a = np.array([[1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0]])  # s = 1/8, Hamming 2
    b = np.array([[1, 1, 1, 1], [0, 0, 0, 0]])                          # s = 1 and 0, Hamming 4
    ka = 8 - 0.5 * 2 / (8 * (2 * (1 / 8) * (7 / 8)) + 1e-3)
    kb = 4 - 0.5 * 4 / (4 * (1 * 1 + 0 * 0) + 1e-3)
    assert sahd_kernel([a])[0, 1] == pytest.approx(ka)
    assert sahd_kernel([b])[0, 1] == pytest.approx(kb)
    assert sahd_kernel([a, b]) == pytest.approx(np.array([[6, (ka + kb) / 2], [(ka + kb) / 2, 6]]))


def test_sahd_statistics_add_up_over_chunks_of_neurons():
    x = (np.random.default_rng(0).random((6, 50)) < 0.3).astype(float)
    A1, n1, N1 = layer_stats(x[:, :20])
    A2, n2, N2 = layer_stats(x[:, 20:])
    assert np.allclose(layer_kernel(A1 + A2, n1 + n2, N1 + N2), sahd_kernel([x]))


def test_sahd_of_identical_or_silent_patterns_is_the_finite_floor():
    same = np.tile([1, 0, 1, 0], (3, 1))
    assert sahd_score(sahd_kernel([same])) == SAHD_FLOOR
    assert sahd_score(sahd_kernel([np.zeros((3, 5))])) == SAHD_FLOOR
    assert sahd_score(None) == SAHD_FLOOR


# ----------------------------------------------------------------------------- registry


def test_registry_holds_every_required_proxy_with_its_fidelity():
    want = {"rdm": ZERO_COST, "sahd": ZERO_COST, "log_params": ZERO_COST,
            "rdm_k": FEW_STEP, "probe_loss": FEW_STEP, "probe_acc": FEW_STEP}
    for name, fid in want.items():
        assert PROXIES.get(name).fidelity == fid
    with pytest.raises(MsenasError, match="unknown proxy 'nope'"):
        PROXIES.get("nope")


def test_probe_loss_acc_and_log_params_on_hand_logits():
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    m = Measurement(cell_counts=[], logits=logits, labels=np.array([0, 1, 1]))
    ctx = ProxyContext(np.zeros((3, 3)), "pearson", "spearman", "last", params=1000)
    p_right = 1 / (1 + np.exp(-2.0))
    assert PROXIES.get("probe_acc").fn(m, ctx) == pytest.approx(2 / 3)
    assert PROXIES.get("probe_loss").fn(m, ctx) == pytest.approx((2 * np.log(p_right) + np.log(1 - p_right)) / 3)
    assert PROXIES.get("log_params").fn(m, ctx) == pytest.approx(np.log(1000))


# ----------------------------------------------------------------------------- composites


def test_percentile_interpolates_and_saturates():
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert percentile(vals, 0.0) == 0.0 and percentile(vals, 9.0) == 1.0
    assert percentile(vals, 3.0) == pytest.approx(0.5)
    assert percentile(vals, 2.5) == pytest.approx(0.375)
    assert percentile([1.0, 2.0, 2.0, 3.0], 2.0) == pytest.approx(0.5)  # ties share their position


def test_extended_upper_tail_continues_the_top_decile_slope_and_keeps_the_rest():
    vals = [float(v) for v in range(11)]                  # 0..10: top decile 9..10 spans percentile 0.1
    assert percentile(vals, 12.0, "extend") == pytest.approx(1.2)
    assert percentile(vals, 10.0, "extend") == 1.0 == percentile(vals, 12.0)
    for v in (-3.0, 0.0, 4.5, 9.5):                       # below the top nothing changes, 0 still floors
        assert percentile(vals, v, "extend") == percentile(vals, v)
    flat = [0.0] * 9 + [1.0, 1.0]                          # top decile flat: the slope of the whole range,
    assert percentile(flat, 2.0, "extend") == pytest.approx(0.95 + 1.0)  # from the tied top's shared 0.95


def test_extended_composite_ranks_genomes_that_beat_the_whole_calibration():
    names = ("rdm_k", "log_params")
    cal = Calibration.from_records([_record(rdm_k=v / 10, log_params=v) for v in range(11)], names)
    w = COMPOSITES["rdm_k_params"]
    good, better = _record(rdm_k=1.5, log_params=11.0), _record(rdm_k=2.0, log_params=11.0)
    assert cal.fitness(good, w) == cal.fitness(better, w) == 1.0          # SPEC 3.4: both saturate
    assert 1.0 < cal.fitness(good, w, "extend") < cal.fitness(better, w, "extend")
    inside = _record(rdm_k=0.35, log_params=7.0)
    assert cal.fitness(inside, w, "extend") == cal.fitness(inside, w)


def _record(**proxies) -> Record:
    return Record(key="k", fitness=0.0, proxies=proxies, dead=False, error=None, spikes=0.0)


def test_composite_is_monotone_in_each_proxy_and_bounded():
    rng = np.random.default_rng(0)
    names = ("rdm_k", "probe_acc", "log_params")
    cal = Calibration.from_records([_record(**dict(zip(names, rng.normal(size=3)))) for _ in range(20)], names)
    weights = COMPOSITES["rdm_k_acc_params"]
    grid = np.linspace(-4, 4, 41)
    for _ in range(10):
        base = dict(zip(names, rng.normal(size=3)))
        for n in names:
            fits = [cal.fitness(_record(**{**base, n: v}), weights) for v in grid]
            assert all(b >= a for a, b in zip(fits, fits[1:])) and fits[-1] > fits[0]
            assert 0.0 <= min(fits) and max(fits) <= 1.0


def test_composite_fitness_is_unchanged_by_a_json_round_trip_of_the_calibration():
    names = ("rdm", "log_params")
    rng = np.random.default_rng(1)
    cal = Calibration.from_records([_record(rdm=rng.random(), log_params=rng.random() * 9) for _ in range(12)], names)
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    recs = [_record(rdm=rng.random(), log_params=rng.random() * 9) for _ in range(8)]
    w = COMPOSITES["rdm_params"]
    assert [cal.fitness(r, w) for r in recs] == [back.fitness(r, w) for r in recs]


def test_failed_and_dead_records_get_the_worst_fitness():
    cal = Calibration({"rdm": [0.1, 0.2]}, 2)
    dead = Record("k", 0.0, {"rdm": 0.9}, dead=True, error=None, spikes=0.0)
    failed = Record("k", 0.0, {}, dead=False, error="boom", spikes=0.0)
    assert cal.fitness(dead, (("rdm", 1.0),)) == WORST_FITNESS == cal.fitness(failed, (("rdm", 1.0),))


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize("field,value,words", [
    ("readout", "first", "fitness.readout: must be one of last, mean, max, got 'first'"),
    ("metric", "l1", "fitness.metric"),
    ("correlation", "pearson", "fitness.correlation"),
    ("proxy", "magic", "fitness.proxy: unknown proxy or composite 'magic'"),
    ("T", 0, "fitness.T: must be a positive integer"),
    ("per_class", 1, "fitness.per_class: must be >= 2"),
    ("lr", float("nan"), "fitness.lr"),
    ("promote", 0.0, "fitness.promote"),
    ("calibration", 1, "fitness.calibration"),
    ("upper_tail", "clip", "fitness.upper_tail: must be one of saturate, extend, got 'clip'"),
    ("target", "/no/such.npy", "fitness.target"),
    ("weights", (("rdm", -1.0),), r"fitness.weights\[0\]: weight of 'rdm'"),
    ("weights", (("nope", 1.0),), r"fitness.weights\[0\]: unknown proxy 'nope'"),
])
def test_config_errors_name_the_field(field, value, words):
    with pytest.raises(FitnessConfigError, match=words):
        FitnessConfig(**{field: value}).validate()


def test_config_from_dict_accepts_weight_lists_and_rejects_unknown_keys():
    cfg = FitnessConfig.from_dict({"weights": [["sahd", 1], ["log_params", 2.0]], "readout": "max"})
    assert cfg.composite() == (("sahd", 1.0), ("log_params", 2.0)) and cfg.proxy_names() == ("sahd", "log_params")
    assert FitnessConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(FitnessConfigError, match="fitness.colour: unknown field"):
        FitnessConfig.from_dict({"colour": 1})
    assert FitnessConfig().validate().composite() == COMPOSITES[FitnessConfig().proxy]
    assert FitnessConfig(proxy="sahd").composite() is None
