"""Fast simulation equals the plain one: spikes, logits and gradients against a reference that runs
spikingjelly's own neurons through the pre-issue-17 forward (per-step lists, torch.stack, sum(),
contiguous maps) on the same modules and weights, for random genomes of every space."""
import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_same_neuron_run
from spikingjelly.activation_based import functional, layer, neuron
from spikingjelly.activation_based.neuron import BaseNode

from msenas.genome import Op, get_space, instantiate, sample
from msenas.genome.types import Cell, Genome
from msenas.nn import fused, kernels
from msenas.nn.batchnorm import BatchNorm2d
from msenas.nn.network import MotifModule, Preprocess, build_network
from msenas.nn.neurons import IF, LIF, PLIF, NeuronParams, make_neuron

SJ = {LIF: neuron.LIFNode, PLIF: neuron.ParametricLIFNode, IF: neuron.IFNode, BatchNorm2d: layer.BatchNorm2d}


def _sj(name: str, step_mode: str) -> BaseNode:
    """The same neuron as make_neuron(name), as a plain spikingjelly node (the oracle)."""
    node = make_neuron(name, NeuronParams(), step_mode)
    node.__class__ = SJ[type(node)]
    return node


# ---- the reference forward: the network code before issue 17, on spikingjelly's neurons ----

def _ref_motif(m: MotifModule, inputs):
    def nodes_at(xs, prev):
        nodes = list(xs) + [None] * m.motif.n_nodes
        for n in range(m.motif.n_inputs, m.motif.n_inputs + m.motif.n_nodes):
            acc = 0
            for e, op in zip(m.motif.edges, m.ops):
                if e.dst != n:
                    continue
                if e.delay == 0:
                    acc = acc + op(nodes[e.src])
                elif prev is not None:
                    acc = acc + op(prev[e.src])
            nodes[n] = acc
        return nodes

    if not m.stepwise:
        nodes = nodes_at(inputs, None)
        return sum(nodes[n] for n in m.sinks)
    outs, prev = [], None
    for t in range(inputs[0].shape[0]):
        nodes = nodes_at([x[t] for x in inputs], prev)
        outs.append(sum(nodes[n] for n in m.sinks))
        prev = nodes
    return torch.stack(outs)


def _ref_pre(p, x):
    if not isinstance(p, Preprocess):
        return x
    s = p.neuron(x)
    if s.shape[-2:] != p.size:
        T = s.shape[0]
        s = F.adaptive_avg_pool2d(s.flatten(0, 1), p.size).unflatten(0, (T, -1))
    return p.bn(p.conv(s))


def _ref_cell(cell, states):
    xs = [_ref_pre(p, s) for p, s in zip(cell.pre, states)]
    outs = []
    for m in cell.motifs:
        if m.motif.n_inputs == 1:
            outs.append(_ref_motif(m, [sum(xs)]))
        else:
            older = sum(xs[:-1]) if len(xs) > 1 else xs[-1]
            outs.append(_ref_motif(m, [older, xs[-1]]))
    out = cell.project(torch.cat(outs, dim=2)) if cell.concat else sum(outs)
    return cell.attention(out)


def plain_copy(net):
    """A deep copy of net with spikingjelly's neurons and torch's BatchNorm in place of ours, maps contiguous."""
    ref = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    for mod in ref.modules():
        if type(mod) in SJ:
            mod.__class__ = SJ[type(mod)]
    return ref


def reference(net):
    """A deep copy of net whose forward is the plain one: spikingjelly neurons, torch BatchNorm, contiguous maps."""
    ref = plain_copy(net)

    def forward(x):
        functional.reset_net(ref)
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(ref.T, 1, 1, 1, 1)
        states = [ref.stem(x)]
        for cell, reads in zip(ref.cells, ref.genome.inputs):
            states.append(_ref_cell(cell, [states[s] for s in reads]))
        return ref.classifier(ref.head_neuron(states[-1]).mean(dim=(3, 4))), states[1:]

    ref.forward_features = forward
    return ref


# ---- comparison ----

def _spikes(net):
    """Forward hooks recording every neuron module's outputs, in call order."""
    seen = []
    handles = [m.register_forward_hook(lambda _m, _i, o, name=name: seen.append((name, o.detach())))
               for name, m in net.named_modules() if isinstance(m, BaseNode)]
    return seen, handles


