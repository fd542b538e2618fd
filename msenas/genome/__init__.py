"""The three-scale genome, its templates, search spaces and codecs."""
from msenas.genome.codec import VectorCodec
from msenas.genome.io import dumps, from_dict, key, load, loads, save, to_dict
from msenas.genome.space import PRESETS, SearchSpace, crossover, get_space, mutate, sample
from msenas.genome.templates import TEMPLATES, get_template, instantiate
from msenas.genome.types import (
    NEURONS, OP_SPECS, SCHEMA_VERSION, Cell, Edge, Genome, GenomeError, Motif, Op, validate,
)

__all__ = [
    "Cell", "Edge", "Genome", "GenomeError", "Motif", "NEURONS", "OP_SPECS", "Op", "PRESETS",
    "SCHEMA_VERSION", "SearchSpace", "TEMPLATES", "VectorCodec", "crossover", "dumps", "from_dict",
    "get_space", "get_template", "instantiate", "key", "load", "loads", "mutate", "sample", "save",
    "to_dict", "validate",
]
