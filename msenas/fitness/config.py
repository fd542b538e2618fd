"""Typed, frozen fitness and executor configs, validated once on construction (msenas.config.Config).

FitnessConfig: how a genome is scored (SPEC 3). The few-step proxies train with
Adam (the same family as the trainer's AdamW, without weight decay: k steps are
too few for decay to matter) at `lr`, on `steps` batches of `batch_size` train
samples (the probe samples excluded).

ExecutorConfig: where the scoring runs (serial in this process, Ray CPU or Ray
GPU workers, locally or on a cluster); the search config holds it and passes it
whole to the fitness engine.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar, Literal

from msenas.config import Config, ConfigError
from msenas.energy import EnergyConfig

LIMITS = {"T": 1024, "per_class": 10_000, "repeats": 100, "steps": 100_000, "batch_size": 100_000,
          "calibration": 100_000}   # beyond any real use: a typo like T=1e8 is a config error, not a hung worker
DEFAULT_PROXY = "loss_params"  # calibrated {probe loss after k steps, log params}: round 5 on CIFAR-10, docs/fitness.md
Device = Literal["auto", "cpu", "cuda"]


class FitnessConfigError(ConfigError):
    """A fitness config with a bad field; the message names the field (fitness.<name>)."""


@dataclass(frozen=True)
class FitnessConfig(Config):
    """How a genome is scored: proxy or composite, probe, RDM options, few-step budget, device."""

    section: ClassVar[str] = "fitness"
    error: ClassVar[type[ConfigError]] = FitnessConfigError

    proxy: str = DEFAULT_PROXY    # a registered proxy name or a composite preset name
    T: int = 4
    per_class: int = 8            # probe samples per class
    readout: str = "last"         # last | mean | max (over cells): msenas.fitness.rdm.READOUTS
    metric: str = "pearson"       # network RDM: pearson | euclidean | cosine (RDM_METRICS)
    correlation: str = "spearman"  # spearman | kendall (CORRELATIONS)
    target: str = "labels"        # "labels" or a path to a .npy RDM [N, N], N = probe size
    repeats: int = 1              # R: independent initialisations averaged
    steps: int = 10               # k: Adam steps on the train split for few-step proxies (10 x batch 64:
    lr: float = 0.003             #   chosen by the CIFAR-10 rank benchmark, round 5, docs/fitness.md)
    batch_size: int = 64
    calibration: int = 50         # random genomes in the calibration sample (composites only)
    upper_tail: Literal["saturate", "extend"] = "saturate"  # above the calibration's best: saturate at 1
    promote: float = 1.0          # fraction promoted to the few-step proxies (1.0 = everyone)
    weights: tuple[tuple[str, float], ...] = ()  # custom composite; empty = the preset named by `proxy`
    device: Device = "auto"       # where a genome is scored: auto = cuda when the worker sees a GPU
    amp: Literal["off", "auto", "bf16", "fp16"] = "off"   # autocast of the probe forwards and the few steps
    #   (msenas.runtime.resolve_precision); off: float32 everywhere, so scores compare across devices
    energy: EnergyConfig = EnergyConfig()   # pJ per MAC and per accumulate (records' energy, the energy objective)

    def validate(self) -> "FitnessConfig":
        """Raise FitnessConfigError naming the first bad field; return self."""
        from msenas.fitness.composite import COMPOSITES
        from msenas.fitness.proxies import PROXIES
        from msenas.fitness.rdm import CORRELATIONS, RDM_METRICS, READOUTS

        if not self.weights and self.proxy not in PROXIES and self.proxy not in COMPOSITES:
            known = ", ".join(PROXIES.names() + COMPOSITES.names())
            raise FitnessConfigError(f"fitness.proxy: unknown proxy or composite {self.proxy!r}; known: {known}")
        for name in ("T", "per_class", "repeats", "steps", "batch_size"):
            self.need(getattr(self, name) >= 1, name, "must be a positive integer")
            self.need(getattr(self, name) <= LIMITS[name], name, f"must be at most {LIMITS[name]}")
        self.need_name("readout", READOUTS)
        self.need_name("metric", RDM_METRICS)
        self.need_name("correlation", CORRELATIONS)
        self.need(self.target != "labels" or self.per_class >= 2, "per_class",
                  "must be >= 2 with target 'labels' (else every pair differs)")
        self.need(self.target == "labels" or Path(self.target).is_file(), "target",
                  "must be 'labels' or an existing .npy file")
        self.need(self.lr > 0, "lr", "must be a finite number > 0")
        self.need(2 <= self.calibration <= LIMITS["calibration"], "calibration",
                  f"must be an integer in [2, {LIMITS['calibration']}]")
        self.need(0 < self.promote <= 1, "promote", "must be a number in (0, 1]")
        seen = set()
        for i, (name, w) in enumerate(self.weights):
            if name not in PROXIES:
                raise FitnessConfigError(f"fitness.weights[{i}]: unknown proxy {name!r}; known: "
                                         f"{', '.join(PROXIES.names())}")
            self.need(name not in seen, f"weights[{i}]", f"proxy {name!r} listed twice", name)
            self.need(w > 0, f"weights[{i}]", f"weight of {name!r} must be a finite number > 0", w)
            seen.add(name)
        return self

    def composite(self) -> tuple[tuple[str, float], ...] | None:
        """The (proxy, weight) pairs of the composite, or None when a single proxy is the fitness."""
        from msenas.fitness.composite import COMPOSITES

        if self.weights:
            return self.weights
        return COMPOSITES.get(self.proxy) if self.proxy in COMPOSITES else None

    def proxy_names(self) -> tuple[str, ...]:
        """Every proxy the fitness needs, in a stable order."""
        comp = self.composite()
        return (self.proxy,) if comp is None else tuple(n for n, _ in comp)


@dataclass(frozen=True)
class ExecutorFields:
    """The settings of where fitness runs, declared once: the run config's [search] table holds them (SearchConfig
    derives from this), and ExecutorConfig is them on their own, validated, the object the fitness engine takes."""

    executor: str = "auto"             # auto | serial | ray | ray-gpu (auto: see ExecutorConfig.resolved_kind)
    workers: int = 2                   # 0: serial in this process; N: Ray workers
    address: str | None = None         # Ray cluster address (host:port); None: local
    eval_timeout: float | None = None  # seconds one genome may run on a Ray worker, then it fails; None: no limit
    cpus_per_worker: float = 1.0       # Ray CPUs each worker holds
    gpus_per_worker: float = 0.0       # Ray GPUs each worker holds (0.25: four workers share one GPU; 0 with auto:
    #                                    spread over the cluster's GPUs)
    torch_threads: int = 1             # torch threads per evaluation, in every executor (serial included)
    placement_timeout: float = 60.0    # seconds Ray may go without placing one more worker, then a one-line error

    @property
    def kind(self) -> str:
        """The executor's name (the `executor` field)."""
        return self.executor

    def executor_config(self) -> "ExecutorConfig":
        """These settings as the validated object the fitness engine takes whole."""
        return ExecutorConfig(**{f.name: getattr(self, f.name) for f in fields(ExecutorFields)})


