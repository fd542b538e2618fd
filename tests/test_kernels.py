"""The C kernels of msenas/nn/csrc: one declaration per signature (the header, checked by the compiler and read by
ctypes), scratch that does not grow with T (the T limit and far beyond), and the torch / spikingjelly path when no
C compiler works."""
from __future__ import annotations

import ctypes
import logging
import shutil

import pytest
import torch
from helpers import assert_same_neuron_run
from spikingjelly.activation_based import neuron

from msenas.fitness.config import LIMITS
from msenas.genome import Op, instantiate
from msenas.genome.types import Cell, Genome
from msenas.nn import batchnorm, fused, kernels
from msenas.nn.network import build_network
from msenas.nn.neurons import IF, LIF, PLIF, NeuronParams, make_neuron

T_LIMIT = LIMITS["T"]           # the largest T a fitness config accepts
SJ = {LIF: neuron.LIFNode, PLIF: neuron.ParametricLIFNode, IF: neuron.IFNode}


def _ptr(t: torch.Tensor | None):
    return None if t is None else ctypes.c_void_p(t.data_ptr())


# ----------------------------------------------------------------------------- declared once, in the header

def test_a_header_is_read_into_ctypes_declarations():
    api = kernels.parse_header("""
        /* comment: int ignored(int x); */
        #include <stdint.h>
        enum mode { A = 0, B = 3 };
        struct p { int a; double b;   /* field comment */
                   int64_t c; };
        int f(const float *x, double *out, int64_t n, const struct p *q);
        void g(void);
    """)
    assert api.enums == {"A": 0, "B": 3}
    assert [(n, t) for n, t in api.structs["p"]._fields_] == [("a", ctypes.c_int), ("b", ctypes.c_double),
                                                               ("c", ctypes.c_int64)]
    assert api.functions["f"] == (ctypes.c_int, (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                                 ctypes.POINTER(api.structs["p"])))
    assert api.functions["g"] == (None, ()) and set(api.functions) == {"f", "g"}
    with pytest.raises(ValueError, match="'size_t n': type unknown"):
        kernels.parse_header("int h(size_t n);")


@pytest.mark.parametrize("lib", [kernels.NEURONS, kernels.BATCHNORM], ids=lambda lib: lib.name)
def test_each_library_exports_what_its_header_declares_with_the_header_signatures(lib):
    loaded = kernels.load(lib)
    assert loaded is not None and loaded.library == lib
    assert len(lib.interface.functions) == 4
    for name, (restype, argtypes) in lib.interface.functions.items():
        fn = getattr(loaded, name)
        assert fn.restype is restype and fn.argtypes == list(argtypes)


def test_batchnorm_is_its_own_library():
    assert kernels.BATCHNORM.name == "batchnorm" and kernels.NEURONS.name == "neurons"
    assert not set(kernels.NEURONS.interface.functions) & set(kernels.BATCHNORM.interface.functions)
    assert all(n.startswith("batchnorm_") for n in kernels.BATCHNORM.interface.functions)


def test_a_definition_that_disagrees_with_its_header_does_not_build(tmp_path):
    src = tmp_path / "csrc"
    shutil.copytree(kernels.CSRC, src)
    header = (src / "neurons.h").read_text()
    (src / "neurons.h").write_text(header.replace("int64_t N, const struct neuron *p);",
                                                  "int64_t N, const struct neuron *p, int extra);", 1))
    doctored = kernels.Library("neurons", "neurons.c", "neurons.h", root=src)
    assert len(doctored.interface.functions["neuron_forward_f32"][1]) == 9     # the header changed alone...
    with pytest.raises(OSError, match="conflicting types"):                      # ...and the compiler refuses it
        kernels._compile(doctored, tmp_path / "out.so", openmp=False)


# ----------------------------------------------------------------------------- T: the limit and beyond

@pytest.mark.parametrize("name", ["lif", "plif", "if"])
def test_fused_neurons_at_the_T_limit_equal_spikingjelly(name):
    torch.manual_seed(0)
    ours = make_neuron(name, NeuronParams(), "m")
    ref = make_neuron(name, NeuronParams(), "m")
    ref.__class__ = SJ[type(ref)]                                 # the same node, run by spikingjelly itself
    if name == "plif":
        with torch.no_grad():
            ours.w.fill_(0.3), ref.w.fill_(0.3)
    x = torch.randn(T_LIMIT, 2, 75) * 0.8 + 0.3                  # 150 elements per step: 2 chunks of 64 and 22
    g = torch.randn(T_LIMIT, 2, 75)
    outs = []
    for node in (ours, ref):
        xi = x.clone().requires_grad_()
        y = node(xi)
        (y * g).sum().backward()
        outs.append((y.detach(), xi.grad, node.v.detach(), node.w.grad if name == "plif" else None))
    assert type(ours) is not type(ref) and fused.supported(x)
    assert_same_neuron_run(outs, name, grad_atol=1e-5)


