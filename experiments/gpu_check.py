"""GPU check: one table of what a GPU buys msenas, in at most 5 minutes on one H100-class GPU.

Run it through scripts/gpu_check.sh (environment, data, this script); by hand:
  python experiments/gpu_check.py --data-dir DATA --device cuda --out OUT          # DATA: a CIFAR-10 folder
  python experiments/gpu_check.py --data-dir DATA --device cpu --small --out OUT  # toy sizes, CI
  python experiments/gpu_check.py predict --out docs/data/predict_gpu.json        # no GPU: predicted times
Writes OUT/gpu_check.json and OUT/gpu_check.md after every row (a run cut short keeps what it measured) and
prints each row as it is measured (stderr) and the table at the end (stdout).

Rows (full sizes: SIZES["full"]; --small: SIZES["small"], the same code at toy sizes, figures say nothing):
  neurons   which kernels run the spiking neurons (cuda: spikingjelly's implementation and why; cpu: the
            fused C kernels), msenas/nn/cuda_backend.py
  fitness   seconds per genome of the default fitness (loss_params), MSE-NAS space at C=48 on 32x32
            CIFAR-10, T=4, float32 (fitness.amp off, the default) and bfloat16 autocast; target on a GPU:
            <= 1 s per genome
  train     training images/s of the searched genome (experiments/genomes/cifar10_msenas_s0.json at
            --width 48), T=4, batch 128, through msenas.train.train: float32, float16 + GradScaler and
            bfloat16 (the second of two capped epochs, so compilation and autotuning are not counted);
            target: mixed precision >= 1.5x float32
  accuracy  test accuracy after a short training of the same genome (amp auto) on a CIFAR-10 subset
  darts     one MA-DARTS epoch (DARTS supernet 8 cells, C=16, batch 64, T=2, amp auto) capped at 40
            step pairs and 40 validation batches: seconds and validation accuracy
  total     wall seconds of the whole check; target <= 300 on a GPU

How the full sizes were chosen (no GPU was available when they were set, so these are predictions that the
first run replaces with measurements): `gpu_check.py predict` (below) counts each item's work on the CPU
(kernel launches, bytes, FLOPs, host CPU seconds) and turns it into H100 seconds for a fast and a slow
case (docs/cluster.md, section 8.5): fitness 0.48-1.35 s per genome, a training step at batch 128
0.034-0.235 s, a MA-DARTS step pair 0.21-0.77 s. The items were then sized for a total of about 1.3-3.6
minutes, so that even the slow case plus Triton's kernel compilation stays under 5: 2 x 9 fitness genomes,
3 precisions x 2 capped epochs of 30 training steps, 3 epochs on 10,000 images, 40 MA-DARTS step pairs.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from msenas.atomic import atomic_write_text
from msenas.config import DataConfig
from msenas.darts import DartsConfig
from msenas.darts import loop as darts_loop
from msenas.darts import search as darts_search
from msenas.darts.supernet import Supernet
from msenas.errors import MsenasError
from msenas.fitness.config import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import ProbeData, make_probe
from msenas.genome import get_space, io, sample
from msenas.nn.cost import complexity
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network
from msenas.runtime import Precision, resolve_device, seeded
from msenas.train import TrainConfig, train

GENOME = Path(__file__).resolve().parent / "genomes" / "cifar10_msenas_s0.json"


@dataclasses.dataclass(frozen=True)
class Sizes:
    """The size of every item of the check."""

    size: int               # image side (CIFAR-10 is 32)
    train_per_class: int    # train images per class of the subset
    test_per_class: int
    fitness_genomes: int    # genomes timed on the device
    warmup: bool            # score one genome untimed first (kernels compiled, caches filled)
    width: int              # channels: MSE-NAS space and the searched genome
    batch: int
    steps: int              # training steps per timed epoch
    epochs: int             # short training for the accuracy row
    accuracy_batches: int | None   # cap on its train batches per epoch (None: the whole subset)
    darts_batches: int
    darts: dict             # DartsConfig fields besides the defaults
    fitness: dict           # FitnessConfig fields besides the defaults


SIZES = {
    "full": Sizes(size=32, train_per_class=1000, test_per_class=100, fitness_genomes=8, warmup=True, width=48,
                  batch=128, steps=30, epochs=3, accuracy_batches=None, darts_batches=40, darts={}, fitness={}),
    "small": Sizes(size=16, train_per_class=8, test_per_class=2, fitness_genomes=1, warmup=False, width=4,
                   batch=8, steps=1, epochs=1, accuracy_batches=3, darts_batches=1,
                   darts=dict(n_cells=3, channels=4, n_nodes=2, batch_size=16),
                   fitness=dict(per_class=2, steps=2, batch_size=16)),
}


class Table:
    """Rows written to OUT/gpu_check.{json,md} as they come (atomic writes)."""

    def __init__(self, out: Path, meta: dict):
        self.out, self.meta, self.rows = out, meta, []
        out.mkdir(parents=True, exist_ok=True)

    def add(self, check: str, device: str, value, unit: str, note: str = "") -> None:
        """Record one row, print it, rewrite both files."""
        self.rows.append({"check": check, "device": device, "value": value, "unit": unit, "note": note})
        print(f"{check:9s} {device:5s} {_fmt(value):>10s} {unit} {note}", file=sys.stderr, flush=True)
        atomic_write_text(self.out / "gpu_check.json", json.dumps({**self.meta, "rows": self.rows}, indent=1))
        atomic_write_text(self.out / "gpu_check.md", self.markdown() + "\n")

    def markdown(self) -> str:
        """The table with a line saying where and how it was made."""
        m = self.meta
        head = [f"{m['machine']}, torch {m['torch']}, {m['date']}: `{m['command']}`", "",
                "| check | device | value | unit | note |", "| --- | --- | --- | --- | --- |"]
        return "\n".join(head + [f"| {r['check']} | {r['device']} | {_fmt(r['value'])} | {r['unit']} | {r['note']} |"
                                 for r in self.rows])


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)


def neuron_kernels(device: torch.device) -> tuple[str, str]:
    """(implementation, note): what runs the spiking neurons on `device`."""
    from msenas.nn import cuda_backend, kernels

    if device.type == "cpu":
        return ("fused-c", "msenas's fused C kernels") if kernels.load() is not None else \
            ("spikingjelly", "no C compiler: spikingjelly's CPU neurons")
    name = cuda_backend.select_backend(device)
    choice = cuda_backend.choose(cuda_backend.probe("lif", device.index or 0))
    return name, choice.line(f"cuda:{device.index or 0}").split(": ", 1)[1]


def fitness_seconds(data: DataConfig, device: str, n: int, s: Sizes, amp: str = "off", seed: int = 0) -> list[float]:
    """Seconds of the default fitness per MSE-NAS-space genome (width s.width) on `device` (after a warm-up)."""
    cfg = FitnessConfig(device=device, amp=amp, **s.fitness)
    width = s.width
    ds = data.build(cfg.T, seed)
    probe = make_probe(ds, cfg, seed)
    space = dataclasses.replace(get_space("mse-nas"), channels=(width,))
    rng = np.random.default_rng(seed)
    genomes = [sample(space, rng) for _ in range(n + 1)]
    if s.warmup:
        evaluate_genome(genomes[0], probe, cfg, cfg.proxy_names())        # untimed: kernels, caches
    recs = [evaluate_genome(g, probe, cfg, cfg.proxy_names()) for g in genomes[1:]]
    failed = [r.error for r in recs if r.error]
    if failed:
        raise RuntimeError(f"fitness on {device} ({amp}) failed: {failed[0]}")
    return [r.wall_time for r in recs]


def train_images_per_s(genome, ds, data: DataConfig, device: str, amp: str, s: Sizes) -> tuple[float, str]:
    """Training images/s of msenas.train.train over the second of two epochs of `s.steps` steps; its precision."""
    cfg = TrainConfig(epochs=2, batch_size=s.batch, device=device, amp=amp, warmup_epochs=0.0,
                      max_train_batches=s.steps)
    with tempfile.TemporaryDirectory() as tmp:
        m = train(genome, ds, cfg, tmp, progress=False, data=data)
        precision = json.loads((Path(tmp) / "config.json").read_text())["resolved"]["precision"]
    return s.steps * s.batch / m["history"][-1]["epoch_time"], precision


def short_training(genome, ds, data: DataConfig, device: str, s: Sizes) -> tuple[float, float]:
    """(test accuracy, seconds) of `s.epochs` epochs of msenas train with amp auto."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        m = train(genome, ds, TrainConfig(epochs=s.epochs, batch_size=s.batch, device=device, warmup_epochs=0.0,
                                          lr=3e-3, max_train_batches=s.accuracy_batches), tmp, progress=False,
                  data=data)
        return m["final"]["test_acc"], time.perf_counter() - t0


