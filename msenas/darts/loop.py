"""The MA-DARTS search loop (Man et al., arXiv 2411.00902; DARTS, Liu et al., ICLR 2019).

The train split is cut (stratified, seeded) into a weight half and an alpha
half. Each step first updates the alphas on an alpha-half batch (Adam; first
or second order, see bilevel.py), then the weights on a weight-half batch.
After every epoch: validation on the alpha half, spikes per cell (NoS) for
training and validation, the derived genome, and an atomic checkpoint. Device
and mixed precision come from msenas.runtime, as in training (`amp`).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from msenas.config import DataConfig
from msenas.darts import bilevel, folder
from msenas.darts.config import DartsConfig, DartsConfigError
from msenas.darts.derive import derive_genome, uniform_warning
from msenas.darts.supernet import Supernet
from msenas.data import Dataset, augmentation_rng, labels_of, make_loader, stratified_split, to_time_major
from msenas.data.base import SplitView
from msenas.errors import MsenasError
from msenas.genome.types import Genome
from msenas.nn.monitor import SpikeMonitor
from msenas.outguard import check_folder
from msenas.rundir import CONFIG, RunLock
from msenas.runtime import (
    Precision,
    evaluate_model,
    resolve_device,
    resolve_precision,
    seeded,
    stream_seed,
    torch_threads,
)
from msenas.train.optim import OPTIMIZERS


@dataclass(frozen=True)
class SearchResult:
    """The derived genome, the per-epoch records, the run folder and warnings (alphas still near uniform)."""

    genome: Genome
    history: list
    out_dir: Path
    warnings: tuple[str, ...] = ()


@dataclass
class _Run:
    model: Supernet
    w_opt: torch.optim.Optimizer
    a_opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.CosineAnnealingLR
    device: torch.device
    precision: Precision
    scaler: torch.amp.GradScaler        # float16 loss scaling (a pass-through otherwise)


def split_train(dataset: Dataset, cfg: DartsConfig) -> tuple[SplitView, SplitView]:
    """Stratified, seeded (weight half, alpha half) of the train split."""
    w_idx, a_idx = stratified_split(labels_of(dataset.train), 1.0 - cfg.train_portion, cfg.seed)
    return SplitView(dataset.train, w_idx), SplitView(dataset.train, a_idx)


def mean_ce(model: nn.Module, batch) -> torch.Tensor:
    """Cross-entropy (float32) of the mean over T of the logits; batch = (x [T,B,C,H,W], y [B])."""
    x, y = batch
    return F.cross_entropy(model(x).float().mean(0), y)


def _start(dataset: Dataset, cfg: DartsConfig) -> _Run:
    device = resolve_device(cfg.device, DartsConfigError)
    precision = resolve_precision(device, cfg.amp, DartsConfigError)
    with seeded(cfg.seed):
        model = Supernet(cfg, dataset.info.in_shape, dataset.info.n_classes).to(device)
    w_opt = OPTIMIZERS.get(cfg.w_optimizer)(model.weight_parameters(), cfg.w_lr, cfg.w_weight_decay, cfg.w_momentum,
                                            nesterov=False)      # DARTS: plain momentum, decay on every weight
    a_opt = torch.optim.Adam(model.arch_parameters(), lr=cfg.alpha_lr, betas=(0.5, 0.999),
                             weight_decay=cfg.alpha_weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, cfg.epochs, eta_min=cfg.w_lr_min)
    return _Run(model, w_opt, a_opt, sched, device, precision, precision.grad_scaler())


def _alpha_step(run: _Run, cfg: DartsConfig, train_batch, val_batch) -> None:
    """One alpha update; skipped when a float16 gradient overflowed (as the GradScaler skips weight steps)."""
    scale = run.scaler.get_scale() if run.scaler.is_enabled() else 1.0

    def loss(model: nn.Module, batch) -> torch.Tensor:
        with run.precision.autocast():
            return mean_ce(model, batch) * scale

    if cfg.order == "first":
        grads = bilevel.first_order(run.model, loss, val_batch, loss_scale=scale)
    else:
        grads = bilevel.second_order(run.model, loss, train_batch, val_batch, xi=run.w_opt.param_groups[0]["lr"],
                                     weight_decay=cfg.w_weight_decay, loss_scale=scale)
    if not all(bool(torch.isfinite(g).all()) for g in grads):
        return
    run.a_opt.zero_grad(set_to_none=True)
    for p, g in zip(run.model.arch_parameters(), grads):
        p.grad = g.detach()
    run.a_opt.step()


def _weight_step(run: _Run, cfg: DartsConfig, batch, monitor: SpikeMonitor) -> tuple[float, int]:
    """One weight update on a weight-half batch (spikes counted); (loss, correct predictions)."""
    weights = run.model.weight_parameters()
    with monitor, run.precision.autocast():
        logits = run.model(batch[0])                                          # [T,B,K]
    logits = logits.float()
    loss = F.cross_entropy(logits.mean(0), batch[1])
    run.w_opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward(inputs=weights)
    if cfg.grad_clip > 0:
        run.scaler.unscale_(run.w_opt)                                        # clip the true gradients
        nn.utils.clip_grad_norm_(weights, cfg.grad_clip)
    run.scaler.step(run.w_opt)
    run.scaler.update()
    return float(loss.detach()), int((logits.detach().mean(0).argmax(1) == batch[1]).sum())


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


def _train_epoch(run: _Run, cfg: DartsConfig, loaders, steps: int, update_alphas: bool, bar, eta: _Eta) -> dict:
    """One epoch of alternating alpha / weight steps; loss, accuracy and NoS of the weight steps."""
    monitor = SpikeMonitor(run.model.train())
    loss_sum, correct, n = 0.0, 0, 0
    for step, ((xw, yw), (xa, ya)) in enumerate(zip(*loaders)):
        if step >= steps:
            break
        tb = (to_time_major(xw, cfg.T).to(run.device), yw.to(run.device))     # [T,B,C,H,W], [B]
        vb = (to_time_major(xa, cfg.T).to(run.device), ya.to(run.device))
        if update_alphas:
            _alpha_step(run, cfg, tb, vb)
        loss, right = _weight_step(run, cfg, tb, monitor)
        loss_sum, correct, n = loss_sum + loss * len(yw), correct + right, n + len(yw)
        eta.step()
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum / n:.3f}", acc=f"{correct / n:.3f}")
    if not math.isfinite(loss_sum):
        raise DartsConfigError(f"w_lr: the search diverged (loss {loss_sum / max(1, n)}); lower w_lr (now {cfg.w_lr})")
    return {"train_loss": loss_sum / max(1, n), "train_acc": correct / max(1, n), "train_nos": monitor.summary(n)}


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
    out = check_folder(out_dir, "darts")
    with RunLock(out, "msenas darts"), torch_threads(cfg.torch_threads):
        return _search(dataset, cfg, out, resume, progress, data, on_epoch_end)


def _search(dataset: Dataset, cfg: DartsConfig, out: Path, resume: bool, progress: bool, data: DataConfig | None,
            on_epoch_end: Callable[[dict], None] | None) -> SearchResult:
    from tqdm import tqdm

    folder.check_folder(out, resume)
    run = _start(dataset, cfg)
    w_split, a_split = split_train(dataset, cfg)
    config = _run_config(dataset, cfg, run, data or DataConfig(dataset.info.name, seed=0))
    aug_rng = augmentation_rng(dataset.train)
    history, alpha_history = [], [folder.alpha_entry(0, run.model.op_weights())]
    if resume:
        history, alpha_history = _resume(out, run, config, aug_rng)
    else:
        folder.write_json(out / CONFIG, config)
    steps = min(math.ceil(len(w_split) / cfg.batch_size), math.ceil(len(a_split) / cfg.batch_size),
                cfg.max_batches or math.inf)
    eta = _Eta((cfg.epochs - len(history)) * steps, progress)
    for epoch in range(len(history), cfg.epochs):
        loaders = [make_loader(split, cfg.batch_size, True, stream_seed(cfg.seed, epoch, k))
                   for k, split in enumerate((w_split, a_split))]
        lr = run.w_opt.param_groups[0]["lr"]
        t0 = time.perf_counter()
        with tqdm(total=steps, desc=f"darts {epoch + 1}/{cfg.epochs}", file=sys.stderr, disable=not progress,
                  leave=False, dynamic_ncols=True) as bar:
            record = _train_epoch(run, cfg, loaders, steps, epoch >= cfg.alpha_warmup_epochs, bar, eta)
        run.sched.step()
        record = {"epoch": epoch + 1, "w_lr": lr, **record,
                  **evaluate_supernet(run.model, a_split, cfg, run.device, progress),
                  "epoch_time": time.perf_counter() - t0}
        history.append(record)
        weights = run.model.op_weights()
        alpha_history.append(folder.alpha_entry(epoch + 1, weights))
        folder.write_epoch(out, cfg, history, alpha_history, weights, dataset.info, _alpha_steps(cfg, steps, history))
        folder.save_checkpoint(out, _state(run), history, alpha_history, config, aug_rng)
        if progress:
            tqdm.write(_epoch_line(record, cfg.epochs), file=sys.stderr)
        if on_epoch_end is not None:
            on_epoch_end(record)
    weights = run.model.op_weights()
    warning = uniform_warning(weights, _alpha_steps(cfg, steps, history))
    return SearchResult(derive_genome(weights, cfg), history, out, (warning,) if warning else ())


def _alpha_steps(cfg: DartsConfig, steps: int, history: list) -> int:
    """Alpha updates made so far: `steps` per epoch after the warm-up epochs."""
    return steps * max(0, len(history) - cfg.alpha_warmup_epochs)


def _state(run: _Run) -> dict:
    return {"model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
            "w_opt": run.w_opt.state_dict(), "a_opt": run.a_opt.state_dict(), "sched": run.sched.state_dict(),
            "scaler": run.scaler.state_dict()}


def _resume(out: Path, run: _Run, config: dict, aug_rng) -> tuple[list, list]:
    """(history, alpha history) of checkpoint.pt, its state loaded into the run; a damaged or foreign file is named."""
    try:
        ck = folder.load_checkpoint(out, config, aug_rng)
        _load_state(run, ck)
        return list(ck["history"]), list(ck["alpha_history"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, RecursionError) as e:
        if isinstance(e, MsenasError):
            raise
        raise folder.DartsRunError(f"{out / folder.CHECKPOINT}: not a checkpoint of this run "
                                   f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None


def _load_state(run: _Run, ck: dict) -> None:
    run.model.load_state_dict(ck["model"])
    run.w_opt.load_state_dict(ck["w_opt"])
    run.a_opt.load_state_dict(ck["a_opt"])
    run.sched.load_state_dict(ck["sched"])
    if ck.get("scaler"):                      # float16 loss scale; absent in checkpoints of older versions
        run.scaler.load_state_dict(ck["scaler"])


def _run_config(dataset: Dataset, cfg: DartsConfig, run: _Run, data: DataConfig) -> dict:
    """config.json: the resolved search config, the data recipe and the shapes."""
    info = dataset.info
    return {"schema_version": folder.SCHEMA_VERSION, "darts": cfg.to_dict(),
            "data": data.to_dict(), "dataset": info.name, "in_shape": list(info.in_shape),
            "n_classes": info.n_classes, "event": info.event,
            "resolved": {"device": run.device.type, "precision": run.precision.name,
                         "supernet_params": sum(p.numel() for p in run.model.weight_parameters())}}



def _epoch_line(r: dict, epochs: int) -> str:
    nos = lambda s: "/".join(f"{v:.0f}" for v in s["spikes_per_cell"])  # noqa: E731
    return (f"darts epoch {r['epoch']}/{epochs}: train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f} | "
            f"valid loss {r['valid_loss']:.4f} acc {r['valid_acc']:.4f} | NoS/cell train {nos(r['train_nos'])} "
            f"valid {nos(r['valid_nos'])} | {r['epoch_time']:.1f} s")
