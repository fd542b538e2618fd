"""Drive a search: lock the folder, build the dataset once, start the fitness engine, search, checkpoint.

A fresh run writes config.json and dataset.json, calibrates the engine when its
fitness needs it (checkpointed as generation -1), then checkpoints after every
generation (async mode: after every `population` evaluations; evaluations.jsonl
holds the rest). `--resume` reloads config.json and the newest good checkpoint
and continues; the checkpoint records the config it was made with, so a
config.json edited outside the fields a resume may change is refused, naming
the field. A folder whose checkpoints are gone is not silently started over:
that takes `start_over=True` (`--start-over`). Ctrl-C checkpoints and raises
SearchInterrupted.
"""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from msenas.atomic import atomic_write_text
from msenas.config import ConfigError, apply_overrides, dump_config, to_plain
from msenas.genome import sample
from msenas.outguard import check_folder, require_kind
from msenas.rundir import CONFIG, DATASET, EVALUATIONS, RunFolderError, RunLock, append_jsonl, read_json
from msenas.search import checkpoint, results
from msenas.search.budget import sample_within
from msenas.search.config import RunConfig, config_from_dict
from msenas.search.loop import AsyncLoop, step
from msenas.search.scoring import Engine, plain
from msenas.search.state import SearchState, initial_state
from msenas.search.strategies import STRATEGIES, Strategy

