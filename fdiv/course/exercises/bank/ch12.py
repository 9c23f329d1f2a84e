"""Chapter 12: inference with a trained generator (sampling, latent walks, mode coverage)."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_close, call, describe, expect_raises, fmt
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 12.1

ex = EXERCISES.add(Exercise(
    id="12.1", kind="function", name="interpolate", signature="(z0, z1, steps)",
    title="Linear interpolation in latent space",
    task=r"""At inference time, walking between two latent vectors shows how the generator's output morphs.
Write `interpolate(z0, z1, steps)`: for two latent vectors of shape `(k,)`, return a tensor of shape
`(steps, k)` whose rows are $z_0 + \tfrac{i}{\text{steps}-1}(z_1 - z_0)$, $i = 0, \dots, \text{steps}-1$: the first
row is exactly $z_0$, the last exactly $z_1$. `steps < 2` must raise `ValueError`.""",
    doc="Rows z0 + i/(steps-1) (z1 - z0), i = 0..steps-1, shape (steps, k); ValueError if steps < 2.",
    hint="torch.linspace(0, 1, steps) includes both ends; broadcast the weights as a column against z0 and z1.",
))


def _lerp_ref(z0, z1, steps):
    w = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    return (1 - w) * z0.double() + w * z1.double()


@ex.check("shape (steps, k), endpoints exactly z0 and z1")
def _(fn):
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    for steps in (2, 5):
        got = as_tensor(call(fn, z0, z1, steps), (steps, 4), what=f"interpolate(z0, z1, {steps}) with k = 4")
        if torch.allclose(got[0], z1.double()) and torch.allclose(got[-1], z0.double()):
            raise AssertionError("the walk goes backwards: the first row is z0, the last z1")
        assert_close(got[0], z0, what=f"steps = {steps}, first row: ", atol=1e-12)
        assert_close(got[-1], z1, what=f"steps = {steps}, last row (it must be exactly z1): ", atol=1e-12)


@ex.check("equally spaced rows")
def _(fn):
    z0, z1 = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64), torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64)
    got = as_tensor(call(fn, z0, z1, 4), (4, 3), what="interpolate(z0, z1, 4)")
    assert_close(got, _lerp_ref(z0, z1, 4), [f"row {i}, coordinate {j}" for i in range(4) for j in range(3)],
                 atol=1e-12, rtol=1e-9)


@ex.check("steps < 2 raises ValueError")
def _(fn):
    z = torch.zeros(3)
    expect_raises(fn, (z, z + 1, 1), "ValueError", what="interpolate(z0, z1, 1)")


# --------------------------------------------------------------------------- 12.2

ex = EXERCISES.add(Exercise(
    id="12.2", kind="function", name="slerp", signature="(z0, z1, t)",
    title="Spherical interpolation, slerp, for Gaussian latents",
    task=r"""High-dimensional Gaussian latents concentrate near a sphere of radius $\sqrt{k}$; the midpoint of a
straight line between two of them is unusually short, so generators are often walked along great circles:
$\mathrm{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\Omega)}{\sin\Omega} z_0 + \frac{\sin(t\Omega)}{\sin\Omega} z_1$, with
$\Omega$ the angle between $z_0$ and $z_1$. Write `slerp(z0, z1, t)` for latent vectors of shape `(k,)` and a 1-D
tensor `t` of $n$ weights in $[0, 1]$, returning shape `(n, k)`. When $z_0$ and $z_1$ are (nearly) parallel,
$\sin\Omega \approx 0$: fall back to linear interpolation instead of returning `nan`.""",
    doc="Great-circle interpolation, shape (len(t), k); linear interpolation when z0, z1 are nearly parallel.",
    hint="The angle omega between z0 and z1 comes from their cosine (clamp it into [-1, 1] before arccos); "
         "when sin(omega) is tiny the formula is 0/0: fall back to the straight line.",
))


def slerp_ref(z0, z1, t):
    z0, z1, t = z0.double(), z1.double(), t.double()[:, None]
    cos = torch.clamp(torch.dot(z0, z1) / (z0.norm() * z1.norm()), -1, 1)
    om = torch.arccos(cos)
    so = torch.sin(om)
    if so < 1e-6:
        return (1 - t) * z0 + t * z1
    return torch.sin((1 - t) * om) / so * z0 + torch.sin(t * om) / so * z1


def _sl(fn, z0, z1, t, what):
    return as_tensor(call(fn, z0, z1, t), (t.shape[0], z0.shape[0]), what=what)


@ex.check("quarter circle: slerp((1,0), (0,1); t) = (cos(pi t/2), sin(pi t/2))")
def _(fn):
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    z0, z1 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    got = _sl(fn, z0, z1, t, "slerp((1, 0), (0, 1), t) for 5 weights t")
    exp = torch.stack([torch.cos(math.pi * t / 2), torch.sin(math.pi * t / 2)], 1)
    lerp = (1 - t[:, None]) * z0 + t[:, None] * z1
    if torch.allclose(got, lerp, atol=1e-9):
        raise AssertionError("that is linear interpolation: its midpoint (0.5, 0.5) has norm 0.707, "
                             "slerp keeps the norm 1")
    assert_close(got, exp, [f"t = {fmt(t[i])}, coordinate {j}" for i in range(5) for j in range(2)],
                 rtol=1e-6, atol=1e-9)


@ex.check("keeps the norm between latents of equal norm (k = 64)")
def _(fn):
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(64, generator=g, dtype=torch.float64), torch.randn(64, generator=g, dtype=torch.float64)
    z1 = z1 / z1.norm() * z0.norm()
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    got = _sl(fn, z0, z1, t, "slerp(z0, z1, t) with k = 64 and 7 weights")
    assert_close(got.norm(dim=1), torch.full((7,), z0.norm().item(), dtype=torch.float64), t, rtol=1e-6,
                 what="norm of the rows: ")
    assert_close(got, slerp_ref(z0, z1, t), rtol=1e-6, atol=1e-9)


@ex.check("parallel latents: no nan (falls back to the straight line)")
def _(fn):
    z0 = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    t = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64)
    for z1, desc in ((z0.clone(), "z1 = z0"), (2 * z0, "z1 = 2 z0")):
        got = _sl(fn, z0, z1, t, f"slerp(z0, z1, t) with {desc}")
        if torch.isnan(got).any():
            raise AssertionError(f"{desc}: got nan (sin(Omega) = 0); fall back to linear interpolation")
        assert_close(got, (1 - t[:, None]) * z0 + t[:, None] * z1, rtol=1e-6, atol=1e-9, what=f"{desc}: ")


# --------------------------------------------------------------------------- 12.3

ex = EXERCISES.add(Exercise(
    id="12.3", kind="function", name="modes_captured", signature="(samples, centres, std)",
    title="Counting captured modes",
    task=r"""A generator trained on a mixture of Gaussians (e.g. 8 on a ring, standard deviation `std`) is
