"""The genome's vocabulary, torch-free: ops, neuron models and attentions, each with its cost.

One registry per kind of part; an entry carries what the genome needs (its
name, the op's kernel), its cost (parameters and MACs, pycls-style: computed
without building anything) and where its torch implementation lives
(`build`, "module:function", imported only when a network is built). So the
genome validates without torch, `complexity()` costs every part from the same
entry the builder uses, and a new part is one entry here plus its module in
msenas/nn (tests build every entry and check its cost).
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable

from msenas.errors import short
from msenas.registry import Registry, RegistryError

SIGNS: tuple[int, ...] = (1, -1)                  # +1 excitatory, -1 inhibitory
INTEGRATIONS: tuple[str, ...] = ("sum", "concat")  # how the motifs of a cell combine


def load_object(path: str) -> Any:
    """The object at "package.module:name" (imported on first use)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


# ----------------------------------------------------------------------------- ops


@dataclass(frozen=True)
class OpKind:
    """How an op body costs (per channels C, kernel k, map size H*W) and where its builder lives."""

    params: Callable[[int, int], int]          # (C, k) -> trainable parameters
    macs: Callable[[int, int, int], int]       # (C, k, H*W) -> MACs per sample and time step
    build: str                                 # "module:function" (C, k, step_mode) -> nn.Module
    has_neuron: bool = True                    # a spiking neuron precedes the body
    silent: bool = False                       # the op outputs zeros (DARTS's "none")
    nir: str | None = None                     # "module:function" of its NIR mapping (None: not exportable)
    nir_spikes_only: bool = False              # the NIR mapping holds only on 0/1 input (after a neuron)


@dataclass(frozen=True)
class OpSpec:
    """A micro-gene op: its kind (see OP_KINDS) and kernel (0: no spatial extent)."""

    kind: str
    kernel: int
    short: str = ""                            # its label in genome diagrams (msenas.report.diagram)


OP_KINDS: Registry[OpKind] = Registry("op kind")
NIR = "msenas.export.nir_parts"
OP_KINDS.register("conv")(OpKind(params=lambda c, k: c * c * k * k + 2 * c, macs=lambda c, k, hw: c * c * k * k * hw,
                                 build="msenas.nn.ops:conv_body", nir=f"{NIR}:nir_conv"))
OP_KINDS.register("avgpool")(OpKind(params=lambda c, k: 0, macs=lambda c, k, hw: 0, build="msenas.nn.ops:avgpool_body",
                                    nir=f"{NIR}:nir_avgpool"))
OP_KINDS.register("maxpool")(OpKind(params=lambda c, k: 0, macs=lambda c, k, hw: 0, build="msenas.nn.ops:maxpool_body",
                                    nir=f"{NIR}:nir_maxpool", nir_spikes_only=True))
OP_KINDS.register("identity")(OpKind(params=lambda c, k: 0, macs=lambda c, k, hw: 0,
                                     build="msenas.nn.ops:identity_body",
                                     has_neuron=False, nir=f"{NIR}:nir_identity"))
OP_KINDS.register("zero")(OpKind(params=lambda c, k: 0, macs=lambda c, k, hw: 0, build="msenas.nn.ops:identity_body",
                                 has_neuron=False, silent=True))

OPS: Registry[OpSpec] = Registry("op")
for _name, _kind, _k, _short in (("conv1x1", "conv", 1, "c1"), ("conv3x3", "conv", 3, "c3"),
                                 ("conv5x5", "conv", 5, "c5"), ("avgpool3x3", "avgpool", 3, "avg"),
                                 ("maxpool3x3", "maxpool", 3, "max"), ("identity", "identity", 0, "id"),
                                 ("zero", "zero", 0, "zero")):
    OPS.register(_name)(OpSpec(_kind, _k, _short))


# ----------------------------------------------------------------------------- neurons


@dataclass(frozen=True)
class NeuronModel:
    """A spiking neuron model: trainable parameters one neuron module holds, and its builder."""

    params: int
    build: str   # "module:function" (NeuronParams, step_mode) -> nn.Module
    nir: str | None = None   # "module:function" (GraphBuilder, module, shape) -> its NIR node (None: not exportable)


