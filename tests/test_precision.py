"""Mixed precision through the one helper (msenas.runtime.resolve_precision), run on the CPU with real
bfloat16 / float16 autocast: the dtypes actually used, finite results close to float32, and the same helper
in training, evaluation, the fitness probe and MA-DARTS. (On a GPU `auto` means float16; the CPU runs
the same code with the dtype given explicitly.)"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from msenas.config import ConfigError, DataConfig
from msenas.darts import DartsConfig, bilevel, search
from msenas.fitness import FitnessConfig
from msenas.fitness.evaluate import evaluate_genome
from msenas.fitness.probe import make_probe
from msenas.genome import Op, get_space, instantiate, sample
from msenas.genome.types import Cell, Genome
from msenas.nn.network import build_network
from msenas.nn.neurons import FusedNode
from msenas.runtime import Precision, resolve_precision, seeded
from msenas.train import TrainConfig, evaluate_result, train
from msenas.train.result import load_tensors

CPU = torch.device("cpu")
DIGITS8 = DataConfig("digits", options={"size": 8}, seed=0)


@pytest.fixture(scope="module")
def digits8():
    return DIGITS8.build(4)


class DtypeLog:
    """Records (module type, output dtype, neuron potential dtype) of every conv and neuron forward."""

    def __init__(self):
        self.seen: set[tuple[str, torch.dtype, torch.dtype | None]] = set()

    def __enter__(self):
        def hook(mod, _inp, out):
            if isinstance(mod, (nn.Conv2d, FusedNode)):
                v = getattr(mod, "v", None)
                self.seen.add((type(mod).__name__, out.dtype, v.dtype if torch.is_tensor(v) else None))
        self.handle = nn.modules.module.register_module_forward_hook(hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()

    def dtypes(self, kind: str) -> set:
        """Output dtypes of modules of `kind` ("conv" or "neuron")."""
        return {d for name, d, _ in self.seen if (name == "Conv2d") == (kind == "conv")}

    def potentials(self) -> set:
        return {v for name, _, v in self.seen if name != "Conv2d"}


def test_resolve_precision_on_the_cpu():
    assert resolve_precision(CPU, "auto") == Precision(CPU) == resolve_precision(CPU, "off")
    bf, fp = resolve_precision(CPU, "bf16"), resolve_precision(CPU, "fp16")
    assert (bf.dtype, bf.name, bf.mixed) == (torch.bfloat16, "bfloat16", True)
    assert (fp.dtype, fp.name, Precision(CPU).name) == (torch.float16, "float16", "float32")
    assert [p.grad_scaler().is_enabled() for p in (Precision(CPU), bf, fp)] == [False, False, True]
    with pytest.raises(ConfigError, match=r"^train.amp: 'on' needs a CUDA device"):
        resolve_precision(CPU, "on", field="train.amp")
    with pytest.raises(ConfigError, match=r"amp: must be one of auto, on, off, bf16, fp16, got 'half'"):
        resolve_precision(CPU, "half")


def test_the_policy_for_a_cuda_device_without_touching_one():
    gpu = torch.device("cuda")                            # a device object only: nothing runs on it
    assert [resolve_precision(gpu, a).dtype for a in ("auto", "on", "off", "bf16", "fp16")] == \
        [torch.float16, torch.float16, None, torch.bfloat16, torch.float16]


def _step(net, x, y, precision: Precision):
    """One forward/backward under `precision`: (logits as float32, loss, flat gradient)."""
    net.zero_grad(set_to_none=True)
    with precision.autocast():
        logits = net(x)                                                   # [T,B,K]
    loss = F.cross_entropy(logits.float().mean(0), y)
    loss.backward()
    functional.reset_net(net)
    grad = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
    return logits.detach().float(), loss.detach().item(), grad


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_forward_and_backward_in_half_precision_are_finite_and_close_to_float32(amp):
    genome = sample(get_space("fixed"), np.random.default_rng(3))      # LIF, PLIF and IF, stepwise motifs too
    with seeded(0):
        net = build_network(genome, (3, 16, 16), 10, 4)
    x, y = torch.rand(4, 16, 3, 16, 16, generator=torch.Generator().manual_seed(0)), torch.arange(16) % 10
    ref_logits, ref_loss, ref_grad = _step(net, x, y, Precision(CPU))
    precision = resolve_precision(CPU, amp)
    with DtypeLog() as log:
        logits, loss, grad = _step(net, x, y, precision)
    assert log.dtypes("conv") == {precision.dtype} == log.dtypes("neuron")   # spikes in the autocast dtype
    assert log.potentials() == {torch.float32}           # the membrane potential stays float32 (neurons.py)
    assert torch.isfinite(logits).all() and torch.isfinite(grad).all()
    assert abs(loss - ref_loss) < 0.01 * ref_loss
    assert (logits - ref_logits).abs().mean() < 0.1 * ref_logits.abs().mean()
    assert F.cosine_similarity(grad, ref_grad, 0) > 0.5  # spikes near threshold flip; float32 under a 1e-3
    #                                                      input jitter gives 0.6-0.99 on the same genomes


def small_genome() -> Genome:
    cell = lambda: Cell((instantiate("chain", 1, [Op("conv3x3")]),))  # noqa: E731
    return Genome(cells=(cell(), cell()), inputs=((0,), (1,)), reductions=(1,), channels=8, stem_multiplier=1)


FAST = dict(epochs=3, batch_size=32, lr=1e-2, T=4, warmup_epochs=0.5)   # tests/test_train.py's: float32 ~0.85


@pytest.fixture(scope="module")
def runs(digits8, tmp_path_factory):
    """The same short training in float32, bfloat16 and float16 (GradScaler): amp -> (folder, metrics)."""
    out = {}
    for amp in ("off", "bf16", "fp16"):
        folder = tmp_path_factory.mktemp(f"train-{amp}")
        out[amp] = folder, train(small_genome(), digits8, TrainConfig(amp=amp, **FAST), folder, progress=False,
                                 data=DIGITS8)
    return out


def test_training_in_bfloat16_and_float16_learns_like_float32(runs):
    ref = runs["off"][1]["final"]["test_acc"]
    for amp, precision in (("off", "float32"), ("bf16", "bfloat16"), ("fp16", "float16")):
        folder, metrics = runs[amp]
        resolved = json.loads((folder / "config.json").read_text())["resolved"]
        assert resolved["precision"] == precision and resolved["amp"] == (amp != "off")
        assert all(np.isfinite(h["train_loss"]) and np.isfinite(h["test_loss"]) for h in metrics["history"])
        assert metrics["final"]["test_acc"] > 0.5 and abs(metrics["final"]["test_acc"] - ref) < 0.1
    scale = load_tensors(runs["fp16"][0] / "checkpoint.pt")["scaler"]["scale"]
    assert 1.0 < float(scale) <= 65536.0                  # float16 ran with loss scaling, saved for a resume
    assert load_tensors(runs["bf16"][0] / "checkpoint.pt")["scaler"] == {}   # no scaler for bfloat16


def test_evaluation_uses_the_training_precision(runs):
    for amp in ("bf16", "off"):
        folder, metrics = runs[amp]
        ev = evaluate_result(folder, device="cpu")
        assert ev["test_loss"] == metrics["final"]["test_loss"] and ev["test_acc"] == metrics["final"]["test_acc"]


def test_the_fitness_probe_runs_under_its_precision():
    from msenas.data import get_dataset

    ds = get_dataset("digits", T=2, seed=0, size=8)
    genome = sample(get_space("tiny"), np.random.default_rng(0))
    names = ("rdm", "log_params", "probe_loss")
    recs = {}
    for amp in ("off", "bf16"):
        cfg = FitnessConfig(T=2, per_class=4, steps=3, batch_size=16, amp=amp)
        with DtypeLog() as log:
            recs[amp] = evaluate_genome(genome, make_probe(ds, cfg, 0), cfg, names)
        assert log.dtypes("conv") == {torch.float32 if amp == "off" else torch.bfloat16}
    off, bf = recs["off"], recs["bf16"]
    assert bf.error is None and all(np.isfinite(list(bf.proxies.values())))
    assert bf.proxies["log_params"] == off.proxies["log_params"]
    assert abs(bf.proxies["probe_loss"] - off.proxies["probe_loss"]) < 0.1
    assert abs(bf.proxies["rdm"] - off.proxies["rdm"]) < 0.1 and abs(bf.spikes - off.spikes) < 0.05 * off.spikes


def test_ma_darts_runs_its_weight_and_alpha_steps_under_the_precision(digits8, tmp_path):
    tiny = dict(n_cells=3, channels=4, n_nodes=2, batch_size=32, max_batches=3, max_valid_batches=2,
                w_optimizer="adamw", w_lr=0.003, alpha_lr=0.003, epochs=1, device="cpu")
    results = {}
    for amp in ("off", "bf16", "fp16"):
        with DtypeLog() as log:
            results[amp] = search(digits8, DartsConfig(amp=amp, **tiny), tmp_path / amp, progress=False)
        assert log.dtypes("conv") == {{"off": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]}
        assert json.loads((tmp_path / amp / "config.json").read_text())["resolved"]["precision"] == \
            {"off": "float32", "bf16": "bfloat16", "fp16": "float16"}[amp]
    alphas = {amp: json.loads((tmp_path / amp / "alphas.json").read_text())["history"] for amp in results}
    for amp, hist in alphas.items():
        moved = np.abs(np.array(hist[-1]["normal"]) - np.array(hist[0]["normal"])).max()
        assert moved > 1e-4, amp                          # the alpha steps ran (none skipped as overflowed)
        assert np.isfinite(results[amp].history[-1]["train_loss"])
    scale = load_tensors(tmp_path / "fp16" / "checkpoint.pt")["scaler"]["scale"]
    assert 1.0 < float(scale) <= 65536.0


class _Smooth(nn.Module):
    """A smooth two-parameter-group model (float32): arch weights mixing three linear maps."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.randn(3))
        self.lins = nn.ModuleList(nn.Linear(4, 2) for _ in range(3))

    def arch_parameters(self):
        return [self.a]

    def weight_parameters(self):
        return list(self.lins.parameters())

    def forward(self, x):
        w = torch.softmax(self.a, 0)
        return sum(w[k] * torch.tanh(lin(x)) for k, lin in enumerate(self.lins))


def test_bilevel_gradients_with_loss_scaling_equal_the_unscaled_ones():
    torch.manual_seed(0)
    model = _Smooth()
    gen = torch.Generator().manual_seed(1)
    tb, vb = [tuple(torch.randn(16, d, generator=gen) for d in (4, 2)) for _ in range(2)]
    mse = lambda m, b, s=1.0: ((m(b[0]) - b[1]) ** 2).mean() * s  # noqa: E731
    scaled = lambda m, b: mse(m, b, 1024.0)  # noqa: E731
    assert torch.equal(bilevel.first_order(model, scaled, vb, loss_scale=1024.0)[0],
                       bilevel.first_order(model, mse, vb)[0])
    a = bilevel.second_order(model, scaled, tb, vb, xi=0.5, weight_decay=0.01, loss_scale=1024.0)[0]
    b = bilevel.second_order(model, mse, tb, vb, xi=0.5, weight_decay=0.01)[0]
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-8)
    wrong = bilevel.second_order(model, scaled, tb, vb, xi=0.5, weight_decay=0.01)[0]   # scale not undone
    assert not torch.allclose(wrong, b, rtol=1e-2)
