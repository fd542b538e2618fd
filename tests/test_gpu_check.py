"""experiments/gpu_check.py runs end to end on the CPU at toy sizes (the GPU figures come from a GPU machine)."""
import json
import sys
from pathlib import Path

import numpy as np

from msenas.genome import get_space, sample, save

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import gpu_check  # noqa: E402
from test_data import fake_cifar10  # noqa: E402


def test_cpu_mode_prints_every_check_and_writes_its_table(tmp_path):
    data = fake_cifar10(tmp_path / "data", rows=40)           # 200 train, 40 test images in the python layout
    genome = tmp_path / "g.json"
    save(sample(get_space("fixed"), np.random.default_rng(1)), genome)
    res = gpu_check.main(["--data-dir", str(data), "--device", "cpu", "--small", "--genome", str(genome),
                          "--out", str(tmp_path / "out")])
    checks = [(r["check"], r["device"]) for r in res["rows"]]
    assert checks == [("fitness", "cpu"), ("train", "cpu"), ("accuracy", "cpu"), ("darts", "cpu")]
    assert all(r["value"] > 0 for r in res["rows"] if r["check"] != "accuracy")
    assert 0.0 <= res["rows"][2]["value"] <= 1.0
    saved = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert saved["rows"] == res["rows"] and "| fitness | cpu |" in (tmp_path / "out" / "gpu_check.md").read_text()
