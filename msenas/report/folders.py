"""Read a search run, MA-DARTS or training result folder for the report, tolerating a run in progress.

Nothing here writes into the folder it reads (a running search may be writing
it at the same moment). A run folder is recognised by generations.jsonl, an
MA-DARTS folder (msenas darts) by alphas.json, a result folder (msenas train /
transfer) by metrics.json. A partial last line
of generations.jsonl is skipped; a missing or unreadable hall_of_fame.json is
replaced by the hall of fame in the newest good checkpoint.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from msenas.errors import MsenasError, describe
from msenas.registry import Registry
from msenas.rundir import read_jsonl

GENERATIONS, METRICS, ALPHAS, NOS = "generations.jsonl", "metrics.json", "alphas.json", "nos.jsonl"
CHECKPOINTS = ("checkpoint.json", "checkpoint.prev.json")


class ReportError(MsenasError):
    """A folder the report cannot read: not a run or result folder, or a key file is unreadable."""


@dataclass(frozen=True)
class RunFolder:
    """What a search run folder holds so far (a running or resumed run included)."""

    kind: ClassVar[str] = "run"
    path: Path
    config: dict                   # config.json (the resolved RunConfig)
    dataset: dict                  # dataset.json ({} when absent)
    generations: tuple[dict, ...]  # one entry per completed generation, by gen
    skipped_lines: int             # unparsable lines of generations.jsonl (a partial last line)
    entries: tuple[dict, ...]      # hall of fame, best first: {key, fitness, objectives, record, genome}
    pareto: tuple[dict, ...]       # non-dominated entries (multi-objective runs)
    records: tuple[dict, ...]      # every evaluated genome's record (from the checkpoint cache)
    source: str                    # file the hall of fame came from ("" when there is none yet)

    @property
    def objectives(self) -> tuple[str, ...]:
        """The search objectives (fitness first)."""
        return tuple(self.config.get("search", {}).get("objectives") or ("fitness",))

    @property
    def planned(self) -> int | None:
        """Generations the run was configured for (generation 0 included), or None if unknown."""
        g = self.config.get("search", {}).get("generations")
        return int(g) + 1 if isinstance(g, int) else None

    @property
    def best(self) -> dict | None:
        """The best hall-of-fame entry, or None before the first generation is done."""
        return self.entries[0] if self.entries else None


@dataclass(frozen=True)
class ResultFolder:
    """A training result folder (msenas train / transfer), possibly still training."""

    kind: ClassVar[str] = "result"
    path: Path
    config: dict         # config.json of the trainer
    metrics: dict        # metrics.json: history, final (None while training)
    genome: dict | None  # genome.json ({} fields of msenas.genome.io plus extras), None when absent

    @property
    def history(self) -> list[dict]:
        """Per-epoch records, in order."""
        return list(self.metrics.get("history") or [])

    @property
    def final(self) -> dict | None:
        """The final figures, or the last epoch's while the training is still running."""
        return self.metrics.get("final") or (self.history[-1] if self.history else None)


@dataclass(frozen=True)
class DartsFolder:
    """An MA-DARTS search folder (msenas darts), possibly still searching."""

    kind: ClassVar[str] = "darts"
    path: Path
    config: dict                # config.json: {"darts": DartsConfig fields, "dataset", "in_shape", "n_classes", ...}
    alphas: dict                # alphas.json: ops, edges, history of softmaxed alphas per epoch
    epochs: tuple[dict, ...]    # nos.jsonl: one record per finished epoch
    genome: dict | None         # genome.json: the derived genome (and extras), None before epoch 1

    @property
    def darts(self) -> dict:
        """The DartsConfig fields."""
        return self.config.get("darts", {})


@dataclass(frozen=True)
class FolderKind:
    """A kind of folder msenas writes: the file that marks it and its reader."""

    marker: str
    read: Callable[[Path], Any]


FOLDERS: Registry[FolderKind] = Registry("folder kind")   # checked in order: the first whose marker exists


def read_folder(path: str | Path) -> RunFolder | DartsFolder | ResultFolder:
    """The run, MA-DARTS or result folder at `path` (its `.kind` names it); ReportError when it is none of them."""
    p = Path(path)
    if not p.is_dir():
        raise ReportError(f"{p}: no such folder")
    for _, kind in FOLDERS.items():
        if (p / kind.marker).is_file():
            return kind.read(p)
    markers = [k.marker for _, k in FOLDERS.items()]
    raise ReportError(f"{p} is not a msenas run, MA-DARTS or result folder "
                      f"(no {', '.join(markers[:-1])} or {markers[-1]})")


