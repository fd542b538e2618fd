"""msenas darts --dataset NAME: MA-DARTS search; writes alphas, NoS per cell and the derived genome."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from msenas.commands import add_run_options, settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, metavar="TOML",
                   help="preset with [darts] options and a [data] table (experiments/darts-digits-cpu.toml: "
                        "minutes on a CPU); command-line options override it")
    p.add_argument("--dataset", default=None, help="dataset name (digits, digits-dvs, npz, cifar10, ...; "
                                                   "default: the preset's, else digits; another than the "
                                                   "preset's drops its [data] table)")
    p.add_argument("--data-dir", default=None, help="dataset folder (not needed for digits, digits-dvs)")
    p.add_argument("--epochs", type=int, default=None,
                   help="search epochs (default: the preset's, else 50; the defaults are DARTS' CIFAR-10 "
                        "setting, sized for a GPU)")
    p.add_argument("--attention", default=None,
                   help="attention on cell outputs: none, eca, cbam, temporal, or parts joined by '+' (default none)")
    p.add_argument("--out", default=None, help="run folder (default runs/darts-<dataset>-<attention>)")
    add_run_options(p, "darts", "search option as darts.KEY=VALUE (darts.n_cells=5, darts.channels=8, "
                    "darts.n_nodes=3, darts.T=2, darts.order=second, darts.w_optimizer=adamw, darts.max_batches=20, "
                    "darts.device=cuda, darts.torch_threads=1, ...; the keys of the preset's [darts] table)")


def read_preset(path: str) -> tuple[dict, dict]:
    """([darts] fields, [data] table) of a preset TOML file; unknown tables, keys and bad values are named."""
    from msenas.config import ConfigError, DataConfig, read_toml

    preset = read_toml(path)
    unknown = sorted(set(preset) - {"darts", "data"})
    if unknown:
        raise ConfigError(f"{path}: unknown table {unknown[0]!r}; a darts preset has [darts] and [data]")
    darts, data = preset.get("darts", {}), preset.get("data", {})
    if not isinstance(darts, dict):
        raise ConfigError(f"{path}: darts: expected a table, got {darts!r}")
    try:
        data = DataConfig.from_dict(data).to_dict() if data else {}
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return darts, data


def resolve(args: argparse.Namespace):
    """(DartsConfig, DataConfig) from the preset, then --set, --epochs, --attention, --dataset and --data-dir."""
    from msenas.commands.train import data_from_cli
    from msenas.darts import DartsConfig

    darts, data = read_preset(args.config) if args.config else ({}, {})
    if args.dataset not in (None, data.get("dataset")):     # another dataset: the preset's [data] is not its
        data = {}
    fields, data_fields = settings(args.overrides, "darts")
    fields = {**darts, **fields}
    if args.epochs is not None:
        fields["epochs"] = args.epochs
    if args.attention is not None:
        fields["attention"] = args.attention
    data_fields = {**({"seed": data["seed"]} if data.get("seed") is not None else {}), **data.get("options", {}),
                   **data_fields}
    return DartsConfig.from_dict(fields), data_from_cli(args.dataset or data.get("dataset", "digits"),
                                                        args.data_dir or data.get("data_dir"), data_fields)


def run(args: argparse.Namespace) -> int:
    from msenas.darts import search
    from msenas.genome.io import key

    cfg, data = resolve(args)
    ds = data.build(cfg.T)
    out = Path(args.out or f"runs/darts-{data.dataset}-{cfg.attention.replace('+', '-')}")
    result = search(ds, cfg, out, resume=args.resume, progress=not args.quiet, data=data)
    last = result.history[-1] if result.history else None
    if last is not None:
        cells = ", ".join(f"{s:.4g}" for s in last["valid_nos"]["spikes_per_cell"])
        print(f"supernet valid acc {last['valid_acc']:.4f}, valid spikes/sample {last['valid_nos']['spikes']:.4g} "
              f"(per cell: {cells})")
    print(f"derived genome {key(result.genome)} (attention {cfg.attention}): {out / 'genome.json'}")
    for warning in result.warnings:
        print(f"msenas darts: warning: {warning}", file=sys.stderr)
    print(f"run folder: {out}")
    return 0
