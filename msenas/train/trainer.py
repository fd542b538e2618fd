"""Surrogate-gradient training of a genome (spikingjelly LIF, ATan surrogate, multi-step).

SPEC section 5 (after MSE-NAS, arXiv 2304.10749): direct encoding of static
images, event frames [T,2,H,W] as they are, loss on the mean over T of the
logits (or TET), network state reset after every batch, warmup + cosine
schedule, label smoothing, mixed precision through msenas.runtime.resolve_precision
(float16 with a GradScaler on a GPU by default). One atomic, data-only
checkpoint per epoch; a resumed run continues from the saved epoch.

A published network of spikingjelly's model zoo (msenas.zoo.ZooModel) trains
through the same loop, data, T, optimiser and energy accounting; its result
folder holds model.json in place of genome.json.
"""
from __future__ import annotations

import math
import time
from functools import partial
from pathlib import Path
from typing import Callable

from torch import nn

from msenas.config import DataConfig
from msenas.data import Dataset, make_loader
from msenas.errors import MsenasError
from msenas.genome import Genome
from msenas.genome import io as genome_io
from msenas.memory import check_memory
from msenas.nn.cost import complexity
from msenas.rundir import GENOME, MODEL, RESULT_SCHEMA, WEIGHTS, write_json
from msenas.runtime import evaluate_model, resolve_device, resolve_precision, seeded, stream_seed
from msenas.train.config import TrainConfig, TrainConfigError
from msenas.train.loop import EpochLoop, Run, cpu_state, weight_step
from msenas.train.optim import LOSSES, make_optimizer, make_scheduler
from msenas.train.result import save_tensors, write_metrics
from msenas.zoo import ZooModel

Architecture = Genome | ZooModel


class TrainError(MsenasError, RuntimeError):
    """A training run that cannot start or resume (folder clash, mismatching checkpoint)."""


def build_model(genome: Architecture, dataset: Dataset, cfg: TrainConfig) -> nn.Module:
    """The genome's (or zoo network's) module for this dataset, initialised from cfg.seed (global RNG untouched)."""
    from msenas.nn.network import build_network

    info = dataset.info
    with seeded(cfg.seed):
        if isinstance(genome, ZooModel):
            return genome.build(info.in_shape, info.n_classes, cfg.T, info.event)
        return build_network(genome, info.in_shape, info.n_classes, cfg.T)


def architecture_key(arch: Architecture) -> str:
    """The genome key, or zoo-NAME-wWIDTH."""
    return arch.key() if isinstance(arch, ZooModel) else genome_io.key(arch)


def train(genome: Architecture, dataset: Dataset, cfg: TrainConfig, out_dir: str | Path, *, resume: bool = False,
          progress: bool = True, data: DataConfig | None = None,
          on_epoch_end: Callable[[dict], None] | None = None) -> dict:
    """Train `genome` on `dataset` (built from `data`, recorded with the result) into out_dir; the metrics."""
    return Trainer(genome, dataset, cfg, progress=progress, data=data, on_epoch_end=on_epoch_end).run(out_dir, resume)


