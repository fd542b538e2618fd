"""NIR export (msenas/export): written with nir.write, read back with nir.read and run by nirtorch, a network gives
our spikes at every neuron and our logits; parts NIR cannot express are refused by name; msenas export-nir."""
from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import nir
import numpy as np
import pytest
import torch

from msenas.cli import main
from msenas.export import nir_torch
from msenas.export.nir_builder import NIRExportError, threshold
from msenas.export.nir_graph import network_graph, write_graph
from msenas.genome import Op, get_space, instantiate, load, loads, sample, save
from msenas.genome.types import Cell, Edge, Genome, Motif
from msenas.nn.network import build_network
from msenas.nn.neurons import NeuronParams

T, IN_SHAPE, CLASSES = 4, (1, 8, 8), 10
# Spike counts pooled by avgpool3x3 (k/9, k/6, k/4) and halved by LIF updates (tau 2) can put a membrane potential
# exactly on the default threshold 0.5, where NIR's Scale(1/6) and spikingjelly's division by 6 may round to either
# side (docs/nir.md). 0.45 is off that lattice: with it every spike must match, in any summation order.
OFF_LATTICE = NeuronParams(v_threshold=0.45)


def randomised(genome: Genome, in_shape=IN_SHAPE, seed: int = 0, neuron: NeuronParams = OFF_LATTICE) -> torch.nn.Module:
    """The genome's network in float64 and eval mode; BatchNorm statistics, affines and PLIF taus far from default."""
    torch.manual_seed(seed)
    net = build_network(genome, in_shape, CLASSES, T, neuron).double()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.1, 1.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.5)
            if getattr(m, "kind", "") == "plif":
                m.w.uniform_(-1.0, 1.0)
    return net.eval()


def delayed(genome: Genome, path: str) -> bool:
    """Whether a neuron module path (cells.i.motifs.j.ops.k.neuron) is on a delay-1 edge."""
    p = path.split(".")
    return p[2:3] == ["motifs"] and genome.cells[int(p[1])].motifs[int(p[3])].edges[int(p[5])].delay == 1


