"""make_report(folder): every figure the folder's data allows, then report.md, into FOLDER/report/.

A search run folder gives fitness.png, diversity.png, pareto.png (several
objectives), genome.png and rdm.png of the best genome; a training result
folder gives nos.png, curves.png and genome.png. A figure whose data does not
exist yet (a run in progress) is left out and report.md says why.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from msenas.atomic import WriteError, atomic_write_text
from msenas.errors import MsenasError, describe
from msenas.outguard import check_folder
from msenas.registry import Registry
from msenas.report import figures as plots
from msenas.report.folders import DartsFolder, ReportError, ResultFolder, RunFolder, read_folder
from msenas.report.summary import darts_summary, result_summary, run_summary

SUMMARY = "report.md"


@dataclass(frozen=True)
class Report:
    """What make_report wrote."""

    kind: str                          # "run", "darts" or "result"
    out_dir: Path
    figures: tuple[plots.FigureFile, ...]
    summary: Path
    notes: tuple[str, ...]             # figures not drawn, and why


def make_report(folder: str | Path, out: str | Path | None = None, *, rdm: bool = True) -> Report:
    """Write the figures and report.md of a run, MA-DARTS or result folder into `out` (default FOLDER/report)."""
    data = read_folder(folder)
    out_dir = check_folder(Path(out) if out is not None else data.path / "report", "report")
    figures, summarise = REPORTS.get(data.kind)
    with _staging(out_dir) as stage:               # drawn in full before anything lands in out_dir
        try:
            figs, notes = figures(data, stage, rdm=rdm)
            figs = [replace(f, path=out_dir / f.path.relative_to(stage)) for f in figs]
            text = summarise(data, figs, notes, out_dir)
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:   # a file edited by hand
            if isinstance(e, MsenasError):
                raise
            raise ReportError(f"{data.path}: a file of this folder holds malformed values ({describe(e)})") from None
        atomic_write_text(stage / SUMMARY, text)
        _publish(stage, out_dir)
    return Report(data.kind, out_dir, tuple(figs), out_dir / SUMMARY, tuple(notes))


@contextlib.contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    """A hidden temporary folder in the nearest existing folder above out_dir, removed whatever happens."""
    anchor = next(p for p in out_dir.absolute().parents if p.is_dir())
    try:
        stage = Path(tempfile.mkdtemp(dir=anchor, prefix=f".{out_dir.name}.", suffix=".tmp"))
    except OSError as e:
        raise WriteError(f"cannot write {out_dir}: {e.strerror or e}") from None
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, out_dir: Path) -> None:
    """Move every file of the staging folder into out_dir (each os.replace is atomic)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for f in sorted(stage.iterdir()):
            os.replace(f, out_dir / f.name)
    except OSError as e:
        raise WriteError(f"cannot write {out_dir}: {e.strerror or e}") from None


def _genome_of(d: dict, where: Path):
    """The genome of a JSON dict read from `where`; ReportError names the file and the field."""
    from msenas.genome import GenomeError, io

    try:
        return io.from_dict(d)
    except GenomeError as e:
        raise ReportError(f"{where}: {e}") from None


def run_figures(run: RunFolder, out_dir: Path, rdm: bool = True) -> tuple[list[plots.FigureFile], list[str]]:
    """Figures of a search run folder and notes on those it cannot draw yet."""
    figs, notes = [], []
    name = run.config.get("name", run.path.name)
    if run.generations:
        figs.append(plots.fitness_figure(run.generations, out_dir / "fitness.png", f"{name}: fitness over generations"))
        figs.append(plots.diversity_figure(run.generations, out_dir / "diversity.png"))
    else:
        notes.append("fitness.png, diversity.png: no generation finished yet")
    if len(run.objectives) > 1:
        figs += _pareto(run, out_dir, notes)
    best = run.best
    if best is None:
        notes.append("genome.png, rdm.png: no best genome yet")
        return figs, notes
    genome = _genome_of(best["genome"], run.path / (run.source if run.source != "checkpoint" else "checkpoint.json"))
    shape = run.dataset.get("info", {}).get("in_shape")
    figs.append(_genome(genome, out_dir, shape, f"best genome {best['key']} (fitness {best['fitness']:.4g})"))
    if rdm:
        figs += _rdm(run, genome, best["key"], out_dir, notes)
    else:
        notes.append("rdm.png: skipped (--no-rdm)")
    return figs, notes


