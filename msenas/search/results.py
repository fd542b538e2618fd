"""Run-folder files besides the checkpoint, and reading them back (export, results tables).

Layout of a run folder (`msenas report`, `msenas export` and `msenas results` read it):
  config.json          the resolved RunConfig (the whole search space included)
  dataset.json         dataset name, data_dir, options, T, seed and info (in_shape, n_classes, event)
  generations.jsonl    one object per generation (async: per `population` evaluations): gen; best/mean/
                       std/min of the fitness of the population's healthy members (neither failed nor
                       dead; all members when none is healthy) and healthy (their count); diversity
                       (mean pairwise normalised Hamming distance of the canonical vectors, unused genes
                       zeroed); unique (fraction of distinct genome keys); evaluations, cache_hits,
                       failures, dead (of this generation's new vectors); worker_deaths, retries,
                       timeouts (of the executor in this generation); time (s); async runs also busy
                       (fraction of worker time spent evaluating); NSGA-II also front (natural-sign
                       objective lists of the population's first front)
  evaluations.jsonl    every completed evaluation in completion order: n, key, vector, record (async
                       runs also tag and asks: the log a resume replays)
  hall_of_fame.json    [{rank, key, fitness, objectives, record, genome}], best first
  best.json            the best genome (msenas.genome.io format) with its scores and costs
  pareto.json          multi-objective runs: the non-dominated genomes ever seen, same entries
  checkpoint.json, checkpoint.prev.json   see checkpoint.py;  .lock   see msenas.rundir.RunLock
"""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Callable

from msenas.genome import Genome, io
from msenas.outguard import check_folder
from msenas.rundir import (
    BEST,
    EVALUATIONS,
    GENERATIONS,
    HALL_OF_FAME,
    PARETO,
    RunFolderError,
    read_json,
    read_jsonl,
    write_json,
    write_jsonl,
)
from msenas.search.objectives import natural_objectives
from msenas.search.state import SearchState

COST_KEYS = ("params", "macs", "sops", "spikes", "spikes_per_cell", "energy")


def entries(genome_of: Callable[[list[int]], Genome], vectors: list[list[int]], cache: dict[str, dict],
            objectives: tuple[str, ...]) -> list[dict]:
    """Hall-of-fame style entries (rank, key, fitness, objectives, record, genome) for vectors."""
    out = []
    for rank, vec in enumerate(vectors, 1):
        g = genome_of(vec)
        k = io.key(g)
        rec = cache[k]
        out.append({
            "rank": rank, "key": k, "fitness": rec["fitness"],
            "objectives": dict(zip(objectives, natural_objectives(rec, objectives))),
            "record": rec, "genome": io.to_dict(g),
        })
    return out


def write_results(run_dir: Path, genome_of: Callable[[list[int]], Genome], state: SearchState,
                  objectives: tuple[str, ...]) -> None:
    """hall_of_fame.json, best.json and, with several objectives, pareto.json, from a state."""
    hof = entries(genome_of, state.hall_of_fame, state.cache, objectives)
    write_json(run_dir / HALL_OF_FAME, hof)
    if hof:
        save_genome(run_dir / BEST, hof[0], **dataset_info(run_dir))
    if len(objectives) > 1:
        write_json(run_dir / PARETO, entries(genome_of, state.pareto, state.cache, objectives))


def rewrite_generations(run_dir: Path, logbook: list[dict]) -> None:
    """Replace generations.jsonl by the logbook of a state (every generation written so far)."""
    write_jsonl(run_dir / GENERATIONS, logbook)


def evaluation_lines(run_dir: Path) -> list[dict]:
    """The lines of evaluations.jsonl with an integer n, in order (a partial last line is skipped)."""
    return read_jsonl(run_dir / EVALUATIONS, "n")[0]


def truncate_evaluations(run_dir: Path, upto: int) -> list[dict]:
    """Keep the evaluations numbered <= upto (a resumed generational run repeats what came later); return the rest."""
    lines = evaluation_lines(run_dir)
    write_jsonl(run_dir / EVALUATIONS, [e for e in lines if e["n"] <= upto])
    return [e for e in lines if e["n"] > upto]


def save_genome(path: Path, entry: dict, **extra) -> Path:
    """A hall-of-fame entry as a genome JSON file with its scores and costs beside it."""
    rec = entry["record"]
    costs = {k: rec.get(k) for k in COST_KEYS if k in rec}
    return io.save(io.from_dict(entry["genome"]), path, key=entry["key"], fitness=entry["fitness"],
                   objectives=entry["objectives"], proxies=rec.get("proxies", {}), **costs, **extra)


def read_entries(run_dir: str | Path, source: str = "hall_of_fame") -> list[dict]:
    """The entries of hall_of_fame.json (or pareto.json) of a run folder, best first."""
    name = {"hall_of_fame": HALL_OF_FAME, "pareto": PARETO}[source]
    path = Path(run_dir) / name
    if not Path(run_dir).is_dir():
        raise RunFolderError(f"{run_dir}: not a folder")
    if not path.is_file():
        raise RunFolderError(f"{path}: missing (is {run_dir} a search run folder"
                             f"{' of a multi-objective run' if source == 'pareto' else ''}?)")
    data = read_json(path, "hall of fame")
    need = {"genome": dict, "record": dict, "key": str, "fitness": numbers.Real, "objectives": dict}
    if not isinstance(data, list):
        raise RunFolderError(f"{path}: expected a list of entries")
    for i, e in enumerate(data):
        bad = [k for k, t in need.items() if not isinstance(e, dict) or not isinstance(e.get(k), t)]
        if bad:
            raise RunFolderError(f"{path}: entry {i} lacks a valid {bad[0]!r} "
                                 f"(expected {', '.join(need)})")
    return data


def export_top(run_dir: str | Path, top: int, out_dir: str | Path | None = None,
               source: str = "hall_of_fame") -> list[Path]:
    """Write the `top` best genomes of a run as genome_01.json, ... with scores, costs and the search's input shape."""
    if top < 1:
        raise RunFolderError(f"--top: must be >= 1, got {top}")
    chosen = read_entries(run_dir, source)[:top]
    out = check_folder(Path(out_dir) if out_dir is not None else Path(run_dir) / "export", "export")
    dataset = dataset_info(Path(run_dir))
    for i, e in enumerate(chosen):                 # every genome is checked before the first file is written
        try:
            io.from_dict(e["genome"])
        except io.GenomeError as err:
            raise RunFolderError(f"{Path(run_dir) / HALL_OF_FAME}: entry {i}: {err}") from None
    return [save_genome(out / f"genome_{i:02d}.json", e, rank=i, run=str(run_dir), **dataset)
            for i, e in enumerate(chosen, 1)]


def dataset_info(run_dir: Path) -> dict:
    """{dataset, in_shape, n_classes} of the run's dataset.json ({} when absent or unreadable)."""
    try:
        d = read_json(run_dir / "dataset.json")
        return {"dataset": d["dataset"], "in_shape": d["info"]["in_shape"], "n_classes": d["info"]["n_classes"]}
    except (RunFolderError, KeyError, TypeError):
        return {}
