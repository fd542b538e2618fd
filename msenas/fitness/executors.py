"""Evaluators: genomes -> records, in process or on Ray actors, behind one interface.

The search only calls `map(genomes, proxies)`; swapping serial for Ray (local
or a cluster) is a swap of this one object (DEAP's toolbox.map idea). A
genome whose evaluation raises gets a failed record from `evaluate`; a Ray
worker that dies (crash, out of memory) is replaced and its genome retried,
then recorded as failed; with a timeout, a genome still running after it is
recorded as failed and its worker replaced (no retry: the genome is the
likely cause). Either way the batch goes on.
"""
from __future__ import annotations

import os
import socket
import time
from typing import Callable, Protocol

from msenas.errors import MsenasError
from msenas.fitness.config import FitnessConfig
from msenas.fitness.probe import ProbeData
from msenas.fitness.proxies import fidelity_of
from msenas.fitness.record import Record, failed_record
from msenas.genome import Genome

EvaluateFn = Callable[[Genome, ProbeData, FitnessConfig, tuple[str, ...]], Record]


class ClusterError(MsenasError, ConnectionError):
    """A Ray cluster address that cannot be reached or joined."""


class Evaluator(Protocol):
    """genomes -> records, order preserved; never raises for a bad genome."""

    def map(self, genomes: list[Genome], proxies: tuple[str, ...]) -> list[Record]: ...

    def close(self) -> None: ...


def _default_evaluate() -> EvaluateFn:
    from msenas.fitness.evaluate import evaluate

    return evaluate


def _safe(fn: EvaluateFn, g: Genome, probe: ProbeData, cfg: FitnessConfig, proxies: tuple[str, ...]) -> Record:
    try:
        return fn(g, probe, cfg, proxies)
    except Exception as e:  # noqa: BLE001 - a custom evaluate_fn may raise
        from msenas.fitness.evaluate import genome_key

        return failed_record(genome_key(g), f"{type(e).__name__}: {e}", fidelity_of(proxies))


class SerialEvaluator:
    """Evaluates genomes one after another in this process."""

    def __init__(self, probe: ProbeData, cfg: FitnessConfig, evaluate_fn: EvaluateFn | None = None):
        self.probe, self.cfg = probe, cfg
        self.evaluate_fn = evaluate_fn or _default_evaluate()

    def map(self, genomes: list[Genome], proxies: tuple[str, ...]) -> list[Record]:
        """Records of `genomes`, in order."""
        return [_safe(self.evaluate_fn, g, self.probe, self.cfg, tuple(proxies)) for g in genomes]

    def close(self) -> None:
        """Nothing to release."""


