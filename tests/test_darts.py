"""MA-DARTS: a tiny search on digits moves the alphas, logs NoS per cell, exports a genome that trains;
second-order gradients match the exact unrolled gradient; derive picks top-2 inputs and non-zero ops;
a resumed search equals an uninterrupted one;
the CPU preset is small and overridable; alphas left near uniform are warned about and recorded."""
import json
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from msenas.cli import main
from msenas.darts import (
    DartsConfig,
    DartsConfigError,
    DartsRunError,
    Supernet,
    bilevel,
    derive_genome,
    derive_motif,
    edge_list,
    read_alphas,
    read_nos,
    search,
    skeleton,
)
from msenas.data import get_dataset
from msenas.genome import io
from msenas.nn.attention import ATTENTIONS
from msenas.nn.monitor import SpikeMonitor
from msenas.nn.network import build_network

TINY = dict(n_cells=3, channels=4, n_nodes=2, batch_size=32, max_batches=4, max_valid_batches=2,
            w_optimizer="adamw", w_lr=0.003, alpha_lr=0.003)


def test_cli_search_moves_alphas_logs_nos_per_cell_and_exports_a_genome_that_trains(tmp_path, capsys):
    from msenas.commands.inspect import summary
    from msenas.train import TrainConfig, train

    out = tmp_path / "run"
    sets = [f"{k}={v}" for k, v in {**TINY, "max_batches": 6}.items()] + ["data.size=8"]
    rc = main(["darts", "--dataset", "digits", "--epochs", "2", "--attention", "eca", "--out", str(out), "--quiet",
               *[a for s in sets for a in ("--set", s)]])
    assert rc == 0 and "derived genome" in capsys.readouterr().out

    alphas = read_alphas(out)
    first, last = alphas["history"][0], alphas["history"][-1]
    assert [h["epoch"] for h in alphas["history"]] == [0, 1, 2]
    for kind in ("normal", "reduce"):
        moved = (torch.tensor(last[kind]) - torch.tensor(first[kind])).abs().max()
        assert moved > 1e-3
        assert torch.allclose(torch.tensor(last[kind]).sum(1), torch.ones(len(edge_list(2))))

    records = read_nos(out)
    assert [r["epoch"] for r in records] == [1, 2]
    for r in records:
        for split in ("train_nos", "valid_nos"):
            per_cell = r[split]["spikes_per_cell"]
            assert len(per_cell) == 3 and sum(per_cell) > 0 and per_cell[0] > 0

    config = json.loads((out / "config.json").read_text())
    assert config["darts"]["attention"] == "eca" and config["data"]["options"] == {"size": 8}
    g = io.load(out / "genome.json")
    extras = json.loads((out / "genome.json").read_text())
    assert g.attention == extras["attention"] == "eca" and extras["search"]["epoch"] == 2
    assert g.inputs == ((0,), (0, 1), (1, 2)) and g.reductions == (1, 2) and g.channels == 4
    for cell in g.cells:
        (m,) = cell.motifs
        assert m.template == "darts" and m.n_nodes == 2
        assert all(e.op.name != "zero" for e in m.edges)
        for dst in (2, 3):
            srcs = [e.src for e in m.edges if e.dst == dst]
            assert len(srcs) == 2 and len(set(srcs)) == 2
    assert "darts" in summary(g, (1, 8, 8), 10, 2, extras)

    import matplotlib

    matplotlib.use("Agg")
    from msenas.report import make_report

    rep = make_report(out)                                    # msenas report on the MA-DARTS folder
    assert rep.kind == "darts" and not rep.notes
    assert sorted(f.path.name for f in rep.figures) == ["alphas.png", "curves.png", "genome.png", "nos.png"]
    text = rep.summary.read_text()
    assert "complete: 2 of 2 epochs done" in text and "attention eca" in text and io.key(g) in text

    ds = get_dataset("digits", size=8)
    cfg = TrainConfig(epochs=2, batch_size=64, T=2, lr=0.01, warmup_epochs=0.0, label_smoothing=0.0, device="cpu")
    metrics = train(g, ds, cfg, tmp_path / "trained", progress=False)
    h = metrics["history"]
    assert h[1]["train_loss"] < h[0]["train_loss"]
    assert metrics["final"]["test_acc"] > 0.2 and len(metrics["final"]["spikes_per_cell"]) == 3