class Trainer(EpochLoop):
    """The training run of one architecture: one loss per step, the test split evaluated after every epoch."""

    kind, command, label, holds, error = "result", "msenas train", "epoch", "a training run", TrainError
    resume_sections = ("train", "data", "genome_key", "in_shape", "n_classes")

    def __init__(self, genome: Architecture, dataset: Dataset, cfg: TrainConfig, **kw):
        super().__init__(dataset, cfg, **kw)
        self.genome = genome
        self.loss_fn = partial(LOSSES.get(cfg.loss), smoothing=cfg.label_smoothing)

    def start(self) -> Run:
        cfg, dataset = self.cfg, self.dataset
        device = resolve_device(cfg.device, TrainConfigError)
        precision = resolve_precision(device, cfg.amp, TrainConfigError)
        if isinstance(self.genome, Genome):
            check_memory(self.genome, dataset.info.in_shape, dataset.info.n_classes, batch=cfg.batch_size, T=cfg.T,
                         training=True, device=device, value_bytes=2 if precision.mixed else 4)
        model = build_model(self.genome, dataset, cfg).to(device)
        n_batches = math.ceil(len(dataset.train) / cfg.batch_size)
        steps = min(n_batches, cfg.max_train_batches or n_batches)
        opt = make_optimizer(cfg.optimizer, model, cfg.lr, cfg.weight_decay, cfg.momentum)
        sched = make_scheduler(opt, cfg.epochs * steps, round(cfg.warmup_epochs * steps))
        return Run(model, opt, sched, precision.grad_scaler(), device, precision, steps)

    def run_config(self) -> dict:
        """config.json: the resolved config, the data recipe, the shapes and the genome key (zoo: also the network)."""
        genome, dataset, cfg, run = self.genome, self.dataset, self.cfg, self.run_
        if isinstance(genome, ZooModel):
            from msenas.zoo.common import dense_macs

            macs = dense_macs(run.model, dataset.info.in_shape, cfg.T)
        else:
            macs = complexity(genome, dataset.info.in_shape, dataset.info.n_classes).macs
        zoo = {"zoo": genome.to_dict()} if isinstance(genome, ZooModel) else {}
        return {**zoo, "schema_version": RESULT_SCHEMA, "train": cfg.to_dict(),
                "resolved": {"device": run.device.type, "amp": run.precision.mixed, "precision": run.precision.name,
                             "steps_per_epoch": run.steps, "total_steps": cfg.epochs * run.steps,
                             "warmup_steps": round(cfg.warmup_epochs * run.steps)},
                "data": self.data.to_dict(), "dataset": dataset.info.name, "in_shape": list(dataset.info.in_shape),
                "n_classes": dataset.info.n_classes, "event": dataset.info.event,
                "genome_key": architecture_key(genome), "params": sum(p.numel() for p in run.model.parameters()),
                "energy_dense_pj": cfg.energy.dense_pj(macs)}

    def begin(self, out: Path) -> None:
        info = self.dataset.info
        where = {"dataset": info.name, "in_shape": list(info.in_shape), "n_classes": info.n_classes}
        if isinstance(self.genome, ZooModel):
            write_json(out / MODEL, {**self.genome.to_dict(), **where})
        else:
            genome_io.save(self.genome, out / GENOME, **where)

    def batches(self, epoch: int):
        cfg = self.cfg
        return make_loader(self.dataset.train, cfg.batch_size, shuffle=True, seed=stream_seed(cfg.seed, epoch))

    def step(self, batch) -> tuple[float, int, int]:
        x, y = self.on_device(*batch)                                   # [T,B,C,H,W], [B]
        loss, right = weight_step(self.run_, (x, y), self.loss_fn)
        return loss, right, len(y)

    def check_loss(self, loss_sum: float, n: int) -> None:
        if n == 0:
            raise TrainError("the train split is empty")
        if not math.isfinite(loss_sum):
            raise TrainError(f"training diverged (loss {loss_sum / n}); lower lr (now {self.cfg.lr})")

    def epoch(self, epoch: int) -> dict:
        """Train one epoch (0-based index), evaluate on the test split; the history record."""
        cfg, run = self.cfg, self.run_
        t0, c0 = time.perf_counter(), time.process_time()
        train_loss, train_acc, lr, _ = self.train_epoch(epoch)
        t1, c1 = time.perf_counter(), time.process_time()
        ev = evaluate_model(run.model, self.dataset.test, T=cfg.T, batch_size=cfg.batch_size, device=run.device,
                            precision=run.precision, progress=self.progress, desc=f"test {epoch + 1}/{cfg.epochs}",
                            energy=cfg.energy)
        return {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
                "test_acc": ev["acc"], "test_loss": ev["loss"], "spikes": ev["spikes"],
                "spikes_per_cell": ev["spikes_per_cell"], "firing_rate_per_cell": ev["firing_rate_per_cell"],
                "sops": ev["sops"], "mac_ops": ev["macs"], "energy_pj": ev["energy_pj"], "lr": lr,
                "epoch_time": t1 - t0, "epoch_cpu_time": c1 - c0, "eval_time": time.perf_counter() - t1}

    def save(self, out: Path, history: list[dict]) -> None:
        self.save_checkpoint(out, history)
        save_tensors(out / WEIGHTS, cpu_state(self.run_.model))
        self._metrics(out, history)

    def line(self, r: dict) -> str:
        return (f"epoch {r['epoch']}/{self.cfg.epochs}: train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f} | "
                f"test loss {r['test_loss']:.4f} acc {r['test_acc']:.4f} | {r['spikes']:.4g} spikes/sample, "
                f"{r['energy_pj'] / 1e6:.4g} uJ/sample | {r['epoch_time']:.1f} s")

    def finish(self, out: Path, history: list[dict]) -> dict:
        if not (out / WEIGHTS).is_file():
            save_tensors(out / WEIGHTS, cpu_state(self.run_.model))
        return self._metrics(out, history)

    def _metrics(self, out: Path, history: list[dict]) -> dict:
        return write_metrics(out, history, self.config["params"], self.cfg.epochs, self.config.get("energy_dense_pj"))

