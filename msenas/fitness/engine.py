"""FitnessEngine: the one object a search asks for fitness (SPEC 3.4).

A single registered proxy is its own fitness. A composite needs a calibration
(random genomes scored once, stored in the run's checkpoint via state_dict);
with `promote` < 1 every genome gets the composite's zero-cost proxies and
only the best fraction by those is promoted to the few-step ones.
"""
from __future__ import annotations

from msenas.fitness.composite import Calibration, CalibrationError, partial_weights, promoted
from msenas.fitness.config import FitnessConfig
from msenas.fitness.executors import Evaluator, RayEvaluator, SerialEvaluator
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST
from msenas.fitness.record import WORST_FITNESS, Record
from msenas.genome import Genome

STATE_VERSION = 1


class FitnessEngine:
    """Scores genomes with the configured proxy or calibrated composite."""

    def __init__(self, cfg: FitnessConfig, evaluator: Evaluator):
        self.cfg = cfg.validate()
        self.evaluator = evaluator
        self.weights = cfg.composite()          # None: a single proxy is the fitness
        self.names = cfg.proxy_names()
        self.calibration: Calibration | None = None

    def needs_calibration(self) -> bool:
        """True for a composite that has no calibration yet."""
        return self.weights is not None and self.calibration is None

    def calibrate(self, genomes: list[Genome]) -> None:
        """Score the calibration sample (random genomes from the caller) on every composite proxy."""
        if self.weights is None:
            return
        records = self.evaluator.map(list(genomes), self.names)
        self.calibration = Calibration.from_records(records, self.names)

    def score(self, genomes: list[Genome]) -> list[Record]:
        """Records of `genomes` with Record.fitness filled in (higher is better)."""
        genomes = list(genomes)
        if self.weights is None:
            records = self.evaluator.map(genomes, self.names)
            for r in records:
                r.fitness = r.proxies[self.names[0]] if r.ok else WORST_FITNESS
            return records
        if self.calibration is None:
            raise CalibrationError("fitness: the composite needs calibrate() (or load_state_dict) before score()")
        records = self._evaluate(genomes)
        for r in records:
            r.fitness = self.calibration.fitness(r, self.weights, self.cfg.upper_tail)
        return records

    def _evaluate(self, genomes: list[Genome]) -> list[Record]:
        zero = tuple(n for n in self.names if PROXIES.get(n).fidelity == ZERO_COST)
        few = tuple(n for n in self.names if PROXIES.get(n).fidelity == FEW_STEP)
        if self.cfg.promote >= 1.0 or not zero or not few:
            return self.evaluator.map(genomes, self.names)
        first = self.evaluator.map(genomes, zero)
        chosen = promoted(first, self.calibration, partial_weights(self.weights, set(zero)), self.cfg.promote,
                          self.cfg.upper_tail)
        full = self.evaluator.map([genomes[i] for i in chosen], self.names)
        for i, rec in zip(chosen, full):
            rec.wall_time += first[i].wall_time
            first[i] = rec
        return first

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
            raise CalibrationError(f"fitness state: unsupported version {version!r} (this msenas reads {STATE_VERSION})")
        mine = [[n, w] for n, w in self.weights] if self.weights else None
        if d.get("weights") != mine:
            raise CalibrationError(f"fitness state: saved for composite {d.get('weights')}, config asks {mine}")
        cal = d.get("calibration")
        self.calibration = Calibration.from_dict(cal) if cal else None

    def close(self) -> None:
        """Release the evaluator (Ray actors, a Ray session this engine started)."""
        self.evaluator.close()


def make_engine(cfg: FitnessConfig, *, dataset: str = "digits", data_dir: str | None = None,
                data_options: dict | None = None, seed: int = 0, workers: int = 0,
                address: str | None = None, timeout: float | None = None) -> FitnessEngine:
    """Engine on `dataset`: serial when workers=0 and no address, else Ray (local or at `address`).

    `timeout`: seconds one genome may run on a Ray worker before it is recorded as failed.
    """
    from msenas.data import get_dataset
    from msenas.fitness.probe import make_probe

    cfg.validate()
    ds = get_dataset(dataset, data_dir, T=cfg.T, seed=seed, **(data_options or {}))
    probe = make_probe(ds, cfg, seed)
    if workers == 0 and not address:
        return FitnessEngine(cfg, SerialEvaluator(probe, cfg))
    return FitnessEngine(cfg, RayEvaluator(probe, cfg, workers=workers, address=address, timeout=timeout))
