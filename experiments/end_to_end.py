"""One real story, end to end (issue 13 section 3): search CIFAR-10 with the CPU preset, train what it found
against a random genome and a hand-written baseline with one budget, then transfer all three to N-MNIST.

1. `msenas search` with experiments/cifar10-cpu.toml (fixed space, 16x16, 200 / 100 images per class),
   the best genome exported;
2. three networks: the search's best, a random genome of the same space (drawn with the run's seed, as
   `search --train-top` draws it) and a hand-written baseline of similar size (stem + 3 cells, each a
   chain of two conv3x3 LIF edges, 16/32/32 channels, the fixed space's macro);
3. each trained on the preset's CIFAR-10 subset for --epochs epochs, training seeds --seeds, and then
   rebuilt for N-MNIST (the real recordings of ../shared/data/nmnist, the nmnist preset's options) and
   trained there with the same budget.
Every item (one network, one dataset, one seed) is its own result folder under OUT, so a rerun resumes;
`report` prints the Markdown table (mean +- sd over seeds: test accuracy, spikes, SOPs, energy, params,
wall time per training).

  python experiments/end_to_end.py run --cifar10 /work/data/cifar10 --nmnist ../shared/data/nmnist \
      --out results/e2e --epochs 8 --seeds 0 1
  python experiments/end_to_end.py report results/e2e --md results/e2e/table.md
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CIFAR_OPTIONS = {"size": 16, "train_per_class": 200, "test_per_class": 100, "augment": False}
NMNIST_OPTIONS = {"size": 17, "train_per_class": 100}


def baseline():
    """Stem + 3 cells of two chained conv3x3 LIF edges each, a reduction at cell 1 (16/32/32 channels)."""
    from msenas.genome import Op, instantiate
    from msenas.genome.types import Cell, Genome

    cell = lambda: Cell((instantiate("chain", 2, [Op("conv3x3")] * 2),))  # noqa: E731
    return Genome(cells=(cell(), cell(), cell()), inputs=((0,), (1,), (2,)), reductions=(1,), channels=16,
                  stem_multiplier=1)


def _search(args, out: Path):
    from msenas.genome import io
    from msenas.rundir import BEST
    from msenas.search.config import load_config
    from msenas.search.run import run_search

    run = out / "search"
    cfg = load_config(str(HERE / "cifar10-cpu.toml"),
                      [f'data.data_dir="{args.cifar10}"', f"search.workers={args.workers}"])
    if not (run / BEST).is_file():
        t0 = time.perf_counter()
        run_search(cfg, run, resume=(run / "checkpoint.json").is_file(), progress=False)
        (out / "search_seconds.json").write_text(json.dumps({"seconds": time.perf_counter() - t0}))
    return cfg, io.read(run / BEST)[0]


def run(args: argparse.Namespace) -> None:
    import torch

    from msenas.config import DataConfig
    from msenas.genome import io, sample
    from msenas.rundir import METRICS, read_json
    from msenas.train import TrainConfig, train

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg, best = _search(args, out)
    random = sample(cfg.search_space, np.random.default_rng([cfg.seed, 0x7A4D]))
    networks = {"searched": best, "random": random, "baseline": baseline()}
    datas = {"cifar10": DataConfig("cifar10", args.cifar10, CIFAR_OPTIONS, seed=0),
             "nmnist": DataConfig("nmnist", args.nmnist, NMNIST_OPTIONS, seed=0)}
    for dname, data in datas.items():
        dataset = data.build(4)
        for name, genome in networks.items():
            if not (out / f"{name}.json").exists():
                io.save(genome, out / f"{name}.json")
            for seed in args.seeds:
                folder = out / dname / f"{name}-s{seed}"
                if (folder / METRICS).is_file() and read_json(folder / METRICS).get("final"):
                    continue
                t0 = time.perf_counter()
                train(genome, dataset, TrainConfig(epochs=args.epochs, seed=seed, T=4), folder, progress=False,
                      data=data)
                final = read_json(folder / METRICS)["final"]
                print(f"{dname} {name} seed {seed}: acc {final['test_acc']:.3f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
    (out / "machine.json").write_text(json.dumps({"machine": platform.platform(), "cpus": __import__("os").cpu_count(),
                                                  "threads": args.threads, "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                                time.gmtime())}))


def _fmt(values, spec: str) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():{spec}} +- {v.std(ddof=1) if len(v) > 1 else 0.0:{spec}}"


def report(args: argparse.Namespace) -> None:
    from msenas.rundir import METRICS, read_json

    out = Path(args.folder)
    lines = ["| dataset | network | test accuracy | spikes / sample | SOPs / sample | energy / sample (uJ) | "
             "params | training wall time (s) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for dname in ("cifar10", "nmnist"):
        for name in ("searched", "random", "baseline"):
            finals = [read_json(p / METRICS)["final"] for p in sorted((out / dname).glob(f"{name}-s*"))
                      if (p / METRICS).is_file() and read_json(p / METRICS).get("final")]
            if not finals:
                continue
            col = lambda k: [f[k] for f in finals]  # noqa: E731
            lines.append(f"| {dname} | {name} (n={len(finals)}) | {_fmt(col('test_acc'), '.3f')} | "
                         f"{_fmt(col('spikes'), '.4g')} | {_fmt(col('sops'), '.4g')} | "
                         f"{_fmt([e / 1e6 for e in col('energy_pj')], '.3g')} | {finals[0]['params']:,} | "
                         f"{_fmt(col('train_time'), '.0f')} |")
    text = "\n".join(lines)
    print(text)
    if args.md:
        Path(args.md).write_text(text + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--cifar10", required=True, help="folder holding cifar-10-batches-py/")
    r.add_argument("--nmnist", required=True, help="folder holding NMNIST/{Train,Test}")
    r.add_argument("--out", required=True)
    r.add_argument("--epochs", type=int, default=8)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    r.add_argument("--workers", type=int, default=1, help="Ray workers of the search")
    r.add_argument("--threads", type=int, default=1, help="torch threads of the trainings")
    q = sub.add_parser("report")
    q.add_argument("folder")
    q.add_argument("--md")
    args = p.parse_args()
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()
