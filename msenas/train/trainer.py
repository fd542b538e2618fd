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

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from spikingjelly.activation_based import functional
from torch import nn

from msenas.config import DataConfig
from msenas.data import Dataset, augmentation_rng, make_loader, to_time_major
from msenas.errors import MsenasError
from msenas.genome import Genome
from msenas.genome import io as genome_io
from msenas.memory import check_memory
from msenas.nn.cost import complexity
from msenas.outguard import check_folder
from msenas.rundir import CONFIG, GENOME, MODEL, RESULT_SCHEMA, TRAIN_CHECKPOINT, WEIGHTS, RunLock, write_json
from msenas.runtime import Precision, evaluate_model, resolve_device, resolve_precision, seeded, stream_seed
from msenas.train.config import TrainConfig, TrainConfigError
from msenas.train.optim import LOSSES, make_optimizer, make_scheduler
from msenas.train.result import load_tensors, save_tensors, write_metrics
from msenas.zoo import ZooModel

Architecture = Genome | ZooModel


class TrainError(MsenasError, RuntimeError):
    """A training run that cannot start or resume (folder clash, mismatching checkpoint)."""


@dataclass
class _Run:
    """The live objects of one training run."""

    model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    device: torch.device
    precision: Precision
    steps_per_epoch: int


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
    out = check_folder(out_dir, "result")
    with RunLock(out, "msenas train"):
        _check_folder(out, resume)
        run = _start(genome, dataset, cfg)
        config = _run_config(genome, dataset, cfg, data or DataConfig(dataset.info.name, seed=0), run)
        if resume:
            history = _restore(out, run, config, dataset)
        else:
            history = []
            where = {"dataset": dataset.info.name, "in_shape": list(dataset.info.in_shape),
                     "n_classes": dataset.info.n_classes}
            if isinstance(genome, ZooModel):
                write_json(out / MODEL, {**genome.to_dict(), **where})
            else:
                genome_io.save(genome, out / GENOME, **where)
            write_json(out / CONFIG, config)
        for epoch in range(len(history), cfg.epochs):
            history.append(_epoch(run, dataset, cfg, epoch, progress))
            _save_checkpoint(out, run, history, config, dataset)
            save_tensors(out / WEIGHTS, _cpu_state(run.model))
            write_metrics(out, history, config["params"], cfg.epochs, config.get("energy_dense_pj"))
            if on_epoch_end is not None:
                on_epoch_end(history[-1])
        if not (out / WEIGHTS).is_file():
            save_tensors(out / WEIGHTS, _cpu_state(run.model))
        return write_metrics(out, history, config["params"], cfg.epochs, config.get("energy_dense_pj"))


def _epoch(run: _Run, dataset: Dataset, cfg: TrainConfig, epoch: int, progress: bool) -> dict:
    """Train one epoch (0-based index) with a progress bar, evaluate; the history record."""
    from tqdm import tqdm

    loader = make_loader(dataset.train, cfg.batch_size, shuffle=True, seed=stream_seed(cfg.seed, epoch))
    bar = tqdm(total=run.steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", file=sys.stderr,
               disable=not progress, leave=False, dynamic_ncols=True)
    t0, c0 = time.perf_counter(), time.process_time()
    with bar:
        train_loss, train_acc, lr = _train_epoch(run, loader, LOSSES.get(cfg.loss), cfg, bar)
    t1, c1 = time.perf_counter(), time.process_time()
    ev = evaluate_model(run.model, dataset.test, T=cfg.T, batch_size=cfg.batch_size, device=run.device,
                        precision=run.precision, progress=progress, desc=f"test {epoch + 1}/{cfg.epochs}",
                        energy=cfg.energy)
    record = {"epoch": epoch + 1, "train_loss": train_loss, "train_acc": train_acc,
              "test_acc": ev["acc"], "test_loss": ev["loss"], "spikes": ev["spikes"],
              "spikes_per_cell": ev["spikes_per_cell"], "firing_rate_per_cell": ev["firing_rate_per_cell"],
              "sops": ev["sops"], "mac_ops": ev["macs"], "energy_pj": ev["energy_pj"], "lr": lr,
              "epoch_time": t1 - t0, "epoch_cpu_time": c1 - c0, "eval_time": time.perf_counter() - t1}
    if progress:
        tqdm.write(_epoch_line(record, cfg.epochs), file=sys.stderr)
    return record


