"""A trained network as a NIR graph (Neuromorphic Intermediate Representation: Pedersen et al.,
Nature Communications 15, 8122 (2024)), built by walking the modules of msenas.nn.network.

Not by tracing (spikingjelly's exporter fails on our networks: torch.fx cannot trace the
neurons, which branch on their state). Conventions, and what a reader must do (docs/nir.md):

- one evaluation of the graph is one time step of DT = 1 ms; the input is the image at every
  step (direct encoding), the output that step's logits; the class scores are their mean over T;
- LIF: tau = spikingjelly's tau (in steps) * DT, R = 1, v_leak = v_reset = 0; PLIF is a LIF
  with its learned tau; IF: R = 1 / DT. Forward Euler at DT is then spikingjelly's update.
  v_threshold is the number just below ours in the export precision: NIR fires at v > v_threshold,
  spikingjelly at v >= it;
- conv + BatchNorm: one Conv2d with the eval-mode BatchNorm and the edge's sign folded in;
- avgpool3x3 (padding not counted): AvgPool2d (padding counted), then Scale(sign * 9 / cells in the window);
  maxpool3x3 of spikes: SumPool2d, then Threshold 0.5 (the max of 0/1 values: any of them is 1);
- sums: fan-in edges (a NIR node sums its inputs); a term with a coefficient other than 1
  (an inhibitory identity edge) passes a Scale node; concat integration: the projection's
  neuron and 1x1 conv split per motif (both act per channel), their outputs summed;
- a delay-1 feedback edge closes a cycle into a Scale(1) junction holding its target node's sum.
  A discrete-time executor breaks a cycle with a one-step delay; nirtorch puts it where it meets a
  node whose input is not computed yet, and delivers that input's previous value (zero at the
  first step). Node names begin with a topological index and nirtorch visits nodes in name order
  (after nir.read), so it meets the junction before the edge: exactly the delay-1 edge.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import nir
import numpy as np

from msenas.export.nir_builder import DT, GraphBuilder, NIRExportError, conv_node
from msenas.export.nir_parts import cell_value, dims, head_value
from msenas.nn.cost import plan
from msenas.nn.network import Network


def network_graph(model: Network, dtype: type = np.float32) -> nir.NIRGraph:
    """The NIR graph of a network with eval-mode BatchNorm; NIRExportError names a part NIR cannot express."""
    g = model.genome
    if g.attention != "none":
        raise NIRExportError(f"attention {g.attention!r}: NIR has no primitive for it (an attention rescales a map "
                             f"by weights computed from that map)")
    b = GraphBuilder(dtype)
    shapes = plan(g, model.in_shape)
    x = b.add("input", nir.Input({"input": np.array(model.in_shape)}), {}, model.in_shape)
    conv, bn = model.stem
    states = [{b.add("stem", conv_node(b, conv, bn, 1.0, model.in_shape[1:]), {x: 1.0}, dims(shapes[0]), "stem"): 1.0}]
    for i, (cell, reads) in enumerate(zip(model.cells, g.inputs)):
        states.append(cell_value(b, cell, [states[s] for s in reads], [shapes[s] for s in reads], shapes[i + 1], i))
    head_value(b, model, states[-1], shapes[-1])
    return b.graph(metadata(model))


def metadata(model: Network) -> dict:
    """The graph's metadata: what a reader needs to run it as msenas does (no reader may depend on it)."""
    from msenas import __version__
    from msenas.genome.io import dumps

    return {"producer": f"msenas {__version__}", "dt_ms": DT, "time_steps": model.T,
            "input": "the image [C,H,W] at every time step (direct encoding)",
            "output": "logits [classes] per time step; class scores = their mean over time_steps",
            "neurons": "forward Euler at dt_ms; a node's state starts at 0", "genome": dumps(model.genome)}


def write_graph(graph: nir.NIRGraph, path: str | os.PathLike) -> Path:
    """nir.write (HDF5) to memory, then an atomic write: an old file stays whole if this fails."""
    from msenas.atomic import atomic_write_bytes

    buf = io.BytesIO()
    nir.write(buf, graph)
    return atomic_write_bytes(path, buf.getvalue())


def export_result(result_dir: str | os.PathLike, out: str | os.PathLike | None = None,
                  dtype: type = np.float32) -> Path:
    """Write a trained result folder's network as a NIR file (default RESULT_DIR/network.nir); its path."""
    from msenas.outguard import check_file
    from msenas.rundir import NIR_GRAPH
    from msenas.train.result import load_result

    target = check_file(Path(result_dir) / NIR_GRAPH if out is None else out, "--out")
    model, _, _ = load_result(result_dir)
    graph = network_graph(model.eval(), dtype)
    return write_graph(graph, target)
