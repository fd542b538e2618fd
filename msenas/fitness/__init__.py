"""Training-free fitness: proxies, calibrated composites, serial and Ray evaluators (SPEC 3).

Light names (config, proxies, composites, records) import numpy/scipy only;
the torch- and Ray-side names load on first use, so importing the config
stays fast.
"""
from importlib import import_module

from msenas.fitness.composite import COMPOSITES, Calibration, CalibrationError
from msenas.fitness.config import DEFAULT_PROXY, ExecutorConfig, FitnessConfig, FitnessConfigError
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST, register_proxy
from msenas.fitness.record import WORST_FITNESS, Record

_LAZY = {
    "evaluate_genome": "msenas.fitness.evaluate",
    "ProbeData": "msenas.fitness.probe",
    "make_probe": "msenas.fitness.probe",
    "EXECUTORS": "msenas.fitness.executors",
    "Executor": "msenas.fitness.executors",
    "SerialEvaluator": "msenas.fitness.executors",
    "RayEvaluator": "msenas.fitness.executors",
    "RayGpuEvaluator": "msenas.fitness.executors",
    "ClusterError": "msenas.fitness.executors",
    "make_executor": "msenas.fitness.executors",
    "FitnessEngine": "msenas.fitness.engine",
    "make_engine": "msenas.fitness.engine",
}

__all__ = [
    "COMPOSITES", "Calibration", "CalibrationError", "DEFAULT_PROXY", "ExecutorConfig", "FEW_STEP", "FitnessConfig",
    "FitnessConfigError", "PROXIES", "Record", "WORST_FITNESS", "ZERO_COST", "register_proxy", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'msenas.fitness' has no attribute {name!r}")
