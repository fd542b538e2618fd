"""The Ray GPU executor: Ray actors that each hold a fraction of a GPU and score genomes on it.

`gpus_per_worker` = 0.25 puts four workers on one GPU (Ray packs fractional
GPUs); the probe batch lives on the worker's device and only the small
spike-count arrays come back to the CPU (msenas.fitness.measure). With
`executor = "auto"` and no `gpus_per_worker`, a cluster that has GPUs gets its
workers spread over them (see `auto_gpus`).
"""
from __future__ import annotations

from typing import Any

from msenas.config import ConfigError
from msenas.fitness.config import ExecutorConfig, FitnessConfig
from msenas.fitness.executors.base import EXECUTORS
from msenas.fitness.executors.ray_cpu import RayEvaluator, auto_gpus
from msenas.fitness.probe import ProbeData


@EXECUTORS.register("ray-gpu")
class RayGpuEvaluator(RayEvaluator):
    """Ray actors holding `gpus` GPUs each (a fraction shares one), evaluating on CUDA."""

    @classmethod
    def from_config(cls, probe: ProbeData, cfg: FitnessConfig, ex: ExecutorConfig, **kw: Any) -> "RayGpuEvaluator":
        """Ray GPU workers as the executor config asks (gpus_per_worker 0: spread over the cluster's GPUs)."""
        if cfg.device == "cpu":
            raise ConfigError("fitness.device: 'cpu' contradicts the ray-gpu executor (use device auto or cuda)")
        gpus = ex.gpus_per_worker or auto_gpus(ex.workers, ex.address)
        if gpus <= 0:
            raise ConfigError("search.executor: 'ray-gpu' asked for, but the Ray cluster has no GPU")
        return cls(probe, cfg, workers=ex.workers, address=ex.address, timeout=ex.eval_timeout,
                   cpus=ex.cpus_per_worker, gpus=gpus, threads=ex.torch_threads, **kw)