def read_json(path: Path, default: Any = None, required: bool = False) -> Any:
    """Parse a JSON file; `default` when absent (or unreadable and not required)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        reason = "missing"
    except RecursionError:
        reason = "cannot read (JSON nested too deeply)"
    except (OSError, ValueError) as e:             # unreadable, not UTF-8, malformed, a 4300-digit integer
        reason = f"cannot read ({e})"
    if required:
        raise ReportError(f"{path}: {reason}")
    return default


def _checkpoint_state(path: Path):
    """The newest checkpoint that decodes (read only: never rotates files), or None."""
    from msenas.search.checkpoint import CheckpointError, decode

    for name in CHECKPOINTS:
        try:
            return decode((path / name).read_text())
        except (OSError, UnicodeDecodeError, CheckpointError):
            continue
    return None


def _valid_entries(data: Any) -> list[dict] | None:
    if isinstance(data, list) and all(isinstance(e, dict) and {"genome", "record", "key"} <= set(e) for e in data):
        return data
    return None


def _checkpoint_entries(path: Path, state, config: dict, vectors: list) -> list[dict]:
    """Hall-of-fame entries of checkpoint vectors, decoded with the run's search space (ReportError if it cannot)."""
    from msenas.genome import SearchSpace, VectorCodec, get_space
    from msenas.search.results import entries

    if not config.get("search_space") and not isinstance(config.get("space"), str):
        raise ReportError(f"{path / 'config.json'}: has no search_space (not the config of a search run), so the "
                          "checkpoint's hall of fame cannot be decoded")
    try:
        objectives = tuple(config.get("search", {}).get("objectives") or ("fitness",))
        space = SearchSpace.from_dict(config["search_space"], "search_space.") if config.get("search_space") \
            else get_space(config["space"])
        return entries(VectorCodec(space).decode, vectors, state.cache, objectives)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        if isinstance(e, MsenasError):
            raise ReportError(f"{path / 'config.json'}: {e}") from None
        raise ReportError(f"{path}: the checkpoint's hall of fame does not fit config.json ({describe(e)})") from None


def _tables(config: Any, *names: str) -> dict:
    """config.json as a dict whose sections `names` are dicts (a section of another type is left out)."""
    if not isinstance(config, dict):
        return {}
    return {k: v for k, v in config.items() if k not in names or isinstance(v, dict)}


def _epochs(history: Any) -> list[dict]:
    """The entries of a history list that are objects with an integer epoch."""
    return [h for h in history if isinstance(h, dict) and isinstance(h.get("epoch"), int)] \
        if isinstance(history, list) else []


def read_run(path: Path) -> RunFolder:
    """A search run folder; the checkpoint fills in what the other files lack."""
    config = read_json(path / "config.json", required=True)
    if not isinstance(config, dict):
        raise ReportError(f"{path / 'config.json'}: expected a JSON object")
    config = _tables(config, "search", "fitness", "data", "search_space")
    gens, bad = read_jsonl(path / GENERATIONS, "gen")
    state = _checkpoint_state(path)
    if state is not None:  # a checkpoint can hold generations whose line was cut off
        have = {e["gen"] for e in gens}
        gens = sorted(gens + [e for e in state.logbook if e["gen"] not in have], key=lambda e: e["gen"])
    hof, source = _valid_entries(read_json(path / "hall_of_fame.json")), "hall_of_fame.json"
    if not hof and state is not None and state.hall_of_fame:
        hof, source = _checkpoint_entries(path, state, config, state.hall_of_fame), "checkpoint"
    pareto = _valid_entries(read_json(path / "pareto.json"))
    if pareto is None and state is not None and state.pareto:
        pareto = _checkpoint_entries(path, state, config, state.pareto)
    records = tuple(state.cache.values()) if state is not None else tuple(e["record"] for e in hof or [])
    return RunFolder(path, config, read_json(path / "dataset.json", {}) or {}, tuple(gens), bad,
                     tuple(hof or []), tuple(pareto or []), records, source if hof else "")


def read_result(path: Path) -> ResultFolder:
    """A training result folder: metrics.json, config.json and genome.json."""
    metrics = read_json(path / METRICS, required=True)
    if not isinstance(metrics, dict) or not isinstance(metrics.get("history", []), list):
        raise ReportError(f"{path / METRICS}: expected an object with a history list")
    metrics = {**metrics, "history": _epochs(metrics.get("history", []))}
    if not isinstance(metrics.get("final"), (dict, type(None))):
        metrics["final"] = None
    config = _tables(read_json(path / "config.json", {}), "train", "data")
    genome = read_json(path / "genome.json")
    return ResultFolder(path, config, metrics, genome if isinstance(genome, dict) else None)


def read_darts(path: Path) -> DartsFolder:
    """An MA-DARTS folder: alphas.json, nos.jsonl (a partial last line skipped), config.json, genome.json."""
    alphas = read_json(path / ALPHAS, required=True)
    if not isinstance(alphas, dict) or not isinstance(alphas.get("history"), list) or not alphas["history"]:
        raise ReportError(f"{path / ALPHAS}: expected an object with a non-empty history list")
    epochs, _ = read_jsonl(path / NOS, "epoch")
    config = _tables(read_json(path / "config.json", {}), "darts", "data")
    genome = read_json(path / "genome.json")
    return DartsFolder(path, config, alphas, tuple(epochs), genome if isinstance(genome, dict) else None)


FOLDERS.register("run")(FolderKind(GENERATIONS, read_run))
FOLDERS.register("darts")(FolderKind(ALPHAS, read_darts))
FOLDERS.register("result")(FolderKind(METRICS, read_result))
