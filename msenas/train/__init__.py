"""Surrogate-gradient training, evaluation and the result folder (SPEC section 5)."""
from msenas.train.config import TrainConfig, TrainConfigError, parse_overrides
from msenas.train.optim import LOSSES, OPTIMIZERS, make_optimizer, make_scheduler, warmup_cosine
from msenas.train.result import ResultError, evaluate_result, load_result
from msenas.train.trainer import TrainError, build_model, train

__all__ = [
    "LOSSES", "OPTIMIZERS", "ResultError", "TrainConfig", "TrainConfigError", "TrainError", "build_model",
    "evaluate_result", "load_result", "make_optimizer", "make_scheduler", "parse_overrides", "train",
    "warmup_cosine",
]
