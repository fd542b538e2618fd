"""Does msenas agree with another computation of the same thing? Three checks.

golden  Two folders of experiments/golden_check.sh (say before and after a refactor): the search's hall of fame
        (keys, fitness), every genome both evaluated (proxies and spikes), the training history, the MA-DARTS
        genome and alphas, each "identical" or "DIFFERENT".
energy  msenas's energy counts beside spikingjelly's op_counter (SynOpCounter, ACCounter, MACCounter) on one
        network: the demo's best genome (experiments/genomes/demo_best.json) at initialisation (seed 0), 64
        test digits at 16x16, T = 4; per sample (docs/energy.md, "Against spikingjelly's op_counter").
nir     How often a network run from its NIR export (msenas export-nir, read by nirtorch) differs from msenas:
        for sampled genomes of the given spaces, each built with the default neurons (tau 2, threshold 0.5),
        BatchNorm statistics and affines drawn away from their initial values (as a trained network has them),
        the graph exported in float32 and in float64 and run by msenas and nirtorch (msenas.export.nir_torch)
        in that precision on the same random images: genomes with any differing spike, the share of differing
        spikes over all neurons, the largest logit difference and the agreement of the predicted classes
        (argmax of the mean logits). Differences come only from potentials landing exactly on the threshold,
        where a reader's sum x (1/6) and spikingjelly's sum / 6 can round apart (docs/nir.md).

  python experiments/agreement.py golden /tmp/gold-before /tmp/gold-after
  python experiments/agreement.py energy
  python experiments/agreement.py nir --genomes 20 --json docs/data/nir_agreement.json
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import harness
import numpy as np

GENOME = harness.HERE / "genomes" / "demo_best.json"


# ----------------------------------------------------------------------------- golden


def golden_load(root: Path) -> dict:
    """What a golden-check folder holds, as comparable values."""
    hof = json.loads((root / "search" / "hall_of_fame.json").read_text())
    evaluations = root / "search" / "evaluations.jsonl"     # runs older than that file: the hall of fame's records
    records = ([json.loads(line)["record"] for line in evaluations.read_text().splitlines()] if evaluations.is_file()
               else [e["record"] for e in hof])
    history = json.loads((root / "train" / "metrics.json").read_text())["history"]
    genome = json.loads((root / "darts" / "genome.json").read_text())
    return {
        "search: hall of fame": [(e["key"], e["fitness"]) for e in hof],
        "search: proxies and spikes": {r["key"]: (r["proxies"], r["spikes"]) for r in records},
        "train: history": [(h["epoch"], h["train_loss"], h["test_acc"], h["test_loss"], h["spikes"]) for h in history],
        "darts: genome": {k: genome.get(k) for k in ("cells", "inputs", "reductions", "channels")},
        "darts: alphas": json.loads((root / "darts" / "alphas.json").read_text()),
    }


def golden(args) -> dict[str, bool]:
    """Each part of two golden-check folders: identical or not (genomes only one of them evaluated left out)."""
    a, b = golden_load(Path(args.before)), golden_load(Path(args.after))
    key = "search: proxies and spikes"          # genomes both folders evaluated
    common = sorted(set(a[key]) & set(b[key]))
    a[key], b[key] = ({k: d[key][k] for k in common} for d in (a, b))
    same = {name: a[name] == b[name] for name in a}
    harness.emit("\n".join(f"{name}: {'identical' if ok else 'DIFFERENT'}"
                           + (f" ({len(common)} genomes)" if name == key else "") for name, ok in same.items()))
    return same


# ----------------------------------------------------------------------------- energy


def energy(args) -> dict:
    """msenas's SOPs, MACs and energy per sample beside spikingjelly's op_counter, on the demo's best genome."""
    import torch
    from spikingjelly.activation_based.op_counter import ACCounter, DispatchCounterMode, MACCounter, SynOpCounter

    from msenas.config import DataConfig
    from msenas.energy import EnergyConfig
    from msenas.genome import io
    from msenas.nn.cost import complexity
    from msenas.nn.maps import AvgPool2d
    from msenas.nn.monitor import SpikeMonitor
    from msenas.nn.network import build_network

    torch.set_num_threads(1)
    genome, _ = io.read(GENOME)
    dataset = DataConfig("digits", seed=0).build(4)
    x = torch.stack([dataset.test[i][0] for i in range(args.samples)]).unsqueeze(0).repeat(4, 1, 1, 1, 1)  # [T,B,...]
    torch.manual_seed(0)
    net = build_network(genome, dataset.info.in_shape, dataset.info.n_classes, T=4).eval()
    synops, acs, macs = SynOpCounter(), ACCounter(), MACCounter()
    by_sums, AvgPool2d.by_sums = AvgPool2d.by_sums, False   # the counters read aten calls: torch's avg_pool2d
    try:
        with torch.no_grad():
            with DispatchCounterMode([synops, acs, macs]):
                net(x)
            with SpikeMonitor(net) as mon:
                net(x)
    finally:
        AvgPool2d.by_sums = by_sums
    n, e = x.shape[1], EnergyConfig()
    ours = mon.summary(n, e)
    dense = complexity(genome, dataset.info.in_shape, dataset.info.n_classes).macs
    out = {
        "msenas": {"sops": ours["sops"], "macs": ours["macs"], "energy_uj": ours["energy_pj"] / 1e6,
                   "dense_macs_per_step": dense, "dense_energy_uj": e.dense_pj(dense) / 1e6},
        "spikingjelly": {"synops": synops.get_total() / n, "acs": acs.get_total() / n, "macs": macs.get_total() / n,
                         "energy_uj": e.spiking_pj(macs.get_total() / n, acs.get_total() / n) / 1e6},
    }
    harness.emit(json.dumps(out, indent=1), json_path=args.json, data=out)
    return out


