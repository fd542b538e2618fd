"""msenas transfer GENOME.json --to NAME: rebuild a genome for another dataset's shape and classes, train it."""
from __future__ import annotations

import argparse

from msenas.commands.train import add_common, read_genome, train_and_report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("genome", help="genome JSON file (e.g. from search/export), or a result folder of msenas train")
    p.add_argument("--to", required=True, metavar="NAME", help="target dataset (e.g. digits-dvs, cifar10dvs)")
    add_common(p)


def run(args: argparse.Namespace) -> int:
    genome, extras = read_genome(args.genome)
    return train_and_report(genome, args.to, args, banner=source_text(extras) + " -> {info.name} "
                            "input {info.in_shape}, {info.n_classes} classes", extras=extras)


def source_text(extras: dict) -> str:
    """'transfer: digits input (1, 16, 16), 10 classes', from what the genome file records (and says what it lacks)."""
    from msenas.genome.io import recorded_input

    name, shape = recorded_input(extras)
    if name is None:
        text = "transfer: source dataset not recorded in the genome file"
    else:
        recorded = [f"input {shape}"] if shape else []
        recorded += [f"{extras['n_classes']} classes"] if "n_classes" in extras else []
        text = f"transfer: {name} " + (", ".join(recorded) or "(input and classes not recorded)")
    return text.replace("{", "{{").replace("}", "}}")
