"""Chapter 3: the Fenchel conjugate (over u > 0)."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import (as_tensor, assert_close, assert_conjugate_vanishes_at_zero, assert_sympy_equal, call,
                      fmt, symbol)
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 3.1

ex = EXERCISES.add(Exercise(
    id="3.1", kind="sympy", name="neyman_conjugate", variable="t",
    title="Conjugate of the Neyman chi^2 generator",
    task=r"""The Neyman $\chi^2$ divergence has $f(u) = \frac{(1-u)^2}{u}$ on $u > 0$. Derive its conjugate
$f^*(t) = \sup_{u > 0}\{tu - f(u)\}$ with sympy (set the derivative to zero, solve for $u$, check
$u > 0$, substitute back). Return $f^*(t)$ as an expression in the symbol `t`, valid on
$\mathrm{dom}\, f^* = (-\infty, 1]$ (at $t = 1$ no $u$ attains the supremum, but it is finite:
what is it?).""",
    doc="Return f*(t) of f(u) = (1-u)^2/u (over u > 0) as a sympy expression in t, for t <= 1.",
    hint="Differentiate t u - f(u) in u and solve for the stationary point u*(t): for which t is it positive? "
         "Substitute it back, and find the limit of the bracket at the end of the domain.",
))


@ex.check("f*(0) = -min f = 0")
def _(expr):
    assert_conjugate_vanishes_at_zero(expr)


@ex.check("equals the conjugate on dom f* = (-inf, 1]")
def _(expr):
    import sympy

    t = symbol("t")
    assert_sympy_equal(expr, 2 - 2 * sympy.sqrt(1 - t), "t", [-10.0, -2.0, -0.5, 0.0, 0.3, 0.9, 0.99, 1.0], wrong=[
        (2 + 2 * sympy.sqrt(1 - t), "sign error: the supremum is 2 - 2 sqrt(1 - t)"),
        (-2 * sympy.sqrt(1 - t), "a constant is missing (f*(0) must be 0)"),
        (t + t ** 2 / 4, "that is the Pearson chi^2 conjugate"),
    ])


# --------------------------------------------------------------------------- 3.2

def pearson_conj_ref(t: torch.Tensor) -> torch.Tensor:
    t = t.double()
    return torch.where(t < -2, torch.full_like(t, -1.0), t + t ** 2 / 4)


ex = EXERCISES.add(Exercise(
    id="3.2", kind="function", name="pearson_conjugate", signature="(t)",
    title="The Pearson chi^2 conjugate over u > 0 is piecewise",
    task=r"""For Pearson's $\chi^2$, $f(u) = (u - 1)^2$. Over all of $\mathbb{R}$ its conjugate would be
