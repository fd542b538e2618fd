"""evaluate_genome(genome, probe, cfg, proxies) -> Record: one genome, every asked proxy, never raises.

Each of cfg.repeats initialisations is seeded from (genome key, run seed,
repeat index) inside a forked torch RNG, so a score does not depend on where
or after what it runs; proxy values, spikes and ops are averaged over repeats.
A network is dead when its last cell's representation is silent or constant
(its RDM ranks nothing) at initialisation or, for few-step proxies, after the
k steps, in any repeat: dead records carry their raw values. The record's
fitness is left at WORST_FITNESS: the fitness engine alone turns proxies into it.
Spikes and synaptic ops are those of the network at initialisation.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from msenas.fitness.config import FitnessConfig, FitnessConfigError
from msenas.fitness.measure import init_seed, train_steps
from msenas.fitness.measurements import measure_named, needs_of
from msenas.fitness.probe import ProbeData
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST, Proxy, ProxyContext, fidelity_of
from msenas.fitness.rdm import is_dead
from msenas.fitness.record import Record, failed_record
from msenas.fitness.sahd import SAHD_FLOOR
from msenas.genome import Genome, validate
from msenas.memory import check_memory
from msenas.nn.cost import complexity
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network
from msenas.runtime import Precision, resolve_device, resolve_precision, seeded


def genome_key(genome: Genome) -> str:
    """The genome's stable key, or a placeholder when it cannot even be serialised."""
    from msenas.genome.io import key

    try:
        return key(genome)
    except Exception:  # noqa: BLE001 - a malformed genome still gets a record
        return "0" * 16


def evaluate_genome(genome: Genome, probe: ProbeData, cfg: FitnessConfig, proxies: tuple[str, ...]) -> Record:
    """Score `genome` on every named proxy, on cfg.device; failures and dead networks get WORST_FITNESS."""
    t0, c0 = time.perf_counter(), time.process_time()
    k = genome_key(genome)
    fidelity = fidelity_of(tuple(proxies))
    try:
        device = resolve_device(cfg.device, FitnessConfigError, "fitness.device")
        precision = resolve_precision(device, cfg.amp, FitnessConfigError, "fitness.amp")
        rec = _evaluate(genome, k, probe, cfg, tuple(proxies), precision)
    except Exception as e:  # noqa: BLE001 - includes torch's out-of-memory RuntimeError
        rec = failed_record(k, _one_line(e), fidelity)
    rec.wall_time, rec.cpu_time = time.perf_counter() - t0, time.process_time() - c0
    return rec


def _evaluate(genome: Genome, key: str, probe: ProbeData, cfg: FitnessConfig, names: tuple[str, ...],
              precision: Precision) -> Record:
    validate(genome)
    specs = [PROXIES.get(n) for n in names]
    few = any(s.fidelity == FEW_STEP for s in specs)
    check_memory(genome, probe.in_shape, probe.n_classes, batch=max(len(probe.y), cfg.batch_size if few else 0),
                 T=cfg.T, training=True, device=precision.device, what="score",
                 value_bytes=2 if precision.mixed else 4)   # before building: a one-line failed record
    cost = complexity(genome, probe.in_shape, probe.n_classes, cfg.T)
    ctx = ProxyContext(probe.target, cfg.metric, cfg.correlation, cfg.readout, cost.params)
    runs = [_repeat(genome, key, r, probe, cfg, specs, ctx, precision) for r in range(cfg.repeats)]
    raw = {n: _finite(float(np.mean([values[n] for values, _, _ in runs]))) for n in names}
    dead = any(d for _, _, d in runs)
    spikes = [s for _, s, _ in runs]
    return Record(
        key=key, proxies=raw, dead=dead, error=None,
        spikes=float(np.mean([s["spikes"] for s in spikes])),
        spikes_per_cell=[float(v) for v in np.mean([s["spikes_per_cell"] for s in spikes], axis=0)],
        sops=float(np.mean([s["sops"] for s in spikes])),
        mac_ops=float(np.mean([s["macs"] for s in spikes])),
        energy=float(np.mean([s["energy_pj"] for s in spikes])), energy_dense=cfg.energy.dense_pj(cost.macs),
        params=int(cost.params), macs=int(cost.macs), wall_time=0.0,
        fidelity=FEW_STEP if few else ZERO_COST,
    )


def _repeat(genome: Genome, key: str, r: int, probe: ProbeData, cfg: FitnessConfig, specs: list[Proxy],
            ctx: ProxyContext, precision: Precision) -> tuple[dict[str, float], dict, bool]:
    """One seeded initialisation (on the CPU, so every device starts from the same weights), moved to the device
    and run under `precision`: (proxy values, spike summary at init, dead flag)."""
    net = initialised_network(genome, key, r, probe, cfg, precision.device)
    monitor = SpikeMonitor(net)
    with precision.autocast():
        m0 = measure_named(net, probe, cfg.T, needs_of(s for s in specs if s.fidelity == ZERO_COST), monitor)
    dead = is_dead(m0.cell_counts[-1], cfg.metric)
    values = {s.name: s.fn(m0, ctx) for s in specs if s.fidelity == ZERO_COST}
    if any(s.fidelity == FEW_STEP for s in specs):
        train_steps(net, probe, cfg.T, cfg.steps, cfg.batch_size, cfg.lr, precision)
        with precision.autocast():
            m1 = measure_named(net, probe, cfg.T, needs_of(s for s in specs if s.fidelity == FEW_STEP))
        dead = dead or is_dead(m1.cell_counts[-1], cfg.metric)
        values.update({s.name: s.fn(m1, ctx) for s in specs if s.fidelity == FEW_STEP})
    return values, monitor.summary(len(probe.y), cfg.energy), dead


def initialised_network(genome: Genome, key: str, repeat: int, probe: ProbeData, cfg: FitnessConfig,
                        device: torch.device | str = "cpu"):
    """The network a fitness evaluation scores: seeded from (key, run seed, repeat) on the CPU, then moved."""
    with seeded(init_seed(key, probe.seed, repeat)):
        return build_network(genome, probe.in_shape, probe.n_classes, cfg.T).to(device)


def _finite(v: float) -> float:
    """Proxy values are never NaN or infinite: those become the SAHD floor (worst)."""
    return v if math.isfinite(v) else SAHD_FLOOR


def _one_line(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())[:500]