def run(net, x, weights):
    """(logits, cell states, spikes per neuron call, grads by parameter name, input grad) of one pass."""
    x = x.clone().requires_grad_()
    seen, handles = _spikes(net)
    logits, states = net.forward_features(x)
    loss = (logits * weights[0]).sum() + sum((s * w).sum() for s, w in zip(states, weights[1:]))
    loss.backward()
    for h in handles:
        h.remove()
    grads = {n: p.grad for n, p in net.named_parameters() if p.grad is not None}
    return logits.detach(), [s.detach() for s in states], seen, grads, x.grad


def assert_same(net, x, atol, grad_tol=1e-5):
    """The fast network and its reference agree: spikes exactly, maps to atol, gradients to grad_tol
    (relative; spikingjelly's PLIF computes in float32 even on float64 input, so not tighter)."""
    torch.manual_seed(7)
    ref = reference(net)
    with torch.no_grad():
        _, shapes = ref.forward_features(x)
    weights = [torch.randn(net.T, x.shape[-4] if x.dim() == 5 else x.shape[0], net.n_classes, dtype=x.dtype)]
    weights += [torch.randn(s.shape, dtype=x.dtype) for s in shapes]
    a, b = run(net, x, weights), run(ref, x, weights)
    assert torch.allclose(a[0], b[0], atol=atol, rtol=0)
    for sa, sb in zip(a[1], b[1]):
        assert torch.allclose(sa, sb, atol=atol, rtol=0)
    assert [n for n, _ in a[2]] == [n for n, _ in b[2]]                 # same neurons, same calls
    for (name, sa), (_, sb) in zip(a[2], b[2]):
        assert torch.equal(sa, sb), name
    assert a[3].keys() == b[3].keys()
    for name in a[3]:
        assert torch.allclose(a[3][name], b[3][name], atol=grad_tol * 1e-2, rtol=grad_tol), name
    assert torch.allclose(a[4], b[4], atol=grad_tol * 1e-2, rtol=grad_tol)


SPACES = [("tiny", (1, 8, 8), {}), ("fixed", (2, 8, 8), {}), ("mse-nas", (3, 16, 16), {"channels": 4})]


@pytest.mark.parametrize("space,shape,changes", SPACES)
def test_random_genomes_match_the_plain_simulation_in_float64(space, shape, changes):
    rng = np.random.default_rng(17)
    for i in range(4 if space != "mse-nas" else 2):
        g = dataclasses.replace(sample(get_space(space), rng), **changes)
        torch.manual_seed(i)
        net = build_network(g, shape, 5, T=3).double().train()
        assert_same(net, torch.rand(3, 2, *shape, dtype=torch.float64), atol=1e-9)


# ---- the neurons alone (float32, the path every run takes) ----

@pytest.mark.parametrize("name", ["lif", "plif", "if"])
@pytest.mark.parametrize("step_mode", ["m", "s"])
def test_fused_neuron_equals_spikingjelly_node(name, step_mode):
    torch.manual_seed(0)
    ours, ref = make_neuron(name, NeuronParams(), step_mode), _sj(name, step_mode)
    if name == "plif":
        with torch.no_grad():
            ours.w.fill_(0.3), ref.w.fill_(0.3)
    x = (torch.randn(5, 3, 4, 6, 6) * 0.8 + 0.3).contiguous(memory_format=torch.channels_last_3d)
    g = torch.randn(5, 3, 4, 6, 6)
    outs = []
    for node in (ours, ref):
        xi = x.clone().requires_grad_()
        y = node(xi) if step_mode == "m" else torch.stack([node(xi[t]) for t in range(5)])
        (y * g).sum().backward()
        outs.append((y.detach(), xi.grad, node.v.detach(), node.w.grad if name == "plif" else None))
    assert_same_neuron_run(outs, name, grad_atol=1e-6)


def test_fused_kernel_is_built_and_used_on_cpu():
    assert kernels.load(kernels.NEURONS) is not None
    assert fused.supported(torch.zeros(2, 3))
    y = make_neuron("lif")(torch.rand(4, 2, 3, requires_grad=True))
    assert type(y.grad_fn).__name__ == "_NeuronBackward"


def test_non_default_dynamics_fall_back_to_spikingjelly():
    from spikingjelly.activation_based import surrogate

    node = make_neuron("lif")
    node.surrogate_function = surrogate.Sigmoid()
    ref = _sj("lif", "m")
    ref.surrogate_function = surrogate.Sigmoid()
    x = torch.randn(4, 3, 5, requires_grad=True)
    y = node(x)
    assert type(y.grad_fn).__name__ != "_NeuronBackward"
    assert torch.equal(y, ref(x))


