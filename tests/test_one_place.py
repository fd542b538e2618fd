"""One place for each fact: the failed/dead rule, the executor settings, the device rule, one optimiser registry, and
tables held on the registry entries they describe."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from msenas.fitness.config import ExecutorConfig, ExecutorFields
from msenas.fitness.record import PENALTY, WORST_FITNESS, Record, failed_record, usable, usable_values
from msenas.genome.parts import NEURONS, OP_KINDS, OPS, load_object
from msenas.search.budget import BudgetConfig, order_key
from msenas.search.config import SearchConfig
from msenas.search.objectives import natural_objectives
from msenas.train.optim import OPTIMIZERS, make_optimizer


@pytest.mark.parametrize("record, ok", [
    (Record(key="a", fitness=0.3, spikes=5.0, params=10), True),
    (Record(key="b", dead=True, params=10), False),
    (failed_record("c", "GenomeError: bad", "zero-cost"), False),
])
def test_one_failed_or_dead_rule_for_records_their_dicts_and_every_user(record, ok):
    assert usable(record) == usable(record.to_dict()) == record.ok == ok
    objectives = natural_objectives(record.to_dict(), ("fitness", "spikes"))
    assert (objectives[1] == PENALTY) == (not ok)                     # a cost objective: the penalty
    assert (order_key(record.to_dict(), BudgetConfig(params=100)) == math.inf) == (not ok)
    assert np_isnan(usable_values([objectives[1]], cost=True)[0]) == (not ok)


def np_isnan(v: float) -> bool:
    return v != v


def test_the_stand_in_values_of_a_failed_genome_are_recognised():
    assert [np_isnan(v) for v in usable_values([WORST_FITNESS, 0.0, -5.0, None])] == [True, False, False, True]
    assert [np_isnan(v) for v in usable_values([PENALTY, 3.0e6], cost=True)] == [True, False]


def test_the_executor_settings_are_declared_once_and_the_search_table_holds_them():
    names = [f.name for f in dataclasses.fields(ExecutorFields)]
    assert set(names) <= {f.name for f in dataclasses.fields(SearchConfig)}
    assert [f.name for f in dataclasses.fields(ExecutorConfig)] == names
    s = SearchConfig(workers=3, torch_threads=2, executor="ray")
    ex = s.executor_config()
    assert isinstance(ex, ExecutorConfig) and ex.kind == ex.executor == "ray"
    assert all(getattr(ex, n) == getattr(s, n) for n in names)
    with pytest.raises(Exception, match="search.executor: must be auto or one of "):
        SearchConfig(executor="bogus")


def test_one_device_rule():
    from msenas.runtime import device_name, resolve_device

    seen = "cuda" if torch.cuda.is_available() else "cpu"
    assert device_name("auto") == device_name("cuda") == seen and device_name("cpu") == "cpu"
    assert resolve_device("auto").type == seen


def test_one_optimiser_registry_for_training_and_madarts():
    from msenas.darts.config import DartsConfig, DartsConfigError

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    train_sgd = make_optimizer("sgd", model, 0.1, 1e-4)
    assert train_sgd.param_groups[0]["nesterov"] and train_sgd.param_groups[1]["weight_decay"] == 0.0
    darts_sgd = OPTIMIZERS.get("sgd")(model.parameters(), 0.1, 3e-4, 0.9, nesterov=False)   # DARTS' semantics
    assert not darts_sgd.param_groups[0]["nesterov"] and darts_sgd.param_groups[0]["weight_decay"] == 3e-4
    assert isinstance(OPTIMIZERS.get("adamw")(model.parameters(), 0.1, 0.0, 0.9), torch.optim.AdamW)
    with pytest.raises(DartsConfigError, match="w_optimizer: must be one of sgd, adamw"):
        DartsConfig(w_optimizer="lamb")


@pytest.mark.parametrize("name", OPS.names())
def test_every_op_carries_its_diagram_label(name):
    assert OPS.get(name).short and [n for n in OPS.names() if OPS.get(n).short == OPS.get(name).short] == [name]


@pytest.mark.parametrize("registry, name", [(NEURONS, n) for n in NEURONS.names()] +
                         [(OP_KINDS, n) for n in OP_KINDS.names()])
def test_every_neuron_and_op_kind_names_its_nir_mapping(registry, name):
    entry = registry.get(name)
    if getattr(entry, "silent", False):                  # the zero op exports nothing
        assert entry.nir is None
    else:
        assert callable(load_object(entry.nir))
