"""The value types every dataset returns, and the data error."""
from __future__ import annotations

from dataclasses import dataclass

from torch.utils.data import Dataset as TorchDataset

from msenas.errors import MsenasError


class DataError(MsenasError, ValueError):
    """A dataset cannot be built: names the dataset, the path and the expected layout."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset."""

    name: str
    in_shape: tuple[int, int, int]  # (C, H, W) of one time step
    n_classes: int
    event: bool  # True: samples are frames [T, C, H, W]; False: images [C, H, W]


@dataclass
class Dataset:
    """A dataset's info plus its train and test splits."""

    info: DatasetInfo
    train: TorchDataset
    test: TorchDataset
