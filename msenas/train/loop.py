"""The epoch loop that training and MA-DARTS share (a template method, as evosax's ask/tell base).

EpochLoop owns what both runs do alike: the output-folder check and RunLock,
the epochs, a progress bar over the steps of each, the weight step (mixed
precision through msenas.runtime.resolve_precision, float16 loss scaling,
network state reset after every batch), the learning-rate schedule (per step
or per epoch), the per-epoch atomic, data-only checkpoint (checkpoint.pt) and
resuming from it. A subclass fills in its run's objects, its batches and step,
its epoch record (evaluation included), the files it writes after each epoch
and its result: train.trainer.Trainer, darts.loop.DartsLoop.
"""
from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, ContextManager, Iterable

import torch
from spikingjelly.activation_based import functional
from torch import nn

from msenas.config import Config, DataConfig
from msenas.data import Dataset, augmentation_rng, to_time_major
from msenas.errors import MsenasError
from msenas.outguard import check_folder
from msenas.rundir import CONFIG, RESULT_SCHEMA, TRAIN_CHECKPOINT, RunLock, write_json
from msenas.runtime import Precision, seeded, stream_seed
from msenas.train.result import load_tensors, save_tensors

RESUME_ERRORS = (KeyError, TypeError, ValueError, AttributeError, RuntimeError, RecursionError)   # damaged, foreign
TORCH_STREAM = 0x70C4   # stream_seed(seed, epoch, TORCH_STREAM): the torch RNG an epoch's dropout draws from
KEEP_ON_RESUME = ("device", "amp", "torch_threads", "resolved")   # config fields a resumed run may change


@dataclass
class Run:
    """The live objects of one run: the model, its weights' optimiser, schedule and loss scaler, where it runs."""

    model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler                  # float16 loss scaling (a pass-through otherwise)
    device: torch.device
    precision: Precision
    steps: int = 0                                # steps per epoch
    sched_per_step: bool = True                   # False: the schedule moves once per epoch


def weight_step(run: Run, batch, loss_fn: Callable, *, params: list | None = None, clip: float = 0.0,
                monitor: ContextManager | None = None) -> tuple[float, int]:
    """One update of the weights (`params`, default all) on batch = (x [T,B,C,H,W], y [B]); (loss, correct)."""
    x, y = batch
    with monitor or contextlib.nullcontext(), run.precision.autocast():
        logits = run.model(x)                                           # [T,B,K]
    loss = loss_fn(logits, y)
    run.opt.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward(inputs=params)
    if clip > 0:
        run.scaler.unscale_(run.opt)                                    # clip the true gradients
        nn.utils.clip_grad_norm_(params, clip)
    run.scaler.step(run.opt)
    run.scaler.update()
    functional.reset_net(run.model)                                     # no state leaks into the next batch
    return float(loss.detach()), int((logits.detach().float().mean(0).argmax(1) == y).sum())


