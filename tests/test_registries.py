"""Every registry, entry by entry: a name resolves to something usable, and tables that must agree do.

Each check is parametrised over its registry, so a new entry is checked without an edit here
(tests/test_one_file_per_change.py shows it with scratch entries registered at run time).
"""
import pytest

from msenas.fitness.composite import COMPOSITES
from msenas.fitness.config import ExecutorConfig
from msenas.fitness.executors import EXECUTORS, Executor
from msenas.fitness.proxies import PROXIES
from msenas.fitness.rdm import CORRELATIONS, RDM_METRICS, READOUTS
from msenas.genome import NEURONS, OPS, PRESETS, TEMPLATES, Op, VectorCodec, get_template, instantiate, sample
from msenas.genome.parts import OP_KINDS
from msenas.registry import Registry, RegistryError
from msenas.report.build import REPORTS
from msenas.report.folders import FOLDERS
from msenas.report.tables import ROWS
from msenas.search import STRATEGIES
from msenas.search.objectives import OBJECTIVES, natural_objectives, weighted_objectives
from msenas.train.optim import LOSSES, OPTIMIZERS


def test_a_registry_names_what_it_knows_when_asked_for_what_it_does_not():
    reg = Registry("widget")
    reg.register("a")(1)
    with pytest.raises(RegistryError, match=r"^unknown widget 'b'; known: a$"):
        reg.get("b")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(2)
    assert reg.check("f", "b") == "f: must be one of a, got 'b'" and reg.check("f", "a") == ""
    assert [] not in reg and reg["a"] == 1 and len(reg) == 1
    assert reg.unregister("a") == 1 and "a" not in reg and len(reg) == 0
    with pytest.raises(RegistryError, match=r"^unknown widget 'a'; known: $"):
        reg.unregister("a")


@pytest.mark.parametrize("name", TEMPLATES.names())
def test_every_template_instantiates_valid_motifs_at_every_size(name):
    t = get_template(name)
    for n in range(1, 6):
        m = instantiate(name, n, [Op()] * t.n_edges(n), list(range(2 * n)))
        assert m.template == name and m.n_nodes == n and len(m.edges) == t.n_edges(n) and m.sinks()


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_search_space_samples_genomes_its_codec_round_trips(name):
    import numpy as np

    space = PRESETS.get(name)
    codec = VectorCodec(space)
    g = sample(space, np.random.default_rng(0))
    assert codec.decode(codec.encode(g)) == g


@pytest.mark.parametrize("name", OPS.names())
def test_every_op_has_a_kind_whose_cost_is_known(name):
    assert OPS.get(name).kind in OP_KINDS
    kind = OP_KINDS.get(OPS.get(name).kind)
    assert kind.params(8, OPS.get(name).kernel) >= 0 and kind.macs(8, OPS.get(name).kernel, 16) >= 0


def test_the_published_neurons_have_their_parameter_counts():
    assert {n: NEURONS.get(n).params for n in ("lif", "plif", "if")} == {"lif": 0, "plif": 1, "if": 0}  # PLIF: tau


@pytest.mark.parametrize("name", OPS.names())
def test_every_op_builds_a_module_whose_parameters_and_output_are_what_its_entry_says(name):
    import torch

    from msenas.genome.parts import op_params
    from msenas.nn.ops import SpikingOp

    for neuron in NEURONS:
        op = Op(name=name, neuron=neuron, sign=-1)
        module = SpikingOp(op, 8)
        assert sum(p.numel() for p in module.parameters()) == op_params(name, neuron, 8)
        x = 4 * torch.rand(4, 3, 8, 6, 6)        # strong enough that a slow neuron (tau 4) fires within T = 4
        y = module(x)
        assert y.shape == x.shape and (torch.all(y == 0) == OP_KINDS.get(op.kind).silent)


@pytest.mark.parametrize("name", NEURONS.names())
def test_every_neuron_model_builds_a_spiking_module_with_its_parameter_count(name):
    import torch

    from msenas.nn.neurons import make_neuron

    module = make_neuron(name)
    assert sum(p.numel() for p in module.parameters()) == NEURONS.get(name).params
    s = module(torch.full((4, 2, 3), 2.0))
    assert set(s.unique().tolist()) <= {0.0, 1.0} and s.sum() > 0


@pytest.mark.parametrize("name", COMPOSITES.names())
def test_every_composite_weighs_registered_proxies(name):
    assert all(n in PROXIES and w > 0 for n, w in COMPOSITES.get(name))


def test_rdm_options_and_objectives_resolve():
    assert {"last", "mean", "max"} <= set(READOUTS.names()) and "pearson" in RDM_METRICS and "spearman" in CORRELATIONS
    rec = {"fitness": 0.5, "spikes": 10.0, "sops": 5.0, "params": 7, "macs": 3, "energy": 2.0}
    names = OBJECTIVES.names()
    assert natural_objectives(rec, names) == (0.5, 10.0, 5.0, 7.0, 3.0, 2.0)
    assert weighted_objectives(rec, names) == (0.5, -10.0, -5.0, -7.0, -3.0, -2.0)


@pytest.mark.parametrize("name", EXECUTORS.names())
def test_every_executor_is_an_executor_a_search_config_may_name(name):
    cls = EXECUTORS.get(name)
    assert issubclass(cls, Executor) and callable(cls.from_config)
    assert all(callable(getattr(cls, m, None)) for m in ("submit", "poll", "map", "describe"))
    assert ExecutorConfig(executor=name, workers=1).resolved_kind() == name


def test_the_required_executors_strategies_losses_and_optimisers_are_registered():
    assert {"serial", "ray", "ray-gpu"} <= set(EXECUTORS.names())
    assert {"ga", "mu_plus_lambda", "nsga2", "aging", "random"} <= set(STRATEGIES.names())
    assert {"ce", "tet"} <= set(LOSSES.names()) and {"sgd", "adamw"} <= set(OPTIMIZERS.names())


def test_every_folder_kind_has_a_report_and_a_table():
    assert FOLDERS.names() == REPORTS.names() == ROWS.names() and {"run", "darts", "result"} <= set(FOLDERS.names())
