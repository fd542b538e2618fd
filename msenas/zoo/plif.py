"""The PLIF network of Fang et al. (ICCV 2021, arXiv 2007.05785) for CIFAR-10: spikingjelly's
`parametric_lif_net.CIFAR10Net`, at any width and input size.

Published (width 256, 32x32): {conv3x3-BN-PLIF} x 3, maxpool, {conv3x3-BN-PLIF} x 3, maxpool, dropout,
linear(256*8*8 -> 2048)-PLIF, dropout, linear(2048 -> 100)-PLIF, voting over groups of 10. Scaled here:
every width by the same factor (the hidden layer is 8 x width, 2048 at 256), the first linear layer fits
the input ((H/4) x (W/4) positions), the first conv takes the input's channels (2 for event frames), and
the last layer has 10 neurons a class. The network is spikingjelly's own, in multi-step mode.
"""
from __future__ import annotations

from spikingjelly.activation_based import functional, layer, neuron, surrogate
from spikingjelly.activation_based.model.parametric_lif_net import CIFAR10Net
from torch import nn

from msenas.zoo import ZooError

VOTES = 10   # output neurons a class (VotingLayer(10) in the published network)


def build(width: int, in_shape: tuple[int, int, int], n_classes: int, T: int, event: bool) -> nn.Module:
    """CIFAR10Net at `width` for this input: [T,B,C,H,W] -> voted firing rates [T,B,n_classes]."""
    c, h, w = in_shape
    if h % 4 or w % 4:
        raise ZooError(f"zoo:plif-cifar10net pools twice by 2: input {h}x{w} must be a multiple of 4 on each side")
    net = CIFAR10Net(channels=width, spiking_neuron=neuron.ParametricLIFNode, surrogate_function=surrogate.ATan(),
                     detach_reset=True)
    if c != 3:
        net.conv_fc[0] = layer.Conv2d(c, width, kernel_size=3, padding=1, bias=False)
    hidden = 8 * width
    net.conv_fc[-6] = layer.Linear(width * (h // 4) * (w // 4), hidden)   # as NMNISTNet does for its input
    net.conv_fc[-3] = layer.Linear(hidden, VOTES * n_classes)
    net.conv_fc[-1] = layer.VotingLayer(VOTES)
    functional.set_step_mode(net, "m")
    return net
