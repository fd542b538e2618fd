"""One home for run-folder I/O: file names, schema versions, JSON and JSONL helpers, the folder lock.

Three kinds of folders: a search run (msenas search), an MA-DARTS run (msenas
darts) and a training result (msenas train / transfer). Every file is written
atomically (temp file, fsync, replace) with the user's umask; JSONL files are
appended line by line and read back tolerating a partial last line (a process
killed mid-write). A folder is locked while a process writes it (`RunLock`):
a second writer gets a one-line error naming the holder's PID.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from msenas.atomic import WriteError, atomic_write_text
from msenas.errors import MsenasError

# -- search run folders (msenas search)
CONFIG = "config.json"                 # the resolved config (every kind of folder)
DATASET = "dataset.json"
GENERATIONS = "generations.jsonl"
EVALUATIONS = "evaluations.jsonl"      # every completed evaluation, in completion order
HALL_OF_FAME = "hall_of_fame.json"
PARETO = "pareto.json"
BEST = "best.json"
CHECKPOINTS = ("checkpoint.json", "checkpoint.prev.json")
# -- training result folders (msenas train / transfer)
WEIGHTS, GENOME, METRICS, TRAIN_CHECKPOINT = "weights.pt", "genome.json", "metrics.json", "checkpoint.pt"
MODEL = "model.json"    # a result folder of a model-zoo network (msenas.zoo) holds this in place of genome.json
NIR_GRAPH = "network.nir"              # msenas export-nir's default output (docs/nir.md)
# -- MA-DARTS folders (msenas darts)
ALPHAS, NOS = "alphas.json", "nos.jsonl"
LOCK = ".lock"

RESULT_SCHEMA = 1        # training result and MA-DARTS folders (config.json, metrics.json, checkpoint.pt)


class RunFolderError(MsenasError):
    """A run or result folder that is missing, locked, or holds a missing or malformed file."""


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Pretty JSON, written atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: str | os.PathLike, what: str = "run file") -> Any:
    """Parse a JSON file; RunFolderError names the file (missing, unreadable, not UTF-8, malformed)."""
    from msenas.config import read_json as _read

    return _read(path, what, RunFolderError)


def append_jsonl(path: str | os.PathLike, obj: Any) -> None:
    """Append one JSON line and flush it to disk; WriteError names the file when it cannot."""
    try:
        with open(path, "a") as f:
            f.write(json.dumps(obj) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise WriteError(f"cannot write {path}: {e.strerror or e}") from None


def write_jsonl(path: str | os.PathLike, objs: list) -> Path:
    """Replace a JSONL file by these objects (atomically)."""
    return atomic_write_text(path, "".join(json.dumps(o) + "\n" for o in objs))


def read_jsonl(path: str | os.PathLike, key: str | None = None) -> tuple[list[dict], int]:
    """(objects of a JSONL file, count of unparsable lines); with `key`, those with an integer `key`,
    sorted by it and the last kept per value. A missing file reads as empty; a partial last line counts
    as unparsable."""
    try:
        lines = Path(path).read_bytes().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return [], 0
    out, by_key, bad = [], {}, 0
    for line in lines:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):       # malformed (JSONDecodeError), a 4300-digit integer, nesting
            bad += 1
            continue
        if not isinstance(entry, dict) or (key is not None and not isinstance(entry.get(key), int)):
            bad += 1
        elif key is None:
            out.append(entry)
        else:
            by_key[entry[key]] = entry
    return (out if key is None else [by_key[k] for k in sorted(by_key)]), bad


# ----------------------------------------------------------------------------- the lock


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Context manager: an exclusive flock on FOLDER/.lock, holding this process's PID and command.

    The kernel releases a flock when its process dies, so a lock left by a
    killed process is free; finding a dead PID in the file, we take it over
    with a warning. A second live writer gets RunFolderError naming the holder.
    """

    def __init__(self, folder: str | os.PathLike, command: str):
        self.folder, self.command = Path(folder), command
        self._fd: int | None = None
        self._created: list[Path] = []                 # folders this lock made (the folder, missing parents)
        self._new_lock = False

    def __enter__(self) -> "RunLock":
        import fcntl

        path = self.folder / LOCK
        self._created = missing_folders(self.folder)
        self._new_lock = not os.path.lexists(path)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunFolderError(f"{self.folder}: cannot create the folder ({e.strerror or e})") from None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise RunFolderError(f"{path}: cannot create the lock file ({e.strerror or e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _holder(fd) if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES) else None
            os.close(fd)
            if holder is not None:
                raise RunFolderError(f"{self.folder} is in use by {holder}; wait for it to finish or stop it") from None
            raise RunFolderError(f"{path}: cannot lock ({e.strerror})") from None
        self._fd = fd
        try:
            self._take_over(fd)
        except OSError as e:
            self.__exit__(RunFolderError)
            raise RunFolderError(f"{path}: cannot write the lock file ({e.strerror or e})") from None
        return self

    def _take_over(self, fd: int) -> None:
        """Warn when the file names a dead holder (a killed run), then write our PID into it."""
        previous = os.read(fd, 200).decode(errors="replace").split()
        if previous and previous[0].startswith("pid=") and previous[0][4:].isdigit():
            pid = int(previous[0][4:])
            if pid != os.getpid() and not _alive(pid):
                print(f"msenas: warning: {self.folder}: took over the lock of PID {pid}, which is no longer running",
                      file=sys.stderr)
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid={os.getpid()} host={socket.gethostname()} ({self.command})\n".encode())

    def __exit__(self, exc_type=None, *exc) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        if exc_type is not None and self._new_lock:     # a run refused before writing anything leaves no trace:
            with contextlib.suppress(OSError):          # not the lock file it made, nor the folder it made
                (self.folder / LOCK).unlink()
                for folder in self._created:            # only when empty: a run that wrote keeps its files
                    folder.rmdir()
        os.close(self._fd)                              # releases the flock
        self._fd = None


def missing_folders(folder: Path) -> list[Path]:
    """The folder and those of its parents that do not exist yet, innermost first (what mkdir -p would make)."""
    out = []
    for p in (folder, *folder.parents):
        if os.path.lexists(p):
            break
        out.append(p)
    return out


def _holder(fd: int) -> str:
    """The first line of a held lock file ("pid=... host=... (command)"); waits briefly while it is being written."""
    for _ in range(20):
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if text:
            return text.splitlines()[0]
        time.sleep(0.05)                       # the holder has the lock but has not written its PID yet
    return "another process"
