"""Data-only, checksummed, atomic checkpoints of a search (JSON; opening one never runs code).

File layout: {"format": "msenas-checkpoint", "version": 1, "sha256": <hex of the
canonical payload JSON>, "payload": <SearchState as a dict>}. Saving moves the
current checkpoint.json to checkpoint.prev.json, then writes the new one with
temp file + fsync + os.replace, so a kill at any instant leaves at least one
good checkpoint. Loading verifies format, version and checksum and falls back
to the previous checkpoint (with a warning on stderr) when the newest is
missing, truncated or corrupted.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

from msenas.atomic import atomic_write_text
from msenas.errors import MsenasError
from msenas.search.evolution import SearchState

FORMAT = "msenas-checkpoint"
VERSION = 1
CURRENT = "checkpoint.json"
PREVIOUS = "checkpoint.prev.json"
CORRUPT = "checkpoint.corrupt.json"


class CheckpointError(MsenasError):
    """No usable checkpoint: both files are missing, truncated or corrupted."""


def _canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def encode(state: SearchState) -> str:
    """A state as checkpoint JSON text (with format, version and checksum)."""
    payload = dataclasses.asdict(state)
    digest = hashlib.sha256(_canonical(payload).encode()).hexdigest()
    return json.dumps({"format": FORMAT, "version": VERSION, "sha256": digest, "payload": payload})


def decode(text: str) -> SearchState:
    """Checkpoint JSON text -> state; raises CheckpointError saying what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"not valid JSON (truncated?): {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError("not an msenas checkpoint")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"unsupported checkpoint version {doc.get('version')!r} (this msenas reads {VERSION})")
    payload = doc.get("payload")
    if not isinstance(payload, dict) or hashlib.sha256(_canonical(payload).encode()).hexdigest() != doc.get("sha256"):
        raise CheckpointError("checksum mismatch (corrupted)")
    names = {f.name for f in dataclasses.fields(SearchState)}
    if set(payload) != names:
        raise CheckpointError(f"payload fields {sorted(payload)} differ from {sorted(names)}")
    return SearchState(**payload)


def save(run_dir: str | os.PathLike, state: SearchState) -> Path:
    """Write the checkpoint atomically, keeping the previous one as checkpoint.prev.json."""
    run_dir = Path(run_dir)
    text = encode(state)
    current = run_dir / CURRENT
    if current.exists():
        os.replace(current, run_dir / PREVIOUS)
    return atomic_write_text(current, text)


def exists(run_dir: str | os.PathLike) -> bool:
    """Whether the folder holds a checkpoint file (good or not)."""
    return any((Path(run_dir) / name).exists() for name in (CURRENT, PREVIOUS))


def load(run_dir: str | os.PathLike) -> SearchState:
    """The newest good checkpoint of a run folder; warns on stderr when it falls back."""
    run_dir = Path(run_dir)
    problems = []
    for name in (CURRENT, PREVIOUS):
        path = run_dir / name
        if not path.exists():
            problems.append(f"{name}: missing")
            continue
        try:
            state = decode(path.read_text())
        except (CheckpointError, OSError, UnicodeDecodeError) as e:
            problems.append(f"{name}: {e}")
            print(f"msenas: warning: {path}: {e}", file=sys.stderr)
            continue
        if name == PREVIOUS and (run_dir / CURRENT).exists():
            # keep the bad file for inspection, and out of the next save's rotation
            os.replace(run_dir / CURRENT, run_dir / CORRUPT)
            print(f"msenas: warning: using {path} (generation {state.gen}); the bad one is now {CORRUPT}", file=sys.stderr)
        return state
    raise CheckpointError(f"{run_dir}: no usable checkpoint ({'; '.join(problems)})")
