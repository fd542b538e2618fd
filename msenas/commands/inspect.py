"""msenas inspect GENOME.json: cells, motifs, ops per edge, feedback, inputs, costs."""
from __future__ import annotations

import argparse
import json
import sys

from msenas.commands import at_least


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("genome", help="genome JSON file (as written by export, darts or train)")
    p.add_argument("--in-shape", default=None,
                   help="input C,H,W for the cost figures (default: the file's in_shape, else 1,16,16)")
    p.add_argument("--classes", type=at_least(1), default=None,
                   help="number of classes for the cost figures (default: the file's n_classes, else 10)")
    p.add_argument("-T", "--time-steps", type=at_least(1), default=4, help="time steps for synaptic ops")


def run(args: argparse.Namespace) -> int:
    from msenas.genome import io
    from msenas.genome.types import GenomeError

    g, extras = io.read(args.genome)
    _, recorded = io.recorded_input(extras)
    try:
        in_shape = recorded or (1, 16, 16) if args.in_shape is None else tuple(int(v) for v in args.in_shape.split(","))
        assert len(in_shape) == 3 and min(in_shape) > 0
    except (ValueError, AssertionError):
        raise GenomeError(f"--in-shape: expected three positive integers C,H,W, got {args.in_shape!r}") from None
    classes = extras.get("n_classes")
    n_classes = args.classes or (classes if type(classes) is int and classes > 0 else 10)
    note = io.input_note(extras, in_shape, doing="costs below for")
    if note:
        print(note, file=sys.stderr)
    print(summary(g, in_shape, n_classes, args.time_steps, extras))
    return 0


def energy_line(macs: int, stem: int, T: int, energy=None) -> str:
    """The non-spiking equivalent's energy and the spiking network's bound (every input spiking at every step),
    from the network's MACs per step and those of its encoding layer."""
    from msenas.energy import EnergyConfig

    e = energy or EnergyConfig()
    bound = e.spiking_pj(stem * T, (macs - stem) * T)
    return (f"energy per sample (E_MAC {e.e_mac_pj} pJ, E_AC {e.e_ac_pj} pJ): non-spiking equivalent "
            f"{e.dense_pj(macs) / 1e6:.4g} uJ; spiking at most {bound / 1e6:.4g} uJ "
            "(every input spiking at every step; "
            f"train or evaluate measures it)")


def summary(g, in_shape: tuple[int, int, int], n_classes: int, T: int, extras: dict | None = None) -> str:
    """Readable multi-line description of a genome and its costs."""
    from msenas.genome.io import key
    from msenas.nn.cost import complexity, plan, stem_macs

    states = plan(g, in_shape)
    cost = complexity(g, in_shape, n_classes, T)
    name = lambda s: "stem" if s == 0 else f"cell {s - 1}"  # noqa: E731
    lines = [
        f"genome {key(g)}",
        f"macro: {g.n_cells} cells, base channels {g.channels}, stem x{g.stem_multiplier}, "
        f"reductions at cells {list(g.reductions)}, attention on cell outputs: {g.attention}",
        f"costs for input {in_shape}, {n_classes} classes, T={T}: params {cost.params:,}, "
        f"MACs/step {cost.macs:,}, dense synaptic ops {cost.synaptic_ops:,}",
        energy_line(cost.macs, stem_macs(in_shape, states[0]), T),
    ]
    for k, v in (extras or {}).items():
        lines.append(f"{k}: {json.dumps(v)}")
    for i, (cell, reads) in enumerate(zip(g.cells, g.inputs)):
        st = states[i + 1]
        red = " (reduction)" if i in g.reductions else ""
        lines.append(f"cell {i}{red}: {st.channels} ch @ {st.h}x{st.w}, reads {', '.join(name(s) for s in reads)}; "
                     f"{len(cell.motifs)} motif(s) integrated by {cell.integration}")
        for j, m in enumerate(cell.motifs):
            fb = sum(e.delay for e in m.edges)
            lines.append(f"  motif {j}: {m.template}, {m.n_inputs} input(s), {m.n_nodes} node(s), "
                         f"{len(m.edges)} edges{f', {fb} feedback' if fb else ''}; output = nodes {list(m.sinks())}")
            for e in m.edges:
                kind = "exc" if e.op.sign > 0 else "inh"
                tag = "  [feedback, delay 1]" if e.delay else ""
                lines.append(f"    {e.src} -> {e.dst}  {e.op.name:<11} {kind}  {e.op.neuron}{tag}")
    return "\n".join(lines)
