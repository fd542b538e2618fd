"""Run-folder files besides the checkpoint: generations.jsonl, hall_of_fame.json, best.json, pareto.json.

Layout of a run folder (`msenas report` and `msenas export` read it):
  config.json          the resolved RunConfig
  dataset.json         dataset name, data_dir, options, T, seed and info (in_shape, n_classes, event)
  generations.jsonl    one object per generation: gen; best/mean/std/min of the fitness of the
                       population's healthy members (neither failed nor dead; all members when none
                       is healthy) and healthy (their count); diversity (mean pairwise normalised
                       Hamming distance of the canonical vectors, unused genes zeroed); unique
                       (fraction of distinct genome keys); evaluations, cache_hits, failures, dead
                       (of this generation's new vectors); time (s); NSGA-II also front (natural-sign
                       objective lists of the population's first front)
  hall_of_fame.json    [{rank, key, fitness, objectives, record, genome}], best first
  best.json            the best genome (msenas.genome.io format) with its scores and costs
  pareto.json          multi-objective runs: the non-dominated genomes ever seen, same entries
  checkpoint.json, checkpoint.prev.json   see checkpoint.py
"""
from __future__ import annotations

import json
from pathlib import Path

from msenas.atomic import atomic_write_text
from msenas.errors import MsenasError
from msenas.genome import io
from msenas.genome.codec import VectorCodec
from msenas.search.evolution import SearchState
from msenas.search.scoring import natural_objectives

GENERATIONS = "generations.jsonl"
HALL_OF_FAME = "hall_of_fame.json"
PARETO = "pareto.json"
BEST = "best.json"
COST_KEYS = ("params", "macs", "sops", "spikes", "spikes_per_cell")


class RunFolderError(MsenasError):
    """A run folder lacks a file or holds a malformed one."""


def entries(codec: VectorCodec, vectors: list[list[int]], cache: dict[str, dict],
            objectives: tuple[str, ...]) -> list[dict]:
    """Hall-of-fame style entries (rank, key, fitness, objectives, record, genome) for vectors."""
    out = []
    for rank, vec in enumerate(vectors, 1):
        g = codec.decode(vec)
        k = io.key(g)
        rec = cache[k]
        out.append({
            "rank": rank, "key": k, "fitness": rec["fitness"],
            "objectives": dict(zip(objectives, natural_objectives(rec, objectives))),
            "record": rec, "genome": io.to_dict(g),
        })
    return out


def write_generation(run_dir: Path, codec: VectorCodec, state: SearchState, objectives: tuple[str, ...]) -> None:
    """Append the newest logbook line and rewrite hall_of_fame.json, best.json (and pareto.json)."""
    with open(run_dir / GENERATIONS, "a") as f:
        f.write(json.dumps(state.logbook[-1]) + "\n")
    write_results(run_dir, codec, state, objectives)


def write_results(run_dir: Path, codec: VectorCodec, state: SearchState, objectives: tuple[str, ...]) -> None:
    """hall_of_fame.json, best.json and, with several objectives, pareto.json, from a state."""
    hof = entries(codec, state.hall_of_fame, state.cache, objectives)
    atomic_write_text(run_dir / HALL_OF_FAME, json.dumps(hof, indent=1) + "\n")
    if hof:
        save_genome(run_dir / BEST, hof[0])
    if len(objectives) > 1:
        front = entries(codec, state.pareto, state.cache, objectives)
        atomic_write_text(run_dir / PARETO, json.dumps(front, indent=1) + "\n")


def rewrite_generations(run_dir: Path, logbook: list[dict]) -> None:
    """Replace generations.jsonl by the logbook of a checkpoint (used on resume)."""
    atomic_write_text(run_dir / GENERATIONS, "".join(json.dumps(e) + "\n" for e in logbook))


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
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFolderError(f"{path}: missing (is {run_dir} a search run folder{' of a multi-objective run' if source == 'pareto' else ''}?)") from None
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) and {"genome", "record", "key"} <= set(e) for e in data):
        raise RunFolderError(f"{path}: expected a list of entries with genome, record and key")
    return data


def export_top(run_dir: str | Path, top: int, out_dir: str | Path | None = None, source: str = "hall_of_fame") -> list[Path]:
    """Write the `top` best genomes of a run as genome_01.json, ... with scores and costs."""
    if top < 1:
        raise RunFolderError(f"--top: must be >= 1, got {top}")
    chosen = read_entries(run_dir, source)[:top]
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "export"
    dataset = _dataset_info(Path(run_dir))
    return [save_genome(out / f"genome_{i:02d}.json", e, rank=i, run=str(run_dir), **dataset)
            for i, e in enumerate(chosen, 1)]


def _dataset_info(run_dir: Path) -> dict:
    try:
        d = json.loads((run_dir / "dataset.json").read_text())
        return {"dataset": d["dataset"], "in_shape": d["info"]["in_shape"], "n_classes": d["info"]["n_classes"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
