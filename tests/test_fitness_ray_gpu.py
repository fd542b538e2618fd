"""Ray GPU scheduling on a CPU machine: Ray accepts logical GPUs (`ray.init(num_gpus=2)`), so placement,
fractional sharing, `auto_gpus`, what each worker sees and failures on GPU workers run for real here.

What cannot run here is CUDA itself: a worker holding a logical GPU sees no device, so it scores on its
CPU, which is what these tests assert (docs/cluster.md, "first hour on a GPU", lists the rest).
"""
import collections
import dataclasses
import json

import pytest
from helpers import digits_probe, plain, tiny_genomes

from msenas.config import ConfigError
from msenas.fitness import WORST_FITNESS, FitnessConfig
from msenas.fitness.config import ExecutorConfig
from msenas.fitness.engine import FitnessEngine
from msenas.fitness.executors import ClusterError, RayEvaluator, RayGpuEvaluator, SerialEvaluator, make_executor
from msenas.fitness.executors.ray_cpu import auto_gpus
from msenas.fitness.probe import make_probe
from msenas.search.config import load_config
from msenas.search.run import run_search

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CFG = FitnessConfig(proxy="log_params", T=2, per_class=2, steps=1, batch_size=8)


@pytest.fixture(scope="module")
def two_gpus():
    """A local Ray with 4 CPUs and 2 logical GPUs (this machine has no real one)."""
    import ray

    ray.init(address="local", num_cpus=4, num_gpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def probe():
    return digits_probe(CFG, 8)


@pytest.fixture(scope="module")
def genomes():
    return tiny_genomes(5)


def test_auto_gpus_spreads_workers_over_the_clusters_gpus(two_gpus):
    assert [auto_gpus(n, None) for n in (1, 2, 3, 4, 8)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert auto_gpus(0, None) == 0.0


def test_fractional_workers_share_a_gpu_and_each_sees_only_its_own(two_gpus, probe, genomes):
    ev = make_executor(probe, CFG, ExecutorConfig(workers=3))       # auto: 2 GPUs for 3 workers -> 0.5 each
    try:
        assert isinstance(ev, RayGpuEvaluator) and ev.resources == {"num_cpus": 1.0, "num_gpus": 0.5}
        assert ev.describe() == "3 Ray workers (1 CPU, 0.5 GPU each)"
        places = ev.placements()
        ids = [p["gpu_ids"] for p in places]
        assert all(len(i) == 1 for i in ids)                          # a fraction of exactly one GPU each
        assert sorted(collections.Counter(i[0] for i in ids).values()) == [1, 2]   # at most two on one GPU
        assert all(p["cuda_visible_devices"] == p["gpu_ids"][0] for p in places)   # Ray hides the other GPU
        assert {p["device"] for p in places} == {"cpu"} and ev.device == "cpu"      # logical GPUs: no CUDA here
        serial = SerialEvaluator(probe, CFG).map(genomes, ("log_params",))
        assert plain(ev.map(genomes, ("log_params",))) == plain(serial)
    finally:
        ev.close()


def test_whole_gpus_and_a_pool_larger_than_the_gpus(two_gpus, probe):
    ev = make_executor(probe, CFG, ExecutorConfig(executor="ray-gpu", workers=2, gpus_per_worker=1))
    try:
        assert sorted(p["gpu_ids"][0] for p in ev.placements()) == ["0", "1"]
    finally:
        ev.close()
    with pytest.raises(ClusterError, match=r"has 2 GPUs in all, but 1 workers of 1 CPU, 3 GPU need 3"):
        make_executor(probe, CFG, ExecutorConfig(executor="ray-gpu", workers=1, gpus_per_worker=3), start_timeout=5.0)


def test_cpu_fitness_keeps_cpu_workers_and_ray_gpu_refuses_it(two_gpus, probe):
    cpu_cfg = dataclasses.replace(CFG, device="cpu")
    ev = make_executor(probe, cpu_cfg, ExecutorConfig(workers=2))      # auto with device cpu: no GPUs taken
    try:
        assert type(ev) is RayEvaluator and ev.resources["num_gpus"] == 0
        assert [p["gpu_ids"] for p in ev.placements()] == [[], []]
    finally:
        ev.close()
    with pytest.raises(ConfigError, match="contradicts the ray-gpu executor"):
        make_executor(probe, cpu_cfg, ExecutorConfig(executor="ray-gpu", workers=2))


def fail_on_some_genomes():
    """The real evaluate, except that every third genome (by key) raises as a CUDA out-of-memory would, and
    the genome with 13 channels kills its worker (a crashed CUDA context looks like this to Ray)."""
    def evaluate(g, probe, cfg, proxies):
        import os

        from msenas.fitness.evaluate import evaluate_genome, genome_key

        if g.channels == 13:
            os._exit(3)
        if int(genome_key(g), 16) % 3 == 0:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return evaluate_genome(g, probe, cfg, proxies)
    return evaluate


def test_failing_genomes_on_gpu_workers_are_recorded_and_the_search_goes_on(two_gpus, tmp_path, genomes):
    cfg = load_config(None, ['space="tiny"', "data.options.size=8", 'fitness.proxy="log_params"', "fitness.T=2",
                             "fitness.per_class=2", 'search.executor="ray-gpu"', "search.workers=2",
                             "search.gpus_per_worker=0.5", "search.population=6", "search.generations=2"])
    probe = make_probe(cfg.data.build(cfg.fitness.T, cfg.seed), cfg.fitness, cfg.seed)
    ex = RayGpuEvaluator.from_config(probe, cfg.fitness, cfg.search.executor_config(),
                                     evaluate_fn=fail_on_some_genomes(), retries=1)
    crashing = dataclasses.replace(genomes[0], channels=13)
    dying = ex.map([crashing, genomes[1]], ("log_params",))           # the worker dies on every try, then failed
    assert "worker died" in dying[0].error and dying[1].error is None and ex.take_events()["worker_deaths"] >= 1
    final = run_search(cfg, tmp_path / "run", engine=FitnessEngine(cfg.fitness, ex), progress=False)
    ex.close()
    lines = [json.loads(s) for s in (tmp_path / "run" / "generations.jsonl").read_text().splitlines()]
    assert [e["gen"] for e in lines] == [0, 1, 2] and final.gen == 2
    failed = {k: r for k, r in final.cache.items() if r.get("error")}
    assert failed and sum(e["failures"] for e in lines) >= 1         # some genomes failed, the run went on
    assert all("CUDA out of memory" in r["error"] and r["fitness"] == WORST_FITNESS for r in failed.values())
    assert all(int(k, 16) % 3 == 0 for k in failed) and len(failed) < len(final.cache)
