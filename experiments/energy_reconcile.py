"""msenas's energy counts beside spikingjelly's op_counter (SynOpCounter, ACCounter, MACCounter), one network.

The demo's best genome (experiments/genomes/demo_best.json) at initialisation (seed 0), 64 test digits at
16x16, T = 4; per sample. Results in docs/energy.md, "Against spikingjelly's op_counter".

    python experiments/energy_reconcile.py
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from spikingjelly.activation_based.op_counter import ACCounter, DispatchCounterMode, MACCounter, SynOpCounter

from msenas.config import DataConfig
from msenas.energy import EnergyConfig
from msenas.genome import io
from msenas.nn.cost import complexity
from msenas.nn.maps import AvgPool2d
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network

GENOME = Path(__file__).resolve().parent / "genomes" / "demo_best.json"


def main() -> None:
    AvgPool2d.by_sums = False      # spikingjelly's counters read aten calls: pool with torch's avg_pool2d
    torch.set_num_threads(1)
    genome, _ = io.read(GENOME)
    dataset = DataConfig("digits", seed=0).build(4)
    x = torch.stack([dataset.test[i][0] for i in range(64)]).unsqueeze(0).repeat(4, 1, 1, 1, 1)   # [T,B,C,H,W]
    torch.manual_seed(0)
    net = build_network(genome, dataset.info.in_shape, dataset.info.n_classes, T=4).eval()
    synops, acs, macs = SynOpCounter(), ACCounter(), MACCounter()
    with torch.no_grad():
        with DispatchCounterMode([synops, acs, macs]):
            net(x)
        with SpikeMonitor(net) as mon:
            net(x)
    n, e = x.shape[1], EnergyConfig()
    ours = mon.summary(n, e)
    dense = complexity(genome, dataset.info.in_shape, dataset.info.n_classes).macs
    print(json.dumps({
        "msenas": {"sops": ours["sops"], "macs": ours["macs"], "energy_uj": ours["energy_pj"] / 1e6,
                   "dense_macs_per_step": dense, "dense_energy_uj": e.dense_pj(dense) / 1e6},
        "spikingjelly": {"synops": synops.get_total() / n, "acs": acs.get_total() / n, "macs": macs.get_total() / n,
                         "energy_uj": e.spiking_pj(macs.get_total() / n, acs.get_total() / n) / 1e6},
    }, indent=1))


if __name__ == "__main__":
    main()
