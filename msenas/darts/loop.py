"""The MA-DARTS search loop (Man et al., arXiv 2411.00902; DARTS, Liu et al., ICLR 2019).

The train split is cut (stratified, seeded) into a weight half and an alpha
half. Each step first updates the alphas on an alpha-half batch (Adam; first
or second order, see bilevel.py), then the weights on a weight-half batch.
After every epoch: validation on the alpha half, spikes per cell (NoS) for
training and validation, the derived genome, and an atomic checkpoint. Device
and mixed precision come from msenas.runtime, as in training (`amp`).
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from msenas.config import DataConfig
from msenas.darts import bilevel, folder
from msenas.darts.config import DartsConfig, DartsConfigError
from msenas.darts.derive import derive_genome, uniform_warning
from msenas.darts.supernet import Supernet
from msenas.data import Dataset, labels_of, make_loader, stratified_split
from msenas.data.base import SplitView
from msenas.genome.types import Genome
from msenas.nn.monitor import SpikeMonitor
from msenas.runtime import evaluate_model, resolve_device, resolve_precision, seeded, stream_seed, torch_threads
from msenas.train.loop import EpochLoop, Run, weight_step
from msenas.train.optim import LOSSES, OPTIMIZERS

MEAN_CE = LOSSES.get("ce")      # the cross-entropy of the mean over T of the logits, for weights and alphas


@dataclass(frozen=True)
class SearchResult:
    """The derived genome, the per-epoch records, the run folder and warnings (alphas still near uniform)."""

    genome: Genome
    history: list
    out_dir: Path
    warnings: tuple[str, ...] = ()


@dataclass
class _Run(Run):
    a_opt: torch.optim.Optimizer | None = None    # the alphas' optimiser (Adam)


def split_train(dataset: Dataset, cfg: DartsConfig) -> tuple[SplitView, SplitView]:
    """Stratified, seeded (weight half, alpha half) of the train split."""
    w_idx, a_idx = stratified_split(labels_of(dataset.train), 1.0 - cfg.train_portion, cfg.seed)
    return SplitView(dataset.train, w_idx), SplitView(dataset.train, a_idx)


def mean_ce(model: nn.Module, batch) -> torch.Tensor:
    """Cross-entropy (float32) of the mean over T of the logits; batch = (x [T,B,C,H,W], y [B])."""
    x, y = batch
    return MEAN_CE(model(x), y)


def _alpha_step(run: _Run, cfg: DartsConfig, train_batch, val_batch) -> None:
    """One alpha update; skipped when a float16 gradient overflowed (as the GradScaler skips weight steps)."""
    scale = run.scaler.get_scale() if run.scaler.is_enabled() else 1.0

    def loss(model: nn.Module, batch) -> torch.Tensor:
        with run.precision.autocast():
            return mean_ce(model, batch) * scale

    if cfg.order == "first":
        grads = bilevel.first_order(run.model, loss, val_batch, loss_scale=scale)
    else:
        grads = bilevel.second_order(run.model, loss, train_batch, val_batch, xi=run.opt.param_groups[0]["lr"],
                                     weight_decay=cfg.w_weight_decay, loss_scale=scale)
    if not all(bool(torch.isfinite(g).all()) for g in grads):
        return
    run.a_opt.zero_grad(set_to_none=True)
    for p, g in zip(run.model.arch_parameters(), grads):
        p.grad = g.detach()
    run.a_opt.step()


def _weight_step(run: _Run, cfg: DartsConfig, batch, monitor: SpikeMonitor) -> tuple[float, int]:
    """One weight update on a weight-half batch (spikes counted, alphas untouched); (loss, correct predictions)."""
    return weight_step(run, batch, MEAN_CE, params=run.model.weight_parameters(), clip=cfg.grad_clip,
                       monitor=monitor)


class _Eta:
    """After the second step pair (the first warms up), one line: seconds per step pair and the search's time."""

    def __init__(self, steps_left: int, enabled: bool):
        self.left, self.enabled, self.ends = steps_left, enabled, []

    def step(self) -> None:
        self.left -= 1
        self.ends.append(time.perf_counter())
        if self.enabled and len(self.ends) == 2 and self.left > 0:
            per = self.ends[1] - self.ends[0]
            from tqdm import tqdm

            tqdm.write(f"darts: {per:.1f} s per step pair; {self.left} more: about {_duration(per * self.left)} "
                       "plus validation", file=sys.stderr)


