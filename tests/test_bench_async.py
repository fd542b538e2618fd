"""experiments/bench_async.py: the schedule model on hand-made costs."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import bench_async  # noqa: E402


def test_async_hands_the_next_genome_to_the_first_free_worker():
    assert bench_async.schedule([3, 1, 1, 1], workers=2, population=None) == 3      # one worker: 3; the other: 1+1+1
    assert bench_async.schedule([1, 1, 1, 1], workers=4, population=None) == 1


def test_a_generation_waits_for_its_slowest_genome():
    assert bench_async.schedule([3, 1, 1, 1], workers=2, population=2) == 3 + 1     # [3, 1] then [1, 1]
    costs = [5, 1, 1, 1, 1, 1, 1, 1]
    sync, free = bench_async.schedule(costs, 2, 4), bench_async.schedule(costs, 2, None)
    assert free < sync and sum(costs) / (2 * free) == pytest.approx(1.0)
