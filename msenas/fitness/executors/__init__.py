"""Executors: genomes -> records, serially in this process or on Ray CPU / GPU workers, behind one interface.

A new executor is one file here: a class with `from_config`, `submit`, `poll`
and `pending` (see base.py), registered in EXECUTORS under its name.
"""
from msenas.fitness.executors.base import EXECUTORS, EvaluateFn, Executor, make_executor, torch_threads
from msenas.fitness.executors.ray_cpu import ClusterError, RayEvaluator, check_reachable, connect
from msenas.fitness.executors.ray_gpu import RayGpuEvaluator
from msenas.fitness.executors.serial import SerialEvaluator

__all__ = ["ClusterError", "EXECUTORS", "EvaluateFn", "Executor", "RayEvaluator", "RayGpuEvaluator",
           "SerialEvaluator", "check_reachable", "connect", "make_executor", "torch_threads"]
