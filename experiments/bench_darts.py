"""Benchmark MA-DARTS attention variants with the same budget: search, derive, train the derived genome.

For every attention setting and seed: an MA-DARTS search (msenas.darts.search),
then the derived genome trained from scratch with msenas.train.train. Writes
one JSON line per run to OUT/results.jsonl and prints a Markdown table.

  python experiments/bench_darts.py                         # digits preset, CPU
  python experiments/bench_darts.py --preset cifar10 --data-dir DATA --device cuda   # MA-DARTS setting (GPU)

Presets: `digits` is a small CPU budget; `cifar10` is the published setting
(search with DARTS defaults, final network with 64 channels and T=2;
MA-DARTS reports 94.40%).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

PRESETS = {
    "digits": {
        "dataset": "digits", "data": {},
        "darts": dict(epochs=6, n_cells=4, channels=8, n_nodes=3, batch_size=64, T=2, w_optimizer="adamw",
                      w_lr=3e-3, w_lr_min=1e-4, w_weight_decay=1e-3, alpha_lr=3e-3),
        "train": dict(epochs=10, batch_size=64, T=2, lr=3e-3),
        "final_channels": None,
    },
    "cifar10": {
        "dataset": "cifar10", "data": {},
        "darts": dict(epochs=50, n_cells=8, channels=16, n_nodes=4, batch_size=64, T=2),
        "train": dict(epochs=600, batch_size=128, T=2, lr=1e-3),
        "final_channels": 64,
    },
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="digits")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--attentions", default="none,eca,cbam,temporal", help="comma-separated attention specs")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (search and training)")
    p.add_argument("--search-epochs", type=int, default=None)
    p.add_argument("--train-epochs", type=int, default=None)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--set", dest="darts_set", action="append", default=[], metavar="KEY=VALUE",
                   help="darts option override, repeatable")
    p.add_argument("--train-set", action="append", default=[], metavar="KEY=VALUE",
                   help="training option override, repeatable")
    p.add_argument("--out", default="runs/bench_darts")
    return p.parse_args(argv)


def configs(args: argparse.Namespace, attention: str, seed: int):
    """(DartsConfig, TrainConfig) of one run."""
    from msenas.darts import DartsConfig
    from msenas.train import TrainConfig, parse_overrides

    preset = PRESETS[args.preset]
    darts = {**preset["darts"], **parse_overrides(args.darts_set)[0], "attention": attention, "seed": seed,
             "device": args.device}
    train = {**preset["train"], **parse_overrides(args.train_set)[0], "seed": seed, "device": args.device}
    if args.search_epochs is not None:
        darts["epochs"] = args.search_epochs
    if args.train_epochs is not None:
        train["epochs"] = args.train_epochs
    return DartsConfig.from_dict(darts), TrainConfig.from_dict(train)


def run_one(args, dataset, attention: str, seed: int, out: Path) -> dict:
    """Search, derive, train; the figures of one (attention, seed) run."""
    from msenas.darts import search
    from msenas.genome.io import key
    from msenas.train import train

    dcfg, tcfg = configs(args, attention, seed)
    folder = out / f"{attention.replace('+', '-')}-s{seed}"
    t0 = time.perf_counter()
    res = search(dataset, dcfg, folder / "search", progress=False)
    t1 = time.perf_counter()
    genome = res.genome
    if PRESETS[args.preset]["final_channels"]:
        genome = dataclasses.replace(genome, channels=PRESETS[args.preset]["final_channels"])
    metrics = train(genome, dataset, tcfg, folder / "train", progress=False)
    last, final = res.history[-1], metrics["final"]
    ops = sorted({e.op.name for c in genome.cells for e in c.motifs[0].edges})
    return {"attention": attention, "seed": seed, "search_time_s": round(t1 - t0, 1),
            "supernet_valid_acc": last["valid_acc"], "supernet_train_acc": last["train_acc"],
            "supernet_valid_spikes": last["valid_nos"]["spikes"],
            "supernet_valid_spikes_per_cell": [round(v, 1) for v in last["valid_nos"]["spikes_per_cell"]],
            "supernet_train_spikes_per_cell": [round(v, 1) for v in last["train_nos"]["spikes_per_cell"]],
            "genome": key(genome), "ops": ops, "params": final["params"], "test_acc": final["test_acc"],
            "test_spikes": final["spikes"], "train_time_s": round(final["train_time"], 1),
            "darts": dcfg.to_dict(), "train": tcfg.to_dict()}


def table(rows: list[dict]) -> str:
    """Markdown table of the runs."""
    head = ("| attention | seed | supernet valid acc | supernet valid NoS/sample (per cell) | derived test acc | "
            "derived NoS/sample | params | search s | train s |\n|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['attention']} | {r['seed']} | {r['supernet_valid_acc']:.3f} | {r['supernet_valid_spikes']:.0f} "
             f"({', '.join(f'{v:.0f}' for v in r['supernet_valid_spikes_per_cell'])}) | {r['test_acc']:.3f} | "
             f"{r['test_spikes']:.0f} | {r['params']:,} | {r['search_time_s']:.0f} | {r['train_time_s']:.0f} |"
             for r in rows]
    return "\n".join([head, *lines])


def main(argv=None) -> int:
    import torch

    from msenas.data import get_dataset

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    T = configs(args, "none", 0)[0].T
    dataset = get_dataset(preset["dataset"], args.data_dir, T=T, **preset["data"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for attention in args.attentions.split(","):
            row = run_one(args, dataset, attention, seed, out)
            rows.append(row)
            with open(out / "results.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{attention} seed {seed}: supernet valid {row['supernet_valid_acc']:.3f}, derived test "
                  f"{row['test_acc']:.3f}, {row['test_spikes']:.0f} spikes/sample", file=sys.stderr, flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
