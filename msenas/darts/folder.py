"""The MA-DARTS run folder: config.json, alphas.json, nos.jsonl, genome.json, checkpoint.pt.

Every file is rewritten whole and atomically after each epoch, so a resumed run
never duplicates lines. The checkpoint holds plain state dicts and JSON
strings only: it loads with ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from msenas.atomic import atomic_write_text
from msenas.darts.config import DartsConfig
from msenas.darts.derive import alphas_summary, derive_genome, uniform_deviation, uniform_warning
from msenas.darts.supernet import edge_list
from msenas.errors import MsenasError
from msenas.genome import io as genome_io
from msenas.rundir import ALPHAS, GENOME, NOS, RESULT_SCHEMA, TRAIN_CHECKPOINT, write_json
from msenas.train.result import load_tensors, save_tensors

SCHEMA_VERSION = RESULT_SCHEMA
CHECKPOINT = TRAIN_CHECKPOINT


class DartsRunError(MsenasError, RuntimeError):
    """A run folder that cannot start or resume (clash, missing or foreign checkpoint)."""


def check_folder(out: Path, resume: bool) -> None:
    """Refuse to overwrite a run, or to resume one that is not there."""
    has_ckpt = (out / CHECKPOINT).is_file()
    if resume and not has_ckpt:
        raise DartsRunError(f"resume: no {CHECKPOINT} in {out} (run msenas darts without --resume first)")
    if not resume and has_ckpt:
        raise DartsRunError(f"{out} already holds a darts run ({CHECKPOINT}); use --resume or another --out")


def alpha_entry(epoch: int, op_weights: dict[str, torch.Tensor]) -> dict:
    """One alphas.json history entry: the softmaxed alphas after `epoch` epochs (0 = initial)."""
    return {"epoch": epoch, **{k: w.detach().cpu().tolist() for k, w in op_weights.items()}}


def write_epoch(out: Path, cfg: DartsConfig, history: list[dict], alpha_history: list[dict],
                op_weights: dict[str, torch.Tensor], info, alpha_steps: int = 0) -> None:
    """alphas.json, nos.jsonl and the derived genome.json after an epoch (with a warning if alphas are near uniform)."""
    write_json(out / ALPHAS, {"schema_version": SCHEMA_VERSION, "ops": list(cfg.ops),
                              "edges": [list(e) for e in edge_list(cfg.n_nodes)], "history": alpha_history})
    atomic_write_text(out / NOS, "".join(json.dumps(r) + "\n" for r in history))
    last = history[-1]
    warning = uniform_warning(op_weights, alpha_steps)
    genome_io.save(derive_genome(op_weights, cfg), out / GENOME, alphas=alphas_summary(op_weights, cfg),
                   search={"method": "ma-darts", "epoch": last["epoch"], "epochs": cfg.epochs,
                           "valid_acc": last["valid_acc"], "order": cfg.order, "T": cfg.T, "alpha_steps": alpha_steps,
                           "alpha_deviation": round(uniform_deviation(op_weights), 6),
                           **({"warnings": [warning]} if warning else {})},
                   dataset=info.name, in_shape=list(info.in_shape), n_classes=info.n_classes)


def save_checkpoint(out: Path, state: dict, history: list[dict], alpha_history: list[dict], config: dict,
                    aug_rng: np.random.Generator | None) -> None:
    """checkpoint.pt: model and optimiser state dicts, histories, config and the augmentation RNG."""
    save_tensors(out / CHECKPOINT, {
        "schema_version": SCHEMA_VERSION, "epoch": history[-1]["epoch"], **state,
        "history": json.dumps(history), "alpha_history": json.dumps(alpha_history),
        "config": json.dumps(config),
        "aug_rng": json.dumps(aug_rng.bit_generator.state) if aug_rng is not None else ""})


def load_checkpoint(out: Path, config: dict, aug_rng: np.random.Generator | None) -> dict:
    """Read checkpoint.pt after checking it belongs to this run; restores the augmentation RNG."""
    ck = load_tensors(out / CHECKPOINT, "cpu")
    saved = json.loads(ck["config"])
    diff = _diff(saved, config)
    if diff:
        raise DartsRunError(f"resume: {out / CHECKPOINT} belongs to another run ({'; '.join(diff)})")
    if aug_rng is not None and ck.get("aug_rng"):
        aug_rng.bit_generator.state = json.loads(ck["aug_rng"])
    return {**ck, "history": json.loads(ck["history"]), "alpha_history": json.loads(ck["alpha_history"])}


def _diff(saved: dict, now: dict, prefix: str = "") -> list[str]:
    """Fields that differ between two configs (device, precision and thread count may change on resume)."""
    out = []
    for k in sorted(set(saved) | set(now)):
        a, b = saved.get(k), now.get(k)
        if k in ("device", "amp", "torch_threads", "resolved"):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += _diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out


def read_alphas(out: str | Path) -> dict:
    """alphas.json of a run folder (DartsRunError when missing or unreadable)."""
    return _read_json(Path(out) / ALPHAS)


def read_nos(out: str | Path) -> list[dict]:
    """The per-epoch records of nos.jsonl (DartsRunError when missing or unreadable)."""
    p = Path(out) / NOS
    try:
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        raise DartsRunError(f"{p}: cannot read ({e})") from None


def _read_json(p: Path):
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DartsRunError(f"{p}: cannot read ({e})") from None
