"""SNASNet (Kim, Li, Park, Venkatesha, Panda; ECCV 2022, arXiv 2201.10355) with its released cell, at any width.

spikingjelly's `snas_net.SNASNet` fixes its widths by dataset (CIFAR-10: stem 256, second cell 512,
classifier 1024). `ScaledSNASNet` is that network with one width W: stem conv3x3-BN to W channels, the
searched cell (spikingjelly's Neuronal_Cell_backward, the authors' `--celltype backward`), BN-LIF-conv3x3-BN
to 2W, avgpool 2, the cell again, BN-LIF, avgpool 2, dropout-linear(-> 4W)-LIF-linear(-> 10 a class), and
the mean over each class's 10 outputs (their `boost`). Forward, initialisation and cells are spikingjelly's;
the neuron settings are the authors' defaults (config.py: tau 4/3, threshold 1.0, second_avgpooling 2).
The released architecture is `--cnt_mat 0302 0030 3003 0000` (the authors' README).

The stem runs once on a static image and the cells step through T, so event data (a different frame at
each step) is refused; the module takes [T,B,C,H,W] and returns the mean over T of the outputs, [1,B,K].
"""
from __future__ import annotations

from types import SimpleNamespace

import torch
from spikingjelly.activation_based import layer, neuron, surrogate
from spikingjelly.activation_based.model.snas_net import Neuronal_Cell_backward, SNASNet
from torch import nn

from msenas.zoo import ZooError

RELEASED = "0302 0030 3003 0000"
NEURON = {"tau": 4 / 3, "threshold": 1.0}
CLUSTER = 10          # output neurons a class, averaged (their num_cluster)


def connection_matrix(text: str = RELEASED) -> torch.Tensor:
    """`0302 0030 3003 0000` -> the 4x4 op matrix (0 zero, 1 identity, 2 conv1x1, 3 conv3x3, 4 avgpool)."""
    rows = text.split()
    if len(rows) != 4 or any(len(r) != 4 or not set(r) <= set("01234") for r in rows):
        raise ZooError(f"SNASNet connection matrix: 4 groups of 4 digits 0-4, got {text!r}")
    return torch.tensor([[int(ch) for ch in r] for r in rows])


def _lif() -> nn.Module:
    return neuron.LIFNode(v_threshold=NEURON["threshold"], v_reset=0.0, tau=NEURON["tau"],
                          surrogate_function=surrogate.ATan(), detach_reset=True)


class ScaledSNASNet(SNASNet):
    """spikingjelly's SNASNet with its widths set by one width W (module docstring); forward is SNASNet's."""

    def __init__(self, width: int, in_shape: tuple[int, int, int], n_classes: int, T: int, con_mat: torch.Tensor):
        nn.Module.__init__(self)
        c, h, w = in_shape
        args = SimpleNamespace(threshold=NEURON["threshold"], tau=NEURON["tau"], timestep=T, second_avgpooling=2)
        self.con_mat, self.total_timestep, self.second_avgpooling = con_mat, T, 2
        self.num_class, self.num_cluster, self.num_final_neuron = n_classes, CLUSTER, CLUSTER * n_classes
        self.stem = nn.Sequential(nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))
        self.cell1 = Neuronal_Cell_backward(args, width, width, con_mat)
        self.downconv1 = nn.Sequential(nn.BatchNorm2d(width), _lif(),
                                       nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width))
        self.resdownsample1 = nn.AvgPool2d(2, 2)
        self.cell2 = Neuronal_Cell_backward(args, 2 * width, 2 * width, con_mat)
        self.last_act = nn.Sequential(nn.BatchNorm2d(2 * width), _lif())
        self.resdownsample2 = nn.AvgPool2d(2, 2)
        self.classifier = nn.Sequential(layer.Dropout(0.5), nn.Linear(2 * width * (h // 4) * (w // 4), 4 * width,
                                                                      bias=False),
                                        _lif(), nn.Linear(4 * width, self.num_final_neuron, bias=True))
        self.boost = nn.AvgPool1d(CLUSTER, CLUSTER)
        for m in self.modules():                          # SNASNet's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)


class StaticInput(nn.Module):
    """[T,B,C,H,W] of a static image -> SNASNet on its first frame -> [1,B,K] (its own mean over T)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[0] if x.dim() == 5 else x).unsqueeze(0)    # [B,C,H,W] -> [B,K] -> [1,B,K]


def build(width: int, in_shape: tuple[int, int, int], n_classes: int, T: int, event: bool) -> nn.Module:
    """SNASNet with the released cell at `width` for this input."""
    if event:
        raise ZooError("zoo:snasnet encodes a static image once (its stem runs outside the time loop); "
                       "event data needs a multi-step network such as zoo:plif-cifar10net")
    if in_shape[1] % 4 or in_shape[2] % 4:
        raise ZooError(f"zoo:snasnet pools twice by 2: input {in_shape[1]}x{in_shape[2]} must be a multiple of 4")
    return StaticInput(ScaledSNASNet(width, in_shape, n_classes, T, connection_matrix()))