def _duration(seconds: float) -> str:
    if seconds >= 5400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def evaluate_supernet(model: Supernet, split, cfg: DartsConfig, device: torch.device, progress: bool = False) -> dict:
    """Loss, accuracy and NoS of the supernet (eval mode) on a held-out split, in the search's precision."""
    ev = evaluate_model(model, split, T=cfg.T, batch_size=cfg.batch_size, device=device,
                        precision=resolve_precision(device, cfg.amp, DartsConfigError),
                        max_batches=cfg.max_valid_batches, progress=progress, desc="darts validation")
    nos = {k: ev[k] for k in ("spikes", "spikes_per_cell", "firing_rate_per_cell", "sops", "macs", "energy_pj")}
    return {"valid_loss": ev["loss"], "valid_acc": ev["acc"], "valid_nos": nos}


def search(dataset: Dataset, cfg: DartsConfig, out_dir: str | Path, *, resume: bool = False,
           progress: bool = True, data: DataConfig | None = None,
           on_epoch_end: Callable[[dict], None] | None = None) -> SearchResult:
    """Run MA-DARTS on `dataset` (built from `data`, recorded in config.json) into out_dir; the derived genome."""
    return DartsLoop(dataset, cfg, progress=progress, data=data, on_epoch_end=on_epoch_end).run(out_dir, resume)