NEURONS: Registry[NeuronModel] = Registry("neuron model")
NEURONS.register("lif")(NeuronModel(0, "msenas.nn.neurons:build_lif", f"{NIR}:nir_lif"))
NEURONS.register("plif")(NeuronModel(1, "msenas.nn.neurons:build_plif", f"{NIR}:nir_plif"))    # its learnable tau
NEURONS.register("if")(NeuronModel(0, "msenas.nn.neurons:build_if", f"{NIR}:nir_if"))


# ----------------------------------------------------------------------------- attention

CBAM_REDUCTION, CBAM_KERNEL = 16, 7     # CBAM's MLP reduction and spatial kernel (Woo et al., ECCV 2018)
TEMPORAL_KERNEL = 3                     # kernel of the temporal attention's conv over T


def eca_kernel(channels: int, gamma: int = 2, b: int = 1) -> int:
    """ECA's adaptive kernel size: the odd number nearest |log2(C)/gamma + b/gamma| (Wang et al., CVPR 2020)."""
    k = int(abs(math.log2(channels) / gamma + b / gamma))
    return k if k % 2 else k + 1


def _cbam_params(c: int) -> int:
    hidden = max(1, c // CBAM_REDUCTION)
    return 2 * c * hidden + hidden + c + 2 * CBAM_KERNEL * CBAM_KERNEL


def _cbam_macs(c: int, h: int, w: int) -> int:
    return 2 * 2 * c * max(1, c // CBAM_REDUCTION) + 2 * CBAM_KERNEL * CBAM_KERNEL * h * w


@dataclass(frozen=True)
class AttentionSpec:
    """An attention on cell outputs: its cost for C channels on an H x W map, and its builder."""

    params: Callable[[int], int]               # C -> parameters
    macs: Callable[[int, int, int], int]       # (C, H, W) -> MACs per sample and time step
    build: str                                 # "module:class" (C) -> nn.Module


ATTENTIONS: Registry[AttentionSpec] = Registry("attention")
ATTENTION_PARTS = 8          # most parts joined by '+' (each rescales every cell output: more is never useful)
ATTENTIONS.register("none")(AttentionSpec(lambda c: 0, lambda c, h, w: 0, "torch.nn:Identity"))
ATTENTIONS.register("eca")(AttentionSpec(eca_kernel, lambda c, h, w: eca_kernel(c) * c, "msenas.nn.attention:ECA"))
ATTENTIONS.register("cbam")(AttentionSpec(_cbam_params, _cbam_macs, "msenas.nn.attention:CBAM"))
ATTENTIONS.register("temporal")(AttentionSpec(lambda c: 2 * TEMPORAL_KERNEL + 1, lambda c, h, w: 2 * TEMPORAL_KERNEL,
                                              "msenas.nn.attention:TemporalAttention"))


def parse_attention(spec: str) -> tuple[str, ...]:
    """'eca+temporal' -> ('eca', 'temporal'); 'none' -> (); unknown names or more than ATTENTION_PARTS parts raise
    RegistryError."""
    parts = str(spec).count("+") + 1
    if parts > ATTENTION_PARTS:
        raise RegistryError(f"attention {short(spec, 60)}: at most {ATTENTION_PARTS} parts joined by '+', "
                            f"got {parts:,}")
    names = tuple(n.strip() for n in str(spec).split("+"))
    for n in names:
        ATTENTIONS.get(n)
    if "none" in names and len(names) > 1:
        raise RegistryError(f"attention {short(spec, 60)}: 'none' cannot be combined with other parts")
    return tuple(n for n in names if n != "none")


def attention_cost(spec: str, channels: int, h: int, w: int) -> tuple[int, int]:
    """(parameters, MACs per sample and time step) of the attention `spec` for `channels` on an h x w map."""
    parts = [ATTENTIONS.get(n) for n in parse_attention(spec)]
    return sum(a.params(channels) for a in parts), sum(a.macs(channels, h, w) for a in parts)


def op_params(name: str, neuron: str, channels: int) -> int:
    """Parameters of one op (its body and its neuron) at `channels` channels."""
    spec = OPS.get(name)
    kind = OP_KINDS.get(spec.kind)
    return kind.params(channels, spec.kernel) + (NEURONS.get(neuron).params if kind.has_neuron else 0)


def op_macs(name: str, channels: int, hw: int) -> int:
    """Dense multiply-accumulates of one op per sample and time step on an H*W = hw map."""
    spec = OPS.get(name)
    return OP_KINDS.get(spec.kind).macs(channels, spec.kernel, hw)
