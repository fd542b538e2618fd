"""Property-style tests of the genome: sampling, codecs, operators, validation."""
import copy
import dataclasses
import json

import numpy as np
import pytest

from msenas.genome import (
    PRESETS,
    Cell,
    Genome,
    GenomeError,
    Op,
    SearchSpace,
    VectorCodec,
    crossover,
    crossover_vectors,
    from_dict,
    get_space,
    instantiate,
    key,
    load,
    mutate,
    sample,
    save,
    to_dict,
)

SPACES = sorted(PRESETS)


def _genomes(space_name, n, seed=0):
    rng = np.random.default_rng(seed)
    return [sample(get_space(space_name), rng) for _ in range(n)]


@pytest.mark.parametrize("space", SPACES)
def test_vector_and_json_round_trips_hold_for_random_genomes(space):
    codec = VectorCodec(get_space(space))
    for g in _genomes(space, 200):
        vec = codec.encode(g)
        assert all(0 <= v <= u for v, u in zip(vec, codec.upper))
        assert codec.decode(vec) == g
        assert from_dict(json.loads(json.dumps(to_dict(g)))) == g


@pytest.mark.parametrize("space", SPACES)
def test_every_in_bounds_vector_decodes_to_a_valid_genome(space):
    codec = VectorCodec(get_space(space))
    rng = np.random.default_rng(1)
    corners = [[0] * len(codec.upper), list(codec.upper)]
    for vec in corners + [codec.random_vector(rng) for _ in range(300)]:
        g = codec.decode(vec)
        lo, hi = get_space(space).inputs
        for i, reads in enumerate(g.inputs):
            assert min(lo, i + 1) <= len(reads) <= min(hi, i + 1)
        assert codec.decode(codec.encode(g)) == g


def test_same_seed_same_genomes_and_different_seed_differs():
    a, b, c = _genomes("tiny", 10, 7), _genomes("tiny", 10, 7), _genomes("tiny", 10, 8)
    assert a == b
    assert [key(g) for g in a] == [key(g) for g in b]
    assert a != c


@pytest.mark.parametrize("space", SPACES)
def test_mutation_and_crossover_stay_valid_and_in_bounds(space):
    sp = get_space(space)
    codec = VectorCodec(sp)
    rng = np.random.default_rng(2)
    gs = _genomes(space, 40, 3)
    changed = 0
    for g, h in zip(gs[::2], gs[1::2]):
        m = mutate(g, sp, rng, indpb=0.05)
        changed += codec.encode(m) != codec.encode(g)
        a, b = crossover(g, h, sp, rng)
        for child in (m, a, b):
            assert all(0 <= v <= u for v, u in zip(codec.encode(child), codec.upper))
    assert changed == len(gs) // 2  # mutation always moves at least one gene


def test_crossover_keeps_whole_cell_blocks_from_one_parent():
    codec = VectorCodec(get_space("mse-nas"))
    rng = np.random.default_rng(4)
    va, vb = [0] * len(codec.upper), [1] * len(codec.upper)
    starts = codec.block_starts + [len(va)]
    for _ in range(50):
        ca, cb = crossover_vectors(va, vb, codec.block_starts, rng)
        assert sorted(set(ca) | set(cb)) == [0, 1]
        for lo, hi in zip(starts[:-1], starts[1:]):
            assert len(set(ca[lo:hi])) == 1 and len(set(cb[lo:hi])) == 1


def test_key_is_stable_and_distinguishes_genomes():
    g1, g2 = _genomes("fixed", 2, 9)
    assert key(g1) == key(from_dict(to_dict(g1)))
    assert len(key(g1)) == 16 and key(g1) != key(g2)


def test_templates_build_the_documented_wirings():
    op = Op("conv3x3")
    wire = lambda m: [(e.src, e.dst, e.delay) for e in m.edges]  # noqa: E731
    assert wire(instantiate("chain", 3, [op] * 3)) == [(0, 1, 0), (1, 2, 0), (2, 3, 0)]
    assert wire(instantiate("fan_in", 3, [op] * 4)) == [(0, 1, 0), (0, 2, 0), (1, 3, 0), (2, 3, 0)]
    assert wire(instantiate("fan_out", 3, [op] * 3)) == [(0, 1, 0), (1, 2, 0), (1, 3, 0)]
    assert instantiate("fan_out", 3, [op] * 3).sinks() == (2, 3)
    assert wire(instantiate("lateral", 2, [op] * 3)) == [(0, 1, 0), (0, 2, 0), (1, 2, 0)]
    fb = instantiate("feedback", 2, [op] * 3)
    assert wire(fb) == [(0, 1, 0), (1, 2, 0), (2, 1, 1)] and fb.has_feedback
    darts = instantiate("darts", 2, [op] * 4, [1, 0, 2, 5])
    assert darts.n_inputs == 2 and wire(darts) == [(1, 2, 0), (0, 2, 0), (2, 3, 0), (2, 3, 0)]


