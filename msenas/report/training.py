"""Result-folder figures (msenas train / transfer): spikes per cell (NoS) and the learning curves."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from msenas.report.figures import FigureFile, new_figure, save


def nos_figure(history: Sequence[dict], final: dict, path: str | Path, split: str = "test") -> FigureFile:
    """Bars of spikes per sample in each cell (final evaluation) and each cell's spikes over epochs."""
    cells = [float(v) for v in final.get("spikes_per_cell") or []]
    fig = new_figure(10.0, 4.2)
    bars_ax, epochs_ax = fig.subplots(1, 2, width_ratios=[1.0, 1.2])
    x = np.arange(len(cells))
    bars = bars_ax.bar(x, cells, color="#6baed6", edgecolor="#08519c")
    bars_ax.bar_label(bars, labels=[f"{v:.3g}" for v in cells], fontsize=8, padding=2)
    bars_ax.set_xticks(x, [f"cell {i}" for i in x])
    bars_ax.set_ylabel("spikes per sample")
    total = final.get("spikes")
    acc = final.get(f"{split}_acc")
    head = f"NoS per cell (total {total:.4g})" if isinstance(total, (int, float)) else "NoS per cell"
    bars_ax.set_title(head + (f", {split} acc {acc:.3f}" if isinstance(acc, (int, float)) else ""))
    bars_ax.margins(y=0.15)
    epochs = [h["epoch"] for h in history]
    per = np.array([h.get("spikes_per_cell") or [np.nan] * len(cells) for h in history], dtype=float)
    for i in range(per.shape[1] if per.ndim == 2 else 0):
        epochs_ax.plot(epochs, per[:, i], "o-", label=f"cell {i}")
    epochs_ax.set_xlabel("epoch")
    epochs_ax.set_ylabel(f"spikes per sample ({split} split)")
    epochs_ax.set_ylim(bottom=0, top=max(1.0, float(np.nanmax(per, initial=0.0))) * 1.15)
    epochs_ax.set_title("NoS per cell over training")
    if epochs:
        epochs_ax.set_xticks(epochs[:: max(1, len(epochs) // 12)])
    epochs_ax.grid(alpha=0.3)
    if len(cells):
        epochs_ax.legend(fontsize=8, ncols=2)
    return save(fig, path)


def curves_figure(history: Sequence[dict], path: str | Path, split: str = "test") -> FigureFile:
    """Train and test (or `split`) accuracy and loss per epoch."""
    fig = new_figure(10.0, 4.2)
    acc_ax, loss_ax = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    for ax, kind in ((acc_ax, "acc"), (loss_ax, "loss")):
        for name, style in (("train", "o-"), (split, "s--")):
            values = [h.get(f"{name}_{kind}", np.nan) for h in history]
            ax.plot(epochs, values, style, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if kind == "acc" else "loss")
        ax.set_title("accuracy" if kind == "acc" else "loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
        if len(epochs):
            ax.set_xticks(epochs[:: max(1, len(epochs) // 12)])
    acc_ax.set_ylim(0, 1.02)
    return save(fig, path)


def alphas_figure(alphas: dict, path: str | Path) -> FigureFile:
    """Heat maps of the last softmaxed architecture weights: one row per edge, one column per op."""
    last = alphas["history"][-1]
    kinds = [k for k in ("normal", "reduce") if k in last]
    ops, edges = alphas.get("ops", []), alphas.get("edges", [])
    fig = new_figure(4.0 + 1.1 * len(ops) * len(kinds), 1.6 + 0.42 * len(edges))
    axes = np.atleast_1d(fig.subplots(1, len(kinds)))
    for ax, kind in zip(axes, kinds):
        w = np.asarray(last[kind], dtype=float)
        im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(w.max(initial=0.0)), 1e-9), aspect="auto")
        for (r, c), v in np.ndenumerate(w):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w" if v < 0.6 * w.max() else "k")
        ax.set_xticks(range(len(ops)), ops, rotation=40, ha="right", fontsize=8)
        ax.set_yticks(range(len(edges)), [f"{s}->{d}" for s, d in edges], fontsize=8)
        ax.set_title(f"{kind} cells, epoch {last.get('epoch', '?')}")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return save(fig, path)
