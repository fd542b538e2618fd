"""The dataset registry: ``get_dataset(name, data_dir, T=..., seed=..., **options)``.

A builder is registered under a name and called as
``builder(data_dir, *, T, seed, **options)``; its keyword-only parameters
(besides T and seed) are the options it accepts, so ``get_dataset`` can reject
unknown options before building anything. Options every dataset accepts
(``COMMON_OPTIONS``: class-balanced train/test subsets) are applied here, after
the builder, so a builder never sees them.
"""
from __future__ import annotations

import inspect
import os
from typing import Callable

import numpy as np

from msenas.data.splits import SplitView, labels_of, per_class_indices
from msenas.data.types import DataError, Dataset
from msenas.registry import Registry, RegistryError

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")
EVENT_SOURCES: Registry = Registry("event dataset")   # name -> event_files.EventSource, one module each registers
COMMON_OPTIONS = {"train_per_class": None, "test_per_class": None}  # name -> default, every dataset
_RESERVED = ("T", "seed")


def register_dataset(name: str) -> Callable:
    """Decorator: register a builder ``f(data_dir, *, T, seed, **options) -> Dataset``."""
    return DATASETS.register(name)


def _builder(name: str) -> Callable[..., Dataset]:
    try:
        return DATASETS.get(name)
    except RegistryError as e:
        raise DataError(str(e)) from None


def _own_options(name: str) -> dict[str, object]:
    params = inspect.signature(_builder(name)).parameters.values()
    return {p.name: p.default for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in _RESERVED}


def dataset_options(name: str) -> dict[str, object]:
    """Option names accepted by a registered dataset, with their defaults."""
    return {**_own_options(name), **COMMON_OPTIONS}


def recorded_size(name: str, options: dict, recorded: str | None, in_shape) -> dict:
    """``options`` with ``size`` = a genome file's recorded input side when ``name`` is its dataset and none is set."""
    if (name != recorded or in_shape is None or "size" in options or "size" not in _own_options(name)
            or in_shape[-1] != in_shape[-2]):
        return dict(options)
    return {**options, "size": int(in_shape[-1])}


def get_dataset(name: str, data_dir: str | None = None, *, T: int = 4, seed: int = 0, **options) -> Dataset:
    """Build the registered dataset ``name``; unknown names or options raise DataError."""
    accepted = dataset_options(name)
    for key in options:
        if key not in accepted:
            known = ", ".join(sorted(accepted)) or "none"
            raise DataError(f"{name}: unknown option {key!r} (accepted options: {known})")
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise DataError(f"{name}: T must be a positive integer, got {T!r}")
    common = {k: options.pop(k, v) for k, v in COMMON_OPTIONS.items()}
    for key, value in common.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DataError(f"{name}: option {key} must be a positive integer (samples kept per class), got {value!r}")
    if data_dir is not None:
        data_dir = os.path.expanduser(str(data_dir))  # "~/data/cifar10" from a config or --set works too
    ds = _builder(name)(data_dir, T=T, seed=int(seed), **options)
    ds = subset(ds, common["train_per_class"], common["test_per_class"], int(seed))
    check_not_empty(ds, data_dir)
    return ds


def subset(ds: Dataset, train_per_class: int | None, test_per_class: int | None, seed: int) -> Dataset:
    """Seeded class-balanced subsets of the splits (None keeps a split whole)."""
    for part, per_class, stream in (("train", train_per_class, 1), ("test", test_per_class, 2)):
        if per_class is not None:
            split = getattr(ds, part)
            rng = np.random.default_rng([seed, 0x5B5E7, stream])
            setattr(ds, part, SplitView(split, per_class_indices(labels_of(split), per_class, rng)))
    return ds


def check_not_empty(ds: Dataset, data_dir: str | None) -> None:
    """A split with no sample is a DataError (it would report accuracy on nothing)."""
    for part in ("train", "test"):
        if len(getattr(ds, part)) == 0:
            where = f" in {data_dir}" if data_dir else ""
            raise DataError(f"{ds.info.name}: the {part} split{where} is empty; every split needs samples")
