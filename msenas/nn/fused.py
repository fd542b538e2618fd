"""Autograd around the fused CPU neuron kernels (msenas/nn/csrc/neurons.c, loaded by msenas/nn/kernels.py).

Forward: spikes [T, ...] and the final membrane potential from the input
sequence [T, ...] and the initial potential [...] in one pass. Backward:
spikingjelly's surrogate-gradient recursion (ATan, hard reset), recomputing
the potentials from the saved input instead of storing them. Tensors keep
their memory layout (channels-last included); only the time axis must be
outermost.
"""
from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable
from torch.profiler import record_function

from msenas.nn import kernels

_DTYPES = (torch.float32, torch.float64)
_PARALLEL_MIN = 1 << 15        # elements per call below which one thread is faster than a team
_CHARGE = kernels.NEURONS.interface.enums                        # CHARGE_ADD, ... (csrc/neurons.h)
_Params = kernels.NEURONS.interface.structs["neuron"]            # struct neuron: one layer's constants


@dataclass(frozen=True)
class Dynamics:
    """One neuron layer's constants (PLIF's 1/tau is sigmoid(w), passed with each call)."""

    kind: str              # "if" | "lif" | "plif"
    tau: float             # LIF only
    v_threshold: float
    v_reset: float
    detach_reset: bool
    alpha: float           # ATan surrogate: g(x) = (alpha/2) / (1 + (pi/2 * alpha * x)^2)


def supported(x: torch.Tensor) -> bool:
    """Whether the fused kernel can run on this input (CPU float32/float64, library built)."""
    return x.device.type == "cpu" and x.dtype in _DTYPES and x.numel() > 0 and kernels.load(kernels.NEURONS) is not None


def _dense(t: torch.Tensor) -> bool:
    """Non-overlapping and dense in some dimension order (contiguous or channels-last)."""
    expected = 1
    for size, stride in sorted(((s, st) for s, st in zip(t.shape, t.stride()) if s != 1), key=lambda p: p[1]):
        if stride != expected:
            return False
        expected *= size
    return True


def _time_major(x: torch.Tensor) -> torch.Tensor:
    """x [T, ...] with T outermost in memory and each step dense; copies only when it is not."""
    ok = _dense(x) and (x.shape[0] == 1 or x.stride(0) == x[0].numel())
    return x if ok else x.contiguous()


def _like(ref: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor | None:
    """t laid out exactly as ref (a copy when the strides differ)."""
    if t is None or t.stride() == ref.stride():
        return t
    return torch.empty_like(ref).copy_(t)


def _ptr(t: torch.Tensor | None) -> ctypes.c_void_p | None:
    return None if t is None else ctypes.c_void_p(t.data_ptr())


def _threads(x: torch.Tensor) -> int:
    return torch.get_num_threads() if x.numel() >= _PARALLEL_MIN else 1


def _charge(d: Dynamics, w: torch.Tensor | None) -> tuple[int, float]:
    """(kernel charge, its constant k) of a layer; LIF multiplies by 1/tau when that is exact."""
    if d.kind == "if":
        return _CHARGE["CHARGE_ADD"], 0.0
    if d.kind == "plif":
        return _CHARGE["CHARGE_PLIF"], float(torch.sigmoid(w.detach().float()))   # spikingjelly: float32 q
    if math.frexp(d.tau)[0] == 0.5:                     # tau = 2^n: x / tau and x * (1 / tau) round alike
        return _CHARGE["CHARGE_MULTIPLY"], 1.0 / d.tau
    return _CHARGE["CHARGE_DIVIDE"], d.tau


def _params(d: Dynamics, charge: tuple[int, float], x: torch.Tensor) -> ctypes.Structure:
    """The kernel's struct neuron for this layer and input."""
    return _Params(charge=charge[0], k=charge[1], threshold=d.v_threshold, reset=d.v_reset,
                   slope=math.pi / 2 * d.alpha, height=d.alpha / 2, detach_reset=int(d.detach_reset),
                   threads=_threads(x))


def _state(v0: torch.Tensor | float) -> tuple:
    """(pointer, value) kernel arguments of an initial potential: a tensor, or one value for every element."""
    return (_ptr(v0), 0.0) if torch.is_tensor(v0) else (None, float(v0))


def _forward(d: Dynamics, charge: tuple[int, float], x, v0) -> tuple[torch.Tensor, torch.Tensor]:
    s, vT = torch.empty_like(x), torch.empty_like(x[0])    # [T,...], [...]
    lib = kernels.load(kernels.NEURONS)
    fn = lib.neuron_forward_f32 if x.dtype == torch.float32 else lib.neuron_forward_f64
    with record_function(f"msenas::{d.kind}_forward"):     # visible to the torch profiler
        rc = fn(_ptr(x), *_state(v0), _ptr(s), _ptr(vT), x.shape[0], vT.numel(), ctypes.byref(_params(d, charge, x)))
    kernels.check(rc, f"{d.kind} forward")
    return s, vT


def _backward(d: Dynamics, charge: tuple[int, float], x, v0, gs, gvT, want_gv0: bool):
    """(gx [T,...], gv0 [...] or None, PLIF's dL/dk)."""
    gx = torch.empty_like(x)
    gv0 = torch.empty_like(x[0]) if want_gv0 else None
    gq = ctypes.c_double(0.0)
    lib = kernels.load(kernels.NEURONS)
    fn = lib.neuron_backward_f32 if x.dtype == torch.float32 else lib.neuron_backward_f64
    with record_function(f"msenas::{d.kind}_backward"):
        rc = fn(_ptr(x), *_state(v0), _ptr(gs), _ptr(gvT), _ptr(gx), _ptr(gv0), ctypes.addressof(gq), x.shape[0],
                x[0].numel(), ctypes.byref(_params(d, charge, x)))
    kernels.check(rc, f"{d.kind} backward")
    return gx, gv0, gq.value


class _Neuron(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, v0, w, d: Dynamics):
        ctx.d, ctx.charge = d, _charge(d, w)
        ctx.v0 = None if torch.is_tensor(v0) else v0
        ctx.save_for_backward(x, v0 if torch.is_tensor(v0) else None, w)
        ctx.set_materialize_grads(False)                     # an unused final potential: gvT None, not zeros
        return _forward(d, ctx.charge, x, v0)

    @staticmethod
    @once_differentiable
    def backward(ctx, gs, gvT):
        x, v0, w = ctx.saved_tensors
        v0 = v0 if ctx.v0 is None else ctx.v0
        gs = torch.zeros_like(x) if gs is None else _like(x, gs)
        want_gv0 = torch.is_tensor(v0) and ctx.needs_input_grad[1]
        gx, gv0, gq = _backward(ctx.d, ctx.charge, x, v0, gs, _like(x[0], gvT), want_gv0)
        gw = None
        if w is not None and ctx.needs_input_grad[2]:
            q = torch.sigmoid(w.detach().float())
            gw = (torch.tensor(gq, dtype=q.dtype) * q * (1 - q)).to(w.dtype)
        return gx, gv0, gw, None


def neuron_forward(d: Dynamics, x: torch.Tensor, v0: torch.Tensor | float,
                   w: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes [T, ...] and final potential [...] of x [T, ...] from v0 ([...] or one value); w: PLIF's parameter."""
    x = _time_major(x)
    if torch.is_tensor(v0):
        v0 = _like(x[0], v0.to(x.dtype))
    tracked = torch.is_grad_enabled() and any(torch.is_tensor(t) and t.requires_grad for t in (x, v0, w))
    if tracked:
        return _Neuron.apply(x, v0, w, d)
    return _forward(d, _charge(d, w), x, v0)
