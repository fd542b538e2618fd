"""The network RDM of a genome next to the target RDM, on the run's probe batch (SPEC 3.1).

Rebuilt exactly as the fitness does it (msenas.fitness.evaluate): the same
probe (make_probe with the run seed), the first initialisation (repeat 0,
seeded from the genome key and the run seed), a forward pass, then, when the
run's fitness reads RDMs after k steps (proxy `rdm_k`), the same k Adam steps;
the RDM and its correlation come from msenas.fitness.rdm. With one repeat the
correlation shown equals the recorded `rdm` / `rdm_k` proxy value.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from msenas.report.figures import FigureFile, new_figure, save


@dataclass(frozen=True)
class RdmView:
    """Network and target RDMs of one genome on the probe, and how they agree."""

    network: np.ndarray      # [N, N] RDM of the shown cell
    target: np.ndarray       # [N, N] target RDM
    labels: np.ndarray       # [N] probe labels (sorted by class)
    cell: int                # the cell whose representation is shown
    cell_scores: tuple[float, ...]  # correlation of every cell's RDM with the target (dead: -1)
    score: float             # the fitness readout (last, mean or max over cells)
    dead: bool               # the shown representation is silent or constant
    stage: str               # "at initialisation" or "after k steps"
    metric: str
    correlation: str
    readout: str
    repeats: int


def probe_rdms(genome, fitness: Mapping, data: Mapping, seed: int) -> RdmView:
    """Rebuild `genome` as the run's fitness did and compute its RDMs on the probe batch."""
    from msenas.data import get_dataset
    from msenas.fitness.config import FitnessConfig
    from msenas.fitness.evaluate import initialised_network
    from msenas.fitness.measure import measure, train_steps
    from msenas.fitness.probe import make_probe
    from msenas.fitness.rdm import READOUTS, network_rdm, rdm_score
    from msenas.genome.io import key
    from msenas.memory import check_memory

    cfg = FitnessConfig.from_dict({**dict(fitness), "device": "cpu"})
    options = dict(data.get("options") or {})
    ds = get_dataset(str(data.get("dataset")), data.get("data_dir"), T=cfg.T, seed=seed, **options)
    probe = make_probe(ds, cfg, seed)
    few = "rdm_k" in cfg.proxy_names()
    batch = max(len(probe.y), cfg.batch_size if few else 0)   # a hall of fame edited by hand may hold any genome
    check_memory(genome, probe.in_shape, probe.n_classes, batch=batch, T=cfg.T, training=few,
                 what="rebuild for rdm.png")
    net = initialised_network(genome, key(genome), 0, probe, cfg)          # exactly the fitness's first repeat
    m = measure(net, probe, cfg.T)
    if few:
        train_steps(net, probe, cfg.T, cfg.steps, cfg.batch_size, cfg.lr)
        m = measure(net, probe, cfg.T)
    results = [rdm_score(r, probe.target, cfg.metric, cfg.correlation) for r in m.cell_counts]
    scores = tuple(float(s) for s, _ in results)
    cell = int(np.argmax(scores)) if cfg.readout == "max" else len(scores) - 1
    return RdmView(
        network=network_rdm(m.cell_counts[cell], cfg.metric), target=np.asarray(probe.target, dtype=float),
        labels=np.asarray(probe.y), cell=cell, cell_scores=scores, score=READOUTS.get(cfg.readout)(list(scores), float),
        dead=bool(results[cell][1]), stage=f"after {cfg.steps} steps" if few else "at initialisation",
        metric=cfg.metric, correlation=cfg.correlation, readout=cfg.readout, repeats=cfg.repeats,
    )


def rdm_figure(view: RdmView, path: str | Path, title: str = "") -> FigureFile:
    """Network RDM and target RDM side by side, class blocks outlined, the correlation in the title."""
    fig = new_figure(10.0, 5.0)
    axes = fig.subplots(1, 2)
    net_title = f"network RDM, cell {view.cell} ({view.metric}, {view.stage})"
    for ax, m, name in ((axes[0], view.network, net_title), (axes[1], view.target, "target RDM")):
        im = ax.imshow(m, cmap="viridis", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8, label="dissimilarity")
        _class_blocks(ax, view.labels)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("probe sample (ticks: class)")
    axes[0].set_ylabel("probe sample (ticks: class)")
    rho = view.cell_scores[view.cell]
    head = f"{view.correlation} correlation of cell {view.cell} with the target: {rho:.4f}"
    if view.dead:
        head += " (dead: silent or constant representation)"
    cells = ", ".join(f"{v:.3f}" for v in view.cell_scores)
    sub = f"every cell: [{cells}]; fitness readout '{view.readout}': {view.score:.4f}"
    if view.repeats > 1:
        sub += f" (first of {view.repeats} initialisations)"
    fig.suptitle(f"{title + chr(10) if title else ''}{head}\n{sub}", fontsize=11)
    return save(fig, path)


def _class_blocks(ax, labels: np.ndarray) -> None:
    """Thin lines between classes and class names as ticks at the centre of each block."""
    edges = np.flatnonzero(np.diff(labels)) + 0.5
    for e in edges:
        ax.axhline(e, color="white", lw=0.6)
        ax.axvline(e, color="white", lw=0.6)
    starts = np.concatenate([[-0.5], edges, [len(labels) - 0.5]])
    centres = (starts[:-1] + starts[1:]) / 2
    names = [str(labels[int(np.ceil(s + 0.5))]) for s in starts[:-1]]
    step = max(1, len(names) // 20)
    ax.set_xticks(centres[::step], names[::step], fontsize=7)
    ax.set_yticks(centres[::step], names[::step], fontsize=7)