# ---- explicit genomes: feedback, concat, attention, all neuron models ----

def _cell(*motifs, integration="sum"):
    return Cell(tuple(motifs), integration)


def test_feedback_concat_and_every_neuron_match_the_plain_simulation():
    fb = instantiate("feedback", 2, [Op("conv3x3", 1, "plif"), Op("avgpool3x3", -1, "if"), Op("conv1x1", -1, "lif")])
    darts = instantiate("darts", 2, [Op("identity", 1, "if"), Op("maxpool3x3", -1, "plif"), Op("conv5x5", 1, "lif"),
                                     Op("zero")], [0, 1, 0, 2])
    chain = instantiate("chain", 2, [Op("conv3x3", -1, "if"), Op("identity", 1, "plif")])
    cells = (_cell(fb, darts, integration="concat"), _cell(chain, fb), _cell(darts, chain, integration="concat"))
    g = Genome(cells=cells, inputs=((0,), (0, 1), (1, 2)), reductions=(1,), channels=4, stem_multiplier=2)
    assert any(e.delay for e in fb.edges)
    for attention in ("none", "eca", "cbam+temporal"):
        torch.manual_seed(1)
        net = build_network(dataclasses.replace(g, attention=attention), (2, 12, 12), 4, T=4).double()
        assert_same(net, torch.rand(4, 3, 2, 12, 12, dtype=torch.float64), atol=1e-9)


@pytest.mark.parametrize("space,shape,changes", SPACES)
def test_float32_forward_is_bit_identical_to_the_plain_simulation(space, shape, changes):
    # the forward every fitness evaluation and every evaluation runs: same spikes, same logits, bit for bit
    rng = np.random.default_rng(3)
    for i in range(3):
        g = dataclasses.replace(sample(get_space(space), rng), **changes)
        torch.manual_seed(i)
        net = build_network(g, shape, 10, T=4)
        ref = reference(net)
        x = torch.rand(4, 8, *shape)
        for train in (True, False):
            outs = []
            for m in (net, ref):
                m.train(train)
                seen, handles = _spikes(m)
                with torch.no_grad():
                    outs.append((m.forward_features(x)[0], seen))
                for h in handles:
                    h.remove()
            (ya, sa), (yb, sb) = outs
            assert torch.equal(ya, yb) and all(torch.equal(p[1], q[1]) for p, q in zip(sa, sb))


def test_supernet_matches_its_plain_version():
    from msenas.darts import DartsConfig, Supernet

    cfg = DartsConfig(n_cells=3, channels=4, n_nodes=2, attention="eca").validate()
    torch.manual_seed(0)
    sup = Supernet(cfg, (1, 8, 8), 10).double()
    ref = plain_copy(sup)
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    outs = []
    for net in (sup, ref):
        seen, handles = _spikes(net)
        y = net(x)
        y.square().sum().backward()
        outs.append((y.detach(), seen, {n: p.grad for n, p in net.named_parameters() if p.grad is not None}))
        for h in handles:
            h.remove()
    (ya, sa, ga), (yb, sb, gb) = outs
    assert torch.allclose(ya, yb, atol=1e-9)
    assert len(sa) == len(sb) and all(torch.equal(p[1], q[1]) for p, q in zip(sa, sb))
    assert ga.keys() == gb.keys() and all(torch.allclose(ga[n], gb[n], atol=1e-9) for n in ga)


def test_spike_monitor_totals_equal_per_hook_host_sums():
    from msenas.nn.monitor import SpikeMonitor

    g = sample(get_space("tiny"), np.random.default_rng(11))
    net = build_network(g, (1, 8, 8), 10, T=3)
    cells, other = [0.0] * g.n_cells, [0.0]          # the monitor before issue 17/20: float() per hook
    handles = []                                     # (SOPs: tests/test_energy.py, against spikingjelly's counter)
    for name, mod in net.named_modules():
        if isinstance(mod, BaseNode):
            i = int(name.split(".")[1]) if name.startswith("cells.") else None

            def spk(_m, _i, out, i=i):
                if i is None:
                    other[0] += float(out.sum())
                else:
                    cells[i] += float(out.sum())
            handles.append(mod.register_forward_hook(spk))
    with SpikeMonitor(net) as mon, torch.no_grad():
        for seed in range(3):
            net(torch.rand(3, 4, 1, 8, 8, generator=torch.Generator().manual_seed(seed)))
    for h in handles:
        h.remove()
    assert mon.per_cell == cells and mon.other == other[0] and mon.total > 0
    summary = mon.summary(12)
    assert summary["spikes"] == (sum(cells) + other[0]) / 12 and summary["spikes_per_cell"] == [c / 12 for c in cells]