judged on its samples (the PacGAN benchmark): a sample is *high quality* if its distance to the nearest
centre is below $3\,\mathrm{std}$, and a mode is *captured* if at least one high-quality sample has it as
its nearest centre. Write `modes_captured(samples, centres, std)` for samples `(N, 2)` and centres
`(M, 2)`, returning the number of captured modes as a Python `int`. (Why is the fraction of high-quality
samples alone not enough?)""",
    doc="Number of centres that are the nearest centre of at least one sample closer than 3 std to it (an int).",
    hint="torch.cdist gives all sample-centre distances; .min(dim=1) the nearest centre and its distance; "
         "count the distinct nearest centres among the high-quality samples.",
))


def _ring(m=8, r=1.0):
    a = torch.arange(m, dtype=torch.float64) * 2 * math.pi / m
    return torch.stack([r * torch.cos(a), r * torch.sin(a)], 1)


def _count(fn, samples, centres, std, what):
    out = call(fn, samples, centres, std)
    if isinstance(out, torch.Tensor) and out.numel() == 1 and not out.is_floating_point():
        out = int(out.item())
    if isinstance(out, bool) or not isinstance(out, int):
        raise AssertionError(f"{what}: expected an int (the number of modes), got {describe(out)}")
    return out


def _expect(fn, samples, centres, std, exp, what):
    got = _count(fn, samples, centres, std, what)
    if got != exp:
        raise AssertionError(f"{what}: expected {exp} modes, got {got}")


@ex.check("all 8 modes of the ring, and a collapse onto one mode")
def _(fn):
    g = torch.Generator().manual_seed(0)
    c = _ring()
    idx = torch.randint(0, 8, (2500,), generator=g)
    good = c[idx] + 0.01 * torch.randn(2500, 2, generator=g, dtype=torch.float64)
    _expect(fn, good, c, 0.01, 8, "2500 samples spread over the 8 modes (std 0.01)")
    collapsed = c[3] + 0.01 * torch.randn(2500, 2, generator=g, dtype=torch.float64)
    _expect(fn, collapsed, c, 0.01, 1, "2500 samples all around mode 3 (a collapsed generator)")


@ex.check("low-quality samples (farther than 3 std) capture nothing")
def _(fn):
    c = _ring()
    far = torch.zeros(100, 2, dtype=torch.float64)  # the centre of the ring: distance 1 from every mode
    _expect(fn, far, c, 0.01, 0, "100 samples at the origin, 1.0 from every mode (std 0.01)")
    pts = torch.stack([c[0] + torch.tensor([0.02, 0.0], dtype=torch.float64),    # 2 std: high quality
                       c[1] + torch.tensor([0.0, 0.04], dtype=torch.float64),    # 4 std: not
                       c[2] + torch.tensor([0.029, 0.0], dtype=torch.float64)])  # 2.9 std: high quality
    _expect(fn, pts, c, 0.01, 2, "3 samples at 2, 4 and 2.9 std from modes 0, 1, 2")


@ex.check("a grid of 25 modes with std 0.05; counts modes, not samples")
def _(fn):
    g = torch.Generator().manual_seed(1)
    xs = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], dtype=torch.float64)
    c = torch.cartesian_prod(xs, xs)
    idx = torch.tensor([0, 0, 0, 6, 6, 12, 24] * 10)
    s = c[idx] + 0.05 * torch.randn(len(idx), 2, generator=g, dtype=torch.float64).clamp(-2, 2)
    _expect(fn, s, c, 0.05, 4, "70 samples around 4 of the 25 grid modes")
    _expect(fn, s[:3], c, 0.05, 1, "3 samples around one mode")
