"""Compatibility home of the data API; the code lives in types.py, registry.py, splits.py and batches.py."""
from __future__ import annotations

from msenas.data.batches import make_loader, probe_batch, to_time_major, train_subset
from msenas.data.registry import DATASETS, dataset_options, get_dataset, register_dataset
from msenas.data.splits import ArraySplit, SplitView, augmentation_rng, labels_of, stratified_split
from msenas.data.types import DataError, Dataset, DatasetInfo

__all__ = ["ArraySplit", "DATASETS", "DataError", "Dataset", "DatasetInfo", "SplitView", "augmentation_rng",
           "dataset_options", "get_dataset", "labels_of", "make_loader", "probe_batch", "register_dataset",
           "stratified_split", "to_time_major", "train_subset"]
