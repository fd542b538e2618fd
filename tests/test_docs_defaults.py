"""Defaults the docs quote equal the code's: the default-fitness table of docs/fitness.md against FitnessConfig(),
every "current default" claim in README.md and docs/, `section.field` defaults quoted in the docs, and the sizes
the experiments/*.toml headers quote against the presets' own values. Each check also fails on a doctored copy,
so it cannot pass whatever the docs say."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from msenas.darts.config import DartsConfig
from msenas.fitness.composite import COMPOSITES
from msenas.fitness.config import FitnessConfig
from msenas.search.config import RunConfig, load_config

ROOT = Path(__file__).resolve().parents[1]
FITNESS_MD = ROOT / "docs" / "fitness.md"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PRESETS = sorted((ROOT / "experiments").glob("*.toml"))
FIELDS = ("proxy", "T", "per_class", "steps", "batch_size", "lr", "calibration", "upper_tail")  # the table's rows
BEGIN, END = "<!-- default-fitness: begin -->", "<!-- default-fitness: end -->"


# ----------------------------------------------------------------------------- the default-fitness table

def default_table(text: str) -> dict[str, tuple[str, str]]:
    """field -> (default, meaning) of the table between the markers of docs/fitness.md."""
    assert text.count(BEGIN) == 1 and text.count(END) == 1, "docs/fitness.md: one default-fitness table, marked"
    rows = {}
    for line in text.split(BEGIN)[1].split(END)[0].splitlines():
        m = re.fullmatch(r"\|\s*`(\w+)`\s*\|\s*(.+?)\s*\|\s*(.*?)\s*\|", line.strip())
        if m:
            rows[m[1]] = (m[2].strip("`"), m[3])
    return rows


def table_mismatches(rows: dict[str, tuple[str, str]], cfg: FitnessConfig) -> list[str]:
    """What the table says that the config does not (empty when they agree)."""
    bad = [f"rows {sorted(rows)} are not {sorted(FIELDS)}"] if set(rows) != set(FIELDS) else []
    for name, (quoted, meaning) in rows.items():
        actual = getattr(cfg, name, None)
        value = type(actual)(quoted) if isinstance(actual, (int, float)) else quoted
        if value != actual:
            bad.append(f"{name}: docs say {quoted}, FitnessConfig() has {actual!r}")
    members = cfg.composite() or ()
    if "proxy" in rows and not all(f"`{p}`" in rows["proxy"][1] for p, _ in members):
        bad.append(f"proxy: the meaning does not name the composite's members {[p for p, _ in members]}")
    return bad


def test_the_default_fitness_table_of_docs_fitness_md_is_fitness_config():
    assert table_mismatches(default_table(FITNESS_MD.read_text()), FitnessConfig()) == []


@pytest.mark.parametrize("field", FIELDS)
def test_the_table_check_fails_when_the_docs_or_the_code_change_alone(field):
    text, cfg = FITNESS_MD.read_text(), FitnessConfig()
    other = {"proxy": "rdm_k_loss_params", "upper_tail": "extend", "lr": cfg.lr * 2}.get(field)
    other = getattr(cfg, field) + 1 if other is None else other
    changed_code = dataclasses.replace(cfg, **{field: other})
    assert table_mismatches(default_table(text), changed_code)
    row = next(line for line in text.split(BEGIN)[1].splitlines() if line.startswith(f"| `{field}` |"))
    cells = row.split("|")
    cells[2] = f" {other} "
    assert table_mismatches(default_table(text.replace(row, "|".join(cells))), cfg)


# ----------------------------------------------------------------------------- "the current default" anywhere

CLAIM = re.compile(r"current default|now the default|the default is\b|\*\*the default\*\*", re.I)
# `name`, `name@10x64`, `name` 10x64, `name` at 10 x 64
NAMED = re.compile(r"`(\w+)(?:@(\d+)x(\d+))?`(?: (?:at )?(\d+) ?x ?(\d+)\b)?")
FIDELITY = re.compile(r"(\d+) (?:Adam )?steps? (?:x|at) batch (\d+)")


def claims(text: str) -> list[str]:
    """Table rows and prose sentences that call something the current default."""
    units = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        units += [ln for ln in lines if ln.lstrip().startswith("|")]
        prose = " ".join(ln.strip() for ln in lines if not ln.lstrip().startswith("|"))
        units += re.split(r"(?<=[.;])\s+(?=[A-Z(])", prose)
    return [u for u in units if CLAIM.search(u)]


def claim_mismatches(unit: str, cfg: FitnessConfig) -> list[str]:
    """A claim naming composites must name cfg.proxy; a claim giving fidelities must give cfg's steps x batch."""
    named = [(m[1], m[2] or m[4], m[3] or m[5]) for m in NAMED.finditer(unit) if m[1] in COMPOSITES]
    sizes = {(int(a), int(b)) for n, a, b in named if a and n == cfg.proxy}
    sizes |= {(int(a), int(b)) for a, b in FIDELITY.findall(unit)}
    bad = []
    if named and cfg.proxy not in {n for n, _, _ in named}:
        bad.append(f"names {sorted({n for n, _, _ in named})} as the default, not {cfg.proxy!r}: {unit[:160]}")
    if sizes and (cfg.steps, cfg.batch_size) not in sizes:
        bad.append(f"gives {sorted(sizes)} steps x batch, not {cfg.steps} x {cfg.batch_size}: {unit[:160]}")
    return bad


