"""scripts/gpu_check.sh runs as its header documents, in its CPU form (the GPU figures come from a GPU machine).

The command is the header's `bash scripts/gpu_check.sh DATA_DIR OUT --cpu`, run from the repository root
with this test's python first on PATH (an activated environment), on a small CIFAR-10 folder in the python
layout that the test writes itself, so it needs neither ../shared nor a download.
"""
import json
import os
import shlex
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


def recipe(command: str) -> list[str]:
    """A command of experiments/cifar10.toml's header, as written there (comment lines joined, '#' dropped)."""
    lines = [ln.lstrip("#").strip() for ln in (ROOT / "experiments" / "cifar10.toml").read_text().splitlines()
             if ln.startswith("#")]
    text = " ".join(lines)
    start = text.index(command)
    stop = text.find(" ", text.index("--out ", start) + len("--out "))       # the end of the --out value
    return shlex.split(text[start:stop])[1:]                                  # without "msenas"


def test_the_recipe_commands_in_the_toml_header_run_as_written(tmp_path):
    from msenas.cli import build_parser, main
    from msenas.search.config import load_config

    search = recipe("msenas search --config experiments/cifar10.toml")
    assert search[:5] == ["search", "--config", "experiments/cifar10.toml", "--set", "data.data_dir=DATA"]
    args = build_parser().parse_args(search)          # every flag exists; the config and its --set load
    assert args.workers == 8
    cfg = load_config(str(ROOT / args.config), [s.replace("DATA", str(tmp_path)) for s in args.overrides])
    assert (cfg.space, cfg.search.population, cfg.search.generations, cfg.fitness.T) == ("mse-nas", 50, 100, 4)

    train_cmd = recipe("msenas train runs/cifar10-s0/export/genome_01.json")
    data = fake_cifar10(tmp_path / "data", rows=20)
    genome = str(ROOT / "experiments" / "genomes" / "cifar10_msenas_s0.json")
    argv = [genome if a.endswith("genome_01.json") else str(data) if a == "DATA" else a for a in train_cmd]
    argv[argv.index("--out") + 1] = str(tmp_path / "final")
    toy = ["--epochs", "1", "--set", "warmup_epochs=0", "--set", "max_train_batches=1", "--set", "batch_size=8",
           "--set", "device=cpu", "--quiet"]           # the same run at toy size: the later options win
    assert main([*argv, *toy]) == 0
    saved = json.loads((tmp_path / "final" / "config.json").read_text())
    train = saved["train"]
    assert (train["lr"], train["weight_decay"], train["label_smoothing"], train["T"], train["optimizer"]) == \
        (0.001, 0.01, 0.1, 4, "adamw")
    assert saved["data"]["options"]["augment"] is True and saved["dataset"] == "cifar10"


def test_gpu_check_predict_counts_the_work_of_a_training_step():
    sys.path.insert(0, str(ROOT / "experiments"))
    import gpu_check
    import numpy as np

    from msenas.genome import get_space, sample
    from msenas.nn.cost import complexity

    genome = sample(get_space("tiny"), np.random.default_rng(0))
    work = gpu_check.train_step_work(genome, T=2, batch=128)
    assert work.flops == 2.0 * complexity(genome, (3, 32, 32), 10, 2).macs * 2 * 128 * 3
    assert work.kernels > 50 and work.bytes > 0
    fast, slow = work.seconds(gpu_check.RATES)
    assert 0 < fast < slow and slow >= work.kernels * gpu_check.RATES["slow"]["launch"]
