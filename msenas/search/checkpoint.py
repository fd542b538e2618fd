"""Data-only, checksummed, atomic checkpoints of a search (JSON; opening one never runs code).

File layout: {"format": "msenas-checkpoint", "version": 2, "sha256": <hex of the
canonical payload JSON>, "payload": <SearchState as a dict>}. Saving moves the
current checkpoint.json to checkpoint.prev.json, then writes the new one with
temp file + fsync + os.replace, so a kill at any instant leaves at least one
good checkpoint. Loading verifies format, version, checksum and the type of
every field, and falls back to the previous checkpoint (with a warning on
stderr) when the newest is missing, truncated, corrupted or malformed.
Version 1 checkpoints (before async search) load with the new fields at their defaults.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Callable

from msenas.atomic import WriteError, atomic_write_text
from msenas.config import parse_json
from msenas.errors import MsenasError
from msenas.search.state import SearchState

FORMAT = "msenas-checkpoint"
VERSION = 2
READS = (1, 2)
CURRENT = "checkpoint.json"
PREVIOUS = "checkpoint.prev.json"
CORRUPT = "checkpoint.corrupt.json"
NEW = ".checkpoint.new.json"            # the next checkpoint, written in full before the rotation
_TYPES = {"gen": int, "population": list, "hall_of_fame": list, "pareto": list, "logbook": list, "cache": dict,
          "np_rng": dict, "py_rng": list, "engine": (dict, type(None)), "evaluations": int, "asks": int,
          "inflight": list, "strategy": dict, "config": dict}


class CheckpointError(MsenasError):
    """No usable checkpoint: both files are missing, truncated, corrupted or malformed."""


def _canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def encode(state: SearchState) -> str:
    """A state as checkpoint JSON text (with format, version and checksum)."""
    payload = dataclasses.asdict(state)
    digest = hashlib.sha256(_canonical(payload).encode()).hexdigest()
    return json.dumps({"format": FORMAT, "version": VERSION, "sha256": digest, "payload": payload})


def decode(text: str) -> SearchState:
    """Checkpoint JSON text -> state; raises CheckpointError saying what is wrong."""
    doc = parse_json(text, "checkpoint", CheckpointError)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError("not an msenas checkpoint")
    if doc.get("version") not in READS:
        raise CheckpointError(f"unsupported checkpoint version {doc.get('version')!r} "
                              f"(this msenas reads {list(READS)})")
    payload = doc.get("payload")
    if not isinstance(payload, dict) or hashlib.sha256(_canonical(payload).encode()).hexdigest() != doc.get("sha256"):
        raise CheckpointError("checksum mismatch (corrupted)")
    fields = {f.name: f for f in dataclasses.fields(SearchState)}
    required = {n for n, f in fields.items() if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    if not required <= set(payload) <= set(fields):
        raise CheckpointError(f"payload fields {sorted(payload)} differ from {sorted(fields)}")
    for name, value in payload.items():
        want = _TYPES[name]
        if not isinstance(value, want) or isinstance(value, bool) and want is int:
            raise CheckpointError(f"field {name!r} holds a {type(value).__name__}, expected {_type_names(want)}")
    _check_vectors(payload)
    return SearchState(**payload)


def _type_names(want) -> str:
    return " or ".join(t.__name__ for t in want) if isinstance(want, tuple) else want.__name__


def _check_vectors(payload: dict) -> None:
    for name in ("population", "hall_of_fame", "pareto"):
        for i, vec in enumerate(payload[name]):
            if not isinstance(vec, list) or any(isinstance(g, bool) or not isinstance(g, int) for g in vec):
                raise CheckpointError(f"{name}[{i}] is not a list of integers")
    for k, rec in payload["cache"].items():
        if not isinstance(rec, dict) or not isinstance(rec.get("fitness"), (int, float)):
            raise CheckpointError(f"cache[{k!r}] is not a record with a numeric fitness")


def save(run_dir: str | os.PathLike, state: SearchState) -> Path:
    """Write the checkpoint atomically, keeping the previous one as checkpoint.prev.json.

    The new text is written and synced first; only then are the files rotated, so a full disk leaves both
    the current and the previous checkpoint as they were.
    """
    run_dir = Path(run_dir)
    current, fresh = run_dir / CURRENT, run_dir / NEW
    atomic_write_text(fresh, encode(state))
    try:
        if current.exists():
            os.replace(current, run_dir / PREVIOUS)
        os.replace(fresh, current)
    except OSError as e:
        raise WriteError(f"cannot write {current}: {e.strerror or e}") from None
    return current


def exists(run_dir: str | os.PathLike) -> bool:
    """Whether the folder holds a checkpoint file (good or not)."""
    return any((Path(run_dir) / name).exists() for name in (CURRENT, PREVIOUS))


def load(run_dir: str | os.PathLike, check: Callable[[SearchState], None] | None = None) -> SearchState:
    """The newest good checkpoint of a run folder; warns on stderr when it falls back.

    `check(state)` runs before a damaged newest file is set aside, so a refused resume changes nothing on disk.
    """
    run_dir = Path(run_dir)
    problems = []
    for name in (CURRENT, PREVIOUS):
        path = run_dir / name
        if not path.exists():
            problems.append(f"{name}: missing")
            continue
        try:
            state = decode(path.read_bytes().decode("utf-8"))
        except (CheckpointError, OSError, UnicodeDecodeError) as e:
            problems.append(f"{name}: {e}")
            print(f"msenas: warning: {path}: {e}", file=sys.stderr)
            continue
        if check is not None:
            check(state)
        if name == PREVIOUS and (run_dir / CURRENT).exists():
            # keep the bad file for inspection, and out of the next save's rotation
            os.replace(run_dir / CURRENT, run_dir / CORRUPT)
            print(f"msenas: warning: using {path} (generation {state.gen}); the bad one is now {CORRUPT}",
                  file=sys.stderr)
        return state
    raise CheckpointError(f"{run_dir}: no usable checkpoint ({'; '.join(problems)})")