# ----------------------------------------------------------------------------- nir

DTYPES = {"float32": (np.float32, "float32"), "float64": (np.float64, "float64")}


def network(genome, in_shape, T, seed, dtype):
    """The network of a genome in `dtype`, BatchNorm statistics and affines drawn away from their initial values."""
    import torch

    from msenas.nn.network import build_network

    torch.manual_seed(seed)
    net = build_network(genome, in_shape, 10, T).to(dtype)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.1, 1.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.5)
    return net.eval()


def compare(genome, in_shape, T, seed, batch, dtype_name):
    """Differing spikes, neuron steps, largest logit difference and class agreement of msenas and its NIR graph."""
    import nir
    import torch

    from msenas.export import nir_torch
    from msenas.export.nir_graph import network_graph, write_graph

    np_dtype, dtype = DTYPES[dtype_name][0], getattr(torch, DTYPES[dtype_name][1])
    net = network(genome, in_shape, T, seed, dtype)
    with tempfile.TemporaryDirectory() as tmp:                 # through the file, as a reader gets it
        graph = nir.read(write_graph(network_graph(net, np_dtype), Path(tmp) / "net.nir"))
    x = 1.5 * torch.rand((batch, *in_shape), generator=torch.Generator().manual_seed(seed)).to(dtype)
    ol, ours = nir_torch.network_spikes(net, x)
    tl, theirs = nir_torch.graph_spikes(graph, x, T, dtype)
    differ = sum(int((theirs[p][:s.shape[0]] != s).sum()) for p, s in ours.items())
    total = sum(s.numel() for s in ours.values())
    agree = float((ol.mean(0).argmax(1) == tl.mean(0).argmax(1)).float().mean())
    return {"differing_spikes": differ, "neuron_steps": total, "max_logit_diff": float((ol - tl).abs().max()),
            "class_agreement": agree}


def nir_rows(args) -> list[dict]:
    """One row per (space, genome seed, dtype)."""
    import torch

    from msenas.genome import get_space, sample

    torch.set_num_threads(1)
    in_shape = tuple(int(v) for v in args.in_shape.split(","))
    rows = []
    for space in args.spaces.split(","):
        for seed in range(args.genomes):
            g = sample(get_space(space), np.random.default_rng(seed))
            for name in DTYPES:
                rows.append({"space": space, "seed": seed, "dtype": name,
                             **compare(g, in_shape, args.T, seed, args.batch, name)})
    return rows


def nir_check(args) -> list[dict]:
    """The table over spaces and precisions."""
    rows, cells = nir_rows(args), []
    for space in args.spaces.split(","):
        for name in DTYPES:
            rs = [r for r in rows if r["space"] == space and r["dtype"] == name]
            share = sum(r["differing_spikes"] for r in rs) / sum(r["neuron_steps"] for r in rs)
            cells.append((space, name, len(rs), sum(r["differing_spikes"] > 0 for r in rs), f"{share:.2e}",
                          f"{max(r['max_logit_diff'] for r in rs):.2e}",
                          f"{min(r['class_agreement'] for r in rs):.3f} (min)"))
    text = harness.table(["space", "dtype", "genomes", "with a differing spike", "differing spikes",
                          "max logit diff", "class agreement"], cells, [False, False] + [True] * 5)
    harness.emit(text, json_path=args.json, data={"args": {k: v for k, v in vars(args).items() if k != "fn"},
                                                   "rows": rows})
    return rows


def main(argv=None):
    p, sub = harness.subcommands(__doc__)
    g = harness.command(sub, "golden", golden, "compare two golden-check folders")
    g.add_argument("before")
    g.add_argument("after")
    e = harness.command(sub, "energy", energy, "msenas's counts beside spikingjelly's op_counter", "json")
    e.add_argument("--samples", type=int, default=64, help="test digits (a batch)")
    n = harness.command(sub, "nir", nir_check, "msenas against its NIR export run by nirtorch", "json")
    n.add_argument("--spaces", default="tiny,fixed")
    n.add_argument("--genomes", type=int, default=20, help="per space (seeds 0..N-1)")
    n.add_argument("--in-shape", default="1,8,8")
    n.add_argument("-T", type=int, default=4)
    n.add_argument("--batch", type=int, default=16)
    return harness.dispatch(p, argv)


if __name__ == "__main__":
    main()
