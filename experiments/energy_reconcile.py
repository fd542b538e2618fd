"""Reconcile msenas energy counts with spikingjelly op_counter (SynOpCounter, ACCounter, MACCounter) on the demo genome.

    python experiments/energy_reconcile.py      # docs/energy.md, "Against spikingjelly's op_counter"
"""
import json, torch
torch.set_num_threads(1)
from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter, ACCounter, MACCounter
from msenas.config import DataConfig
from msenas.genome import io
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network
from msenas.nn.cost import complexity
from msenas.energy import EnergyConfig
g, _ = io.read("experiments/genomes/demo_best.json")
ds = DataConfig("digits", seed=0).build(4)
x = torch.stack([ds.test[i][0] for i in range(64)])
torch.manual_seed(0)
net = build_network(g, ds.info.in_shape, ds.info.n_classes, T=4).eval()
xt = x.unsqueeze(0).repeat(4, 1, 1, 1, 1)
counters = [SynOpCounter(), ACCounter(), MACCounter()]
with torch.no_grad():
    with DispatchCounterMode(counters):
        net(xt)
    with SpikeMonitor(net) as mon:
        net(xt)
n = x.shape[0]
s = mon.summary(n)
c = complexity(g, ds.info.in_shape, ds.info.n_classes)
out = {"in_shape": ds.info.in_shape, "msenas_sops": s["sops"], "msenas_macs": s["macs"], "energy_uj": s["energy_pj"]/1e6,
       "sj_synops": counters[0].get_total()/n, "sj_acs": counters[1].get_total()/n, "sj_macs": counters[2].get_total()/n,
       "dense_macs_per_step": c.macs, "dense_energy_uj": EnergyConfig().dense_pj(c.macs)/1e6,
       "sj_energy_uj": (4.6*counters[2].get_total()/n + 0.9*counters[1].get_total()/n)/1e6}
print(json.dumps(out, indent=1))
