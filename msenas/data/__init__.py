"""Dataset registry: ``get_dataset(name, data_dir, T=..., seed=..., **options)``.

Registered: digits, npz, cifar10, cifar100 (static images [C,H,W]) and
nmnist, cifar10dvs, dvsgesture, digits-dvs (event frames [T,2,H,W]). Every
dataset also accepts ``train_per_class`` / ``test_per_class`` (seeded,
class-balanced subsets). docs/datasets.md lists layouts and options.
A new dataset is one module of this package calling ``@register_dataset(name)``: every module is
imported below, so the file is all it takes (tests/test_data.py checks every entry).
"""
import importlib
import pkgutil

from msenas.data.batches import default_workers, make_loader, probe_batch, to_time_major, train_subset
from msenas.data.registry import COMMON_OPTIONS, DATASETS, dataset_options, get_dataset, recorded_size, register_dataset
from msenas.data.splits import augmentation_rng, labels_of, stratified_split
from msenas.data.types import DataError, Dataset, DatasetInfo

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):   # each dataset module registers itself
    importlib.import_module(f"{__name__}.{_m}")

__all__ = [
    "COMMON_OPTIONS",
    "DATASETS",
    "augmentation_rng",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "dataset_options",
    "default_workers",
    "get_dataset",
    "labels_of",
    "make_loader",
    "probe_batch",
    "recorded_size",
    "register_dataset",
    "stratified_split",
    "to_time_major",
    "train_subset",
]
