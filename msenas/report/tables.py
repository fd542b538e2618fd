"""Results as tables: the rows of a search, MA-DARTS or training folder, for a terminal, a CSV file or a dataframe.

`results(folder)` returns plain dicts (one per row, flat columns), so a
notebook writes `pandas.DataFrame(msenas.results("runs/x"))`:
  search run   every evaluated genome, in completion order (evaluations.jsonl; for runs made before that
               file existed, the checkpoint's score cache), or the hall of fame (`source="hall_of_fame"`);
  training     one row per epoch: losses, accuracies, learning rate, spikes, energy, firing rate per cell;
  MA-DARTS     one row per epoch of the search.
Nested values (per-cell lists, proxies) become one column each: spikes_per_cell[0], proxy.rdm_k, ...
"""
from __future__ import annotations

import csv
import io as textio
from pathlib import Path
from typing import Any

from msenas.registry import Registry
from msenas.report.folders import ReportError, read_folder
from msenas.rundir import EVALUATIONS, read_jsonl

SOURCES = ("evaluations", "hall_of_fame")


def flatten(row: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}, 'c': [2, 3]} -> {'a.b': 1, 'c[0]': 2, 'c[1]': 3}."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{name}."))
        elif isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
            out.update({f"{name}[{i}]": x for i, x in enumerate(v)})
        else:
            out[name] = v
    return out


def _record_row(n: int, record: dict, **extra) -> dict:
    rec = {k: v for k, v in record.items() if k != "proxies"}
    proxies = {f"proxy.{k}": v for k, v in (record.get("proxies") or {}).items()}
    return flatten({"n": n, **extra, **rec}) | proxies


def _run_rows(run, source: str) -> list[dict]:
    if source == "hall_of_fame":
        return [_record_row(i, e["record"], rank=i, fitness=e["fitness"]) for i, e in enumerate(run.entries, 1)]
    lines, _ = read_jsonl(Path(run.path) / EVALUATIONS, "n")
    if lines:
        return [_record_row(e["n"], e["record"], **({"gen": e["gen"]} if "gen" in e else {})) for e in lines]
    return [_record_row(i, r) for i, r in enumerate(run.records, 1)]


ROWS: Registry = Registry("table")          # folder kind (msenas.report.folders.FOLDERS) -> rows(folder, source)
ROWS.register("run")(_run_rows)
ROWS.register("result")(lambda res, source: [flatten(h) for h in res.history])
ROWS.register("darts")(lambda run, source: [flatten(e) for e in run.epochs])


def results(folder: str | Path, source: str = "evaluations") -> list[dict]:
    """The rows of a folder written by msenas search, darts or train (see the module docstring)."""
    if source not in SOURCES:
        raise ReportError(f"source: must be one of {', '.join(SOURCES)}, got {source!r}")
    data = read_folder(folder)
    return ROWS.get(data.kind)(data, source)


def columns(rows: list[dict]) -> list[str]:
    """Every column of the rows, in first-seen order."""
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r))
    return list(seen)


def to_csv(rows: list[dict]) -> str:
    """CSV text with a header of every column (empty cells where a row lacks one)."""
    buf = textio.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def to_text(rows: list[dict], cols: list[str]) -> str:
    """A fixed-width table of the chosen columns (numbers to 4 significant digits)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    body = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*cols)] + [fmt.format(*b) for b in body])
