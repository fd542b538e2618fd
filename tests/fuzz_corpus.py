"""A corpus of hostile inputs for every msenas subcommand, and a runner that says how each one ended.

`make_corpus(root)` writes the inputs into `root` (genome files, TOML configs,
copies of a real tiny search run folder and a real training result folder, each
damaged in one way) and returns the cases: an argv for msenas.cli.main and the
exit status it must end with, 0 (valid input) or 2 (a one-line error). The run
and result folders come from a real `msenas search` (2 genomes, 1 generation)
and `msenas train` (1 batch), both in process.

`run_case(case, root)` calls msenas.cli.main in this process and records the
exit status, stdout, stderr and any traceback; for a case that must be refused
it also snapshots every file and folder its argv names (names, sizes, mtimes,
bytes) before and after. `problems(outcome)` lists what is wrong with an
outcome: a traceback, an unexpected status, an error that is not exactly one
`msenas CMD: error: ...` line, a line longer than LINE_LIMIT, an exception
named with an empty message, or a refused command that changed a byte on disk.

Classes of cases (issue 29), each applied to every command it concerns:
  output guards      every writer (search, train, transfer, darts, export, report, export-nir, results --csv)
                     aimed at a folder of another kind, a user's folder, a file, a FIFO, a symbolic link;
  validate-before-write   every refused case is snapshotted (see above);
  empty-message exceptions   empty and truncated weights.pt / checkpoint.pt / npz / .npy files, a run folder
                     whose config.json is a training config and whose hall of fame is gone;
  special-file targets   FIFOs and symbolic links as --out and --csv targets (devices: tests/test_outguard.py,
                     which never writes to one);
  bounded lists      every list a genome carries (and its attention parts and names) far beyond its limit.

    python tests/fuzz_corpus.py [FOLDER]     # build the corpus, run it, print a table
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import stat
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DIGITS_8 = 'dataset = "digits"\noptions = { size = 8 }'


def search_toml(name: str = "fuzz", seed: int = 5, population: int = 2, generations: int = 1,
                data: str = DIGITS_8) -> str:
    """A tiny search config: the tiny space on `data` (8x8 digits), SAHD of 2 samples per class at T = 2, serial."""
    return f"""
name = "{name}"
seed = {seed}
space = "tiny"
[data]
{data}
[fitness]
proxy = "sahd"
T = 2
per_class = 2
[search]
population = {population}
generations = {generations}
workers = 0
"""


SEARCH_TOML = search_toml()
TRAIN_FAST = ["--epochs", "1", "--set", "max_train_batches=1", "--set", "batch_size=16", "--set", "T=2", "--quiet"]
DARTS_FAST = ["--epochs", "1", "--set", "max_batches=1", "--set", "max_valid_batches=1", "--set", "n_cells=2",
              "--set", "channels=4", "--set", "T=2", "--set", "data.size=8", "--quiet"]
DEEP = 100_000
LINE_LIMIT = 1100          # the longest error line accepted (msenas.errors.LINE_WIDTH, and the prefix)
HUGE = 100_000             # entries of a list far beyond any genome limit
EMPTY_MESSAGE = re.compile(r"\b[A-Z]\w*(Error|Exception|File)\b: ?($|[);,])")   # 'EOFError: )', 'KeyError:'


@dataclass(frozen=True)
class Case:
    """One hostile (or valid) input: msenas argv and the exit status it must end with."""

    name: str
    argv: tuple[str, ...]
    expect: int                     # 0: valid input, accepted; 2: refused with a one-line error


@dataclass
class Outcome:
    """How a case ended."""

    case: Case
    code: int | None
    stdout: str
    stderr: str
    traceback: str | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- inputs


def valid_genome() -> dict:
    """A small valid genome (tiny search space, seeded) as a JSON dict."""
    import numpy as np

    from msenas.genome import get_space, sample, to_dict

    return to_dict(sample(get_space("tiny"), np.random.default_rng(0)))


def write(path: Path, data: Any) -> Path:
    """Write bytes, text or JSON-able data to path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(json.dumps(data))
    return path


def deep_json(depth: int = DEEP, kind: str = "list") -> str:
    """JSON nested `depth` levels deep (lists or objects)."""
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


