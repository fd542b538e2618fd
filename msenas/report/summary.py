"""report.md: a short Markdown summary of a run or result folder, linking the figures beside it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from msenas.report.figures import FigureFile
from msenas.report.folders import DartsFolder, ResultFolder, RunFolder

CAPTIONS = {
    "fitness.png": "fitness over generations: best, mean ± std, min (healthy members)",
    "diversity.png": "population diversity, distinct genomes, new evaluations and dead/failed genomes",
    "pareto.png": "Pareto front: fitness against each cost objective",
    "genome.png": "the genome: macro reads, cells, motifs, ops on edges, feedback edges",
    "rdm.png": "network RDM of the best genome next to the target RDM, on the probe batch",
    "nos.png": "spikes per sample in each cell (NoS), final and per epoch",
    "curves.png": "accuracy and loss per epoch (train and test, or validation for MA-DARTS)",
    "alphas.png": "softmaxed architecture weights of the last epoch: edges x candidate ops",
}


def _num(v, fmt: str = ".4g") -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else "n/a"


def _table(rows: Sequence[tuple[str, str]]) -> list[str]:
    return ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]


def _figure_lines(figures: Sequence[FigureFile], notes: Sequence[str], out_dir: Path) -> list[str]:
    lines = ["", "## Figures", ""]
    for f in figures:
        rel = Path(os.path.relpath(f.path, out_dir)).as_posix()
        lines.append(f"- [{rel}]({rel}): {CAPTIONS.get(f.path.name, f.path.stem)}")
    if not figures:
        lines.append("- none yet")
    if notes:
        lines += ["", "## Not drawn", ""] + [f"- {n}" for n in notes]
    for f in figures:
        rel = Path(os.path.relpath(f.path, out_dir)).as_posix()
        lines += ["", f"![{f.path.stem}]({rel})"]
    return lines


def _dataset_text(name, info: dict) -> str:
    shape = info.get("in_shape")
    shape_text = "\u00d7".join(str(v) for v in shape) if isinstance(shape, list) else "?"
    return f"{name or '?'} (input {shape_text}, {info.get('n_classes', '?')} classes)"


def _cells(values) -> str:
    return ", ".join(_num(v) for v in values or [])


def fitness_text(fitness: dict) -> str:
    """One line describing the fitness configuration of a run."""
    proxy = fitness.get("proxy", "?")
    weights = fitness.get("weights") or []
    head = f"`{proxy}`" + (f" (weights {weights})" if weights else "")
    keys = ("T", "per_class", "readout", "metric", "correlation", "target", "repeats", "steps", "promote")
    return head + "; " + ", ".join(f"{k} {fitness[k]}" for k in keys if k in fitness)


def run_summary(run: RunFolder, figures: Sequence[FigureFile], notes: Sequence[str], out_dir: Path) -> str:
    """Markdown summary of a search run folder."""
    cfg, search = run.config, run.config.get("search", {})
    done, planned = len(run.generations), run.planned
    status = "complete" if planned is not None and done >= planned else "in progress (or stopped)"
    rows = [
        ("run folder", f"`{run.path}`"),
        ("status", f"{status}: {done} of {planned if planned is not None else '?'} generations done"),
        ("dataset", _dataset_text(cfg.get("data", {}).get("dataset"), run.dataset.get("info", {}))),
        ("search space", f"`{cfg.get('space', '?')}`"),
        ("fitness", fitness_text(cfg.get("fitness", {}))),
        ("search", f"{search.get('algorithm', '?')}, population {search.get('population', '?')}, "
                   f"objectives {', '.join(run.objectives)}, seed {cfg.get('seed', '?')}"),
        ("evaluations", f"{sum(g.get('evaluations', 0) for g in run.generations)} "
                        f"(cache hits {sum(g.get('cache_hits', 0) for g in run.generations)}, "
                        f"dead {sum(g.get('dead', 0) for g in run.generations)}, "
                        f"failed {sum(g.get('failures', 0) for g in run.generations)})"),
    ]
    if run.skipped_lines:
        rows.append(("note", f"{run.skipped_lines} unreadable line(s) of generations.jsonl skipped "
                             "(a run being written)"))
    best = run.best
    if best is not None:
        rec = best["record"]
        rows += [
            ("best fitness", f"{_num(best['fitness'])} (from {run.source})"),
            ("best genome", f"key `{best['key']}`"),
            ("proxies of the best", ", ".join(f"{k} {_num(v)}" for k, v in rec.get("proxies", {}).items()) or "n/a"),
            ("params / MACs per step", f"{_num(rec.get('params'), ',')} / {_num(rec.get('macs'), ',')}"),
            *budget_rows(search.get("budget") or {}, rec, run),
            ("spikes per probe sample (at init)",
             f"{_num(rec.get('spikes'))} (per cell: {_cells(rec.get('spikes_per_cell'))})"),
        ]
        if len(run.objectives) > 1:
            rows.append(("objectives of the best", ", ".join(f"{k} {_num(v)}" for k, v in best["objectives"].items())))
        if run.pareto:
            rows.append(("Pareto front", f"{len(run.pareto)} genome(s) in pareto.json"))
    else:
        rows.append(("best genome", "none yet (no generation finished)"))
    lines = [f"# msenas report: run `{cfg.get('name', run.path.name)}`", ""] + _table(rows)
    return "\n".join(lines + _figure_lines(figures, notes, out_dir)) + "\n"


def budget_rows(limits: dict, rec: dict, run) -> list[tuple[str, str]]:
    """The budget's limits, the best genome's use of each, and how many genomes fit (a budgeted run only)."""
    limits = {k: v for k, v in limits.items() if v is not None}
    if not limits:
        return []
    use = rec.get("budget") or {}
    fits = sum(g.get("feasible", 0) for g in run.generations[-1:])
    return [("budget", ", ".join(f"{k} <= {v:,.6g}" for k, v in limits.items())),
            ("budget use of the best", ", ".join(f"{k} {100 * u:.0f}%" for k, u in use.items()) or "n/a"),
            ("population within budget (last generation)", str(fits))]


def result_summary(res: ResultFolder, figures: Sequence[FigureFile], notes: Sequence[str], out_dir: Path) -> str:
    """Markdown summary of a training result folder (msenas train / transfer)."""
    cfg, train = res.config, res.config.get("train", {})
    final = res.final or {}
    done, planned = res.metrics.get("completed_epochs", len(res.history)), res.metrics.get("epochs", "?")
    status = "complete" if res.metrics.get("final") else "in progress (or stopped)"
    rows = [
        ("result folder", f"`{res.path}`"),
        ("status", f"{status}: {done} of {planned} epochs done"),
        ("dataset", _dataset_text(cfg.get("dataset"), cfg)),
        ("genome", f"key `{cfg.get('genome_key', '?')}`"),
        ("training", ", ".join(f"{k} {train[k]}" for k in ("optimizer", "lr", "T", "batch_size", "loss")
                               if k in train)),
        ("test accuracy" + ("" if res.metrics.get("final") else " (last epoch)"),
         f"{_num(final.get('test_acc'))} (test loss {_num(final.get('test_loss'))})"),
        ("spikes per sample (NoS)", f"{_num(final.get('spikes'))} (per cell: {_cells(final.get('spikes_per_cell'))})"),
        ("synaptic ops per sample", _num(final.get("sops"))),
        ("energy per sample (uJ, 45 nm)", _num(final["energy_pj"] / 1e6 if "energy_pj" in final else None)),
        ("non-spiking equivalent (uJ)", _num(final["energy_dense_pj"] / 1e6 if "energy_dense_pj" in final else None)),
        ("params", _num(final.get("params", cfg.get("params")), ",")),
    ]
    lines = [f"# msenas report: trained model `{res.path.name}`", ""] + _table(rows)
    return "\n".join(lines + _figure_lines(figures, notes, out_dir)) + "\n"


def darts_summary(run: DartsFolder, figures: Sequence[FigureFile], notes: Sequence[str], out_dir: Path) -> str:
    """Markdown summary of an MA-DARTS folder (msenas darts)."""
    d = run.darts
    done, planned = len(run.epochs), d.get("epochs", "?")
    status = "complete" if isinstance(planned, int) and done >= planned else "in progress (or stopped)"
    last = run.epochs[-1] if run.epochs else {}
    nos = last.get("valid_nos") or {}
    rows = [
        ("MA-DARTS folder", f"`{run.path}`"),
        ("status", f"{status}: {done} of {planned} epochs done"),
        ("dataset", _dataset_text(run.config.get("dataset"), run.config)),
        ("supernet", f"{d.get('n_cells', '?')} cells, {d.get('channels', '?')} channels, "
                     f"{d.get('n_nodes', '?')} nodes, "
                     f"reductions {d.get('reductions', '?')}, T {d.get('T', '?')}, ops {', '.join(d.get('ops', []))}"),
        ("search", f"attention {d.get('attention', '?')}, {d.get('order', '?')} order, seed {d.get('seed', '?')}"),
        ("validation accuracy (last epoch)", _num(last.get("valid_acc"))),
        ("validation NoS per sample", f"{_num(nos.get('spikes'))} (per cell: {_cells(nos.get('spikes_per_cell'))})"),
    ]
    if run.genome is not None:
        from msenas.genome import io

        rows.append(("derived genome", f"key `{io.key(io.from_dict(run.genome))}` in `genome.json` "
                                       f"(train it with `msenas train {run.path / 'genome.json'}`)"))
    lines = [f"# msenas report: MA-DARTS search `{run.path.name}`", ""] + _table(rows)
    return "\n".join(lines + _figure_lines(figures, notes, out_dir)) + "\n"