def test_every_current_default_claim_in_readme_and_docs_matches_the_code():
    cfg = FitnessConfig()
    found = [(p.name, u) for p in DOCS for u in claims(p.read_text())]
    assert len(found) >= 3                     # docs/fitness.md's composite table, summary and search-vs-random rows
    assert [f"{name}: {bad}" for name, u in found for bad in claim_mismatches(u, cfg)] == []


def test_a_stale_current_default_claim_is_caught():
    cfg = FitnessConfig()
    assert claim_mismatches("| `rdm_k_loss_params` 5x32, the current default |", cfg)
    stale = f"`{cfg.proxy}` at {cfg.steps + 5} steps x batch {cfg.batch_size} (the current default)"
    assert claim_mismatches(stale, cfg)
    assert not claim_mismatches(f"`{cfg.proxy}@{cfg.steps}x{cfg.batch_size}` (now the default)", cfg)
    changed = dataclasses.replace(cfg, steps=cfg.steps + 1)
    assert any(claim_mismatches(u, changed) for p in DOCS for u in claims(p.read_text()))


# ----------------------------------------------------------------------------- `section.field` defaults

QUOTED = [re.compile(r"`(\w+)\.(\w+)`, default ([\w.]+)"),              # (`fitness.calibration`, default 50)
          re.compile(r"`(\w+)\.(\w+) ?= ?\"?([\w.]+)\"?`,? \(?the default")]   # `fitness.upper_tail = "x"`, the default


def quoted_defaults(text: str) -> list[tuple[str, str, str]]:
    """(section, field, quoted value) of every config default quoted in the text (line breaks joined)."""
    flat = " ".join(text.split())
    return [m.groups() for pattern in QUOTED for m in pattern.finditer(flat)]


def default_mismatches(quotes, run: RunConfig) -> list[str]:
    bad = []
    for section, name, quoted in quotes:
        actual = getattr(getattr(run, section, None), name, None)
        if actual is None or str(actual) != quoted:
            bad.append(f"`{section}.{name}`: docs say default {quoted}, the code has {actual!r}")
    return bad


def test_config_defaults_quoted_in_the_docs_are_the_code_defaults():
    quotes = [q for p in DOCS for q in quoted_defaults(p.read_text())]
    assert {("fitness", "calibration"), ("fitness", "upper_tail")} <= {(s, f) for s, f, _ in quotes}
    assert default_mismatches(quotes, RunConfig()) == []
    changed = dataclasses.replace(RunConfig(), fitness=dataclasses.replace(FitnessConfig(), calibration=7))
    assert default_mismatches(quotes, changed)


# ----------------------------------------------------------------------------- preset headers

SIZES = [  # (pattern in a header comment, the values it quotes, read from the preset's config)
    (r"population (\d+)\b", lambda c: (c.search.population,)),
    (r"\b(\d+) generations\b", lambda c: (c.search.generations,)),
    (r"\b(\d+) calibration genomes\b", lambda c: (c.fitness.calibration,)),
    (r"\b(\d+) x \((\d+) \+ 1\) = (\d+)\b", lambda c: (c.search.population, c.search.generations,
                                                    c.search.population * (c.search.generations + 1))),
    (r"\b(\d+) cells, C=(\d+)\b", lambda c: (*c.search_space.n_cells, *c.search_space.channels)),
]
DARTS_SIZES = [(r"\((\d+) cells, C=(\d+), (\d+) nodes,\s+(\d+) epochs\)",
                lambda d: (d.n_cells, d.channels, d.n_nodes, d.epochs))]


def header(path: Path) -> str:
    """The comment block at the top of a preset, joined into one line."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# "))
    return " ".join(lines)


def header_mismatches(text: str, cfg, sizes) -> tuple[int, list[str]]:
    """(number of quotes checked, the ones that differ from cfg)."""
    checked, bad = 0, []
    for pattern, values in sizes:
        for m in re.finditer(pattern, text):
            checked += 1
            if tuple(int(g) for g in m.groups()) != tuple(values(cfg)):
                bad.append(f"header says {m[0]!r}, the preset has {values(cfg)}")
    return checked, bad


def test_preset_headers_quote_the_sizes_the_presets_use():
    checked = 0
    for path in PRESETS:
        is_darts = "[darts]" in path.read_text()
        cfg = DartsConfig() if is_darts else load_config(path)   # the darts header quotes DartsConfig's own defaults
        n, bad = header_mismatches(header(path), cfg, DARTS_SIZES if is_darts else SIZES)
        assert bad == [], path.name
        checked += n
    assert checked >= 5                        # cifar10 and cifar100 (population, generations, cells) and darts


def test_a_preset_header_that_drifts_is_caught():
    path = ROOT / "experiments" / "cifar10.toml"
    cfg = load_config(path)
    assert header_mismatches(header(path).replace("population 50", "population 40"), cfg, SIZES)[1]
    bigger = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, generations=99))
    assert header_mismatches(header(path), bigger, SIZES)[1]
    darts = ROOT / "experiments" / "darts-digits-cpu.toml"
    assert header_mismatches(header(darts), DartsConfig(epochs=49), DARTS_SIZES)[1]
