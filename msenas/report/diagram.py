"""The genome as a diagram (matplotlib only): a macro strip of states and reads, then one panel per cell.

Macro strip: stem, cells and head as boxes; an arrow for every state a cell
reads (skip reads arc above), reduction cells shaded. Cell panels: one row per
motif, nodes left to right in index order (inputs first), an arrow per edge
labelled with its op and neuron, red for excitatory and blue for inhibitory,
feedback (delay 1) edges dashed and curved below; sink nodes feed the motif
output, and the motif outputs meet at the cell's integration (sum or concat).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from msenas.genome.parts import OP_KINDS, OPS
from msenas.genome.types import Cell, Genome, Motif
from msenas.report.figures import EXCITATORY, INHIBITORY, FigureFile, new_figure, save

UNIT = 0.62      # inches per data unit in a cell panel
STRIP_UNIT = 0.95  # inches per data unit in the macro strip
NODE_PT = 9.0    # node marker radius in points
LABEL_GAP = 0.15  # distance of an edge label from its line (data units)
MAX_COLS = 3
SKIP_COLOURS = ("#555555", "#8c510a", "#01665e", "#762a83", "#b35806", "#1b7837", "#4d4d4d", "#c51b7d")


def edge_label(op) -> str:
    """Short label of an op: sign, short name, neuron (identity and zero have no neuron)."""
    sign = "+" if op.sign > 0 else "\u2212"
    neuron = f" {op.neuron}" if OP_KINDS.get(op.kind).has_neuron else ""
    return f"{sign}{OPS.get(op.name).short or op.name}{neuron}"


def genome_figure(g: Genome, path: str | Path, in_shape: tuple[int, int, int] | None = None,
                  title: str = "") -> FigureFile:
    """Draw the genome (macro strip + one panel per cell) and save it as PNG."""
    ncols = min(MAX_COLS, g.n_cells)
    nrows = math.ceil(g.n_cells / ncols)
    box = _Box.of(g)
    reach = max(i + 1 - s for i, r in enumerate(g.inputs) for s in r)
    strip_w, strip_h = (g.n_cells + 2.2) * STRIP_UNIT, (0.9 + 0.3 * reach) * STRIP_UNIT + 0.3
    panel_w, panel_h = box.width * UNIT, box.height * UNIT + 0.55
    fig = new_figure(max(6.0, strip_w, ncols * panel_w), strip_h + nrows * panel_h + 1.1)
    grid = fig.add_gridspec(1 + nrows, ncols, height_ratios=[strip_h] + [panel_h] * nrows)
    _macro_strip(fig.add_subplot(grid[0, :]), g, in_shape, reach)
    for i, cell in enumerate(g.cells):
        _cell_panel(fig.add_subplot(grid[1 + i // ncols, i % ncols]), g, i, cell, box)
    fig.suptitle(title or f"genome: {g.n_cells} cells, base channels {g.channels}", fontsize=12)
    _legend(fig)
    return save(fig, path)


def arc_height(dx: int, feedback: bool) -> float:
    """Height (data units) of the arc of a skip edge (above) or a feedback edge (below) spanning dx nodes."""
    return 0.35 + 0.22 * (abs(dx) - (1 if feedback else 2))


@dataclass(frozen=True)
class _Box:
    """Data-unit extent shared by every cell panel of one genome."""

    nodes: int    # widest motif: inputs + intermediate nodes
    up: float     # room above a motif row (skip arcs)
    down: float   # room below a motif row (feedback arcs)
    rows: int     # most motifs in a cell

    @classmethod
    def of(cls, g: Genome) -> "_Box":
        motifs = [m for c in g.cells for m in c.motifs]
        up = max([0.45] + [arc_height(e.dst - e.src, False) + LABEL_GAP + 0.15 for m in motifs for e in m.edges
                           if not e.delay and e.dst - e.src > 1])
        down = max([0.45] + [0.8 if e.src == e.dst else arc_height(e.dst - e.src, True) + LABEL_GAP + 0.15
                             for m in motifs for e in m.edges if e.delay])
        return cls(max(_motif_width(m) for m in motifs), up, down, max(len(c.motifs) for c in g.cells))

    @property
    def row(self) -> float:
        return self.up + self.down + 0.3

    @property
    def xlim(self) -> tuple[float, float]:
        return -1.9, self.nodes + 1.8

    @property
    def ylim(self) -> tuple[float, float]:
        return -(self.rows - 1) * self.row - self.down - 0.1, self.up + 0.15

    @property
    def width(self) -> float:
        return self.xlim[1] - self.xlim[0]

    @property
    def height(self) -> float:
        return self.ylim[1] - self.ylim[0]


def _motif_width(m: Motif) -> int:
    return m.n_inputs + m.n_nodes


def _state_names(g: Genome, in_shape: tuple[int, int, int] | None) -> list[str]:
    from msenas.nn.cost import plan

    states = plan(g, in_shape or (1, 1, 1))
    names = ["stem"] + [f"cell {i}" for i in range(g.n_cells)]
    return [f"{n}\n{s.channels}ch" + (f" {s.h}\u00d7{s.w}" if in_shape else "") for n, s in zip(names, states)]


def _macro_strip(ax, g: Genome, in_shape, reach: int) -> None:
    labels = _state_names(g, in_shape) + ["head\nLIF-pool-fc"]
    for x, text in enumerate(labels):
        reduction = 1 <= x <= g.n_cells and (x - 1) in g.reductions
        face = "#fdd0a2" if reduction else ("#e5e5e5" if x in (0, len(labels) - 1) else "#deebf7")
        ax.add_patch(FancyBboxPatch((x - 0.37, -0.3), 0.74, 0.6, boxstyle="round,pad=0.02",
                                    facecolor=face, edgecolor="#444444", lw=1))
        ax.text(x, 0, text + ("\nreduction" if reduction else ""), ha="center", va="center", fontsize=7.5)
    arrow = dict(arrowstyle="-|>", mutation_scale=10, lw=1.1, color="#555555", shrinkA=0, shrinkB=0)
    for i, reads in enumerate(g.inputs):
        skip = dict(arrow, color=SKIP_COLOURS[i % len(SKIP_COLOURS)])  # one colour per reading cell
        for s in reads:
            if s == i:  # the previous state: a straight arrow between neighbouring boxes
                ax.add_patch(FancyArrowPatch((s + 0.39, 0), (i + 0.61, 0), **arrow))
            else:       # a cross-cell read: an arc above, higher for longer skips
                ax.add_patch(FancyArrowPatch((s + 0.12, 0.32), (i + 0.88, 0.32), connectionstyle="arc3,rad=-0.5",
                                             **skip))
    ax.add_patch(FancyArrowPatch((g.n_cells + 0.39, 0), (g.n_cells + 0.61, 0), **arrow))
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_ylim(-0.35, 0.45 + 0.25 * reach)
    ax.set_aspect("equal", adjustable="box")
    ax.axis("off")
    ax.set_title("macro: the states each cell reads (arcs: cross-cell reads, one colour per reading cell; "
                 "orange: reduction)", fontsize=9)


def _cell_panel(ax, g: Genome, i: int, cell: Cell, box: _Box) -> None:
    outs = [_motif(ax, m, -r * box.row, box.nodes) for r, m in enumerate(cell.motifs)]
    if len(outs) > 1:
        x, y = box.nodes + 1.3, sum(p[1] for p in outs) / len(outs)
        for p in outs:
            ax.annotate("", (x - 0.25, y), p, arrowprops=dict(arrowstyle="-|>", color="#777777", lw=0.9,
                                                                 shrinkA=8, shrinkB=2))
        ax.text(x, y, "\u03a3" if cell.integration == "sum" else "cat", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", facecolor="#fff7bc", edgecolor="#999999"))
    red = " (reduction)" if i in g.reductions else ""
    ax.set_title(f"cell {i}{red}: {len(cell.motifs)} motif(s), {cell.integration}\nreads "
                 + ", ".join("stem" if s == 0 else f"cell {s - 1}" for s in g.inputs[i]), fontsize=9)
    ax.set_xlim(*box.xlim)
    ax.set_ylim(*box.ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.axis("off")


def _motif(ax, m: Motif, y: float, width: int) -> tuple[float, float]:
    """Draw one motif row at height y; return where its output node sits."""
    n = _motif_width(m)
    names = ["in"] if m.n_inputs == 1 else ["in0", "in1"]
    for k in range(n):
        face = "#f0f0f0" if k < m.n_inputs else ("#c7e9c0" if k in m.sinks() else "white")
        ax.plot(k, y, "o", ms=2 * NODE_PT, mfc=face, mec="#333333", zorder=3)
        ax.text(k, y, names[k] if k < m.n_inputs else str(k), ha="center", va="center", fontsize=7, zorder=4)
    seen: Counter = Counter()
    for e in m.edges:
        seen[(e.src, e.dst, e.delay)] += 1
        _edge(ax, e, y, seen[(e.src, e.dst, e.delay)])
    out = (width + 0.3, y)
    for s in m.sinks():  # the last node joins its output straight, earlier sinks curve below
        bend = "arc3,rad=0.0" if s == n - 1 else "arc3,rad=0.25"
        ax.annotate("", out, (s, y), arrowprops=dict(arrowstyle="-", color="#999999", lw=0.8, ls=":",
                                                       shrinkA=NODE_PT, shrinkB=4, connectionstyle=bend))
    ax.text(*out, "out", ha="center", va="center", fontsize=7, zorder=4,
            bbox=dict(boxstyle="round,pad=0.2", facecolor="#c7e9c0", edgecolor="#333333"))
    ax.text(-0.55, y, m.template, ha="right", va="center", fontsize=8, style="italic")
    return out


def _edge(ax, e, y: float, nth: int) -> None:
    colour = EXCITATORY if e.op.sign > 0 else INHIBITORY
    style = dict(arrowstyle="-|>", mutation_scale=9, color=colour, lw=1.3, zorder=2,
                 linestyle="--" if e.delay else "-")
    if e.delay and e.src == e.dst:  # self-loop below the node
        a, b = (e.src + 0.14, y - 0.2), (e.src - 0.14, y - 0.2)
        ax.add_patch(FancyArrowPatch(a, b, connectionstyle="arc3,rad=-2.4", shrinkA=0, shrinkB=0, **style))
        _label(ax, e.src, y - 0.62, edge_label(e.op), colour)
        return
    dx = e.dst - e.src
    if not e.delay and dx == 1:
        h = 0.0 if nth == 1 else 0.3 * (-1) ** nth   # a repeated neighbour edge bends away
    else:
        h = arc_height(dx, bool(e.delay)) * (1 if nth == 1 else -1)  # skips above, feedback below
    rad = -2 * h / abs(dx)   # arc3: the Bezier midpoint sits h above (dx > 0) or below (dx < 0) the chord
    ax.add_patch(FancyArrowPatch((e.src, y), (e.dst, y), connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=NODE_PT, shrinkB=NODE_PT, **style))
    ly = y - 0.5 * rad * dx + LABEL_GAP * (1 if rad * dx <= 0 else -1)  # just outside the arc, off the line
    _label(ax, (e.src + e.dst) / 2, ly, edge_label(e.op), colour)


def _label(ax, x: float, y: float, text: str, colour: str) -> None:
    ax.text(x, y, text, ha="center", va="center", fontsize=6.5, color=colour, zorder=5,
            bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85))


def _legend(fig) -> None:
    handles = [Line2D([], [], color=EXCITATORY, lw=1.5, label="excitatory (+)"),
               Line2D([], [], color=INHIBITORY, lw=1.5, label="inhibitory (\u2212)"),
               Line2D([], [], color="#555555", lw=1.5, ls="--", label="feedback (delay 1)"),
               Line2D([], [], marker="o", ls="", mfc="#c7e9c0", mec="#333333", label="sink node (summed to out)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False,
               title="c1/c3/c5 = conv k\u00d7k, avg/max = 3\u00d73 pooling, id = identity; then the neuron model",
               title_fontsize=8)
