"""Chapter 4: the variational representation of D_f."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_close, assert_number, assert_sympy_equal, call, fmt, symbol
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 4.1

ex = EXERCISES.add(Exercise(
    id="4.1", kind="function", name="optimal_witness_kl", signature="(log_p, log_q)",
    title="The optimal witness of KL, computed in log space",
    task=r"""The supremum in the variational representation is attained at $T^*(x) = f'\big(p(x)/q(x)\big)$.
For KL, $f(u) = u \log u$. Write `optimal_witness_kl(log_p, log_q)`: given tensors of log-densities
$\log p(x)$ and $\log q(x)$ at some points (same shape), return $T^*(x)$ elementwise. It must stay finite
when the densities are far apart or tiny (log-ratios of $\pm 800$, log-densities of $-1000$): never form
$p/q$ itself.""",
    doc="T*(x) = f'(p(x)/q(x)) for f(u) = u log u, from log-densities (same shape); stable in log space.",
    hint="f'(u) = 1 + log u, and log(p/q) = log_p - log_q: no exponentials needed.",
))


def _w_call(fn, lp, lq):
    out = call(fn, lp, lq)
    return as_tensor(out, tuple(lp.shape), what=f"optimal_witness_kl(log_p, log_q) for inputs of shape "
                                                f"{tuple(lp.shape)}",
                     hint="exp(800) overflows and exp(-1000) underflows to 0 (0/0 is nan): work with "
                          "log_p - log_q directly")


@ex.check("values for moderate densities, any shape")
def _(fn):
    g = torch.Generator().manual_seed(0)
    for shape in ((7,), (2, 3)):
        lp = torch.randn(shape, generator=g, dtype=torch.float64) - 1
        lq = torch.randn(shape, generator=g, dtype=torch.float64) - 1
        got = _w_call(fn, lp, lq)
        if torch.allclose(got, lp - lq, atol=1e-9):
            raise AssertionError("you return log(p/q); T* = f'(p/q) and f'(u) = 1 + log u for u log u")
        if torch.allclose(got, 1 + lq - lp, atol=1e-9):
            raise AssertionError("you return 1 + log(q/p); the ratio is p/q (data over model)")
        assert_close(got, 1 + lp - lq, (lp - lq), name="log(p/q)", rtol=1e-7, atol=1e-9)


@ex.check("finite for log-ratios of +-800 (no overflow)")
def _(fn):
    lp = torch.tensor([0.0, -800.0, -5.0], dtype=torch.float64)
    lq = torch.tensor([-800.0, 0.0, -5.0], dtype=torch.float64)
    got = _w_call(fn, lp, lq)
    assert_close(got, 1 + lp - lq, lp - lq, name="log(p/q)", rtol=1e-9)


@ex.check("finite for tiny densities (log p = -1000, log q = -1001)")
def _(fn):
    lp = torch.tensor([-1000.0, -1001.0], dtype=torch.float64)
    lq = torch.tensor([-1001.0, -1000.0], dtype=torch.float64)
    got = _w_call(fn, lp, lq)
    assert_close(got, 1 + lp - lq, lp - lq, name="log(p/q)", rtol=1e-9)


# --------------------------------------------------------------------------- 4.2

BOUND_LINEAR = 1 - math.exp(-0.5)

ex = EXERCISES.add(Exercise(
    id="4.2", kind="number", name="bound_linear_witness", tolerance=0.015,
    title="A witness that is not optimal gives a lower bound",
    task=r"""Take $P = \mathcal{N}(1, 1)$ (data), $Q = \mathcal{N}(0, 1)$ (model) and KL, whose conjugate is
$f^*(t) = e^{t-1}$. The true divergence is $D_{\mathrm{KL}}(P\Vert Q) = \tfrac12$. Evaluate the variational
objective $J(T) = \mathbb{E}_P[T(x)] - \mathbb{E}_Q[f^*(T(x))]$ for the (non-optimal) witness
$T(x) = x$: exactly (Gaussian integrals) or by Monte Carlo with $10^5$ samples of each. Return the value
(tolerance 0.015). Is it below $\tfrac12$?""",
    doc="Return J(T) = E_P[T] - E_Q[exp(T - 1)] for T(x) = x, P = N(1,1), Q = N(0,1).",
    hint="Both expectations are of simple functions of a Gaussian: the first is a mean, the second needs "
         "the moment generating function E[e^{aX}] = e^{a^2/2} of X ~ N(0, 1).",
))


@ex.check("equals J(T) for T(x) = x (tolerance 0.015)")
def _(value):
    assert_number(value, BOUND_LINEAR, 0.015, wrong=[
        (0.5, 0.012, "that is D_KL itself, the value of J at the optimal witness T*(x) = x + 1/2; evaluate T(x) = x"),
        (math.exp(-0.5), 0.015, "that is E_Q[f*(T)] only; J = E_P[T] - E_Q[f*(T)]"),
        (1 - math.exp(0.5), 0.015, "sign error in the exponent: E_Q[e^{x-1}] = e^{-1} e^{1/2}"),
    ])


@ex.check("is a lower bound: below D_KL = 1/2")
def _(value):
    if not value < 0.5:
        raise AssertionError(f"your J = {fmt(value)} is not below D_KL(P||Q) = 0.5; every witness gives a lower bound")


# --------------------------------------------------------------------------- 4.3

ex = EXERCISES.add(Exercise(
    id="4.3", kind="sympy", name="js_optimal_witness", variable="u",
    title="The optimal witness of Jensen-Shannon",
    task=r"""For the notes' Jensen-Shannon generator $f(u) = \tfrac12\big(u\log u - (u+1)\log\tfrac{u+1}{2}\big)$,
