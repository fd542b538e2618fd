"""Published spiking networks from spikingjelly's model zoo, sized by width, trained and costed like genomes.

SPEC 5: a comparison with a peer is made at equal cost and equal recipe. A zoo
network is named `zoo:NAME` (`msenas train zoo:plif-cifar10net --width 16`);
`ZooModel(name, width)` is its plain, hashable value (the counterpart of a
genome), and `build()` gives a module with our network's interface: input
[T,B,C,H,W] (direct encoding repeats a static image), output [T',B,K] whose
mean over the first dim is what the loss and the accuracy read. Spikes, SOPs
and energy are counted by the same SpikeMonitor hooks as our genomes.

Which networks of spikingjelly 2.0.0's `activation_based.model` work here:
parametric_lif_net, snas_net and ms_resnet import without torchvision;
sew_resnet, spiking_resnet, spiking_vgg and spiking_vggws_ottt import
torchvision at module level and cannot be used beside torch 2.13's CPU wheel
(checked 2026-12-07 by importing each; docs/budget.md).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from msenas.errors import MsenasError
from msenas.registry import Registry

PREFIX = "zoo:"
MAX_WIDTH = 4096


class ZooError(MsenasError, ValueError):
    """An unknown zoo network, a bad width, or a network that cannot take this input."""


@dataclass(frozen=True)
class ZooEntry:
    """A zoo network: "module:function" of its builder(width, in_shape, n_classes, T, event) -> module (imported
    on use: listing the zoo loads no torch), and what it was published with."""

    builder: str
    width: int          # the published width (channels of its first layer)
    loss: str           # the loss its paper trains with (msenas.train.optim.LOSSES)
    cite: str
    doc: str


ZOO: Registry[ZooEntry] = Registry("zoo network")


@dataclass(frozen=True)
class ZooModel:
    """A zoo network at a width: the plain value training, costing and result folders use."""

    name: str
    width: int

    def __post_init__(self) -> None:
        if self.name not in ZOO:
            raise ZooError(f"unknown zoo network {self.name!r}; known: {', '.join(ZOO.names())}")
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise ZooError(f"--width: must be an integer in [1, {MAX_WIDTH}], got {self.width!r}")

    @property
    def entry(self) -> ZooEntry:
        """Its registry entry."""
        return ZOO.get(self.name)

    def key(self) -> str:
        """A stable name for folders and records: zoo-NAME-wWIDTH."""
        return f"zoo-{self.name}-w{self.width}"

    def build(self, in_shape: tuple[int, int, int], n_classes: int, T: int, event: bool = False):
        """The module for this input (see the module docstring)."""
        from msenas.zoo.fresh import FreshState

        module, _, fn = self.entry.builder.partition(":")
        return FreshState(getattr(importlib.import_module(module), fn)(self.width, tuple(in_shape), n_classes, T,
                                                                       event))

    def to_dict(self) -> dict:
        """JSON-ready: {"zoo": name, "width": width}."""
        return {"zoo": self.name, "width": self.width}


def parse(text: str, width: int | None = None) -> ZooModel:
    """`zoo:NAME` (and a width; None: the published one) -> ZooModel."""
    name = text[len(PREFIX):] if text.startswith(PREFIX) else text
    entry = ZOO.get(name) if name in ZOO else None
    if entry is None:
        raise ZooError(f"unknown zoo network {name!r}; known: {', '.join(PREFIX + n for n in ZOO.names())}")
    return ZooModel(name, entry.width if width is None else width)


def is_zoo(text: str) -> bool:
    """True for a `zoo:NAME` argument."""
    return isinstance(text, str) and text.startswith(PREFIX)


def describe() -> str:
    """One line per network: name, published width, loss, citation (for --help)."""
    return "; ".join(f"{PREFIX}{n} (published width {e.width}, {e.cite})" for n, e in ZOO.items())


ZOO.register("plif-cifar10net")(ZooEntry(
    "msenas.zoo.plif:build", 256, "mse_rate",
    "Fang et al., ICCV 2021, arXiv 2007.05785; spikingjelly parametric_lif_net.CIFAR10Net",
    "6 conv3x3-BN-PLIF layers in two stages with max pooling, two dropout-linear-PLIF layers, voting over 10 "
    "neurons a class; trained on the MSE of firing rates against one-hot labels"))
ZOO.register("snasnet")(ZooEntry(
    "msenas.zoo.snasnet:build", 256, "ce",
    "Kim et al., ECCV 2022, arXiv 2201.10355; spikingjelly snas_net.SNASNet, released cell 0302 0030 3003 0000",
    "stem conv, the searched backward cell, downsampling conv, the cell again at twice the width, a spiking "
    "classifier; the stem encodes a static image once, the rest steps through T"))
