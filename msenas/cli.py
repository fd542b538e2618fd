"""`msenas` command line: parse, dispatch to msenas.commands.*, print user errors in one line."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import os
import sys

from msenas.errors import MsenasError, describe, one_line

OUT_OF_MEMORY = "try a smaller genome, batch, T or data size, or a machine with more memory"

# subcommand -> module in msenas.commands ("-" read as "_") exposing add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, str] = {
    "inspect": "Print a readable summary of a genome JSON file",
    "search": "Evolve SNN architectures (DEAP, fitness on Ray workers)",
    "export": "Write the top genomes of a run folder as JSON files",
    "export-nir": "Write a trained result folder's network as a NIR graph (neuromorphic toolchains)",
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
    "nir": "pip install nir==1.0.8", "nirtorch": "pip install nirtorch==2.6",
}


def build_parser() -> argparse.ArgumentParser:
    from msenas import __version__

    parser = argparse.ArgumentParser(prog="msenas",
                                     description="Multi-scale architecture search for spiking neural networks.")
    parser.add_argument("--version", action="version", version=f"msenas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        if importlib.util.find_spec(f"msenas.commands.{_module_name(name)}") is None:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=name)
        _module(name).add_arguments(p)
    return parser


def _module_name(command: str) -> str:
    return command.replace("-", "_")


def _module(name: str):
    return importlib.import_module(f"msenas.commands.{_module_name(name)}")


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    args = build_parser().parse_args(argv)
    stdout = sys.stdout
    sys.stdout = _Output(stdout)
    try:
        code = int(_module(args._module).run(args) or 0)
        sys.stdout.flush()                      # a full device (> /dev/full) fails here, not at exit
        return code
    except MsenasError as e:
        return _fail(args.command, str(e))
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] not in INSTALL_HINTS:
            raise
        return _fail(args.command, f"the package {e.name.split('.')[0]!r} is not installed; "
                                   f"{INSTALL_HINTS[e.name.split('.')[0]]}")
    except BrokenPipeError:
        return _broken_pipe()
    except OSError as e:                        # an environment problem no command anticipated: still one line
        if e.filename is None:
            raise
        return _fail(args.command, f"{e.filename}: {e.strerror or describe(e)}")
    except MemoryError:
        return _fail(args.command, f"out of memory ({OUT_OF_MEMORY})")
    except RuntimeError as e:                   # torch's allocators report exhaustion as RuntimeError
        if not _out_of_memory(e):
            raise
        return _fail(args.command, f"out of memory: {one_line(e, 200)} ({OUT_OF_MEMORY})")
    except KeyboardInterrupt:
        print(f"msenas {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        if isinstance(sys.stdout, _Output):
            sys.stdout = stdout


class OutputError(MsenasError):
    """Standard output cannot be written (a full device, an I/O error); the reader leaving is BrokenPipeError."""


class _Output:
    """sys.stdout as it was, but a failed write or flush is an OutputError (one line), not a traceback at exit."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._guard(self._stream.write, text)

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def _guard(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            _to_devnull(self._stream)           # what is still buffered goes nowhere: no second error at exit
            raise OutputError(f"cannot write the output to stdout ({e.strerror or describe(e)})") from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _out_of_memory(e: RuntimeError) -> bool:
    """Whether a RuntimeError is torch failing to allocate (CPU or CUDA), not a bug."""
    return type(e).__name__ == "OutOfMemoryError" or "can't allocate memory" in str(e) or "out of memory" in str(e)


def _fail(command: str, message: str) -> int:
    """Print `msenas CMD: error: MESSAGE` on one line; exit status 2."""
    try:
        print(f"msenas {command}: error: {one_line(message)}", file=sys.stderr)
    except (BrokenPipeError, ValueError):       # stderr is gone too: the exit status still says it
        pass
    return 2


def _broken_pipe() -> int:
    """The reader of stdout went away (`msenas inspect G | head -1`): stop quietly, as Unix tools do."""
    _to_devnull(sys.stdout)                     # no flush error at exit: stdout now leads nowhere
    return 128 + 13                             # what a shell reports for a process ended by SIGPIPE


def _to_devnull(stream) -> None:
    """Point the file descriptor of a stream at /dev/null (when it has one)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    sys.exit(main())
