"""Spiking neuron models (spikingjelly), by name: lif, plif, if.

Each is a spikingjelly node (LIFNode, ParametricLIFNode, IFNode) whose CPU
forwards, multi-step and single-step, run the fused kernel of
msenas/nn/fused.py: same dynamics and surrogate gradient, one pass over memory
instead of a Python loop of tensor ops per time step. Anything the kernel does
not cover (CUDA, half precision, another surrogate, soft reset, a recorded
voltage sequence) takes spikingjelly's own path. Under mixed precision
(float16 / bfloat16 inputs, msenas.runtime.Precision) the membrane potential
stays float32: spikingjelly's fused CUDA kernels (Triton or native, see
msenas/nn/cuda_backend.py) take half inputs only with a float32 state, and
fall back to their per-step reference loop when the state is half too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from msenas.genome.parts import NEURONS, load_object
from msenas.nn import fused


@dataclass(frozen=True)
class NeuronParams:
    """Shared neuron constants (MSE-NAS defaults: tau 2.0, threshold 0.5, hard reset)."""

    tau: float = 2.0
    v_threshold: float = 0.5
    detach_reset: bool = True


# spikingjelly's neurons probe for Triton on every forward; on a CPU-only torch each
# probe logs "Triton not available" (a harmless warning) to stderr: keep it quiet.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)

HALF = (torch.float16, torch.bfloat16)   # autocast dtypes: their neuron state is kept in float32


class FusedNode:
    """Mixin for a spikingjelly node: forwards on CPU through the fused kernel when it applies."""

    kind = ""

    def _dynamics(self) -> fused.Dynamics | None:
        sg = self.surrogate_function
        plain = (type(sg) is surrogate.ATan and sg.spiking and isinstance(sg.alpha, (int, float))
                 and self.v_reset is not None and not self.store_v_seq and self._neuron_precision is None
                 and getattr(self, "decay_input", True))
        if not plain:
            return None
        return fused.Dynamics(self.kind, float(getattr(self, "tau", 0.0)), float(self.v_threshold),
                              float(self.v_reset), bool(self.detach_reset), float(sg.alpha))

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        d = self._dynamics()
        if args or kwargs or d is None or not fused.supported(x_seq):
            return super().multi_step_forward(x_seq, *args, **kwargs)
        v = self.v                                   # a float after reset: every element starts there
        v0 = self.materialize_states((x_seq,), (v,), "m")[0] if torch.is_tensor(v) else float(v)   # [B,...]
        s, self.v = fused.neuron_forward(d, x_seq, v0, getattr(self, "w", None))
        return s                                                                # [T,B,...]

    def materialize_states(self, inputs: tuple, states: tuple, step_mode: str) -> tuple:
        """spikingjelly's states, except a float32 potential for half-precision multi-step inputs (see above)."""
        x = inputs[0][0] if step_mode == "m" else inputs[0]                     # [B,...]
        if step_mode != "m" or x.dtype not in HALF or self._neuron_precision is not None:
            return super().materialize_states(inputs, states, step_mode)
        v = states[0]
        if torch.is_tensor(v) and v.shape == x.shape:
            v = v.to(device=x.device, dtype=torch.float32)
        else:                                  # a float after reset, or a state left from another batch shape
            v = torch.full(x.shape, float(v) if not torch.is_tensor(v) else float(self.v_reset or 0.0),
                           dtype=torch.float32, device=x.device)
        return (v, *states[1:])

    def single_step_forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        if args or kwargs or self._dynamics() is None or not (fused.supported(x) or x.dtype in HALF):
            return super().single_step_forward(x, *args, **kwargs)
        return self.multi_step_forward(x.unsqueeze(0)).squeeze(0)   # squeeze: its backward is a view


class LIF(FusedNode, neuron.LIFNode):
    kind = "lif"


class PLIF(FusedNode, neuron.ParametricLIFNode):
    kind = "plif"


class IF(FusedNode, neuron.IFNode):
    kind = "if"


def build_lif(p: NeuronParams, step_mode: str) -> nn.Module:
    return LIF(tau=p.tau, v_threshold=p.v_threshold, v_reset=0.0,
               surrogate_function=surrogate.ATan(), detach_reset=p.detach_reset, step_mode=step_mode)


def build_plif(p: NeuronParams, step_mode: str) -> nn.Module:
    return PLIF(init_tau=p.tau, v_threshold=p.v_threshold, v_reset=0.0,
                surrogate_function=surrogate.ATan(), detach_reset=p.detach_reset, step_mode=step_mode)


def build_if(p: NeuronParams, step_mode: str) -> nn.Module:
    return IF(v_threshold=p.v_threshold, v_reset=0.0,
              surrogate_function=surrogate.ATan(), detach_reset=p.detach_reset, step_mode=step_mode)


def make_neuron(name: str, params: NeuronParams = NeuronParams(), step_mode: str = "m") -> nn.Module:
    """Build a neuron module of the model registered as `name` (msenas.genome.parts.NEURONS)."""
    return load_object(NEURONS.get(name).build)(params, step_mode)
