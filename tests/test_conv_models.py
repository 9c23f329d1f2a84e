"""DC-GAN generators and critics (fdiv.gan.conv; chapters 10-11)."""
from __future__ import annotations

import pytest
import torch

from fdiv.gan.conv import (DCCritic, DCGenerator, Reshape, check_labels, default_models, format_trace,
                              trace_shapes)
from fdiv.datasets import get_dataset

SHAPES = [(1, 8, 8), (1, 28, 28)]


def _z(n, k, seed=0):
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_classes", [0, 10])
def test_generator_shapes_and_range(shape, num_classes):
    torch.manual_seed(0)
    g = DCGenerator(16, shape, num_classes=num_classes, channels=16)
    y = torch.arange(5) % 10 if num_classes else None
    x = g(_z(5, 16), y)
    assert x.shape == (5, *shape)
    assert g.out_shape == shape and g.latent_dim == 16 and g.num_classes == num_classes
    # Tanh output: in [-1, 1] even for huge latent inputs
    big = g(100 * _z(5, 16, 1), y)
    assert big.abs().max() <= 1.0 and x.abs().max() <= 1.0
    assert torch.isfinite(big).all()
    if not num_classes:  # an unconditional generator ignores labels (like fdiv.gan.models' MLPs)
        g.eval()
        assert torch.equal(g(_z(5, 16)), g(_z(5, 16), torch.arange(5)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("num_classes,conditioning", [(0, "projection"), (10, "projection"), (10, "concat")])
def test_critic_output_shape(shape, num_classes, conditioning):
    torch.manual_seed(0)
    d = DCCritic(shape, num_classes=num_classes, channels=8, conditioning=conditioning)
    x = torch.rand(7, *shape) * 2 - 1
    y = torch.arange(7) % 10 if num_classes else None
    v = d(x, y)
    assert v.shape == (7,)
    assert v.dtype == torch.float32 and torch.isfinite(v).all()
    # raw V_w: no sigmoid, so it can leave (0, 1) (scale the head up to see it)
    with torch.no_grad():
        d.head.weight.mul_(1000.0)
    v = d(x, y)
    assert (v < 0).any() or (v > 1).any()


@pytest.mark.parametrize("encoding", ["onehot", "embedding"])
def test_labels_change_generator_output(encoding):
    torch.manual_seed(0)
    g = DCGenerator(8, (1, 8, 8), num_classes=10, channels=16, label_encoding=encoding).eval()
    z = _z(1, 8).expand(10, 8)
    x = g(z, torch.arange(10))
    # same noise, ten labels -> ten different images
    diffs = (x[:, None] - x[None]).abs().flatten(2).amax(2)
    assert (diffs + torch.eye(10) > 1e-5).all()
    # batch composition does not matter in eval mode
    assert torch.allclose(g(z[:3], torch.arange(3)), x[:3], atol=1e-6)


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
def test_labels_change_critic_output(conditioning):
    torch.manual_seed(0)
    d = DCCritic((1, 8, 8), num_classes=10, channels=8, conditioning=conditioning)
    x = (torch.rand(1, 1, 8, 8) * 2 - 1).expand(10, 1, 8, 8)
    v = d(x, torch.arange(10))
    assert torch.unique(v.detach()).numel() == 10


def test_bad_labels_clear_errors():
    g = DCGenerator(4, (1, 8, 8), num_classes=10, channels=8)
    d = DCCritic((1, 8, 8), num_classes=10, channels=8)
    z, x = _z(3, 4), torch.zeros(3, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\[10\].*0\.\.9"):
        g(z, torch.tensor([0, 10, 3]))
    with pytest.raises(ValueError, match=r"\[-1\].*0\.\.9"):
        d(x, torch.tensor([0, -1, 3]))
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    with pytest.raises(ValueError, match="conditional"):
        d(x, None)
    with pytest.raises(ValueError, match="integers"):
        g(z, torch.tensor([0.5, 1.0, 2.0]))
    with pytest.raises(ValueError, match="2 labels for a batch of 3"):
        g(z, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        g(_z(3, 5), torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"shape \(N, 1, 8, 8\)"):
        d(torch.zeros(3, 1, 28, 28), torch.tensor([1, 2, 3]))
    # whole-number floats and python lists are accepted; a scalar label is broadcast
    assert check_labels([1.0, 2.0], 10).dtype == torch.long
    assert check_labels(3, 10, batch=4).tolist() == [3, 3, 3, 3]


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="multiples of 4"):
        DCGenerator(8, (1, 10, 10))
    with pytest.raises(ValueError, match="label_encoding"):
        DCGenerator(8, (1, 8, 8), num_classes=10, label_encoding="bits")
    with pytest.raises(ValueError, match="conditioning.*projection"):
        DCCritic((1, 8, 8), num_classes=10, conditioning="film")
    with pytest.raises(ValueError, match="norm"):
        DCCritic((1, 8, 8), norm="instance")
    with pytest.raises(ValueError, match="num_classes"):
        DCCritic((1, 8, 8), num_classes=1)


def test_trace_shapes_8x8_and_28x28():
    g = DCGenerator(16, (1, 8, 8), channels=32)
    rows = trace_shapes(g, _z(2, 16))
    shapes = [s for _, s in rows]
    assert rows[0] == ("input", (2, 16))
    assert ("Reshape(32, 2, 2)", (2, 32, 2, 2)) in rows
    up = [s for name, s in rows if name.startswith("ConvTranspose2d")]
    assert up == [(2, 16, 4, 4), (2, 1, 8, 8)]  # each transposed conv doubles the resolution
    assert shapes[-1] == (2, 1, 8, 8) and rows[-1][0] == "Tanh"
    g28 = DCGenerator(16, (1, 28, 28), num_classes=10, channels=32)
    up28 = [s[2:] for name, s in trace_shapes(g28, _z(2, 16), torch.tensor([3, 4])) if "Transpose" in name]
    assert up28 == [(14, 14), (28, 28)]
    d = DCCritic((1, 28, 28), channels=8)
    rows = trace_shapes(d, torch.zeros(2, 1, 28, 28))
    assert [s[2:] for n, s in rows if n.startswith("Conv2d")] == [(14, 14), (7, 7)]
    assert rows[-1][1] == (2,)
    table = format_trace(rows)
    assert "Conv2d(1->8, k4, s2, p1)" in table and "(2, 8, 14, 14)" in table
    assert g.training  # tracing leaves the mode as it was


def test_dcgan_initialisation():
    torch.manual_seed(0)
    g = DCGenerator(32, (1, 28, 28), channels=128)
    w = g.net[0].weight
    w = w.detach()
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002
    bn = g.net[2]
    bw, bb = bn.weight.detach(), bn.bias.detach()
    assert abs(float(bw.mean()) - 1.0) < 0.01 and float(bb.abs().max()) == 0.0


def test_default_models_for_digits():
    ds = get_dataset("digits")
    g, d = default_models(ds, conditional=True, seed=3)
    g2, _ = default_models(ds, conditional=True, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), g2.state_dict().values()))
    assert isinstance(g, DCGenerator) and isinstance(d, DCCritic)
    assert g.num_classes == d.num_classes == 10 and g.out_shape == (1, 8, 8)
    x, y = ds.sample(4, torch.Generator().manual_seed(0))
    assert d(x, y).shape == (4,)
    assert g(_z(4, g.latent_dim), y).shape == x.shape
    gu, du = default_models(ds, conditional=False)
    assert gu.num_classes == 0 and du.num_classes == 0
    _, ds_ = default_models(ds, spectral_norm=True)
    assert any("parametrizations" in n for n, _ in ds_.named_parameters())
    with pytest.raises(ValueError, match="unknown option"):
        default_models(ds, hidden=3)
    # the generic fdiv.gan.models entry point dispatches here for images
    from fdiv.gan.models import default_models as generic
    gg, dd = generic("digits", conditional=True)
    assert isinstance(gg, DCGenerator) and isinstance(dd, DCCritic) and gg.num_classes == 10


def test_generator_sample_is_deterministic_and_in_eval_mode():
    g = DCGenerator(8, (1, 8, 8), num_classes=10, channels=16)
    a = g.sample(6, y=2, generator=torch.Generator().manual_seed(1))
    b = g.sample(6, y=2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == (6, 1, 8, 8) and not a.requires_grad
    assert g.training


def test_gradients_flow_through_both_networks():
    torch.manual_seed(0)
    g = DCGenerator(8, (1, 8, 8), num_classes=10, channels=16, label_encoding="embedding")
    d = DCCritic((1, 8, 8), num_classes=10, channels=8, norm="batch")
    y = torch.arange(8) % 10
    d(g(_z(8, 8), y), y).sum().backward()
    for m in (g, d):
        for name, p in m.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(float(p.grad.abs().sum()) > 0 for p in g.embed.parameters())


def test_reshape_module():
    r = Reshape(4, 2, 2)
    assert r(torch.zeros(3, 16)).shape == (3, 4, 2, 2)
