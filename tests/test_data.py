"""Tests of fdiv.datasets: the registry and the toy datasets (the PacGAN definitions)."""
from __future__ import annotations

import math

import pytest
import torch

from fdiv.datasets import Dataset, dataset_names, get_dataset, register_dataset


def test_registry_names_and_errors():
    names = dataset_names()
    for n in ("ring8", "grid25", "x", "mixture1d"):
        assert n in names
    with pytest.raises(ValueError) as e:
        get_dataset("ring9")
    assert "ring9" in str(e.value) and "ring8" in str(e.value) and "grid25" in str(e.value)
    with pytest.raises(ValueError, match="bad parameters"):
        get_dataset("ring8", radius=2)
    ds = get_dataset("ring8")
    assert get_dataset(ds) is ds


def test_register_dataset():
    class Const(Dataset):
        name, kind, shape = "const_test", "2d", (2,)

        def _sample(self, n, generator):
            return torch.ones(n, 2)

    register_dataset("const_test", Const)
    assert "const_test" in dataset_names()
    assert torch.equal(get_dataset("const_test").sample(3), torch.ones(3, 2))
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("const_test", Const, overwrite=False)


def test_ring8_definition():
    ds = get_dataset("ring8")
    assert (ds.kind, ds.shape, ds.dim, ds.num_classes, ds.std) == ("2d", (2,), 2, 0, 0.01)
    c = ds.centers.double()
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.ones(8, dtype=torch.float64), atol=1e-6)
    ang = torch.atan2(c[:, 1], c[:, 0]) % (2 * math.pi)
    assert torch.allclose(torch.sort(ang).values, torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8, atol=1e-6)


def test_grid25_definition():
    ds = get_dataset("grid25")
    assert ds.std == 0.05 and ds.centers.shape == (25, 2)
    got = {tuple(map(float, p)) for p in ds.centers}
    want = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert got == want


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_mixture_samples_have_the_right_law(name):
    ds = get_dataset(name)
    x = ds.sample(20000, torch.Generator().manual_seed(0))
    assert x.shape == (20000, 2) and x.dtype == torch.float32
    d, idx = torch.cdist(x.double(), ds.centers.double()).min(1)
    # each coordinate offset ~ N(0, std^2): E|offset|^2 = 2 std^2
    assert float((d ** 2).mean()) == pytest.approx(2 * ds.std ** 2, rel=0.05)
    counts = torch.bincount(idx, minlength=len(ds.centers)).double()
    assert float(counts.min()) > 0.7 * 20000 / len(ds.centers)
    # fraction within 3 std: chi^2_2 tail, 1 - exp(-9/2)
    assert float((d < 3 * ds.std).double().mean()) == pytest.approx(1 - math.exp(-4.5), abs=0.003)


def test_sampling_is_reproducible_and_uses_only_the_generator():
    ds = get_dataset("grid25")
    a = ds.sample(100, torch.Generator().manual_seed(3))
    torch.manual_seed(123)  # the global RNG must not matter
    b = ds.sample(100, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, ds.sample(100, torch.Generator().manual_seed(4)))
    with pytest.raises(ValueError):
        ds.sample(0)


@pytest.mark.parametrize("name, kw", [("ring8", {}), ("grid25", {}), ("x", {}), ("x", dict(part="q")),
                                      ("x", dict(part="both"))])
def test_2d_densities_integrate_to_one(name, kw):
    # Riemann sums of Gaussians with spacing <= std/2 are exact to far below the tolerance
    ds = get_dataset(name, **kw)
    lo, hi = (-6, 6) if name == "grid25" else (-2, 2)
    n = 801 if name == "ring8" else 601
    g = torch.linspace(lo, hi, n, dtype=torch.float64)
    X, Y = torch.meshgrid(g, g, indexing="ij")
    P = torch.stack([X, Y], -1).reshape(-1, 2)
    h = (hi - lo) / (n - 1)
    assert float(ds.density(P).sum() * h * h) == pytest.approx(1.0, abs=2e-3)


def test_x_diagonals():
    p = get_dataset("x")
    q = p.other()
    xp = p.sample(2000, torch.Generator().manual_seed(0))
    xq = q.sample(2000, torch.Generator().manual_seed(0))
    assert float((xp[:, 0] - xp[:, 1]).abs().mean()) < 0.1  # on y = x
    assert float((xq[:, 0] + xq[:, 1]).abs().mean()) < 0.1  # on y = -x
    assert xp.abs().max() < 1.4 and xp[:, 0].std() > 0.5    # spread along the square's diagonal
    # each set is far more likely under its own density
    assert float(p.log_prob(xp).mean()) > float(q.log_prob(xp).mean()) + 10
    # the means and covariances' traces agree: the two sets differ only in their orientation
    assert torch.allclose(xp.mean(0), xq.mean(0), atol=0.05)
    both = get_dataset("x", part="both", labelled=True)
    x, y = both.sample(100, torch.Generator().manual_seed(1))
    assert both.num_classes == 2 and set(y.tolist()) == {0, 1}
    on_main = (x[:, 0] - x[:, 1]).abs() < (x[:, 0] + x[:, 1]).abs()
    assert float((on_main == (y == 0)).double().mean()) > 0.9
    with pytest.raises(ValueError, match="part"):
        get_dataset("x", part="z")


def test_mixture1d():
    ds = get_dataset("mixture1d")
    assert ds.kind == "1d" and ds.shape == (1,)
    P = ds.distribution
    assert isinstance(P, torch.distributions.MixtureSameFamily)
    x = ds.sample(50000, torch.Generator().manual_seed(0))
    assert x.shape == (50000, 1)
    assert float(x.mean()) == pytest.approx(float(P.mean), abs=0.05)
    assert float(x.var()) == pytest.approx(float(P.variance), rel=0.03)
    # well separated: almost no mass between the components
    assert float(P.log_prob(torch.tensor(0.0, dtype=torch.float64)).exp()) < 1e-3
    assert torch.allclose(ds.log_prob(x[:5]).double(), P.log_prob(x[:5, 0].double()))
    g = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    assert float(ds.density(g).sum() * (16 / 4000)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", ["ring8", "grid25", "mixture1d"])
def test_labelled_variants(name):
    ds = get_dataset(name, labelled=True)
    assert ds.num_classes > 0
    x, y = ds.sample(500, torch.Generator().manual_seed(0))
    assert y.dtype == torch.int64 and y.shape == (500,)
    assert int(y.min()) >= 0 and int(y.max()) < ds.num_classes
    if hasattr(ds, "centers"):
        # the label is the component: the nearest centre of each point
        assert torch.equal(torch.cdist(x, ds.centers).argmin(1), y)
