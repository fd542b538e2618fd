"""Ray evaluators: same records as serial, failures and dead workers recorded, real head node."""
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from helpers import digits_probe, plain, tiny_genomes

from msenas.config import DataConfig
from msenas.errors import MsenasError
from msenas.fitness import WORST_FITNESS, FitnessConfig
from msenas.fitness.config import ExecutorConfig
from msenas.fitness.engine import make_engine
from msenas.fitness.executors import ClusterError, RayEvaluator, SerialEvaluator

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CFG = FitnessConfig(T=2, per_class=3, steps=2, batch_size=16)
NAMES = ("rdm", "sahd", "log_params", "rdm_k", "probe_acc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crash_on_13_channels():
    """The real evaluate, except that a genome with 13 channels kills its worker process (fault injection)."""
    def evaluate_or_crash(g, probe, cfg, proxies):
        import os

        from msenas.fitness.evaluate import evaluate_genome as evaluate

        if g.channels == 13:
            os._exit(3)  # what an out-of-memory kill looks like to Ray
        return evaluate(g, probe, cfg, proxies)
    return evaluate_or_crash


def hang_on_17_channels():
    """The real evaluate, except that a genome with 17 channels never returns (fault injection)."""
    def evaluate_or_hang(g, probe, cfg, proxies):
        import time

        from msenas.fitness.evaluate import evaluate_genome as evaluate

        if g.channels == 17:
            time.sleep(3600)
        return evaluate(g, probe, cfg, proxies)
    return evaluate_or_hang


@pytest.fixture(scope="module")
def probe():
    return digits_probe(CFG, 12)


@pytest.fixture(scope="module")
def genomes():
    return tiny_genomes(11)


@pytest.fixture(scope="module")
def local_ray():
    import ray

    # 3 logical CPUs: the 2-worker evaluator fixture plus the 1-worker pool of the timeout test
    ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def evaluator(local_ray, probe):
    ev = RayEvaluator(probe, CFG, workers=2, retries=1, evaluate_fn=crash_on_13_channels())
    yield ev
    ev.close()


def test_ray_and_serial_give_identical_records(evaluator, probe, genomes):
    serial = SerialEvaluator(probe, CFG).map(genomes, NAMES)
    remote = evaluator.map(genomes, NAMES)
    assert evaluator.workers == 2
    assert plain(remote) == plain(serial) and all(r.error is None for r in remote)


def test_workers_the_cluster_cannot_place_end_in_one_line_after_the_placement_timeout(local_ray, probe):
    import ray

    from msenas.fitness.executors import make_executor

    holds = _hold_every_free_cpu()                  # another job holds every free CPU of the cluster
    try:
        t0 = time.perf_counter()
        with pytest.raises(ClusterError, match=r"^1 Ray workers could not be placed within 2 s \(each needs 1 CPU; "
                                               r"free now: 0 CPU\).*raise search.placement_timeout$"):
            make_executor(probe, CFG, ExecutorConfig(executor="ray", workers=1, placement_timeout=2))
        assert time.perf_counter() - t0 < 30
    finally:
        for hold in holds:
            ray.kill(hold)


def _hold_every_free_cpu(settle: float = 2.0) -> list:
    """Actors holding every CPU Ray reports free, until it has reported none for `settle` seconds."""
    import ray

    class Hold:                                     # defined here: pickled by value (workers cannot import tests)
        def ready(self) -> bool:
            return True

    holds, quiet_since, deadline = [], None, time.monotonic() + 120
    while time.monotonic() < deadline:
        free = ray.available_resources().get("CPU", 0.0)
        if free > 1e-9:
            holds.append(ray.remote(num_cpus=free)(Hold).remote())
            ray.get(holds[-1].ready.remote(), timeout=60)
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            return holds
        time.sleep(0.2)
    raise AssertionError("the local Ray's free CPUs did not settle")


def test_raising_genome_and_dying_worker_do_not_stop_the_batch(evaluator, probe, genomes):
    broken = dataclasses.replace(genomes[0], channels=0)      # evaluation raises GenomeError
    crashing = dataclasses.replace(genomes[1], channels=13)   # its worker dies on every attempt
    recs = evaluator.map([genomes[2], broken, crashing, genomes[3]], ("rdm", "log_params"))
    assert "GenomeError" in recs[1].error and recs[1].fitness == WORST_FITNESS
    assert "worker died 2 times" in recs[2].error and recs[2].fitness == WORST_FITNESS
    assert recs[2].worker_deaths == 2 and [r.worker_deaths for r in (recs[0], recs[1], recs[3])] == [0, 0, 0]
    assert recs[0].error is None and recs[3].error is None
    serial = SerialEvaluator(probe, CFG).map([genomes[2], genomes[3]], ("rdm", "log_params"))
    assert plain([recs[0], recs[3]]) == plain(serial)
    again = evaluator.map(genomes[:2], ("log_params",))     # the replaced workers keep serving
    assert all(r.error is None for r in again)


def test_a_hanging_genome_times_out_and_the_batch_goes_on(local_ray, probe, genomes):
    ev = RayEvaluator(probe, CFG, workers=1, evaluate_fn=hang_on_17_channels(), timeout=10.0)
    try:
        hanging = dataclasses.replace(genomes[0], channels=17)
        t0 = time.monotonic()
        recs = ev.map([hanging, genomes[1]], ("log_params",))
        assert 10.0 <= time.monotonic() - t0 < 600.0                # the genome sleeps for an hour
        assert "timed out after 10 s" in recs[0].error and recs[0].fitness == WORST_FITNESS
        assert recs[1].error is None                          # served by the replacement worker
        assert plain(recs[1:]) == plain(SerialEvaluator(probe, CFG).map(genomes[1:2], ("log_params",)))
    finally:
        ev.close()


def test_a_cluster_too_small_for_the_workers_asked_for_is_a_one_line_error_at_once(local_ray, probe):
    t0 = time.perf_counter()
    with pytest.raises(ClusterError, match=r"^this local Ray has 3 CPUs in all, but 4 workers of 1 CPU need 4; "
                                           r"lower --workers"):
        RayEvaluator(probe, CFG, workers=4)
    with pytest.raises(ClusterError, match="has 0 GPUs in all, but 1 workers of 1 CPU, 0.5 GPU need 0.5"):
        RayEvaluator(probe, CFG, workers=1, gpus=0.5)
    assert time.perf_counter() - t0 < 5


def test_unreachable_cluster_address_is_a_one_line_user_error(probe):
    port = free_port()
    t0 = time.perf_counter()
    with pytest.raises(ClusterError) as info:
        RayEvaluator(probe, CFG, address=f"127.0.0.1:{port}")
    msg = str(info.value)
    assert isinstance(info.value, MsenasError) and f"127.0.0.1:{port}" in msg and "\n" not in msg
    assert time.perf_counter() - t0 < 10
    with pytest.raises(ClusterError, match="expected host:port"):
        RayEvaluator(probe, CFG, address="no-port-here")
    with pytest.raises(ClusterError, match="cannot reach Ray cluster"):   # what `msenas search --address` calls
        make_engine(CFG, DataConfig("digits", options={"size": 8}), ExecutorConfig(address=f"127.0.0.1:{port}"))


def test_evaluates_through_a_real_head_node_on_loopback(probe, genomes):
    import ray

    ray.shutdown()                                             # leave the module's local session
    port = free_port()
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")          # short: Ray's socket paths have a length limit
    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    cmd = [ray_bin, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
           "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
           f"--dashboard-agent-listen-port={free_port()}",
           f"--dashboard-agent-grpc-port={free_port()}", f"--runtime-env-agent-port={free_port()}",
           f"--metrics-export-port={free_port()}"]
    head = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ev = None
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.time() < deadline, "ray head node did not start"
                time.sleep(0.5)
        ev = RayEvaluator(probe, CFG, workers=1, address=f"127.0.0.1:{port}")
        assert ray.get_runtime_context().gcs_address.endswith(f":{port}")
        with pytest.raises(ClusterError, match=f"the Ray cluster at 127.0.0.1:{port} has 2 CPUs in all, but 4"):
            RayEvaluator(probe, CFG, workers=4, address=f"127.0.0.1:{port}")    # issue 29: no silent wait
        recs = ev.map(genomes[:2], ("rdm", "log_params"))
        assert plain(recs) == plain(SerialEvaluator(probe, CFG).map(genomes[:2], ("rdm", "log_params")))
    finally:
        if ev is not None:
            ev.close()
        ray.shutdown()
        head.send_signal(signal.SIGTERM)                       # `ray start --block` stops the node it started
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)                # the process group this test created
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)
