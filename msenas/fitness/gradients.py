"""Surrogate-gradient measurements of a spiking network at initialisation (torch side).

The spiking neurons are Heaviside forward and ATan (or whatever surrogate the
network's neurons carry) backward, so every gradient below is the surrogate
gradient a training step would see. As in the zero-cost literature
(msenas/fitness/zero_cost.py has the citations), the measured parameters are
the weights of the conv and linear layers. Neither function changes the
network: gradients are cleared and neuron state reset afterwards, and synflow
works on a copy.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from msenas.fitness.measure import device_of, time_major
from msenas.fitness.probe import ProbeData
from msenas.fitness.zero_cost import LayerGrads

SUB_BATCHES = 2   # ZiCo's statistics need >= 2 batches; each is a stratified half of the probe


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    """The conv and linear layers, in module order (spikingjelly's layers subclass torch's)."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def sub_batches(n: int, k: int = SUB_BATCHES) -> list[np.ndarray]:
    """k interleaved index sets of a class-sorted probe of n samples: each holds about 1/k of every class."""
    return [np.arange(b, n, k) for b in range(min(k, n))]


def probe_gradients(net: nn.Module, probe: ProbeData, T: int) -> list[LayerGrads]:
    """Per conv/linear layer: SNIP, gradient norm and ZiCo statistics of the probe cross-entropy."""
    layers = weighted_layers(net)
    grads: list[list[np.ndarray]] = [[] for _ in layers]     # per layer, one flat gradient per sub-batch
    net.train()                                               # BN on batch statistics, as measure() reads
    device = device_of(net)
    for idx in sub_batches(len(probe.y)):
        net.zero_grad(set_to_none=True)
        x = time_major(probe.x, T, device, torch.as_tensor(idx, device=device))   # [T,b,C,H,W]
        y = torch.as_tensor(probe.y[idx]).to(device)
        loss = F.cross_entropy(net(x).mean(0), y)             # [b,K] logits averaged over T
        loss.backward()
        functional.reset_net(net)
        for g, m in zip(grads, layers):
            g.append(_flat_grad(m.weight))
    net.zero_grad(set_to_none=True)
    return [_layer_stats(m.weight, np.stack(g)) for m, g in zip(layers, grads)]


def _flat_grad(w: torch.Tensor) -> np.ndarray:
    return np.zeros(w.numel()) if w.grad is None else w.grad.detach().double().flatten().cpu().numpy()


def _layer_stats(w: torch.Tensor, g: np.ndarray) -> LayerGrads:
    """Statistics of one layer from its per-sub-batch gradients g [batches, weights]."""
    mean = g.mean(0)                                          # the gradient of the mean sub-batch loss
    std = g.std(0)
    live = std > 0
    theta = w.detach().double().flatten().cpu().numpy()
    icv = float(np.sum(np.abs(g).mean(0)[live] / std[live]))
    return LayerGrads(snip=float(np.abs(theta * mean).sum()), norm=float(np.linalg.norm(mean)), icv=icv)


def synflow_layers(net: nn.Module, probe: ProbeData, T: int) -> list[float]:
    """Per conv/linear layer: sum |theta * dR/dtheta| with |theta|, BN removed, an all-ones input, float64.

    R is the sum of the logits over time steps and classes. The all-ones input
    has the probe's per-sample shape; the network's direct encoding repeats it
    over T time steps.
    """
    work = _without_batchnorm(copy.deepcopy(net)).double()
    functional.reset_net(work)
    with torch.no_grad():
        for p in work.parameters():
            p.abs_()
    work.zero_grad(set_to_none=True)
    x = time_major(np.ones((1, *probe.x.shape[1:]), dtype=np.float32), T, device_of(net)).double()  # [T,1,C,H,W]
    work(x).sum().backward()
    return [float((m.weight * m.weight.grad).detach().abs().sum()) if m.weight.grad is not None else 0.0
            for m in weighted_layers(work)]


def _without_batchnorm(net: nn.Module) -> nn.Module:
    """Replace every BatchNorm with an identity (synflow's "bn=False" NAS adaptation, Abdelfattah et al.)."""
    for name, child in net.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            _without_batchnorm(child)
    return net