def _valid():
    return to_dict(_genomes("tiny", 1, 11)[0])


BAD = [
    ("cells", lambda d: d.pop("cells")),
    ("channels", lambda d: d.update(channels=0)),
    ("schema_version", lambda d: d.update(schema_version=99)),
    ("inputs[0]", lambda d: d["inputs"].__setitem__(0, [5])),
    ("reductions", lambda d: d.update(reductions=[7])),
    ("cells[0].integration", lambda d: d["cells"][0].update(integration="mean")),
    ("cells[0].motifs[0].template", lambda d: d["cells"][0]["motifs"][0].update(template="star")),
    ("cells[0].motifs[0].edges[0].op", lambda d: d["cells"][0]["motifs"][0]["edges"][0].pop("op")),
    ("cells[0].motifs[0].edges[0].op.name", lambda d: d["cells"][0]["motifs"][0]["edges"][0].update(op="conv9x9")),
    ("cells[0].motifs[0].edges[0].op.sign", lambda d: d["cells"][0]["motifs"][0]["edges"][0].update(sign=2)),
    ("cells[0].motifs[0].edges[0].op.neuron", lambda d: d["cells"][0]["motifs"][0]["edges"][0].update(neuron="hh")),
    ("cells[0].motifs[0].edges[0].delay", lambda d: d["cells"][0]["motifs"][0]["edges"][0].update(delay=3)),
    ("cells[0].motifs[0].edges[0].src", lambda d: d["cells"][0]["motifs"][0]["edges"][0].update(src=9, delay=0)),
    ("cells[0].motifs[0].n_nodes", lambda d: d["cells"][0]["motifs"][0].update(n_nodes="3")),
]


@pytest.mark.parametrize("field,corrupt", BAD, ids=[b[0] for b in BAD])
def test_bad_json_names_the_field(tmp_path, field, corrupt):
    d = _valid()
    corrupt(d)
    p = tmp_path / "g.json"
    p.write_text(json.dumps(d))
    with pytest.raises(GenomeError) as e:
        load(p)
    assert f"{field}:" in str(e.value) and str(p) in str(e.value)
    assert "\n" not in str(e.value)


def test_truncated_json_and_missing_file_are_clear_errors(tmp_path):
    p = tmp_path / "g.json"
    save(_genomes("tiny", 1)[0], p)
    p.write_text(p.read_text()[:40])
    with pytest.raises(GenomeError, match="not valid JSON"):
        load(p)
    with pytest.raises(GenomeError, match="cannot read"):
        load(tmp_path / "missing.json")


def test_encode_rejects_a_genome_outside_the_space_naming_the_field():
    g = _genomes("mse-nas", 1)[0]
    with pytest.raises(GenomeError, match="n_cells"):
        VectorCodec(get_space("tiny")).encode(g)


def test_search_space_validation_and_unknown_preset():
    with pytest.raises(GenomeError, match="unknown search space 'huge'"):
        get_space("huge")
    with pytest.raises(GenomeError, match="ops must be among"):
        SearchSpace(name="x", ops=("conv7x7",))


def test_save_load_keeps_extra_keys_out_of_the_genome(tmp_path):
    g = _genomes("fixed", 1)[0]
    p = save(g, tmp_path / "g.json", fitness=0.25, params=123)
    assert load(p) == g
    assert json.loads(p.read_text())["fitness"] == 0.25


def test_genome_value_semantics():
    g = _genomes("tiny", 1)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.channels = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.cells[0].motifs[0].edges[0].op.name = "identity"      # frozen all the way down
    assert hash(g) == hash(copy.deepcopy(g)) and g == copy.deepcopy(g)
    assert isinstance(g.cells[0], Cell) and isinstance(g, Genome)


def test_attention_round_trips_and_leaves_keys_of_plain_genomes_alone(tmp_path):
    import dataclasses
    import json

    from msenas.genome import io

    g = sample(get_space("tiny"), np.random.default_rng(5))
    assert "attention" not in io.to_dict(g)                          # keys of earlier genomes unchanged
    a = dataclasses.replace(g, attention="eca+temporal")
    io.save(a, tmp_path / "a.json")
    assert io.load(tmp_path / "a.json") == a and io.key(a) != io.key(g)
    d = io.to_dict(g) | {"attention": "se"}
    with pytest.raises(GenomeError, match="^attention: "):
        io.from_dict(d)
    with pytest.raises(GenomeError, match="^attention: expected str"):
        io.from_dict(io.to_dict(g) | {"attention": 3})
    assert json.loads(io.dumps(a))["attention"] == "eca+temporal"
