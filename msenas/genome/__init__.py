"""The three-scale genome (torch-free): values, vocabulary, templates, search spaces, codecs and JSON.

Layers, each importing only those above it: parts (ops, neurons, attentions and
their costs) -> types (plain values) -> templates -> checks (validate) ->
space (SearchSpace, presets) -> codec (integer vectors) -> operators (sample,
mutate, crossover) and io (JSON, key).
"""
from msenas.genome.checks import LIMITS, validate
from msenas.genome.codec import VectorCodec
from msenas.genome.io import dumps, from_dict, key, load, loads, save, to_dict
from msenas.genome.operators import crossover, crossover_vectors, mutate, mutate_vector, sample
from msenas.genome.parts import ATTENTIONS, NEURONS, OPS, parse_attention
from msenas.genome.space import PRESETS, SearchSpace, SearchSpaceError, get_space
from msenas.genome.templates import TEMPLATES, get_template, instantiate
from msenas.genome.types import SCHEMA_VERSION, Cell, Edge, Genome, GenomeError, Motif, Op

__all__ = [
    "ATTENTIONS", "Cell", "Edge", "Genome", "GenomeError", "LIMITS", "Motif", "NEURONS", "OPS", "Op", "PRESETS",
    "SCHEMA_VERSION", "SearchSpace", "SearchSpaceError", "TEMPLATES", "VectorCodec", "crossover",
    "crossover_vectors", "dumps", "from_dict", "get_space", "get_template", "instantiate", "key", "load",
    "loads", "mutate", "mutate_vector", "parse_attention", "sample", "save", "to_dict", "validate",
]
