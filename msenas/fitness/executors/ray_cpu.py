"""The Ray executor: genomes evaluated on Ray actors, locally or on a cluster, one genome in flight per actor.

The probe goes into the object store once and every actor reads it from there.
A worker that dies (crash, out-of-memory kill) is replaced and its genome
retried, then recorded as failed; with a timeout, a genome still running after
it is recorded as failed and its worker replaced (no retry: the genome is the
likely cause). Either way the others go on. ray.util.ActorPool does not fit:
it can neither replace a dead actor nor time a task out.
"""
from __future__ import annotations

import collections
import math
import os
import socket
import time
from typing import Any, Hashable

from msenas.errors import MsenasError
from msenas.fitness.config import ExecutorConfig, FitnessConfig
from msenas.fitness.executors.base import EXECUTORS, EvaluateFn, Executor, default_evaluate, failed, safe_evaluate
from msenas.fitness.probe import ProbeData
from msenas.fitness.record import Record
from msenas.genome import Genome


class ClusterError(MsenasError, ConnectionError):
    """A Ray cluster address that cannot be reached or joined, or workers that cannot start."""


class _Worker:
    """Ray actor body: holds the probe (fetched once from the object store) and evaluates genomes."""

    def __init__(self, probe: ProbeData, cfg: FitnessConfig, evaluate_fn: EvaluateFn | None, threads: int):
        import torch

        torch.set_num_threads(threads)        # one thread per CPU the actor holds, by default
        self.probe, self.cfg = probe, cfg
        self.evaluate_fn = evaluate_fn or default_evaluate()

    def run(self, genome: Genome, proxies: tuple[str, ...]) -> Record:
        return safe_evaluate(self.evaluate_fn, genome, self.probe, self.cfg, proxies)

    def ready(self) -> str:
        """The device this worker scores on (Ray shows an actor only the GPUs it holds)."""
        from msenas.runtime import device_name

        return device_name(self.cfg.device)

    def placement(self) -> dict:
        """The Ray GPU ids this worker holds, the CUDA_VISIBLE_DEVICES Ray gave it, and the device it scores on."""
        import ray

        return {"gpu_ids": [str(i) for i in ray.get_gpu_ids()], "device": self.ready(),
                "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}


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


def auto_gpus(workers: int, address: str | None) -> float:
    """GPUs per worker that spread `workers` over the Ray cluster's GPUs (0 when it has none)."""
    import ray

    connect(address, max(1, workers))
    gpus = float(ray.cluster_resources().get("GPU", 0.0))
    if gpus <= 0 or workers < 1:
        return 0.0
    return 1.0 if gpus >= workers else 1.0 / math.ceil(workers / gpus)


RESOURCES = (("num_cpus", "CPU"), ("num_gpus", "GPU"))   # an actor's resource option -> Ray's resource name
STARTUP_LIMIT = 600.0    # seconds placed workers may take to start (processes importing torch on a loaded machine)


def _need_text(resources: dict[str, float]) -> str:
    """'1 CPU, 0.5 GPU' of {'num_cpus': 1, 'num_gpus': 0.5}."""
    return ", ".join(f"{v:g} {k[4:-1].upper()}" for k, v in resources.items() if v)


def _free_text(available: dict) -> str:
    return ", ".join(f"{available.get(k, 0):g} {k}" for k in ("CPU", "GPU") if k == "CPU" or available.get(k))


def check_room(workers: int, resources: dict[str, float], address: str | None) -> None:
    """ClusterError at once when the whole cluster has fewer CPUs or GPUs than `workers` actors need."""
    import ray

    total = ray.cluster_resources()
    for key, name in RESOURCES:
        need = workers * resources.get(key, 0.0)
        if need > total.get(name, 0.0) + 1e-9:
            where = f"the Ray cluster at {address}" if address else "this local Ray"
            raise ClusterError(f"{where} has {total.get(name, 0.0):g} {name}s in all, but {workers} workers of "
                               f"{_need_text(resources)} need {need:g}; lower --workers (search.workers) or "
                               f"search.{'cpus' if name == 'CPU' else 'gpus'}_per_worker, or add nodes")


@EXECUTORS.register("ray")
class RayEvaluator(Executor):
    """Evaluates genomes on `workers` Ray actors (num_cpus / num_gpus each), local or on a cluster.

    A cluster too small for the workers asked for is a ClusterError at once; one that cannot place them all
    within `start_timeout` seconds (search.placement_timeout: others hold what they need) is one then. Placed
    workers may take up to STARTUP_LIMIT s to start.
    """

    placed = True                                    # make_executor passes search.placement_timeout as start_timeout

    def __init__(self, probe: ProbeData, cfg: FitnessConfig, workers: int = 2, address: str | None = None,
                 retries: int = 2, evaluate_fn: EvaluateFn | None = None, timeout: float | None = None,
                 start_timeout: float = 60.0, cpus: float = 1.0, gpus: float = 0.0, threads: int = 1):
        import ray

        super().__init__()
        self._owns = connect(address, max(1, workers))
        if workers < 1:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
        self.cfg, self.retries, self.evaluate_fn = cfg, retries, evaluate_fn
        self.timeout, self.start_timeout, self.threads = timeout, start_timeout, threads
        self.resources = {"num_cpus": cpus, "num_gpus": gpus}
        self._actors, self._busy, self._idle = [], {}, []   # until the workers are up (close() may come first)
        try:
            check_room(workers, self.resources, address)
        except ClusterError:
            self.close()                             # shuts a Ray down that this executor started
            raise
        self._cls = ray.remote(max_restarts=0, **self.resources)(_Worker)
        self._reserve(workers)                       # the cluster can place them all now, or a one-line error
        self._probe_ref = ray.put(probe)             # in the object store once, read by every actor
        self._actors = [self._spawn() for _ in range(workers)]
        self._wait_ready(self._actors)               # start-up is not counted against a genome's timeout
        self._queue: collections.deque = collections.deque()   # (tag, genome, proxies, tries)
        self._busy: dict[Any, tuple] = {}            # ref -> (actor index, tag, genome, proxies, tries, start)
        self._idle = list(range(workers))[::-1]

    @classmethod
    def from_config(cls, probe: ProbeData, cfg: FitnessConfig, ex: ExecutorConfig, **kw: Any) -> "RayEvaluator":
        """Ray CPU workers as the executor config asks; `auto` moves to GPU workers when the cluster has GPUs."""
        if ex.kind == "auto" and cfg.device != "cpu" and auto_gpus(ex.workers, ex.address) > 0:
            return EXECUTORS.get("ray-gpu").from_config(probe, cfg, ex, **kw)
        return cls(probe, cfg, workers=ex.workers, address=ex.address, timeout=ex.eval_timeout,
                   cpus=ex.cpus_per_worker, gpus=ex.gpus_per_worker, threads=ex.torch_threads, **kw)

    def describe(self) -> str:
        """One line: how many workers, with which resources."""
        return f"{len(self._actors)} Ray workers ({_need_text(self.resources)} each)"

    @property
    def workers(self) -> int:
        """Number of actors in the pool."""
        return len(self._actors)

    def placements(self) -> list[dict]:
        """Per worker: its Ray GPU ids, CUDA_VISIBLE_DEVICES and scoring device (see _Worker.placement)."""
        import ray

        return ray.get([a.placement.remote() for a in self._actors])

    @property
    def capacity(self) -> int:  # type: ignore[override]
        return len(self._actors)

    @property
    def pending(self) -> int:
        """Genomes queued or running."""
        return len(self._queue) + len(self._busy)

    def _spawn(self):
        return self._cls.remote(self._probe_ref, self.cfg, self.evaluate_fn, self.threads)

    def _reserve(self, workers: int) -> None:
        """Wait up to start_timeout s until the cluster can place every worker at once (a placement group, removed
        again: the actors are then scheduled as usual); ClusterError naming what is free otherwise."""
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group

        bundle = {name: self.resources[key] for key, name in RESOURCES if self.resources[key]}
        group = placement_group([bundle] * workers)
        try:
            placed = group.wait(timeout_seconds=self.start_timeout)
            free = _free_text(ray.available_resources())
        finally:
            remove_placement_group(group)
        if not placed:
            self.close()
            raise ClusterError(f"{workers} Ray workers could not be placed within {self.start_timeout:g} s (each "
                               f"needs {_need_text(self.resources)}; free now: {free}); lower --workers, wait for "
                               "the cluster to free up, or raise search.placement_timeout")

    def _wait_ready(self, actors: list) -> None:
        """Wait until every actor is up; ClusterError when they take STARTUP_LIMIT s in all (placed workers may
        start slowly: processes importing torch on a loaded machine)."""
        import ray

        done, pending = ray.wait([a.ready.remote() for a in actors], num_returns=len(actors), timeout=STARTUP_LIMIT)
        if pending:
            free = _free_text(ray.available_resources())
            self.close()
            raise ClusterError(f"{len(pending)} of {len(actors)} Ray workers did not start within {STARTUP_LIMIT:g} s "
                               f"(each needs {_need_text(self.resources)}; free now: {free}); see the Ray worker "
                               "logs (an overloaded machine? a node lost?)")
        self.device = ray.get(done)[0]

    def submit(self, tag: Hashable, genome: Genome, proxies: tuple[str, ...]) -> None:
        """Queue a genome; it starts as soon as an actor is free."""
        self._queue.append((tag, genome, tuple(proxies), 0))
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and self._idle:
            a = self._idle.pop()
            tag, genome, proxies, tries = self._queue.popleft()
            ref = self._actors[a].run.remote(genome, proxies)
            self._busy[ref] = (a, tag, genome, proxies, tries, time.monotonic())

    def poll(self, timeout: float | None = None) -> list[tuple[Hashable, Record]]:
        """Wait (up to `timeout` s) until at least one genome finishes; return every finished one."""
        import ray

        if not self._busy:
            return []
        wait = timeout
        if self.timeout:
            oldest = min(t[5] for t in self._busy.values())
            left = max(0.0, oldest + self.timeout - time.monotonic())
            wait = left if wait is None else min(wait, left)
        ready, _ = ray.wait(list(self._busy), num_returns=1, timeout=wait)
        if ready:
            ready, _ = ray.wait(list(self._busy), num_returns=len(self._busy), timeout=0)
        out = [r for ref in ready for r in self._collect(ref)]
        out += self._expire()
        self._dispatch()
        return out

    def _collect(self, ref) -> list[tuple[Hashable, Record]]:
        import ray
        from ray.exceptions import RayTaskError

        a, tag, genome, proxies, tries, _ = self._busy.pop(ref)
        try:
            rec = ray.get(ref)
        except RayTaskError as e:                   # raised inside the actor: not a crash
            rec = failed(genome, proxies, f"worker error: {e.cause!r}")
        except ray.exceptions.RayError as e:        # actor died (crash, OOM kill): replace, retry
            self._replace(a)
            self.events["worker_deaths"] += 1
            if tries < self.retries:
                self.events["retries"] += 1
                self._queue.appendleft((tag, genome, proxies, tries + 1))
                self._idle.append(a)
                return []
            rec = failed(genome, proxies, f"worker died {tries + 1} times: {type(e).__name__}")
            tries += 1
        rec.worker_deaths = tries                   # evaluations.jsonl says which genome lost workers
        self._idle.append(a)
        return [(tag, rec)]

    def _expire(self) -> list[tuple[Hashable, Record]]:
        """Fail and replace the workers whose genome ran past the timeout."""
        if not self.timeout:
            return []
        now, out = time.monotonic(), []
        for ref, (a, tag, genome, proxies, _, start) in list(self._busy.items()):
            if now - start >= self.timeout:
                del self._busy[ref]
                self._replace(a)
                self.events["timeouts"] += 1
                out.append((tag, failed(genome, proxies, f"evaluation timed out after {self.timeout:g} s "
                                                         "(worker replaced)")))
                self._idle.append(a)
        return out

    def _replace(self, a: int) -> None:
        import ray

        try:
            ray.kill(self._actors[a], no_restart=True)
        except Exception:  # noqa: BLE001 - it is already gone
            pass
        self._actors[a] = self._spawn()
        self._wait_ready([self._actors[a]])

    def close(self) -> None:
        """Kill the actors; shut Ray down when this executor started it."""
        import ray

        if ray.is_initialized():                    # ray.kill would start a fresh session otherwise
            for actor in self._actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # noqa: BLE001 - already gone
                    pass
            if self._owns:
                ray.shutdown()
        self._actors, self._busy, self._idle = [], {}, []


__all__ = ["ClusterError", "RayEvaluator", "check_reachable", "check_room", "connect"]
