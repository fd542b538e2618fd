"""Predicted GPU time of the full-scale CIFAR-10 recipe (experiments/cifar10.toml), from work counted on the CPU.

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

  python experiments/predict_gpu.py --out docs/data/predict_gpu.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from msenas.atomic import atomic_write_text
from msenas.darts import DartsConfig
from msenas.darts import loop as darts_loop
from msenas.darts.supernet import Supernet
from msenas.fitness.config import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import ProbeData
from msenas.genome import get_space, io, sample
from msenas.nn.cost import complexity
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network
from msenas.runtime import Precision, seeded

GENOME = Path(__file__).resolve().parent / "genomes" / "cifar10_msenas_s0.json"
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
    run = darts_loop._Run(model, torch.optim.SGD(model.weight_parameters(), lr=0.01),
                          torch.optim.Adam(model.arch_parameters(), lr=3e-4), None, torch.device("cpu"),
                          Precision(torch.device("cpu")), torch.amp.GradScaler("cpu", enabled=False))
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


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