$t + t^2/4$ (the f-GAN paper's table), but $f$ lives on $u > 0$:
$f^*(t) = \sup_{u > 0}\{tu - (u-1)^2\}$. Find where the stationary point $u^* = 1 + t/2$ leaves
$u > 0$; there the supremum sits at $u \to 0$. Write `pearson_conjugate(t)` for a tensor `t`
(any shape), returning $f^*(t)$ elementwise (a tensor of the same shape).""",
    doc="f*(t) = sup_{u>0} { t u - (u-1)^2 }, elementwise, for a tensor t of any shape.",
    hint="u* = 1 + t/2 is positive only for t > -2. For t <= -2 the bracket decreases on u > 0, so the supremum "
         "is its limit as u -> 0. torch.where picks between two formulas elementwise.",
))

def _t_grid():
    return torch.tensor([-50.0, -5.0, -3.0, -2.5, -2.0, -1.5, -1.0, 0.0, 0.5, 2.0, 10.0], dtype=torch.float64)


def _conj_call(fn, t, name, allow_inf=False):
    out = call(fn, t)
    return as_tensor(out, tuple(t.shape), what=f"{name}(t) for t of shape {tuple(t.shape)}", allow_inf=allow_inf)


@ex.check("returns a tensor of the input's shape")
def _(fn):
    for t in (torch.linspace(-4, 4, 5, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)):
        _conj_call(fn, t, "pearson_conjugate")


@ex.check("values where the stationary point is admissible (t > -2)")
def _(fn):
    t = _t_grid()[_t_grid() > -2]
    assert_close(_conj_call(fn, t, "pearson_conjugate"), pearson_conj_ref(t), t, rtol=1e-6, atol=1e-9)


@ex.check("values where the supremum sits at u -> 0 (t <= -2)")
def _(fn):
    t = _t_grid()[_t_grid() <= -2]
    got = _conj_call(fn, t, "pearson_conjugate")
    paper = t + t ** 2 / 4
    if torch.allclose(got, paper, rtol=1e-6):
        raise AssertionError("for t < -2 you return t + t^2/4, the conjugate over all real u; over u > 0 the "
                             "maximiser 1 + t/2 is negative there and the supremum is the limit u -> 0: -1 "
                             f"(at t = -5: expected -1, got {fmt(got[1])})")
    assert_close(got, pearson_conj_ref(t), t, rtol=1e-6, atol=1e-9)


@ex.check("agrees with a brute-force supremum over a grid of u > 0")
def _(fn):
    g = torch.Generator().manual_seed(0)
    t = torch.rand(64, generator=g, dtype=torch.float64) * 12 - 8
    u = torch.linspace(0, 20, 20_001, dtype=torch.float64)  # u = 0 included: the limit u -> 0
    brute = (t[:, None] * u[None, :] - (u[None, :] - 1) ** 2).amax(dim=1)
    assert_close(_conj_call(fn, t, "pearson_conjugate"), brute, t, rtol=1e-5, atol=1e-4)


@ex.check("float32 input: finite values of the same dtype family")
def _(fn):
    t = torch.tensor([-1e3, -3.0, 0.0, 1e3], dtype=torch.float32)
    got = _conj_call(fn, t, "pearson_conjugate")
    if not torch.isfinite(got).all():
        raise AssertionError(f"non-finite output on float32 input t = {fmt(t)}: got {fmt(got)}")
    assert_close(got, pearson_conj_ref(t), t, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- 3.3

def tv_conj_ref(t: torch.Tensor) -> torch.Tensor:
    t = t.double()
    out = torch.where(t < -0.5, torch.full_like(t, -0.5), t)
    return torch.where(t > 0.5, torch.full_like(t, math.inf), out)


ex = EXERCISES.add(Exercise(
    id="3.3", kind="function", name="tv_conjugate", signature="(t)",
    title="The total variation conjugate over u > 0, +inf outside its domain",
    task=r"""Total variation has $f(u) = \tfrac12 |u - 1|$. Compute $f^*(t) = \sup_{u>0}\{tu - \tfrac12|u-1|\}$
by hand (split $u < 1$ and $u \ge 1$), then write `tv_conjugate(t)` returning it elementwise for a
tensor `t`, with `+inf` where the supremum is infinite (outside $\mathrm{dom}\, f^*$). Compare with the
f-GAN paper, which takes the supremum over all real $u$ and finds $\mathrm{dom}\, f^* = [-\tfrac12, \tfrac12]$.""",
    doc="f*(t) = sup_{u>0} { t u - |u-1|/2 }, elementwise; +inf where the supremum is infinite.",
    hint="For u >= 1 the bracket grows without bound iff t > 1/2. For u in (0, 1) it is (t + 1/2) u - 1/2: "
         "increasing if t >= -1/2 (sup t at u = 1), decreasing otherwise (sup -1/2 at u -> 0).",
))

def _tv_grid():
    return torch.tensor([-10.0, -1.0, -0.75, -0.5, -0.25, 0.0, 0.3, 0.5, 0.51, 1.0, 100.0], dtype=torch.float64)


def _tv_call(fn, t):
    return _conj_call(fn, t, "tv_conjugate", allow_inf=True)


@ex.check("returns a tensor of the input's shape")
def _(fn):
    for t in (torch.linspace(-1, 1, 5, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64)):
        _tv_call(fn, t)


@ex.check("f*(t) = t on [-1/2, 1/2]")
def _(fn):
    grid = _tv_grid()
    t = grid[(grid >= -0.5) & (grid <= 0.5)]
    assert_close(_tv_call(fn, t), tv_conj_ref(t), t, rtol=1e-7, atol=1e-9)


@ex.check("below -1/2 the supremum sits at u -> 0")
def _(fn):
    t = _tv_grid()[_tv_grid() < -0.5]
    got = _tv_call(fn, t)
    if torch.isinf(got).all():
        raise AssertionError("for t < -1/2 you return +inf (the f-GAN paper's domain, sup over all real u); "
                             "over u > 0 the supremum is finite: the limit u -> 0 gives -f(0) = -1/2")
    assert_close(got, tv_conj_ref(t), t, rtol=1e-7, atol=1e-9)


@ex.check("+inf above 1/2 (outside dom f*)")
def _(fn):
    t = _tv_grid()[_tv_grid() > 0.5]
    got = _tv_call(fn, t)
    assert_close(got, tv_conj_ref(t), t, rtol=1e-7, atol=1e-9,
                 what="outside dom f* the supremum is infinite (return float('inf')): ")
