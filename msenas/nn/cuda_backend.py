"""Which spikingjelly kernels run msenas's spiking neurons on a GPU (spikingjelly 2.0.0).

On the CPU, msenas's fused C kernels run the neurons (msenas/nn/fused.py). On CUDA, spikingjelly's neuron
ops do (sj_lif, sj_plif, sj_if: one per neuron model of msenas.genome.NEURONS), each bound per GPU to one
of three implementations, fastest first (spikingjelly's own order for eager execution):

  cuda    native CUDA kernels: only in a spikingjelly built from source with SJ_BUILD_NATIVE_CUDA=1 and a
          CUDA toolkit matching torch's, and only for the GPU architectures it was built for;
  triton  Triton kernels, compiled at first use: need the `triton` package (torch's Linux CUDA wheels
          install it);
  torch   spikingjelly's reference: a loop of tensor ops per time step, several kernel launches per step.

`select_backend(device)` probes the three here (imports and the GPU's compute capability; no neuron
runs), takes the first available, checks that spikingjelly bound the same one, and logs one line, a
warning when it is not the fastest ("falling back to ... because ..."). The choice is not forced on
spikingjelly through its SJ_<NEURON>_CUDA_IMPLEMENTATION variables: with one set, inputs its fused
kernels do not take (float64, as the synflow proxy uses) raise instead of running the reference, so
msenas leaves them at `auto`, whose order is the one above. A variable the user set wins, and is reported.
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
from dataclasses import dataclass, field

import torch

log = logging.getLogger(__name__)

ORDER = ("cuda", "triton", "torch")            # fastest first
PACKAGES = {"lif": "lif", "plif": "plif", "if": "if_"}   # msenas neuron name -> spikingjelly._ops package
_MODULES = {"cuda": "native", "triton": "triton", "torch": "cpu"}


@dataclass(frozen=True)
class Choice:
    """The implementation the neurons use and why each faster one is not used."""

    name: str
    unavailable: dict[str, str] = field(default_factory=dict)   # faster implementation -> reason

    @property
    def fallback(self) -> bool:
        """True when a faster implementation exists but is unavailable."""
        return self.name != ORDER[0]

    def line(self, where: str) -> str:
        """One log line: what runs the neurons on `where` and, for a fallback, why."""
        names = {"cuda": "native CUDA kernels", "triton": "Triton kernels", "torch": "torch reference loop"}
        text = f"spiking neurons on {where}: spikingjelly's {names[self.name]} ({self.name})"
        if self.fallback:
            why = "; ".join(f"{n}: {r}" for n, r in self.unavailable.items())
            text += f", falling back because the faster ones are unavailable ({why})"
        return text


def choose(reasons: dict[str, str | None], order: tuple[str, ...] = ORDER) -> Choice:
    """The first implementation of `order` whose reason is None (available); `torch` is always there."""
    unavailable: dict[str, str] = {}
    for name in order:
        reason = reasons.get(name, "not probed")
        if reason is None or name == "torch":
            return Choice(name, unavailable)
        unavailable[name] = " ".join(str(reason).split())[:200]
    return Choice("torch", unavailable)


def probe(neuron: str = "lif", device_index: int | None = None) -> dict[str, str | None]:
    """Per implementation, None when it can run `neuron` here, else why not (device_index: check the GPU too)."""
    package = f"spikingjelly._ops.{PACKAGES[neuron]}"
    out: dict[str, str | None] = {}
    for name in ORDER:
        try:
            module = importlib.import_module(f"{package}.{_MODULES[name]}")
            if name == "cuda" and device_index is not None:
                from spikingjelly._ops.native_loader import _check_native_device

                _check_native_device(module._build_info, device_index)
            out[name] = None
        except Exception as e:  # noqa: BLE001 - spikingjelly skips ImportError/OSError; anything else is news too
            out[name] = f"{type(e).__name__}: {e}"
    return out


def requested(neuron: str = "lif") -> str:
    """The implementation a user asked spikingjelly for (SJ_<NEURON>_CUDA_IMPLEMENTATION), 'auto' if none."""
    return os.environ.get(f"SJ_{PACKAGES[neuron].rstrip('_').upper()}_CUDA_IMPLEMENTATION", "auto")


def announce(choice: Choice, where: str) -> None:
    """Log the choice: info when the fastest runs, a warning when falling back."""
    (log.warning if choice.fallback else log.info)("%s", choice.line(where))


def select_backend(device: torch.device) -> str:
    """The implementation msenas's neurons use on a CUDA device (probed and logged once per process); 'cpu' off CUDA."""
    if device.type != "cuda":
        return "cpu"
    index = device.index if device.index is not None else torch.cuda.current_device()
    try:
        return _select(index)
    except Exception as e:  # noqa: BLE001 - finding out must never stop a run
        log.warning("could not tell which spikingjelly kernels run the neurons on cuda:%d (%s: %s)",
                    index, type(e).__name__, e)
        return "unknown"


@functools.cache
def _select(index: int) -> str:
    """CUDA only: probe, announce, and compare with what spikingjelly bound (a user's SJ_ variable wins)."""
    from spikingjelly.activation_based.functional.neuron import neuron_implementation

    where = f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    choice = choose(probe("lif", index))
    announce(choice, where)
    for n in PACKAGES:
        try:
            bound = neuron_implementation(n, torch.device("cuda", index))["implementation"]
        except RuntimeError as e:                   # a requested implementation that cannot run here
            bound = f"none ({' '.join(str(e).split())[:200]})"
        if bound != choice.name:
            log.warning("spikingjelly bound %s neurons on %s to %s, not %s (SJ_%s_CUDA_IMPLEMENTATION=%s)",
                        n, where, bound, choice.name, PACKAGES[n].rstrip("_").upper(), requested(n))
    return choice.name
