"""msenas report: figures and report.md from real (small) search runs and a real training result folder."""
from __future__ import annotations

import json
import shutil

import matplotlib.image as mpimg
import numpy as np
import pytest

from msenas.cli import main
from msenas.fitness import WORST_FITNESS
from msenas.fitness.record import usable_values
from msenas.genome import get_space, io, sample
from msenas.report import ReportError, make_report, read_folder
from msenas.report.diagram import genome_figure
from msenas.report.rdm import probe_rdms

SEARCH = ["--workers", "0", "--no-progress", "--set", "space=\"tiny\"", "--set", "search.population=4",
          "--set", "fitness.proxy=\"rdm\"", "--set", "fitness.per_class=2", "--set", "fitness.T=2",
          "--set", "data.options.size=8"]


def assert_png(fig, min_side: int = 300) -> np.ndarray:
    """The file is a PNG of the size the writer reported, and not blank (varied, partly non-white)."""
    img = mpimg.imread(fig.path)                      # [H, W, 4] floats in [0, 1]
    assert img.shape[:2] == (fig.height, fig.width)
    assert min(img.shape[:2]) >= min_side
    rgb = img[..., :3]
    assert rgb.std() > 0.05, f"{fig.path.name} looks blank"
    assert (rgb.min(axis=2) < 0.9).mean() > 0.01, f"{fig.path.name} is almost all white"
    return img


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    """A single-objective run: generation 0, a report, then resumed for generation 1 (real CLI)."""
    run = tmp_path_factory.mktemp("search") / "run"
    assert main(["search", "--out", str(run), "--set", "search.generations=0", *SEARCH]) == 0
    first = make_report(run, rdm=False)
    resume = ["search", "--resume", str(run), "--set", "search.generations=1", "--workers", "0", "--no-progress"]
    assert main(resume) == 0
    return run, first


@pytest.fixture(scope="module")
def pareto_run(tmp_path_factory):
    """A two-objective (fitness, spikes) NSGA-II run of two generations."""
    run = tmp_path_factory.mktemp("search") / "mo"
    assert main(["search", "--out", str(run), "--set", "search.generations=1",
                 "--set", 'search.objectives=["fitness","spikes"]', *SEARCH]) == 0
    return run


@pytest.fixture(scope="module")
def trained(resumed_run, tmp_path_factory):
    """The resumed run's best genome trained one short epoch on 8x8 digits (real CLI)."""
    run, _ = resumed_run
    out = tmp_path_factory.mktemp("train") / "result"
    assert main(["train", str(run / "best.json"), "--epochs", "1", "--out", str(out), "--quiet",
                 "--set", "max_train_batches=2", "--set", "batch_size=32", "--set", "T=2",
                 "--set", "data.size=8"]) == 0
    return out


def test_a_resumed_run_reports_every_generation_and_no_pareto(resumed_run, capsys):
    run, first = resumed_run
    assert {f.path.name for f in first.figures} == {"fitness.png", "diversity.png", "genome.png"}
    assert main(["report", str(run)]) == 0
    out = run / "report"
    names = {p.name for p in out.glob("*.png")}
    assert names == {"fitness.png", "diversity.png", "genome.png", "rdm.png"}
    printed = capsys.readouterr().out
    assert f"wrote {out / 'report.md'}" in printed
    report = read_folder(run)
    assert [g["gen"] for g in report.generations] == [0, 1]
    text = (out / "report.md").read_text()
    best = json.loads((run / "hall_of_fame.json").read_text())[0]
    for needle in ("digits", "`tiny`", "`rdm`", "2 of 2 generations", best["key"], "(fitness.png)", "(rdm.png)"):
        assert needle in text


def test_each_search_figure_is_a_readable_non_blank_png(pareto_run):
    rep = make_report(pareto_run)
    assert {f.path.name for f in rep.figures} == {"fitness.png", "diversity.png", "pareto.png", "genome.png", "rdm.png"}
    for fig in rep.figures:
        assert_png(fig)
    text = rep.summary.read_text()
    assert "objectives fitness, spikes" in text and "(pareto.png)" in text and not rep.notes


def test_rdm_figure_reproduces_the_recorded_fitness_of_the_best(resumed_run):
    run, _ = resumed_run
    cfg = json.loads((run / "config.json").read_text())
    best = json.loads((run / "hall_of_fame.json").read_text())[0]
    view = probe_rdms(io.from_dict(best["genome"]), cfg["fitness"], cfg["data"], cfg["seed"])
    assert view.score == pytest.approx(best["record"]["proxies"]["rdm"], abs=1e-9)
    assert view.network.shape == view.target.shape == (20, 20)   # 10 classes x per_class 2
    assert np.array_equal(view.target, (view.labels[:, None] != view.labels[None, :]).astype(float))


