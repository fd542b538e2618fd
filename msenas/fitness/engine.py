"""FitnessEngine: the one object a search asks for fitness, and the only writer of Record.fitness (SPEC 3.4).

A single registered proxy is its own fitness. A composite needs a calibration
(random genomes scored once, stored in the run's checkpoint via state_dict);
with `promote` < 1 every genome gets the composite's zero-cost proxies and
only the best fraction of a batch by those is promoted to the few-step ones.
Genomes are scored in batches (`score`, generational search) or one by one
as workers free up (`submit` / `poll`, asynchronous search).

Under a budget (msenas.search.budget, SPEC 4.1) a genome over its params or
MACs limit is never built: it gets a record of its costs only. With a limit on
SOPs or energy, a batch is first costed (zero-cost proxies and one forward at
initialisation, what every record measures) and only the genomes that fit are
trained for the few-step proxies; asynchronous scoring trains every genome
that passes the static check (it scores one genome at a time). Every record
carries its use of each limit and its violation.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Hashable

from msenas.fitness.composite import Calibration, CalibrationError, partial_weights, promoted
from msenas.fitness.config import ExecutorConfig, FitnessConfig, FitnessConfigError
from msenas.fitness.executors import Executor
from msenas.fitness.proxies import FEW_STEP, PROXIES, ZERO_COST
from msenas.fitness.record import WORST_FITNESS, Record
from msenas.genome import Genome

if TYPE_CHECKING:
    from msenas.search.budget import BudgetConfig

StaticCosts = Callable[[Genome], dict]   # genome -> {"params": ..., "macs": ...} without building it

STATE_VERSION = 1


class FitnessEngine:
    """Scores genomes with the configured proxy or calibrated composite, through one executor."""

    def __init__(self, cfg: FitnessConfig, executor: Executor, budget: "BudgetConfig | None" = None,
                 static_costs: StaticCosts | None = None):
        self.cfg = cfg
        self.executor = executor
        self.weights = cfg.composite()          # None: a single proxy is the fitness
        self.names = cfg.proxy_names()
        self.calibration: Calibration | None = None
        self.budget = budget if budget is not None and budget.active else None
        if self.budget is not None and static_costs is None:
            raise ValueError("a budget needs static_costs (genome -> params and macs)")
        self.static_costs = static_costs
        self._ready: list[tuple[Hashable, Record]] = []   # async: over-budget records, returned by the next poll

    def needs_calibration(self) -> bool:
        """True for a composite that has no calibration yet."""
        return self.weights is not None and self.calibration is None

    def calibrate(self, genomes: list[Genome], progress: Callable[[], None] | None = None) -> None:
        """Score the calibration sample (random genomes from the caller) on every composite proxy."""
        if self.weights is None:
            return
        records = self.executor.map(list(genomes), self.names, progress)
        self.calibration = Calibration.from_records(records, self.names)
        if self.budget is not None and not any(r.ok and self.budget.violation(r.to_dict()) == 0 for r in records):
            from msenas.search.budget import BudgetError, cheapest

            raise BudgetError(f"search.budget: none of the {len(records)} calibration genomes fits "
                              f"{self.budget.describe()}; the cheapest costs {cheapest(records, self.budget)}")

    def fitness(self, rec: Record) -> float:
        """The fitness of a record: the proxy's raw value, or the calibrated composite; WORST when failed or dead."""
        if self.weights is None:
            return rec.proxies[self.names[0]] if rec.ok and self.names[0] in rec.proxies else WORST_FITNESS
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
        """Records of genomes, in order: over-budget ones costed only, the rest through the executor."""
        out: list[Record | None] = [self._over_static(g) for g in genomes]
        todo = [i for i, r in enumerate(out) if r is None]
        for i, rec in zip(todo, self._evaluate_fitting([genomes[i] for i in todo])):
            out[i] = rec
        return [self._with_budget(r) for r in out]

    def _evaluate_fitting(self, genomes: list[Genome]) -> list[Record]:
        zero = tuple(n for n in self.names if PROXIES.get(n).fidelity == ZERO_COST)
        few = tuple(n for n in self.names if PROXIES.get(n).fidelity == FEW_STEP)
        measured = self.budget is not None and not self.budget.static_only
        promote = self.cfg.promote < 1.0 and zero and self.weights is not None
        if not genomes or not few or not (measured or promote):
            return self.executor.map(genomes, self.names)
        first = self.executor.map(genomes, zero)          # costs at initialisation come with every record
        fits = [i for i, r in enumerate(first) if r.ok and (not measured or self.budget.violation(r.to_dict()) == 0)]
        chosen = fits
        if promote:
            picked = promoted([first[i] for i in fits], self.calibration, partial_weights(self.weights, set(zero)),
                              self.cfg.promote, self.cfg.upper_tail)
            chosen = [fits[j] for j in picked]
        full = self.executor.map([genomes[i] for i in chosen], self.names)
        for i, rec in zip(chosen, full):
            rec.wall_time += first[i].wall_time
            rec.cpu_time += first[i].cpu_time
            rec.worker_deaths += first[i].worker_deaths
            first[i] = rec
        return first

    def _over_static(self, genome: Genome) -> Record | None:
        """The costs-only record of a genome over the budget's params or MACs limit; None when it fits them."""
        if self.budget is None or not any(n in ("params", "macs") for n in self.budget.limits()):
            return None
        from msenas.fitness.evaluate import genome_key

        try:
            costs = self.static_costs(genome)
        except Exception:  # noqa: BLE001 - a genome that cannot be costed is evaluated (and fails) as usual
            return None
        if self.budget.violation(costs, static=True) == 0:
            return None
        return Record(key=genome_key(genome), params=int(costs["params"]), macs=int(costs["macs"]), fidelity="costs")

    def _with_budget(self, rec: Record) -> Record:
        """rec with its use of each limit and its violation (infinite use of a failed genome stays out)."""
        if self.budget is not None and rec.error is None:
            costs = rec.to_dict()
            if rec.fidelity == "costs":                   # never built: what it spends at run time is unknown
                costs = {k: costs[k] for k in ("params", "macs")}
            rec.budget = self.budget.use(costs)
            rec.violation = self.budget.violation(costs)
        return rec

    # -- asynchronous scoring ---------------------------------------------------
    def submit(self, tag: Hashable, genome: Genome) -> None:
        """Start scoring one genome (every proxy at once: promotion needs a batch, see FitnessConfig.promote)."""
        over = self._over_static(genome)
        if over is not None:
            self._ready.append((tag, over))
        else:
            self.executor.submit(tag, genome, self.names)

    def poll(self, timeout: float | None = None) -> list[tuple[Hashable, Record]]:
        """(tag, record with fitness) of the genomes finished so far (waits up to `timeout` s for one)."""
        out, self._ready = self._ready, []
        out += self.executor.poll(0.0 if out else timeout) if self.executor.pending else []
        for _, rec in out:
            self._with_budget(rec)
            rec.fitness = self.fitness(rec)
        return out

    @property
    def pending(self) -> int:
        """Genomes submitted and not yet returned."""
        return self.executor.pending + len(self._ready)

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
                budget: "BudgetConfig | None" = None, **executor_kw) -> FitnessEngine:
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
    info = dataset.info
    return FitnessEngine(cfg, ex, budget, lambda g: static_costs(g, info.in_shape, info.n_classes, cfg.T))


def static_costs(genome: Genome, in_shape: tuple[int, int, int], n_classes: int, T: int) -> dict:
    """{"params", "macs"} of a genome on an input, without building it (msenas.nn.cost.complexity)."""
    from msenas.nn.cost import complexity

    c = complexity(genome, tuple(in_shape), n_classes, T)
    return {"params": c.params, "macs": c.macs}