class _Worker:
    """Ray actor body: holds the probe (fetched once from the object store) and evaluates genomes."""

    def __init__(self, probe: ProbeData, cfg: FitnessConfig, evaluate_fn: EvaluateFn | None):
        import torch

        torch.set_num_threads(1)        # one thread per CPU the actor holds
        self.probe, self.cfg = probe, cfg
        self.evaluate_fn = evaluate_fn or _default_evaluate()

    def run(self, genome: Genome, proxies: tuple[str, ...]) -> Record:
        return _safe(self.evaluate_fn, genome, self.probe, self.cfg, proxies)

    def ready(self) -> bool:
        return True


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Raise ClusterError unless host:port of a Ray address accepts a TCP connection."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"Ray address {address!r}: expected host:port (or ray://host:port, or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise ClusterError(f"cannot reach Ray cluster at {address}: {e.strerror or e}") from None


def connect(address: str | None, num_cpus: int) -> bool:
    """Join `address` or start a local Ray with num_cpus; True when this call started the session."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_worker_niceness", "0")  # Ray's default 15 starves workers on a shared machine
    if address:
        check_reachable(address)
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    except Exception as e:  # noqa: BLE001 - ray raises several types for a bad cluster
        where = f"Ray cluster at {address}" if address else "a local Ray"
        raise ClusterError(" ".join(f"cannot start {where}: {type(e).__name__}: {e}".split())[:300]) from None
    return True


class RayEvaluator:
    """Evaluates genomes on `workers` Ray actors (one CPU each), local or on a cluster."""

    def __init__(self, probe: ProbeData, cfg: FitnessConfig, workers: int = 2, address: str | None = None,
                 retries: int = 2, evaluate_fn: EvaluateFn | None = None, timeout: float | None = None,
                 start_timeout: float = 600.0):
        import ray

        self._owns = connect(address, max(1, workers))
        if workers < 1:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.cfg, self.retries, self.evaluate_fn = cfg, retries, evaluate_fn
        self.timeout, self.start_timeout = timeout, start_timeout
        self._cls = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self._probe_ref = ray.put(probe)             # in the object store once, read by every actor
        self._actors = [self._spawn() for _ in range(workers)]
        self._wait_ready(self._actors)               # start-up is not counted against a genome's timeout

    @property
    def workers(self) -> int:
        """Number of actors in the pool."""
        return len(self._actors)

    def _spawn(self):
        return self._cls.remote(self._probe_ref, self.cfg, self.evaluate_fn)

    def _wait_ready(self, actors: list) -> None:
        import ray

        refs = [a.ready.remote() for a in actors]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=self.start_timeout)
        if len(done) < len(refs):
            self.close()
            raise ClusterError(f"{len(refs) - len(done)} of {len(refs)} Ray workers did not start within "
                               f"{self.start_timeout:g} s (not enough free CPUs in the cluster?)")
        ray.get(done)

    def map(self, genomes: list[Genome], proxies: tuple[str, ...]) -> list[Record]:
        """Records of `genomes` in order; one genome in flight per actor."""
        import ray
        from ray.exceptions import RayTaskError

        proxies = tuple(proxies)
        out: list[Record | None] = [None] * len(genomes)
        todo, tries, busy, since = list(range(len(genomes)))[::-1], [0] * len(genomes), {}, {}
        idle = list(range(len(self._actors)))
        while todo or busy:
            while todo and idle:
                a, i = idle.pop(), todo.pop()
                ref = self._actors[a].run.remote(genomes[i], proxies)
                busy[ref], since[ref] = (a, i), time.monotonic()
            left = None if not self.timeout else max(0.0, min(since[r] for r in busy) + self.timeout - time.monotonic())
            ready, _ = ray.wait(list(busy), num_returns=1, timeout=left)
            if not ready:                               # the oldest genome ran past the timeout
                ref = min(busy, key=since.get)
                a, i = busy.pop(ref)
                self._replace(a)
                out[i] = self._failed(genomes[i], proxies, f"evaluation timed out after {self.timeout:g} s "
                                                           "(worker replaced)")
                idle.append(a)
                continue
            a, i = busy.pop(ready[0])
            try:
                out[i] = ray.get(ready[0])
            except RayTaskError as e:                   # raised inside the actor: not a crash
                out[i] = self._failed(genomes[i], proxies, f"worker error: {e.cause!r}")
            except ray.exceptions.RayError as e:        # actor died (crash, OOM kill): replace, retry
                self._replace(a)
                tries[i] += 1
                if tries[i] <= self.retries:
                    todo.append(i)
                else:
                    out[i] = self._failed(genomes[i], proxies, f"worker died {tries[i]} times: {type(e).__name__}")
            idle.append(a)
        return out

    def _failed(self, g: Genome, proxies: tuple[str, ...], msg: str) -> Record:
        from msenas.fitness.evaluate import genome_key

        return failed_record(genome_key(g), " ".join(msg.split())[:500], fidelity_of(proxies))

    def _replace(self, a: int) -> None:
        import ray

        try:
            ray.kill(self._actors[a], no_restart=True)
        except Exception:  # noqa: BLE001 - it is already gone
            pass
        self._actors[a] = self._spawn()
        self._wait_ready([self._actors[a]])

    def close(self) -> None:
        """Kill the actors; shut Ray down when this evaluator started it."""
        import ray

        if ray.is_initialized():                    # ray.kill would start a fresh session otherwise
            for actor in self._actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            if self._owns:
                ray.shutdown()
        self._actors = []
