"""train_genome: msenas.train.train for a genome or a genome file, by default on the input the file records.

Genome files written by export, darts and train carry the dataset and input
shape the genome was searched (or trained) at; with no dataset given, training
uses them, and a dataset of another input shape is trained with a warning
that says so (the same line `msenas train` prints).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from msenas.config import DataConfig
from msenas.data import Dataset, recorded_size
from msenas.genome import Genome
from msenas.genome import io as genome_io
from msenas.train.config import TrainConfig
from msenas.train.trainer import train


def train_genome(genome: Genome | str | os.PathLike, dataset: Dataset | DataConfig | str | None = None,
                 cfg: TrainConfig | None = None, out_dir: str | os.PathLike | None = None, **kwargs) -> dict:
    """Train a genome (or a genome file, or a result folder) on `dataset` (None: the file's, at its input size)."""
    extras: dict = {}
    if not isinstance(genome, Genome):
        path = Path(genome)
        genome, extras = genome_io.read(path / "genome.json" if path.is_dir() else path)
    cfg = cfg or TrainConfig()
    name, shape = genome_io.recorded_input(extras)
    if dataset is None or isinstance(dataset, str):
        dataset = dataset or name or "digits"
        dataset = DataConfig(dataset, options=recorded_size(dataset, {}, name, shape), seed=0)
    if isinstance(dataset, DataConfig):
        kwargs.setdefault("data", dataset)
        dataset = dataset.build(cfg.T)
    note = genome_io.input_note(extras, dataset.info.in_shape, dataset.info.name)
    if note:
        warnings.warn(note, stacklevel=2)
    out = out_dir if out_dir is not None else f"results/{dataset.info.name}-{genome_io.key(genome)[:8]}"
    return train(genome, dataset, cfg, out, **kwargs)