def _check_folder(out: Path, resume: bool) -> None:
    has_ckpt = (out / TRAIN_CHECKPOINT).is_file()
    if resume and not has_ckpt:
        raise TrainError(f"resume: no {TRAIN_CHECKPOINT} in {out} (train without --resume first)")
    if not resume and has_ckpt:
        raise TrainError(f"{out} already holds a training run ({TRAIN_CHECKPOINT}); use --resume or another --out")


def _start(genome: Architecture, dataset: Dataset, cfg: TrainConfig) -> _Run:
    device = resolve_device(cfg.device, TrainConfigError)
    precision = resolve_precision(device, cfg.amp, TrainConfigError)
    if isinstance(genome, Genome):
        check_memory(genome, dataset.info.in_shape, dataset.info.n_classes, batch=cfg.batch_size, T=cfg.T,
                     training=True, device=device, value_bytes=2 if precision.mixed else 4)
    model = build_model(genome, dataset, cfg).to(device)
    n_batches = math.ceil(len(dataset.train) / cfg.batch_size)
    steps = min(n_batches, cfg.max_train_batches or n_batches)
    opt = make_optimizer(cfg.optimizer, model, cfg.lr, cfg.weight_decay, cfg.momentum)
    sched = make_scheduler(opt, cfg.epochs * steps, round(cfg.warmup_epochs * steps))
    return _Run(model, opt, sched, precision.grad_scaler(), device, precision, steps)


def _train_epoch(run: _Run, loader, loss_fn, cfg: TrainConfig, bar) -> tuple[float, float, float]:
    """One pass over (at most steps_per_epoch) batches: mean loss, accuracy, last learning rate."""
    model = run.model.train()
    loss_sum, correct, n, lr = 0.0, 0, 0, run.opt.param_groups[0]["lr"]
    for step, (xb, yb) in enumerate(loader):
        if step >= run.steps_per_epoch:
            break
        x = to_time_major(xb, cfg.T).to(run.device, non_blocking=True)  # [T,B,C,H,W]
        y = yb.to(run.device, non_blocking=True)                        # [B]
        with run.precision.autocast():
            logits = model(x)                                           # [T,B,K]
        loss = loss_fn(logits, y, cfg.label_smoothing)
        run.opt.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.opt)
        run.scaler.update()
        lr = run.opt.param_groups[0]["lr"]
        run.sched.step()
        functional.reset_net(model)                                     # no state leaks into the next batch
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.detach().float().mean(0).argmax(1) == y).sum())
        n += len(y)
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum / n:.3f}", acc=f"{correct / n:.3f}")
    if n == 0:
        raise TrainError("the train split is empty")
    if not math.isfinite(loss_sum):
        raise TrainError(f"training diverged (loss {loss_sum / n}); lower lr (now {cfg.lr})")
    return loss_sum / n, correct / n, lr


def _run_config(genome: Architecture, dataset: Dataset, cfg: TrainConfig, data: DataConfig, run: _Run) -> dict:
    """config.json: the resolved config, the data recipe, the shapes and the genome key (zoo: also the network)."""
    if isinstance(genome, ZooModel):
        from msenas.zoo.common import dense_macs

        macs = dense_macs(run.model, dataset.info.in_shape, cfg.T)
    else:
        macs = complexity(genome, dataset.info.in_shape, dataset.info.n_classes).macs
    zoo = {"zoo": genome.to_dict()} if isinstance(genome, ZooModel) else {}
    return {**zoo, "schema_version": RESULT_SCHEMA, "train": cfg.to_dict(),
            "resolved": {"device": run.device.type, "amp": run.precision.mixed, "precision": run.precision.name,
                         "steps_per_epoch": run.steps_per_epoch, "total_steps": cfg.epochs * run.steps_per_epoch,
                         "warmup_steps": round(cfg.warmup_epochs * run.steps_per_epoch)},
            "data": data.to_dict(), "dataset": dataset.info.name, "in_shape": list(dataset.info.in_shape),
            "n_classes": dataset.info.n_classes, "event": dataset.info.event,
            "genome_key": architecture_key(genome), "params": sum(p.numel() for p in run.model.parameters()),
            "energy_dense_pj": cfg.energy.dense_pj(macs)}