def assert_round_trip(genome: Genome, tmp_path, in_shape=IN_SHAPE, seed: int = 0,
                      neuron: NeuronParams = OFF_LATTICE) -> dict[str, torch.Tensor]:
    """Export (float64), write, read, run with nirtorch: the same spikes at every neuron, the same logits."""
    net = randomised(genome, in_shape, seed, neuron)
    graph = nir.read(write_graph(network_graph(net, np.float64), tmp_path / f"net{seed}.nir"))
    x = 1.5 * torch.rand((3, *in_shape), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ours_logits, ours = nir_torch.network_spikes(net, x)
    theirs_logits, theirs = nir_torch.graph_spikes(graph, x, T, torch.float64)
    assert set(theirs) == set(ours)
    for path, s in ours.items():
        # a delay-1 edge's neuron: msenas steps it at t = 1..T-1 on the node at t-1; the NIR executor at every t,
        # delivering its output a step later, so its steps 0..T-2 are msenas's steps
        assert s.shape[0] == (T - 1 if delayed(genome, path) else T), path
        assert torch.equal(theirs[path][:s.shape[0]], s), path
    torch.testing.assert_close(theirs_logits, ours_logits, rtol=0, atol=1e-10)
    assert ours["head_neuron"].any() and sum(bool(s.any()) for s in ours.values()) >= 0.75 * len(ours)   # not vacuous
    return ours


@pytest.mark.parametrize("space,seeds", [("tiny", (0, 1, 3)), ("fixed", (0, 1))])
def test_sampled_genomes_round_trip_through_nir_and_nirtorch_with_the_same_spikes(space, seeds, tmp_path):
    for seed in seeds:
        genome = sample(get_space(space), np.random.default_rng(seed))
        assert_round_trip(genome, tmp_path, seed=seed)


@pytest.mark.parametrize("space", ["tiny", "fixed"])
def test_default_neurons_round_trip_exactly_at_threshold_ties_without_avgpool(space, tmp_path):
    # maxpool outputs (0/1) halved by LIF put potentials exactly on 0.5: fired alike thanks to the exported threshold
    no_avgpool = get_space(space).replace(ops=tuple(o for o in get_space(space).ops if o != "avgpool3x3"))
    for seed in (0, 1):
        assert_round_trip(sample(no_avgpool, np.random.default_rng(seed)), tmp_path, seed=seed, neuron=NeuronParams())


def test_sampled_genomes_of_tiny_and_fixed_all_export_and_cover_the_risky_parts():
    parts = defaultdict(set)
    for space in ("tiny", "fixed"):
        for seed in range(12):
            g = sample(get_space(space), np.random.default_rng(100 + seed))
            network_graph(randomised(g), np.float32)                           # raises NIRExportError if not
            parts["templates"] |= {m.template for c in g.cells for m in c.motifs}
            parts["integrations"] |= {c.integration for c in g.cells if len(c.motifs) > 1}
            parts["ops"] |= {(e.op.name, e.op.sign) for c in g.cells for m in c.motifs for e in m.edges}
    assert "feedback" in parts["templates"] and parts["integrations"] == {"sum", "concat"}
    assert {("maxpool3x3", -1), ("avgpool3x3", -1), ("identity", -1)} <= parts["ops"]


def test_the_demo_searchs_best_genome_round_trips_with_the_same_spikes(tmp_path):
    # experiments/genomes/demo_best.json: the best genome of a real `msenas search` (the demo, `tiny` space, 8x8
    # digits), committed for the benchmarks (commit 1436a7e)
    from msenas.genome.codec import VectorCodec

    genome = load(Path(__file__).resolve().parents[1] / "experiments" / "genomes" / "demo_best.json")
    VectorCodec(get_space("tiny")).encode(genome)                               # a genome of the searched space
    spikes = assert_round_trip(genome, tmp_path)                                # every neuron's spikes, the logits
    assert len(spikes) >= 2 * genome.n_cells                                    # many neurons were compared


def every_part() -> Genome:
    """A genome with every part the export maps: self-loop and longer feedback (inhibitory identity and conv
    feedback edges), concat, a two-input motif, pooled preprocessing, maxpool/avgpool of both signs, IF and PLIF,
    a zero op, 1x1, 3x3 and 5x5 convolutions."""
    fb1 = instantiate("feedback", 1, [Op("avgpool3x3", -1, "plif"), Op("identity", -1)])
    fb2 = instantiate("feedback", 2, [Op("conv3x3", 1, "if"), Op("maxpool3x3", 1, "lif"), Op("conv1x1", -1, "plif")])
    darts = instantiate("darts", 2, [Op("identity", -1), Op("conv5x5", 1, "lif"), Op("maxpool3x3", -1, "if"),
                                     Op("avgpool3x3", 1, "lif")], sources=[0, 1, 2, 0])
    fan_in = instantiate("fan_in", 3, [Op("zero"), Op("conv3x3", 1, "plif"), Op("identity"), Op("avgpool3x3")])
    return Genome(cells=(Cell((fb1, fb2), "concat"), Cell((darts,)), Cell((fan_in, fb1), "sum")),
                  inputs=((0,), (0, 1), (1, 2)), reductions=(1,), channels=6, stem_multiplier=2)


def test_every_mapped_part_round_trips_and_feedback_neurons_fire(tmp_path):
    for seed in range(3):
        ours = assert_round_trip(every_part(), tmp_path, seed=seed)
        assert ours["cells.0.motifs.1.ops.2.neuron"].any()        # the conv on the delay-1 edge feeds back spikes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threshold_is_the_number_just_below_so_strict_nir_firing_matches_spikingjelly_at_equality(dtype):
    th = dtype(threshold(0.5, dtype))
    assert th < dtype(0.5) and np.nextafter(th, dtype(1)) == dtype(0.5)
    lif = nir_torch.LIF(nir.LIF(tau=np.full(1, 2.0), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.full(1, th)))
    lif = lif.to(torch.float32 if dtype is np.float32 else torch.float64)
    z, v = lif(torch.ones(1, dtype=lif.tau.dtype))              # v = 0 + (1 - 0) / 2 = 0.5 exactly: fires
    assert z.item() == 1.0 and v.item() == 0.0
    z, v = lif(torch.full((1,), 0.99, dtype=lif.tau.dtype))     # v = 0.495: does not
    assert z.item() == 0.0


def chain_cell(n: int = 1) -> Cell:
    return Cell((instantiate("chain", n, [Op("conv3x3")] * n),))


@pytest.mark.parametrize("edit,in_shape,message", [
    (lambda g: dataclasses.replace(g, attention="eca"), IN_SHAPE, r"attention 'eca': NIR has no primitive"),
    (lambda g: dataclasses.replace(g, cells=(chain_cell(),) * 4, inputs=((0,), (1,), (2,), (0, 3)), reductions=(1, 2)),
     (1, 14, 14), r"cells\[3\] input 0: adaptive pooling 14x14 -> 3x3 has unequal windows"),
    (lambda g: dataclasses.replace(g, cells=(Cell((Motif("chain", 1, 3, chain_cell(3).motifs[0].edges
                                                         + (Edge(1, 3, Op("conv1x1"), delay=1),)),)),),
                                   inputs=((0,),), reductions=()),
     IN_SHAPE, r"cells\[0\]\.motifs\[0\]\.edges\[3\] \(conv1x1\): the delay-1 edge from node 1 to node 3 closes no "
               r"cycle"),
])
def test_a_part_nir_cannot_express_is_refused_in_one_line_naming_it(edit, in_shape, message):
    genome = edit(sample(get_space("tiny"), np.random.default_rng(0)))
    with pytest.raises(NIRExportError, match=message) as e:
        network_graph(randomised(genome, in_shape))
    assert "\n" not in str(e.value)


# ----------------------------------------------------------------------------- msenas export-nir


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    """A `tiny` genome trained for one batch of digits by `msenas train`."""
    root = tmp_path_factory.mktemp("nir")
    genome = save(sample(get_space("tiny"), np.random.default_rng(3)), root / "genome.json")
    out = root / "result"
    assert main(["train", str(genome), "--out", str(out), "--epochs", "1", "--set", "max_train_batches=1",
                 "--set", "batch_size=16", "--set", "T=2", "--quiet"]) == 0
    return out


def test_export_nir_writes_a_graph_that_nirtorch_runs_like_the_trained_network(result, tmp_path, capsys):
    from msenas.train.result import load_result

    assert main(["export-nir", str(result)]) == 0
    assert capsys.readouterr().out.strip() == str(result / "network.nir")
    graph = nir.read(result / "network.nir")
    assert graph.metadata["time_steps"] == 2 and graph.metadata["dt_ms"] == 1.0
    assert loads(graph.metadata["genome"]) == load(result / "genome.json")
    in_shape = json.loads((result / "config.json").read_text())["in_shape"]
    x = torch.rand(4, *in_shape, generator=torch.Generator().manual_seed(0))
    assert nir_torch.run(nir_torch.load(graph), x, 2).shape == (2, 4, 10)            # float32, as stored

    exact = tmp_path / "sub" / "exact.nir"
    assert main(["export-nir", str(result), "--out", str(exact), "--dtype", "float64"]) == 0
    model, _, _ = load_result(result)
    with torch.no_grad():
        want = model.double()(x.double())
        got = nir_torch.run(nir_torch.load(exact, torch.float64), x.double(), 2)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_export_nir_refusal_is_one_line_and_keeps_the_old_file(tmp_path, capsys):
    genome = dataclasses.replace(sample(get_space("tiny"), np.random.default_rng(0)), attention="eca")
    folder = tmp_path / "eca"
    save(genome, folder / "genome.json")
    (folder / "config.json").write_text(json.dumps({"in_shape": [1, 8, 8], "n_classes": 10, "train": {"T": 2}}))
    torch.save(build_network(genome, IN_SHAPE, 10, 2).state_dict(), folder / "weights.pt")
    old = tmp_path / "old.nir"
    old.write_bytes(b"an earlier export")
    assert main(["export-nir", str(folder), "--out", str(old)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("msenas export-nir: error: attention 'eca'")
    assert old.read_bytes() == b"an earlier export" and sorted(p.name for p in tmp_path.iterdir()) == ["eca", "old.nir"]
    assert main(["export-nir", str(tmp_path / "absent")]) == 2
    assert "no such result folder" in capsys.readouterr().err
