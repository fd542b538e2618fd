"""Run a network on the probe and turn what it did into a plain `Measurement` (torch side).

Representations: the spike counts over T that a fresh LIF neuron (the network's
neuron constants) emits on each cell's output, i.e. what the next layer
receives; for the last cell these are exactly the head neuron's spikes.
BatchNorm uses batch statistics (train mode) at every fidelity, so a freshly
initialised network and one trained for a few steps are read the same way.
The probe batches live on the network's device (moved once per process and
kept, see `device_batch`); only small arrays (spike counts, logits, kernel
statistics) come back to the CPU.
"""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from spikingjelly.activation_based.neuron import BaseNode
from torch import nn

from msenas.fitness.probe import ProbeData
from msenas.fitness.proxies import Measurement
from msenas.fitness.sahd import layer_kernel
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.neurons import NeuronParams, make_neuron
from msenas.runtime import Precision


def init_seed(key: str, run_seed: int, repeat: int) -> int:
    """Torch seed of one initialisation, from the genome key, the run seed and the repeat index."""
    return int(np.random.SeedSequence([int(key, 16), int(run_seed), int(repeat)]).generate_state(1)[0])


_ON_DEVICE: dict = {}     # (id of a probe array, device) -> (the array, its float tensor on the device)


def device_batch(x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """A probe array as a float32 tensor on `device`, copied there once per process (the last 8 kept)."""
    k = (id(x), str(device))
    hit = _ON_DEVICE.get(k)
    if hit is None or hit[0] is not x:
        hit = (x, torch.as_tensor(np.asarray(x, dtype=np.float32)).to(device))
        _ON_DEVICE[k] = hit
        while len(_ON_DEVICE) > 8:
            _ON_DEVICE.pop(next(iter(_ON_DEVICE)))
    return hit[1]


def time_major(x: np.ndarray, T: int, device: torch.device | str = "cpu", rows=slice(None)) -> torch.Tensor:
    """Numpy batch [B,C,H,W] or [B,T,C,H,W] (its `rows`) -> float tensor [T,B,C,H,W] on `device`."""
    from msenas.data import to_time_major

    return to_time_major(device_batch(x, device)[rows], T)


def device_of(net: nn.Module) -> torch.device:
    """The device a network's parameters live on (cpu when it has none)."""
    return next((p.device for p in net.parameters()), torch.device("cpu"))


class KernelHooks:
    """Context manager: accumulates per-LIF-layer SAHD statistics over the forwards it sees."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.stats: dict[str, list] = {}   # layer name -> [A [B,B], n [B], N]
        self._handles: list = []

    def __enter__(self) -> "KernelHooks":
        for name, mod in self.model.named_modules():
            if isinstance(mod, BaseNode):
                self._handles.append(mod.register_forward_hook(self._hook(name, mod)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str, mod: BaseNode):
        def hook(_mod, _inp, out):
            s = out.detach()
            s = s.transpose(0, 1) if mod.step_mode == "m" else s   # [B, (T,) C, H, W]
            x = (s.flatten(1) > 0).float()                         # [B, n_neurons]; sums exact below 2^24
            st = self.stats.setdefault(name, [0.0, 0.0, 0])
            st[0] = st[0] + (x @ x.T).double().cpu().numpy()
            st[1] = st[1] + x.sum(1).double().cpu().numpy()
            st[2] += x.shape[1]
        return hook

    def codes(self) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """Per LIF layer, the binary-code statistics (A [B,B], n [B], N) of the forwards seen."""
        return [(A, n, N) for A, n, N in self.stats.values()]

    def kernel(self) -> np.ndarray | None:
        """Layer-averaged SAHD kernel [B,B], or None when the network has no LIF layer."""
        ks = [layer_kernel(A, n, N) for A, n, N in self.stats.values()]
        return np.mean(ks, axis=0) if ks else None


def readout_counts(cells: list[torch.Tensor], neuron: NeuronParams = NeuronParams()) -> list[np.ndarray]:
    """Per cell output [T,B,C,H,W]: spike counts over T of a fresh LIF -> [B, C*H*W]."""
    lif = make_neuron("lif", neuron, "m")
    out = []
    for c in cells:
        functional.reset_net(lif)
        out.append(lif(c).sum(0).flatten(1).float().cpu().numpy())   # float: numpy has no bfloat16
    functional.reset_net(lif)
    return out


@torch.no_grad()
def measure(net: nn.Module, probe: ProbeData, T: int, kernel: bool = False,
            monitor: SpikeMonitor | None = None, extra_hooks: tuple = ()) -> Measurement:
    """One no-grad forward of the probe batch: spike counts per cell, logits, SAHD kernel.

    `extra_hooks`: further context managers (e.g. KernelHooks) entered around the forward.
    """
    net.train()                                       # BN on batch statistics (see module docstring)
    x = time_major(probe.x, T, device_of(net))        # [T,N,C,H,W]
    hooks = KernelHooks(net) if kernel else None
    with ExitStack() as stack:
        for ctx in (hooks, monitor, *extra_hooks):
            if ctx is not None:
                stack.enter_context(ctx)
        logits, cells = net.forward_features(x)       # [T,N,K], [[T,N,C,H,W], ...]
    functional.reset_net(net)
    return Measurement(
        cell_counts=readout_counts(cells),
        logits=logits.float().mean(0).cpu().numpy().astype(np.float64),
        labels=probe.y,
        kernel=hooks.kernel() if hooks is not None else None,
    )


def train_steps(net: nn.Module, probe: ProbeData, T: int, steps: int, batch_size: int, lr: float,
                precision: Precision | None = None) -> float:
    """`steps` Adam steps (CE of mean-over-T logits) on the fixed batches under `precision` (default float32);
    returns the last loss. With float16 the GradScaler skips a step whose scaled gradients overflow."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    precision = precision or Precision(device_of(net))
    scaler = precision.grad_scaler()
    net.train()
    device = device_of(net)
    loss = torch.tensor(float("nan"))
    for s in range(steps):
        sl = slice(s * batch_size, (s + 1) * batch_size)
        x = time_major(probe.train_x, T, device, sl)   # [T,B,C,H,W]
        y = torch.as_tensor(probe.train_y[sl]).to(device)  # [B]
        with precision.autocast():
            loss = F.cross_entropy(net(x).float().mean(0), y)   # [B,K] -> scalar
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        functional.reset_net(net)
    return float(loss.detach())