def _genome(genome, out_dir: Path, shape, title: str) -> plots.FigureFile:
    from msenas.report.diagram import genome_figure

    in_shape = tuple(int(v) for v in shape) if isinstance(shape, list) and len(shape) == 3 else None
    return genome_figure(genome, out_dir / "genome.png", in_shape, title)


def _saved_genome(data: dict | None, folder: Path, out_dir: Path, shape, figs: list, notes: list, missing: str,
                  title: Callable[[Any, str], str]) -> None:
    """The figure of a folder's genome.json (title(genome, key)) into figs, or a note that it is `missing`."""
    if data is None:
        notes.append(f"genome.png: {missing}")
        return
    from msenas.genome import io

    genome = _genome_of(data, folder / "genome.json")
    figs.append(_genome(genome, out_dir, shape, title(genome, io.key(genome))))


def _pareto(run: RunFolder, out_dir: Path, notes: list[str]) -> list[plots.FigureFile]:
    from msenas.search.objectives import natural_objectives

    objs = run.objectives
    front = [[e["objectives"][o] for o in objs] for e in run.pareto if set(objs) <= set(e.get("objectives", {}))]
    evaluated = [natural_objectives(r, objs) for r in run.records]
    if not front and not any(g.get("front") for g in run.generations):
        notes.append("pareto.png: no front yet")
        return []
    return [plots.pareto_figure(objs, front, run.generations, evaluated, out_dir / "pareto.png")]


def _rdm(run: RunFolder, genome, key: str, out_dir: Path, notes: list[str]) -> list[plots.FigureFile]:
    from msenas.report.rdm import probe_rdms, rdm_figure

    cfg = run.config
    try:
        view = probe_rdms(genome, cfg.get("fitness", {}), cfg.get("data", {}), int(cfg.get("seed", 0)))
    except MsenasError as e:  # the dataset or a target .npy may be gone since the run
        msg = " ".join(str(e).split())
        print(f"msenas report: warning: rdm.png not drawn: {msg}", file=sys.stderr)
        notes.append(f"rdm.png: cannot rebuild the probe ({msg})")
        return []
    return [rdm_figure(view, out_dir / "rdm.png", f"best genome {key}")]


def darts_figures(run: DartsFolder, out_dir: Path) -> tuple[list[plots.FigureFile], list[str]]:
    """Figures of an MA-DARTS folder: alphas, NoS per cell and curves (validation split), derived genome."""
    from msenas.report.training import alphas_figure, curves_figure, nos_figure

    figs, notes = [alphas_figure(run.alphas, out_dir / "alphas.png")], []
    if run.epochs:
        history = [{**e, "spikes_per_cell": (e.get("valid_nos") or {}).get("spikes_per_cell")} for e in run.epochs]
        last = run.epochs[-1]
        final = {**(last.get("valid_nos") or {}), "valid_acc": last.get("valid_acc")}
        figs.append(nos_figure(history, final, out_dir / "nos.png", split="valid"))
        figs.append(curves_figure(run.epochs, out_dir / "curves.png", split="valid"))
    else:
        notes.append("nos.png, curves.png: no epoch finished yet")
    _saved_genome(run.genome, run.path, out_dir, run.config.get("in_shape"), figs, notes, "no genome derived yet",
                  lambda g, key: f"derived genome {key} (attention {g.attention})")
    return figs, notes


def result_figures(res: ResultFolder, out_dir: Path) -> tuple[list[plots.FigureFile], list[str]]:
    """Figures of a training result folder and notes on those it cannot draw yet."""
    from msenas.report.training import curves_figure, nos_figure

    figs, notes = [], []
    if res.history:
        figs.append(nos_figure(res.history, res.final or {}, out_dir / "nos.png"))
        figs.append(curves_figure(res.history, out_dir / "curves.png"))
    else:
        notes.append("nos.png, curves.png: no epoch finished yet")
    shape = res.config.get("in_shape") or (res.genome or {}).get("in_shape")
    _saved_genome(res.genome, res.path, out_dir, shape, figs, notes, "no genome.json",
                  lambda g, key: f"trained genome {key} on {res.config.get('dataset', '?')}")
    return figs, notes


REPORTS: Registry = Registry("report")     # folder kind (msenas.report.folders.FOLDERS) -> (figures, summary)
REPORTS.register("run")((run_figures, run_summary))
REPORTS.register("darts")((lambda data, out, rdm=True: darts_figures(data, out), darts_summary))
REPORTS.register("result")((lambda data, out, rdm=True: result_figures(data, out), result_summary))