RESUME_OVERRIDABLE = ("search.generations", "search.evaluations", "search.executor", "search.workers",
                      "search.address", "search.eval_timeout", "search.cpus_per_worker", "search.gpus_per_worker",
                      "search.placement_timeout")


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C: a checkpoint is on disk; str() says how to resume."""


def new_run_dir(cfg: RunConfig, out: str | None = None) -> Path:
    """The folder of a fresh run (`out`, or OUT_DIR/NAME-DATE-TIME); it must be empty or absent."""
    path = Path(out) if out else Path(cfg.out_dir) / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    return check_folder(path, "run", same_kind=False)


def resume_config(run_dir: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """config.json of a run folder, with only RESUME_OVERRIDABLE fields changeable."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: cannot read (missing); is {run_dir} a search run folder?")
    require_kind(run_dir, "run", "msenas search --resume")
    saved = read_json(path, "run config")
    overrides = list(overrides)
    for item in overrides:
        name = item.partition("=")[0].strip()
        if name not in RESUME_OVERRIDABLE:
            raise ConfigError(f"{name}: cannot be changed when resuming (only {', '.join(RESUME_OVERRIDABLE)})")
    if not isinstance(saved, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    try:
        return config_from_dict(apply_overrides(saved, overrides))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def config_record(cfg: RunConfig) -> dict:
    """The config a checkpoint is bound to: everything but the fields a resume may change."""
    plain_cfg = to_plain(cfg)
    for dotted in RESUME_OVERRIDABLE:
        section, name = dotted.split(".")
        plain_cfg[section].pop(name, None)
    return plain_cfg


def check_same_config(run_dir: Path, saved: dict, now: dict, where: str = "") -> None:
    """Raise ConfigError naming the first field where the resumed config differs from the checkpoint's."""
    for k in sorted(set(saved) | set(now)):
        a, b = saved.get(k, "<absent>"), now.get(k, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            check_same_config(run_dir, a, b, f"{where}{k}.")
        elif a != b:
            raise ConfigError(f"{run_dir / CONFIG}: {where}{k} is {b!r} but the run was made with {a!r}; "
                              f"only {', '.join(RESUME_OVERRIDABLE)} may change on resume")


def describe_dataset(cfg: RunConfig, dataset) -> dict:
    """What dataset.json records: name, folder, options, T, seed and the dataset's info."""
    import dataclasses

    return {"dataset": cfg.data.dataset, "data_dir": cfg.data.data_dir, "options": to_plain(cfg.data.options),
            "T": cfg.fitness.T, "seed": cfg.seed, "info": to_plain(dataclasses.asdict(dataset.info))}


def open_engine(cfg: RunConfig, dataset) -> Engine:
    """The fitness engine the config asks for, on the dataset the driver built (serial, Ray CPU or Ray GPU)."""
    from msenas.fitness.engine import make_engine

    return make_engine(cfg.fitness, dataset, cfg.search.executor_config(), cfg.seed, budget=cfg.search.budget)


def costs_on(cfg: RunConfig, info) -> Callable:
    """genome -> {params, macs} on the dataset's input (what a params or macs budget limits)."""
    from msenas.fitness.engine import static_costs

    return lambda g: static_costs(g, info.in_shape, info.n_classes, cfg.fitness.T)


def calibration_genomes(cfg: RunConfig, costs: Callable | None = None) -> list:
    """The random genomes a composite fitness is calibrated on (own seeded stream); under a budget, drawn within
    its params and macs limits, so percentiles rank genomes the search may keep."""
    rng = np.random.default_rng([cfg.seed, 0xCA1])
    budget = cfg.search.budget
    if not budget.active or costs is None:
        return [sample(cfg.search_space, rng) for _ in range(cfg.fitness.calibration)]
    return [sample_within(lambda: sample(cfg.search_space, rng), costs, budget, f"space {cfg.space!r}")
            for _ in range(cfg.fitness.calibration)]


def run_search(cfg: RunConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
               engine: Engine | None = None, start_over: bool = False) -> SearchState:
    """Run (or, with resume=True, continue) a search in run_dir and return its final state."""
    run_dir = Path(run_dir)
    resumed = None                                     # nothing is written before every check has passed
    with contextlib.ExitStack() as stack:
        if not resume:
            new_run_dir(cfg, str(run_dir))             # a fresh run writes nothing before its inputs are good
        elif not run_dir.is_dir():
            raise RunFolderError(f"{run_dir}: no such run folder")
        else:
            stack.enter_context(RunLock(run_dir, "msenas search"))
            if not checkpoint.exists(run_dir) and not start_over:
                raise RunFolderError(f"{run_dir}: no checkpoint to resume from (deleted?); "
                                     f"to start this run over, add --start-over (this empties its logs)")
            if checkpoint.exists(run_dir):
                resumed = resumed_state(run_dir, cfg)
        dataset = cfg.data.build(cfg.fitness.T, cfg.seed)
        if engine is None:
            engine = open_engine(cfg, dataset)
            stack.callback(engine.close)
        if resumed is not None and resumed.engine is not None:
            engine.load_state_dict(resumed.engine)
        if not resume:
            stack.enter_context(RunLock(run_dir, "msenas search"))
            new_run_dir(cfg, str(run_dir))             # again, under the lock: two fresh runs into one --out
        if hasattr(engine, "describe"):
            print(f"msenas search: {engine.describe()}", file=sys.stderr)
        if cfg.search.budget.active:
            print(f"msenas search: budget {cfg.search.budget.describe()} (per sample; Deb's feasibility rules)",
                  file=sys.stderr)
        atomic_write_text(run_dir / CONFIG, dump_config(cfg) + "\n")
        atomic_write_text(run_dir / DATASET, dump_config(describe_dataset(cfg, dataset)) + "\n")
        return _Run(cfg, run_dir, engine, progress, costs_on(cfg, dataset.info)).go(resumed)


def resumed_state(run_dir: Path, cfg: RunConfig) -> SearchState:
    """The run's newest good checkpoint, refused (ConfigError naming the field) when made with another config."""
    record = config_record(cfg)
    return checkpoint.load(run_dir, check=lambda state: state.config and check_same_config(run_dir, state.config,
                                                                                              record))


class _Run:
    """One search in one folder: start (load or calibrate), then the generational or async loop."""

    def __init__(self, cfg: RunConfig, run_dir: Path, engine: Engine, progress: bool, costs: Callable | None = None):
        self.cfg, self.run_dir, self.engine, self.progress, self.costs = cfg, run_dir, engine, progress, costs
        self.strategy: Strategy = STRATEGIES.get(cfg.search.algorithm)(cfg.search, cfg.search_space, costs)
        self.record = config_record(cfg)
        self.state: SearchState | None = None

    def go(self, resumed: SearchState | None) -> SearchState:
        self.state = self._start(resumed)
        try:
            return self._async() if self.cfg.search.mode == "async" else self._generations()
        except KeyboardInterrupt:
            checkpoint.save(self.run_dir, self.state)
            results.rewrite_generations(self.run_dir, self.state.logbook)
            where = f"generation {self.state.gen}" if self.state.gen >= 0 else "the start (calibration)"
            raise SearchInterrupted(f"interrupted; checkpoint of {where} written to "
                                    f"{self.run_dir / checkpoint.CURRENT}; continue with: "
                                    f"msenas search --resume {self.run_dir}") from None

    def _start(self, resumed: SearchState | None) -> SearchState:
        """The checked checkpoint state (its engine state already loaded), or a fresh one."""
        cfg, run_dir = self.cfg, self.run_dir
        if resumed is not None:
            state = resumed
            results.rewrite_generations(run_dir, state.logbook)
            if cfg.search.mode == "sync":
                results.truncate_evaluations(run_dir, state.evaluations)
        else:
            state = initial_state(cfg.seed)
            results.rewrite_generations(run_dir, [])
            results.truncate_evaluations(run_dir, 0)
        state = replace(state, config=self.record)
        if state.gen < 0 and state.engine is None:
            if self.engine.needs_calibration():
                self._calibrate()
            state = replace(state, engine=plain(self.engine.state_dict()))
            checkpoint.save(run_dir, state)
        return state

    def _calibrate(self) -> None:
        from tqdm import tqdm

        n = self.cfg.fitness.calibration
        with tqdm(total=n, desc="calibrating the fitness", unit="genome", file=sys.stderr,
                  disable=not self.progress, dynamic_ncols=True, leave=False) as bar:
            self.engine.calibrate(calibration_genomes(self.cfg, self.costs), progress=lambda: bar.update(1))
        if self.progress:
            print(f"calibrated the fitness on {n} random genomes", file=sys.stderr)

    def _save(self, state: SearchState) -> SearchState:
        state = replace(state, engine=plain(self.engine.state_dict()), config=self.record)
        checkpoint.save(self.run_dir, state)
        self.state = state
        return state

    def _generations(self) -> SearchState:
        from tqdm import tqdm

        cfg, run_dir = self.cfg, self.run_dir
        total = cfg.search.generations + 1
        with tqdm(total=total, initial=min(self.state.gen + 1, total), desc="generations", unit="gen",
                  file=sys.stderr, disable=not self.progress, dynamic_ncols=True) as bar:
            if self.state.logbook:
                bar.set_postfix(best=f"{self.state.logbook[-1]['best']:.4g}")
            while self.state.gen < cfg.search.generations:
                nxt, new = step(self.strategy, self.engine, self.state)
                for i, (vec, rec) in enumerate(new, self.state.evaluations + 1):
                    append_jsonl(run_dir / EVALUATIONS, {"n": i, "gen": nxt.gen, "key": rec["key"], "vector": vec,
                                                         "record": rec})
                self._save(nxt)
                append_jsonl(run_dir / results.GENERATIONS, nxt.logbook[-1])
                results.write_results(run_dir, self.strategy.genome, nxt, self.strategy.objectives)
                bar.update(1)
                bar.set_postfix(best=f"{nxt.logbook[-1]['best']:.4g}")
        if self.state.hall_of_fame:
            results.write_results(run_dir, self.strategy.genome, self.state, self.strategy.objectives)
        return self.state

    def _async(self) -> SearchState:
        from tqdm import tqdm

        cfg, run_dir = self.cfg, self.run_dir
        n_max = cfg.search.max_evaluations()
        lines = [e for e in results.evaluation_lines(run_dir) if e["n"] > self.state.evaluations]
        bar = tqdm(total=n_max, initial=min(self.state.evaluations, n_max), desc="evaluations", unit="genome",
                   file=sys.stderr, disable=not self.progress, dynamic_ncols=True)

        def on_entry(state: SearchState) -> None:
            state = self._save(state)
            results.rewrite_generations(run_dir, state.logbook)
            results.write_results(run_dir, self.strategy.genome, state, self.strategy.objectives)

        def on_progress(state: SearchState, busy: int) -> None:
            self.state = state
            bar.n = min(state.evaluations, n_max)
            best = (state.cache[self.strategy.key(state.hall_of_fame[0])]["fitness"] if state.hall_of_fame
                    else float("nan"))
            bar.set_postfix(busy=f"{busy}/{self.engine.capacity}", best=f"{best:.4g}")

        loop = AsyncLoop(self.strategy, self.engine, n_max, lambda line: append_jsonl(run_dir / EVALUATIONS, line),
                         on_entry, on_progress)
        try:
            state = loop.run(self.state, lines)
        finally:
            bar.close()
        self.state = state
        return self._save(state)
