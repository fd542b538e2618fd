"""The command line itself: --version, a missing dependency in one line, and one dialect (--set TABLE.KEY, --quiet)."""
import json
import subprocess
import sys

import numpy as np
import pytest

import msenas
from msenas.cli import build_parser, main
from msenas.genome import get_space, sample, save


def test_version_is_the_installed_package_version():
    out = subprocess.run([sys.executable, "-m", "msenas", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"msenas {msenas.__version__}" and msenas.__version__ != "0+unknown"


def test_a_missing_spikingjelly_is_one_line_saying_how_to_install_it(tmp_path):
    g = tmp_path / "g.json"
    save(sample(get_space("tiny"), np.random.default_rng(0)), g)
    code = ("import sys; sys.modules['spikingjelly'] = None; from msenas.cli import main; "
            f"sys.exit(main(['train', {str(g)!r}, '--set', 'data.size=8', '--epochs', '1', "
            f"'--out', {str(tmp_path / 'r')!r}]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip() == ("msenas train: error: the package 'spikingjelly' is not installed; "
                                  "pip install --no-deps spikingjelly==2.0.0 "
                                  "(its declared requirements pull torchvision)")


# ----------------------------------------------------------------------------- one dialect: --set TABLE.KEY, --quiet

PROGRESS = {"search": [], "train": ["g.json"], "transfer": ["g.json", "--to", "digits"], "darts": []}
TINY_TRAIN = ["--epochs", "1", "--set", "train.max_train_batches=1", "--set", "train.batch_size=16",
              "--set", "train.T=2", "--set", "data.size=8"]


@pytest.fixture
def genome_file(tmp_path):
    """A genome file recording no dataset (as `msenas inspect` or a hand-written file would be)."""
    path = tmp_path / "g.json"
    save(sample(get_space("tiny"), np.random.default_rng(0)), path)
    return path


@pytest.mark.parametrize("flag", ["--quiet", "--no-progress"])
def test_every_command_that_shows_progress_takes_quiet_and_its_alias_no_progress(flag):
    for command, rest in PROGRESS.items():
        assert build_parser().parse_args([command, *rest, flag]).quiet is True, command
        assert build_parser().parse_args([command, *rest]).quiet is False, command


def test_train_reads_qualified_and_bare_set_keys_alike_and_no_progress_silences_it(genome_file, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", str(genome_file), *TINY_TRAIN, "--set", "train.lr=0.05", "--set", "weight_decay=0.02",
                 "--set", "train.energy.e_ac_pj=0.03", "--out", str(out), "--no-progress"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["train"]["lr"], cfg["train"]["weight_decay"], cfg["train"]["energy"]["e_ac_pj"]) == (0.05, 0.02, 0.03)
    assert (cfg["train"]["batch_size"], cfg["train"]["T"], cfg["data"]["options"]) == (16, 2, {"size": 8})
    err = capsys.readouterr().err
    assert "epoch 1/1" not in err and "it/s" not in err


def test_a_set_key_of_another_commands_table_is_refused_in_one_line(genome_file, tmp_path, capsys):
    assert main(["train", str(genome_file), "--set", "darts.w_lr=0.1", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err == ("msenas train: error: --set 'darts.w_lr=0.1': darts.KEY is not an option here; "
                                       "use train.KEY=VALUE or data.KEY=VALUE\n")
    for key in ("darts.channels=0", "channels=0"):              # qualified or bare: the same field, the same check
        assert main(["darts", "--set", key, "--out", str(tmp_path / "d")]) == 2
        assert capsys.readouterr().err.startswith("msenas darts: error: channels: must be >= ")
    assert not (tmp_path / "r").exists() and not (tmp_path / "d").exists()


def test_darts_reads_qualified_set_keys_as_its_table(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["darts", "--epochs", "1", "--set", "darts.max_batches=1", "--set", "darts.max_valid_batches=1",
                 "--set", "darts.n_cells=2", "--set", "darts.channels=4", "--set", "T=2", "--set", "data.size=8",
                 "--set", "darts.alpha_lr=0.01", "--out", str(out), "--no-progress"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    darts = cfg["darts"]
    assert (darts["n_cells"], darts["channels"], darts["T"], darts["alpha_lr"]) == (2, 4, 2, 0.01)
    assert "epoch 1/1" not in capsys.readouterr().err


def test_transfer_of_a_genome_file_without_its_source_dataset_says_so(genome_file, tmp_path, capsys):
    assert main(["transfer", str(genome_file), "--to", "digits-dvs", *TINY_TRAIN, "--out", str(tmp_path / "r"),
                 "--quiet"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ("transfer: source dataset not recorded in the genome file -> digits-dvs input (2, 8, 8), "
                     "10 classes")
