"""Crash-safe writes: temp file in the same folder, fsync, os.replace; the user's umask; one-line errors.

A write that fails (read-only folder, full disk) leaves the previous file as it
was and raises WriteError naming the path, so nothing already written is lost.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from msenas.errors import MsenasError


class WriteError(MsenasError, OSError):
    """A file could not be written (permissions, full disk); the message names the path."""


def file_mode() -> int:
    """Permissions a new file gets under the process umask (0o666 & ~umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes so that readers see the old file or the new one, never a torn one."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), file_mode())       # mkstemp makes 0600: a team reads runs on a shared disk
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise WriteError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Text flavour of atomic_write_bytes (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))
