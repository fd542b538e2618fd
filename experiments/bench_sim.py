"""Benchmark: simulation speed of one network, this tree against a baseline tree, interleaved.

For fixed genomes (experiments/genomes/: the demo's best `tiny` genome at MNIST
shape, a `fixed` genome and an `mse-nas` genome at reduced width, both at
CIFAR-10 shape) it measures, at T=4: evaluation images/s (eval-mode no-grad
forward, as msenas.train.evaluation does, with and without its SpikeMonitor),
training images/s (forward, CE on mean-over-T logits, backward, Adam step,
reset, as the trainer does), and the share of op time spent in convolutions
(torch profiler, self CPU time of conv ops over all ops, one training step and
one evaluation forward). Every (round, genome, threads, tree) item runs in its
own subprocess with PYTHONPATH set to that tree, items interleaved round by
round, so a machine shared with other jobs loads both trees alike (harness.ab);
the table shows medians over rounds. Each item is one JSON file in OUT/items/; a
rerun skips items already there (resume).

    git worktree add --detach /tmp/sim-base 561d939
    python experiments/bench_sim.py --baseline /tmp/sim-base --rounds 3 --out results/bench_sim \
        --json docs/data/bench_sim.json
    python experiments/bench_sim.py --device cuda --batch 128 --threads 1 --out results/bench_sim_gpu
    python experiments/bench_sim.py --kernels --rounds 2 --json results/kernels.json
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
GENOMES = {   # name -> (genome file, input shape, classes)
    "demo-best": ("genomes/demo_best.json", (1, 28, 28), 10),
    "fixed": ("genomes/fixed_s0.json", (3, 32, 32), 10),
    "mse-nas-c16": ("genomes/msenas_s0_c16.json", (3, 32, 32), 10),
}
MODES = ("eval", "eval+monitor", "train")


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _steps(net, x, y, device):
    """name -> one call of each measured mode."""
    import torch
    from spikingjelly.activation_based import functional

    from msenas.nn.monitor import SpikeMonitor

    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def evaluate():
        net.eval()
        with torch.no_grad():
            net(x)
        functional.reset_net(net)

    def monitored():
        with SpikeMonitor(net) as mon:
            evaluate()
        mon.summary(x.shape[1])

    def train():
        net.train()
        harness.train_step(net, opt, x, y)

    return {"eval": evaluate, "eval+monitor": monitored, "train": train}


def _conv_share(fn) -> dict:
    """Self CPU time of convolution ops over all ops' self CPU time (and over the call's wall time)."""
    from torch.profiler import ProfilerActivity, profile

    with harness.timed() as t, profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    wall = t.wall_s
    ev = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ev)
    conv = sum(e.self_cpu_time_total for e in ev if "conv" in e.key.lower())
    conv -= sum(e.self_cpu_time_total for e in prof.events()       # average pooling done by a depthwise conv
                if "conv" in e.name.lower() and _under(e, "msenas::avgpool"))   # is pooling, not a network conv
    top = sorted(ev, key=lambda e: -e.self_cpu_time_total)[:8]
    return {"conv_share": conv / total, "conv_share_of_wall": conv / 1e6 / wall, "op_ms": total / 1e3,
            "top": [(e.key, round(e.self_cpu_time_total / total, 4), e.count) for e in top]}


def _under(event, prefix: str) -> bool:
    """Whether a profiler event runs inside a range whose name starts with prefix."""
    e = event.cpu_parent
    while e is not None:
        if e.name.startswith(prefix):
            return True
        e = e.cpu_parent
    return False


def worker(spec: dict) -> dict:
    """Measure one item in this process (msenas imported from PYTHONPATH): a network, or one way of a LIF layer."""
    import torch

    if "kernel" in spec:
        return kernel_worker(spec["kernel"])

    from msenas.genome import io
    from msenas.nn.network import build_network

    torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    path, shape, n_classes = GENOMES[spec["genome"]]
    torch.manual_seed(0)
    net = build_network(io.load(HERE / path), shape, n_classes, spec["T"]).to(device)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(spec["T"], spec["batch"], *shape, generator=gen).to(device)      # [T,B,C,H,W]
    y = torch.randint(0, n_classes, (spec["batch"],), generator=gen).to(device)
    steps = _steps(net, x, y, device)
    out = {"params": sum(p.numel() for p in net.parameters()), "times": {}, "profile": {}}
    for name in spec["modes"]:
        steps[name]()                                           # warm-up (allocations, kernel load)
        times, cpu = [], []
        for _ in range(spec["repeats"]):
            _sync(device)
            with harness.timed() as t:
                steps[name]()
                _sync(device)
            times.append(t.wall_s)
            cpu.append(t.cpu_s)
        out["times"][name], out.setdefault("cpu", {})[name] = times, cpu
    if spec["round"] == 0 and device.type == "cpu":
        out["profile"] = {name: _conv_share(steps[name]) for name in ("eval", "train")}
    return out


def _lif_torch(x, tau: float = 2.0, th: float = 0.5):
    """spikingjelly's LIF recursion as plain torch ops over x [T,...] (what torch.compile is given)."""
    import torch

    v, out = torch.zeros_like(x[0]), []
    for t in range(x.shape[0]):
        h = v + (x[t] - v) / tau
        s = (h >= th).to(x.dtype)
        v = (1.0 - s) * h
        out.append(s)
    return torch.stack(out)


