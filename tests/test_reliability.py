"""Issue 19: read-only and full disks, broken pipes, file modes under a umask, the run-folder lock, memory limits.

Read-only folders are made two ways: chmod 0o555 (skipped where it has no
effect, i.e. when running as root), and, where `unshare -Urm` works (root in a
container, or unprivileged user namespaces), a read-only tmpfs mounted in a
private mount namespace; a small tmpfs there also fills up mid-run.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzz_corpus import (
    SEARCH_TOML,
    TRAIN_FAST,
    big_genomes,
    run_argvs,
    valid_genome,
    write,
)

from msenas.cli import main
from msenas.rundir import RunFolderError, RunLock, read_jsonl
from msenas.search import checkpoint

TESTS = Path(__file__).resolve().parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
       "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")])}
NAMESPACE_SH = """
mount -t tmpfs -o "$1" none "$2" || exit 97
if [ "$3" = ro ]; then mount -o remount,ro "$2" || exit 97; fi
dir=$2; keep=$4; shift 4
"$@"; rc=$?
if [ -n "$keep" ]; then cp -a "$dir"/. "$keep"/; fi
exit $rc
"""
RUN_ARGVS = ("import json, sys; sys.path.insert(0, sys.argv[2]); from fuzz_corpus import run_argvs; "
             "print(json.dumps(run_argvs(json.loads(sys.argv[1]))))")


@pytest.fixture(scope="module")
def made(references) -> dict[str, Path]:
    """A finished tiny search run, a trained result, a genome file and a search config (real runs, in process)."""
    return references


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs none /mnt || mount -t tmpfs none /tmp"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


UNSHARE = _unshare_works()


def in_tmpfs(mount: Path, argvs: list[list[str]], *, options: str = "size=16m", read_only: bool = False,
             keep: Path | None = None) -> list[dict]:
    """Run msenas argvs in one process inside a private mount namespace with a tmpfs on `mount`."""
    cmd = ["unshare", "-Urm", "sh", "-c", NAMESPACE_SH, "sh", options, str(mount), "ro" if read_only else "rw",
           str(keep or ""), sys.executable, "-c", RUN_ARGVS, json.dumps(argvs), str(TESTS)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def read_only_runs(kind: str, folder: Path, argvs: list[list[str]]) -> list[dict]:
    """Run argvs with `folder` read-only: chmod 0o555 in this process, or a read-only tmpfs in a namespace."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "mount":
        if not UNSHARE:
            pytest.skip("unshare -Urm (a private mount namespace) is not available here")
        return in_tmpfs(folder, argvs, read_only=True)
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod 0o555 does not stop this user (root) from writing")
        return run_argvs(argvs)
    finally:
        folder.chmod(0o755)


def one_error_line(stderr: str, command: str) -> str:
    """The only error line of stderr (asserted to be one, of this command)."""
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"msenas {command}: error: "), stderr
    return errors[0]


# ----------------------------------------------------------------------------- read-only and full disks


@pytest.mark.parametrize("kind", ["chmod", "mount"])
def test_search_train_export_report_into_a_read_only_folder_end_in_one_line_naming_the_path(kind, made, tmp_path):
    ro = tmp_path / "ro"
    argvs = [["search", "--config", str(made["toml"]), "--out", str(ro / "run"), "--no-progress"],
             ["train", str(made["genome"]), "--out", str(ro / "result"), *TRAIN_FAST],
             ["export", str(made["run"]), "--out", str(ro / "export")],
             ["report", str(made["run"]), "--no-rdm", "--out", str(ro / "report")]]
    outcomes = read_only_runs(kind, ro, argvs)
    for argv, o in zip(argvs, outcomes):
        assert o["traceback"] is None and o["code"] == 2, (argv, o)
        line = one_error_line(o["stderr"], argv[0])
        assert str(ro) in line and ("Read-only file system" in line or "Permission denied" in line), line
    assert list(ro.iterdir()) == []                   # nothing half-written


@pytest.mark.skipif(not UNSHARE, reason="needs a private mount namespace (unshare -Urm) for a small tmpfs")
def test_a_disk_that_fills_mid_search_ends_in_one_line_and_loses_nothing_already_written(made, tmp_path):
    disk, kept = tmp_path / "disk", tmp_path / "kept"
    disk.mkdir()
    kept.mkdir()
    toml = write(tmp_path / "long.toml", SEARCH_TOML.replace("generations = 1", "generations = 4"))
    [o] = in_tmpfs(disk, [["search", "--config", str(toml), "--out", str(disk / "run"), "--no-progress"]],
                   options="size=60k", keep=kept)
    assert o["traceback"] is None and o["code"] == 2, o
    assert "No space left on device" in one_error_line(o["stderr"], "search")
    run = kept / "run"
    gens, bad = read_jsonl(run / "generations.jsonl")
    assert bad == 0 and [e["gen"] for e in gens] == list(range(len(gens)))
    state = checkpoint.load(run)                      # a good checkpoint survives (current or previous)
    assert state.gen >= len(gens) - 1
    assert main(["search", "--resume", str(run), "--no-progress"]) == 0   # with room again, the run completes
    gens, bad = read_jsonl(run / "generations.jsonl")
    assert bad == 0 and [e["gen"] for e in gens] == [0, 1, 2, 3, 4]


# ----------------------------------------------------------------------------- broken pipe


