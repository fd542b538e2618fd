"""Which spikingjelly kernels run the neurons on a GPU: the choice, the fallback line and the probing, on the CPU.

The probe imports spikingjelly's real implementation modules here (no GPU is needed to import them); only
the last step, asking spikingjelly what it bound on a CUDA device, needs one (docs/cluster.md lists it).
"""
import importlib.util
import logging
import os

import pytest
import torch

from msenas.nn import cuda_backend
from msenas.nn.cuda_backend import ORDER, Choice, announce, choose, probe, requested, select_backend
from msenas.runtime import resolve_device

NOT_BUILT = "ImportError: Native operators for spikingjelly._ops.lif were not built."


@pytest.mark.parametrize("reasons, name, fallback", [
    ({"cuda": None, "triton": None, "torch": None}, "cuda", False),
    ({"cuda": NOT_BUILT, "triton": None, "torch": None}, "triton", True),
    ({"cuda": NOT_BUILT, "triton": "ModuleNotFoundError: No module named 'triton'", "torch": None}, "torch", True),
    ({"cuda": None, "triton": "anything"}, "cuda", False),
    ({}, "torch", True),                                  # nothing probed: the reference is always there
])
def test_the_fastest_available_implementation_is_chosen(reasons, name, fallback):
    c = choose(reasons)
    assert (c.name, c.fallback) == (name, fallback)
    assert list(c.unavailable) == list(ORDER[:ORDER.index(name)])   # exactly the faster ones, in order


def test_a_fallback_is_a_warning_that_says_why_and_the_fastest_an_info_line(caplog):
    with caplog.at_level(logging.INFO, logger="msenas.nn.cuda_backend"):
        announce(choose({"cuda": NOT_BUILT, "triton": None}), "cuda:0 (H100)")
        announce(Choice("cuda"), "cuda:0 (H100)")
    (warn, info) = caplog.records
    assert warn.levelno == logging.WARNING and info.levelno == logging.INFO
    assert warn.getMessage() == ("spiking neurons on cuda:0 (H100): spikingjelly's Triton kernels (triton), falling "
                                 f"back because the faster ones are unavailable (cuda: {NOT_BUILT})")
    assert info.getMessage() == "spiking neurons on cuda:0 (H100): spikingjelly's native CUDA kernels (cuda)"


@pytest.mark.parametrize("neuron", list(cuda_backend.PACKAGES))
def test_probing_imports_spikingjellys_real_modules(neuron):
    reasons = probe(neuron)
    assert list(reasons) == list(ORDER) and reasons["torch"] is None
    if importlib.util.find_spec("triton") is None:      # torch's CPU wheels do not bring triton
        assert reasons["triton"] == "ModuleNotFoundError: No module named 'triton'"
    else:
        assert reasons["triton"] is None
    if reasons["cuda"] is not None:                       # a pip install of spikingjelly has no native build
        assert reasons["cuda"].startswith("ImportError") and "SJ_BUILD_NATIVE_CUDA=1" in reasons["cuda"]
    assert choose(reasons).name == next(n for n in ORDER if reasons[n] is None)


def test_a_users_request_is_read_from_spikingjellys_variable(monkeypatch):
    monkeypatch.delenv("SJ_PLIF_CUDA_IMPLEMENTATION", raising=False)
    assert requested("plif") == "auto"
    monkeypatch.setenv("SJ_IF_CUDA_IMPLEMENTATION", "triton")
    assert requested("if") == "triton" and requested("lif") in ("auto", "cuda", "triton", "torch")


def test_off_cuda_nothing_is_probed():
    assert select_backend(torch.device("cpu")) == "cpu" and resolve_device("cpu") == torch.device("cpu")
    assert cuda_backend._select.cache_info().currsize == 0   # the CUDA-only step never ran


def test_batches_bound_for_cuda_get_worker_processes_and_pinned_memory_only_with_a_gpu():
    from msenas.data import default_workers, get_dataset, make_loader

    assert default_workers("cuda") == max(0, min(4, (os.cpu_count() or 1) - 1))
    split = get_dataset("digits", size=8).train
    loader = make_loader(split, 16, True, seed=1, device="cuda")   # what training on a GPU builds
    assert loader.num_workers == default_workers("cuda") and loader.pin_memory == torch.cuda.is_available()
    serial = make_loader(split, 16, True, seed=1, workers=0)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(loader, serial))
