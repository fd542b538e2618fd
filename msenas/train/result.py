"""The result folder: weights.pt, genome.json, metrics.json, config.json (+ checkpoint.pt).

Every file is written atomically. Tensors are saved as plain state dicts and
read back with ``torch.load(..., weights_only=True)``: never arbitrary pickles.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from msenas.atomic import atomic_write_bytes
from msenas.errors import MsenasError, describe
from msenas.rundir import CONFIG, GENOME, METRICS, RESULT_SCHEMA, WEIGHTS, write_json


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
        raise ResultError(f"{p}: cannot load with weights_only=True "
                          f"({describe(e)})") from None


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file of a result folder; ResultError names the file."""
    from msenas.config import read_json as _read

    p = Path(path)
    if not p.is_file():
        raise ResultError(f"{p}: missing (is {p.parent} a folder written by msenas train?)")
    return _read(p, "result file", ResultError)


def final_metrics(history: list[dict], params: int, completed: bool,
                  energy_dense_pj: float | None = None) -> dict | None:
    """The final block of metrics.json, from the last epoch's evaluation (None while running)."""
    if not completed or not history:
        return None
    last = history[-1]
    keys = ("test_acc", "test_loss", "spikes", "spikes_per_cell", "firing_rate_per_cell", "sops", "mac_ops",
            "energy_pj")
    final = {**{k: last[k] for k in keys if k in last}, "params": params, "epochs": last["epoch"],
             "train_time": sum(h["epoch_time"] for h in history)}
    if energy_dense_pj is not None:
        final["energy_dense_pj"] = energy_dense_pj
    return final


def write_metrics(out_dir: Path, history: list[dict], params: int, epochs: int,
                  energy_dense_pj: float | None = None) -> dict:
    """metrics.json: per-epoch history and, once every epoch is done, the final figures (energy in pJ per sample)."""
    done = bool(history) and history[-1]["epoch"] >= epochs
    metrics = {"schema_version": RESULT_SCHEMA, "completed_epochs": history[-1]["epoch"] if history else 0,
               "epochs": epochs, "history": history,
               "final": final_metrics(history, params, done, energy_dense_pj)}
    write_json(out_dir / METRICS, metrics)
    return metrics


def result_folder(out_dir: str | os.PathLike) -> Path:
    """The folder as a Path; ResultError when it does not exist."""
    out = Path(out_dir)
    if not out.is_dir():
        raise ResultError(f"{out}: no such result folder")
    return out


def load_result(out_dir: str | os.PathLike, device: str | torch.device = "cpu", batch_size: int = 1):
    """(model in eval mode, genome, config.json dict) of a result folder (refused when it cannot fit in memory)."""
    from msenas.genome import io as genome_io
    from msenas.memory import check_memory
    from msenas.nn.network import build_network

    out = result_folder(out_dir)
    config = read_json(out / CONFIG)
    in_shape, n_classes, T = _shapes(out / CONFIG, config)
    genome = genome_io.load(out / GENOME)
    check_memory(genome, in_shape, n_classes, batch=batch_size, T=T, training=False, device=torch.device(device),
                 what="evaluate")
    model = build_network(genome, in_shape, n_classes, T)
    state = load_tensors(out / WEIGHTS, "cpu")
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ResultError(f"{out / WEIGHTS}: does not fit genome.json ({describe(e)})") from None
    return model.to(device).eval(), genome, config


def _shapes(path: Path, config: Any) -> tuple[tuple[int, int, int], int, int]:
    """(in_shape, n_classes, T) of a result's config.json; ResultError names a missing or bad field."""
    def positive(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    try:
        in_shape, n_classes, T = config["in_shape"], config["n_classes"], config["train"]["T"]
    except (KeyError, TypeError) as e:
        raise ResultError(f"{path}: missing field {e}") from None
    for name, ok in (("in_shape", isinstance(in_shape, list) and len(in_shape) == 3 and all(map(positive, in_shape))),
                     ("n_classes", positive(n_classes)), ("train.T", positive(T))):
        if not ok:
            need = "three positive integers" if name == "in_shape" else "an integer >= 1"
            raise ResultError(f"{path}: {name} must be {need}")
    return tuple(in_shape), n_classes, T


def evaluate_result(out_dir: str | os.PathLike, data_dir: str | None = None, *, dataset=None,
                    device: str = "auto", batch_size: int | None = None, progress: bool = False) -> dict:
    """Load a result folder and evaluate it on its dataset's test split (data_dir overrides the saved one)."""
    from msenas.config import DataConfig
    from msenas.runtime import evaluate_model, resolve_device, resolve_precision
    from msenas.train.config import TrainConfig

    config = read_json(result_folder(out_dir) / CONFIG)
    if not isinstance(config, dict):
        raise ResultError(f"{Path(out_dir) / CONFIG}: expected a JSON object")
    cfg = TrainConfig.from_dict(config.get("train", {}), where="config.json train.")
    dev = resolve_device(device, ResultError, "--device")
    precision = resolve_precision(dev, "auto" if cfg.amp == "on" else cfg.amp)   # the training's, on this device
    model, _, config = load_result(out_dir, dev, batch_size or cfg.batch_size)
    if dataset is None:
        data = DataConfig.from_record(config.get("data"), f"{Path(out_dir) / CONFIG} data")
        if data_dir is not None:
            data = data.replace(data_dir=str(data_dir))
        dataset = data.build(cfg.T)
    if tuple(dataset.info.in_shape) != tuple(config["in_shape"]) or dataset.info.n_classes != config["n_classes"]:
        raise ResultError(f"{out_dir}: trained for input {tuple(config['in_shape'])} "
                          f"and {config['n_classes']} classes, "
                          f"but {dataset.info.name} gives {dataset.info.in_shape} and {dataset.info.n_classes}")
    ev = evaluate_model(model, dataset.test, T=cfg.T, batch_size=batch_size or cfg.batch_size, device=dev,
                        precision=precision, progress=progress, energy=cfg.energy)
    return {"test_acc": ev.pop("acc"), "test_loss": ev.pop("loss"), **ev}
