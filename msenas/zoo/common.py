"""What every zoo network shares: its costs at initialisation, and the widest width within a budget (the fresh
state per forward is fresh.py)."""
from __future__ import annotations

import torch
from spikingjelly.activation_based import functional
from torch import nn


def dense_macs(model: nn.Module, in_shape: tuple[int, int, int], T: int) -> float:
    """Multiply-accumulates per sample and time step of the non-spiking network of the same shape: every conv and
    linear layer's outputs times its fan-in, over one forward of T steps, divided by T."""
    total = [0]

    def hook(mod, _inp, out):
        fan_in = mod.in_features if isinstance(mod, nn.Linear) else \
            (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        total[0] += out.numel() * fan_in

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(T, 1, *in_shape))
    finally:
        for h in handles:
            h.remove()
        model.train(was)
        functional.reset_net(model)
    return total[0] / T


def costs_at_init(model, probe, T: int, energy=None, seed: int = 0, run: bool = True) -> dict:
    """What a genome's record measures, for a zoo network (msenas.zoo.ZooModel): params, dense MACs per step,
    spikes, SOPs and energy (pJ) per sample on the probe batch at initialisation (weights seeded by `seed`);
    run=False: params and dense MACs only (no forward on the probe)."""
    from msenas.data import to_time_major
    from msenas.energy import EnergyConfig
    from msenas.nn.monitor import SpikeMonitor
    from msenas.runtime import seeded

    energy = energy or EnergyConfig()
    event = len(probe.x.shape) == 5
    with seeded(seed):
        net = model.build(probe.in_shape, probe.n_classes, T, event)
    net.eval()
    if not run:
        return {"params": sum(p.numel() for p in net.parameters()), "macs": dense_macs(net, probe.in_shape, T)}
    x = to_time_major(torch.as_tensor(probe.x), T)
    with torch.no_grad(), SpikeMonitor(net) as mon:
        net(x)
    s = mon.summary(len(probe.y), energy)
    macs = dense_macs(net, probe.in_shape, T)
    return {"params": sum(p.numel() for p in net.parameters()), "macs": macs, "spikes": s["spikes"],
            "sops": s["sops"], "mac_ops": s["macs"], "energy": s["energy_pj"], "energy_dense": energy.dense_pj(macs)}


def widest_within(name: str, budget, probe, T: int, energy=None, seed: int = 0, max_width: int = 512):
    """The widest ZooModel(name, width) whose costs at initialisation fit `budget` (msenas.search.budget), by
    bisection over the width (costs grow with it), and its costs; a ZooError when even width 1 does not fit."""
    from msenas.zoo import ZooError, ZooModel

    def cost(w: int) -> dict:
        return costs_at_init(ZooModel(name, w), probe, T, energy, seed, run=not budget.static_only)

    if budget.violation(cost(1)) > 0:
        raise ZooError(f"zoo:{name} does not fit {budget.describe()} even at width 1 ({budget.use(cost(1))})")
    lo, hi = 1, max_width
    while lo < hi:                                     # largest w with violation 0, assuming monotone costs
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if budget.violation(cost(mid)) == 0 else (lo, mid - 1)
    return ZooModel(name, lo), cost(lo)
