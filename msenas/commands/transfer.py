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
    """'transfer: digits input (1, 16, 16), 10 classes', from the genome file's extra fields if present."""
    name = extras.get("dataset", "source dataset unknown")
    shape = tuple(extras["in_shape"]) if isinstance(extras.get("in_shape"), list) else "?"
    classes = extras.get("n_classes", "?")
    return f"transfer: {name} input {shape}, {classes} classes".replace("{", "{{").replace("}", "}}")
