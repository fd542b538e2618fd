"""Issue 29: the output guard (msenas.outguard), the error helpers (msenas.errors), stdout on a full device.

The CLI side (every writer aimed at every foreign target, every refusal
snapshotted) is in the fuzz corpus (tests/fuzz_corpus.py); this file tests the
pieces, and the targets a test must never write to (character devices).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_corpus import valid_genome, write

from msenas.cli import main
from msenas.errors import LINE_WIDTH, describe, one_line, short
from msenas.outguard import OutputError, check_file, check_folder, kind_of, require_kind
from msenas.rundir import read_jsonl

TESTS = Path(__file__).resolve().parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(TESTS.parent),
                                                                             os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def made(references) -> dict[str, Path]:
    """A finished tiny search run, a trained result and an MA-DARTS run (real runs, in process)."""
    return references


# ----------------------------------------------------------------------------- folder kinds


def test_each_folder_msenas_writes_is_recognised_and_a_users_folder_is_not(made, tmp_path):
    assert [kind_of(made[k]) for k in ("run", "result", "darts")] == ["run", "result", "darts"]
    assert main(["report", str(made["result"]), "--out", str(tmp_path / "report")]) == 0
    assert main(["export", str(made["run"]), "--out", str(tmp_path / "export")]) == 0
    assert kind_of(tmp_path / "report") == "report" and kind_of(tmp_path / "export") == "export"
    early = tmp_path / "killed-in-epoch-1"                # genome.json and config.json only: its config says
    early.mkdir()
    for name in ("config.json", "genome.json"):
        (early / name).write_bytes((made["result"] / name).read_bytes())
    assert kind_of(early) == "result"
    user = write(tmp_path / "user" / "config.json", {"mine": 1}).parent
    lock_only = tmp_path / "lock-only"
    write(lock_only / ".lock", "")
    assert kind_of(user) is None and kind_of(lock_only) is None


@pytest.mark.parametrize("kind", ["run", "result", "darts", "report", "export"])
def test_a_folder_of_another_kind_or_of_the_users_is_refused_naming_what_it_holds(kind, made, tmp_path):
    user = write(tmp_path / "user" / "notes.txt", "mine").parent
    with pytest.raises(OutputError, match=r"holds files msenas did not write \(notes.txt\)"):
        check_folder(user, kind)
    for other in ("run", "result", "darts"):
        if other != kind:
            with pytest.raises(OutputError, match=f"{made[other]}: holds an? .*; .* only into a new or empty folder"):
                check_folder(made[other], kind)
    assert check_folder(tmp_path / "new", kind) == tmp_path / "new" and not (tmp_path / "new").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_folder(empty, kind) == empty
    if kind in made:
        assert check_folder(made[kind], kind) == made[kind]
        with pytest.raises(OutputError, match="already exists and is not empty .* resume it with --resume"):
            check_folder(made[kind], kind, same_kind=False)


def test_resume_accepts_only_its_own_kind(made):
    assert require_kind(made["run"], "run", "msenas search --resume") == made["run"]
    with pytest.raises(OutputError, match="holds a training result .*, not a search run"):
        require_kind(made["result"], "run", "msenas search --resume")


# ----------------------------------------------------------------------------- file targets


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/full"])
def test_a_character_device_is_never_a_file_target(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    with pytest.raises(OutputError, match=f"--csv {device}: is a character device, not a regular file"):
        check_file(device, "--csv")


def test_a_fifo_a_link_a_folder_and_a_file_of_a_run_are_refused_and_a_plain_file_is_not(made, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    plain = write(tmp_path / "old.csv", "old")
    link = tmp_path / "link.csv"
    link.symlink_to(plain)
    refused = {fifo: "is a FIFO", link: "is a symbolic link", tmp_path: "is a folder",
               made["run"] / "config.json": "is the config.json of a search run",
               made["result"] / "weights.pt": "is the weights.pt of a training result",
               made["darts"] / "alphas.json": "is the alphas.json of an MA-DARTS run"}
    for path, message in refused.items():
        with pytest.raises(OutputError, match=message):
            check_file(path, "--out")
    assert check_file(plain, "--out") == plain and check_file(tmp_path / "new.csv", "--out") == tmp_path / "new.csv"
    assert check_file(made["result"] / "network.nir", "--out") == made["result"] / "network.nir"


# ----------------------------------------------------------------------------- error messages


def test_describe_never_gives_an_empty_message_and_bounds_a_long_one():
    assert describe(EOFError()) == "EOFError: the file ends early (empty or truncated)"
    assert describe(KeyError("space")) == "KeyError: missing key 'space'"
    assert describe(ValueError("")) == "ValueError: no details given"
    assert describe(RuntimeError("a\nb  c")) == "RuntimeError: a b c"
    assert len(describe(ValueError("x" * 10 ** 6))) == 200


def test_short_and_one_line_bound_what_they_echo():
    text = short(list(range(10 ** 6)))
    assert len(text) < 260 and text.endswith("(a list of 1,000,000 items)") and text.startswith("[0, 1, 2")
    assert short("eca+" * 10 ** 5).endswith("(a str of 400,000 characters)")
    assert short(10 ** 400) == "an integer of 1329 bits" and short("ok") == "'ok'"
    assert short({i: i for i in range(1000)}).endswith("(a dict of 1,000 items)")
    line = one_line("first\n\n  second   part\n" + "z" * 5000)
    assert line.startswith("first; second part; zzz") and len(line) <= LINE_WIDTH and "\n" not in line
    assert one_line("") == "unknown error"


def test_inspect_and_results_writing_to_a_full_device_end_in_one_line(made):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    for argv in (["inspect", str(made["genome"])], ["results", str(made["run"])]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "msenas", *argv], stdout=full, stderr=subprocess.PIPE,
                                  text=True, env=ENV, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == f"msenas {argv[0]}: error: cannot write the output to stdout " \
                                      "(No space left on device)"


# ----------------------------------------------------------------------------- what a genome may carry


@pytest.mark.parametrize("field, edit", [
    ("attention", lambda g: g.update(attention="+".join(["eca"] * 100_000))),
    ("reductions", lambda g: g.update(reductions=list(range(10 ** 6)))),
    ("inputs[0]", lambda g: g["inputs"].__setitem__(0, list(range(10 ** 5)))),
    ("cells[0].motifs[0].edges", lambda g: g["cells"][0]["motifs"][0].update(
        edges=g["cells"][0]["motifs"][0]["edges"] * 10 ** 5)),
])
def test_a_genome_list_far_beyond_its_limit_is_one_short_line_at_once(field, edit, tmp_path, capsys):
    g = valid_genome()
    edit(g)
    path = write(tmp_path / "g.json", g)
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert f": {field}: " in err and len(err) < 400 and "\n" not in err
    assert "at most" in err and ("entries" in err or "parts" in err)


# ----------------------------------------------------------------------------- the run folder records


def test_every_evaluation_line_records_its_worker_deaths(made):
    lines, bad = read_jsonl(made["run"] / "evaluations.jsonl")
    assert lines and bad == 0
    assert all(line["record"]["worker_deaths"] == 0 for line in lines)   # serial: no worker to lose


def test_a_refused_resume_with_both_checkpoints_damaged_changes_no_byte(made, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(made["run"], run)
    for name in ("checkpoint.json", "checkpoint.prev.json"):
        (run / name).write_bytes(b"\x00garbage")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.iterdir() if p.is_file()}
    assert main(["search", "--resume", str(run), "--set", "search.generations=2", "--no-progress"]) == 2
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k != ".lock"} == {k: v for k, v in before.items() if k != ".lock"}
    assert json.loads((run / "config.json").read_text())["search"]["generations"] == 1


def test_a_lock_refused_before_writing_removes_the_folders_and_lock_file_it_made(made, tmp_path):
    from msenas.rundir import RunLock

    deep = tmp_path / "a" / "b" / "run"
    with pytest.raises(ValueError), RunLock(deep, "msenas train"):
        raise ValueError("refused before writing anything")
    assert not (tmp_path / "a").exists()
    mine = write(tmp_path / "mine" / "notes.txt", "x").parent     # a folder that was there keeps everything
    with pytest.raises(ValueError), RunLock(mine, "msenas train"):
        raise ValueError("refused")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