class DartsLoop(EpochLoop):
    """The shared epoch loop with an alpha step before each weight step, and the alphas' files after each epoch."""

    kind, command, label, holds, error = "darts", "msenas darts", "darts", "a darts run", folder.DartsRunError
    state_names = {"model": "model", "w_opt": "opt", "a_opt": "a_opt", "sched": "sched", "scaler": "scaler"}

    def context(self):
        return torch_threads(self.cfg.torch_threads)

    def start(self) -> _Run:
        cfg, dataset = self.cfg, self.dataset
        device = resolve_device(cfg.device, DartsConfigError)
        precision = resolve_precision(device, cfg.amp, DartsConfigError)
        with seeded(cfg.seed):
            model = Supernet(cfg, dataset.info.in_shape, dataset.info.n_classes).to(device)
        w_opt = OPTIMIZERS.get(cfg.w_optimizer)(model.weight_parameters(), cfg.w_lr, cfg.w_weight_decay,
                                                cfg.w_momentum, nesterov=False)  # DARTS: plain momentum, all decayed
        a_opt = torch.optim.Adam(model.arch_parameters(), lr=cfg.alpha_lr, betas=(0.5, 0.999),
                                 weight_decay=cfg.alpha_weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, cfg.epochs, eta_min=cfg.w_lr_min)
        self.w_split, self.a_split = split_train(dataset, cfg)
        steps = min(math.ceil(len(self.w_split) / cfg.batch_size), math.ceil(len(self.a_split) / cfg.batch_size),
                    cfg.max_batches or math.inf)
        self.alpha_history, self.eta = [folder.alpha_entry(0, model.op_weights())], None
        return _Run(model, w_opt, sched, precision.grad_scaler(), device, precision, steps, sched_per_step=False,
                    a_opt=a_opt)

    def run_config(self) -> dict:
        """config.json: the resolved search config, the data recipe and the shapes."""
        info, run = self.dataset.info, self.run_
        return {"schema_version": folder.SCHEMA_VERSION, "darts": self.cfg.to_dict(),
                "data": self.data.to_dict(), "dataset": info.name, "in_shape": list(info.in_shape),
                "n_classes": info.n_classes, "event": info.event,
                "resolved": {"device": run.device.type, "precision": run.precision.name,
                             "supernet_params": sum(p.numel() for p in run.model.weight_parameters())}}

    def batches(self, epoch: int):
        return zip(*(make_loader(split, self.cfg.batch_size, True, stream_seed(self.cfg.seed, epoch, k))
                     for k, split in enumerate((self.w_split, self.a_split))))

    def step(self, batch) -> tuple[float, int, int]:
        """The alpha step on an alpha-half batch (after the warm-up epochs), then the weight step."""
        tb, vb = (self.on_device(*b) for b in batch)                        # ([T,B,C,H,W], [B]) each
        if self.update_alphas:
            _alpha_step(self.run_, self.cfg, tb, vb)
        loss, right = _weight_step(self.run_, self.cfg, tb, self.monitor)
        self.eta.step()
        return loss, right, len(tb[1])

    def check_loss(self, loss_sum: float, n: int) -> None:
        if not math.isfinite(loss_sum):
            cfg = self.cfg
            raise DartsConfigError(f"w_lr: the search diverged (loss {loss_sum / max(1, n)}); lower w_lr "
                                   f"(now {cfg.w_lr})")

    def epoch(self, epoch: int) -> dict:
        """Alternating alpha / weight steps, then validation on the alpha half; the record (NoS included)."""
        cfg, run = self.cfg, self.run_
        if self.eta is None:
            self.eta = _Eta((cfg.epochs - epoch) * run.steps, self.progress)
        self.update_alphas, self.monitor = epoch >= cfg.alpha_warmup_epochs, SpikeMonitor(run.model)
        lr = run.opt.param_groups[0]["lr"]
        t0 = time.perf_counter()
        loss, acc, _, n = self.train_epoch(epoch)
        return {"epoch": epoch + 1, "w_lr": lr, "train_loss": loss, "train_acc": acc,
                "train_nos": self.monitor.summary(n), **evaluate_supernet(run.model, self.a_split, cfg, run.device,
                                                                          self.progress),
                "epoch_time": time.perf_counter() - t0}

    def state(self, history: list[dict]) -> dict:
        return {**super().state(history), "history": json.dumps(history),
                "alpha_history": json.dumps(self.alpha_history)}

    def load_state(self, ck: dict) -> list[dict]:
        super().load_state(ck)
        self.alpha_history = list(json.loads(ck["alpha_history"]))
        return list(json.loads(ck["history"]))

    def save(self, out: Path, history: list[dict]) -> None:
        """alphas.json, nos.jsonl and genome.json, then checkpoint.pt."""
        weights = self.run_.model.op_weights()
        self.alpha_history.append(folder.alpha_entry(history[-1]["epoch"], weights))
        folder.write_epoch(out, self.cfg, history, self.alpha_history, weights, self.dataset.info,
                           self._alpha_steps(history))
        self.save_checkpoint(out, history)

    def line(self, r: dict) -> str:
        nos = lambda s: "/".join(f"{v:.0f}" for v in s["spikes_per_cell"])  # noqa: E731
        return (f"darts epoch {r['epoch']}/{self.cfg.epochs}: train loss {r['train_loss']:.4f} acc "
                f"{r['train_acc']:.4f} | valid loss {r['valid_loss']:.4f} acc {r['valid_acc']:.4f} | NoS/cell train "
                f"{nos(r['train_nos'])} valid {nos(r['valid_nos'])} | {r['epoch_time']:.1f} s")

    def finish(self, out: Path, history: list[dict]) -> SearchResult:
        weights = self.run_.model.op_weights()
        warning = uniform_warning(weights, self._alpha_steps(history))
        return SearchResult(derive_genome(weights, self.cfg), history, out, (warning,) if warning else ())

    def _alpha_steps(self, history: list) -> int:
        """Alpha updates made so far: steps per epoch after the warm-up epochs."""
        return self.run_.steps * max(0, len(history) - self.cfg.alpha_warmup_epochs)

