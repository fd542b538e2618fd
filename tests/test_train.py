"""Trainer, result folder, resume, transfer and the train/transfer/evaluate commands (small, seeded, CPU)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from msenas.cli import main
from msenas.config import DataConfig
from msenas.errors import MsenasError
from msenas.genome import Op, instantiate, save
from msenas.genome.types import Cell, Genome
from msenas.registry import RegistryError
from msenas.train import (
    LOSSES,
    OPTIMIZERS,
    TrainConfig,
    TrainConfigError,
    TrainError,
    evaluate_result,
    load_result,
    parse_overrides,
    train,
    warmup_cosine,
)
from msenas.train.result import load_tensors

DIGITS8 = DataConfig("digits", options={"size": 8}, seed=0)
FAST = dict(batch_size=32, lr=1e-2, T=4, warmup_epochs=0.5)


def small_genome() -> Genome:
    """stem(8) -> chain conv3x3 cell -> reduction chain conv3x3 cell (16 ch): 3.3k params."""
    cell = lambda: Cell((instantiate("chain", 1, [Op("conv3x3")]),))  # noqa: E731
    return Genome(cells=(cell(), cell()), inputs=((0,), (1,)), reductions=(1,), channels=8, stem_multiplier=1)


def learned(test_acc: float, ds) -> bool:
    """Whether an accuracy beats any predictor that ignores its input, on this test split, beyond sampling noise.

    A network that learned nothing predicts independently of the image, so its expected accuracy is at most the
    largest class share p of the test split; 5 binomial standard deviations above p (about 0.18 for digits' 359
    test images) leave a chance of under 1e-6 that such a network passes.
    """
    y = np.asarray(ds.test.targets)
    p = np.bincount(y).max() / len(y)
    return test_acc > p + 5 * np.sqrt(p * (1 - p) / len(y))


@pytest.fixture(scope="module")
def digits8():
    return DIGITS8.build(4)


@pytest.fixture(scope="module")
def trained(digits8, tmp_path_factory):
    """A genome trained 3 epochs on 8x8 digits: (result folder, metrics)."""
    out = tmp_path_factory.mktemp("train") / "digits"
    metrics = train(small_genome(), digits8, TrainConfig(epochs=3, **FAST), out, progress=False, data=DIGITS8)
    return out, metrics


# ----------------------------------------------------------------------------- training


def test_three_epochs_on_digits_reach_well_above_chance(trained, digits8):
    out, metrics = trained
    hist = metrics["history"]
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert learned(metrics["final"]["test_acc"], digits8)
    assert hist[0]["train_loss"] > hist[1]["train_loss"] > hist[2]["train_loss"]   # every epoch lowers the loss
    assert hist[-1]["train_loss"] < np.log(10)          # below the loss of a uniform guess over 10 classes
    assert metrics["final"]["spikes"] > 0 and len(metrics["final"]["spikes_per_cell"]) == 2
    assert metrics["final"]["spikes"] >= sum(metrics["final"]["spikes_per_cell"])
    assert metrics["final"]["params"] == 3346
    assert {p.name for p in out.iterdir()} >= {"weights.pt", "genome.json", "metrics.json", "config.json",
                                                "checkpoint.pt"}


@pytest.mark.parametrize("optimizer,loss", [("sgd", "ce"), ("adamw", "tet")])
def test_every_optimizer_and_loss_learns(digits8, tmp_path, optimizer, loss):
    assert optimizer in OPTIMIZERS and loss in LOSSES
    lr = 0.1 if optimizer == "sgd" else 1e-2
    cfg = TrainConfig(epochs=2, optimizer=optimizer, loss=loss, **{**FAST, "lr": lr})
    metrics = train(small_genome(), digits8, cfg, tmp_path / "run", progress=False)
    hist = metrics["history"]
    assert learned(metrics["final"]["test_acc"], digits8) and hist[1]["train_loss"] < hist[0]["train_loss"]


def test_tet_loss_is_the_mean_over_time_of_per_step_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(5, 7, 4, generator=g), torch.randint(0, 4, (7,), generator=g)
    per_step = torch.stack([torch.nn.functional.cross_entropy(logits[t], y) for t in range(5)])
    assert torch.allclose(LOSSES.get("tet")(logits, y), per_step.mean(), atol=1e-6)
    mean_ce = torch.nn.functional.cross_entropy(logits.mean(0), y)
    assert torch.allclose(LOSSES.get("ce")(logits, y), mean_ce, atol=1e-6)
    assert not torch.allclose(LOSSES.get("tet")(logits, y), mean_ce)
    with pytest.raises(RegistryError, match="unknown loss 'mse'"):
        LOSSES.get("mse")


def test_warmup_then_cosine_schedule():
    f = warmup_cosine(total_steps=10, warmup_steps=4)
    values = [f(s) for s in range(10)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0]
    assert values[4] == 1.0 and all(a > b for a, b in zip(values[4:], values[5:]))
    assert f(10) == pytest.approx(0.0)


def test_recorded_learning_rate_warms_up_then_decays(trained):
    lrs = [h["lr"] for h in trained[1]["history"]]
    assert lrs[0] < FAST["lr"] and lrs[0] > lrs[1] > lrs[2] > 0  # end of epoch 1 is past the half-epoch warmup


# ----------------------------------------------------------------------------- result folder


def test_result_folder_loads_back_with_weights_only_and_reproduces_the_accuracy(trained):
    out, metrics = trained
    model, genome, config = load_result(out)
    assert genome == small_genome()
    assert config["in_shape"] == [1, 8, 8] and config["n_classes"] == 10
    # one DataConfig (issue 16)
    assert config["data"] == {"dataset": "digits", "data_dir": None, "options": {"size": 8}, "seed": 0}
    assert TrainConfig.from_dict(config["train"]) == TrainConfig(epochs=3, **FAST)
    assert not model.training
    ev = evaluate_result(out)
    assert ev["test_acc"] == metrics["final"]["test_acc"]
    assert ev["spikes"] == pytest.approx(metrics["final"]["spikes"])
    ck = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 3 and set(ck) >= {"model", "optimizer", "scheduler", "history"}


def test_loading_refuses_an_arbitrary_pickle(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "weights.pt")
    with pytest.raises(MsenasError, match="weights_only=True"):
        load_tensors(tmp_path / "weights.pt")


# ----------------------------------------------------------------------------- resume


class Crash(Exception):
    pass


def _noisy_digits(seed: int = 0):
    ds = DIGITS8.build(4)
    ds.train.augment = lambda x, rng: x + 0.1 * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    ds.train.rng = np.random.default_rng(seed)
    return ds


def test_resume_continues_from_the_saved_epoch_and_matches_an_uninterrupted_run(tmp_path):
    cfg = TrainConfig(epochs=3, max_train_batches=8, **FAST)
    full = train(small_genome(), _noisy_digits(), cfg, tmp_path / "full", progress=False)

    def crash_after_first(record):
        if record["epoch"] == 1:
            raise Crash
    with pytest.raises(Crash):
        train(small_genome(), _noisy_digits(), cfg, tmp_path / "cut", progress=False, on_epoch_end=crash_after_first)
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["completed_epochs"] == 1

    seen = []
    resumed = train(small_genome(), _noisy_digits(), cfg, tmp_path / "cut", resume=True, progress=False,
                    on_epoch_end=lambda r: seen.append(r["epoch"]))
    assert seen == [2, 3]                               # epoch 1 is not redone
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    a = torch.load(tmp_path / "full" / "weights.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "weights.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)     # augmentation RNG and schedule restored too
    assert resumed["final"]["test_acc"] == full["final"]["test_acc"]

    again = train(small_genome(), _noisy_digits(), cfg, tmp_path / "cut", resume=True, progress=False,
                  on_epoch_end=lambda r: seen.append(r["epoch"]))
    assert seen == [2, 3] and again["final"] == resumed["final"]


def test_resume_refuses_a_checkpoint_of_another_run(trained, digits8):
    out, _ = trained
    with pytest.raises(TrainError, match=r"train\.lr: 0\.01 -> 0\.02"):
        train(small_genome(), digits8, TrainConfig(epochs=3, **{**FAST, "lr": 0.02}), out, resume=True,
              progress=False, data=DIGITS8)
    with pytest.raises(TrainError, match="already holds a training run"):
        train(small_genome(), digits8, TrainConfig(epochs=3, **FAST), out, progress=False)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize("fields,named", [
    ({"epochs": 0}, "epochs"), ({"lr": -1.0}, "lr"), ({"optimizer": "adam"}, "optimizer"),
    ({"label_smoothing": 1.0}, "label_smoothing"), ({"batch_size": True}, "batch_size"),
    ({"warmup_epochs": 20.0}, "warmup_epochs"), ({"loss": "mse"}, "loss"), ({"lr_max": 1.0}, "lr_max"),
    ({"max_train_batches": 0}, "max_train_batches"), ({"T": "four"}, "T"),
])
def test_bad_config_fields_are_named(fields, named):
    with pytest.raises(MsenasError, match=rf"^{named}: "):
        TrainConfig.from_dict(fields)


def test_overrides_split_train_and_data_fields():
    train_fields, data_fields = parse_overrides(["lr=0.05", "optimizer=sgd", "data.size=8", "epochs=4"])
    assert train_fields == {"lr": 0.05, "optimizer": "sgd", "epochs": 4}
    assert data_fields == {"size": 8}
    cfg = TrainConfig.from_dict(train_fields)
    assert cfg.optimizer == "sgd" and cfg.lr == 0.05 and cfg.epochs == 4
    assert cfg.replace(max_train_batches=3).max_train_batches == 3 and cfg.replace(epochs=2).lr == 0.05
    with pytest.raises(MsenasError, match="lr"):
        parse_overrides(["lr"])
    with pytest.raises(TrainConfigError, match="^epochs: must be >= 1"):
        TrainConfig(epochs=0)


def test_amp_and_cuda_requests_fail_clearly_without_a_gpu(trained, digits8, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    for fields, named in (({"device": "cuda"}, "device"), ({"amp": "on"}, "amp")):
        with pytest.raises(TrainConfigError, match=rf"^{named}: "):
            train(small_genome(), digits8, TrainConfig(**fields), tmp_path / named, progress=False)


# ----------------------------------------------------------------------------- CLI


def test_transfer_a_digits_genome_to_digits_dvs_and_train_it(trained, tmp_path, capsys):
    src, _ = trained
    out = tmp_path / "dvs"
    rc = main(["transfer", str(src), "--to", "digits-dvs", "--epochs", "3", "--out", str(out), "--quiet",
               "--set", "data.size=8", "--set", "batch_size=32", "--set", "lr=0.01", "--set", "warmup_epochs=0.5"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "transfer: digits input (1, 8, 8), 10 classes -> digits-dvs input (2, 8, 8), 10 classes" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["in_shape"] == [2, 8, 8] and config["event"] is True
    metrics = json.loads((out / "metrics.json").read_text())
    assert learned(metrics["final"]["test_acc"], DataConfig("digits-dvs", options={"size": 8}, seed=0).build(4))

    rc = main(["evaluate", str(out)])
    assert rc == 0 and f"test accuracy {metrics['final']['test_acc']:.4f}" in capsys.readouterr().out


def test_train_command_writes_a_result_folder_and_resumes(tmp_path, capsys):
    gpath = tmp_path / "g.json"
    save(small_genome(), gpath)
    args = ["train", str(gpath), "--dataset", "digits", "--epochs", "1", "--out", str(tmp_path / "r"), "--quiet",
            "--set", "data.size=8", "--set", "max_train_batches=3"]
    assert main(args) == 0
    assert "result folder" in capsys.readouterr().out
    assert main(args + ["--resume"]) == 0              # finished run: nothing to redo
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["completed_epochs"] == 1


@pytest.mark.parametrize("argv,message", [
    (["train", "{tmp}/missing.json"], "missing.json: cannot read"),
    (["train", "{genome}", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["train", "{genome}", "--dataset", "cifar10"], "cifar10: data_dir is required"),
    (["train", "{genome}", "--data-dir", "{tmp}/nowhere"], "nowhere does not exist"),
    (["train", "{genome}", "--set", "optimizer=adam"], "optimizer: must be one of"),
    (["train", "{genome}", "--out", "{tmp}/fresh", "--resume"], "no checkpoint.pt"),
    (["transfer", "{genome}", "--to", "cifar10dvs", "--data-dir", "{tmp}"], "cifar10dvs: no events_np"),
    (["evaluate", "{tmp}/nothing"], "no such result folder"),
])
def test_bad_input_exits_2_with_a_one_line_error(tmp_path, capsys, argv, message):
    gpath = tmp_path / "g.json"
    save(small_genome(), gpath)
    rc = main([a.format(tmp=tmp_path, genome=gpath) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert message in err and len(err.splitlines()) == 1
