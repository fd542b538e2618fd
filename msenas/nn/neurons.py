"""Spiking neuron models (spikingjelly), by name: lif, plif, if."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from spikingjelly.activation_based import neuron, surrogate
from torch import nn

from msenas.registry import Registry


@dataclass(frozen=True)
class NeuronParams:
    """Shared neuron constants (MSE-NAS defaults: tau 2.0, threshold 0.5, hard reset)."""

    tau: float = 2.0
    v_threshold: float = 0.5
    detach_reset: bool = True


# spikingjelly's neurons probe for Triton on every forward; on a CPU-only torch each
# probe logs "Triton not available" (a harmless warning) to stderr: keep it quiet.
logging.getLogger("torch._library.triton").setLevel(logging.ERROR)

NEURONS: Registry = Registry("neuron model")


@NEURONS.register("lif")
def _lif(p: NeuronParams, step_mode: str) -> nn.Module:
    return neuron.LIFNode(tau=p.tau, v_threshold=p.v_threshold, v_reset=0.0,
                          surrogate_function=surrogate.ATan(), detach_reset=p.detach_reset, step_mode=step_mode)


@NEURONS.register("plif")
def _plif(p: NeuronParams, step_mode: str) -> nn.Module:
    return neuron.ParametricLIFNode(init_tau=p.tau, v_threshold=p.v_threshold, v_reset=0.0,
                                    surrogate_function=surrogate.ATan(), detach_reset=p.detach_reset, step_mode=step_mode)


@NEURONS.register("if")
def _if(p: NeuronParams, step_mode: str) -> nn.Module:
    return neuron.IFNode(v_threshold=p.v_threshold, v_reset=0.0,
                         surrogate_function=surrogate.ATan(), detach_reset=p.detach_reset, step_mode=step_mode)


def make_neuron(name: str, params: NeuronParams = NeuronParams(), step_mode: str = "m") -> nn.Module:
    """Build a neuron module of the named model."""
    return NEURONS.get(name)(params, step_mode)


def neuron_params(name: str) -> int:
    """Trainable parameters one neuron module of this model holds (PLIF: its tau)."""
    return 1 if name == "plif" else 0
