"""Attention modules on [T,B,C,H,W]: shape kept, each part does its job, specs combine, bad names fail."""
import pytest
import torch

from msenas.errors import MsenasError
from msenas.nn.attention import ATTENTIONS, CBAM, ECA, TemporalAttention, eca_kernel, make_attention, parse_attention

PARTS = [n for n in ATTENTIONS.names() if n != "none"]


def _x(seed: int = 0, shape=(3, 2, 8, 5, 6)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _cbam() -> CBAM:
    """CBAM on 8 channels (MLP reduction 4), its weights seeded."""
    torch.manual_seed(0)
    return CBAM(8, reduction=4)


@pytest.mark.parametrize("name", ATTENTIONS.names())
def test_every_attention_keeps_the_shape_of_a_time_major_batch(name):
    torch.manual_seed(0)
    x = _x()
    y = make_attention(name, channels=8)(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("name", PARTS)
def test_each_attention_part_reweights_its_input_and_learns(name):
    torch.manual_seed(0)
    m = make_attention(name, channels=8)
    x = _x(1)
    y = m(x)
    assert not torch.allclose(y, x)
    ratio = y / x
    assert (ratio > 0).all() and (ratio < 1).all()          # sigmoid gates: a weight in (0, 1) on each element
    y.square().sum().backward()
    grads = [p.grad for p in m.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_none_is_the_identity():
    x = _x(2)
    assert torch.equal(make_attention("none", 8)(x), x)


def test_eca_weights_are_per_channel_and_per_time_step():
    torch.manual_seed(0)
    m = ECA(8)
    x = _x(3).abs() + 0.1
    w = m(x) / x                                             # [T,B,C,H,W]
    assert torch.allclose(w, w[..., :1, :1].expand_as(w), atol=1e-6)   # constant over H, W
    assert w[0, 0].flatten().unique().numel() > 1                      # differs across channels
    x2 = x.clone()
    x2[1] *= 3.0
    w2 = m(x2) / x2
    assert torch.allclose(w2[0], w[0]) and not torch.allclose(w2[1], w[1])   # steps are independent


def test_eca_kernel_follows_the_paper_rule():
    # k = |log2(C)/2 + 1/2| rounded to odd: C=16 -> 2.5 -> 2 -> 3; C=64 -> 3.5 -> 3; C=512 -> 5 -> 5
    assert [eca_kernel(c) for c in (16, 64, 512)] == [3, 3, 5]


def test_cbam_spatial_gate_varies_over_positions_and_channel_gate_over_channels():
    m, x = _cbam(), _x(4)
    cg, sg = m.channel_gate(x), m.spatial_gate(x)
    assert cg.shape == (3, 2, 8, 1, 1) and sg.shape == (3, 2, 1, 5, 6)
    assert cg[0, 0].flatten().unique().numel() > 1
    assert sg[0, 0].flatten().unique().numel() > 1


def test_temporal_attention_gives_one_weight_per_step_and_follows_the_input_over_time():
    torch.manual_seed(0)
    m = TemporalAttention(8)
    x = _x(5, (4, 2, 8, 5, 6)).abs()
    g = m.step_gate(x)
    assert g.shape == (4, 2)
    w = m(x) / x
    assert torch.allclose(w, g[..., None, None, None].expand_as(w), atol=1e-6)
    x2 = x.clone()
    x2[2] *= 5.0                                             # a louder step gets another weight
    assert not torch.allclose(m.step_gate(x2)[2], g[2])
    assert m(_x(6, (7, 2, 8, 5, 6))).shape == (7, 2, 8, 5, 6)   # any T


def test_parts_combine_in_order_and_bad_specs_name_the_problem():
    assert parse_attention("eca+temporal") == ("eca", "temporal")
    assert parse_attention("none") == ()
    m = make_attention("cbam+temporal", 8)
    assert [type(p) for p in m] == [CBAM, TemporalAttention]
    with pytest.raises(MsenasError, match="unknown attention 'se'"):
        make_attention("se", 8)
    with pytest.raises(MsenasError, match="none"):
        parse_attention("none+eca")


# ---- each attention computes what its paper describes (its own weights, set by hand where it makes the effect plain)

def test_eca_weight_of_a_channel_is_the_sigmoid_of_a_k_tap_conv_over_channel_means():
    m = ECA(8)                                               # C=8: k = 3
    with torch.no_grad():
        m.conv.weight.copy_(torch.tensor([[[0.5, 2.0, -1.0]]]))
    x = _x(7)
    mean = torch.nn.functional.pad(x.mean(dim=(3, 4)), (1, 1))       # [T,B,C+2], zero padding as the conv's
    gate = torch.sigmoid(0.5 * mean[..., :-2] + 2.0 * mean[..., 1:-1] - 1.0 * mean[..., 2:])
    assert torch.allclose(m(x), x * gate[..., None, None], atol=1e-6)


def test_eca_favours_the_channels_that_respond_most_and_mixes_only_neighbours():
    m = ECA(8)
    with torch.no_grad():
        m.conv.weight.copy_(torch.tensor([[[0.0, 1.0, 0.0]]]))   # each channel sees its own mean only
    x = _x(8).abs()
    w = (m(x) / x)[..., 0, 0]                                    # [T,B,C]
    assert torch.equal(w.argsort(-1), x.mean(dim=(3, 4)).argsort(-1))
    torch.manual_seed(1)
    m = ECA(8)                                                   # any weights: a channel reaches k // 2 neighbours
    x2 = x.clone()
    x2[:, :, 0] *= 4.0
    changed = ~torch.isclose(m(x2) / x2, m(x) / x)[..., 0, 0].all(dim=(0, 1))
    assert changed.tolist() == [True, True] + [False] * 6


def test_cbam_gates_channels_by_a_shared_mlp_of_avg_and_max_then_positions_by_a_conv():
    m, x = _cbam(), _x(9)
    mlp = lambda v: m.mlp[2](torch.relu(m.mlp[0](v)))           # noqa: E731 - the shared MLP, by hand
    cg = torch.sigmoid(mlp(x.mean(dim=(3, 4))) + mlp(x.amax(dim=(3, 4))))[..., None, None]
    assert torch.allclose(m.channel_gate(x), cg, atol=1e-6)
    with torch.no_grad():                                       # spatial conv: only the centre tap on the channel max
        m.spatial.weight.zero_()
        m.spatial.weight[0, 1, 3, 3] = 1.0
    xc = x * cg
    sg = torch.sigmoid(xc.amax(dim=2, keepdim=True))            # [T,B,1,H,W]: the strongest position, the most weight
    assert torch.allclose(m.spatial_gate(xc), sg, atol=1e-6)
    assert torch.allclose(m(x), xc * sg, atol=1e-6)             # channel gate first, then the spatial gate


def test_temporal_attention_weighs_the_louder_step_more_and_looks_only_at_nearby_steps():
    m = TemporalAttention(8)                                     # kernel 3 over T
    with torch.no_grad():
        m.conv.weight.zero_()
        m.conv.weight[0, 0, 1] = 1.0                             # each step's own mean activity
        m.conv.bias.zero_()
    x = _x(10, (5, 2, 8, 5, 6)).abs()
    x[3] *= 4.0                                                  # step 3 is the loudest in both samples
    g = m.step_gate(x)
    assert torch.allclose(g, torch.sigmoid(x.mean(dim=(2, 3, 4))), atol=1e-6)
    assert g.argmax(dim=0).tolist() == [3, 3]
    torch.manual_seed(2)
    m = TemporalAttention(8)                                     # any weights: step 0 reaches steps 0 and 1 only
    x2 = x.clone()
    x2[0] *= 3.0
    changed = ~torch.isclose(m.step_gate(x2), m.step_gate(x)).all(dim=1)
    assert changed.tolist() == [True, True, False, False, False]
