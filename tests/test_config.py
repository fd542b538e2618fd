"""Run config: TOML presets, dotted overrides, field-named errors, JSON round trip."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from msenas.config import ConfigError, apply_overrides, build_dataclass, dump_config, parse_value, to_plain
from msenas.errors import MsenasError
from msenas.search.config import RunConfig, config_from_dict, load_config

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def test_override_values_parse_as_toml_literals_else_strings():
    assert parse_value("8") == 8 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value('["fitness", "spikes"]') == ["fitness", "spikes"]
    assert parse_value("sahd") == "sahd" and parse_value("/data/cifar-10") == "/data/cifar-10"
    assert parse_value("127.0.0.1:6379") == "127.0.0.1:6379"


def test_apply_overrides_sets_nested_keys_without_touching_the_input():
    base = {"search": {"population": 12}}
    out = apply_overrides(base, ["search.population=8", "data.options.size=8", "seed=3"])
    assert out == {"search": {"population": 8}, "data": {"options": {"size": 8}}, "seed": 3}
    assert base == {"search": {"population": 12}}
    with pytest.raises(ConfigError, match="expected key.path=value"):
        apply_overrides({}, ["search.population"])
    with pytest.raises(ConfigError, match="seed is a value, not a section"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


@dataclass(frozen=True)
class Inner:
    rate: float = 0.1
    names: tuple[str, ...] = ("a",)


@dataclass(frozen=True)
class Outer:
    n: int = 1
    label: str | None = None
    inner: Inner = field(default_factory=Inner)


def test_build_dataclass_coerces_nested_values_and_names_bad_fields():
    obj = build_dataclass(Outer, {"n": 3, "inner": {"rate": 1, "names": ["x", "y"]}})
    assert obj == Outer(3, None, Inner(1.0, ("x", "y"))) and isinstance(obj.inner.rate, float)
    with pytest.raises(ConfigError, match=r"^inner\.colour: unknown field; known: names, rate$"):
        build_dataclass(Outer, {"inner": {"colour": 1}})
    with pytest.raises(ConfigError, match=r"^n: expected int, got 'three'$"):
        build_dataclass(Outer, {"n": "three"})
    with pytest.raises(ConfigError, match=r"^n: expected int, got True$"):
        build_dataclass(Outer, {"n": True})
    with pytest.raises(ConfigError, match=r"^inner\.names\[1\]: expected str, got 2$"):
        build_dataclass(Outer, {"inner": {"names": ["x", 2]}})


def test_embedded_default_is_the_digits_preset():
    assert load_config(EXPERIMENTS / "digits.toml") == load_config(None) == RunConfig()


@pytest.mark.parametrize("preset", ["digits", "cifar10", "cifar100", "npz"])
def test_presets_load_validate_and_round_trip_through_config_json(preset):
    cfg = load_config(EXPERIMENTS / f"{preset}.toml")
    assert cfg.name == preset
    again = config_from_dict(json.loads(dump_config(cfg)))
    assert again == cfg and to_plain(again) == to_plain(cfg)


def test_cluster_presets_have_mse_nas_scale():
    for preset, classes in (("cifar10", "cifar10"), ("cifar100", "cifar100")):
        cfg = load_config(EXPERIMENTS / f"{preset}.toml")
        assert (cfg.space, cfg.search.population, cfg.search.generations, cfg.data.dataset) == (
            "mse-nas", 50, 100, classes)


def test_overrides_apply_and_auto_algorithm_resolves():
    cfg = load_config(None, ["search.population=8", "fitness.proxy=sahd", 'search.objectives=["fitness", "spikes"]',
                             "data.options.size=8"])
    assert cfg.search.population == 8 and cfg.fitness.proxy == "sahd" and cfg.data.options["size"] == 8
    assert cfg.search.algorithm == "nsga2"
    with pytest.raises(TypeError):
        cfg.data.options["size"] = 9  # frozen all the way down


@pytest.mark.parametrize("override, message", [
    ("search.population=0", r"^search\.population: must be >= 2, got 0$"),
    ("search.cxpb=1.5", r"^search\.cxpb: must be in \[0, 1\], got 1\.5$"),
    ("search.popsize=8", r"^search\.popsize: unknown field; known: .*population"),
    ("search.population=many", r"^search\.population: expected int, got 'many'$"),
    ("fitness.readout=middle", r"^fitness\.readout: must be one of"),
    ("fitness.T=0", r"^fitness\.T: must be a positive integer, got 0$"),
    ("space=huge", r"^space: unknown search space"),
    ("data.dataset=imagenet", r"^data\.dataset: unknown dataset; known: .*cifar10"),
    ("data.options.colour=1", r"^data\.options\.colour: not an option of 'digits'"),
    ("bogus=1", r"^bogus: unknown field"),
    ("search.eval_timeout=0", r"^search\.eval_timeout: must be > 0 seconds"),
])
def test_a_bad_value_is_an_error_naming_the_field(override, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(None, [override])
    assert isinstance(info.value, MsenasError) and "\n" not in str(info.value)


def test_eval_timeout_needs_ray_workers():
    assert load_config(None, ["search.eval_timeout=30"]).search.eval_timeout == 30
    with pytest.raises(ConfigError, match=r"^search\.eval_timeout: needs Ray workers"):
        load_config(None, ["search.eval_timeout=30", "search.workers=0"])


def test_a_bad_toml_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[search\npopulation = 3\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="missing.toml: cannot read config"):
        load_config(tmp_path / "missing.toml")
