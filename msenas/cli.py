"""`msenas` command line: parse, dispatch to msenas.commands.*, print user errors in one line."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from msenas.errors import MsenasError

# subcommand -> module in msenas.commands exposing add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, str] = {
    "inspect": "Print a readable summary of a genome JSON file",
    "search": "Evolve SNN architectures (DEAP, fitness on Ray workers)",
    "export": "Write the top genomes of a run folder as JSON files",
    "train": "Train a genome with surrogate gradients",
    "transfer": "Rebuild a genome for another dataset and train it there",
    "evaluate": "Load a trained result folder and evaluate it on its test split",
    "darts": "MA-DARTS: differentiable search with multi-dimensional attention",
    "report": "Figures and a Markdown summary of a search, MA-DARTS or training folder",
    "results": "A search run's evaluations, a training history or an MA-DARTS search as a table (and CSV)",
}


INSTALL_HINTS = {  # a dependency missing from the environment -> how to install it (README: Installing by hand)
    "spikingjelly": "pip install --no-deps spikingjelly==2.0.0 (its declared requirements pull torchvision)",
    "torch": "pip install torch (a CUDA build for GPUs, or torch==2.13.0 for the CPU wheel)",
    "ray": "pip install 'ray>=2.9'", "deap": "pip install 'deap>=1.4'", "sklearn": "pip install scikit-learn",
    "scipy": "pip install scipy", "matplotlib": "pip install matplotlib", "tqdm": "pip install tqdm",
    "loguru": "pip install loguru (spikingjelly imports it)",
}


def build_parser() -> argparse.ArgumentParser:
    from msenas import __version__

    parser = argparse.ArgumentParser(prog="msenas", description="Multi-scale architecture search for spiking neural networks.")
    parser.add_argument("--version", action="version", version=f"msenas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        if importlib.util.find_spec(f"msenas.commands.{name}") is None:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=name)
        _module(name).add_arguments(p)
    return parser


def _module(name: str):
    return importlib.import_module(f"msenas.commands.{name}")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    args = build_parser().parse_args(argv)
    try:
        return int(_module(args._module).run(args) or 0)
    except MsenasError as e:
        print(f"msenas {args.command}: error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] not in INSTALL_HINTS:
            raise
        print(f"msenas {args.command}: error: the package {e.name.split('.')[0]!r} is not installed; "
              f"{INSTALL_HINTS[e.name.split('.')[0]]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"msenas {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
