"""Executors: genomes -> records, serially in this process or on Ray CPU / GPU workers, behind one interface.

A new executor is one file here: a class with `from_config`, `submit`, `poll`
and `pending` (see base.py), registered in EXECUTORS under its name. Every module
here is imported below, so the file is all it takes (tests/test_registries.py checks every entry).
"""
import importlib
import pkgutil

from msenas.fitness.executors.base import EXECUTORS, EvaluateFn, Executor, make_executor, torch_threads
from msenas.fitness.executors.ray_cpu import ClusterError, RayEvaluator, check_reachable, connect
from msenas.fitness.executors.ray_gpu import RayGpuEvaluator
from msenas.fitness.executors.serial import SerialEvaluator

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_m}")

__all__ = ["ClusterError", "EXECUTORS", "EvaluateFn", "Executor", "RayEvaluator", "RayGpuEvaluator",
           "SerialEvaluator", "check_reachable", "connect", "make_executor", "torch_threads"]
