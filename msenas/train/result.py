"""The result folder: weights.pt, genome.json, metrics.json, config.json (+ checkpoint.pt).

Every file is written atomically. Tensors are saved as plain state dicts and
read back with ``torch.load(..., weights_only=True)``: never arbitrary pickles.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import torch

from msenas.atomic import atomic_write_bytes, atomic_write_text
from msenas.errors import MsenasError

SCHEMA_VERSION = 1
WEIGHTS, GENOME, METRICS, CONFIG, CHECKPOINT = "weights.pt", "genome.json", "metrics.json", "config.json", "checkpoint.pt"


class ResultError(MsenasError, ValueError):
    """A result folder that is missing, incomplete or unreadable; names the file."""


def save_tensors(path: str | os.PathLike, obj: Any) -> Path:
    """torch.save to memory, then an atomic write (temp file, fsync, replace)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_tensors(path: str | os.PathLike, device: str | torch.device = "cpu") -> Any:
    """torch.load with weights_only=True; a missing or bad file raises ResultError."""
    p = Path(path)
    if not p.is_file():
        raise ResultError(f"{p}: missing (expected a file written by msenas train)")
    try:
        return torch.load(p, map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise ResultError(f"{p}: cannot load with weights_only=True ({type(e).__name__}: {str(e).splitlines()[0]})") from None


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Pretty JSON, written atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file of a result folder; ResultError names the file."""
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise ResultError(f"{p}: missing (is {p.parent} a folder written by msenas train?)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise ResultError(f"{p}: cannot read ({e})") from None


def final_metrics(history: list[dict], params: int, completed: bool) -> dict | None:
    """The final block of metrics.json, from the last epoch's evaluation (None while running)."""
    if not completed or not history:
        return None
    last = history[-1]
    keys = ("test_acc", "test_loss", "spikes", "spikes_per_cell", "sops")
    return {**{k: last[k] for k in keys}, "params": params, "epochs": last["epoch"],
            "train_time": sum(h["epoch_time"] for h in history)}


def write_metrics(out_dir: Path, history: list[dict], params: int, epochs: int) -> dict:
    """metrics.json: per-epoch history and, once every epoch is done, the final figures."""
    done = bool(history) and history[-1]["epoch"] >= epochs
    metrics = {"schema_version": SCHEMA_VERSION, "completed_epochs": history[-1]["epoch"] if history else 0,
               "epochs": epochs, "history": history, "final": final_metrics(history, params, done)}
    write_json(out_dir / METRICS, metrics)
    return metrics


def result_folder(out_dir: str | os.PathLike) -> Path:
    """The folder as a Path; ResultError when it does not exist."""
    out = Path(out_dir)
    if not out.is_dir():
        raise ResultError(f"{out}: no such result folder")
    return out


def load_result(out_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """(model in eval mode, genome, config.json dict) of a result folder."""
    from msenas.genome import io as genome_io
    from msenas.nn.network import build_network

    out = result_folder(out_dir)
    config = read_json(out / CONFIG)
    try:
        in_shape, n_classes, T = tuple(config["in_shape"]), int(config["n_classes"]), int(config["train"]["T"])
    except (KeyError, TypeError, ValueError) as e:
        raise ResultError(f"{out / CONFIG}: missing or bad field {e}") from None
    genome = genome_io.load(out / GENOME)
    model = build_network(genome, in_shape, n_classes, T)
    state = load_tensors(out / WEIGHTS, "cpu")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ResultError(f"{out / WEIGHTS}: does not fit genome.json ({str(e).splitlines()[0]})") from None
    return model.to(device).eval(), genome, config


def evaluate_result(out_dir: str | os.PathLike, data_dir: str | None = None, *, dataset=None,
                    device: str = "auto", batch_size: int | None = None, progress: bool = False) -> dict:
    """Load a result folder and evaluate it on its dataset's test split (data_dir overrides the saved one)."""
    from msenas.train.config import DataSpec, TrainConfig
    from msenas.train.evaluation import evaluate, resolve_device

    config = read_json(result_folder(out_dir) / CONFIG)
    cfg = TrainConfig.from_dict(config.get("train", {}), where="config.json train.")
    dev, amp = resolve_device(cfg.replace(device=device, amp="auto"))
    model, _, config = load_result(out_dir, dev)
    if dataset is None:
        spec = DataSpec.from_dict(config.get("data"))
        if data_dir is not None:
            spec = DataSpec(spec.name, str(data_dir), spec.seed, spec.options)
        dataset = spec.build(cfg.T)
    if tuple(dataset.info.in_shape) != tuple(config["in_shape"]) or dataset.info.n_classes != config["n_classes"]:
        raise ResultError(f"{out_dir}: trained for input {tuple(config['in_shape'])} and {config['n_classes']} classes, "
                          f"but {dataset.info.name} gives {dataset.info.in_shape} and {dataset.info.n_classes}")
    return evaluate(model, dataset.test, T=cfg.T, batch_size=batch_size or cfg.batch_size, device=dev,
                    amp=amp, progress=progress)
