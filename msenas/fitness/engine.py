"""FitnessEngine: the one object a search asks for fitness, and the only writer of Record.fitness (SPEC 3.4).

A single registered proxy is its own fitness. A composite needs a calibration
(random genomes scored once, stored in the run's checkpoint via state_dict);
with `promote` < 1 every genome gets the composite's zero-cost proxies and
only the best fraction of a batch by those is promoted to the few-step ones.
Genomes are scored in batches (`score`, generational search) or one by one
as workers free up (`submit` / `poll`, asynchronous search).
"""
from __future__ import annotations

from typing import Callable, Hashable

from msenas.fitness.composite import Calibration, CalibrationError, partial_weights, promoted
from msenas.fitness.config import ExecutorConfig, FitnessConfig, FitnessConfigError
from msenas.fitness.executors import Executor
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST
from msenas.fitness.record import WORST_FITNESS, Record
from msenas.genome import Genome

STATE_VERSION = 1


class FitnessEngine:
    """Scores genomes with the configured proxy or calibrated composite, through one executor."""

    def __init__(self, cfg: FitnessConfig, executor: Executor):
        self.cfg = cfg
        self.executor = executor
        self.weights = cfg.composite()          # None: a single proxy is the fitness
        self.names = cfg.proxy_names()
        self.calibration: Calibration | None = None

    def needs_calibration(self) -> bool:
        """True for a composite that has no calibration yet."""
        return self.weights is not None and self.calibration is None

    def calibrate(self, genomes: list[Genome], progress: Callable[[], None] | None = None) -> None:
        """Score the calibration sample (random genomes from the caller) on every composite proxy."""
        if self.weights is None:
            return
        records = self.executor.map(list(genomes), self.names, progress)
        self.calibration = Calibration.from_records(records, self.names)

    def fitness(self, rec: Record) -> float:
        """The fitness of a record: the proxy's raw value, or the calibrated composite; WORST when failed or dead."""
        if self.weights is None:
            return rec.proxies[self.names[0]] if rec.ok else WORST_FITNESS
        if self.calibration is None:
            raise CalibrationError("fitness: the composite needs calibrate() (or load_state_dict) before score()")
        return self.calibration.fitness(rec, self.weights, self.cfg.upper_tail)

    def score(self, genomes: list[Genome]) -> list[Record]:
        """Records of `genomes` with Record.fitness filled in (higher is better)."""
        if self.needs_calibration():
            raise CalibrationError("fitness: the composite needs calibrate() (or load_state_dict) before score()")
        records = self._evaluate(list(genomes))
        for r in records:
            r.fitness = self.fitness(r)
        return records

    def _evaluate(self, genomes: list[Genome]) -> list[Record]:
        zero = tuple(n for n in self.names if PROXIES.get(n).fidelity == ZERO_COST)
        few = tuple(n for n in self.names if PROXIES.get(n).fidelity == FEW_STEP)
        if self.cfg.promote >= 1.0 or not zero or not few or self.weights is None:
            return self.executor.map(genomes, self.names)
        first = self.executor.map(genomes, zero)
        chosen = promoted(first, self.calibration, partial_weights(self.weights, set(zero)), self.cfg.promote,
                          self.cfg.upper_tail)
        full = self.executor.map([genomes[i] for i in chosen], self.names)
        for i, rec in zip(chosen, full):
            rec.wall_time += first[i].wall_time
            rec.worker_deaths += first[i].worker_deaths
            first[i] = rec
        return first

    # -- asynchronous scoring ---------------------------------------------------
    def submit(self, tag: Hashable, genome: Genome) -> None:
        """Start scoring one genome (every proxy at once: promotion needs a batch, see FitnessConfig.promote)."""
        self.executor.submit(tag, genome, self.names)

    def poll(self, timeout: float | None = None) -> list[tuple[Hashable, Record]]:
        """(tag, record with fitness) of the genomes finished so far (waits up to `timeout` s for one)."""
        out = self.executor.poll(timeout)
        for _, rec in out:
            rec.fitness = self.fitness(rec)
        return out

    @property
    def pending(self) -> int:
        """Genomes submitted and not yet returned."""
        return self.executor.pending

    @property
    def capacity(self) -> int:
        """Genomes the executor evaluates at once."""
        return self.executor.capacity

    def take_events(self) -> dict[str, int]:
        """Worker deaths, retries and timeouts since the last call."""
        return self.executor.take_events()

    def describe(self) -> str:
        """One line: the fitness and where it runs (executor and device)."""
        what = self.cfg.proxy if not self.cfg.weights else "custom composite"
        return f"fitness {what} on {self.executor.describe()}, device {self.executor.device}"

    # -- state --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-ready state: the composite and its calibration values."""
        return {
            "version": STATE_VERSION,
            "proxy": self.cfg.proxy,
            "weights": [[n, w] for n, w in self.weights] if self.weights else None,
            "calibration": self.calibration.to_dict() if self.calibration else None,
        }

    def load_state_dict(self, d: dict) -> None:
        """Restore a calibration saved by state_dict; it must be for the same composite."""
        version = d.get("version") if isinstance(d, dict) else None
        if version != STATE_VERSION:
            raise CalibrationError(f"fitness state: unsupported version {version!r} "
                                   f"(this msenas reads {STATE_VERSION})")
        mine = [[n, w] for n, w in self.weights] if self.weights else None
        if d.get("weights") != mine:
            raise CalibrationError(f"fitness state: saved for composite {d.get('weights')}, config asks {mine}")
        cal = d.get("calibration")
        try:
            self.calibration = Calibration.from_dict(cal) if cal else None
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CalibrationError(f"fitness state: malformed calibration ({type(e).__name__}: {e})") from None

    def close(self) -> None:
        """Release the executor (Ray actors, a Ray session it started)."""
        self.executor.close()


def make_engine(cfg: FitnessConfig, data, executor: ExecutorConfig = ExecutorConfig(workers=0), seed: int = 0,
                **executor_kw) -> FitnessEngine:
    """Engine on a dataset (a built msenas Dataset, a DataConfig or a dataset name, built here): probe, executor."""
    from msenas.data import get_dataset
    from msenas.fitness.executors import make_executor
    from msenas.fitness.probe import make_probe

    if isinstance(data, str):
        data = get_dataset(data, T=cfg.T, seed=seed)
    dataset = data.build(cfg.T, seed) if hasattr(data, "build") else data
    probe = make_probe(dataset, cfg, seed)
    ex = make_executor(probe, cfg, executor, **executor_kw)
    if cfg.device == "cuda" and ex.device != "cuda":
        where = ex.describe()
        ex.close()
        raise FitnessConfigError(f"fitness.device: 'cuda' asked for, but the executor ({where}) sees no GPU "
                                 "(give the workers GPUs: search.gpus_per_worker, or use device auto)")
    return FitnessEngine(cfg, ex)