def test_inspect_piped_into_a_reader_that_stops_after_one_line_exits_quietly(tmp_path):
    g = valid_genome()
    motif = g["cells"][0]["motifs"][0]
    big = dict(g, cells=[{"integration": "sum", "motifs": [motif] * 16}] * 64, inputs=[[i] for i in range(64)],
               reductions=[])                         # ~110 kB of text: more than a pipe buffer and a read hold
    path = write(tmp_path / "big.json", big)
    proc = subprocess.Popen([sys.executable, "-m", "msenas", "inspect", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    first = proc.stdout.readline()
    proc.stdout.close()                               # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    assert first.startswith(b"genome ") and err == ""


# ----------------------------------------------------------------------------- file modes


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}


def test_files_of_run_result_report_and_export_folders_follow_the_umask(made, tmp_path):
    old = os.umask(0o022)
    try:
        run, result = tmp_path / "run", tmp_path / "result"
        assert main(["search", "--config", str(made["toml"]), "--out", str(run), "--no-progress"]) == 0
        assert main(["search", "--resume", str(run), "--set", "search.generations=2", "--no-progress"]) == 0
        assert main(["train", str(made["genome"]), "--out", str(result), *TRAIN_FAST]) == 0
        assert main(["report", str(result), "--out", str(tmp_path / "report")]) == 0
        assert main(["export", str(run), "--out", str(tmp_path / "export")]) == 0
        os.umask(0o077)
        assert main(["export", str(run), "--top", "1", "--out", str(tmp_path / "private")]) == 0
    finally:
        os.umask(old)
    assert {".lock", "checkpoint.json", "checkpoint.prev.json", "generations.jsonl", "evaluations.jsonl",
            "hall_of_fame.json", "best.json", "config.json"} <= set(_modes(run))
    assert {".lock", "weights.pt", "checkpoint.pt", "metrics.json", "genome.json"} <= set(_modes(result))
    assert {"nos.png", "report.md"} <= set(_modes(tmp_path / "report"))
    for folder in (run, result, tmp_path / "report", tmp_path / "export"):
        modes = _modes(folder)
        assert modes and set(modes.values()) == {0o644}, (folder, modes)
    assert set(_modes(tmp_path / "private").values()) == {0o600}


# ----------------------------------------------------------------------------- the lock


def test_a_second_lock_on_a_folder_names_the_holder_and_a_refused_fresh_folder_is_removed(tmp_path):
    folder = tmp_path / "run"
    with RunLock(folder, "msenas search"):
        with pytest.raises(RunFolderError, match=f"in use by pid={os.getpid()} host=.* \\(msenas search\\)"):
            RunLock(folder, "msenas train").__enter__()
    assert (folder / ".lock").read_text() == ""          # released: emptied, not removed (others may hold it open)
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError), RunLock(fresh, "msenas train"):
        raise ValueError("refused before writing anything")
    assert not fresh.exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_warning(made, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(made["run"], run)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run / ".lock").write_text(f"pid={dead.pid} host=elsewhere (msenas search)\n")
    assert main(["search", "--resume", str(run), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"took over the lock of PID {dead.pid}, which is no longer running" in err


def test_two_resumes_of_one_folder_at_once_one_runs_the_other_names_its_pid(made, tmp_path):
    run = tmp_path / "run"
    toml = write(tmp_path / "four.toml", SEARCH_TOML.replace("population = 2", "population = 4"))
    assert main(["search", "--config", str(toml), "--out", str(run), "--no-progress"]) == 0
    more = 40                                         # a few seconds of search: the other start meets the lock
    cmd = [sys.executable, "-m", "msenas", "search", "--resume", str(run), "--set", f"search.generations={more}",
           "--workers", "0", "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 2], outs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    line = one_error_line(outs[loser][1], "search")
    assert f"is in use by pid={procs[winner].pid} " in line and "(msenas search)" in line
    gens, bad = read_jsonl(run / "generations.jsonl")
    assert bad == 0 and [e["gen"] for e in gens] == list(range(more + 1))
    assert checkpoint.load(run).gen == more and (run / ".lock").read_text() == ""


# ----------------------------------------------------------------------------- memory


def test_a_genome_too_big_for_memory_is_refused_before_building_naming_the_limit(tmp_path):
    from msenas.genome import from_dict
    from msenas.memory import MemoryLimitError, available_bytes, check_memory, needed_bytes

    small, wide = from_dict(valid_genome()), from_dict(big_genomes()["wide"])
    assert available_bytes() > 0
    assert needed_bytes(small, (1, 8, 8), 10, batch=16, T=2, training=True) < 2 ** 27
    assert check_memory(small, (1, 8, 8), 10, batch=16, T=2, training=True) > 0
    with pytest.raises(MemoryLimitError, match=r"^memory limit: to train this genome \(channels 4096, stem x16"):
        check_memory(wide, (1, 8, 8), 10, batch=16, T=2, training=True)
    path = write(tmp_path / "wide.json", big_genomes()["wide"])
    t0 = time.perf_counter()
    assert main(["train", str(path), "--out", str(tmp_path / "out"), *TRAIN_FAST]) == 2
    assert time.perf_counter() - t0 < 60 and not (tmp_path / "out").exists()


def test_a_jsonl_line_holding_a_4300_digit_integer_counts_as_unparsable(tmp_path):
    path = tmp_path / "generations.jsonl"
    path.write_text('{"gen": 0}\n{"gen": 1, "x": ' + "7" * 5000 + '}\n{"gen": 2}\n')
    assert read_jsonl(path, "gen") == ([{"gen": 0}, {"gen": 2}], 1)
