"""Benchmark MA-DARTS: attention variants with the same budget (run), and the time of its step pairs (steps).

run    For every attention setting and seed: an MA-DARTS search (msenas.darts.search), then the derived
       genome trained from scratch with msenas.train.train. Each (attention, seed) is one item in
       OUT/items (a rerun skips finished ones); prints a Markdown table.
       Presets: `digits` is a small CPU budget; `cifar10` is the published setting (search with DARTS
       defaults, final network with 64 channels and T=2; MA-DARTS reports 94.40%).
steps  Seconds per step pair (alpha step + weight step) of a darts preset at several torch thread counts:
       for each count, msenas.darts.search for 2 epochs of --steps step pairs (and one validation batch,
       included) on the same seeded batches; the first epoch also pays for first-touch memory.
       The preset options are those of `msenas darts` (--config, --dataset, --data-dir, --set).

  python experiments/bench_darts.py run                         # digits preset, CPU
  python experiments/bench_darts.py run --preset cifar10 --data-dir DATA --device cuda   # MA-DARTS setting (GPU)
  python experiments/bench_darts.py steps --config experiments/darts-digits-cpu.toml --threads 1 2 --steps 5
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

import harness

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


def configs(args: argparse.Namespace, attention: str, seed: int):
    """(DartsConfig, TrainConfig) of one run."""
    from msenas.darts import DartsConfig
    from msenas.train import TrainConfig, parse_overrides

    preset, common = PRESETS[args.preset], {"seed": seed, "device": args.device}
    epochs = lambda n: {"epochs": n} if n is not None else {}  # noqa: E731
    darts = {**preset["darts"], **parse_overrides(args.darts_set)[0], "attention": attention, **common,
             **epochs(args.search_epochs)}
    train = {**preset["train"], **parse_overrides(args.train_set)[0], **common, **epochs(args.train_epochs)}
    return DartsConfig.from_dict(darts), TrainConfig.from_dict(train)


def run_one(args, dataset, attention: str, seed: int, out: Path) -> dict:
    """Search, derive, train; the figures of one (attention, seed) run."""
    from msenas.darts import search
    from msenas.genome.io import key
    from msenas.train import train

    dcfg, tcfg = configs(args, attention, seed)
    folder = out / f"{attention.replace('+', '-')}-s{seed}"
    shutil.rmtree(folder, ignore_errors=True)                 # an item left unfinished starts again
    with harness.timed() as searched:
        res = search(dataset, dcfg, folder / "search", progress=False)
    genome = res.genome
    if PRESETS[args.preset]["final_channels"]:
        genome = dataclasses.replace(genome, channels=PRESETS[args.preset]["final_channels"])
    metrics = train(genome, dataset, tcfg, folder / "train", progress=False)
    last, final = res.history[-1], metrics["final"]
    ops = sorted({e.op.name for c in genome.cells for e in c.motifs[0].edges})
    return {"attention": attention, "seed": seed, "search_time_s": round(searched.wall_s, 1),
            "supernet_valid_acc": last["valid_acc"], "supernet_train_acc": last["train_acc"],
            "supernet_valid_spikes": last["valid_nos"]["spikes"],
            "supernet_valid_spikes_per_cell": [round(v, 1) for v in last["valid_nos"]["spikes_per_cell"]],
            "supernet_train_spikes_per_cell": [round(v, 1) for v in last["train_nos"]["spikes_per_cell"]],
            "genome": key(genome), "ops": ops, "params": final["params"], "test_acc": final["test_acc"],
            "test_spikes": final["spikes"], "train_time_s": round(final["train_time"], 1),
            "darts": dcfg.to_dict(), "train": tcfg.to_dict()}


def table(rows: list[dict]) -> str:
    """Markdown table of the runs."""
    return harness.table(
        ["attention", "seed", "supernet valid acc", "supernet valid NoS/sample (per cell)", "derived test acc",
         "derived NoS/sample", "params", "search s", "train s"],
        [(r["attention"], r["seed"], f"{r['supernet_valid_acc']:.3f}",
          f"{r['supernet_valid_spikes']:.0f} ({', '.join(f'{v:.0f}' for v in r['supernet_valid_spikes_per_cell'])})",
          f"{r['test_acc']:.3f}", f"{r['test_spikes']:.0f}", f"{r['params']:,}", f"{r['search_time_s']:.0f}",
          f"{r['train_time_s']:.0f}") for r in rows])


def run(args: argparse.Namespace) -> list[dict]:
    """Every (attention, seed) run: search, derive, train; one item each."""
    import torch

    from msenas.data import get_dataset

    if args.threads:
        torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    T = configs(args, "none", 0)[0].T
    dataset = get_dataset(preset["dataset"], args.data_dir, T=T, **preset["data"])
    out = Path(args.out)
    items = harness.Items(out)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for attention in args.attentions.split(","):
            row = items.get(harness.slug(attention.replace("+", "-"), f"s{seed}"),
                            lambda: run_one(args, dataset, attention, seed, out))
            rows.append(row)
            print(f"{attention} seed {seed}: supernet valid {row['supernet_valid_acc']:.3f}, derived test "
                  f"{row['test_acc']:.3f}, {row['test_spikes']:.0f} spikes/sample", file=sys.stderr, flush=True)
    harness.emit(table(rows), md=args.md, json_path=args.json, data={"rows": rows})
    return rows


def darts_preset(args: argparse.Namespace):
    """(DartsConfig, DataConfig) of the options as `msenas darts` reads them (its own parser and resolve)."""
    from msenas.commands import darts as command

    p = argparse.ArgumentParser()
    command.add_arguments(p)
    argv = [*(["--config", args.config] if args.config else []), *(["--dataset", args.dataset] if args.dataset else []),
            *(["--data-dir", args.data_dir] if args.data_dir else []), *(f"--set={o}" for o in args.overrides)]
    return command.resolve(p.parse_args(argv))


def steps(args: argparse.Namespace) -> list[dict]:
    """Seconds per step pair at each torch thread count (2 epochs of --steps step pairs each)."""
    from msenas.darts import search

    cfg, data = darts_preset(args)
    ds = data.build(cfg.T)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for threads in args.threads:
            run_cfg = cfg.replace(epochs=2, max_batches=args.steps, max_valid_batches=1, torch_threads=threads,
                                  alpha_warmup_epochs=0)
            res = search(ds, run_cfg, Path(tmp) / f"t{threads}", progress=False)
            for h in res.history:
                rows.append({"threads": threads, "epoch": h["epoch"], "step_pairs": args.steps,
                             "s_per_step_pair": h["epoch_time"] / args.steps})
    harness.emit(harness.table(["threads", "epoch", "step pairs", "s per step pair (one validation batch included)"],
                               [(r["threads"], r["epoch"], r["step_pairs"], f"{r['s_per_step_pair']:.2f}")
                                for r in rows], [True, True, True, True]), json_path=args.json, data={"rows": rows})
    return rows


def main(argv=None):
    p, sub = harness.subcommands(__doc__)
    r = harness.command(sub, "run", run, "attention variants: search, derive, train", "out", "md", "json",
                        out="runs/bench_darts")
    r.add_argument("--preset", choices=sorted(PRESETS), default="digits")
    r.add_argument("--data-dir", default=None)
    r.add_argument("--attentions", default="none,eca,cbam,temporal", help="comma-separated attention specs")
    r.add_argument("--seeds", default="0", help="comma-separated seeds (search and training)")
    r.add_argument("--search-epochs", type=int, default=None)
    r.add_argument("--train-epochs", type=int, default=None)
    r.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    r.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    r.add_argument("--set", dest="darts_set", action="append", default=[], metavar="KEY=VALUE",
                   help="darts option override, repeatable")
    r.add_argument("--train-set", action="append", default=[], metavar="KEY=VALUE",
                   help="training option override, repeatable")
    s = harness.command(sub, "steps", steps, "seconds per step pair at several thread counts", "set", "json")
    s.add_argument("--config", default=None, help="darts preset TOML (as msenas darts --config)")
    s.add_argument("--dataset", default=None)
    s.add_argument("--data-dir", default=None)
    s.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    s.add_argument("--steps", type=int, default=5, help="step pairs per epoch")
    return harness.dispatch(p, argv)


if __name__ == "__main__":
    main()
