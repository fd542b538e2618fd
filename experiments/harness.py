"""The one harness of experiments/: options, timing, per-item results, A/B against a baseline tree, stamps, tables.

Every script here builds its command line with `parser` / `command` (subcommands) and the shared flags of
`add`, parses `key=value` options with `options` (TOML literals, as `msenas --set`), times with `timed` (wall
and process CPU seconds), keeps each finished piece of work as one JSON file (`Items`: a rerun skips what is
done, so a killed benchmark resumes), compares this tree with a baseline worktree by running the same worker
in a subprocess per tree, round by round (`ab`), and ends with `emit`: a Markdown table printed and, when
asked, written with its numbers as JSON under a machine and date `stamp`.

It imports only the standard library at module level: a worker that runs under another tree's msenas
(`ab`) imports this file too.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

HERE = Path(__file__).resolve().parent
TREE = HERE.parent                      # the source tree this harness belongs to ("after" in an A/B)
WORKER_FLAG = "--worker"


# ----------------------------------------------------------------------------- options


def parser(doc: str) -> argparse.ArgumentParser:
    """The parser of a script: its docstring as the description, kept as written."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def command(sub, name: str, fn: Callable[[argparse.Namespace], Any], help: str, *flags: str,
            **defaults: Any) -> argparse.ArgumentParser:
    """A subcommand `name` running fn(args), with the shared flags named (see FLAGS; `defaults` changes theirs)."""
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(fn=fn)
    return add(p, *flags, **defaults)


FLAGS: dict[str, tuple[tuple[str, ...], dict]] = {
    "out": (("--out",), dict(required=True, help="output folder (a rerun resumes from it)")),
    "json": (("--json",), dict(default=None, help="also write the numbers here (JSON, with a machine and date stamp)")),
    "md": (("--md",), dict(default=None, help="also write the Markdown table here")),
    "seed": (("--seed",), dict(type=int, default=0)),
    "threads": (("--threads",), dict(type=int, default=1, help="torch CPU threads")),
    "option": (("--option",), dict(action="append", default=[], metavar="KEY=VALUE",
                                   help="dataset option, repeatable (e.g. size=8)")),
    "set": (("--set",), dict(dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="config override, repeatable (as msenas --set)")),
    "baseline": (("--baseline",), dict(default=None, help="source tree of the 'before' side (a git worktree)")),
    "rounds": (("--rounds",), dict(type=int, default=2, help="interleaved rounds (the tables show medians)")),
}


def add(p: argparse.ArgumentParser, *names: str, **defaults: Any) -> argparse.ArgumentParser:
    """Add the shared flags `names` (keys of FLAGS) to p, with changed defaults where given."""
    for name in names:
        flags, kw = FLAGS[name]
        kw = dict(kw)
        if name in defaults:
            kw["default"], kw["required"] = defaults[name], False
        p.add_argument(*flags, **kw)
    return p


def subcommands(doc: str) -> tuple[argparse.ArgumentParser, Any]:
    """(parser, subparsers) of a script with subcommands (add each with `command`)."""
    p = parser(doc)
    return p, p.add_subparsers(dest="cmd", required=True)


def dispatch(p: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> Any:
    """Parse argv and run the chosen subcommand's fn(args)."""
    args = p.parse_args(argv)
    return args.fn(args)


def options(items: Iterable[str]) -> dict[str, Any]:
    """['size=8', 'augment=false', 'data_dir=/x'] -> {'size': 8, 'augment': False, 'data_dir': '/x'}: each value a
    TOML literal when it is one (msenas.config.parse_value, as `msenas --set`), else the plain string."""
    from msenas.config import parse_value

    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"error: option {item!r}: expected key=value")
        out[key.strip()] = parse_value(raw.strip())
    return out


# ----------------------------------------------------------------------------- timing and stamps


@dataclass
class Timing:
    """Wall-clock and process CPU seconds of a block (filled when it ends)."""

    wall_s: float = 0.0
    cpu_s: float = 0.0


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
    """`with timed() as t: ...`, then t.wall_s and t.cpu_s (process CPU: every thread of this process)."""
    t = Timing()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield t
    finally:
        t.wall_s, t.cpu_s = time.perf_counter() - t0, time.process_time() - c0