@pytest.mark.parametrize("momentum,affine", [(0.1, True), (None, True), (0.1, False)])
def test_batchnorm_kernels_match_torch(momentum, affine):
    torch.manual_seed(0)
    ours = BatchNorm2d(6, momentum=momentum, affine=affine, step_mode="m")
    ref = layer.BatchNorm2d(6, momentum=momentum, affine=affine, step_mode="m")
    ref.load_state_dict(ours.state_dict())
    x = (torch.randn(12, 6, 5, 5) * 2 + 1).contiguous(memory_format=torch.channels_last).unflatten(0, (3, 4))
    g = torch.randn(3, 4, 6, 5, 5)
    outs = []
    for bn in (ours, ref):
        xi = x.clone().requires_grad_()
        for _ in range(2):                                       # running statistics updated twice
            y = bn(xi)
        (y * g).sum().backward()
        outs.append((y.detach(), xi.grad, [p.grad for p in bn.parameters()], bn.running_mean, bn.running_var))
    (ya, ga, pa, ma, va), (yb, gb, pb, mb, vb) = outs
    assert torch.allclose(ya, yb, atol=1e-5) and torch.allclose(ma, mb, atol=1e-6) and torch.allclose(va, vb, atol=1e-5)
    assert ours.num_batches_tracked == ref.num_batches_tracked == 2
    assert torch.allclose(ga, gb, atol=1e-5) and len(pa) == len(pb)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(pa, pb))


@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_block_mean_pooling_equals_adaptive_pooling_bit_for_bit(fmt):
    from msenas.nn.maps import pool_to

    cases = [((8, 5, 12, 12), (6, 6)), ((8, 5, 12, 12), (4, 4)), ((8, 5, 15, 10), (5, 2)), ((4, 3, 9, 9), (4, 4))]
    for shape, size in cases:
        s = (torch.rand(shape) > 0.6).float().contiguous(memory_format=fmt)
        a, b = s.clone().requires_grad_(), s.clone().requires_grad_()
        g = torch.randn(shape[0], shape[1], *size)
        pa, pb = pool_to(a, size), F.adaptive_avg_pool2d(b, size)
        pa.backward(g), pb.backward(g)
        assert torch.equal(pa, pb) and torch.equal(a.grad, b.grad)


def test_an_empty_batch_still_runs_forward_and_backward():
    g = Genome(cells=(_cell(instantiate("feedback", 1, [Op("conv3x3"), Op("conv1x1", -1, "plif")])),),
               inputs=((0,),), reductions=(), channels=4, stem_multiplier=1)
    net = build_network(g, (1, 8, 8), 3, T=2)
    y = net(torch.rand(2, 0, 1, 8, 8))
    assert y.shape == (2, 0, 3)
    y.sum().backward()
    grads = [p.grad for p in net.parameters()]
    assert grads and all(g is not None and torch.equal(g, torch.zeros_like(g)) for g in grads)   # nothing to learn


def test_with_a_failing_c_compiler_the_neurons_run_spikingjelly_and_agree(tmp_path, monkeypatch):
    # no compiler at all: tests/test_kernels.py
    monkeypatch.setenv("MSENAS_CACHE", str(tmp_path))          # nothing cached there
    monkeypatch.setenv("CC", "false")                           # a compiler that always fails
    kernels.load.cache_clear()
    try:
        assert kernels.load(kernels.NEURONS) is None and not fused.supported(torch.zeros(2, 3))
        x = torch.randn(4, 3, 5)
        assert torch.equal(make_neuron("lif")(x), _sj("lif", "m")(x))
    finally:
        kernels.load.cache_clear()