def kernel_worker(which: str) -> dict:
    """One way of running a LIF layer [4,64,16,32,32] (channels-last): first-call and steady ms per forward."""
    import time

    import torch
    from spikingjelly.activation_based import functional, neuron, surrogate

    torch.set_num_threads(1)
    x = torch.randn(256, 16, 32, 32).contiguous(memory_format=torch.channels_last).unflatten(0, (4, 64))
    t0 = time.perf_counter()
    if which == "c-build":
        from msenas.nn import kernels
        return {"first_s": time.perf_counter() - t0 if kernels.load() else None}
    if which == "spikingjelly":
        node = neuron.LIFNode(tau=2.0, v_threshold=0.5, surrogate_function=surrogate.ATan(), detach_reset=True,
                              step_mode="m")
    elif which == "fused":
        from msenas.nn.neurons import make_neuron
        node = make_neuron("lif")
    else:                                                   # "torch.compile" of the recursion (inductor, CPU)
        compiled = torch.compile(_lif_torch, dynamic=False)
        node = None

    def fwd():
        with torch.no_grad():
            if node is None:
                return compiled(x)
            functional.reset_net(node)
            return node(x)

    fwd()
    first = time.perf_counter() - t0
    times = []
    for _ in range(10):
        t1 = time.perf_counter()
        fwd()
        times.append(time.perf_counter() - t1)
    return {"first_s": first, "ms": 1e3 * statistics.median(times)}


WAYS = ("c-build", "spikingjelly", "fused", "torch.compile", "torch.compile")


def kernels_table(rounds: int, ways=WAYS) -> list[dict]:
    """Each way in a fresh process (cold caches in a temporary folder, then warm), `rounds` times."""
    rows = []
    for rnd in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"MSENAS_CACHE": tmp, "TORCHINDUCTOR_CACHE_DIR": tmp}
            for which in ways:
                rows.append({"round": rnd, "way": which, **harness.run_worker(__file__, {"kernel": which}, env=env)})
                print(rows[-1], flush=True)
    return rows


def run(args) -> list[dict]:
    """Every item of every round, interleaved (harness.ab); one JSON file per item in OUT/items (resumable)."""
    specs = [(harness.slug(genome, f"{threads}t"),
              {"genome": genome, "threads": threads, "device": args.device, "T": args.T, "batch": args.batch,
               "repeats": args.repeats, "modes": list(MODES)})
             for genome in args.genomes for threads in args.threads]
    items = harness.Items(args.out)
    report = lambda r: ", ".join(f"{m} {args.batch / statistics.median(r['times'][m]):.1f} img/s"  # noqa: E731
                                 for m in MODES)
    return harness.ab(__file__, items, specs, harness.trees(args.baseline, args.tree), args.rounds, report)


