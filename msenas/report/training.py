"""Result-folder figures (msenas train / transfer): spikes per cell (NoS) and the learning curves."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from msenas.report.figures import FigureFile, new_figure, save


def nos_figure(history: Sequence[dict], final: dict, path: str | Path) -> FigureFile:
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
    acc = final.get("test_acc")
    head = f"NoS per cell (total {total:.4g})" if isinstance(total, (int, float)) else "NoS per cell"
    bars_ax.set_title(head + (f", test acc {acc:.3f}" if isinstance(acc, (int, float)) else ""))
    bars_ax.margins(y=0.15)
    epochs = [h["epoch"] for h in history]
    per = np.array([h.get("spikes_per_cell") or [np.nan] * len(cells) for h in history], dtype=float)
    for i in range(per.shape[1] if per.ndim == 2 else 0):
        epochs_ax.plot(epochs, per[:, i], "o-", label=f"cell {i}")
    epochs_ax.set_xlabel("epoch")
    epochs_ax.set_ylabel("spikes per sample (test split)")
    epochs_ax.set_ylim(bottom=0, top=max(1.0, float(np.nanmax(per, initial=0.0))) * 1.15)
    epochs_ax.set_title("NoS per cell over training")
    if epochs:
        epochs_ax.set_xticks(epochs[:: max(1, len(epochs) // 12)])
    epochs_ax.grid(alpha=0.3)
    if len(cells):
        epochs_ax.legend(fontsize=8, ncols=2)
    return save(fig, path)


def curves_figure(history: Sequence[dict], path: str | Path) -> FigureFile:
    """Train and test accuracy, train and test loss per epoch."""
    fig = new_figure(10.0, 4.2)
    acc_ax, loss_ax = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    for ax, kind in ((acc_ax, "acc"), (loss_ax, "loss")):
        for split, style in (("train", "o-"), ("test", "s--")):
            values = [h.get(f"{split}_{kind}", np.nan) for h in history]
            ax.plot(epochs, values, style, label=f"{split}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if kind == "acc" else "loss")
        ax.set_title("accuracy" if kind == "acc" else "loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
        if len(epochs):
            ax.set_xticks(epochs[:: max(1, len(epochs) // 12)])
    acc_ax.set_ylim(0, 1.02)
    return save(fig, path)