def test_forward_does_not_depend_on_the_thread_count():
    # as before issue 17: spikes and logits are the same for any thread count (torch's channels-last training
    # BatchNorm would break that); weight gradients of torch's conv backward do vary in the last bits
    g = sample(get_space("fixed"), np.random.default_rng(5))
    x = torch.rand(4, 16, 2, 16, 16)
    runs = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        net = build_network(g, (2, 16, 16), 10, T=4).train()
        seen, handles = _spikes(net)
        y = net(x)
        y.square().sum().backward()
        runs.append((y.detach(), [o for _, o in seen], [p.grad for p in net.parameters()]))
        for h in handles:
            h.remove()
    torch.set_num_threads(1)
    (ya, sa, ga), (yb, sb, gb) = runs
    assert torch.equal(ya, yb) and all(torch.equal(a, b) for a, b in zip(sa, sb))
    assert all((a - b).norm() <= 1e-4 * b.norm() for a, b in zip(ga, gb))


def test_pixel_sums_read_either_memory_format_and_count_exactly():
    from msenas.nn.monitor import pixel_sums

    x = (torch.rand(3, 2, 5, 6, 7, generator=torch.Generator().manual_seed(0)) > 0.6).float()
    want = x.sum(dim=(0, 1, 2), dtype=torch.float64)
    last = x.view(6, 5, 6, 7).contiguous(memory_format=torch.channels_last).view(3, 2, 5, 6, 7)
    assert last.stride(-3) == 1
    for t in (x, last, x[0], last.flatten(0, 1)):
        assert torch.equal(pixel_sums(t).double(), t.sum(dim=tuple(range(t.dim() - 2)), dtype=torch.float64))
    assert torch.equal(pixel_sums(last).double(), want)


def test_spike_monitor_reads_a_neurons_map_once_but_not_after_it_changes():
    from torch import nn

    from msenas.nn.monitor import SpikeMonitor

    class Net(nn.Module):          # a neuron feeding a conv; `poke` changes the spikes in place between the two
        def __init__(self, poke: bool):
            super().__init__()
            self.lif = neuron.LIFNode(step_mode="m", v_threshold=0.5)
            self.conv = layer.Conv2d(2, 3, 3, padding=1, bias=False, step_mode="m")
            self.poke = poke

        def forward(self, x):
            s = self.lif(x)
            if self.poke:
                s.mul_(2.0)                 # 2 events per spike: the conv's count must follow, not the neuron's
            return self.conv(s)

    x = torch.rand(2, 3, 2, 5, 5, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        s = neuron.LIFNode(step_mode="m", v_threshold=0.5)(x)
    reach = F.conv_transpose2d(torch.ones(1, 1, 5, 5, dtype=torch.float64),
                               torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=1)[0, 0]
    sops = float((s.sum(dim=(0, 1, 2), dtype=torch.float64) * reach).sum() * 3)
    assert s.sum() > 0
    for poke, factor in ((False, 1.0), (True, 2.0)):
        net = Net(poke)
        with SpikeMonitor(net) as mon, torch.no_grad():
            net(x)
        assert mon.total == float(s.sum()) and mon.sops == sops * factor


@pytest.mark.parametrize("k,dtype,mode", [(3, torch.float32, "m"), (5, torch.float64, "m"), (3, torch.float32, "s")])
def test_avgpool_by_window_sums_equals_spikingjellys_on_spikes_forward_and_backward(k, dtype, mode):
    from msenas.nn.maps import AvgPool2d

    gen = torch.Generator().manual_seed(k)
    shape = (3, 4, 5, 7, 6) if mode == "m" else (4, 5, 7, 6)
    s = (torch.rand(shape, generator=gen) > 0.6).to(dtype)
    if mode == "m":
        s = s.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, shape[:2])
    g = torch.randn(shape, generator=gen, dtype=dtype)
    outs = []
    for cls in (layer.AvgPool2d, AvgPool2d):
        x = s.clone().requires_grad_()
        y = cls(k, 1, k // 2, count_include_pad=False, step_mode=mode)(x)
        y.backward(g)
        outs.append((y.detach(), x.grad))
    (ya, ga), (yb, gb) = outs
    assert torch.equal(ya, yb)                          # window sums of spikes are exact: the same values
    assert torch.allclose(ga, gb, rtol=1e-6 if dtype == torch.float32 else 1e-12, atol=0)
    assert AvgPool2d(k, 1, k // 2, count_include_pad=False)._by_sums(s.flatten(0, 1) if mode == "m" else s)
    assert not AvgPool2d(k, 2, k // 2, count_include_pad=False)._by_sums(s.flatten(0, 1) if mode == "m" else s)
