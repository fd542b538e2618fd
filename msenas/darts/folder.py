"""The MA-DARTS run folder: config.json, alphas.json, nos.jsonl, genome.json, checkpoint.pt.

Every file is rewritten whole and atomically after each epoch, so a resumed run
never duplicates lines. checkpoint.pt is msenas.train.loop's, as a training
run's: plain state dicts and JSON strings (here the histories) only, so it loads
with ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from msenas.atomic import atomic_write_text
from msenas.darts.config import DartsConfig
from msenas.darts.derive import alphas_summary, derive_genome, uniform_deviation, uniform_warning
from msenas.darts.supernet import edge_list
from msenas.errors import MsenasError
from msenas.genome import io as genome_io
from msenas.rundir import ALPHAS, GENOME, NOS, RESULT_SCHEMA, write_json

SCHEMA_VERSION = RESULT_SCHEMA


class DartsRunError(MsenasError, RuntimeError):
    """A run folder that cannot start or resume (clash, missing or foreign checkpoint)."""


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