@pytest.mark.parametrize("attention", ATTENTIONS.names() + ["cbam+temporal"])
def test_supernet_runs_with_every_attention_and_counts_spikes_per_cell(attention):
    cfg = DartsConfig(**{**TINY, "attention": attention})
    torch.manual_seed(0)
    net = Supernet(cfg, (2, 8, 8), 5)
    x = torch.rand(2, 3, 2, 8, 8)                             # [T,B,C,H,W]
    with SpikeMonitor(net) as mon:
        logits = net(x)
    assert logits.shape == (2, 3, 5)
    assert len(mon.summary(3)["spikes_per_cell"]) == 3 and mon.total > 0
    assert all(isinstance(c.attention, nn.Identity) == (attention == "none") for c in net.cells)
    assert {id(p) for p in net.arch_parameters()}.isdisjoint(id(p) for p in net.weight_parameters())


def test_derive_keeps_the_two_strongest_inputs_each_with_its_strongest_nonzero_op():
    cfg = DartsConfig(n_cells=3, n_nodes=3)
    col = {name: k for k, name in enumerate(cfg.ops)}
    edges = edge_list(3)                                      # (0,2) (1,2) (0,3) (1,3) (2,3) (0,4) .. (3,4)
    w = torch.full((len(edges), len(cfg.ops)), 0.01)
    strong = {(0, 2): ("conv5x5", 0.05), (1, 2): ("maxpool3x3", 0.3),
              (0, 3): ("avgpool3x3", 0.4), (1, 3): ("conv3x3", 0.2), (2, 3): ("identity", 0.5),
              (1, 4): ("conv5x5", 0.5), (3, 4): ("conv3x3", 0.6)}
    for e, (op, v) in strong.items():
        w[edges.index(e), col[op]] = v
    w[edges.index((0, 2)), col["zero"]] = 0.9                 # zero never wins
    w[edges.index((2, 4)), col["zero"]] = 0.95                # nor makes an input strong
    m = derive_motif(w, cfg)
    got = [(e.src, e.dst, e.op.name) for e in m.edges]
    assert got == [(0, 2, "conv5x5"), (1, 2, "maxpool3x3"), (0, 3, "avgpool3x3"), (2, 3, "identity"),
                   (1, 4, "conv5x5"), (3, 4, "conv3x3")]
    g = derive_genome({"normal": w, "reduce": w}, cfg)
    assert g.cells[0].motifs[0] == m and g == skeleton(cfg, m, m)


def test_a_one_op_supernet_computes_the_same_function_as_its_derived_network():
    # one candidate op and one node: the softmax weight is 1 and both inputs are kept, so the
    # derived genome is the supernet itself; copying the weights must give the same logits
    cfg = DartsConfig(n_cells=3, channels=4, n_nodes=1, ops=("conv3x3",), T=2)
    torch.manual_seed(0)
    sup = Supernet(cfg, (1, 8, 8), 10).eval()
    net = build_network(derive_genome(sup.op_weights(), cfg), (1, 8, 8), 10, T=2).eval()
    state = {re.sub(r"\.edges\.(\d+)\.ops\.0\.", r".motifs.0.ops.\1.", k): v
             for k, v in sup.state_dict().items() if not k.startswith("alphas_")}
    net.load_state_dict(state)
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(sup(x), net(x), atol=1e-5)


