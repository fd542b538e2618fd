"""Zero-cost proxies from the ANN literature on spiking networks: known answers, surrogate gradients, finiteness."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import digits_probe, silent_last_cell
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

from msenas.fitness import PROXIES, WORST_FITNESS, FitnessConfig
from msenas.fitness.composite import Calibration
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.gradients import _layer_stats, probe_gradients, sub_batches, synflow_layers
from msenas.fitness.measurements import MEASUREMENTS, measure_named
from msenas.fitness.probe import ProbeData
from msenas.fitness.rdm import categorical_rdm
from msenas.fitness.sahd import sahd_kernel
from msenas.fitness.zero_cost import FLOOR, LayerGrads, log_abs_det, log_or_floor, naswot_kernel, zico_score
from msenas.genome import get_space, sample
from msenas.nn.network import build_network

SMALL = dict(T=2, per_class=3, steps=2, batch_size=16)
NEW = ("grad_norm", "naswot", "snip", "synflow", "zico")


def codes_of(x):
    x = np.asarray(x, dtype=np.float64)
    return x @ x.T, x.sum(1), x.shape[1]


# ----------------------------------------------------------------------------- numpy reductions


def test_naswot_kernel_counts_agreeing_neurons_over_all_layers():
    a = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])   # agree on neurons 1 (both spike) and 3 (both silent)
    b = np.array([[1, 0], [1, 1]])               # agree on neuron 0
    k = naswot_kernel([codes_of(a), codes_of(b)])
    assert np.array_equal(k, [[6, 3], [3, 6]])
    assert np.array_equal(k, naswot_kernel([codes_of(np.hstack([a, b]))]))   # = one concatenated code
    assert log_abs_det(k) == pytest.approx(math.log(36 - 9))
    assert not np.allclose(sahd_kernel([a, b]), k / 2)                         # not SAHD's normalised mean


def test_naswot_of_identical_or_missing_codes_is_the_floor():
    same = np.tile([1, 0, 1], (3, 1))
    assert log_abs_det(naswot_kernel([codes_of(same)])) == FLOOR
    assert log_abs_det(naswot_kernel([])) == FLOOR


def test_layer_gradient_statistics_by_hand():
    g = np.array([[1.0, 2.0, 0.0, -1.0], [3.0, 2.0, 0.0, 1.0]])   # two sub-batches, four weights
    theta = torch.tensor([1.0, -1.0, 2.0, 0.5])
    s = _layer_stats(theta, g)
    # mean g = (2, 2, 0, 0); std = (1, 0, 0, 1); mean |g| = (2, 2, 0, 1): weights 0 and 3 have std > 0
    assert s == LayerGrads(snip=pytest.approx(4.0), norm=pytest.approx(math.sqrt(8)), icv=pytest.approx(3.0))


def test_zico_sums_layer_logs_and_skips_layers_without_gradient_variation():
    layers = [LayerGrads(0.0, 0.0, math.e), LayerGrads(0.0, 0.0, math.e ** 2), LayerGrads(0.0, 0.0, 0.0)]
    assert zico_score(layers) == pytest.approx(3.0)
    assert zico_score([]) == 0.0
    assert log_or_floor(0.0) == FLOOR == log_or_floor(float("inf")) and log_or_floor(math.e) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- torch side on hand-made networks


def hand_probe(n_per_class=3, classes=2, shape=(1, 2, 2), seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = rng.random((len(y), *shape)).astype(np.float32)
    return ProbeData(x, y, x, y, categorical_rdm(y), shape, classes, seed)


def test_sub_batches_hold_every_class():
    y = np.repeat(np.arange(10), 3)
    batches = sub_batches(len(y))
    assert len(batches) == 2 and sorted(np.concatenate(batches)) == list(range(30))
    assert all(set(y[b]) == set(range(10)) for b in batches)


def test_synflow_is_conserved_across_a_bias_free_linear_chain_with_batchnorm_removed():
    torch.manual_seed(0)
    net = nn.Sequential(layer.Flatten(step_mode="m"), nn.Linear(4, 3, bias=False),
                        layer.BatchNorm1d(3, step_mode="m"), nn.Linear(3, 2, bias=False))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    scores = synflow_layers(net, hand_probe(), T=3)
    w1, w2 = net[1].weight.detach().abs().double(), net[3].weight.detach().abs().double()
    R = 3 * float(w2.sum(0) @ w1.sum(1))           # sum over T=3 steps and classes of |W2||W1| 1
    assert scores == [pytest.approx(R), pytest.approx(R)]   # synaptic flow is conserved layer to layer
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())   # the network is untouched


def test_probe_gradients_flow_through_the_spiking_surrogate_and_leave_no_trace():
    torch.manual_seed(1)
    lif = neuron.LIFNode(tau=2.0, v_threshold=0.5, step_mode="m")
    net = nn.Sequential(layer.Flatten(step_mode="m"), nn.Linear(4, 8), lif, nn.Linear(8, 2))
    probe = hand_probe(n_per_class=4)
    stats = probe_gradients(net, probe, T=3)
    assert len(stats) == 2 and stats[0].norm > 0   # the first layer learns only through the surrogate
    per_batch = []
    for idx in sub_batches(len(probe.y)):
        x = torch.tensor(probe.x[idx]).unsqueeze(0).repeat(3, 1, 1, 1, 1)
        loss = F.cross_entropy(net(x).mean(0), torch.tensor(probe.y[idx]))
        per_batch.append([g.double() for g in torch.autograd.grad(loss, [net[1].weight, net[3].weight])])
        functional.reset_net(net)
    for i, w in enumerate([net[1].weight, net[3].weight]):
        mean = (per_batch[0][i] + per_batch[1][i]) / 2
        assert stats[i].norm == pytest.approx(float(mean.norm()))
        assert stats[i].snip == pytest.approx(float((w.detach().double() * mean).abs().sum()))
    assert all(p.grad is None for p in net.parameters())


# ----------------------------------------------------------------------------- on real genomes


@pytest.fixture(scope="module")
def probe():
    return digits_probe(FitnessConfig(**SMALL), 12)


@pytest.mark.parametrize("name", PROXIES.names())
def test_every_proxy_declares_registered_measurements(name):
    assert all(n in MEASUREMENTS for n in PROXIES.get(name).needs)


@pytest.mark.parametrize("space", ["tiny", "fixed"])
def test_every_registered_proxy_is_finite_on_live_genomes_and_on_a_dead_one(probe, space):
    rng = np.random.default_rng(3)
    live = [sample(get_space(space), rng) for _ in range(4)]
    cfg = FitnessConfig(**SMALL)
    names = tuple(PROXIES.names())
    recs = [evaluate_genome(g, probe, cfg, names) for g in live]
    dead = evaluate_genome(silent_last_cell(live[0]), probe, cfg, names)
    assert dead.dead and dead.error is None and dead.fitness == WORST_FITNESS
    for rec in recs + [dead]:
        assert rec.error is None and set(rec.proxies) == set(names)
        assert all(isinstance(v, float) and math.isfinite(v) for v in rec.proxies.values())
    alive = [r for r in recs if not r.dead]
    assert len(alive) >= 2
    for n in NEW:                                   # each new proxy tells live genomes apart
        assert len({r.proxies[n] for r in alive}) == len(alive), n


def test_new_proxies_are_reproducible_and_seeded_by_the_run_seed(probe):
    g = sample(get_space("tiny"), np.random.default_rng(11))
    cfg = FitnessConfig(**SMALL)
    a, b = evaluate_genome(g, probe, cfg, NEW), evaluate_genome(g, probe, cfg, NEW)
    other = evaluate_genome(g, digits_probe(cfg, 12, seed=5), cfg, NEW)
    assert a.proxies == b.proxies and a.fidelity == "zero-cost"
    assert all(a.proxies[n] != other.proxies[n] for n in NEW)


def test_measurements_do_not_change_what_the_other_proxies_see(probe):
    g = sample(get_space("tiny"), np.random.default_rng(12))
    cfg = FitnessConfig(**SMALL)
    old = ("rdm", "sahd", "rdm_k", "probe_loss")
    alone, together = evaluate_genome(g, probe, cfg, old), evaluate_genome(g, probe, cfg, NEW + old)
    assert {n: together.proxies[n] for n in old} == alone.proxies
    assert (alone.spikes, alone.sops) == (together.spikes, together.sops)


def test_only_the_requested_measurements_are_taken(probe):
    torch.manual_seed(0)
    net = build_network(sample(get_space("tiny"), np.random.default_rng(0)), probe.in_shape, probe.n_classes, 2)
    assert measure_named(net, probe, 2).named == {}
    m = measure_named(net, probe, 2, ("grads",))
    assert list(m.named) == ["grads"] and len(m.named["grads"]) == sum(
        isinstance(x, (nn.Conv2d, nn.Linear)) for x in net.modules())


def test_a_custom_composite_calibrates_on_the_new_proxies(probe):
    cfg = FitnessConfig(**SMALL, weights=(("zico", 1.0), ("naswot", 1.0), ("log_params", 1.0))).validate()
    rng = np.random.default_rng(4)
    recs = [evaluate_genome(sample(get_space("tiny"), rng), probe, cfg, cfg.proxy_names()) for _ in range(5)]
    cal = Calibration.from_records(recs, cfg.proxy_names())
    fits = [cal.fitness(r, cfg.composite()) for r in recs if r.ok]
    assert len(fits) >= 2 and all(0.0 <= f <= 1.0 for f in fits) and len(set(fits)) > 1
