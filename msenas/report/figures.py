"""Search-run figures: fitness over generations, population diversity, the Pareto front.

Figures are drawn on `matplotlib.figure.Figure` objects (the Agg canvas, no
pyplot state), saved at a fixed size and DPI so a caller knows the pixel size.
Fitness values and cost objectives that stand for a failed or dead genome
(msenas.fitness.record.usable_values) are left out of the plots.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from msenas.atomic import atomic_write_bytes
from msenas.fitness.record import usable_values

DPI = 100
EXCITATORY, INHIBITORY = "#c0392b", "#2166ac"


@dataclass(frozen=True)
class FigureFile:
    """A PNG written by the report, with its pixel size."""

    path: Path
    width: int
    height: int


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure of about width x height inches at DPI, a whole number of pixels."""
    px = (round(width * DPI), round(height * DPI))
    return Figure(figsize=((px[0] + 0.01) / DPI, (px[1] + 0.01) / DPI), dpi=DPI, layout="constrained")


def save(fig: Figure, path: str | Path) -> FigureFile:
    """Write the figure as PNG (fixed size, no tight bbox, atomically) and return its file record."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png", facecolor="white")
    atomic_write_bytes(path, buf.getvalue())          # the user's umask; WriteError names the path
    w, h = fig.bbox.size  # Agg renders int(width) x int(height) pixels
    return FigureFile(path, int(w), int(h))


def _series(gens: Sequence[dict], name: str) -> np.ndarray:
    return usable_values([g.get(name) for g in gens])


def fitness_figure(gens: Sequence[dict], path: str | Path, title: str = "") -> FigureFile:
    """Best, mean +- std and min of the population's fitness per generation."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    x = np.array([g["gen"] for g in gens])
    best, mean, std, low = (_series(gens, k) for k in ("best", "mean", "std", "min"))
    ax.fill_between(x, mean - std, mean + std, color="#9ecae1", alpha=0.6, label="mean ± std")
    ax.plot(x, mean, "o-", color="#3182bd", label="mean")
    ax.plot(x, best, "s-", color="#e6550d", lw=2, label="best")
    ax.plot(x, low, "v--", color="#636363", lw=1, label="min")
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness (higher is better)")
    ax.set_title(title or "fitness over generations")
    _integer_xticks(ax, x)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return save(fig, path)


def diversity_figure(gens: Sequence[dict], path: str | Path) -> FigureFile:
    """Population diversity (mean pairwise Hamming distance, distinct genomes) and evaluations per generation."""
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    x = np.array([g["gen"] for g in gens])
    ax.plot(x, [g.get("diversity", np.nan) for g in gens], "o-", color="#756bb1", lw=2,
            label="diversity (mean pairwise gene distance)")
    if all("unique" in g for g in gens):
        ax.plot(x, [g["unique"] for g in gens], "s--", color="#31a354", label="distinct genomes (fraction)")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("generation")
    ax.set_ylabel("fraction")
    _integer_xticks(ax, x)
    ax.grid(alpha=0.3)
    counts = ax.twinx()
    width = 0.35
    counts.bar(x - width / 2, [g.get("evaluations", 0) for g in gens], width, color="#bdbdbd", alpha=0.7,
               label="new evaluations")
    counts.bar(x + width / 2, [g.get("dead", 0) + g.get("failures", 0) for g in gens], width,
               color="#252525", alpha=0.6, label="dead or failed")
    counts.set_ylabel("genomes")
    counts.set_zorder(ax.get_zorder() - 1)
    ax.patch.set_visible(False)
    lines = ax.get_legend_handles_labels()
    bars = counts.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], loc="upper right", fontsize=8)
    ax.set_title("population diversity")
    return save(fig, path)


def _integer_xticks(ax, x: np.ndarray) -> None:
    if len(x):
        step = max(1, int(math.ceil(len(x) / 12)))
        ax.set_xticks(x[::step])
        ax.set_xlim(x.min() - 0.5, x.max() + 0.5)


def objective_points(objs: Sequence[Sequence[float]]) -> np.ndarray:
    """[N, k] objective values with failed/dead rows (worst fitness, penalty costs) removed."""
    a = np.asarray([list(o) for o in objs], dtype=float).reshape(len(objs), -1)
    if a.size == 0:
        return a
    ok = np.isfinite(usable_values(a[:, 0])) & np.all(np.isfinite(usable_values(a[:, 1:].ravel(), cost=True))
                                                       .reshape(len(a), -1), axis=1)
    return a[ok]


def pareto_figure(objectives: Sequence[str], front: Sequence[Sequence[float]], gen_fronts: Sequence[dict],
                  evaluated: Sequence[Sequence[float]], path: str | Path) -> FigureFile:
    """Fitness against each cost objective: every evaluated genome, each generation's front, the final front."""
    pairs = [(0, j) for j in range(1, len(objectives))]
    fig = new_figure(6.0 * len(pairs), 4.6)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    seen, best = objective_points(evaluated), objective_points(front)
    cmap = _cmap("viridis")
    n = max(1, len(gen_fronts) - 1)
    for ax, (i, j) in zip(axes, pairs):
        if len(seen):
            ax.scatter(seen[:, j], seen[:, i], s=14, color="#cccccc", label="evaluated genomes", zorder=1)
        for k, g in enumerate(gen_fronts):
            pts = objective_points(g.get("front") or [])
            if len(pts):
                ax.scatter(pts[:, j], pts[:, i], s=18, color=cmap(k / n), zorder=2,
                           label="front per generation (dark = early)" if k == 0 else None)
        if len(best):
            order = np.argsort(best[:, j])
            ax.step(best[order, j], best[order, i], where="post", color="#e6550d", lw=1.5, zorder=3)
            ax.scatter(best[:, j], best[:, i], s=60, marker="*", color="#e6550d", zorder=4,
                       label=f"Pareto front ({len(best)})")
        ax.set_xlabel(f"{objectives[j]} (lower is better)")
        ax.set_ylabel(f"{objectives[i]} (higher is better)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        ax.set_title(f"{objectives[i]} vs {objectives[j]}")
    return save(fig, path)


def _cmap(name: str):
    from matplotlib import colormaps

    return colormaps[name]
