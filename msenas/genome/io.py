"""Genome <-> JSON with a schema version; loading names the bad field on error."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from msenas.atomic import atomic_write_text
from msenas.errors import short as _short
from msenas.genome.checks import check_length, validate
from msenas.genome.types import SCHEMA_VERSION, Cell, Edge, Genome, GenomeError, Motif, Op


def to_dict(g: Genome) -> dict:
    """Plain, JSON-ready dict of a genome (with the schema version).

    `attention` is written only when it is not "none", so the JSON and the key
    of every genome without attention are what they were before the field.
    """
    d = {
        "schema_version": SCHEMA_VERSION,
        "channels": g.channels,
        "stem_multiplier": g.stem_multiplier,
        "reductions": list(g.reductions),
        "inputs": [list(r) for r in g.inputs],
        "cells": [
            {
                "integration": c.integration,
                "motifs": [
                    {
                        "template": m.template,
                        "n_inputs": m.n_inputs,
                        "n_nodes": m.n_nodes,
                        "edges": [
                            {"src": e.src, "dst": e.dst, "delay": e.delay,
                             "op": e.op.name, "sign": e.op.sign, "neuron": e.op.neuron}
                            for e in m.edges
                        ],
                    }
                    for m in c.motifs
                ],
            }
            for c in g.cells
        ],
    }
    if g.attention != "none":
        d["attention"] = g.attention
    return d


def from_dict(d: Any) -> Genome:
    """Dict -> validated genome; GenomeError names the missing, mistyped or bad field."""
    obj = _Reader(d, "genome")
    version = obj.get("schema_version", int)
    if version != SCHEMA_VERSION:
        raise GenomeError(f"schema_version: unsupported {version} (this msenas reads {SCHEMA_VERSION})")
    cells = []
    for i, c in enumerate(obj.get("cells", list, "cells")):
        cr = _Reader(c, f"cells[{i}]")
        motifs = []
        for j, m in enumerate(cr.get("motifs", list, "motifs")):
            mr = _Reader(m, f"cells[{i}].motifs[{j}]")
            edges = []
            for k, e in enumerate(mr.get("edges", list, "edges")):
                er = _Reader(e, f"cells[{i}].motifs[{j}].edges[{k}]")
                op = Op(er.get("op", str), er.get("sign", int), er.get("neuron", str))
                edges.append(Edge(er.get("src", int), er.get("dst", int), op, er.get("delay", int)))
            motifs.append(Motif(mr.get("template", str), mr.get("n_inputs", int), mr.get("n_nodes", int), tuple(edges)))
        cells.append(Cell(tuple(motifs), cr.get("integration", str)))
    inputs = tuple(tuple(_ints(r, f"inputs[{i}]", "inputs[]")) for i, r in enumerate(obj.get("inputs", list, "inputs")))
    g = Genome(
        cells=tuple(cells),
        inputs=inputs,
        reductions=tuple(_ints(obj.get("reductions", list, "reductions"), "reductions", "reductions")),
        channels=obj.get("channels", int),
        stem_multiplier=obj.get("stem_multiplier", int),
        attention=obj.get("attention", str) if "attention" in d else "none",
    )
    return validate(g)


class _Reader:
    def __init__(self, d: Any, where: str):
        if not isinstance(d, dict):
            raise GenomeError(f"{where}: expected an object, got {type(d).__name__}")
        self.d, self.where = d, where

    def get(self, key: str, typ: type, bounded: str | None = None):
        """The value of `key`, of type `typ`; a list named in checks.LISTS (`bounded`) no longer than it allows."""
        field = key if self.where == "genome" else f"{self.where}.{key}"
        if key not in self.d:
            raise GenomeError(f"{field}: missing")
        value = self.d[key]
        if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise GenomeError(f"{field}: expected an integer, got {short(value)}")
        if not isinstance(value, typ):
            raise GenomeError(f"{field}: expected {typ.__name__}, got {type(value).__name__}")
        if bounded is not None:
            check_length(value, bounded, field)
        return value


def short(value: Any, width: int = 60) -> str:
    """repr(value) cut to `width` characters, for one-line messages about hostile input."""
    return _short(value, width)


def _ints(values: Any, where: str, bounded: str) -> list[int]:
    if isinstance(values, list):
        check_length(values, bounded, where)
    if not isinstance(values, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
        raise GenomeError(f"{where}: expected a list of integers, got {short(values)}")
    return values


def dumps(g: Genome, **extra) -> str:
    """Pretty JSON text; `extra` keys (scores, costs) are stored beside the genome."""
    return json.dumps({**to_dict(g), **extra}, indent=1)


def loads(text: str) -> Genome:
    """Parse JSON text into a genome (extra keys are ignored)."""
    return from_dict(_parse(text))


def _parse(text: str) -> Any:
    """JSON text -> value; GenomeError for malformed, absurdly nested or absurdly long-numbered JSON."""
    from msenas.config import parse_json

    return parse_json(text.removeprefix("\ufeff"), "genome", GenomeError)   # a UTF-8 byte order mark is fine


def save(g: Genome, path: str | os.PathLike, **extra) -> Path:
    """Write the genome JSON atomically (temp file, fsync, replace)."""
    return atomic_write_text(Path(path), dumps(g, **extra) + "\n")


def load(path: str | os.PathLike) -> Genome:
    """Read a genome JSON file; errors name the file and the field."""
    return read(path)[0]


def read(path: str | os.PathLike) -> tuple[Genome, dict]:
    """(genome, extra keys such as scores, costs or dataset) of a genome JSON file; errors name the file."""
    from msenas.config import read_text

    p = Path(path)
    text = read_text(p, "genome", GenomeError)
    try:
        d = _parse(text)
        g = from_dict(d)
    except GenomeError as e:
        raise GenomeError(f"{p}: {e}") from None
    known = to_dict(g)
    return g, {k: v for k, v in d.items() if k not in known}


def recorded_input(extras: dict) -> tuple[str | None, tuple[int, int, int] | None]:
    """(dataset, in_shape) a genome file records (export, darts and train write them); None where absent or bad."""
    name, shape = extras.get("dataset"), extras.get("in_shape")
    ok = isinstance(shape, list) and len(shape) == 3 and all(type(v) is int and v > 0 for v in shape)
    return (name if isinstance(name, str) and name else None), (tuple(shape) if ok else None)


def input_note(extras: dict, in_shape, dataset: str | None = None, doing: str = "training at") -> str | None:
    """'genome file records input [1, 8, 8] (digits); training at [2, 34, 34] (nmnist)' when a command changes it."""
    name, shape = recorded_input(extras)
    if shape is None or (tuple(shape) == tuple(in_shape) and (dataset is None or name in (None, dataset))):
        return None
    where = f" ({dataset})" if dataset else ""
    return f"genome file records input {list(shape)} ({name or 'dataset unknown'}); {doing} {list(in_shape)}{where}"


def key(g: Genome) -> str:
    """Stable 16-hex-digit key from the canonical JSON (never Python's hash())."""
    canon = json.dumps(to_dict(g), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]
