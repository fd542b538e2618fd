"""The command line itself: --version, and a missing dependency is a one-line error with the install hint."""
import subprocess
import sys

import numpy as np

import msenas
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
