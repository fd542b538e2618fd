"""Published networks of spikingjelly's model zoo: names, widths, the published shapes, state, costs, training."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from spikingjelly.activation_based import neuron
from spikingjelly.activation_based.model.parametric_lif_net import CIFAR10Net
from spikingjelly.activation_based.model.snas_net import SNASNet

from msenas.data import get_dataset
from msenas.fitness.config import FitnessConfig
from msenas.fitness.probe import make_probe
from msenas.search.budget import BudgetConfig
from msenas.zoo import ZOO, ZooError, ZooModel, parse
from msenas.zoo.common import costs_at_init, widest_within
from msenas.zoo.snasnet import RELEASED, connection_matrix


def n_params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def test_names_and_widths_are_checked_with_one_line_errors():
    assert parse("zoo:snasnet") == ZooModel("snasnet", 256)             # the published width by default
    assert parse("zoo:plif-cifar10net", 8).key() == "zoo-plif-cifar10net-w8"
    with pytest.raises(ZooError, match=r"unknown zoo network 'resnet'; known: zoo:plif-cifar10net, zoo:snasnet"):
        parse("zoo:resnet")
    with pytest.raises(ZooError, match=r"--width: must be an integer in \[1, 4096\], got 0"):
        parse("zoo:snasnet", 0)


def test_at_the_published_width_and_input_the_networks_are_spikingjellys_own():
    plif = ZooModel("plif-cifar10net", 256).build((3, 32, 32), 10, 4)
    assert n_params(plif) == n_params(CIFAR10Net(channels=256, spiking_neuron=neuron.ParametricLIFNode))
    args = SimpleNamespace(timestep=4, second_avgpooling=2, dataset="cifar10", celltype="backward",
                           threshold=1.0, tau=4 / 3)
    snas = ZooModel("snasnet", 256).build((3, 32, 32), 10, 4)
    assert n_params(snas) == n_params(SNASNet(args, connection_matrix(RELEASED)))


def test_the_released_snasnet_cell_is_parsed_as_the_authors_write_it():
    m = connection_matrix("0302 0030 3003 0000")
    assert m.tolist() == [[0, 3, 0, 2], [0, 0, 3, 0], [3, 0, 0, 3], [0, 0, 0, 0]]
    with pytest.raises(ZooError, match="4 groups of 4 digits"):
        connection_matrix("0302 0030")


@pytest.mark.parametrize("name", ZOO.names())
def test_each_network_maps_time_major_input_to_logits_and_starts_every_forward_from_rest(name):
    torch.manual_seed(0)
    net = ZooModel(name, 6).build((1, 8, 8), 10, 3).eval()
    x = torch.rand(3, 5, 1, 8, 8)
    with torch.no_grad():
        y1, y2 = net(x), net(x)
    assert y1.shape[1:] == (5, 10) and y1.shape[0] in (1, 3)
    assert torch.equal(y1, y2)                                  # no membrane state carried between forwards
    assert n_params(ZooModel(name, 12).build((1, 8, 8), 10, 3)) > n_params(net)


def test_snasnet_refuses_event_frames_and_odd_sizes():
    with pytest.raises(ZooError, match="encodes a static image once"):
        ZooModel("snasnet", 4).build((2, 8, 8), 10, 3, event=True)
    with pytest.raises(ZooError, match="multiple of 4"):
        ZooModel("plif-cifar10net", 4).build((1, 10, 10), 10, 3)


@pytest.fixture(scope="module")
def probe():
    cfg = FitnessConfig(T=2, per_class=2)
    return make_probe(get_dataset("digits", T=2, seed=0, size=8), cfg, 0)


@pytest.mark.parametrize("name", ZOO.names())
def test_costs_are_counted_like_a_genomes_and_the_widest_width_within_a_budget_is_found(name, probe):
    c = costs_at_init(ZooModel(name, 8), probe, 2)
    assert c["params"] > 0 and c["sops"] >= 0 and c["mac_ops"] > 0 and c["energy"] > 0
    limit = costs_at_init(ZooModel(name, 10), probe, 2, run=False)["params"] + 1
    model, costs = widest_within(name, BudgetConfig(params=limit), probe, 2)
    assert model.width == 10 and costs["params"] <= limit
    assert costs_at_init(ZooModel(name, 11), probe, 2, run=False)["params"] > limit
    with pytest.raises(ZooError, match="does not fit params <= 10 even at width 1"):
        widest_within(name, BudgetConfig(params=10), probe, 2)


def test_msenas_train_trains_a_zoo_network_with_its_published_loss(tmp_path):
    out = tmp_path / "plif"
    cmd = [sys.executable, "-m", "msenas", "train", "zoo:plif-cifar10net", "--width", "4", "--epochs", "1",
           "--set", "data.size=8", "--set", "max_train_batches=3", "--out", str(out), "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and "energy" in r.stdout
    assert json.loads((out / "model.json").read_text())["zoo"] == "plif-cifar10net"
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["loss"] == "mse_rate" and config["zoo"] == {"zoo": "plif-cifar10net", "width": 4}
    assert json.loads((out / "metrics.json").read_text())["final"]["energy_pj"] > 0
    bad = subprocess.run([*cmd[:4], "zoo:nope"], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "unknown zoo network 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    help_text = subprocess.run([sys.executable, "-m", "msenas", "train", "--help"], capture_output=True, text=True,
                               timeout=120).stdout
    assert all(f"zoo:{n}" in help_text for n in ZOO.names())


def test_a_network_with_dropout_trains_the_same_twice_and_the_same_resumed(tmp_path):
    # CIFAR10Net has dropout, which draws from torch's global RNG: each epoch runs under a seed of its own
    # (run seed, epoch), so two runs of one command agree, and a run resumed after epoch 1 agrees with both.
    from msenas.config import DataConfig
    from msenas.train import TrainConfig, train

    data = DataConfig(dataset="digits", options={"size": 8}, seed=0)
    ds = data.build(4, 0)
    cfg = TrainConfig(epochs=2, T=4, seed=0, warmup_epochs=0.5, loss="mse_rate")
    model = ZooModel("plif-cifar10net", 8)
    net = model.build(ds.info.in_shape, ds.info.n_classes, cfg.T)
    assert any("Dropout" in type(m).__name__ for m in net.modules())          # spikingjelly's layer.Dropout

    def losses(metrics: dict) -> list[float]:
        return [h["train_loss"] for h in metrics["history"]]

    a = train(model, ds, cfg, tmp_path / "a", data=data, progress=False)
    torch.rand(1000)                                               # the global stream moves between the runs
    b = train(model, ds, cfg, tmp_path / "b", data=data, progress=False)

    def stop(record: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):                         # stopped after epoch 1, its checkpoint written
        train(model, ds, cfg, tmp_path / "c", data=data, progress=False, on_epoch_end=stop)
    c = train(model, ds, cfg, tmp_path / "c", data=data, progress=False, resume=True)
    assert losses(a) == losses(b) == losses(c)
    assert losses(a)[0] != losses(a)[1]
