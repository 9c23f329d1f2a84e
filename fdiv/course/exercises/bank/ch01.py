"""Chapter 1: f-divergences."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_close, assert_number, assert_sympy_equal, call, fmt, symbol
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 1.1

KL_09_06 = 0.9 * math.log(0.9 / 0.6) + 0.1 * math.log(0.1 / 0.4)
KL_06_09 = 0.6 * math.log(0.6 / 0.9) + 0.4 * math.log(0.4 / 0.1)

ex = EXERCISES.add(Exercise(
    id="1.1", kind="number", name="kl_bernoulli", tolerance=1e-4,
    title="KL divergence between two Bernoulli distributions",
    task=r"""The data distribution is $P_X = \mathrm{Bernoulli}(0.9)$ and the model is
$P_\theta = \mathrm{Bernoulli}(0.6)$. Compute $D_{\mathrm{KL}}(P_X \Vert P_\theta)$ in nats (natural
logarithm), either by hand or with a few lines of Python, and return it as a float.""",
    doc="Return D_KL(Bernoulli(0.9) || Bernoulli(0.6)) in nats, as a float.",
    hint="D_KL(P||Q) = sum_x p(x) log(p(x)/q(x)): the data P weights the log-ratio; x takes the values 1 and 0.",
))


@ex.check("is a non-negative number")
def _(value):
    if value < 0:
        raise AssertionError(f"got {fmt(value)}, but a KL divergence is never negative (Jensen's inequality); "
                             "check the signs of the logarithms")


@ex.check("equals D_KL(P || Q) in nats, within 1e-4")
def _(value):
    assert_number(value, KL_09_06, 1e-4, wrong=[
        (KL_06_09, 1e-4, "that is D_KL(Q || P) with the arguments swapped; the first argument (the data P) "
                         "weights the log-ratio"),
        (KL_09_06 / math.log(2), 1e-4, "that is the value in bits (log base 2); use the natural logarithm"),
        (0.9 * math.log(0.9 / 0.6), 1e-4, "you kept only the x = 1 term; add the x = 0 term"),
    ])


# --------------------------------------------------------------------------- 1.2

def js_reference(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    p, q = p.double(), q.double()
    m = (p + q) / 2
    return 0.5 * (torch.xlogy(p, p) - torch.xlogy(p, m)).sum() + 0.5 * (torch.xlogy(q, q) - torch.xlogy(q, m)).sum()


ex = EXERCISES.add(Exercise(
    id="1.2", kind="function", name="js_divergence", signature="(p, q)",
    title="Jensen-Shannon divergence of discrete distributions, zeros included",
    task=r"""Write `js_divergence(p, q)` returning
$D_{\mathrm{JS}}(P \Vert Q) = \tfrac12 D_{\mathrm{KL}}(P \Vert M) + \tfrac12 D_{\mathrm{KL}}(Q \Vert M)$,
$M = \tfrac12(P + Q)$, for two probability vectors `p`, `q` (1-D tensors of the same length, entries
$\ge 0$ summing to 1) as a 0-dim tensor. Entries may be **zero**, in one distribution or in both: use the
convention $0 \log 0 = 0$
(`torch.xlogy` does it), so that two distributions with disjoint supports give exactly $\log 2$, not `nan`.""",
    doc="D_JS(P||Q) = 1/2 KL(P||M) + 1/2 KL(Q||M), M = (P+Q)/2, for probability vectors p, q (zeros allowed).\n"
        "Return a 0-dim tensor.",
    hint="0 log 0 = 0: torch.xlogy(p, p) - torch.xlogy(p, m) is 0 where p is 0, even where m is 0 too "
         "(torch.xlogy(p, p / m) is not: p / m is 0/0 = nan where p and q share a zero).",
))


_ZERO_HINT = "0 * log(0) must count as 0, also where p and q share a zero (there m = 0 too)"


def _js_call(fn, p, q, dtype=None):
    dtype = dtype or torch.float64
    out = call(fn, torch.tensor(p, dtype=dtype), torch.tensor(q, dtype=dtype))
    return as_tensor(out, (), what=f"js_divergence(p={fmt(p)}, q={fmt(q)})", numel_one_ok=True,
                     hint=_ZERO_HINT).reshape(())


@ex.check("returns a 0-dim tensor; D_JS(P || P) = 0")
def _(fn):
    for p in ([0.2, 0.3, 0.5], [0.25, 0.25, 0.25, 0.25]):
        got = _js_call(fn, p, p)
        assert_close(got, torch.tensor(0.0, dtype=torch.float64), atol=1e-9, what=f"p = q = {fmt(p)}: ")


@ex.check("matches the definition on strictly positive distributions")
def _(fn):
    g = torch.Generator().manual_seed(1)
    for n in (2, 3, 5, 8):
        p = torch.rand(n, generator=g, dtype=torch.float64) + 0.05
        q = torch.rand(n, generator=g, dtype=torch.float64) + 0.05
        p, q = (p / p.sum()).tolist(), (q / q.sum()).tolist()
        got = _js_call(fn, p, q)
        exp = js_reference(torch.tensor(p), torch.tensor(q))
        if abs(got.item() - 2 * exp.item()) < 1e-7:
            raise AssertionError(f"p = {fmt(p)}, q = {fmt(q)}: got {fmt(got)} = twice the answer; the notes' D_JS "
                                 "has the factors 1/2 (the f-GAN paper's 'JS' is twice this one)")
        assert_close(got, exp, rtol=1e-6, atol=1e-9, what=f"p = {fmt(p)}, q = {fmt(q)}: ")


@ex.check("disjoint supports give log 2 (no nan)")
def _(fn):
    got = _js_call(fn, [0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5])
    assert_close(got, torch.tensor(math.log(2)), rtol=1e-7, what="p = (0.5, 0.5, 0, 0), q = (0, 0, 0.5, 0.5): ")


@ex.check("partly overlapping supports, symmetric, float32 input")
def _(fn):
    p, q = [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]
    exp = js_reference(torch.tensor(p), torch.tensor(q))
    assert_close(_js_call(fn, p, q), exp, rtol=1e-7, what=f"p = {fmt(p)}, q = {fmt(q)}: ")
    assert_close(_js_call(fn, q, p), exp, rtol=1e-7, what=f"swapped arguments p = {fmt(q)}, q = {fmt(p)}: ")
    assert_close(_js_call(fn, p, q, torch.float32), exp, rtol=1e-5, what="float32 input: ")


@ex.check("a zero shared by p and q counts as 0 (no nan)")
def _(fn):
    for p, q in (([0.5, 0.5, 0.0], [0.25, 0.75, 0.0]), ([0.0, 1.0, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0])):
        exp = js_reference(torch.tensor(p), torch.tensor(q))
        assert_close(_js_call(fn, p, q), exp, rtol=1e-7, atol=1e-12, what=f"p = {fmt(p)}, q = {fmt(q)}: ")


# --------------------------------------------------------------------------- 1.3

def _js_f():
    import sympy

    u = symbol("u")
    return sympy.Rational(1, 2) * (u * sympy.log(u) - (u + 1) * sympy.log((u + 1) / 2))


ex = EXERCISES.add(Exercise(
    id="1.3", kind="sympy", name="js_second_derivative", variable="u",
    title="Convexity of the Jensen-Shannon generator",
    task=r"""The notes' Jensen-Shannon divergence has the generator
