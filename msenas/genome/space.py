"""Search spaces: the choices open to a search at each scale, and the named presets.

A space is a typed config (msenas.config.Config): a run folder's config.json
holds the whole resolved space, not only its preset name, so a run resumes into
the space it was started with even after the presets or the registries grow.
The operators on spaces (sample, mutate, crossover) live in operators.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from msenas.config import Config, ConfigError
from msenas.genome.checks import LIMITS
from msenas.genome.parts import INTEGRATIONS, NEURONS, OPS, SIGNS
from msenas.genome.templates import TEMPLATES
from msenas.genome.types import GenomeError
from msenas.registry import Registry


class SearchSpaceError(ConfigError, GenomeError):
    """A search space with a bad field, or an unknown preset name."""


@dataclass(frozen=True)
class SearchSpace(Config):
    """The choices open to a search at each scale."""

    error: ClassVar[type[ConfigError]] = SearchSpaceError

    name: str = "custom"
    n_cells: tuple[int, ...] = (3,)
    channels: tuple[int, ...] = (16,)
    stem_multiplier: int = 1
    reduction_fractions: tuple[float, ...] = (0.5,)
    inputs: tuple[int, int] = (1, 1)  # min, max states a cell reads (capped by what exists)
    max_motifs: int = 1
    nodes: tuple[int, int] = (1, 3)
    templates: tuple[str, ...] = ("chain", "fan_in", "fan_out", "lateral", "feedback", "darts")
    ops: tuple[str, ...] = ("conv1x1", "conv3x3", "conv5x5", "avgpool3x3", "maxpool3x3", "identity")
    neurons: tuple[str, ...] = ("lif", "plif", "if")
    signs: tuple[int, ...] = SIGNS
    integrations: tuple[str, ...] = INTEGRATIONS
    description: str = field(default="", compare=False)

    def validate(self) -> "SearchSpace":
        """Raise SearchSpaceError ("search space 'x': ...") at the first bad choice."""
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise SearchSpaceError(f"search space {self.name!r}: {msg}")

        need(all(n >= 1 for n in self.n_cells) and self.n_cells, "n_cells must be positive integers")
        need(all(c >= 1 for c in self.channels) and self.channels, "channels must be positive integers")
        need(self.stem_multiplier >= 1, "stem_multiplier must be >= 1")
        need(all(0 <= f < 1 for f in self.reduction_fractions), "reduction_fractions must lie in [0, 1)")
        need(1 <= self.inputs[0] <= self.inputs[1], "inputs must be (min, max) with 1 <= min <= max")
        need(self.max_motifs >= 1, "max_motifs must be >= 1")
        need(1 <= self.nodes[0] <= self.nodes[1], "nodes must be (min, max) with 1 <= min <= max")
        for name, largest, limit in (("n_cells", max(self.n_cells), "cells"),
                                     ("channels", max(self.channels), "channels"),
                                     ("stem_multiplier", self.stem_multiplier, "stem_multiplier"),
                                     ("max_motifs", self.max_motifs, "motifs"), ("nodes", self.nodes[1], "n_nodes")):
            need(largest <= LIMITS[limit], f"{name} must be <= {LIMITS[limit]} (the genome limit), got {largest}")
        for name, values, registry in (("templates", self.templates, TEMPLATES), ("ops", self.ops, OPS),
                                       ("neurons", self.neurons, NEURONS)):
            need(all(v in registry for v in values) and values, f"{name} must be among {registry.names()}")
        need(all(s in SIGNS for s in self.signs) and self.signs, "signs must be among (1, -1)")
        need(all(i in INTEGRATIONS for i in self.integrations) and self.integrations,
             f"integrations must be among {list(INTEGRATIONS)}")
        return self

    def reductions_for(self, n_cells: int) -> tuple[int, ...]:
        """Cells that reduce resolution: floor(f * L) for every reduction fraction."""
        return tuple(sorted({int(f * n_cells) for f in self.reduction_fractions}))


PRESETS: Registry[SearchSpace] = Registry("search space")
for _s in (
    SearchSpace(
        name="mse-nas",
        n_cells=(6,), channels=(48,), stem_multiplier=3,
        reduction_fractions=(0.25, 0.5, 0.75), inputs=(2, 4), max_motifs=2, nodes=(1, 5),
        ops=("conv3x3", "conv5x5", "avgpool3x3", "identity"),
        description="MSE-NAS scale: 6 cells, C=48, reductions at L/4, L/2, 3L/4, cells read 2-4 states",
    ),
    SearchSpace(
        name="tiny",
        n_cells=(2, 3, 4), channels=(4, 8, 12), stem_multiplier=2,
        reduction_fractions=(1 / 3, 2 / 3), inputs=(1, 3), max_motifs=2, nodes=(1, 3),
        description="small and fast: 2-4 cells, 4-12 channels; depth and width vary (tests, demo)",
    ),
    SearchSpace(
        name="fixed",
        n_cells=(3,), channels=(16,), stem_multiplier=1,
        reduction_fractions=(0.5,), inputs=(1, 1), max_motifs=2, nodes=(1, 3),
        description="fixed macro (stem + 3 cells, 16/32/32 channels): only micro and meso genes vary",
    ),
):
    PRESETS.register(_s.name)(_s)


def get_space(name: str) -> SearchSpace:
    """Look a preset up by name, with a clear error for an unknown one."""
    return PRESETS.get(name, SearchSpaceError)


