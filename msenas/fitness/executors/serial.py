"""The serial executor: genomes evaluated one after another in this process."""
from __future__ import annotations

import collections
from typing import Any, Hashable

from msenas.fitness.config import ExecutorConfig, FitnessConfig
from msenas.fitness.executors.base import (
    EXECUTORS,
    EvaluateFn,
    Executor,
    default_evaluate,
    safe_evaluate,
    torch_threads,
)
from msenas.fitness.probe import ProbeData
from msenas.fitness.record import Record
from msenas.genome import Genome


@EXECUTORS.register("serial")
class SerialEvaluator(Executor):
    """Evaluates in this process, one genome per poll, with `threads` torch threads."""

    def __init__(self, probe: ProbeData, cfg: FitnessConfig, evaluate_fn: EvaluateFn | None = None, threads: int = 1):
        super().__init__()
        self.probe, self.cfg, self.threads = probe, cfg, threads
        self.evaluate_fn = evaluate_fn or default_evaluate()
        self._queue: collections.deque = collections.deque()
        from msenas.runtime import device_name

        self.device = device_name(cfg.device)          # where this process scores ('cuda' only when it sees a GPU)

    @classmethod
    def from_config(cls, probe: ProbeData, cfg: FitnessConfig, ex: ExecutorConfig, **kw: Any) -> "SerialEvaluator":
        """Serial evaluation with the executor's torch_threads."""
        return cls(probe, cfg, threads=ex.torch_threads, **kw)

    def describe(self) -> str:
        """One line: where genomes run."""
        return f"serial, in this process ({self.threads} torch thread{'s' * (self.threads > 1)})"

    def submit(self, tag: Hashable, genome: Genome, proxies: tuple[str, ...]) -> None:
        """Queue a genome; poll evaluates it."""
        self._queue.append((tag, genome, tuple(proxies)))

    def poll(self, timeout: float | None = None) -> list[tuple[Hashable, Record]]:
        """Evaluate the oldest queued genome and return it ([] when nothing is queued)."""
        if not self._queue:
            return []
        tag, genome, proxies = self._queue.popleft()
        with torch_threads(self.threads):
            return [(tag, safe_evaluate(self.evaluate_fn, genome, self.probe, self.cfg, proxies))]

    @property
    def pending(self) -> int:
        """Genomes queued."""
        return len(self._queue)