def _run(x, v0, gs, gvT, charge: str, threads: int):
    """One forward and backward call of the float64 kernels: (spikes, vT, gx, gv0, PLIF's dL/dk)."""
    lib = kernels.load(kernels.NEURONS)
    p = kernels.NEURONS.interface.structs["neuron"](
        charge=kernels.NEURONS.interface.enums[charge], k=0.5, threshold=0.5, reset=0.0, slope=3.14, height=1.0,
        detach_reset=0, threads=threads)
    T, N = x.shape
    s, vT, gx, gv0, gk = torch.empty_like(x), torch.empty_like(v0), torch.empty_like(x), torch.empty_like(v0), \
        ctypes.c_double()
    assert lib.neuron_forward_f64(_ptr(x), _ptr(v0), 0.0, _ptr(s), _ptr(vT), T, N, ctypes.byref(p)) == 0
    assert lib.neuron_backward_f64(_ptr(x), _ptr(v0), 0.0, _ptr(gs), _ptr(gvT), _ptr(gx), _ptr(gv0),
                                   ctypes.addressof(gk), T, N, ctypes.byref(p)) == 0
    return s, vT, gx, gv0, gk.value


@pytest.mark.parametrize("charge", ["CHARGE_MULTIPLY", "CHARGE_PLIF"])
def test_backward_scratch_is_bounded_per_thread_at_any_T(charge):
    # float64 at 16 x the T limit: T x 64 values of scratch are 8 MiB per thread, as much as a whole default thread
    # stack (a stack array would overflow it). The result must not depend on the thread count, and a run over
    # [0, T) must equal the same kernel run over [0, T/2) and then [T/2, T) from the state the first half leaves.
    T, N, h = 16 * T_LIMIT, 130, 8 * T_LIMIT
    gen = torch.Generator().manual_seed(0)
    x, gs = (torch.randn(T, N, generator=gen, dtype=torch.float64) * 0.8 + 0.3 for _ in range(2))
    v0, gvT = torch.randn(N, generator=gen, dtype=torch.float64) * 0.2, torch.randn(N, dtype=torch.float64)
    one, two = _run(x, v0, gs, gvT, charge, 1), _run(x, v0, gs, gvT, charge, 2)
    assert all(torch.equal(a, b) for a, b in zip(one[:4], two[:4])) and one[4] == two[4]
    s2, vT2, gx2, gmid, gk2 = _run(x[h:].contiguous(), _run(x[:h].contiguous(), v0, gs[:h], gvT, charge, 1)[1],
                                   gs[h:].contiguous(), gvT, charge, 2)
    s1, vmid, gx1, gv01, gk1 = _run(x[:h].contiguous(), v0, gs[:h].contiguous(), gmid, charge, 2)
    assert torch.equal(torch.cat([s1, s2]), one[0]) and torch.equal(vT2, one[1])
    assert torch.equal(torch.cat([gx1, gx2]), one[2]) and torch.equal(gv01, one[3])
    assert gk1 + gk2 == pytest.approx(one[4], rel=1e-9) and (charge == "CHARGE_PLIF") == (one[4] != 0.0)


# ----------------------------------------------------------------------------- no compiler

def _small_network():
    motif = instantiate("chain", 2, [Op("conv3x3"), Op("conv1x1", -1, "plif")])
    g = Genome(cells=(Cell((motif,)), Cell((instantiate("chain", 1, [Op("conv3x3", 1, "if")]),))),
               inputs=((0,), (1,)), reductions=(1,), channels=4, stem_multiplier=1)
    torch.manual_seed(0)
    return build_network(g, (1, 8, 8), 3, T=3).double().train()


def _outputs(net, x):
    y = net(x)
    y.square().sum().backward()
    return y.detach(), [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("how", ["CC names a missing program", "no compiler on PATH"])
def test_without_a_c_compiler_everything_runs_the_plain_path_and_agrees(how, tmp_path, monkeypatch, caplog):
    x = torch.rand(3, 4, 1, 8, 8, dtype=torch.float64)
    channels_last = torch.zeros(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    assert fused.supported(x) and batchnorm._applies(channels_last)
    with_kernels = _outputs(_small_network(), x)
    monkeypatch.setenv("MSENAS_CACHE", str(tmp_path / "cache"))            # nothing built there yet
    if how == "CC names a missing program":
        monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    else:
        monkeypatch.delenv("CC", raising=False)
        monkeypatch.setenv("PATH", str(tmp_path))                          # an empty folder: no gcc, no cc
    kernels.load.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="msenas.nn.kernels"):
            assert kernels.load(kernels.NEURONS) is None and kernels.load(kernels.BATCHNORM) is None
        assert "'neurons' unavailable" in caplog.text and "'batchnorm' unavailable" in caplog.text
        assert not fused.supported(x) and not batchnorm._applies(channels_last)
        assert not (tmp_path / "cache" / "kernels").exists() or not any((tmp_path / "cache" / "kernels").iterdir())
        plain = _outputs(_small_network(), x)
    finally:
        kernels.load.cache_clear()
    assert torch.allclose(with_kernels[0], plain[0], atol=1e-9)
    assert all(torch.allclose(a, b, atol=1e-9) for a, b in zip(with_kernels[1], plain[1]))
