"""Benchmark: how often a network run from its NIR export (msenas export-nir, read by nirtorch) differs from msenas.

For sampled genomes of the given spaces, each network built with the default neurons (tau 2, threshold 0.5),
BatchNorm statistics and affines drawn away from their initial values (as a trained network has them), it
exports the graph in float32 and in float64, runs msenas and nirtorch (msenas.export.nir_torch) in that
precision on the same random images, and counts the genomes with any differing spike, the share of differing
spikes over all neurons, the largest logit difference and the agreement of the predicted classes (argmax of
the mean logits). Differences come only from potentials landing exactly on the threshold, where a reader's
sum x (1/6) and spikingjelly's sum / 6 can round apart (docs/nir.md).

    python experiments/nir_agreement.py --genomes 20 --json docs/data/nir_agreement.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import nir
import numpy as np
import torch

from msenas.export import nir_torch
from msenas.export.nir_graph import network_graph, write_graph
from msenas.genome import get_space, sample
from msenas.nn.network import build_network

DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


def network(genome, in_shape, T, seed, dtype):
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
    np_dtype, dtype = DTYPES[dtype_name]
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spaces", default="tiny,fixed")
    p.add_argument("--genomes", type=int, default=20, help="per space (seeds 0..N-1)")
    p.add_argument("--in-shape", default="1,8,8")
    p.add_argument("-T", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    in_shape = tuple(int(v) for v in args.in_shape.split(","))
    rows = []
    for space in args.spaces.split(","):
        for seed in range(args.genomes):
            g = sample(get_space(space), np.random.default_rng(seed))
            for name in DTYPES:
                rows.append({"space": space, "seed": seed, "dtype": name,
                             **compare(g, in_shape, args.T, seed, args.batch, name)})
    print("| space | dtype | genomes | with a differing spike | differing spikes | max logit diff | class agreement |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for space in args.spaces.split(","):
        for name in DTYPES:
            rs = [r for r in rows if r["space"] == space and r["dtype"] == name]
            share = sum(r["differing_spikes"] for r in rs) / sum(r["neuron_steps"] for r in rs)
            print(f"| {space} | {name} | {len(rs)} | {sum(r['differing_spikes'] > 0 for r in rs)} | {share:.2e} | "
                  f"{max(r['max_logit_diff'] for r in rs):.2e} | {min(r['class_agreement'] for r in rs):.3f} (min) |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