def cpu_state(model: nn.Module) -> dict:
    """The model's state dict, detached, on the CPU."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def config_diff(saved, now, prefix: str = "") -> list[str]:
    """Fields that differ between two run configs, nested names joined by '.' (KEEP_ON_RESUME left out)."""
    if not (isinstance(saved, dict) and isinstance(now, dict)):
        return [] if saved == now else [f"{prefix.rstrip('.')}: {saved!r} -> {now!r}"]
    return [d for k in sorted(set(saved) | set(now)) if k not in KEEP_ON_RESUME
            for d in config_diff(saved.get(k), now.get(k), f"{prefix}{k}.")]


class EpochLoop:
    """One run into a folder, epoch by epoch, resumable; subclasses fill in the hooks below `run`."""

    kind: ClassVar[str]                       # the folder's msenas.outguard kind
    command: ClassVar[str]                    # RunLock's owner, and how to start a run
    label: ClassVar[str]                      # the progress bar's label
    holds: ClassVar[str]                      # what a folder with a checkpoint holds, for the clash message
    error: ClassVar[type[MsenasError]]        # a folder clash or a foreign checkpoint
    resume_sections: ClassVar[tuple[str, ...] | None] = None   # config.json sections that must match (None: all)
    state_names: ClassVar[dict[str, str]] = {                   # checkpoint key -> Run field
        "model": "model", "optimizer": "opt", "scheduler": "sched", "scaler": "scaler"}

    def __init__(self, dataset: Dataset, cfg: Config, *, progress: bool = True, data: DataConfig | None = None,
                 on_epoch_end: Callable[[dict], None] | None = None):
        self.dataset, self.cfg, self.progress, self.on_epoch_end = dataset, cfg, progress, on_epoch_end
        self.data = data or DataConfig(dataset.info.name, seed=0)

    def run(self, out_dir: str | Path, resume: bool = False):
        """Check and lock the folder, start or resume, run the remaining epochs; the subclass's result."""
        out = check_folder(out_dir, self.kind)
        with RunLock(out, self.command), self.context():
            self._check_folder(out, resume)
            self.run_ = self.start()
            self.config = self.run_config()
            if resume:
                history = self._restore(out)
            else:
                history = []
                self.begin(out)
                write_json(out / CONFIG, self.config)
            for epoch in range(len(history), self.cfg.epochs):
                with seeded(stream_seed(self.cfg.seed, epoch, TORCH_STREAM)):   # dropout & co: reproducible, resumable
                    history.append(self.epoch(epoch))
                self.save(out, history)
                if self.progress:
                    from tqdm import tqdm

                    tqdm.write(self.line(history[-1]), file=sys.stderr)
                if self.on_epoch_end is not None:
                    self.on_epoch_end(history[-1])
            return self.finish(out, history)

    # ------------------------------------------------------------------ hooks

    def context(self) -> ContextManager:
        """What the whole run holds besides the lock (MA-DARTS: its torch thread count)."""
        return contextlib.nullcontext()

    def start(self) -> Run:
        """The run's live objects, steps per epoch set."""
        raise NotImplementedError

    def run_config(self) -> dict:
        """config.json: the resolved config, the data recipe and the shapes."""
        raise NotImplementedError

    def begin(self, out: Path) -> None:
        """Files a new run writes before config.json."""

    def batches(self, epoch: int) -> Iterable:
        """The epoch's batches (seeded by the epoch)."""
        raise NotImplementedError

    def step(self, batch) -> tuple[float, int, int]:
        """One step on a batch: (loss, correct predictions, samples)."""
        raise NotImplementedError

    def check_loss(self, loss_sum: float, n: int) -> None:
        """Raise when an epoch saw no sample or diverged."""

    def epoch(self, epoch: int) -> dict:
        """Train epoch `epoch` (0-based) and evaluate; the history record."""
        raise NotImplementedError

    def state(self, history: list[dict]) -> dict:
        """The checkpoint's history and state dicts, each under its state_names key (plain values and tensors)."""
        run = self.run_
        return {"history": history, **{key: cpu_state(run.model) if attr == "model" else getattr(run, attr).state_dict()
                                       for key, attr in self.state_names.items()}}

    def load_state(self, ck: dict) -> list[dict]:
        """Load a checkpoint's state dicts into the run; its history."""
        for key, attr in self.state_names.items():
            if attr != "scaler" or ck.get(key):     # an empty loss scale: saved without float16 loss scaling
                getattr(self.run_, attr).load_state_dict(ck[key])
        return list(ck["history"])

    def save(self, out: Path, history: list[dict]) -> None:
        """The files of an epoch, checkpoint.pt (save_checkpoint) among them, each written atomically."""
        raise NotImplementedError

    def line(self, record: dict) -> str:
        """The one-line summary of an epoch's record."""
        raise NotImplementedError

    def finish(self, out: Path, history: list[dict]):
        """The run's result, once every epoch is done."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared parts

    def train_epoch(self, epoch: int) -> tuple[float, float, float, int]:
        """At most run.steps steps over self.batches(epoch), with a progress bar; mean loss, accuracy, the last
        step's learning rate and the samples seen. The schedule moves after every step or after the epoch."""
        from tqdm import tqdm

        run = self.run_
        run.model.train()
        loss_sum, correct, n, lr = 0.0, 0, 0, run.opt.param_groups[0]["lr"]
        with tqdm(total=run.steps, desc=f"{self.label} {epoch + 1}/{self.cfg.epochs}", file=sys.stderr,
                  disable=not self.progress, leave=False, dynamic_ncols=True) as bar:
            for i, batch in enumerate(self.batches(epoch)):
                if i >= run.steps:
                    break
                loss, right, size = self.step(batch)
                lr = run.opt.param_groups[0]["lr"]
                if run.sched_per_step:
                    run.sched.step()
                loss_sum, correct, n = loss_sum + loss * size, correct + right, n + size
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / n:.3f}", acc=f"{correct / n:.3f}")
        if not run.sched_per_step:
            run.sched.step()
        self.check_loss(loss_sum, n)
        return loss_sum / max(1, n), correct / max(1, n), lr, n

    def on_device(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A loader's batch as (x [T,B,C,H,W], y [B]) on the run's device."""
        device = self.run_.device
        return to_time_major(xb, self.cfg.T).to(device, non_blocking=True), yb.to(device, non_blocking=True)

    def save_checkpoint(self, out: Path, history: list[dict]) -> None:
        """checkpoint.pt: state dicts, history, config and the augmentation RNG, all weights_only-loadable."""
        rng = augmentation_rng(self.dataset.train)
        save_tensors(out / TRAIN_CHECKPOINT, {
            "schema_version": RESULT_SCHEMA, "epoch": history[-1]["epoch"], **self.state(history),
            "config": json.dumps(self.config),
            "aug_rng": json.dumps(rng.bit_generator.state) if rng is not None else ""})

    def _check_folder(self, out: Path, resume: bool) -> None:
        """Refuse to overwrite a run, or to resume one that is not there."""
        has_ckpt = (out / TRAIN_CHECKPOINT).is_file()
        if resume and not has_ckpt:
            raise self.error(f"resume: no {TRAIN_CHECKPOINT} in {out} (run {self.command} without --resume first)")
        if not resume and has_ckpt:
            raise self.error(f"{out} already holds {self.holds} ({TRAIN_CHECKPOINT}); use --resume or another --out")

    def _restore(self, out: Path) -> list[dict]:
        """Load checkpoint.pt into the run after checking it belongs to this run; the history."""
        path = out / TRAIN_CHECKPOINT
        ck = load_tensors(path, "cpu")
        try:
            saved, now = json.loads(ck["config"]), self.config
            if not isinstance(saved, dict):
                raise ValueError("config: not a JSON object")
            if self.resume_sections is not None:
                saved, now = ({k: c.get(k) for k in self.resume_sections} for c in (saved, now))
            diff = config_diff(saved, now)
            if diff:
                raise self.error(f"resume: {path} belongs to another run ({'; '.join(diff)})")
            history = self.load_state(ck)
            rng = augmentation_rng(self.dataset.train)
            if rng is not None and ck.get("aug_rng"):
                rng.bit_generator.state = json.loads(ck["aug_rng"])
            if [h.get("epoch") if isinstance(h, dict) else None for h in history] != list(range(1, len(history) + 1)):
                raise ValueError("history: expected one record per epoch 1, 2, ...")
            return history
        except RESUME_ERRORS as e:
            if isinstance(e, MsenasError):
                raise
            raise self.error(f"{path}: not a checkpoint of this run "
                             f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None

