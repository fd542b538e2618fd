"""The rank benchmark's statistics and scoring (experiments/rank_correlation.py)."""
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import rank_correlation as rc  # noqa: E402
from rank_correlation import bootstrap, kendall, paired_difference, spearman  # noqa: E402


@pytest.mark.parametrize("seed", range(5))
def test_kendall_and_spearman_match_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 25).astype(float)      # ties on purpose
    y = x + rng.normal(0, 2, 25)
    assert kendall(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)


def test_constant_sample_gives_zero_not_nan():
    assert kendall(np.ones(5), np.arange(5)) == 0.0
    assert spearman(np.arange(5), np.ones(5)) == 0.0


def test_bootstrap_interval_contains_estimate_and_paired_difference_of_a_proxy_with_itself_is_zero():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    x = y + rng.normal(0, 0.5, 40)
    est, lo, hi = bootstrap(x, y, kendall)
    assert lo < est < hi and 0 < lo
    assert paired_difference(x, x, y, kendall) == (0.0, 0.0, 0.0)
    better, worse = y + rng.normal(0, 0.1, 40), rng.normal(size=40)
    d, dlo, dhi = paired_difference(better, worse, y, kendall)
    assert d > 0 and dlo > 0                      # a real gap excludes 0


def _genome(i, params, dead_init, dead_k, loss):
    few = {"rdm_k": loss, "probe_loss": loss, "probe_acc": loss}
    return {"index": i, "params": params, "dead": dead_init or dead_k, "dead_init": dead_init,
            "proxies": {"rdm": 0.1 * i, "sahd": float(i), "log_params": float(np.log(params)), **few},
            "fidelities": {"5x32": {"proxies": few, "dead": dead_k}}}


def test_scores_rank_dead_genomes_last_per_fidelity():
    # genome 0 is silent at init, genome 1 only after the few steps
    res = [_genome(0, 900, True, True, 0.9), _genome(1, 800, False, True, 0.8),
           _genome(2, 100, False, False, 0.1), _genome(3, 200, False, False, 0.2)]
    sc = rc.scores(res, [rc.BASE, "5x32"], "10x64")
    lp = sc["log_params"]                          # zero-cost: only the init-dead genome is last
    assert lp[0] < lp[2] < lp[3] < lp[1]
    for name in ("probe_loss@5x32", "rdm_k_acc_params@5x32", "rdm_k_acc_params@10x64"):
        v = sc[name]
        assert max(v[0], v[1]) < min(v[2], v[3]), name
        assert v[3] > v[2], name                   # live genomes keep their order
    assert sc["params"][0] == pytest.approx(np.log(900))   # no forward pass: dead not detected


def test_fidelity_names_are_checked():
    base = rc.FitnessConfig()
    assert rc.fidelity_config(base, "3x64").steps == 3
    assert rc.fidelity_config(base, "3x64").batch_size == 64
    with pytest.raises(SystemExit, match="STEPSxBATCH"):
        rc.fidelity_config(base, "3-64")


def test_run_retime_and_report_end_to_end(tmp_path):
    import json
    import subprocess

    script = str(Path(__file__).resolve().parents[1] / "experiments" / "rank_correlation.py")
    out = tmp_path / "rank"
    common = ["--space", "tiny", "--epochs", "1", "--train-seeds", "0", "--option", "size=8", "--steps", "2",
              "--fidelity", "5x32", "--out", str(out)]
    subprocess.run([sys.executable, script, "run", "--n", "2", *common], check=True, capture_output=True, timeout=600)
    files = sorted((out / "genomes").glob("*.json"))
    assert [f.name[:3] for f in files] == ["000", "001"]
    res = json.loads(files[1].read_text())
    assert set(res["fidelities"]) == {"5x32"} and "0" in res["train"] and res["cpu_seconds"]["zero-cost"] > 0
    rt = subprocess.run([sys.executable, script, "retime", str(out), "--end", "2"], check=True,
                        capture_output=True, text=True, timeout=600)
    timed = json.loads((out / "retime_5x32.json").read_text())
    assert sorted(timed) == ["0", "1"]
    assert all(t["eval_cpu_seconds"] > 0 and t["train_cpu_seconds"] > t["eval_cpu_seconds"] for t in timed.values())
    assert "genomes 0..1 (2 timed): 5x32 evaluation" in rt.stdout
    mtime = (out / "retime_5x32.json").stat().st_mtime_ns
    subprocess.run([sys.executable, script, "retime", str(out), "--end", "2"], check=True, capture_output=True)
    assert (out / "retime_5x32.json").stat().st_mtime_ns == mtime      # resumes: nothing re-timed
    with pytest.raises(subprocess.CalledProcessError):                    # another setup into the same folder
        subprocess.run([sys.executable, script, "run", "--n", "2", *common[:-1], str(out), "--seed", "1"],
                       check=True, capture_output=True, timeout=600)


def test_the_ensemble_rule_picks_the_complementary_pair_among_the_top_singles():
    rng = np.random.default_rng(0)
    y = rng.random(60)
    a, b = y + rng.normal(0, 0.3, 60), y + rng.normal(0, 0.3, 60)      # two noisy views of the truth
    sc = {"a": a, "b": b, "c": -y, "d": rng.random(60), "params": y, "rdm_only": y}
    masks = {"": np.zeros(60, bool)}
    chosen = rc.choose_ensemble(sc, y, masks, top=3, sizes=(2,))
    assert chosen == ("a", "b")                                             # never the composite, never params
    both = rc.ensemble_column(chosen, sc, masks)
    assert rc.kendall(both, y) > max(rc.kendall(a, y), rc.kendall(b, y))
    dead = np.zeros(60, bool)
    dead[:5] = True
    assert (rc.ensemble_column(chosen, sc, {"": dead})[:5] == -1).all()


def test_a_joint_ensemble_is_chosen_by_the_mean_tau_over_the_spaces():
    rng = np.random.default_rng(1)
    ys = [rng.random(50), rng.random(50)]
    # in space 0 proxy `a` is perfect and `b` noise; in space 1 the reverse: only a+b serves both
    scs = [{"a": ys[0], "b": rng.random(50), "c": -ys[0]}, {"a": rng.random(50), "b": ys[1], "c": -ys[1]}]
    masks = [{"": np.zeros(50, bool)}] * 2
    assert rc.choose_ensemble(scs, ys, masks, top=3, sizes=(2,)) == ("a", "b")
