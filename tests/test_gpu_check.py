"""scripts/gpu_check.sh runs as its header documents, in its CPU form (the GPU figures come from a GPU machine).

The command is the header's `bash scripts/gpu_check.sh DATA_DIR OUT --cpu`, run from the repository root
with this test's python first on PATH (an activated environment), on a small CIFAR-10 folder in the python
layout that the test writes itself, so it needs neither ../shared nor a download.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_data import fake_cifar10

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def gpu_check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "scripts/gpu_check.sh", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_documented_cpu_command_writes_every_row(tmp_path):
    header = (ROOT / "scripts" / "gpu_check.sh").read_text()
    assert "bash scripts/gpu_check.sh DATA_DIR OUT --cpu" in header      # the command this test runs
    data = fake_cifar10(tmp_path / "data", rows=20)    # 100 train (10 per class), 20 test (2 per class)
    res = gpu_check(str(tmp_path / "data"), str(tmp_path / "out"), "--cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    saved = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    rows = saved["rows"]
    assert [(r["check"], r["device"]) for r in rows] == [
        ("neurons", "cpu"), ("fitness", "cpu"), ("fitness", "cpu"), ("train", "cpu"), ("train", "cpu"),
        ("train", "cpu"), ("accuracy", "cpu"), ("darts", "cpu"), ("total", "cpu")]
    assert rows[0]["value"] in ("fused-c", "spikingjelly")
    assert ["float32", "bfloat16 autocast"] == [r["note"].split(",")[0] for r in rows[1:3]]
    assert [r["note"].split(",")[0] for r in rows[3:6]] == ["float32", "float16", "bfloat16"]   # what train ran
    assert all(r["value"] > 0 for r in rows[1:6] + rows[7:])
    assert 0.0 <= rows[6]["value"] <= 1.0
    md = (tmp_path / "out" / "gpu_check.md").read_text()
    assert md in res.stdout + "\n" and "| train | cpu |" in md and "--device cpu --small" in md
    assert f"CIFAR-10 from {data}" in res.stderr


def test_bad_calls_are_one_line_errors(tmp_path):
    for args, says in ((["only-one"], "usage: bash scripts/gpu_check.sh DATA_DIR OUT [--cpu]"),
                       ([str(tmp_path), str(tmp_path / "o"), "--gpu"], "unknown option --gpu")):
        res = gpu_check(*args)
        (line,) = res.stderr.strip().splitlines()
        assert res.returncode == 2 and line.startswith("gpu_check: error: ") and says in line
    assert not (tmp_path / "o").exists()