$f(u) = \tfrac12\big(u \log u - (u+1)\log\tfrac{u+1}{2}\big)$. Use sympy to compute $f''(u)$, simplify it,
and return the expression (in the symbol `u`). Is it positive for every $u > 0$? What does that say
about $f$?""",
    doc="Return f''(u) for f(u) = 1/2 (u log u - (u+1) log((u+1)/2)), as a sympy expression in u.",
    hint="u = sympy.Symbol('u', positive=True); f = ...; sympy.simplify(sympy.diff(f, u, 2)).",
))


@ex.check("is an expression in u equal to f''(u)")
def _(expr):
    import sympy

    u = symbol("u")
    f = _js_f()
    assert_sympy_equal(expr, 1 / (2 * u * (u + 1)), "u", [0.1, 0.5, 1.0, 2.0, 7.3, 100.0], wrong=[
        (sympy.diff(f, u), "that is f'(u); differentiate twice"),
        (1 / (u * (u + 1)), "that is twice f''(u): keep the factor 1/2 of f"),
        (f, "that is f itself; differentiate twice"),
    ])


@ex.check("is positive on u > 0 (f is convex)")
def _(expr):
    from ..helpers import eval_sympy

    for x in (1e-3, 0.3, 1.0, 10.0, 1e3):
        val = eval_sympy(expr, "u", x).real
        if not val > 0:
            raise AssertionError(f"at u = {fmt(x)} your f''(u) = {fmt(val)} is not positive")


# --------------------------------------------------------------------------- 1.4 (derivation)

ex = EXERCISES.add(Exercise(
    id="1.4", kind="sympy", name="reverse_generator", variable="u",
    title="Derivation: swapping the arguments of D_f",
    task=r"""$D_f(P \Vert Q) = \int q\, f(p/q)$ is not symmetric, but swapping $P$ and $Q$ gives another
$f$-divergence. Show that $D_f(Q \Vert P) = D_{f^\diamond}(P \Vert Q)$ with $f^\diamond(u) = u\, f(1/u)$
(write $\int p\, f(q/p)$ as $\int q \cdot \frac{p}{q} f\big(\frac{q}{p}\big)$), check that $f^\diamond$ is
again convex with $f^\diamond(1) = 0$, and return $f^\diamond(u)$ for the KL generator $f(u) = u \log u$
as a sympy expression in `u`. Which divergence of the library is it?""",
    doc="Return u f(1/u) for f(u) = u log u, as a sympy expression in u.",
    hint="Substitute 1/u into f, multiply by u and simplify; then compare with the generators of "
         "chapter 1's table.",
))


@ex.check("equals u f(1/u) for f(u) = u log u")
def _(expr):
    import sympy

    u = symbol("u")
    assert_sympy_equal(expr, -sympy.log(u), "u", [0.05, 0.5, 1.0, 2.0, 30.0], wrong=[
        (u * sympy.log(u), "that is f itself: substitute 1/u and multiply by u"),
        (-sympy.log(u) / u, "that is f(1/u) without the factor u"),
        (sympy.log(u), "sign error: log(1/u) = -log u"),
    ])


@ex.check("is a generator: 0 at u = 1 and convex on u > 0")
def _(expr):
    from ..helpers import assert_convex_generator

    assert_convex_generator(expr, "u")