def test_in_progress_run_with_a_cut_line_and_no_hall_of_fame(resumed_run, tmp_path):
    run, _ = resumed_run
    live = tmp_path / "live"
    shutil.copytree(run, live, ignore=shutil.ignore_patterns("report"))
    best_key = json.loads((run / "hall_of_fame.json").read_text())[0]["key"]
    with open(live / "generations.jsonl", "a") as f:
        f.write('{"gen": 2, "best": 0.3, "mea')                     # a line being appended
    (live / "hall_of_fame.json").unlink()
    folder = read_folder(live)
    assert folder.skipped_lines == 1 and len(folder.generations) == 2
    assert folder.source == "checkpoint" and folder.best["key"] == best_key
    rep = make_report(live, tmp_path / "out", rdm=False)
    assert {f.path.name for f in rep.figures} == {"fitness.png", "diversity.png", "genome.png"}
    assert "1 unreadable line(s)" in rep.summary.read_text()


def test_a_run_that_has_not_finished_generation_0_gets_a_summary_only(resumed_run, tmp_path):
    from msenas.search import checkpoint
    from msenas.search.state import initial_state

    run, _ = resumed_run
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for name in ("config.json", "dataset.json"):
        shutil.copy(run / name, fresh / name)
    (fresh / "generations.jsonl").write_text("")
    checkpoint.save(fresh, initial_state(0))
    rep = make_report(fresh)
    assert rep.figures == ()
    assert "no generation finished yet" in rep.summary.read_text()


def test_result_folder_figures_and_summary(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    rep = make_report(trained, trained / "rep")
    assert {f.path.name for f in rep.figures} == {"nos.png", "curves.png", "genome.png"}
    for fig in rep.figures:
        assert_png(fig)
    text = rep.summary.read_text()
    assert f"{metrics['final']['test_acc']:.4g}" in text and "1 of 1 epochs" in text


def test_genome_diagram_of_the_largest_space(tmp_path):
    g = sample(get_space("mse-nas"), np.random.default_rng(3))
    small = assert_png(genome_figure(sample(get_space("tiny"), np.random.default_rng(3)), tmp_path / "t.png"))
    big = assert_png(genome_figure(g, tmp_path / "g.png", (3, 32, 32)))
    assert big.shape[1] > small.shape[1]


def test_failure_scores_are_not_plotted(resumed_run, tmp_path):
    # The same run three times, its last generation's "min" edited: the failure score, a missing value, a real low
    # value. A failure score must draw what a missing value draws (no point; the axis is not stretched to -1e9),
    # while a real value, drawn, changes the figure (so the comparison can see a plotted point).
    run, _ = resumed_run

    def fitness_png(name: str, edit) -> np.ndarray:
        folder = tmp_path / name
        shutil.copytree(run, folder, ignore=shutil.ignore_patterns("report"))
        gens = [json.loads(line) for line in (folder / "generations.jsonl").read_text().splitlines()]
        edit(gens[-1])
        (folder / "generations.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gens))
        rep = make_report(folder, folder / "report", rdm=False)
        return mpimg.imread(next(f.path for f in rep.figures if f.path.name == "fitness.png"))

    failed = fitness_png("failed", lambda g: g.update(min=WORST_FITNESS))
    missing = fitness_png("missing", lambda g: g.pop("min"))
    drawn = fitness_png("drawn", lambda g: g.update(min=g["mean"] - 1.0))
    assert np.array_equal(failed, missing)
    assert not np.array_equal(drawn, missing)


def test_usable_values_mark_failure_scores_missing():
    out = usable_values([0.5, -1.0e9, float("nan"), None, 0.1])
    assert np.isnan(out).tolist() == [False, True, True, True, False]
    costs = usable_values([3.0, 1.0e30, 0.0], cost=True)             # the cost penalty of a failed or dead genome
    assert np.isnan(costs).tolist() == [False, True, False]


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "is not a msenas run, MA-DARTS or result folder (no generations.jsonl, alphas.json or metrics.json)"),
    (lambda p: p / "missing", "no such folder"),
])
def test_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path, capsys, make, message):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["report", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("msenas report: error:") and "\n" not in err
    with pytest.raises(ReportError):
        read_folder(make(tmp_path))