def file_garbage() -> dict[str, bytes]:
    """Whole-file damage shared by every JSON input: encodings, truncation, garbage, nesting, top-level types."""
    text = json.dumps(valid_genome(), indent=1)
    rng = random.Random(19)
    return {
        "empty": b"",
        "whitespace": b"  \n\t\n",
        "byte_ff": b"\xff",
        "latin1": text.replace('"if"', '"\xe9t\xe9"').encode("latin-1"),
        "utf16_bom": text.encode("utf-16"),
        "utf16_be": text.encode("utf-16-be"),
        "binary": bytes(rng.getrandbits(8) for _ in range(512)),
        "nul_bytes": b"\x00" * 64,
        "truncated_half": text[: len(text) // 2].encode(),
        "truncated_one": text[:1].encode(),
        "deep_lists": deep_json().encode(),
        "deep_objects": deep_json(kind="object").encode(),
        "int_5000_digits": ("[" + "7" * 5000 + "]").encode(),
        "top_list": b"[1, 2, 3]",
        "top_string": b'"genome"',
        "top_number": b"42",
        "top_null": b"null",
        "top_true": b"true",
    }


class Mutations(dict):
    """name -> a copy of the valid genome with one edit applied (`put(name, edit)`)."""

    def __init__(self):
        super().__init__()
        self.base = valid_genome()

    def put(self, name: str, edit: Callable[[dict], None]) -> None:
        g = json.loads(json.dumps(self.base))
        edit(g)
        self[name] = g


def motif(g: dict) -> dict:
    """The first motif of a genome's first cell (JSON)."""
    return g["cells"][0]["motifs"][0]


def genome_mutations() -> dict[str, dict]:
    """A valid genome with one field made wrong: missing, mistyped, out of range, absurdly large."""
    out = Mutations()
    put = out.put
    for f in ("schema_version", "channels", "stem_multiplier", "reductions", "inputs", "cells"):
        put(f"{f}_missing", lambda g, f=f: g.pop(f))
        put(f"{f}_string", lambda g, f=f: g.__setitem__(f, "x"))
        put(f"{f}_null", lambda g, f=f: g.__setitem__(f, None))
    for name, value in {"zero": 0, "negative": -1, "1e6": 10 ** 6, "1e30": 10 ** 30, "float": 8.5, "bool": True,
                        "nan": float("nan"), "inf": float("inf")}.items():
        put(f"channels_{name}", lambda g, v=value: g.__setitem__("channels", v))
    put("stem_multiplier_1e6", lambda g: g.__setitem__("stem_multiplier", 10 ** 6))
    put("stem_multiplier_zero", lambda g: g.__setitem__("stem_multiplier", 0))
    put("schema_version_99", lambda g: g.__setitem__("schema_version", 99))
    put("reductions_out_of_range", lambda g: g.__setitem__("reductions", [99]))
    put("reductions_repeated", lambda g: g.__setitem__("reductions", [1, 1]))
    put("reductions_bools", lambda g: g.__setitem__("reductions", [True]))
    put("inputs_empty", lambda g: g.__setitem__("inputs", []))
    put("inputs_forward_reference", lambda g: g["inputs"].__setitem__(0, [5]))
    put("inputs_strings", lambda g: g["inputs"].__setitem__(0, ["a"]))
    put("inputs_empty_entry", lambda g: g["inputs"].__setitem__(0, []))
    put("attention_unknown", lambda g: g.__setitem__("attention", "bogus"))
    put("attention_number", lambda g: g.__setitem__("attention", 5))
    put("cells_empty", lambda g: g.__setitem__("cells", []))
    put("cells_65", lambda g: (g.__setitem__("cells", [g["cells"][0]] * 65),
                               g.__setitem__("inputs", [[i] for i in range(65)]), g.__setitem__("reductions", [])))
    put("cell_not_object", lambda g: g["cells"].__setitem__(0, 7))
    put("integration_unknown", lambda g: g["cells"][0].__setitem__("integration", "x"))
    put("motifs_empty", lambda g: g["cells"][0].__setitem__("motifs", []))
    edge = lambda g: motif(g)["edges"][0]  # noqa: E731
    put("template_unknown", lambda g: motif(g).__setitem__("template", "nope"))
    put("n_inputs_3", lambda g: motif(g).__setitem__("n_inputs", 3))
    put("n_nodes_1e9", lambda g: motif(g).__setitem__("n_nodes", 10 ** 9))
    put("n_nodes_zero", lambda g: motif(g).__setitem__("n_nodes", 0))
    put("edges_empty", lambda g: motif(g).__setitem__("edges", []))
    put("edges_5000", lambda g: motif(g).__setitem__("edges", [edge(g)] * 5000))
    put("edge_src_negative", lambda g: edge(g).__setitem__("src", -1))
    put("edge_dst_99", lambda g: edge(g).__setitem__("dst", 99))
    put("edge_delay_2", lambda g: edge(g).__setitem__("delay", 2))
    put("edge_op_unknown", lambda g: edge(g).__setitem__("op", "nope"))
    put("edge_sign_zero", lambda g: edge(g).__setitem__("sign", 0))
    put("edge_neuron_unknown", lambda g: edge(g).__setitem__("neuron", "x"))
    put("edge_op_missing", lambda g: edge(g).pop("op"))
    put("edge_list", lambda g: motif(g)["edges"].__setitem__(0, [0, 1]))
    return dict(out)


def huge_lists() -> dict[str, dict]:
    """A valid genome with one list (or attention, or name) far beyond its limit: each must be a short error."""
    out = Mutations()
    put = out.put
    put("reductions", lambda g: g.__setitem__("reductions", list(range(HUGE))))
    put("inputs", lambda g: g.__setitem__("inputs", [[0]] * HUGE))
    put("inputs_entry", lambda g: g["inputs"].__setitem__(0, list(range(HUGE))))
    put("cells", lambda g: g.__setitem__("cells", [g["cells"][0]] * (HUGE // 100)))
    put("motifs", lambda g: g["cells"][0].__setitem__("motifs", [motif(g)] * HUGE))
    put("edges", lambda g: motif(g).__setitem__("edges", [motif(g)["edges"][0]] * HUGE))
    put("attention_parts", lambda g: g.__setitem__("attention", "+".join(["eca"] * HUGE)))
    put("attention_name", lambda g: g.__setitem__("attention", "x" * HUGE))
    put("template_name", lambda g: motif(g).__setitem__("template", "t" * HUGE))
    put("integration_name", lambda g: g["cells"][0].__setitem__("integration", "i" * HUGE))
    put("op_name", lambda g: motif(g)["edges"][0].__setitem__("op", "o" * HUGE))
    put("channels_list", lambda g: g.__setitem__("channels", list(range(HUGE))))
    return dict(out)


def big_genomes() -> dict[str, dict]:
    """Valid genomes (within LIMITS) whose network cannot fit in memory."""
    wide = dict(valid_genome(), channels=4096, stem_multiplier=16)
    g = valid_genome()
    deep = dict(g, cells=[g["cells"][0]] * 64, inputs=[[i] for i in range(64)], reductions=list(range(64)),
                channels=4096)
    return {"wide": wide, "deep_reductions": deep}


# ----------------------------------------------------------------------------- the corpus


def make_corpus(root: str | os.PathLike) -> list[Case]:
    """Write every input under root and return the cases (a real tiny search and training run first)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in ("genomes", "search", "export", "train", "evaluate", "export-nir", "report", "darts", "results",
                 "guard", "empty-message"):                                                      # a former run
        shutil.rmtree(root / name, ignore_errors=True)
    cases: list[Case] = []
    g = write(root / "genome.json", valid_genome())
    cases += _genome_cases(root, g)
    run = reference_run(root)
    result = reference_result(root, g)
    cases += _search_cases(root, run)
    cases += _export_cases(root, run)
    cases += _train_cases(root, g, result)
    cases += _evaluate_cases(root, result)
    cases += _export_nir_cases(root, result)
    darts = reference_darts(root)
    cases += _report_cases(root, run, result, darts)
    cases += _darts_cases(root, darts)
    cases += _results_cases(root, run, result, darts)
    cases += _guard_cases(root, g, run, result, darts)
    cases += _empty_message_cases(root, g, run, result, darts)
    return cases


def _fifo(path: Path) -> Path:
    """A named pipe nobody writes to (reading it would block forever)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.mkfifo(path)
    return path


def _genome_cases(root: Path, g: Path) -> list[Case]:
    d = root / "genomes"
    valid = valid_genome()
    cases = [Case("inspect/valid", ("inspect", str(g)), 0),
             Case("inspect/valid_with_extras", ("inspect", str(write(d / "extras.json", dict(valid, fitness=0.5,
                                                                                    dataset="digits")))), 0),
             Case("inspect/recorded_input_garbage", ("inspect", str(write(d / "recorded.json", dict(
                 valid, dataset=[1], in_shape=["a", 8, 8], n_classes="x")))), 0),
             Case("inspect/recorded_in_shape_huge", ("inspect", str(write(d / "recorded_huge.json", dict(
                 valid, in_shape=[1, 10 ** 6, 10 ** 6])))), 0),
             Case("inspect/utf8_bom", ("inspect", str(write(d / "bom.json", b"\xef\xbb\xbf" + json.dumps(valid)
                                                             .encode()))), 0),
             Case("inspect/other_shape", ("inspect", str(g), "--in-shape", "3,32,32", "--classes", "100", "-T", "8"),
                  0),
             Case("inspect/missing_file", ("inspect", str(d / "absent.json")), 2),
             Case("inspect/a_folder", ("inspect", str(root)), 2),
             Case("inspect/dev_zero", ("inspect", "/dev/zero"), 2),
             Case("inspect/a_fifo", ("inspect", str(_fifo(d / "fifo.json"))), 2)]
    for name, data in file_garbage().items():
        cases.append(Case(f"inspect/file_{name}", ("inspect", str(write(d / f"{name}.json", data))), 2))
    for name, data in genome_mutations().items():
        cases.append(Case(f"inspect/field_{name}", ("inspect", str(write(d / f"m_{name}.json", data))), 2))
    for name, data in huge_lists().items():
        cases.append(Case(f"inspect/huge_{name}", ("inspect", str(write(d / f"huge_{name}.json", data))), 2))
    cases.append(Case("train/huge_attention_parts", ("train", str(d / "huge_attention_parts.json"), "--out",
                                                     str(d / "out-huge"), *TRAIN_FAST), 2))
    for name, data in big_genomes().items():             # huge, but inspect only computes costs
        cases.append(Case(f"inspect/big_{name}", ("inspect", str(write(d / f"big_{name}.json", data))), 0))
    for args in (("--classes", "-5"), ("--classes", "0"), ("-T", "-1"), ("-T", "0"), ("--in-shape", "1,2"),
                 ("--in-shape", "a,b,c"), ("--in-shape", "0,8,8"), ("--in-shape", "-1,8,8")):
        cases.append(Case(f"inspect/arg{''.join(args)}", ("inspect", str(g), *args), 2))
    return cases


def reference_run(root: Path) -> Path:
    """ROOT/reference-run: a finished tiny search (2 genomes, 1 generation), made once."""
    from msenas.cli import main

    cfg = write(root / "search.toml", SEARCH_TOML)
    run = root / "reference-run"
    if not (run / "checkpoint.json").is_file():
        shutil.rmtree(run, ignore_errors=True)
        with _quiet():
            assert main(["search", "--config", str(cfg), "--out", str(run), "--no-progress"]) == 0
    return run


def reference_result(root: Path, g: Path) -> Path:
    """ROOT/reference-result: genome g trained for one batch, made once."""
    from msenas.cli import main

    out = root / "reference-result"
    if not (out / "metrics.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        with _quiet():
            assert main(["train", str(g), "--out", str(out), *TRAIN_FAST]) == 0
    return out


def reference_darts(root: Path) -> Path:
    """ROOT/reference-darts: a tiny MA-DARTS search (2 cells of 4 channels, one step pair), made once."""
    from msenas.cli import main

    out = root / "reference-darts"
    if not (out / "genome.json").is_file():
        shutil.rmtree(out, ignore_errors=True)
        with _quiet():
            assert main(["darts", "--out", str(out), *DARTS_FAST]) == 0
    return out


def torch_file(path: Path, obj: Any) -> None:
    """A file torch.load(weights_only=True) reads fine, holding `obj` (not what msenas wrote)."""
    import torch

    torch.save(obj, path)


def _copy(src: Path, dst: Path, edit: Callable[[Path], Any] | None = None) -> Path:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    if edit is not None:
        edit(dst)
    return dst


def _edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data) or data))


def _checkpoint_with(path: Path, **fields) -> None:
    """A checkpoint whose payload fields are replaced, with its checksum recomputed (so only the types are wrong)."""
    from msenas.search import checkpoint

    doc = json.loads(path.read_text())
    doc["payload"].update(fields)
    doc["sha256"] = __import__("hashlib").sha256(checkpoint._canonical(doc["payload"]).encode()).hexdigest()
    path.write_text(json.dumps(doc))


def _search_cases(root: Path, run: Path) -> list[Case]:
    d = root / "search"
    toml = lambda name, text: str(write(d / f"{name}.toml", text))  # noqa: E731
    fresh = lambda name: ("--out", str(d / f"out-{name}"), "--no-progress")  # noqa: E731
    cases = [Case(f"search/config_{name}", ("search", "--config", path, *fresh(name)), 2) for name, path in {
        "missing": str(d / "absent.toml"),
        "dev_zero": "/dev/zero",
        "byte_ff": toml("ff", b"\xff\xfe"),
        "utf16": toml("utf16", SEARCH_TOML.encode("utf-16")),
        "garbage": toml("garbage", "this is [not toml"),
        "deep": toml("deep", "a = " + "[" * DEEP + "]" * DEEP),
        "int_5000_digits": toml("bigint", "seed = " + "9" * 5000),
        "unknown_field": toml("unknown", SEARCH_TOML + "bogus = 1\n"),
        "population_string": toml("popstr", SEARCH_TOML.replace("population = 2", 'population = "x"')),
        "population_zero": toml("pop0", SEARCH_TOML.replace("population = 2", "population = 0")),
        "section_is_value": toml("secval", SEARCH_TOML.replace("[fitness]", "fitness = 3\n[other]")),
    }.items()]
    cfg = toml("ok", SEARCH_TOML)
    for name, override in {"seed_negative": "seed=-1", "population_zero": "search.population=0",
                           "no_equals": "search.population", "unknown": "search.nope=1", "value_of_value": "seed.x=1",
                           "population_float": "search.population=1e30", "deep_value": "seed=" + "[" * 5000,
                           "space_unknown": 'space="nope"', "proxy_unknown": 'fitness.proxy="nope"',
                           "population_1e9": "search.population=1000000000", "hof_1e9": "search.hof_size=1000000000",
                           "space_channels_1e6": "search_space.channels=[1000000]",
                           "space_cells_1e6": "search_space.n_cells=[1000000]"}.items():
        cases.append(Case(f"search/set_{name}", ("search", "--config", cfg, "--set", override, *fresh(name)), 2))
    cases += [
        Case("search/workers_negative", ("search", "--config", cfg, "--workers", "-1", *fresh("w")), 2),
        Case("search/start_over_alone", ("search", "--config", cfg, "--start-over", *fresh("so")), 2),
        Case("search/resume_with_config", ("search", "--resume", str(run), "--config", cfg), 2),
        Case("search/out_not_empty", ("search", "--config", cfg, "--out", str(run), "--no-progress"), 2),
        Case("search/out_is_a_file", ("search", "--config", cfg, "--out", cfg, "--no-progress"), 2),
        Case("search/resume_missing_folder", ("search", "--resume", str(d / "absent"), "--no-progress"), 2),
    ]
    resumes: dict[str, tuple[Callable[[Path], Any] | None, int, tuple[str, ...]]] = {
        "finished": (None, 0, ()),
        "one_more_generation": (None, 0, ("--set", "search.generations=2")),
        "population_not_overridable": (None, 2, ("--set", "search.population=3")),
        "stale_lock": (lambda p: (p / ".lock").write_text("pid=999999999 host=gone (msenas search)\n"), 0, ()),
        "config_missing": (lambda p: (p / "config.json").unlink(), 2, ()),
        "config_byte_ff": (lambda p: write(p / "config.json", b"\xff"), 2, ()),
        "config_deep": (lambda p: write(p / "config.json", deep_json()), 2, ()),
        "config_list": (lambda p: write(p / "config.json", [1]), 2, ()),
        "config_population_edited": (lambda p: _edit_json(p / "config.json",
                                                          lambda c: c["search"].update(population=3)), 2, ()),
        "config_seed_edited": (lambda p: _edit_json(p / "config.json", lambda c: c.update(seed=6)), 2, ()),
        "config_unknown_field": (lambda p: _edit_json(p / "config.json", lambda c: c.update(bogus=1)), 2, ()),
        "config_generations_edited": (lambda p: _edit_json(p / "config.json",
                                                           lambda c: c["search"].update(generations=1)), 0, ()),
        "checkpoints_deleted": (lambda p: [(p / n).unlink() for n in ("checkpoint.json", "checkpoint.prev.json")],
                                2, ()),
        "checkpoints_garbage": (lambda p: [write(p / n, b"\x00garbage") for n in ("checkpoint.json",
                                                                                 "checkpoint.prev.json")], 2, ()),
        "checkpoints_garbage_more_generations": (lambda p: [write(p / n, b"\x00garbage") for n in (
            "checkpoint.json", "checkpoint.prev.json")], 2, ("--set", "search.generations=2")),
        "checkpoint_current_garbage": (lambda p: write(p / "checkpoint.json", b"{\"format\": "), 0, ()),
        "checkpoint_current_deep": (lambda p: write(p / "checkpoint.json", deep_json()), 0, ()),
        "checkpoint_current_int_5000_digits": (lambda p: write(p / "checkpoint.json", '{"format": ' + "1" * 5000 + "}"),
                                               0, ()),
        "checkpoints_wrong_types": (lambda p: [_checkpoint_with(p / n, gen="3", cache=[])
                                               for n in ("checkpoint.json", "checkpoint.prev.json")], 2, ()),
        "hall_of_fame_garbage": (lambda p: write(p / "hall_of_fame.json", b"\xff"), 0, ()),
        "generations_garbage": (lambda p: write(p / "generations.jsonl", b"{\"gen\": 0\n\xff\n"), 0, ()),
        "lock_is_a_folder": (lambda p: ((p / ".lock").unlink(missing_ok=True), (p / ".lock").mkdir()), 2, ()),
        "start_over_checkpoints_deleted": (lambda p: [(p / n).unlink() for n in ("checkpoint.json",
                                                                                 "checkpoint.prev.json")],
                                           0, ("--start-over",)),
    }
    for name, (edit, expect, extra) in resumes.items():
        folder = _copy(run, d / f"resume-{name}", edit)
        argv = ("search", "--resume", str(folder), "--no-progress", *extra)
        cases.append(Case(f"search/resume_{name}", argv, expect))
    return cases


def _export_cases(root: Path, run: Path) -> list[Case]:
    d = root / "export"
    hof = "hall_of_fame.json"
    edits: dict[str, tuple[Callable[[Path], Any] | None, int]] = {
        "valid": (None, 0),
        "hof_missing": (lambda p: (p / hof).unlink(), 2),
        "hof_byte_ff": (lambda p: write(p / hof, b"\xff"), 2),
        "hof_deep": (lambda p: write(p / hof, deep_json()), 2),
        "hof_object": (lambda p: write(p / hof, {}), 2),
        "hof_entry_without_fitness": (lambda p: _edit_json(p / hof, lambda h: h[0].pop("fitness")), 2),
        "hof_fitness_string": (lambda p: _edit_json(p / hof, lambda h: h[0].update(fitness="0.9")), 2),
        "hof_genome_channels_1e30": (lambda p: _edit_json(p / hof, lambda h: h[0]["genome"].update(channels=10 ** 30)),
                                     2),
        "hof_genome_not_object": (lambda p: _edit_json(p / hof, lambda h: h[0].update(genome=[1])), 2),
        "dataset_json_garbage": (lambda p: write(p / "dataset.json", b"\xff"), 0),
    }
    cases = []
    for name, (edit, expect) in edits.items():
        folder = _copy(run, d / name, edit)
        cases.append(Case(f"export/{name}", ("export", str(folder), "--out", str(d / f"out-{name}")), expect))
    cases += [Case("export/top_zero", ("export", str(run), "--top", "0", "--out", str(d / "o1")), 2),
              Case("export/top_negative", ("export", str(run), "--top", "-3", "--out", str(d / "o2")), 2),
              Case("export/missing_folder", ("export", str(d / "absent")), 2),
              Case("export/pareto_single_objective", ("export", str(run), "--from", "pareto", "--out", str(d / "o3")),
                   2),
              Case("export/out_is_a_file", ("export", str(run), "--out", str(run / "config.json")), 2)]
    return cases


def _train_cases(root: Path, g: Path, result: Path) -> list[Case]:
    d = root / "train"
    out = lambda name: ("--out", str(d / f"out-{name}"))  # noqa: E731
    cases = [Case("train/valid", ("train", str(g), *out("valid"), *TRAIN_FAST), 0)]
    for name, data in big_genomes().items():
        path = write(d / f"{name}.json", data)
        cases.append(Case(f"train/memory_{name}", ("train", str(path), *out(name), *TRAIN_FAST), 2))
    for name, override in {"T_huge": "T=100000000", "batch_huge": "batch_size=1000000000", "seed_negative": "seed=-1",
                           "lr_nan": "lr=nan", "data_size_1e5": "data.size=100000", "lr_zero": "lr=0", "T_zero": "T=0",
                           "unknown": "nope=1",
                           "no_equals": "lr", "optimizer_unknown": 'optimizer="nope"',
                           "data_option_unknown": "data.nope=1"}.items():
        cases.append(Case(f"train/set_{name}", ("train", str(g), *out(name), *TRAIN_FAST, "--set", override), 2))
    cases += [
        Case("train/epochs_negative", ("train", str(g), *out("ep"), "--epochs", "-1", "--quiet"), 2),
        Case("train/dataset_unknown", ("train", str(g), *out("ds"), "--dataset", "nope", "--quiet"), 2),
        Case("train/data_dir_missing", ("train", str(g), *out("dd"), "--data-dir", str(d / "absent"), "--quiet"), 2),
        Case("train/genome_byte_ff", ("train", str(write(d / "ff.json", b"\xff")), *out("ff"), "--quiet"), 2),
        Case("train/genome_folder_without_genome", ("train", str(d), *out("nog"), "--quiet"), 2),
        Case("train/out_is_a_file", ("train", str(g), "--out", str(g), *TRAIN_FAST), 2),
        Case("train/resume_without_checkpoint", ("train", str(g), *out("res"), *TRAIN_FAST, "--resume"), 2),
        Case("train/out_holds_a_run", ("train", str(g), "--out", str(result), *TRAIN_FAST), 2),
        Case("train/from_a_result_folder", ("train", str(result), *out("fromres"), *TRAIN_FAST), 0),
        Case("train/recorded_dataset_unknown", ("train", str(write(d / "rec_nope.json", dict(
            valid_genome(), dataset="nope", in_shape=[1, 8, 8]))), *out("recnope"), *TRAIN_FAST), 2),
        Case("train/recorded_input_garbage", ("train", str(write(d / "rec_garbage.json", dict(
            valid_genome(), dataset=5, in_shape="x"))), *out("recgarbage"), *TRAIN_FAST), 0),
        Case("transfer/dataset_unknown", ("transfer", str(g), "--to", "nope", *out("tr"), "--quiet"), 2),
        Case("transfer/genome_deep", ("transfer", str(write(d / "deep.json", deep_json())), "--to", "digits",
                                      *out("trd"), "--quiet"), 2),
    ]
    resumes: dict[str, tuple[Callable[[Path], Any] | None, int, tuple[str, ...]]] = {
        "finished": (None, 0, ()),
        "more_epochs": (None, 2, ("--epochs", "2")),
        "other_lr": (None, 2, ("--set", "lr=0.5")),
        "checkpoint_garbage": (lambda p: write(p / "checkpoint.pt", b"garbage"), 2, ()),
        "checkpoint_a_list": (lambda p: torch_file(p / "checkpoint.pt", [1, 2]), 2, ()),
        "checkpoint_no_config": (lambda p: torch_file(p / "checkpoint.pt", {"model": {}}), 2, ()),
        "checkpoint_config_deep": (lambda p: torch_file(p / "checkpoint.pt", {"config": deep_json()}), 2, ()),
        "checkpoint_history_wrong": (lambda p: _torch_edit(p / "checkpoint.pt", history=[{"epoch": "x"}]), 2, ()),
        "checkpoint_model_wrong": (lambda p: _torch_edit(p / "checkpoint.pt", model={"w": __import__("torch").ones(2)}),
                                   2, ()),
    }
    for name, (edit, expect, extra) in resumes.items():
        folder = _copy(result, d / f"resume-{name}", edit)
        cases.append(Case(f"train/resume_{name}", ("train", str(g), "--out", str(folder), *TRAIN_FAST, *extra,
                                                   "--resume"), expect))
    return cases


def _torch_edit(path: Path, **fields) -> None:
    import torch

    ck = torch.load(path, weights_only=True)
    ck.update(fields)
    torch.save(ck, path)


def _evaluate_cases(root: Path, result: Path) -> list[Case]:
    d = root / "evaluate"
    edits: dict[str, tuple[Callable[[Path], Any] | None, int]] = {
        "valid": (None, 0),
        "config_missing": (lambda p: (p / "config.json").unlink(), 2),
        "config_byte_ff": (lambda p: write(p / "config.json", b"\xff"), 2),
        "config_deep": (lambda p: write(p / "config.json", deep_json(kind="object")), 2),
        "config_list": (lambda p: write(p / "config.json", []), 2),
        "config_in_shape_strings": (lambda p: _edit_json(p / "config.json",
                                                         lambda c: c.update(in_shape=["a", 8, 8])), 2),
        "config_n_classes_negative": (lambda p: _edit_json(p / "config.json", lambda c: c.update(n_classes=-4)), 2),
        "config_T_huge": (lambda p: _edit_json(p / "config.json", lambda c: c["train"].update(T=10 ** 12)), 2),
        "config_data_garbage": (lambda p: _edit_json(p / "config.json", lambda c: c.update(data=[1, 2])), 2),
        "weights_missing": (lambda p: (p / "weights.pt").unlink(), 2),
        "weights_garbage": (lambda p: write(p / "weights.pt", b"PK\x03\x04garbage"), 2),
        "weights_pickle_with_code": (lambda p: write(p / "weights.pt", b"cos\nsystem\n(S'true'\ntR."), 2),
        "genome_other_channels": (lambda p: _edit_json(p / "genome.json", lambda g: g.update(channels=12)), 2),
        "genome_wide": (lambda p: write(p / "genome.json", big_genomes()["wide"]), 2),
        "genome_missing": (lambda p: (p / "genome.json").unlink(), 2),
    }
    cases = []
    for name, (edit, expect) in edits.items():
        cases.append(Case(f"evaluate/{name}", ("evaluate", str(_copy(result, d / name, edit))), expect))
    cases += [Case("evaluate/missing_folder", ("evaluate", str(d / "absent")), 2),
              Case("evaluate/batch_size_zero", ("evaluate", str(result), "--batch-size", "0"), 2),
              Case("evaluate/data_dir_missing", ("evaluate", str(result), "--data-dir", str(d / "absent")), 2)]
    return cases


def _export_nir_cases(root: Path, result: Path) -> list[Case]:
    d = root / "export-nir"
    edits: dict[str, tuple[Callable[[Path], Any] | None, int]] = {
        "valid": (None, 0),
        "config_missing": (lambda p: (p / "config.json").unlink(), 2),
        "weights_garbage": (lambda p: write(p / "weights.pt", b"PK\x03\x04garbage"), 2),
        "genome_eca": (lambda p: _edit_json(p / "genome.json", lambda g: g.update(attention="eca")), 2),
        "genome_wide": (lambda p: write(p / "genome.json", big_genomes()["wide"]), 2),
    }
    cases = [Case(f"export-nir/{name}", ("export-nir", str(_copy(result, d / name, edit))), expect)
             for name, (edit, expect) in edits.items()]
    out_folder = d / "out-folder"
    out_folder.mkdir(parents=True, exist_ok=True)
    return cases + [
        Case("export-nir/float64", ("export-nir", str(result), "--out", str(d / "f64.nir"), "--dtype", "float64"), 0),
        Case("export-nir/dtype_unknown", ("export-nir", str(result), "--dtype", "float16"), 2),
        Case("export-nir/missing_folder", ("export-nir", str(d / "absent")), 2),
        Case("export-nir/out_is_a_folder", ("export-nir", str(result), "--out", str(out_folder)), 2),
        Case("export-nir/out_under_a_file", ("export-nir", str(result), "--out", str(result / "config.json" / "x.nir")),
             2)]


def _report_cases(root: Path, run: Path, result: Path, darts: Path) -> list[Case]:
    d = root / "report"
    run_edits: dict[str, tuple[Callable[[Path], Any] | None, int]] = {
        "run_valid": (None, 0),
        "run_config_garbage": (lambda p: write(p / "config.json", b"\xff"), 2),
        "run_config_list": (lambda p: write(p / "config.json", [1]), 2),
        "run_config_search_list": (lambda p: _edit_json(p / "config.json", lambda c: c.update(search=[1])), 0),
        "run_config_deep": (lambda p: write(p / "config.json", deep_json(kind="object")), 2),
        "run_dataset_in_shape_strings": (lambda p: _edit_json(p / "dataset.json",
                                                              lambda d: d["info"].update(in_shape=["a", 1, 1])), 2),
        "run_hof_wide_genome_rdm": (lambda p: _edit_json(p / "hall_of_fame.json",
                                                         lambda h: h[0].update(genome=big_genomes()["wide"])), 0),
        "run_hof_fitness_string": (lambda p: _edit_json(p / "hall_of_fame.json",
                                                        lambda h: h[0].update(fitness="x")), 2),
        "run_hof_bad_genome": (lambda p: _edit_json(p / "hall_of_fame.json",
                                                    lambda h: h[0]["genome"].update(channels=10 ** 30)), 2),
        "run_generations_garbage": (lambda p: write(p / "generations.jsonl", b"\xff\n[1]\n{\"gen\": \"x\"}\n"), 0),
        "run_generations_wrong_types": (lambda p: write(p / "generations.jsonl", '{"gen": 0, "best": "x"}\n'), 0),
    }
    result_edits: dict[str, tuple[Callable[[Path], Any] | None, int]] = {
        "result_valid": (None, 0),
        "result_metrics_garbage": (lambda p: write(p / "metrics.json", b"\x00"), 2),
        "result_metrics_deep": (lambda p: write(p / "metrics.json", deep_json()), 2),
        "result_config_garbage": (lambda p: write(p / "config.json", b"\xff"), 0),
        "result_metrics_history_string": (lambda p: _edit_json(p / "metrics.json", lambda m: m.update(history="x")), 2),
        "result_history_entries_wrong": (lambda p: _edit_json(p / "metrics.json",
                                                              lambda m: m.update(history=[1, {"epoch": "x"}],
                                                                                 final=None)), 0),
    }
    cases = []
    for name, (edit, expect) in run_edits.items():
        rdm = () if name.endswith("_rdm") else ("--no-rdm",)
        cases.append(Case(f"report/{name}", ("report", str(_copy(run, d / name, edit)), *rdm), expect))
    for name, (edit, expect) in result_edits.items():
        cases.append(Case(f"report/{name}", ("report", str(_copy(result, d / name, edit))), expect))
    darts_edits: dict[str, tuple[Callable[[Path], Any] | None, int]] = {
        "darts_valid": (None, 0),
        "darts_alphas_garbage": (lambda p: write(p / "alphas.json", b"\xff"), 2),
        "darts_alphas_history_empty": (lambda p: _edit_json(p / "alphas.json", lambda a: a.update(history=[])), 2),
        "darts_alphas_ops_wrong": (lambda p: _edit_json(p / "alphas.json", lambda a: a.update(ops=5)), 2),
        "darts_nos_garbage": (lambda p: write(p / "nos.jsonl", b"\xff\n{}\n"), 0),
        "darts_genome_bad": (lambda p: _edit_json(p / "genome.json", lambda g: g.update(channels=-1)), 2),
    }
    for name, (edit, expect) in darts_edits.items():
        cases.append(Case(f"report/{name}", ("report", str(_copy(darts, d / name, edit))), expect))
    cases += [Case("report/missing_folder", ("report", str(d / "absent")), 2),
              Case("report/not_a_run", ("report", str(write(d / "empty" / "x.txt", "x").parent)), 2),
              Case("report/out_is_a_file", ("report", str(run), "--no-rdm", "--out", str(run / "config.json")), 2)]
    return cases


def _darts_cases(root: Path, darts: Path) -> list[Case]:
    d = root / "darts"
    out = lambda name: ("--out", str(d / name), "--quiet")  # noqa: E731
    cases = [Case(f"darts/set_{name}", ("darts", *out(name), "--set", override), 2)
             for name, override in {"channels_negative": "channels=-1", "unknown": "nope=1", "T_zero": "T=0",
                                    "order_unknown": 'order="third"', "channels_1e6": "channels=1000000",
                                    "n_cells_1e6": "n_cells=1000000", "n_nodes_1e9": "n_nodes=1000000000"}.items()]
    cases += [Case("darts/epochs_negative", ("darts", *out("ep"), "--epochs", "-1"), 2),
              Case("darts/attention_unknown", ("darts", *out("att"), "--attention", "bogus"), 2),
              Case("darts/dataset_unknown", ("darts", *out("ds"), "--dataset", "nope"), 2),
              Case("darts/resume_missing", ("darts", *out("res"), "--resume"), 2),
              Case("darts/config_missing", ("darts", *out("cfgm"), "--config", str(d / "absent.toml")), 2)]
    for name, text in {"byte_ff": b"\xff", "not_toml": "[darts\n", "unknown_table": "[search]\n",
                       "darts_a_value": "darts = 3\n", "data_a_list": "data = [1]\n",
                       "data_size_string": '[data]\noptions = { size = "x" }\n'}.items():
        cases.append(Case(f"darts/config_{name}", ("darts", *out(f"cfg-{name}"), "--config",
                                                   str(write(d / f"{name}.toml", text))), 2))
    resumes: dict[str, tuple[Callable[[Path], Any] | None, int, tuple[str, ...]]] = {
        "finished": (None, 0, ()),
        "other_channels": (None, 2, ("--set", "channels=8")),
        "checkpoint_garbage": (lambda p: write(p / "checkpoint.pt", b"\x00" * 10), 2, ()),
        "checkpoint_a_list": (lambda p: torch_file(p / "checkpoint.pt", [1]), 2, ()),
        "checkpoint_no_history": (lambda p: torch_file(p / "checkpoint.pt", {"config": "{}"}), 2, ()),
    }
    for name, (edit, expect, extra) in resumes.items():
        folder = _copy(darts, d / f"resume-{name}", edit)
        argv = ["darts", "--out", str(folder), *DARTS_FAST, "--resume", *extra]
        if extra:                              # a later --set wins over DARTS_FAST's
            argv = ["darts", "--out", str(folder), *DARTS_FAST, *extra, "--resume"]
        cases.append(Case(f"darts/resume_{name}", tuple(argv), expect))
    return cases


def _results_cases(root: Path, run: Path, result: Path, darts: Path) -> list[Case]:
    d = root / "results"
    d.mkdir(parents=True, exist_ok=True)
    cases = [Case(f"results/{name}_valid", ("results", str(folder), "--csv", str(d / f"{name}.csv")), 0)
             for name, folder in (("run", run), ("result", result), ("darts", darts))]
    return cases + [
        Case("results/hall_of_fame", ("results", str(run), "--from", "hall_of_fame"), 0),
        Case("results/columns_known", ("results", str(run), "--columns", "n,key,fitness"), 0),
        Case("results/columns_unknown", ("results", str(run), "--columns", "a,b"), 2),
        Case("results/columns_unknown_with_csv", ("results", str(run), "--columns", "n,nope", "--csv",
                                                  str(d / "not-written.csv")), 2),
        Case("results/columns_huge_name", ("results", str(result), "--columns", "c" * HUGE), 2),
        Case("results/sort_unknown", ("results", str(darts), "--sort", "nope", "--csv", str(d / "unsorted.csv")), 2),
        Case("results/top_zero", ("results", str(run), "--top", "0"), 2),
        Case("results/missing_folder", ("results", str(d / "absent")), 2),
        Case("results/not_a_run", ("results", str(write(d / "user" / "notes.txt", "mine").parent)), 2)]


def _guard_cases(root: Path, g: Path, run: Path, result: Path, darts: Path) -> list[Case]:
    """Every writer aimed at what it must not write into: each refused, each target left byte-identical."""
    d = root / "guard"
    user = d / "a_user_folder"
    write(user / "config.json", {"mine": True})
    write(user / "notes.txt", "my notes")
    report = write(d / "a_report" / "report.md", "# an msenas report\n").parent
    export = write(d / "an_export" / "genome_01.json", valid_genome()).parent
    folders = {"a_search_run": _copy(run, d / "a_search_run"), "a_result": _copy(result, d / "a_result"),
               "a_darts_run": _copy(darts, d / "a_darts_run"), "a_user_folder": user, "a_report": report,
               "an_export": export}
    file = write(d / "a_file.txt", "keep me")
    specials = {"a_file": file, "a_fifo": _fifo(d / "a_fifo"), "a_link": _link(d / "a_link", file)}
    writers: dict[str, tuple[Callable[[Path], tuple[str, ...]], str | None]] = {   # argv for a target, own kind
        "search": (lambda t: ("search", "--config", str(root / "search.toml"), "--out", str(t), "--no-progress"),
                   None),
        "train": (lambda t: ("train", str(g), "--out", str(t), *TRAIN_FAST), "a_result"),
        "transfer": (lambda t: ("transfer", str(g), "--to", "digits", "--out", str(t), *TRAIN_FAST), "a_result"),
        "darts": (lambda t: ("darts", "--out", str(t), *DARTS_FAST), "a_darts_run"),
        "export": (lambda t: ("export", str(run), "--out", str(t)), "an_export"),
        "report": (lambda t: ("report", str(result), "--out", str(t)), "a_report"),
    }
    cases = []
    for writer, (argv, own) in writers.items():
        for name, target in {**folders, **specials}.items():
            if name != own and not (writer in ("train", "transfer") and name == "a_result"):
                cases.append(Case(f"{writer}/into_{name}", argv(target), 2))
    cases += [Case("search/resume_a_result", ("search", "--resume", str(folders["a_result"]), "--no-progress"), 2),
              Case("search/resume_a_darts_run", ("search", "--resume", str(folders["a_darts_run"]), "--no-progress"),
                   2),
              Case("train/resume_a_darts_run", ("train", str(g), "--out", str(folders["a_darts_run"]), *TRAIN_FAST,
                                                "--resume"), 2),
              Case("darts/resume_a_result", ("darts", "--out", str(folders["a_result"]), *DARTS_FAST, "--resume"), 2),
              Case("darts/resume_a_search_run", ("darts", "--out", str(folders["a_search_run"]), *DARTS_FAST,
                                                 "--resume"), 2)]
    file_writers = {"export-nir": lambda t: ("export-nir", str(result), "--out", str(t)),
                    "results": lambda t: ("results", str(run), "--csv", str(t))}
    targets = {"a_fifo": specials["a_fifo"], "a_link": specials["a_link"], "a_folder": user,
               "a_run_config": folders["a_search_run"] / "config.json",
               "a_result_weights": folders["a_result"] / "weights.pt",
               "a_darts_alphas": folders["a_darts_run"] / "alphas.json"}
    for writer, argv in file_writers.items():
        cases += [Case(f"{writer}/to_{name}", argv(t), 2) for name, t in targets.items()]
        cases.append(Case(f"{writer}/to_a_regular_file", argv(write(d / f"{writer}-old.out", "old")), 0))
    return cases


def _link(path: Path, to: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_symlink():
        path.symlink_to(to)
    return path


def _empty_message_cases(root: Path, g: Path, run: Path, result: Path, darts: Path) -> list[Case]:
    """Files whose loader raises an exception with an empty message (EOFError, BadZipFile, KeyError)."""
    d = root / "empty-message"
    cases = []
    for name, content in {"empty": b"", "truncated": None}.items():
        def cut(p: Path, content=content) -> None:
            p.write_bytes(content if content is not None else p.read_bytes()[:100])

        res = _copy(result, d / f"result-weights-{name}", lambda p: cut(p / "weights.pt"))
        cases += [Case(f"evaluate/weights_{name}", ("evaluate", str(res)), 2),
                  Case(f"export-nir/weights_{name}", ("export-nir", str(res), "--out", str(d / f"{name}.nir")), 2)]
        res = _copy(result, d / f"result-checkpoint-{name}", lambda p: cut(p / "checkpoint.pt"))
        cases.append(Case(f"train/resume_checkpoint_{name}", ("train", str(g), "--out", str(res), *TRAIN_FAST,
                                                              "--resume"), 2))
        dr = _copy(darts, d / f"darts-checkpoint-{name}", lambda p: cut(p / "checkpoint.pt"))
        cases.append(Case(f"darts/resume_checkpoint_{name}", ("darts", "--out", str(dr), *DARTS_FAST, "--resume"), 2))
        npz = _npz(d / f"npz-{name}" / "data.npz", content)
        cases.append(Case(f"train/npz_{name}", ("train", str(g), "--dataset", "npz", "--data-dir", str(npz.parent),
                                                "--out", str(d / f"out-npz-{name}"), *TRAIN_FAST), 2))
        target = write(d / f"target-{name}.npy", content if content is not None else _npy_bytes()[:60])
        cases.append(Case(f"search/target_npy_{name}", ("search", "--config", str(root / "search.toml"), "--set",
                                                        f"fitness.target={json.dumps(str(target))}", "--out",
                                                        str(d / f"out-target-{name}"), "--no-progress"), 2))

    def training_config(p: Path) -> None:                 # what `train --out RUN` used to leave behind
        shutil.copy(result / "config.json", p / "config.json")
        (p / "hall_of_fame.json").unlink()

    mixed = _copy(run, d / "run-with-training-config", training_config)
    return cases + [Case("results/training_config_no_hall_of_fame", ("results", str(mixed), "--from",
                                                                     "hall_of_fame"), 2),
                    Case("report/training_config_no_hall_of_fame", ("report", str(mixed), "--no-rdm"), 2)]


def _npz(path: Path, content: bytes | None) -> Path:
    """A dataset .npz that is empty (content b"") or cut in the middle of its zip archive."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros((20, 1, 8, 8), np.uint8), y=np.arange(20) % 2)
    path.write_bytes(content if content is not None else buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def _npy_bytes() -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.ones((4, 4)))
    return buf.getvalue()


# ----------------------------------------------------------------------------- snapshots


def snapshot(case: Case, root: str | os.PathLike) -> dict[str, tuple | None]:
    """The state of every file and folder under root that the case's argv names (the corpus root itself aside):
    type, and for a regular file its size, mtime and SHA-256. Only the existence of a .lock counts (a refused
    command may take and release a folder's lock)."""
    root = str(Path(root).resolve())
    out: dict[str, tuple | None] = {}
    for arg in case.argv:
        p = Path(arg)
        if not p.is_absolute() or not str(p).startswith(root + os.sep):
            continue
        out[str(p)] = _state(p)
        if p.is_dir() and not p.is_symlink():
            out.update({str(q): _state(q) for q in sorted(p.rglob("*"))})
    return out


def _state(q: Path) -> tuple | None:
    try:
        st = q.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if q.name == ".lock" or not stat.S_ISREG(st.st_mode):
        return (stat.S_IFMT(st.st_mode),)
    return ("file", st.st_size, st.st_mtime_ns, hashlib.sha256(q.read_bytes()).hexdigest())


# ----------------------------------------------------------------------------- running


@contextlib.contextmanager
def memory_guard(headroom: int = 6 * 2 ** 30):
    """Cap this process's address space (soft RLIMIT_AS) at its current size + headroom while cases run.

    A case that slips past every check and allocates without bound then fails
    in seconds (and shows up as a problem) instead of exhausting a shared machine.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmSize:"))
    cap = size + headroom if hard == resource.RLIM_INFINITY else min(hard, size + headroom)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def run_case(case: Case, cwd: str | os.PathLike) -> Outcome:
    """Run one case through msenas.cli.main in this process (cwd = the corpus folder)."""
    from msenas.cli import main

    out, err = io.StringIO(), io.StringIO()
    code, tb = None, None
    before = snapshot(case, cwd) if case.expect == 2 else None
    t0 = time.perf_counter()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(case.argv))
        except SystemExit as e:                       # argparse: usage + one error line, status 2
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:                         # noqa: BLE001 - a traceback is what we count
            tb = traceback.format_exc()
    seconds = time.perf_counter() - t0
    extra = {}
    if before is not None:                            # a refused command changes nothing on disk
        after = snapshot(case, cwd)
        extra["changed"] = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return Outcome(case, code, out.getvalue(), err.getvalue(), tb, seconds, extra)


def run_argvs(argvs: list[list[str]], cwd: str | os.PathLike = ".") -> list[dict]:
    """Run several argvs in this process: [{code, stderr, traceback}] (for runs inside another namespace)."""
    outs = [run_case(Case(f"argv{i}", tuple(a), 0), cwd) for i, a in enumerate(argvs)]
    return [{"code": o.code, "stderr": o.stderr, "traceback": o.traceback} for o in outs]


def problems(o: Outcome) -> list[str]:
    """What is wrong with an outcome: a traceback, an unexpected status, an error that is not one line."""
    found = []
    if o.traceback is not None:
        found.append(f"traceback: {o.traceback.strip().splitlines()[-1]}")
    if "Traceback" in o.stderr or "Traceback" in o.stdout:
        found.append("'Traceback' printed")
    if o.code != o.case.expect:
        found.append(f"exit {o.code}, expected {o.case.expect}")
    errors = [line for line in o.stderr.splitlines() if "error:" in line]
    command = o.case.argv[0]
    if o.code == 2 and (len(errors) != 1 or not errors[0].startswith(f"msenas {command}: error: ")):
        found.append(f"expected one 'msenas {command}: error: ...' line, got {len(errors)}: {o.stderr.strip()[:300]!r}")
    if o.code == 0 and errors:
        found.append(f"exit 0 with an error line: {errors[0][:200]!r}")
    for line in errors:
        if len(line) > LINE_LIMIT:
            found.append(f"an error line of {len(line):,} characters")
        if EMPTY_MESSAGE.search(line):
            found.append(f"an exception named with an empty message: {line[:300]!r}")
    if o.code == 2 and o.extra.get("changed"):
        found.append(f"refused, but changed {len(o.extra['changed'])} path(s): {o.extra['changed'][:3]}")
    return found


def main(argv: list[str]) -> int:
    """Build the corpus in argv[0] (default: a temp folder), run it, print one line per case."""
    import tempfile

    root = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="msenas-fuzz-"))
    cases = make_corpus(root)
    only = os.environ.get("FUZZ_ONLY", "")
    bad = 0
    with memory_guard():
        for case in cases:
            if only not in case.name:
                continue
            o = run_case(case, root)
            p = problems(o)
            bad += bool(p)
            last = (o.stderr.strip().splitlines() or [""])[-1]
            print(f"{'FAIL' if p else 'ok  '} {o.code!s:>4} {o.seconds:6.2f}s {case.name:<45} "
                  f"{'; '.join(p) or last[:110]}", flush=True)
    print(f"{len(cases)} cases, {bad} with problems, corpus in {root}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
