"""MA-DARTS supernet: a fixed macro of DARTS-style cells whose edges mix every candidate op.

Liu, Simonyan, Yang, "DARTS: Differentiable Architecture Search", ICLR 2019;
Man, Xie, Qiao, Zhou, Shang, "MA-DARTS", arXiv 2411.00902.

The macro (stem, cells, which states each cell reads, preprocessing,
reductions, head) is the one build_network gives for skeleton(cfg), so the
derived genome is the discrete version of this network. Cell i reads the two
previous states (cell 0 reads the stem twice). Every edge i -> j of a cell is
sum_k softmax(alpha)[k] * op_k(x), with op_k a SpikingOp of the genome's op
registry; alphas are shared by all normal cells and by all reduction cells.
Design choices: a supernet cell outputs the sum of all intermediate nodes
(DARTS concatenates them; our cells keep C channels), the derived genome's
cell the sum of its sink nodes (genome semantics). The configured attention
acts on every supernet cell output, and the derived genome carries it
(Genome.attention), so build_network puts the same attention on every cell
output of the discrete network.
"""
from __future__ import annotations

import torch
from spikingjelly.activation_based import functional
from torch import nn

from msenas.darts.config import DartsConfig
from msenas.genome.checks import validate
from msenas.genome.templates import instantiate
from msenas.genome.types import Cell, Genome, Motif, Op
from msenas.nn.attention import make_attention
from msenas.nn.cost import StateShape, needs_preprocess, plan
from msenas.nn.maps import add_all
from msenas.nn.memory import keep_freed_memory
from msenas.nn.network import Preprocess, head_logits, make_stem
from msenas.nn.neurons import NeuronParams, make_neuron
from msenas.nn.ops import SpikingOp


def edge_list(n_nodes: int) -> list[tuple[int, int]]:
    """(src, dst) of every supernet edge, in alpha row order: node by node, sources ascending."""
    return [(i, 2 + j) for j in range(n_nodes) for i in range(2 + j)]


def candidate_ops(cfg: DartsConfig) -> list[Op]:
    """The candidate ops of every edge, in alpha column order."""
    return [Op(name, cfg.sign, cfg.neuron) for name in cfg.ops]


def skeleton(cfg: DartsConfig, normal: Motif | None = None, reduce: Motif | None = None) -> Genome:
    """The genome with the supernet's macro, holding `normal` / `reduce` motifs (default: a placeholder)."""
    if normal is None or reduce is None:
        op = next(o for o in candidate_ops(cfg) if o.name != "zero")
        placeholder = instantiate("darts", cfg.n_nodes, [op] * (2 * cfg.n_nodes), [0, 1] * cfg.n_nodes)
        normal, reduce = normal or placeholder, reduce or placeholder
    cells = tuple(Cell((reduce if i in cfg.reductions else normal,), "sum") for i in range(cfg.n_cells))
    inputs = ((0,),) + tuple((i - 1, i) for i in range(1, cfg.n_cells))
    return validate(Genome(cells, inputs, tuple(cfg.reductions), cfg.channels, cfg.stem_multiplier, cfg.attention))


class MixedOp(nn.Module):
    """One supernet edge: the alpha-weighted sum of every candidate op (zero is skipped)."""

    def __init__(self, ops: list[Op], channels: int, neuron: NeuronParams):
        super().__init__()
        self.ops = nn.ModuleList(SpikingOp(op, channels, neuron, "m") for op in ops)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return add_all([w[k] * op(x) for k, op in enumerate(self.ops) if not op.zero])   # x [T,B,C,H,W], w [n_ops]


class SuperCell(nn.Module):
    """Preprocess the states read, mix ops on every edge, sum the nodes, apply attention."""

    def __init__(self, srcs: list[StateShape], out: StateShape, cfg: DartsConfig, neuron: NeuronParams):
        super().__init__()
        self.pre = nn.ModuleList(
            Preprocess(s, out, neuron) if needs_preprocess(s, out) else nn.Identity() for s in srcs)
        ops = candidate_ops(cfg)
        self.edges = nn.ModuleList(MixedOp(ops, out.channels, neuron) for _ in edge_list(cfg.n_nodes))
        self.n_nodes = cfg.n_nodes
        self.attention = make_attention(cfg.attention, out.channels)

    def forward(self, states: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        xs = [p(s) for p, s in zip(self.pre, states)]            # each [T,B,C,H,W]
        older = add_all(xs[:-1]) if len(xs) > 1 else xs[-1]
        nodes, k = [older, xs[-1]], 0
        for _ in range(self.n_nodes):
            nodes.append(add_all([self.edges[k + src](nodes[src], weights[k + src]) for src in range(len(nodes))]))
            k += len(nodes) - 1
        return self.attention(add_all(nodes[2:]))                # [T,B,C,H,W]


class Supernet(nn.Module):
    """stem -> super cells -> LIF -> global pool -> linear; logits [T,B,K]."""

    def __init__(self, cfg: DartsConfig, in_shape: tuple[int, int, int], n_classes: int):
        super().__init__()
        self.cfg, self.in_shape, self.n_classes = cfg, tuple(in_shape), n_classes
        neuron = NeuronParams()
        genome = skeleton(cfg)
        self.inputs, self.reductions = genome.inputs, set(genome.reductions)
        states = plan(genome, in_shape)
        self.stem = make_stem(in_shape[0], states[0].channels)
        self.cells = nn.ModuleList(
            SuperCell([states[s] for s in reads], states[i + 1], cfg, neuron) for i, reads in enumerate(genome.inputs))
        self.head_neuron = make_neuron("lif", neuron)
        self.classifier = nn.Linear(states[-1].channels, n_classes)
        gen = torch.Generator().manual_seed(cfg.seed)
        shape = (len(edge_list(cfg.n_nodes)), len(cfg.ops))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(shape, generator=gen))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(shape, generator=gen))
        self.to(memory_format=torch.channels_last)               # as build_network: channels-last conv maps
        keep_freed_memory()                                       # as build_network

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture weights (alphas): [normal, reduce], each [n_edges, n_ops]."""
        return [self.alphas_normal, self.alphas_reduce]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every network weight except the alphas."""
        return [p for n, p in self.named_parameters() if not n.startswith("alphas_")]

    def op_weights(self) -> dict[str, torch.Tensor]:
        """Softmaxed alphas per cell type: {'normal', 'reduce'} -> [n_edges, n_ops]."""
        return {"normal": torch.softmax(self.alphas_normal, -1), "reduce": torch.softmax(self.alphas_reduce, -1)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(self)
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.cfg.T, 1, 1, 1, 1)      # direct encoding [T,B,C,H,W]
        w = self.op_weights()
        states = [self.stem(x)]
        for i, (cell, reads) in enumerate(zip(self.cells, self.inputs)):
            states.append(cell([states[s] for s in reads], w["reduce" if i in self.reductions else "normal"]))
        return head_logits(self.head_neuron, self.classifier, states[-1])   # [T,B,K]
