"""Benchmark: N-MNIST .bin decoding and event-to-frame integration, library vs numpy, and the frame cache.

  python experiments/bench_events.py --data-dir ../shared/data/nmnist --T 10 [--cifar ~/data/cifar10]

Prints, per file over every recording found: tonic's read_mnist_file + ToFrame(n_event_bins=T);
tonic's reader + msenas' integrate_events (what msenas uses); a plain numpy decoder + integrate_events;
how often the frames agree; then seconds per epoch of a DataLoader over the train split with
the cache off, on its first (filling) epoch and on a cached epoch. With --cifar, seconds per epoch
of 10,000 augmented CIFAR-10 images with 0 and 2 loader workers (twice each).
"""
from __future__ import annotations

from pathlib import Path

import harness
import numpy as np
import torch


def numpy_decode(path: Path):
    """The 5-byte N-MNIST event format by hand: x, y, polarity bit 7, 23-bit timestamp."""
    b = np.fromfile(path, np.uint8).reshape(-1, 5).astype(np.uint32)
    return ((b[:, 2] & 127) << 16) | (b[:, 3] << 8) | b[:, 4], b[:, 0], b[:, 1], b[:, 2] >> 7


def per_file(fn, files, reps: int = 2) -> float:
    """Milliseconds per file of fn (best of reps passes over all files)."""
    best = float("inf")
    for _ in range(reps):
        with harness.timed() as t:
            for f in files:
                fn(f)
        best = min(best, t.wall_s / len(files) * 1e3)
    return best


def epoch_seconds(ds_split, batch: int = 64, workers: int = 0) -> float:
    from msenas.data import make_loader

    with harness.timed() as t:
        for _ in make_loader(ds_split, batch, True, seed=0, workers=workers):
            pass
    return t.wall_s


def main(argv=None) -> None:
    p = harness.add(harness.parser(__doc__), "threads")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--T", type=int, default=10)
    p.add_argument("--cifar", default=None, help="CIFAR-10 folder: also time the loader with 0 and 2 workers")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from tonic.io import events_struct, read_mnist_file
    from tonic.transforms import ToFrame

    from msenas.data import get_dataset
    from msenas.data.frames import integrate_events

    files = sorted(Path(a.data_dir).rglob("*.bin"))
    T, to_frame = a.T, ToFrame(sensor_size=(34, 34, 2), n_event_bins=a.T)
    tonic_read = lambda f: read_mnist_file(str(f), dtype=events_struct)  # noqa: E731
    ours = lambda ev: integrate_events(ev["t"], ev["x"], ev["y"], ev["p"], T, 34, 34)  # noqa: E731
    rows = {"tonic read_mnist_file + ToFrame": lambda f: to_frame(tonic_read(f)),
            "tonic read_mnist_file + integrate_events (used)": lambda f: ours(tonic_read(f)),
            "numpy decoder + integrate_events": lambda f: integrate_events(*numpy_decode(f), T, 34, 34)}
    print(f"{len(files)} files, T={T}")
    for name, fn in rows.items():
        print(f"  {name}: {per_file(fn, files):.3f} ms/file")
    same = head = decoded = 0
    for f in files:
        ev, (t, x, _, pol) = tonic_read(f), numpy_decode(f)
        decoded += bool(np.array_equal(ev["x"], x) and np.array_equal(ev["t"], t) and np.array_equal(ev["p"], pol > 0))
        a_, b_ = to_frame(ev), ours(ev)
        same += bool(np.array_equal(a_, b_))
        head += bool(np.array_equal(a_[:-1], b_[:-1]))
    print(f"  tonic and numpy decode the same events: {decoded}/{len(files)}")
    print(f"  ToFrame == integrate_events: {same}/{len(files)} whole, {head}/{len(files)} in the first T-1 frames "
          "(ToFrame drops the n % T last events)")
    for size in (None, 17):
        off = get_dataset("nmnist", a.data_dir, T=T, size=size, cache=False)
        on = get_dataset("nmnist", a.data_dir, T=T, size=size)
        first, cached = epoch_seconds(on.train), epoch_seconds(on.train)
        nbytes = sum(v.nbytes for v in on.train.cache.values()) / len(on.train.cache)
        print(f"  size {size or 34}: epoch over {len(on.train)} train items, "
              f"cache off {epoch_seconds(off.train):.2f} s, "
              f"cache filling {first:.2f} s, cached {cached:.2f} s; {nbytes / 1024:.1f} KiB cached per item")
    if a.cifar:
        train = get_dataset("cifar10", a.cifar, train_per_class=1000).train
        for workers in (0, 2, 0, 2):
            print(f"  cifar10, 10,000 augmented images, batch 128, workers={workers}: "
                  f"{epoch_seconds(train, 128, workers):.2f} s per epoch")


if __name__ == "__main__":
    main()