def _cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}



def _save_checkpoint(out: Path, run: _Run, history: list[dict], config: dict, dataset: Dataset) -> None:
    """checkpoint.pt: state dicts, history, config and the augmentation RNG, all weights_only-loadable."""
    rng = augmentation_rng(dataset.train)
    state = {"schema_version": RESULT_SCHEMA, "epoch": history[-1]["epoch"], "history": history,
             "config": json.dumps(config), "model": _cpu_state(run.model), "optimizer": run.opt.state_dict(),
             "scheduler": run.sched.state_dict(), "scaler": run.scaler.state_dict(),
             "aug_rng": json.dumps(rng.bit_generator.state) if rng is not None else ""}
    save_tensors(out / TRAIN_CHECKPOINT, state)


def _restore(out: Path, run: _Run, config: dict, dataset: Dataset) -> list[dict]:
    """Load checkpoint.pt into the run after checking it belongs to the same run; returns the history."""
    ck = load_tensors(out / TRAIN_CHECKPOINT, "cpu")
    try:
        return _restore_from(out, ck, run, config, dataset)
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError, RecursionError) as e:   # damaged, foreign
        if isinstance(e, MsenasError):
            raise
        raise TrainError(f"{out / TRAIN_CHECKPOINT}: not a checkpoint of this run "
                         f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None


def _restore_from(out: Path, ck: dict, run: _Run, config: dict, dataset: Dataset) -> list[dict]:
    """_restore on a loaded checkpoint; KeyError, TypeError, ... when it is not one written by train()."""
    saved = json.loads(ck["config"])
    for section in ("train", "data", "genome_key", "in_shape", "n_classes"):
        _same(out, section, saved.get(section), config.get(section))
    run.model.load_state_dict(ck["model"])
    run.opt.load_state_dict(ck["optimizer"])
    run.sched.load_state_dict(ck["scheduler"])
    run.scaler.load_state_dict(ck["scaler"])
    rng = augmentation_rng(dataset.train)
    if rng is not None and ck.get("aug_rng"):
        rng.bit_generator.state = json.loads(ck["aug_rng"])
    history = list(ck["history"])
    if [h.get("epoch") if isinstance(h, dict) else None for h in history] != list(range(1, len(history) + 1)):
        raise ValueError("history: expected one record per epoch 1, 2, ...")
    return history


def _same(out: Path, section: str, saved, now) -> None:
    """Raise TrainError naming the fields where a checkpoint's run differs from this one."""
    if isinstance(saved, dict) and isinstance(now, dict):
        ignore = ("device", "amp") if section == "train" else ()
        diff = [f"{section}.{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(saved) | set(now))
                if k not in ignore and saved.get(k) != now.get(k)]
    else:
        diff = [] if saved == now else [f"{section}: {saved!r} -> {now!r}"]
    if diff:
        raise TrainError(f"resume: {out / TRAIN_CHECKPOINT} belongs to another run ({'; '.join(diff)})")


def _epoch_line(r: dict, epochs: int) -> str:
    return (f"epoch {r['epoch']}/{epochs}: train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f} | "
            f"test loss {r['test_loss']:.4f} acc {r['test_acc']:.4f} | {r['spikes']:.4g} spikes/sample, "
            f"{r['energy_pj'] / 1e6:.4g} uJ/sample | "
            f"{r['epoch_time']:.1f} s")
