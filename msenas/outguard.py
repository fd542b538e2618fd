"""One guard for every folder and file a command writes, checked before anything is written.

A command writes into a folder only when it is new, empty, or already a folder
of the kind that command writes (a training result for `train`, an MA-DARTS
run for `darts`, exported genomes for `export`, a report for `report`; a search
run for `search --resume` only). Anything else is refused in one line that
names what the folder holds. A file target (`results --csv`, `export-nir
--out`) must be absent or a regular file, and not one of the files a run,
result or MA-DARTS folder is made of. FIFOs, devices, sockets and symbolic
links are refused: writing (atomically) would replace them by a regular file.

What a folder is: its marker files say it (`KINDS`), else its config.json's
sections do (config.json, genome.json and checkpoint.pt are shared by several
kinds). msenas' own hidden files (.lock, the temporary files of atomic writes)
do not count.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from msenas.errors import MsenasError, short
from msenas.registry import Registry
from msenas.rundir import (
    ALPHAS,
    BEST,
    CHECKPOINTS,
    CONFIG,
    DATASET,
    EVALUATIONS,
    GENERATIONS,
    GENOME,
    HALL_OF_FAME,
    METRICS,
    NOS,
    PARETO,
    TRAIN_CHECKPOINT,
    WEIGHTS,
)

OWN_HIDDEN = re.compile(r"^(\.lock|\..+\.tmp|\.checkpoint\.new\.json)$")   # msenas' lock and temporary files
SHOWN = 4                                            # file names quoted in a refusal


class OutputError(MsenasError):
    """An output folder or file that a command must not write into (it would lose what is there)."""


@dataclass(frozen=True)
class Kind:
    """A kind of folder msenas writes: how to say it, its marker files, the config.json sections that mark it."""

    what: str                          # "a training result"
    markers: tuple[str, ...] = ()      # any of these files marks the kind
    sections: tuple[str, ...] = ()     # config.json top-level keys that mark it
    pattern: str | None = None         # every visible file matches this: the kind (no marker needed)


KINDS: Registry[Kind] = Registry("folder kind")   # checked in order
KINDS.register("run")(Kind("a search run", (*CHECKPOINTS, "checkpoint.corrupt.json", GENERATIONS, EVALUATIONS,
                                             HALL_OF_FAME, DATASET, BEST, PARETO), ("search", "search_space")))
KINDS.register("darts")(Kind("an MA-DARTS run", (ALPHAS, NOS), ("darts",)))
KINDS.register("result")(Kind("a training result", (WEIGHTS, METRICS), ("train",)))
KINDS.register("report")(Kind("a report", ("report.md",), pattern=r".+\.png"))
KINDS.register("export")(Kind("exported genomes", pattern=r"genome_\d+\.json"))

FILES = {"run": (CONFIG, *KINDS.get("run").markers), "darts": (CONFIG, GENOME, TRAIN_CHECKPOINT, ALPHAS, NOS),
         "result": (CONFIG, GENOME, TRAIN_CHECKPOINT, WEIGHTS, METRICS)}   # what such a folder is made of


def contents(folder: Path) -> list[str]:
    """The names in a folder, msenas' own hidden files left out, sorted."""
    try:
        return sorted(n for n in os.listdir(folder) if not OWN_HIDDEN.match(n))
    except OSError as e:
        raise OutputError(f"{folder}: cannot list the folder ({e.strerror or e})") from None


def kind_of(folder: str | os.PathLike) -> str | None:
    """The kind of an existing folder ("run", "darts", "result", "report", "export"), or None (empty or other)."""
    folder = Path(folder)
    names = contents(folder)
    if not names:
        return None
    present = set(names)
    for name, kind in KINDS.items():
        if present & set(kind.markers):
            return name
    sections = _config_sections(folder) if CONFIG in present else set()
    for name, kind in KINDS.items():
        if sections & set(kind.sections):
            return name
    for name, kind in KINDS.items():
        if kind.pattern and all(re.fullmatch(kind.pattern, n) and (folder / n).is_file() for n in names):
            return name
    return None


def _config_sections(folder: Path) -> set[str]:
    """Top-level keys of folder/config.json (empty when unreadable, huge or not an object)."""
    path = folder / CONFIG
    try:
        if not path.is_file() or path.stat().st_size > 2 ** 24:
            return set()
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return set()
    return set(data) if isinstance(data, dict) else set()


def holds(folder: Path, kind: str | None = None) -> str:
    """'a search run (checkpoint.json, config.json, ... 9 entries)' or 'files msenas did not write (...)'."""
    names = contents(folder)
    kind = kind if kind is not None else kind_of(folder)
    what = KINDS.get(kind).what if kind else "files msenas did not write"
    listed = ", ".join(short(n, 60).strip("'\"") for n in names[:SHOWN])
    more = f", ... {len(names)} entries" if len(names) > SHOWN else ""
    return f"{what} ({listed}{more})"


def check_folder(path: str | os.PathLike, kind: str, *, same_kind: bool = True, flag: str = "--out") -> Path:
    """The folder `command` may write a folder of `kind` into: new, empty, or (same_kind) one of that kind.

    OutputError names what the folder holds otherwise; nothing is written either way.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise OutputError(f"{path}: a symbolic link to nothing; choose another {flag}")
    if not path.exists():
        return path
    if not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder ({file_type(path)}); choose another {flag}")
    found = kind_of(path)
    if not contents(path) or (same_kind and found == kind):
        return path
    want = KINDS.get(kind).what
    if not same_kind:
        hint = f"resume it with --resume {path} or choose another {flag}" if found == kind else f"choose another {flag}"
        raise OutputError(f"{path}: already exists and is not empty (it holds {holds(path, found)}); {hint}")
    raise OutputError(f"{path}: holds {holds(path, found)}; {want} is written only into a new or empty folder "
                      f"or one holding {want}; choose another {flag}")


def require_kind(path: str | os.PathLike, kind: str, command: str) -> Path:
    """An existing folder of `kind` (one that `command` continues); OutputError names what it is otherwise."""
    path = Path(path)
    if not path.is_dir():
        return path                       # the caller says what is missing
    found = kind_of(path)
    if found not in (kind, None):
        raise OutputError(f"{path}: holds {holds(path, found)}, not {KINDS.get(kind).what}; "
                          f"{command} continues only {KINDS.get(kind).what}")
    return path


def check_file(path: str | os.PathLike, flag: str) -> Path:
    """A file target: absent or a regular file, not a symbolic link, not a file of a run, result or MA-DARTS folder."""
    path = Path(path)
    try:
        st = path.lstat()
    except FileNotFoundError:
        return path
    except OSError as e:
        raise OutputError(f"{flag} {path}: cannot check the file ({e.strerror or e})") from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{flag} {path}: is a symbolic link (writing would replace the link, not "
                          f"{short(os.readlink(path), 100)}); give a plain file path")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{flag} {path}: is {file_type(path)}, not a regular file; give a file path")
    parent = path.parent
    kind = kind_of(parent) if parent.is_dir() else None
    if kind in FILES and path.name in FILES[kind]:
        raise OutputError(f"{flag} {path}: is the {path.name} of {KINDS.get(kind).what} in {parent}; "
                          "writing it would replace it; give another file path")
    return path


def file_type(path: Path) -> str:
    """'a folder', 'a FIFO (named pipe)', 'a character device', ... of an existing path (links not followed)."""
    mode = path.lstat().st_mode
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a file"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


__all__ = ["KINDS", "OutputError", "check_file", "check_folder", "holds", "kind_of", "require_kind"]
