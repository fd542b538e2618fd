"""Compare two folders of experiments/golden_check.sh: hall of fame (keys, fitness), every evaluated genome's
proxies and spikes, the training history, the MA-DARTS genome and alphas.

    python experiments/golden_compare.py /tmp/gold-before /tmp/gold-after
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def load(root: Path) -> dict:
    hof = json.loads((root / "search" / "hall_of_fame.json").read_text())
    evaluations = root / "search" / "evaluations.jsonl"     # runs older than that file: the hall of fame's records
    records = ([json.loads(line)["record"] for line in evaluations.read_text().splitlines()] if evaluations.is_file()
               else [e["record"] for e in hof])
    history = json.loads((root / "train" / "metrics.json").read_text())["history"]
    genome = json.loads((root / "darts" / "genome.json").read_text())
    return {
        "search: hall of fame": [(e["key"], e["fitness"]) for e in hof],
        "search: proxies and spikes": {r["key"]: (r["proxies"], r["spikes"]) for r in records},
        "train: history": [(h["epoch"], h["train_loss"], h["test_acc"], h["test_loss"], h["spikes"]) for h in history],
        "darts: genome": {k: genome.get(k) for k in ("cells", "inputs", "reductions", "channels")},
        "darts: alphas": json.loads((root / "darts" / "alphas.json").read_text()),
    }


def main() -> None:
    a, b = load(Path(sys.argv[1])), load(Path(sys.argv[2]))
    key = "search: proxies and spikes"          # genomes both folders evaluated
    common = sorted(set(a[key]) & set(b[key]))
    a[key], b[key] = ({k: d[key][k] for k in common} for d in (a, b))
    for name in a:
        print(f"{name}: {'identical' if a[name] == b[name] else 'DIFFERENT'}" + (f" ({len(common)} genomes)"
                                                                                   if name == key else ""))


if __name__ == "__main__":
    main()
