"""Energy per sample (SPEC 3.3): SOPs and MACs counted by what each layer's input is, checked by hand and
against spikingjelly's own synaptic-operation counter on networks built from genomes."""
import numpy as np
import pytest
import torch
from torch import nn

from msenas.energy import EnergyConfig, EnergyConfigError
from msenas.genome import PRESETS, sample
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network


def test_counts_and_energy_of_a_hand_computed_network():
    conv_in = nn.Conv2d(1, 2, 3, padding=1, bias=False)      # static image in: dense MACs
    conv_spk = nn.Conv2d(1, 2, 3, padding=1, bias=False)     # spikes in: one accumulate per spike and weight reached
    fc, fc_rates = nn.Linear(16, 3), nn.Linear(16, 3)
    image = torch.rand(1, 1, 4, 4) + 0.1
    spikes = torch.zeros(1, 1, 4, 4)
    spikes[0, 0, 0, 0] = 1.0         # a corner spike reaches 2 x 2 outputs of each of 2 channels: 8
    spikes[0, 0, 1, 1] = 1.0         # an inner spike reaches 3 x 3 outputs of each of 2 channels: 18
    with SpikeMonitor(nn.Sequential(conv_in, conv_spk, fc, fc_rates), n_cells=0) as mon:
        conv_in(image)
        conv_spk(spikes)
        fc(spikes.flatten(1).repeat(1, 1))   # 2 spikes x 3 outputs: 6 SOPs
        fc_rates(torch.zeros(1, 16))         # no input yet: nothing counted, the layer's kind still open
        fc_rates(torch.full((1, 16), 0.5))   # rates, not spikes: 3 outputs x 16 inputs = 48 MACs
    s = mon.summary(1)
    assert s["macs"] == 2 * 4 * 4 * 9 + 48
    assert s["sops"] == 8 + 18 + 6
    assert s["energy_pj"] == pytest.approx(4.6 * (288 + 48) + 0.9 * 32)
    assert EnergyConfig(e_mac_pj=1.0, e_ac_pj=0.5).spiking_pj(s["macs"], s["sops"]) == 288 + 48 + 16
    assert EnergyConfig().dense_pj(1000) == pytest.approx(4600)


def test_event_counts_into_the_first_layer_are_accumulates():
    conv = nn.Conv2d(2, 4, 1, bias=False)
    frames = torch.zeros(3, 2, 2, 5, 5)     # [T, B, C, H, W] event counts
    frames[0, 0, 1, 2, 2] = 3.0
    with SpikeMonitor(conv, n_cells=0) as mon:
        conv(frames.flatten(0, 1))
    assert mon.macs == 0 and mon.sops == 3 * 4


def test_bad_energy_constants_name_the_field():
    with pytest.raises(EnergyConfigError, match=r"^energy.e_ac_pj: must be a non-negative energy in pJ, got -1.0$"):
        EnergyConfig(e_ac_pj=-1)


@pytest.mark.parametrize("space,seed", [("tiny", 3), ("fixed", 6)])     # genomes whose every cell spikes
def test_synaptic_operations_equal_spikingjellys_counter_on_networks_built_from_genomes(space, seed, monkeypatch):
    from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter

    from msenas.nn.maps import AvgPool2d

    monkeypatch.setattr(AvgPool2d, "by_sums", False)   # the counter would see the pooling sums as a conv

    torch.manual_seed(0)
    g = sample(PRESETS.get(space), np.random.default_rng(seed))
    net = build_network(g, (3, 12, 12), 10, T=3).eval()
    x = torch.rand(3, 2, 3, 12, 12) * 4
    counter = SynOpCounter()
    with torch.no_grad():
        with DispatchCounterMode([counter]):
            net(x)
        with SpikeMonitor(net) as mon:
            net(x)
    assert mon.sops > 0 and mon.sops == counter.get_total()
    stem = net.stem[0]      # static input: MACs (so are the head's mean rates and pooled maps into a 1x1 conv)
    assert mon.macs >= 3 * 2 * stem.out_channels * 12 * 12 * 3 * 9 + 3 * 2 * 10 * net.classifier.in_features
    rates = mon.firing_rate_per_cell
    assert len(rates) == g.n_cells and all(0 <= r <= 1 for r in rates)


def test_an_accuracy_energy_search_keeps_a_non_dominated_front_of_measured_energies(tmp_path):
    import json

    from msenas.cli import main

    run = tmp_path / "mo"
    assert main(["search", "--out", str(run), "--workers", "0", "--no-progress", "--set", "space=\"tiny\"",
                 "--set", "search.population=6", "--set", "search.generations=2", "--set", "fitness.proxy=\"rdm\"",
                 "--set", "fitness.per_class=2", "--set", "fitness.T=2", "--set", "data.options.size=8",
                 "--set", 'search.objectives=["fitness","energy"]']) == 0
    front = json.loads((run / "pareto.json").read_text())
    records = [json.loads(line)["record"] for line in (run / "evaluations.jsonl").read_text().splitlines()]
    ok = [r for r in records if r["error"] is None and not r["dead"]]
    assert ok and all(r["energy"] > 0 and r["energy"] == pytest.approx(4.6 * r["mac_ops"] + 0.9 * r["sops"])
                      and r["energy_dense"] == pytest.approx(4.6 * r["macs"]) for r in ok)
    points = [(e["objectives"]["fitness"], e["objectives"]["energy"]) for e in front]
    assert points and not any(a[0] >= b[0] and a[1] <= b[1] and a != b for a in points for b in points)
    assert not any(r["fitness"] >= f and r["energy"] < en for r in ok for f, en in points)


def test_training_reports_energy_and_firing_rates_per_epoch(tmp_path):
    from msenas.config import DataConfig
    from msenas.nn.cost import complexity
    from msenas.train import TrainConfig, train

    g = sample(PRESETS.get("tiny"), np.random.default_rng(3))
    data = DataConfig("digits", options={"size": 8}, seed=0)
    ds = data.build(2)
    cfg = TrainConfig(epochs=1, batch_size=32, T=2, max_train_batches=2, energy={"e_ac_pj": 0.03})
    m = train(g, ds, cfg, tmp_path / "r", progress=False, data=data)
    h, final = m["history"][0], m["final"]
    assert len(h["firing_rate_per_cell"]) == g.n_cells and all(0 <= r <= 1 for r in h["firing_rate_per_cell"])
    assert final["energy_pj"] == pytest.approx(4.6 * final["mac_ops"] + 0.03 * final["sops"]) and final["mac_ops"] > 0
    assert final["energy_dense_pj"] == pytest.approx(4.6 * complexity(g, ds.info.in_shape, ds.info.n_classes).macs)