the optimal witness is $T^* = f'(u)$ evaluated at the ratio $u = p/q$. Return $f'(u)$ as a simplified
sympy expression in `u`. What is its limit as $u \to \infty$, and how does that relate to
$\mathrm{dom}\, f^*$?""",
    doc="Return f'(u) for the notes' JS generator, as a sympy expression in u.",
    hint="sympy.simplify(sympy.diff(f, u)); the result is a log of a ratio, times 1/2.",
))


@ex.check("equals f'(u) of the notes' JS generator")
def _(expr):
    import sympy

    u = symbol("u")
    f = sympy.Rational(1, 2) * (u * sympy.log(u) - (u + 1) * sympy.log((u + 1) / 2))
    assert_sympy_equal(expr, sympy.log(2 * u / (u + 1)) / 2, "u", [0.01, 0.5, 1.0, 3.0, 50.0], wrong=[
        (sympy.log(2 * u / (u + 1)), "that is twice f'(u): the f-GAN paper's JS has no factor 1/2; keep it"),
        (sympy.log(u / (u + 1)), "that is f'(u) of the GAN generator u log u - (u+1) log(u+1)"),
        (1 / (2 * u * (u + 1)), "that is f''(u); differentiate once"),
        (f, "that is f itself; differentiate once"),
    ])


@ex.check("vanishes at u = 1 and tends to log(2)/2 = sup dom f*")
def _(expr):
    from ..helpers import eval_sympy

    at1 = eval_sympy(expr, "u", 1.0)
    if abs(at1) > 1e-10:
        raise AssertionError(f"f'(1) should be 0 (P = Q gives T* = f'(1)), got {at1.real:.6g}")
    big = eval_sympy(expr, "u", 1e15)
    if not abs(big.real - math.log(2) / 2) < 1e-6:
        raise AssertionError(f"as u -> oo, f'(u) should tend to log(2)/2 = {math.log(2) / 2:.6g} (the upper end of "
                             f"dom f*), got {big.real:.6g} at u = 1e15")


# --------------------------------------------------------------------------- 4.4 (derivation)

ex = EXERCISES.add(Exercise(
    id="4.4", kind="sympy", name="tv_optimal_witness", variable="u",
    title="Derivation: the optimal witness of total variation",
    task=r"""Total variation has $f(u) = \tfrac12 |u - 1|$. Derive its optimal witness $T^* = f'(u)$ at
$u = p_X/p_\theta$ (chapter 4), for $u \ne 1$, and return it as a sympy expression in `u`. At $u = 1$ the
derivative does not exist: which values of $T$ attain the supremum there, and are they inside
$\mathrm{dom}\, f^* = [-\tfrac12, \tfrac12]$? What does the shape of $T^*$ tell the generator, which follows
the critic's gradient?""",
    doc="Return f'(u) of f(u) = |u - 1| / 2 (u != 1), as a sympy expression in u.",
    hint="Split u > 0 into u < 1 and u > 1 and differentiate each piece; sympy.sign or sympy.Piecewise can "
         "write the result.",
))


@ex.check("equals f'(u) on both sides of u = 1")
def _(expr):
    import sympy

    u = symbol("u")
    points = [0.05, 0.5, 0.99, 1.01, 2.0, 50.0]
    assert_sympy_equal(expr, sympy.sign(u - 1) / 2, "u", points, wrong=[
        (sympy.sign(u - 1), "that is the derivative of |u - 1|: keep the factor 1/2"),
        ((u - 1) / 2, "that is the derivative of (u - 1)^2 / 4 (or of the inside only): differentiate |u - 1|"),
        (sympy.Abs(u - 1) / 2, "that is f itself; differentiate it"),
        (-sympy.sign(u - 1) / 2, "sign error: f increases for u > 1"),
    ])


@ex.check("stays in dom f* = [-1/2, 1/2] (also where it is evaluated at u = 1)")
def _(expr):
    from ..helpers import eval_sympy

    for x in (1e-6, 0.3, 1.0, 4.0, 1e6):
        v = eval_sympy(expr, "u", x)
        if math.isfinite(v.real) and not -0.5 - 1e-12 <= v.real <= 0.5 + 1e-12:
            raise AssertionError(f"T*({x:g}) = {v.real:.6g} is outside dom f* = [-1/2, 1/2]")