@dataclass(frozen=True)
class ExecutorConfig(ExecutorFields, Config):
    """Where fitness runs: an executor of EXECUTORS (msenas.fitness.executors) and its resources.

    Its fields sit in the run config's [search] table (search.workers, ...);
    `SearchConfig.executor_config()` is this object, passed whole to the engine.
    """

    section: ClassVar[str] = "search"

    def validate(self) -> "ExecutorConfig":
        """Raise ConfigError naming the first bad field."""
        from msenas.fitness.executors.registry import EXECUTORS

        self.need(self.kind == "auto" or self.kind in EXECUTORS, "executor",
                  f"must be auto or one of {', '.join(EXECUTORS.names())}", self.kind)
        self.need(self.workers >= 0, "workers", "must be >= 0")
        self.need(self.address is None or self.address.strip() != "", "address", "must be host:port")
        self.need(self.eval_timeout is None or self.eval_timeout > 0, "eval_timeout",
                  "must be > 0 seconds (or left out)")
        self.need(self.eval_timeout is None or self.resolved_kind() != "serial", "eval_timeout",
                  "needs Ray workers (workers >= 1 or an address): a serial evaluation cannot be stopped")
        self.need(self.cpus_per_worker > 0, "cpus_per_worker", "must be > 0")
        self.need(0 <= self.gpus_per_worker, "gpus_per_worker", "must be >= 0 (a fraction shares a GPU)")
        self.need(self.gpus_per_worker <= 1 or self.gpus_per_worker.is_integer(), "gpus_per_worker",
                  "must be a fraction of one GPU or a whole number")
        self.need(self.torch_threads >= 1, "torch_threads", "must be >= 1")
        self.need(self.placement_timeout > 0, "placement_timeout", "must be > 0 seconds")
        self.need(self.resolved_kind() != "serial" or self.gpus_per_worker == 0, "gpus_per_worker",
                  "needs Ray workers (a serial executor uses this process's device)")
        return self

    def resolved_kind(self) -> str:
        """The executor `auto` stands for: serial without workers or address, ray-gpu with GPUs, else ray."""
        if self.kind != "auto":
            return self.kind
        if self.workers == 0 and not self.address:
            return "serial"
        return "ray-gpu" if self.gpus_per_worker > 0 else "ray"
