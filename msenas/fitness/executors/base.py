"""The executor protocol: genomes in, records out, synchronously (map) or as they finish (submit/poll).

The search only talks to an executor (DEAP's toolbox.map idea, extended for
asynchronous search): `map(genomes, proxies)` returns records in order;
`submit(tag, genome, proxies)` starts one genome and `poll(timeout)` returns
the (tag, record) pairs finished so far, so a steady-state strategy hands the
next genome to a worker the moment it is free. A genome whose evaluation
raises gets a failed record; an executor never raises for a bad genome.
Worker deaths, retries and timeouts are counted in `events` (the search logs
and resets them every generation or checkpoint).
"""
from __future__ import annotations

import collections
import contextlib
from typing import Any, Callable, Hashable, Iterator

from msenas.fitness.config import ExecutorConfig, FitnessConfig
from msenas.fitness.executors.registry import EXECUTORS
from msenas.fitness.probe import ProbeData
from msenas.fitness.proxies import fidelity_of
from msenas.fitness.record import Record, failed_record
from msenas.genome import Genome

EvaluateFn = Callable[[Genome, ProbeData, FitnessConfig, tuple[str, ...]], Record]


def default_evaluate() -> EvaluateFn:
    """msenas.fitness.evaluate.evaluate_genome (imported on first use: it loads torch)."""
    from msenas.fitness.evaluate import evaluate_genome

    return evaluate_genome


def safe_evaluate(fn: EvaluateFn, g: Genome, probe: ProbeData, cfg: FitnessConfig, proxies: tuple[str, ...]) -> Record:
    """fn(...), or a failed record when fn raises (a custom evaluate_fn may)."""
    try:
        return fn(g, probe, cfg, proxies)
    except Exception as e:  # noqa: BLE001 - a bad genome never stops a batch
        return failed(g, proxies, f"{type(e).__name__}: {e}")


def failed(g: Genome, proxies: tuple[str, ...], msg: str) -> Record:
    """The failed record of genome g, with a one-line message."""
    from msenas.fitness.evaluate import genome_key

    return failed_record(genome_key(g), " ".join(str(msg).split())[:500], fidelity_of(proxies))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with torch using n threads (then restore): results do not depend on the executor."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Executor:
    """Base of every executor: `map` built on `submit`/`poll`; subclasses do the rest."""

    capacity: int = 1        # genomes in flight at once (workers)
    device: str = "cpu"      # where genomes are scored: "cpu" or "cuda"

    def __init__(self) -> None:
        self.events: collections.Counter[str] = collections.Counter()   # worker_deaths, retries, timeouts

    @classmethod
    def from_config(cls, probe: ProbeData, cfg: FitnessConfig, ex: ExecutorConfig, **kw: Any) -> "Executor":
        """Build from the run's fitness and executor configs."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying where genomes run (printed at the start of a search)."""
        return type(self).__name__

    def submit(self, tag: Hashable, genome: Genome, proxies: tuple[str, ...]) -> None:
        """Start evaluating `genome` (queued if every worker is busy); its record comes back with `tag`."""
        raise NotImplementedError

    def poll(self, timeout: float | None = None) -> list[tuple[Hashable, Record]]:
        """(tag, record) of evaluations finished; waits up to `timeout` s (None: until one finishes)."""
        raise NotImplementedError

    @property
    def pending(self) -> int:
        """Genomes submitted and not yet returned by poll."""
        raise NotImplementedError

    @property
    def busy(self) -> int:
        """Workers computing right now."""
        return min(self.pending, self.capacity)

    def map(self, genomes: list[Genome], proxies: tuple[str, ...],
            progress: Callable[[], None] | None = None) -> list[Record]:
        """Records of `genomes`, in order; `progress()` is called as each one finishes."""
        proxies = tuple(proxies)
        for i, g in enumerate(genomes):
            self.submit(("map", i), g, proxies)
        out: dict[int, Record] = {}
        while len(out) < len(genomes):
            for (_, i), rec in self.poll():
                out[i] = rec
                if progress is not None:
                    progress()
        return [out[i] for i in range(len(genomes))]

    def take_events(self) -> dict[str, int]:
        """Worker deaths, retries and timeouts since the last call (then reset)."""
        out = dict(self.events)
        self.events.clear()
        return out

    def close(self) -> None:
        """Release workers (and a Ray session this executor started)."""


def make_executor(probe: ProbeData, cfg: FitnessConfig, ex: ExecutorConfig, **kw: Any) -> Executor:
    """The executor `ex` asks for (auto: serial, ray or ray-gpu, see ExecutorConfig.resolved_kind)."""
    cls = EXECUTORS.get(ex.resolved_kind())
    if getattr(cls, "placed", False):          # workers a cluster places: they wait for free resources
        kw.setdefault("start_timeout", ex.placement_timeout)
    return cls.from_config(probe, cfg, ex, **kw)