def summarize(items: list[dict], batch: int) -> list[dict]:
    """Median images/s over rounds per (genome, threads, impl), conv shares from round 0."""
    groups: dict[tuple, list[dict]] = {}
    for r in items:
        s = r["spec"]
        groups.setdefault((s["genome"], s["threads"], s["tree"]), []).append(r)
    first = {impl: i for i, (_, _, impl) in reversed(list(enumerate(groups)))}   # trees in run order
    rows = []
    for (genome, threads, impl), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], first[kv[0][2]])):
        row = {"genome": genome, "threads": threads, "impl": impl, "rounds": len(rs), "params": rs[0]["params"]}
        for m in MODES:
            per_round = [batch / statistics.median(r["times"][m]) for r in rs]
            row[m] = statistics.median(per_round)
            row[m + "_rounds"] = per_round
            row[m + "_per_cpu_s"] = statistics.median(batch / statistics.median(r["cpu"][m]) for r in rs)
        prof = next((r["profile"] for r in rs if r["profile"]), {})
        for m in ("eval", "train"):
            row[f"conv_share_{m}"] = prof.get(m, {}).get("conv_share")
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: images/s (wall clock; per CPU-second in brackets) and conv shares, with after/before ratios."""
    by = {(r["genome"], r["threads"], r["impl"]): r for r in rows}
    pct = lambda v: f"{100 * v:.0f}%" if v is not None else ""  # noqa: E731
    cells = []
    for r in rows:
        cells.append((r["genome"], r["threads"], r["impl"], *(f"{r[m]:.1f} ({r[m + '_per_cpu_s']:.1f})" for m in MODES),
                      pct(r["conv_share_eval"]), pct(r["conv_share_train"])))
        base = by.get((r["genome"], r["threads"], "before"))
        if r["impl"] != "before" and base:
            cells.append((r["genome"], r["threads"], f"{r['impl']} / before",
                          *(f"{r[m] / base[m]:.2f}x ({r[m + '_per_cpu_s'] / base[m + '_per_cpu_s']:.2f}x)"
                            for m in MODES), "", ""))
    return harness.table(["genome", "threads", "tree", "eval img/s", "eval+monitor img/s", "train img/s",
                          "conv share eval", "conv share train"], cells, [False, True] + [False] + [True] * 5)


def main(argv=None) -> list[dict]:
    p = harness.parser(__doc__)
    p.add_argument("--kernels", action="store_true",
                   help="instead: one LIF layer run by spikingjelly, the fused kernel and torch.compile "
                        "(first call with cold caches, then warm; steady ms per forward)")
    p.add_argument("--ways", nargs="+", default=list(WAYS), choices=sorted(set(WAYS)), help="with --kernels")
    harness.add(p, "baseline", "rounds", "json", rounds=3)
    p.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                   help="another tree to measure between before and after (e.g. one commit of a series)")
    p.add_argument("--genomes", nargs="+", default=list(GENOMES), choices=list(GENOMES))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--T", type=int, default=4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="timed calls per mode and item")
    p.add_argument("--out", default="results/bench_sim", help="one JSON file per item in OUT/items (resumable)")
    args = p.parse_args(argv)
    if args.kernels:
        rows = kernels_table(args.rounds, args.ways)
        harness.emit(harness.table(["round", "way", "first call s", "steady ms"],
                                   [(r["round"], r["way"], f"{r['first_s'] or 0:.3f}",
                                     f"{r['ms']:.2f}" if "ms" in r else "") for r in rows]),
                     json_path=args.json, data={"rows": rows})
        return rows
    rows = summarize(run(args), args.batch)
    harness.emit(table(rows), json_path=args.json, data={"rows": rows})
    return rows


if __name__ == "__main__":
    harness.serve_worker(worker)
    main()
