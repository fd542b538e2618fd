"""Time MA-DARTS step pairs (alpha step + weight step) of a preset at several torch thread counts.

  python experiments/time_darts.py --config experiments/darts-digits-cpu.toml --threads 1 2 --steps 5
  python experiments/time_darts.py --dataset digits --threads 1 2        # DartsConfig's defaults

Each thread count runs in this process, one after the other, on the same
seeded batches; prints one line per step pair. The first step pair of a
process also pays for first-touch memory.
"""
from __future__ import annotations

import argparse
import time


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=None, help="darts preset TOML (as msenas darts --config)")
    p.add_argument("--dataset", default=None)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args(argv)

    import torch

    from msenas.commands.darts import resolve
    from msenas.darts import loop
    from msenas.nn.monitor import SpikeMonitor

    ns = argparse.Namespace(config=args.config, dataset=args.dataset, data_dir=None, epochs=None, attention=None,
                            overrides=args.overrides)
    cfg, data = resolve(ns)
    ds = data.build(cfg.T)
    for threads in args.threads:
        torch.set_num_threads(threads)
        run = loop._start(ds, cfg)
        w_split, a_split = loop.split_train(ds, cfg)
        loaders = [loop.make_loader(s, cfg.batch_size, True, k) for k, s in enumerate((w_split, a_split))]
        monitor = SpikeMonitor(run.model.train())
        for step, ((xw, yw), (xa, ya)) in zip(range(args.steps), zip(*loaders)):
            t0 = time.perf_counter()
            tb, vb = (loop.to_time_major(xw, cfg.T), yw), (loop.to_time_major(xa, cfg.T), ya)
            loop._alpha_step(run, cfg, tb, vb)
            loop._weight_step(run, cfg, tb, monitor)
            print(f"threads {threads} step pair {step}: {time.perf_counter() - t0:.2f} s", flush=True)


if __name__ == "__main__":
    main()
