"""The builder: random genomes build, run, cost what complexity() says; delays mean t-1."""
import numpy as np
import pytest
import torch

from msenas.genome import Op, get_space, instantiate, sample
from msenas.genome.types import Cell, Genome
from msenas.nn.cost import complexity
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import MotifModule, build_network
from msenas.nn.neurons import NeuronParams


@pytest.mark.parametrize("space,n,shape",
                         [("tiny", 25, (1, 8, 8)), ("fixed", 25, (2, 8, 8)), ("mse-nas", 3, (3, 8, 8))])
def test_random_genomes_build_and_give_finite_logits_of_the_right_shape(space, n, shape):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    for _ in range(n):
        g = sample(get_space(space), rng)
        net = build_network(g, shape, 7, T=2)
        with torch.no_grad():
            y = net(torch.rand(2, 3, *shape))
        assert y.shape == (2, 3, 7)
        assert torch.isfinite(y).all()
        assert complexity(g, shape, 7).params == sum(p.numel() for p in net.parameters())


def test_static_input_is_repeated_over_time_steps():
    g = sample(get_space("tiny"), np.random.default_rng(1))
    net = build_network(g, (1, 8, 8), 10, T=3).eval()
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        a = net(x)
        b = net(x.unsqueeze(0).repeat(3, 1, 1, 1, 1))
    assert a.shape == (3, 4, 10) and torch.equal(a, b)


def test_state_does_not_leak_between_forwards():
    g = sample(get_space("fixed"), np.random.default_rng(2))
    net = build_network(g, (1, 8, 8), 10, T=4).eval()
    x = torch.rand(4, 2, 1, 8, 8)
    with torch.no_grad():
        first = net(x)
        net(torch.rand(4, 2, 1, 8, 8) * 5)
        again = net(x)
    assert torch.equal(first, again)


def test_delay_one_edge_delivers_the_previous_time_step():
    # node1(t) = x(t) + node1(t-1): identity ops make the motif a running sum over time
    ident = Op("identity")
    motif = instantiate("feedback", 1, [ident, ident])
    m = MotifModule(motif, channels=2, neuron=NeuronParams())
    x = torch.randn(5, 3, 2, 4, 4)
    out = m([x])
    assert torch.allclose(out, torch.cumsum(x, dim=0), atol=1e-6)


def test_inhibitory_sign_negates_the_op_output():
    exc = MotifModule(instantiate("chain", 1, [Op("avgpool3x3", 1)]), 2, NeuronParams())
    inh = MotifModule(instantiate("chain", 1, [Op("avgpool3x3", -1)]), 2, NeuronParams())
    x = torch.rand(3, 2, 2, 4, 4) * 2
    a, b = exc([x]), inh([x])
    assert a.sum() > 0 and torch.allclose(a, -b)


def test_zero_op_cell_is_silent_downstream():
    zero = instantiate("chain", 1, [Op("zero")])
    g = Genome(cells=(Cell((zero,)),), inputs=((0,),), reductions=(), channels=4, stem_multiplier=1)
    net = build_network(g, (1, 8, 8), 3, T=2)
    with torch.no_grad():
        _, states = net.forward_features(torch.rand(2, 2, 1, 8, 8))
    assert torch.count_nonzero(states[0]) == 0


def test_reduction_cells_halve_resolution_and_double_channels():
    g = sample(get_space("fixed"), np.random.default_rng(3))  # reduction at cell 1
    net = build_network(g, (1, 16, 16), 10, T=2)
    with torch.no_grad():
        _, states = net.forward_features(torch.rand(2, 1, 1, 16, 16))
    assert [tuple(s.shape[2:]) for s in states] == [(16, 16, 16), (32, 8, 8), (32, 8, 8)]


def test_spike_monitor_counts_per_cell_and_synaptic_ops():
    g = sample(get_space("tiny"), np.random.default_rng(4))
    net = build_network(g, (1, 8, 8), 10, T=2)
    x = torch.rand(2, 3, 1, 8, 8)
    with SpikeMonitor(net) as mon, torch.no_grad():
        net(x)
    s = mon.summary(3)
    assert len(s["spikes_per_cell"]) == g.n_cells
    assert s["spikes"] == pytest.approx(sum(s["spikes_per_cell"]) + mon.other / 3)
    stem_sops = x.numel() / 3 * net.stem[0].out_channels * 9  # dense analog input into the stem
    assert s["sops"] >= stem_sops
    with torch.no_grad():
        net(x)  # hooks removed: counts unchanged
    assert mon.summary(3) == s


@pytest.mark.parametrize("attention", ["eca", "cbam", "temporal", "eca+temporal", "cbam+temporal"])
def test_genome_attention_is_built_on_every_cell_output_and_costed(attention):
    import dataclasses

    from msenas.nn.attention import make_attention

    g = dataclasses.replace(sample(get_space("fixed"), np.random.default_rng(3)), attention=attention)
    for shape in ((1, 8, 8), (2, 16, 16)):
        net = build_network(g, shape, 10, T=3)
        assert complexity(g, shape, 10).params == sum(p.numel() for p in net.parameters())
        assert all(type(c.attention) is type(make_attention(attention, 4)) for c in net.cells)
    plain = build_network(dataclasses.replace(g, attention="none"), (1, 8, 8), 10, T=3)
    assert complexity(g, (1, 8, 8), 10).params > sum(p.numel() for p in plain.parameters())
    with torch.no_grad():
        assert torch.isfinite(net(torch.rand(2, 2, 16, 16))).all()


def test_attention_gates_the_cell_output():
    import dataclasses

    g = dataclasses.replace(sample(get_space("tiny"), np.random.default_rng(4)), attention="temporal")
    net = build_network(g, (1, 8, 8), 10, T=3).eval()
    cell = net.cells[0]
    seen = {}
    cell.attention.register_forward_hook(lambda m, i, o: seen.update(x=i[0], y=o))
    with torch.no_grad():
        net(torch.rand(2, 1, 8, 8))
    gate = cell.attention.step_gate(seen["x"])                       # [T,B] in (0, 1)
    assert torch.allclose(seen["y"], seen["x"] * gate[..., None, None, None])
