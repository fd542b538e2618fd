"""The proxy registry: name -> (fidelity, function of a measured network). Pure numpy.

A proxy reads a `Measurement` (what one forward pass of the probe showed, plus
the named measurements it declared in `needs`: see msenas/fitness/measurements.py)
and returns a float, higher is better. Zero-cost proxies read the network at
initialisation; few-step proxies read it after `FitnessConfig.steps` Adam
steps. Register a new one with `@register_proxy(name, fidelity, needs=(...))`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.special import logsumexp

from msenas.fitness import zero_cost as zc
from msenas.fitness.rdm import readout_score
from msenas.fitness.sahd import layer_kernel, sahd_score
from msenas.registry import Registry

ZERO_COST = "zero-cost"
FEW_STEP = "few-step"


@dataclass
class Measurement:
    """What one forward pass of the probe batch showed (plain numpy)."""

    cell_counts: list[np.ndarray]   # per cell [N, C*H*W] spike counts over T at the cell output
    logits: np.ndarray              # [N, K] logits averaged over T
    labels: np.ndarray              # [N]
    kernel: np.ndarray | None = None  # [N, N] layer-averaged SAHD kernel, when measure(kernel=True)
    named: dict[str, Any] = field(default_factory=dict)  # named measurements (Proxy.needs) -> plain values


@dataclass(frozen=True)
class ProxyContext:
    """The run-level inputs proxies need besides the measurement."""

    target: np.ndarray   # [N, N] target RDM
    metric: str
    correlation: str
    readout: str
    params: int


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: its fidelity, the named measurements it reads, and its function."""

    name: str
    fidelity: str
    fn: Callable[[Measurement, ProxyContext], float]
    needs: tuple[str, ...] = ()


PROXIES: Registry = Registry("proxy")


def register_proxy(name: str, fidelity: str, needs: tuple[str, ...] = ()):
    """Decorator: register fn(measurement, context) -> float under `name`; `needs` names its measurements."""
    if fidelity not in (ZERO_COST, FEW_STEP):
        raise ValueError(f"proxy {name!r}: fidelity must be {ZERO_COST!r} or {FEW_STEP!r}")

    def deco(fn):
        PROXIES.register(name)(Proxy(name, fidelity, fn, tuple(needs)))
        return fn
    return deco


def _rdm(m: Measurement, ctx: ProxyContext) -> float:
    return readout_score(m.cell_counts, ctx.target, ctx.metric, ctx.correlation, ctx.readout)


@register_proxy("rdm", ZERO_COST)
def rdm_at_init(m: Measurement, ctx: ProxyContext) -> float:
    """RDM fitness at initialisation (MSE-NAS arXiv 2304.10749; RSA, Kriegeskorte et al. 2008)."""
    return _rdm(m, ctx)


@register_proxy("rdm_k", FEW_STEP)
def rdm_after_steps(m: Measurement, ctx: ProxyContext) -> float:
    """RDM fitness after k training steps (MSE-NAS RDM at a higher fidelity, SPEC 3.0/3.1)."""
    return _rdm(m, ctx)


@register_proxy("sahd", ZERO_COST, needs=("codes",))
def sahd(m: Measurement, ctx: ProxyContext) -> float:
    """log|det| of the sparsity-aware Hamming kernel (SNASNet, Kim et al. ECCV 2022)."""
    codes = m.named["codes"]
    return sahd_score(np.mean([layer_kernel(*c) for c in codes], axis=0) if codes else None)


@register_proxy("log_params", ZERO_COST)
def log_params(m: Measurement, ctx: ProxyContext) -> float:
    """Natural log of the trainable parameter count (the size baseline of SPEC 3.0)."""
    return math.log(max(1, ctx.params))


@register_proxy("probe_loss", FEW_STEP)
def probe_loss(m: Measurement, ctx: ProxyContext) -> float:
    """Negated cross-entropy on the probe after k steps (cheap-training baseline, SPEC 3.3)."""
    logp = m.logits - logsumexp(m.logits, axis=1, keepdims=True)   # [N, K]
    return float(logp[np.arange(len(m.labels)), m.labels].mean())


@register_proxy("probe_acc", FEW_STEP)
def probe_acc(m: Measurement, ctx: ProxyContext) -> float:
    """Probe accuracy after k steps (cheap-training baseline, SPEC 3.3)."""
    return float((m.logits.argmax(axis=1) == m.labels).mean())


# Zero-cost proxies of the ANN literature on the spiking network (citations and reductions: zero_cost.py).


@register_proxy("naswot", ZERO_COST, needs=("codes",))
def naswot(m: Measurement, ctx: ProxyContext) -> float:
    """log|det K_H|, K_H the plain Hamming agreement of spike codes over all LIF layers (Mellor et al. ICML 2021)."""
    return zc.log_abs_det(zc.naswot_kernel(m.named["codes"]))


@register_proxy("grad_norm", ZERO_COST, needs=("grads",))
def grad_norm(m: Measurement, ctx: ProxyContext) -> float:
    """Sum of per-layer surrogate-gradient norms of the probe loss (Abdelfattah et al. ICLR 2021)."""
    return zc.grad_norm_score(m.named["grads"])


@register_proxy("snip", ZERO_COST, needs=("grads",))
def snip(m: Measurement, ctx: ProxyContext) -> float:
    """Sum of |theta * surrogate gradient| of the probe loss (SNIP, Lee et al. ICLR 2019; Abdelfattah et al. 2021)."""
    return zc.snip_score(m.named["grads"])


@register_proxy("synflow", ZERO_COST, needs=("synflow",))
def synflow(m: Measurement, ctx: ProxyContext) -> float:
    """log of the synaptic flow, sum |theta * dR/dtheta| on |theta| (Tanaka et al. NeurIPS 2020; Abdelfattah et al.)."""
    return zc.log_or_floor(sum(m.named["synflow"]))


@register_proxy("zico", ZERO_COST, needs=("grads",))
def zico(m: Measurement, ctx: ProxyContext) -> float:
    """Sum over layers of log(sum mean|g| / std(g)) across probe sub-batches (ZiCo, Li et al. ICLR 2023)."""
    return zc.zico_score(m.named["grads"])


def fidelity_of(names: tuple[str, ...]) -> str:
    """FEW_STEP when any of the named proxies needs training, else ZERO_COST."""
    return FEW_STEP if any(PROXIES.get(n).fidelity == FEW_STEP for n in names) else ZERO_COST
