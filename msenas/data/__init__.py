"""Dataset registry: ``get_dataset(name, data_dir, T=..., seed=..., **options)``.

Registered: digits, npz, cifar10, cifar100 (static images [C,H,W]) and
nmnist, cifar10dvs, dvsgesture, digits-dvs (event frames [T,2,H,W]). Every
dataset also accepts ``train_per_class`` / ``test_per_class`` (seeded,
class-balanced subsets). docs/datasets.md lists layouts and options.
"""
from msenas.data import cifar as _cifar  # noqa: F401  (registers cifar10, cifar100)
from msenas.data import events as _events  # noqa: F401  (registers the event datasets)
from msenas.data import npz as _npz  # noqa: F401  (registers npz)
from msenas.data import static as _static  # noqa: F401  (registers digits)
from msenas.data.batches import default_workers, make_loader, probe_batch, to_time_major, train_subset
from msenas.data.registry import COMMON_OPTIONS, DATASETS, dataset_options, get_dataset, recorded_size, register_dataset
from msenas.data.splits import augmentation_rng, labels_of, stratified_split
from msenas.data.types import DataError, Dataset, DatasetInfo

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