class _Smooth(nn.Module):
    """A differentiable two-level model: softmax(a)-mixed tanh(linear) candidates."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.randn(3, dtype=torch.float64))
        self.lins = nn.ModuleList(nn.Linear(4, 2).double() for _ in range(3))
        self.bn = nn.BatchNorm1d(2).double()

    def arch_parameters(self):
        return [self.a]

    def weight_parameters(self):
        return list(self.lins.parameters()) + list(self.bn.parameters())

    def forward(self, x):
        w = torch.softmax(self.a, 0)
        return self.bn(sum(w[k] * torch.tanh(lin(x)) for k, lin in enumerate(self.lins)))


def _mse(model, batch):
    return ((model(batch[0]) - batch[1]) ** 2).mean()


def test_second_order_gradient_matches_the_exact_unrolled_gradient_and_restores_the_weights():
    torch.manual_seed(0)
    model = _Smooth().eval()                                  # eval: BN is a fixed affine map
    gen = torch.Generator().manual_seed(1)
    batch = lambda: tuple(torch.randn(16, d, generator=gen, dtype=torch.float64) for d in (4, 2))  # noqa: E731
    tb, vb = batch(), batch()
    xi, wd = 0.5, 0.01
    names = [n for n, p in model.named_parameters() if n != "a"]
    weights = model.weight_parameters()
    before = [p.detach().clone() for p in weights]

    g_train = torch.autograd.grad(_mse(model, tb), weights, create_graph=True)
    unrolled = {n: p - xi * (g + wd * p) for n, p, g in zip(names, weights, g_train)}
    val = _mse(lambda x: torch.func.functional_call(model, unrolled, (x,)), vb)
    (exact,) = torch.autograd.grad(val, [model.a])

    (approx,) = bilevel.second_order(model, _mse, tb, vb, xi=xi, weight_decay=wd)
    (first,) = bilevel.first_order(model, _mse, vb)
    assert torch.allclose(approx, exact, rtol=1e-4, atol=1e-7)
    assert not torch.allclose(first, exact, rtol=1e-2)
    assert all(torch.equal(p, b) for p, b in zip(weights, before))
    (no_step,) = bilevel.second_order(model, _mse, tb, vb, xi=0.0)
    assert torch.allclose(no_step, first)


class _Stop(Exception):
    pass


def test_a_resumed_second_order_search_equals_an_uninterrupted_one(tmp_path):
    ds = get_dataset("digits", size=8)
    cfg = DartsConfig(**{**TINY, "epochs": 2, "order": "second", "attention": "temporal", "max_batches": 3})
    full = search(ds, cfg, tmp_path / "full", progress=False)

    def stop(record):
        raise _Stop

    with pytest.raises(_Stop):
        search(ds, cfg, tmp_path / "cut", progress=False, on_epoch_end=stop)
    with pytest.raises(DartsRunError, match="already holds"):
        search(ds, cfg, tmp_path / "cut", progress=False)
    with pytest.raises(DartsRunError, match="alpha_lr"):
        search(ds, cfg.replace(alpha_lr=0.1), tmp_path / "cut", resume=True, progress=False)
    resumed = search(ds, cfg, tmp_path / "cut", resume=True, progress=False)

    assert resumed.genome == full.genome
    assert read_alphas(tmp_path / "cut") == read_alphas(tmp_path / "full")
    strip = lambda rs: [{k: v for k, v in r.items() if k != "epoch_time"} for r in rs]  # noqa: E731
    assert strip(read_nos(tmp_path / "cut")) == strip(read_nos(tmp_path / "full"))
    assert len(read_nos(tmp_path / "cut")) == 2


def test_bad_options_exit_2_with_a_message_naming_the_field(tmp_path, capsys):
    assert main(["darts", "--out", str(tmp_path / "a"), "--set", "n_nodes=0"]) == 2
    assert "n_nodes" in capsys.readouterr().err
    assert main(["darts", "--out", str(tmp_path / "b"), "--attention", "se"]) == 2
    assert "attention" in capsys.readouterr().err
    assert main(["darts", "--out", str(tmp_path / "c"), "--dataset", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["darts", "--out", str(tmp_path / "d"), "--resume"]) == 2
    assert "resume" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["darts", "--out", str(tmp_path / "e"), "--set", "device=cuda", "--set", "n_cells=1"]) == 2
        assert "device" in capsys.readouterr().err


# ----------------------------------------------------------------------------- CPU preset, uniform alphas

PRESET = Path(__file__).parents[1] / "experiments" / "darts-digits-cpu.toml"


def _resolve(*argv):
    from msenas.cli import build_parser
    from msenas.commands.darts import resolve

    return resolve(build_parser().parse_args(["darts", *argv]))


def _conv_macs_per_step_pair(cfg: DartsConfig, in_shape) -> int:
    """Conv MACs of one supernet forward over one sample and T steps (hooks on every Conv2d)."""
    model, total = Supernet(cfg, in_shape, 10), [0]

    def hook(m, _, out):
        total[0] += out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, *in_shape))
    return total[0]


def test_the_cpu_preset_is_a_small_fraction_of_the_default_search_and_cli_options_override_it():
    cfg, data = _resolve("--config", str(PRESET))
    assert data.dataset == "digits" and dict(data.options) == {"size": 8} and cfg.torch_threads == 1
    default, default_data = _resolve()
    assert default == DartsConfig() and dict(default_data.options) == {}
    steps = 12                                  # both: the 1437 digits train images, halved, batch 64
    work = cfg.epochs * steps * _conv_macs_per_step_pair(cfg, (1, 8, 8))
    default_work = default.epochs * steps * _conv_macs_per_step_pair(default, (1, 16, 16))
    assert work < default_work / 100            # measured: 727 s for the default's first step in issue 18

    cfg, data = _resolve("--config", str(PRESET), "--epochs", "2", "--set", "channels=4", "--set", "data.size=16")
    assert (cfg.epochs, cfg.channels, cfg.n_cells, dict(data.options)) == (2, 4, 4, {"size": 16})
    cfg, data = _resolve("--config", str(PRESET), "--dataset", "digits-dvs")   # another dataset: not the preset's data
    assert data.dataset == "digits-dvs" and dict(data.options) == {} and cfg.n_cells == 4


@pytest.mark.parametrize("text,named", [
    ("[search]\nepochs = 1\n", "unknown table 'search'"),
    ("[darts]\nepochs = 0\n", "epochs: must be >= 1"),
    ("[data]\ndataset = \"digits\"\nsize = 8\n", "data.size: unknown field"),
    ("[data]\ndataset = \"nope\"\n", "data.dataset: unknown dataset"),
    ("darts = 3\n", "darts: expected a table"),
])
def test_a_bad_preset_is_a_one_line_error_naming_the_file_and_field(tmp_path, capsys, text, named):
    preset = tmp_path / "p.toml"
    preset.write_text(text)
    assert main(["darts", "--config", str(preset), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err and (str(preset) in err or "epochs" in named)


def test_alphas_left_near_uniform_are_warned_about_and_recorded_moved_ones_are_not(tmp_path, capsys):
    sets = [f"{k}={v}" for k, v in {**TINY, "max_batches": 3, "alpha_lr": 1e-5}.items()] + ["data.size=8"]
    argv = ["darts", "--epochs", "1", *[a for s in sets for a in ("--set", s)]]
    assert main([*argv, "--out", str(tmp_path / "flat")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"darts: [\d.]+ s per step pair; 1 more: about \d+ s plus validation", err)
    (warning,) = [line for line in err.splitlines() if "warning" in line]
    assert warning.startswith("msenas darts: warning: the architecture weights have hardly moved from uniform "
                              "after 3 alpha steps")
    search_block = json.loads((tmp_path / "flat" / "genome.json").read_text())["search"]
    assert search_block["alpha_steps"] == 3 and search_block["alpha_deviation"] < 0.05
    assert search_block["warnings"] == [warning.removeprefix("msenas darts: warning: ")]

    assert main([*argv, "--set", "alpha_lr=0.1", "--out", str(tmp_path / "moved"), "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err
    search_block = json.loads((tmp_path / "moved" / "genome.json").read_text())["search"]
    assert search_block["alpha_deviation"] >= 0.05 and "warnings" not in search_block


def test_torch_threads_hold_during_the_search_only_and_may_change_on_resume(tmp_path):
    ds = get_dataset("digits", size=8)
    cfg = DartsConfig(**{**TINY, "epochs": 2, "max_batches": 1, "max_valid_batches": 1, "torch_threads": 1})
    before, seen = torch.get_num_threads(), []

    def note_then_stop(record):
        seen.append(torch.get_num_threads())
        raise _Stop

    torch.set_num_threads(2)
    try:
        with pytest.raises(_Stop):
            search(ds, cfg, tmp_path / "run", progress=False, on_epoch_end=note_then_stop)
        assert seen == [1] and torch.get_num_threads() == 2
        search(ds, cfg.replace(torch_threads=None), tmp_path / "run", resume=True, progress=False,
               on_epoch_end=lambda r: seen.append(torch.get_num_threads()))
        assert seen == [1, 2]
    finally:
        torch.set_num_threads(before)
    with pytest.raises(DartsConfigError, match="torch_threads: must be >= 1"):
        DartsConfig(torch_threads=0)


def test_uniform_deviation_is_the_largest_relative_gap_to_one_over_n_ops():
    from msenas.darts.derive import uniform_deviation, uniform_warning

    flat = {"normal": torch.full((5, 4), 0.25), "reduce": torch.full((5, 4), 0.25)}
    assert uniform_deviation(flat) == 0.0 and "after 7 alpha steps" in uniform_warning(flat, 7)
    peaked = {**flat, "reduce": torch.tensor([[0.28, 0.24, 0.24, 0.24]] * 5)}
    assert uniform_deviation(peaked) == pytest.approx(0.12) and uniform_warning(peaked, 7) is None
