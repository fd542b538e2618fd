"""Final pick by successive halving (SPEC 4.2): the k best genomes of a search trained briefly, the better half
longer, and so on, judged on a validation split carved from the training set, never on the test set.

Successive halving: Jamieson and Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter
Optimization", AISTATS 2016 (the inner loop of Hyperband, Li et al., JMLR 2018). Round r trains each
survivor from scratch for `epochs` x 2**r epochs on the train part of the split and keeps the better half
(rounded up) by validation accuracy, ties to the genome the search ranked higher; it ends with one genome.
Every training is a result folder under OUT/round-R/NN; a finished one is read back, not redone, so an
interrupted stage resumes. Its CPU seconds are recorded, so its cost can be set beside the search's.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from msenas.fitness.record import usable
from msenas.genome import Genome
from msenas.genome import io as genome_io
from msenas.search.config import MAX_K, HalvingConfig  # noqa: F401  (the [search.halving] table, with the run config)


def split_for_halving(dataset, val_fraction: float, seed: int):
    """The dataset with its train split cut in two, class by class: train part, and validation part as `test`."""
    from msenas.data import Dataset
    from msenas.data.splits import SplitView, labels_of, stratified_split

    train_idx, val_idx = stratified_split(labels_of(dataset.train), val_fraction, seed)
    return Dataset(dataset.info, SplitView(dataset.train, train_idx), SplitView(dataset.train, val_idx))


def successive_halving(genomes: list[Genome], dataset, cfg: HalvingConfig, T: int, seed: int, out_dir: str | Path,
                       progress: bool = False, data=None) -> dict:
    """Pick one of `genomes` (best first, as the search ranked them) by successive halving on a validation split
    of `dataset`'s train split; returns {"pick": index, "key", "rounds": [...], "cpu_s", "wall_s"}."""
    from msenas.rundir import METRICS, TRAIN_CHECKPOINT, read_json, write_json
    from msenas.train import TrainConfig, train

    out = Path(out_dir)
    split = split_for_halving(dataset, cfg.val_fraction, seed)
    alive = list(range(len(genomes)))
    rounds, cpu, wall, epochs = [], 0.0, 0.0, cfg.epochs
    while len(alive) > 1:
        r = len(rounds)
        n_epochs = max(1, math.ceil(epochs))
        tcfg = TrainConfig(epochs=n_epochs, T=T, seed=seed, batch_size=cfg.batch_size,
                           warmup_epochs=min(1.0, n_epochs / 2))
        scores = {}
        for i in alive:
            folder = out / f"round-{r}" / f"{i:02d}"
            done = (folder / METRICS).is_file() and read_json(folder / METRICS).get("final") is not None
            t0, c0 = time.perf_counter(), time.process_time()
            metrics = read_json(folder / METRICS) if done else train(
                genomes[i], split, tcfg, folder, progress=progress, data=data,
                resume=(folder / TRAIN_CHECKPOINT).is_file())            # a round cut off mid-training resumes
            if not done:
                write_json(folder / "cost.json", {"cpu_s": time.process_time() - c0,
                                                  "wall_s": time.perf_counter() - t0})
            cost = read_json(folder / "cost.json")
            cpu, wall = cpu + cost["cpu_s"], wall + cost["wall_s"]
            scores[i] = metrics["final"]["test_acc"]          # the validation part: `test` of the split
        ranked = sorted(alive, key=lambda i: (-scores[i], i))
        keep = ranked[:math.ceil(len(alive) / 2)]
        rounds.append({"round": r, "epochs": n_epochs, "val_acc": {genome_io.key(genomes[i]): scores[i] for i in alive},
                       "kept": [genome_io.key(genomes[i]) for i in sorted(keep)]})
        alive, epochs = sorted(keep), epochs * 2
    pick = alive[0]
    result = {"pick": pick, "key": genome_io.key(genomes[pick]), "candidates": [genome_io.key(g) for g in genomes],
              "rounds": rounds, "cpu_s": cpu, "wall_s": wall,
              "split": {"train": len(split.train), "validation": len(split.test), "seed": seed}}
    write_json(out / "halving.json", result)
    return result


def halve_run(run_dir: str | Path, progress: bool = True) -> dict | None:
    """The halving stage of a finished search run (its config's search.halving; None when k = 0): the k best
    genomes of its hall of fame within the budget, into RUN/halving/, the pick saved as RUN/pick.json."""
    from msenas.rundir import CONFIG, read_json
    from msenas.search.config import config_from_dict
    from msenas.search.results import dataset_info, read_entries, save_genome

    run_dir = Path(run_dir)
    cfg = config_from_dict(read_json(run_dir / CONFIG, "run config"))
    h = cfg.search.halving
    if h.k == 0:
        return None
    entries = [e for e in read_entries(run_dir) if usable(e["record"]) and not e["record"].get("violation")][:h.k]
    if len(entries) < 2:
        return None
    genomes = [genome_io.from_dict(e["genome"]) for e in entries]
    dataset = cfg.data.build(cfg.fitness.T, cfg.seed)
    data = cfg.data.replace(seed=cfg.data.seed if cfg.data.seed is not None else cfg.seed)
    result = successive_halving(genomes, dataset, h, cfg.fitness.T, cfg.seed, run_dir / "halving", progress, data)
    save_genome(run_dir / "pick.json", entries[result["pick"]], halving=str(run_dir / "halving" / "halving.json"),
                **dataset_info(run_dir))
    return result