def darts_epoch(ds, data: DataConfig, device: str, s: Sizes) -> tuple[float, float]:
    """(seconds, validation accuracy) of one MA-DARTS epoch (amp auto)."""
    cfg = DartsConfig(epochs=1, device=device, max_batches=s.darts_batches, max_valid_batches=s.darts_batches,
                      **s.darts)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = darts_search(ds, cfg, tmp, progress=False, data=data)
        return time.perf_counter() - t0, res.history[-1]["valid_acc"]


def run(args: argparse.Namespace, table: Table, t_start: float) -> None:
    """Measure every row into `table`."""
    s = SIZES["small" if args.small else "full"]
    device = resolve_device(args.device)
    dev = device.type
    data = DataConfig("cifar10", args.data_dir, {"size": s.size, "train_per_class": s.train_per_class,
                                                 "test_per_class": s.test_per_class, "augment": False}, seed=0)
    width = args.width or s.width
    genome = dataclasses.replace(io.load(args.genome), channels=width)
    ds = data.build(4)
    name, note = neuron_kernels(device)
    table.add("neurons", dev, name, "", note)
    where = f"MSE-NAS space at C={s.width}, {s.size}x{s.size}, T=4"
    for amp in ("off", "bf16"):
        fit = fitness_seconds(data, dev, s.fitness_genomes, s, amp)
        target = "; target on a GPU <= 1 s" if dev == "cuda" and amp == "off" else ""
        table.add("fitness", dev, statistics.median(fit), "s/genome",
                  f"{'float32' if amp == 'off' else 'bfloat16 autocast'}, median of {len(fit)}; {where}{target}")
    full = None
    for amp in ("off", "fp16", "bf16"):
        if amp == "bf16" and dev == "cuda" and not torch.cuda.is_bf16_supported():
            table.add("train", dev, "-", "images/s", "bfloat16: not supported by this GPU")
            continue
        rate, precision = train_images_per_s(genome, ds, data, dev, amp, s)
        full = rate if amp == "off" else full
        ratio = "" if amp == "off" else f"; {rate / full:.2f}x float32, target >= 1.5x"
        table.add("train", dev, rate, "images/s",
                  f"{precision}, genome at C={width}, T=4, batch {s.batch}, {s.size}x{s.size}{ratio}")
    acc, secs = short_training(genome, ds, data, dev, s)
    capped = f" (at most {s.accuracy_batches} batches each)" if s.accuracy_batches else ""
    table.add("accuracy", dev, acc, "test acc", f"{s.epochs} epoch(s){capped} on {s.train_per_class}/class, amp auto, "
                                                f"{secs:.0f} s")
    secs, vacc = darts_epoch(ds, data, dev, s)
    table.add("darts", dev, secs, "s/epoch", f"{s.darts_batches} step pairs + {s.darts_batches} validation "
                                             f"batches, amp auto, valid acc {vacc:.3f}")
    total = time.perf_counter() - t_start
    table.add("total", dev, total, "s", "the whole check" + ("; target on a GPU <= 300 s" if dev == "cuda" else ""))


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["predict"]:
        return predict(argv[1:])
    t_start = time.perf_counter()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="CIFAR-10 folder (cifar-10-batches-py or its parent)")
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--small", action="store_true", help="toy sizes (CPU, CI)")
    p.add_argument("--genome", default=str(GENOME), help="a searched genome (JSON) for the training rows")
    p.add_argument("--width", type=int, help="its channels C for training (default 48, --small 8)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    machine = torch.cuda.get_device_name() if args.device == "cuda" and torch.cuda.is_available() else "CPU"
    meta = {"machine": f"{platform.node()}, {machine}", "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": "python experiments/gpu_check.py " + " ".join(argv)}
    table = Table(Path(args.out), meta)
    try:
        run(args, table, t_start)
    except MsenasError as e:                       # no GPU for --device cuda, a bad data folder, ...
        print(f"gpu_check: error: {' '.join(str(e).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    print(table.markdown())
    return {**meta, "rows": table.rows}


# ---- predict: GPU seconds from work counted on the CPU ----

PREDICT_DOC = """Predicted GPU time of the full-scale CIFAR-10 recipe (experiments/cifar10.toml), from work
counted on the CPU.

No GPU was available when this was written: every GPU figure here is a PREDICTION, which
scripts/gpu_check.sh replaces with measurements on the first GPU run (docs/cluster.md).

What is counted on the CPU (run here, short):
  kernels   torch ops that launch a GPU kernel, counted in a torch profile of the real code (a fitness
            evaluation, a training step, a MA-DARTS step pair) at a small width and image size: the count
            depends on the architecture and T, not on width, image size or batch (view-only ops excluded;
            msenas's fused CPU neuron op counts as one kernel, as spikingjelly's Triton kernel does)
  bytes     bytes the profiled ops allocate (their outputs), times 3 for reads, scaled linearly in
            channels, pixels and batch from the small run to the full size
  FLOPs     2 x multiply-accumulates of every conv/linear at full size (msenas.nn.cost.complexity for a
            genome, conv hooks for the supernet), x 3 for a training step (forward + two backward GEMMs)
  host      CPU seconds of work a GPU run keeps on the host, measured here at full size (one thread):
            building and initialising a network on the CPU (fitness builds one per genome, then moves it)
and turned into H100 seconds with stated rates (RATES: a fast and a slow case) as
  t = host + max(kernels x launch, FLOPs / conv rate + bytes / bandwidth)          (fast case)
  t = host + kernels x launch + FLOPs / conv rate + bytes / bandwidth              (slow case)

  python experiments/gpu_check.py predict --out docs/data/predict_gpu.json
"""
# H100 SXM (80 GB): dense TF32 ~495, BF16/FP16 ~990 TFLOP/s peak; HBM3 3.35 TB/s. Assumed achieved rates
# for these small convolutions (48-384 channels, 32x32 and below) and for eager PyTorch's launches:
RATES = {"fast": dict(tf32=200e12, half=400e12, bandwidth=2.5e12, launch=6e-6),
         "slow": dict(tf32=60e12, half=120e12, bandwidth=1.0e12, launch=20e-6)}
VIEW_OPS = {"aten::view", "aten::as_strided", "aten::empty", "aten::empty_strided", "aten::t", "aten::expand",
            "aten::reshape", "aten::_reshape_alias", "aten::detach", "aten::unsqueeze", "aten::squeeze",
            "aten::permute", "aten::transpose", "aten::slice", "aten::select", "aten::alias", "aten::unbind",
            "aten::resolve_conj", "aten::resolve_neg", "aten::lift_fresh", "aten::flatten", "aten::chunk",
            "aten::split", "aten::narrow", "aten::movedim", "aten::_unsafe_view", "aten::set_", "aten::item",
            "aten::_local_scalar_dense", "aten::is_nonzero", "aten::result_type", "aten::empty_like",
            "aten::contiguous", "aten::unflatten", "aten::view_as", "aten::numpy_T", "aten::detach_"}
SMALL = dict(width=4, size=8, batch=8)


@dataclasses.dataclass
class Work:
    """One item's counts: kernel launches, bytes at full size, FLOPs at full size, host seconds."""

    kernels: int
    bytes: float
    flops: float
    host_s: float = 0.0

    def seconds(self, rate: dict, half: bool = False) -> tuple[float, float]:
        """(fast, slow) predicted GPU seconds."""
        fast, slow = RATES["fast"], RATES["slow"]
        key = "half" if half else "tf32"
        f = self.host_s + max(self.kernels * fast["launch"], self.flops / fast[key] + self.bytes / fast["bandwidth"])
        s = self.host_s + self.kernels * slow["launch"] + self.flops / slow[key] + self.bytes / slow["bandwidth"]
        return f, s


def profile_counts(fn) -> tuple[int, float, float]:
    """(kernel-launching ops, bytes they allocate, CPU seconds) of fn() under the torch profiler."""
    from torch.profiler import ProfilerActivity, profile

    t0 = time.process_time()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    cpu = time.process_time() - t0
    kernels, allocated = 0, 0.0
    for ev in prof.events():
        name = ev.name
        if not (name.startswith("aten::") or name.startswith("msenas::")) or name in VIEW_OPS:
            continue
        if any(c.name.startswith("aten::") and c.name not in VIEW_OPS for c in ev.cpu_children):
            continue                                            # not a leaf: its children launch the kernels
        kernels += 1
        allocated += max(0, ev.cpu_memory_usage)
    return kernels, 3.0 * allocated, cpu


def genome_flops(genome, in_shape, T: int, samples: float, train_factor: float) -> float:
    """2 x MACs per sample and step x T x samples x (3 for training, 1 for forward only)."""
    return 2.0 * complexity(genome, in_shape, 10, T).macs * T * samples * train_factor


def scale(width: int, size: int, batch: int) -> float:
    """Activation bytes of the full item over those of the small profiled one."""
    return (width / SMALL["width"]) * (size / SMALL["size"]) ** 2 * (batch / SMALL["batch"])


def tiny_probe(n_per_class: int, size: int, seed: int = 0) -> ProbeData:
    """A probe of random images [N,3,size,size] (only the shapes matter for counting)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10), n_per_class)
    n_train = 640
    return ProbeData(x=rng.random((len(y), 3, size, size), dtype=np.float32), y=y,
                     train_x=rng.random((n_train, 3, size, size), dtype=np.float32),
                     train_y=rng.integers(0, 10, n_train), target=_target(y), in_shape=(3, size, size),
                     n_classes=10, seed=seed)


def _target(y: np.ndarray) -> np.ndarray:
    return (y[:, None] != y[None, :]).astype(np.float64)


def fitness_work(genome_full, cfg: FitnessConfig) -> Work:
    """One default-fitness evaluation of an MSE-NAS genome at C=48 on 32x32 (probe forward twice, k steps)."""
    small = dataclasses.replace(genome_full, channels=SMALL["width"])
    probe = tiny_probe(cfg.per_class, SMALL["size"])
    kernels, alloc, _ = profile_counts(lambda: evaluate_genome(small, probe, cfg, cfg.proxy_names()))
    n_probe = 10 * cfg.per_class
    fwd = genome_flops(genome_full, (3, 32, 32), cfg.T, 2 * n_probe, 1.0)
    train = genome_flops(genome_full, (3, 32, 32), cfg.T, cfg.steps * cfg.batch_size, 3.0)
    t0 = time.process_time()                                    # CPU seconds: what an idle core would take
    with seeded(0):
        build_network(genome_full, (3, 32, 32), 10, cfg.T)
    host = time.process_time() - t0
    # the profiled run mixes probe (80) and train (batch 64) work: scale by width and pixels only
    return Work(kernels, alloc * (48 / SMALL["width"]) * (32 / SMALL["size"]) ** 2, fwd + train, host)


def train_step_work(genome_full, T: int, batch: int) -> Work:
    """One training step (forward, backward, AdamW) of the genome at C=48, 32x32, `batch`."""
    small = dataclasses.replace(genome_full, channels=SMALL["width"])
    with seeded(0):
        net = build_network(small, (3, SMALL["size"], SMALL["size"]), 10, T)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.rand(T, SMALL["batch"], 3, SMALL["size"], SMALL["size"])
    y = torch.arange(SMALL["batch"]) % 10

    def step():
        with SpikeMonitor(net):
            loss = F.cross_entropy(net(x).float().mean(0), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        functional.reset_net(net)

    step()                                                      # warm: optimizer state, caches
    kernels, alloc, _ = profile_counts(step)
    return Work(kernels, alloc * scale(48, 32, batch), genome_flops(genome_full, (3, 32, 32), T, batch, 3.0))


def darts_step_work(cfg: DartsConfig) -> tuple[Work, float]:
    """One MA-DARTS step pair (first-order alpha step + weight step) at the default size; and its MACs/sample."""
    small_cfg = cfg.replace(channels=SMALL["width"], batch_size=SMALL["batch"], device="cpu")
    with seeded(0):
        model = Supernet(small_cfg, (3, SMALL["size"], SMALL["size"]), 10)
    run = darts_loop._Run(model, torch.optim.SGD(model.weight_parameters(), lr=0.01), None,
                          torch.amp.GradScaler("cpu", enabled=False), torch.device("cpu"),
                          Precision(torch.device("cpu")), a_opt=torch.optim.Adam(model.arch_parameters(), lr=3e-4))
    x = torch.rand(cfg.T, SMALL["batch"], 3, SMALL["size"], SMALL["size"])
    batch = (x, torch.arange(SMALL["batch"]) % 10)
    monitor = SpikeMonitor(model)

    def pair():
        darts_loop._alpha_step(run, small_cfg, batch, batch)
        darts_loop._weight_step(run, small_cfg, batch, monitor)
        functional.reset_net(model)

    pair()
    kernels, alloc, _ = profile_counts(pair)
    macs = supernet_macs(cfg)
    flops = 2.0 * macs * cfg.batch_size * 3.0 * 2                 # two forward+backward passes per pair
    return Work(kernels, alloc * scale(cfg.channels, 32, cfg.batch_size), flops), macs


def supernet_macs(cfg: DartsConfig) -> float:
    """Conv MACs of one supernet forward over one 32x32 sample and T steps (hooks on every Conv2d)."""
    with seeded(0):
        model = Supernet(cfg.replace(device="cpu"), (3, 32, 32), 10)
    total = [0]

    def hook(m, _, out):
        total[0] += out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(cfg.T, 1, 3, 32, 32))
    for h in handles:
        h.remove()
    return float(total[0])


def predict(argv: list[str] | None = None) -> dict:
    """The prediction mode: `gpu_check.py predict [--genomes N] [--out FILE]`."""
    p = argparse.ArgumentParser(prog="gpu_check.py predict", description=PREDICT_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--genomes", type=int, default=3, help="MSE-NAS-space genomes sampled for the fitness item")
    p.add_argument("--out", help="JSON file for the figures")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    fit_cfg = FitnessConfig(T=4)
    rng = np.random.default_rng(0)
    space = get_space("mse-nas")
    genomes = [sample(space, rng) for _ in range(args.genomes)]
    fit = [fitness_work(g, fit_cfg) for g in genomes]
    finalist = dataclasses.replace(io.load(GENOME), channels=48)
    step = train_step_work(finalist, T=4, batch=128)
    dcfg = DartsConfig()
    pair, dmacs = darts_step_work(dcfg)
    rows = {}
    for i, w in enumerate(fit):
        rows[f"fitness genome {i}"] = (w, False)
    rows["train step, float32 (TF32)"] = (step, False)
    rows["train step, mixed precision"] = (dataclasses.replace(step, bytes=step.bytes / 2), True)
    rows["darts step pair, mixed precision"] = (dataclasses.replace(pair, bytes=pair.bytes / 2), True)
    out = {"rates": RATES, "small": SMALL, "items": {}}
    for name, (w, half) in rows.items():
        fast, slow = w.seconds(RATES, half)
        out["items"][name] = {"kernels": w.kernels, "gflop": w.flops / 1e9, "gbytes": w.bytes / 1e9,
                              "host_s": w.host_s, "gpu_s_fast": fast, "gpu_s_slow": slow}
    per_genome = [v for k, v in out["items"].items() if k.startswith("fitness")]
    g_fast = statistics.median(v["gpu_s_fast"] for v in per_genome)
    g_slow = statistics.median(v["gpu_s_slow"] for v in per_genome)
    mixed = out["items"]["train step, mixed precision"]
    dp = out["items"]["darts step pair, mixed precision"]
    steps_epoch, darts_pairs = math.ceil(50_000 / 128), math.ceil(25_000 / dcfg.batch_size)
    EVAL = 1 + math.ceil(10_000 / 128) / steps_epoch / 3          # evaluation: forward only, a third of a step
    evaluations = 50 + 50 + 100 * 48                              # calibration + population + offspring
    out["recipe"] = {
        "search: evaluations": evaluations,
        "search: s/genome (median)": [g_fast, g_slow],
        "search: GPU-hours, genomes one after another on one GPU": [evaluations * g_fast / 3600,
                                                                    evaluations * g_slow / 3600],
        "finalist: s/epoch (391 steps + eval of 10k at 1/3 of a step's work)":
            [steps_epoch * mixed[k] * EVAL for k in ("gpu_s_fast", "gpu_s_slow")],
        "finalist: hours for 600 epochs": [600 * steps_epoch * mixed[k] * EVAL / 3600
                                           for k in ("gpu_s_fast", "gpu_s_slow")],
        "darts: s/epoch (391 step pairs)": [darts_pairs * dp["gpu_s_fast"], darts_pairs * dp["gpu_s_slow"]],
        "darts: hours for 50 epochs": [50 * darts_pairs * dp["gpu_s_fast"] / 3600,
                                       50 * darts_pairs * dp["gpu_s_slow"] / 3600],
        "darts: supernet GMAC per sample": dmacs / 1e9,
        "finalist: params (M)": complexity(finalist, (3, 32, 32), 10, 4).params / 1e6,
    }
    text = json.dumps(out, indent=1)
    if args.out:
        atomic_write_text(Path(args.out), text + "\n")
    print(text)
    return out


if __name__ == "__main__":
    main()
