"""Named measurements a proxy declares it needs (`Proxy.needs`), computed once per network, only when asked.

A measurement is either hooks on the probe forward (`hooks(net)` gives a
context manager, `read(hooks)` its value after the forward) or a pass of its
own over the network (`run(net, probe, T)`). Values are plain numpy or floats
and land in `Measurement.named[name]`, where proxies read them. Register a new
one with `MEASUREMENTS.register(name)(MeasurementKind(...))`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from torch import nn

from msenas.fitness.gradients import probe_gradients, synflow_layers
from msenas.fitness.measure import KernelHooks, measure
from msenas.fitness.probe import ProbeData
from msenas.fitness.proxies import Measurement, Proxy
from msenas.nn.monitor import SpikeMonitor
from msenas.registry import Registry


@dataclass(frozen=True)
class MeasurementKind:
    """How to take one named measurement: hooks on the probe forward (hooks + read), or a pass (run)."""

    hooks: Callable[[nn.Module], Any] | None = None
    read: Callable[[Any], Any] | None = None
    run: Callable[[nn.Module, ProbeData, int], Any] | None = None


MEASUREMENTS: Registry = Registry("measurement")
MEASUREMENTS.register("codes")(MeasurementKind(hooks=KernelHooks, read=KernelHooks.codes))  # binary spike codes
MEASUREMENTS.register("grads")(MeasurementKind(run=probe_gradients))      # surrogate gradients of the probe loss
MEASUREMENTS.register("synflow")(MeasurementKind(run=synflow_layers))     # synaptic flow on |theta|, ones input


def needs_of(specs: Iterable[Proxy]) -> tuple[str, ...]:
    """The named measurements the given proxies need, sorted, each once."""
    return tuple(sorted({n for s in specs for n in s.needs}))


def measure_named(net: nn.Module, probe: ProbeData, T: int, needs: tuple[str, ...] = (),
                  monitor: SpikeMonitor | None = None) -> Measurement:
    """measure() of the probe plus every named measurement in `needs` (hooks on the same forward, then passes)."""
    kinds = {n: MEASUREMENTS.get(n) for n in needs}
    hooks = {n: k.hooks(net) for n, k in kinds.items() if k.hooks is not None}
    m = measure(net, probe, T, monitor=monitor, extra_hooks=tuple(hooks.values()))
    m.named.update({n: kinds[n].read(h) for n, h in hooks.items()})
    m.named.update({n: k.run(net, probe, T) for n, k in kinds.items() if k.run is not None})
    return m
