"""Drive a search: check the dataset, start the fitness engine, evolve, checkpoint every generation.

A fresh run writes config.json and dataset.json, calibrates the engine when its
fitness needs it (checkpointed as generation -1), then checkpoints after every
generation. `--resume` reloads config.json and the newest good checkpoint and
continues; because a generation is a pure function of the checkpointed state,
the result equals an uninterrupted run's. Ctrl-C rewrites the last complete
generation's checkpoint and raises SearchInterrupted.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from msenas.atomic import atomic_write_text
from msenas.config import ConfigError, RunConfig, apply_overrides, config_from_dict, dump_config, to_plain
from msenas.genome import get_space, sample
from msenas.search import checkpoint, results
from msenas.search.evolution import Evolution, SearchState, initial_state
from msenas.search.scoring import Engine, plain

CONFIG = "config.json"
DATASET = "dataset.json"
RESUME_OVERRIDABLE = ("search.generations", "search.workers", "search.address", "search.eval_timeout")


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C: the checkpoint of the last complete generation is on disk; str() says how to resume."""


def new_run_dir(cfg: RunConfig, out: str | None = None) -> Path:
    """The folder of a fresh run (`out`, or OUT_DIR/NAME-DATE-TIME); it must be empty or absent."""
    path = Path(out) if out else Path(cfg.out_dir) / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ConfigError(f"{path}: run folder already exists and is not empty; "
                          f"resume it with --resume {path} or choose another --out")
    return path


def resume_config(run_dir: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """config.json of a run folder, with only RESUME_OVERRIDABLE fields changeable."""
    path = Path(run_dir) / CONFIG
    try:
        saved = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror}); is {run_dir} a search run folder?") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None
    overrides = list(overrides)
    for item in overrides:
        name = item.partition("=")[0].strip()
        if name not in RESUME_OVERRIDABLE:
            raise ConfigError(f"{name}: cannot be changed when resuming (only {', '.join(RESUME_OVERRIDABLE)})")
    return config_from_dict(apply_overrides(saved, overrides))


def describe_dataset(cfg: RunConfig) -> dict:
    """Build the dataset once in the driver (bad names and folders fail here, first) and describe it."""
    from msenas.data import get_dataset

    ds = get_dataset(cfg.data.dataset, cfg.data.data_dir, T=cfg.fitness.T, seed=cfg.seed, **dict(cfg.data.options))
    return {"dataset": cfg.data.dataset, "data_dir": cfg.data.data_dir, "options": to_plain(cfg.data.options),
            "T": cfg.fitness.T, "seed": cfg.seed, "info": to_plain(dataclasses.asdict(ds.info))}


def open_engine(cfg: RunConfig) -> Engine:
    """The fitness engine the config asks for (serial, local Ray or a Ray cluster)."""
    from msenas.fitness.engine import make_engine

    return make_engine(cfg.fitness, dataset=cfg.data.dataset, data_dir=cfg.data.data_dir,
                       data_options=dict(cfg.data.options), seed=cfg.seed,
                       workers=cfg.search.workers, address=cfg.search.address, timeout=cfg.search.eval_timeout)


def calibration_genomes(cfg: RunConfig) -> list:
    """The random genomes a composite fitness is calibrated on (own seeded stream)."""
    rng = np.random.default_rng([cfg.seed, 0xCA1])
    space = get_space(cfg.space)
    return [sample(space, rng) for _ in range(cfg.fitness.calibration)]


def run_search(cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
               engine: Engine | None = None) -> SearchState:
    """Run (or, with resume=True, continue) a search in run_dir and return its final state."""
    run_dir = Path(run_dir)
    if not resume:
        new_run_dir(cfg, str(run_dir))
    dataset = describe_dataset(cfg)
    own = engine is None
    engine = engine if engine is not None else open_engine(cfg)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / CONFIG, dump_config(cfg) + "\n")
        atomic_write_text(run_dir / DATASET, json.dumps(dataset, indent=1) + "\n")
        state = _start(cfg, run_dir, engine, resume, progress)
        return _loop(cfg, run_dir, engine, state, progress)
    finally:
        if own:
            engine.close()


def _start(cfg: RunConfig, run_dir: Path, engine: Engine, resume: bool, progress: bool) -> SearchState:
    if resume and checkpoint.exists(run_dir):
        state = checkpoint.load(run_dir)
        results.rewrite_generations(run_dir, state.logbook)
        if state.engine is not None:
            engine.load_state_dict(state.engine)
    else:
        state = initial_state(cfg.seed)
        results.rewrite_generations(run_dir, [])
    if state.gen < 0 and state.engine is None:
        if engine.needs_calibration():
            if progress:
                print(f"calibrating the fitness on {cfg.fitness.calibration} random genomes ...", file=sys.stderr)
            engine.calibrate(calibration_genomes(cfg))
        state.engine = plain(engine.state_dict())
        checkpoint.save(run_dir, state)
    return state


def _loop(cfg: RunConfig, run_dir: Path, engine: Engine, state: SearchState, progress: bool) -> SearchState:
    from tqdm import tqdm

    evo = Evolution(cfg.search, get_space(cfg.space), engine)
    total = cfg.search.generations + 1
    bar = tqdm(total=total, initial=min(state.gen + 1, total), desc="generations", unit="gen",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    if state.logbook:
        bar.set_postfix(best=f"{state.logbook[-1]['best']:.4g}")
    try:
        while state.gen < cfg.search.generations:
            nxt = evo.step(state)
            nxt.engine = plain(engine.state_dict())
            checkpoint.save(run_dir, nxt)
            state = nxt
            results.write_generation(run_dir, evo.codec, state, evo.objectives)
            bar.update(1)
            bar.set_postfix(best=f"{state.logbook[-1]['best']:.4g}")
        if state.hall_of_fame:
            results.write_results(run_dir, evo.codec, state, evo.objectives)
    except KeyboardInterrupt:
        checkpoint.save(run_dir, state)
        results.rewrite_generations(run_dir, state.logbook)
        where = f"generation {state.gen}" if state.gen >= 0 else "the start (calibration)"
        raise SearchInterrupted(f"interrupted; checkpoint of {where} written to "
                                f"{run_dir / checkpoint.CURRENT}; continue with: msenas search --resume {run_dir}") from None
    finally:
        bar.close()
    return state
