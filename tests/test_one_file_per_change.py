"""Adding a neuron, an attention, a proxy, a strategy, an executor or a dataset is one entry: the checks that are
parametrised over the registries run on it unchanged, and a tiny real search uses it by name.

Each test registers a scratch entry at run time (a minimal real implementation under a new name), calls the
parametrised checks' own functions on it, and unregisters it. docs/design.md lists the one file per kind.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math

import test_attention
import test_data
import test_data_options
import test_proxies_zero_cost
import test_registries
import test_strategies
import torch

from msenas.data import DATASETS, register_dataset
from msenas.fitness.executors import EXECUTORS, SerialEvaluator
from msenas.fitness.proxies import PROXIES, ZERO_COST, register_proxy
from msenas.genome.parts import ATTENTIONS, NEURONS, OPS, AttentionSpec, NeuronModel
from msenas.search import STRATEGIES
from msenas.search.config import load_config
from msenas.search.results import evaluation_lines
from msenas.search.run import run_search
from msenas.search.strategies.random_search import RandomSearch

SLOW_TAU = 4.0                          # the scratch neuron: LIF with tau 4 instead of the default 2


@contextlib.contextmanager
def scratch(registry, name: str, entry=None, register=None):
    """`entry` registered as `name` (or `register()` run, which registers it) for the duration; then removed."""
    if register is None:
        registry.register(name)(entry)
    else:
        register()
    try:
        yield registry.get(name)
    finally:
        registry.unregister(name)
    assert name not in registry


def build_slow_lif(p, step_mode: str):
    """The scratch neuron's builder ("module:function" of its NEURONS entry): LIF with tau SLOW_TAU."""
    from msenas.nn.neurons import build_lif

    return build_lif(dataclasses.replace(p, tau=SLOW_TAU), step_mode)


def digits_again(data_dir, *, T: int, seed: int, size: int = 16):
    """The scratch dataset: digits under another name."""
    ds = DATASETS.get("digits")(data_dir, T=T, seed=seed, size=size)
    return dataclasses.replace(ds, info=dataclasses.replace(ds.info, name="digits-again"))


class RandomAgain(RandomSearch):
    """The scratch strategy: random search under another name."""


class SerialAgain(SerialEvaluator):
    """The scratch executor: the serial executor under another name."""


def neg_log_params(m, ctx) -> float:
    """The scratch proxy: minus log_params (smaller networks score higher)."""
    return -math.log(max(1, ctx.params))


def test_a_new_neuron_entry_passes_the_neuron_and_op_checks_and_is_the_neuron_it_says():
    from spikingjelly.activation_based import neuron

    from msenas.nn.neurons import make_neuron

    with scratch(NEURONS, "lif-slow", NeuronModel(0, f"{__name__}:build_slow_lif")):
        test_registries.test_every_neuron_model_builds_a_spiking_module_with_its_parameter_count("lif-slow")
        test_registries.test_every_op_builds_a_module_whose_parameters_and_output_are_what_its_entry_says(
            OPS.names()[0])                                  # loops over every neuron, the scratch one included
        x = torch.rand(6, 2, 5, generator=torch.Generator().manual_seed(0))
        oracle = neuron.LIFNode(tau=SLOW_TAU, v_threshold=0.5, v_reset=0.0, detach_reset=True, step_mode="m")
        ours, default = make_neuron("lif-slow")(x), make_neuron("lif")(x)
        assert torch.equal(ours, oracle(x)) and not torch.equal(ours, default)


def test_a_new_attention_entry_passes_the_attention_checks_and_combines_with_the_others():
    from msenas.nn.attention import make_attention, parse_attention

    with scratch(ATTENTIONS, "identity", AttentionSpec(lambda c: 0, lambda c, h, w: 0, "torch.nn:Identity")):
        test_attention.test_every_attention_keeps_the_shape_of_a_time_major_batch("identity")
        x = torch.randn(3, 2, 8, 5, 6, generator=torch.Generator().manual_seed(0))
        assert torch.equal(make_attention("identity", 8)(x), x)
        assert parse_attention("eca+identity") == ("eca", "identity")


def test_a_new_strategy_passes_the_strategy_checks():
    with scratch(STRATEGIES, "random-again", RandomAgain):
        test_strategies.test_same_seed_same_search_and_any_checkpoint_resumes_to_the_uninterrupted_run("random-again")
        test_strategies.test_failed_and_dead_genomes_are_kept_out_of_the_lead_and_the_budget_holds("random-again")


def test_a_new_dataset_passes_the_dataset_checks(tmp_path):
    with scratch(DATASETS, "digits-again", register=lambda: register_dataset("digits-again")(digits_again)):
        test_data.test_registered_dataset_items_match_info("digits-again", tmp_path)
        test_data_options.test_every_dataset_takes_class_balanced_subsets("digits-again", tmp_path)


def test_a_new_executor_and_proxy_pass_their_checks():
    with scratch(EXECUTORS, "serial-again", SerialAgain), \
            scratch(PROXIES, "neg_log_params", register=lambda: register_proxy("neg_log_params", ZERO_COST)(
                neg_log_params)):
        test_registries.test_every_executor_is_an_executor_a_search_config_may_name("serial-again")
        test_proxies_zero_cost.test_every_proxy_declares_registered_measurements("neg_log_params")


def _search(tmp_path, name: str, dataset: str, executor: str, algorithm: str, proxy: str) -> list[dict]:
    cfg = load_config(None, ['space="tiny"', "seed=5", f"data.dataset={json.dumps(dataset)}", "data.options.size=8",
                             f"fitness.proxy={json.dumps(proxy)}", "fitness.T=2", "fitness.per_class=2",
                             f"search.executor={json.dumps(executor)}", "search.workers=0",
                             f"search.algorithm={json.dumps(algorithm)}", "search.population=3",
                             "search.generations=2"])
    run_search(cfg, tmp_path / name, progress=False)
    return evaluation_lines(tmp_path / name)


def test_a_tiny_real_search_runs_on_a_new_dataset_executor_strategy_and_proxy_named_in_its_config(tmp_path):
    base = _search(tmp_path, "base", "digits", "serial", "random", "log_params")
    with scratch(DATASETS, "digits-again", register=lambda: register_dataset("digits-again")(digits_again)), \
            scratch(EXECUTORS, "serial-again", SerialAgain), scratch(STRATEGIES, "random-again", RandomAgain), \
            scratch(PROXIES, "neg_log_params", register=lambda: register_proxy("neg_log_params", ZERO_COST)(
                neg_log_params)):
        new = _search(tmp_path, "new", "digits-again", "serial-again", "random-again", "neg_log_params")
    assert len(new) == len(base) >= 3
    assert [e["key"] for e in new] == [e["key"] for e in base]          # random draws: the same genomes, same seed
    for a, b in zip(new, base):                                         # scored by the new proxy: minus the old
        assert a["record"]["proxies"]["neg_log_params"] == -b["record"]["proxies"]["log_params"] != 0
