"""`msenas search` / `export` / `inspect` end to end with the real fitness engine (tiny, serial).

The kill tests start `python -m msenas search` as a subprocess, wait for the
checkpoint of a completed generation, kill it (SIGKILL, or SIGINT = Ctrl-C),
resume, and compare with an uninterrupted run of the same config and seed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzz_corpus import search_toml

from msenas.cli import main
from msenas.search import checkpoint

CONFIG = search_toml("tiny-test", seed=3, population=4, generations=4)
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def reference(config_file, tmp_path_factory) -> Path:
    """An uninterrupted run through the CLI, in this process."""
    run = tmp_path_factory.mktemp("ref") / "run"
    assert main(["search", "--config", str(config_file), "--out", str(run), "--no-progress"]) == 0
    return run


def outcome(run: Path) -> tuple:
    """Final population, hall of fame and logbook fitness of a run folder."""
    st = checkpoint.load(run)
    hof = [e["key"] for e in json.loads((run / "hall_of_fame.json").read_text())]
    return st.gen, st.population, st.hall_of_fame, hof, [e["best"] for e in st.logbook]


def test_tiny_search_end_to_end_then_export_and_inspect(reference, tmp_path, capsys):
    lines = [json.loads(s) for s in (reference / "generations.jsonl").read_text().splitlines()]
    assert [e["gen"] for e in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["evaluations"] == 4 and all(e["evaluations"] + e["cache_hits"] == 3 for e in lines[1:])
    cfg = json.loads((reference / "config.json").read_text())
    assert cfg["seed"] == 3 and cfg["fitness"]["proxy"] == "sahd" and cfg["search"]["algorithm"] == "ga"
    capsys.readouterr()
    assert main(["export", str(reference), "--top", "2", "--out", str(tmp_path / "exp")]) == 0
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written] == ["genome_01.json", "genome_02.json"]
    first = json.loads(Path(written[0]).read_text())
    best = json.loads((reference / "hall_of_fame.json").read_text())[0]
    assert first["key"] == best["key"] and first["fitness"] == best["fitness"] == lines[-1]["best"]
    assert first["params"] > 0 and "sahd" in first["proxies"] and first["in_shape"] == [1, 8, 8]
    assert main(["inspect", written[0], "--in-shape", "1,8,8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"genome {best['key']}") and f"params {first['params']:,}" in out


def _start(config_file: Path, run: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "msenas", "search", "--config", str(config_file), "--out", str(run),
                             "--no-progress"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_generation(proc: subprocess.Popen, run: Path, timeout: float = 120) -> int:
    """Poll until a checkpoint of a completed generation exists; returns its generation."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            gen = json.loads((run / checkpoint.CURRENT).read_text())["payload"]["gen"]
        except (OSError, ValueError, KeyError):
            gen = -1
        if gen >= 0:
            return gen
        time.sleep(0.01)
    raise AssertionError(f"no generation checkpoint (exit {proc.poll()}): {proc.communicate()[1][-2000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_then_resumed_run_equals_the_uninterrupted_one(sig, config_file, reference, tmp_path):
    run = tmp_path / "run"
    proc = _start(config_file, run)
    _wait_for_generation(proc, run)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, err
        assert "interrupted; checkpoint of generation" in err and f"--resume {run}" in err
    stopped = checkpoint.load(run).gen
    assert stopped < 4  # really stopped mid-run
    done = subprocess.run([sys.executable, "-m", "msenas", "search", "--resume", str(run), "--no-progress"],
                          env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert outcome(run) == outcome(reference)
    logged = [json.loads(s)["gen"] for s in (run / "generations.jsonl").read_text().splitlines()]
    assert logged == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("args, message", [
    (["--set", "search.population=0"], "search.population: must be >= 2, got 0"),
    (["--set", "data.dataset=imagenet"], "data.dataset: unknown dataset"),
    (["--set", "data.dataset=npz", "--set", "data.data_dir=/nonexistent/data.npz"], "/nonexistent/data.npz"),
    (["--config", "experiments/cifar10.toml"], "cifar10: data_dir is required"),
    (["--config", "no/such.toml"], "no/such.toml: cannot read config"),
    (["--workers", "-1"], "search.workers: must be >= 0, got -1"),
])
def test_bad_input_is_one_line_error_and_exit_2(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    run = tmp_path / "run"
    assert main(["search", *args, "--out", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("msenas search: error: ") and message in err and "\n" not in err
    assert not run.exists()  # nothing is written before the input is known to be good


def test_resume_and_export_refuse_folders_that_are_not_runs(reference, tmp_path, capsys):
    assert main(["search", "--resume", str(tmp_path)]) == 2
    assert "config.json: cannot read" in capsys.readouterr().err
    assert main(["search", "--resume", str(reference), "--set", "seed=4"]) == 2
    assert "seed: cannot be changed when resuming" in capsys.readouterr().err
    assert main(["search", "--out", str(reference)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main(["export", str(tmp_path)]) == 2
    assert "hall_of_fame.json: missing" in capsys.readouterr().err
