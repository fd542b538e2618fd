"""msenas train GENOME.json --dataset NAME (or zoo:NAME --width W): surrogate-gradient training into a result folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from msenas.commands import add_run_options, settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    from msenas.zoo import describe

    p.add_argument("genome", help="genome JSON file, a result folder holding genome.json, or a published network "
                                  f"of spikingjelly's model zoo: {describe()}")
    p.add_argument("--dataset", default=None,
                   help="dataset name (digits, digits-dvs, npz, cifar10, ...; default: the genome file's, else digits)")
    p.add_argument("--width", type=int, default=None,
                   help="zoo networks: channels of the first layer, every other width scaled with it (default: the "
                        "published width); size it to a budget")
    add_common(p)


def add_common(p: argparse.ArgumentParser) -> None:
    """Options shared by train and transfer."""
    p.add_argument("--data-dir", default=None, help="dataset folder (not needed for digits, digits-dvs)")
    p.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the config's, 10)")
    p.add_argument("--out", default=None, help="result folder (default results/<dataset>-<genome key>)")
    add_run_options(p, "train", "training option as train.KEY=VALUE (train.lr=0.01, train.optimizer=sgd, "
                    "train.loss=tet, train.T=6, train.device=cuda, train.amp=off, ...; data.size defaults to the "
                    "genome file's on its dataset)")


def run(args: argparse.Namespace) -> int:
    from msenas.zoo import ZooError, is_zoo, parse

    if is_zoo(args.genome):
        model = parse(args.genome, args.width)      # trained with the loss it was published with, unless --set
        return train_and_report(model, args.dataset, args, defaults={"loss": model.entry.loss})
    if args.width is not None:
        raise ZooError("--width: only for zoo networks (zoo:NAME); a genome's widths are in the genome")
    genome, extras = read_genome(args.genome)
    return train_and_report(genome, args.dataset, args, extras=extras)


def read_genome(path_arg: str):
    """(genome, extra JSON fields such as dataset/in_shape/n_classes) from a file or a result folder."""
    from msenas.genome import io

    path = Path(path_arg)
    if path.is_dir():
        path = path / "genome.json"
    return io.read(path)


def data_from_cli(name: str, data_dir: str | None, fields: dict):
    """The DataConfig of a command line: --dataset, --data-dir and `--set data.KEY=value` (seed and options)."""
    from msenas.config import DataConfig
    from msenas.data import DATASETS, DataError

    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    fields = dict(fields)
    seed = fields.pop("seed", 0)
    if data_dir is not None and not Path(data_dir).exists():
        raise DataError(f"--data-dir: {data_dir} does not exist")
    return DataConfig.from_dict({"dataset": name,
                                 "data_dir": None if data_dir is None else str(Path(data_dir).resolve()),
                                 "options": fields, "seed": seed})


def resolve(dataset: str | None, args: argparse.Namespace, extras: dict | None = None, defaults: dict | None = None):
    """(TrainConfig, DataConfig) from --set, --epochs, --dataset and --data-dir; by default the genome file's input."""
    from msenas.data import DATASETS, DataError, recorded_size
    from msenas.genome.io import recorded_input
    from msenas.train.config import TrainConfig

    train_fields, data_fields = settings(args.overrides, "train")
    train_fields = {**(defaults or {}), **train_fields}
    if args.epochs is not None:
        train_fields["epochs"] = args.epochs
    name, shape = recorded_input(extras or {})
    if dataset is None and name is not None and name not in DATASETS:
        raise DataError(f"the genome file records dataset {name!r}, not a known one; give --dataset "
                        f"(known: {', '.join(DATASETS)})")
    dataset = dataset or name or "digits"
    data_fields = recorded_size(dataset, data_fields, name, shape)
    return TrainConfig.from_dict(train_fields), data_from_cli(dataset, args.data_dir, data_fields)


def train_and_report(genome, dataset: str | None, args: argparse.Namespace, banner: str | None = None,
                     extras: dict | None = None, defaults: dict | None = None) -> int:
    """Build the dataset (by default the genome file's, at its input size), train into --out, print the figures."""
    from msenas.genome.io import input_note
    from msenas.train import train
    from msenas.train.trainer import architecture_key

    cfg, data = resolve(dataset, args, extras, defaults)
    ds = data.build(cfg.T)
    if banner is not None:
        print(banner.format(info=ds.info))
    else:
        note = input_note(extras or {}, ds.info.in_shape, ds.info.name)
        if note:
            print(note, file=sys.stderr)
    k = architecture_key(genome)
    out = Path(args.out or f"results/{data.dataset}-{k if k.startswith('zoo-') else k[:8]}")
    metrics = train(genome, ds, cfg, out, resume=args.resume, progress=not args.quiet, data=data)
    print(summary_line(metrics["final"]))
    print(f"result folder: {out}")
    return 0


def summary_line(ev: dict) -> str:
    """One line of accuracy and spikes per sample (total and per cell)."""
    cells = ", ".join(f"{s:.4g}" for s in ev["spikes_per_cell"])
    extra = f", params {ev['params']:,}" if "params" in ev else ""
    if "energy_pj" in ev:
        extra += f", energy {ev['energy_pj'] / 1e6:.4g} uJ/sample"
        if "energy_dense_pj" in ev:
            extra += f" (non-spiking equivalent {ev['energy_dense_pj'] / 1e6:.4g} uJ)"
    return (f"test accuracy {ev['test_acc']:.4f}, test loss {ev['test_loss']:.4f}, "
            f"{ev['spikes']:.4g} spikes/sample (per cell: {cells}), {ev['sops']:.4g} synaptic ops/sample{extra}")
