"""Shared test set-up: quiet, single-threaded, Ray without auth or telemetry."""
import os

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def references(tmp_path_factory) -> dict:
    """Built once per session (real runs, in process; copy a folder before changing it): a finished tiny search
    run, a one-batch training result and a one-step MA-DARTS run (tests/fuzz_corpus.py), their genome and
    search config."""
    from fuzz_corpus import reference_darts, reference_result, reference_run, valid_genome, write

    root = tmp_path_factory.mktemp("references")
    g = write(root / "genome.json", valid_genome())
    return {"root": root, "genome": g, "run": reference_run(root), "toml": root / "search.toml",
            "result": reference_result(root, g), "darts": reference_darts(root)}
