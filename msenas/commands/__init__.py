"""One module per subcommand: add_arguments(parser) and run(args) -> exit code; the options they share.

Modules import heavy libraries (torch, ray) inside run(), so `msenas --help` stays fast.
Every subcommand speaks one dialect: `--set SECTION.KEY=VALUE` names a key as its TOML table does
(`search.population=8`, `train.lr=0.01`, `darts.w_lr=0.01`, `data.size=8`), and `--quiet` (alias
`--no-progress`) turns progress bars and per-epoch lines off.
"""
from __future__ import annotations

import argparse


def at_least(low: int):
    """An argparse type: an integer >= low ("--classes: must be an integer >= 1, got '-5'" otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def add_quiet(p: argparse.ArgumentParser, what: str = "no progress bars or per-epoch lines") -> None:
    """--quiet, and --no-progress as its alias: the one progress switch of every command that shows progress."""
    p.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true", help=what)


def add_run_options(p: argparse.ArgumentParser, section: str, examples: str,
                    resume: str = "continue the run in --out from its last checkpoint") -> None:
    """--set SECTION.KEY=VALUE / data.KEY=VALUE, --resume and --quiet of train, transfer and darts."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=f"{examples} or data.KEY=VALUE (data.size=8, data.seed=1); repeatable")
    p.add_argument("--resume", action="store_true", help=resume)
    add_quiet(p)


SECTIONS = ("search", "fitness", "space", "train", "darts")    # the tables a --set key may start with


def settings(overrides: list[str], section: str) -> tuple[dict, dict]:
    """(SECTION fields, data fields) of --set strings; `SECTION.KEY=v` and the bare `KEY=v` say the same."""
    from msenas.config import ConfigError
    from msenas.errors import short
    from msenas.train.config import parse_overrides

    bare = []
    for item in overrides:
        head, dot, rest = item.lstrip().partition(".")
        if dot and head == section:
            item = rest
        elif dot and head in SECTIONS:
            raise ConfigError(f"--set {short(item)}: {head}.KEY is not an option here; "
                              f"use {section}.KEY=VALUE or data.KEY=VALUE")
        bare.append(item)
    return parse_overrides(bare)