def now() -> str:
    """The UTC date and time, as items and stamps record it."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def commit(tree: Path = TREE) -> str | None:
    """The short commit of a git tree (with '+' when it has uncommitted changes), None outside git."""
    def git(*a: str) -> str | None:
        done = subprocess.run(["git", "-C", str(tree), *a], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "--short", "HEAD")
    return None if head is None else head + ("+" if git("status", "--porcelain", "--untracked-files=no") else "")


def stamp() -> dict[str, Any]:
    """Where and when numbers were made: date, machine, CPUs, load, Python and torch versions, commit, command."""
    torch_version = sys.modules["torch"].__version__ if "torch" in sys.modules else None
    return {"date": now(), "machine": f"{platform.node()} ({platform.processor() or platform.machine()})",
            "cpus": os.cpu_count(), "load": [round(v, 2) for v in os.getloadavg()],
            "python": platform.python_version(), "torch": torch_version, "commit": commit(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}


# ----------------------------------------------------------------------------- per-item results


def read_json(path: str | Path) -> Any:
    """A JSON file's value."""
    return json.loads(Path(path).read_text())


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically (msenas.atomic), creating the folder."""
    from msenas.atomic import atomic_write_text

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(obj, indent=1, default=str) + "\n")


def slug(*parts: Any) -> str:
    """A file-name-safe item name from its parts: ('r0', 'demo-best', 1) -> 'r0-demo-best-1'."""
    return re.sub(r"[^A-Za-z0-9_.+=-]+", "_", "-".join(str(p) for p in parts))


class Items:
    """One JSON file per finished item in OUT/items/NAME.json; `get(name, fn, spec)` runs fn only when the item is
    missing, or was made with another spec (then it is redone). Each item records its spec, wall and CPU seconds
    (item_wall_s, item_cpu_s), the time it finished and the load average."""

    def __init__(self, out: str | Path):
        self.dir = Path(out) / "items"
        self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """The file of an item."""
        return self.dir / f"{name}.json"

    def done(self, name: str, spec: Any = None) -> dict | None:
        """The stored item, None when missing or made with another spec."""
        path = self.path(name)
        if not path.is_file():
            return None
        value = json.loads(path.read_text())
        return value if spec is None or value.get("spec") == spec else None

    def get(self, name: str, fn: Callable[[], dict], spec: Any = None, quiet: bool = False) -> dict:
        """The item `name`: read back when done, else fn() stored with its costs."""
        value = self.done(name, spec)
        if value is not None:
            return value
        with timed() as t:
            value = fn()
        value = {**value, "item": name, **({"spec": spec} if spec is not None else {}), "item_wall_s": t.wall_s,
                 "item_cpu_s": t.cpu_s, "finished": now(), "load": [round(v, 2) for v in os.getloadavg()]}
        write_json(self.path(name), value)
        if not quiet:
            print(f"[{value['finished']}] {name}: {t.wall_s:.1f} s wall, {t.cpu_s:.1f} CPU s", file=sys.stderr,
                  flush=True)
        return value

    def all(self) -> list[dict]:
        """Every stored item, by name."""
        return [json.loads(p.read_text()) for p in sorted(self.dir.glob("*.json"))]


# ----------------------------------------------------------------------------- workers and A/B


def serve_worker(fn: Callable[[dict], dict], argv: Sequence[str] | None = None) -> None:
    """In a script started as `SCRIPT --worker SPEC` (by `run_worker`), print fn(spec) as JSON and exit."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) == 2 and argv[0] == WORKER_FLAG:
        print(json.dumps(fn(json.loads(argv[1]))))
        raise SystemExit(0)


def run_worker(script: str | Path, spec: dict, tree: Path = TREE, env: dict | None = None) -> dict:
    """Run `python SCRIPT --worker SPEC` with msenas imported from `tree` (PYTHONPATH, working folder), one torch
    thread per BLAS unless env says otherwise; its JSON result. A failed worker raises with its stderr's tail."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(spec.get("threads", 1)), **(env or {})}
    cmd = [sys.executable, str(Path(script).resolve()), WORKER_FLAG, json.dumps(spec)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
    if done.returncode != 0:
        raise RuntimeError(f"worker failed for {spec} in {tree}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trees(baseline: str | None, others: Iterable[str] = ()) -> dict[str, Path]:
    """name -> source tree of an A/B: 'before' (the baseline, when given), NAME=PATH trees in order, 'after' (this)."""
    out = {"before": Path(baseline).resolve()} if baseline else {}
    for item in others:
        name, _, path = item.partition("=")
        out[name] = Path(path).resolve()
    out["after"] = TREE
    return out


def ab(script: str | Path, items: Items, specs: Sequence[tuple[str, dict]], sides: dict[str, Path], rounds: int,
       report: Callable[[dict], str] | None = None) -> list[dict]:
    """Interleaved A/B: for each round, for each (name, spec), for each tree, one worker run of `script` with that
    tree's msenas, so a machine shared with other jobs loads every side alike. Each run is an item
    (r<round>-<name>-<tree>, spec with round, tree name and commit); a rerun skips finished ones. Returns the items
    in run order, each with its `round` and `tree` in the spec; `report(item)` gives a progress line."""
    commits = {name: commit(path) for name, path in sides.items()}
    out = []
    for rnd in range(rounds):
        for name, spec in specs:
            for side, path in sides.items():
                full = {**spec, "round": rnd, "tree": side, "commit": commits[side]}
                item = items.get(slug(f"r{rnd}", name, side), lambda: run_worker(script, full, path), full, quiet=True)
                out.append(item)
                if report:
                    print(f"round {rnd} {name} {side}: {report(item)}", flush=True)
    return out


def train_step(net, opt, x, y) -> float:
    """One plain surrogate-gradient step: CE of the mean over T of the logits of x [T,B,C,H,W] against y [B],
    backward, optimiser step, neuron state reset; the loss."""
    import torch.nn.functional as F
    from spikingjelly.activation_based import functional

    loss = F.cross_entropy(net(x).mean(0), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    functional.reset_net(net)
    return float(loss.detach())


# ----------------------------------------------------------------------------- tables and output


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[bool] | None = None) -> str:
    """A Markdown table; `right` marks right-aligned (numeric) columns."""
    right = right or [False] * len(columns)
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---:" if r else "---" for r in right) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def emit(text: str, md: str | Path | None = None, json_path: str | Path | None = None, data: Any = None) -> None:
    """Print text; write it to `md`, and {"stamp": stamp(), **data} to `json_path`, when given."""
    print(text, flush=True)
    if md:
        from msenas.atomic import atomic_write_text

        Path(md).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(md, text.rstrip("\n") + "\n")
    if json_path:
        write_json(json_path, {"stamp": stamp(), **(data if isinstance(data, dict) else {"data": data})})


def mean_sd(values: Sequence[float], spec: str) -> str:
    """'m +- sd' of values (sample sd; 0 for one value)."""
    import statistics

    v = [float(x) for x in values]
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.fmean(v):{spec}} +- {sd:{spec}}"
