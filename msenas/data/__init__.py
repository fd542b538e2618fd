"""Dataset registry: ``get_dataset(name, data_dir, T=..., seed=..., **options)``.

Registered: digits, npz, cifar10, cifar100 (static images [C,H,W]) and
cifar10dvs, dvsgesture, digits-dvs (event frames [T,2,H,W]).
"""
from msenas.data.base import (
    DATASETS,
    augmentation_rng,
    DataError,
    Dataset,
    DatasetInfo,
    dataset_options,
    get_dataset,
    labels_of,
    make_loader,
    probe_batch,
    register_dataset,
    stratified_split,
    to_time_major,
    train_subset,
)
from msenas.data import events as _events  # noqa: F401  (registers the event datasets)
from msenas.data import static as _static  # noqa: F401  (registers the static datasets)

__all__ = [
    "DATASETS",
    "augmentation_rng",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "dataset_options",
    "get_dataset",
    "labels_of",
    "make_loader",
    "probe_batch",
    "register_dataset",
    "stratified_split",
    "to_time_major",
    "train_subset",
]
