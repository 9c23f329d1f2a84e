"""Chapter 8: the classifier-guided view of the GAN."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_close, assert_number, assert_sympy_equal, call, fmt, symbol
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 8.1

ex = EXERCISES.add(Exercise(
    id="8.1", kind="function", name="optimal_discriminator", signature="(log_p, log_q)",
    title="The optimal discriminator D* = p / (p + q), stably",
    task=r"""For a fixed generator, the discriminator maximising $J_{\mathrm{GAN}}$ is
$D^*(x) = \frac{p_X(x)}{p_X(x) + p_\theta(x)}$ (maximise $p \log D + q \log(1-D)$ pointwise). Write
`optimal_discriminator(log_p, log_q)` returning $D^*$ elementwise from log-densities (tensors of the same
shape). It must work where the densities underflow ($\log p = -1000$) and where one of them is zero
($\log p = -\infty$).""",
    doc="D*(x) = p/(p+q) from log-densities, elementwise; stable for tiny densities and log p = -inf.",
    hint="Divide numerator and denominator by p: D* depends on the densities only through log p - log q. "
         "Which torch function maps a log-ratio to (0, 1) without overflow?",
))


def _d_call(fn, lp, lq):
    out = call(fn, lp, lq)
    return as_tensor(out, tuple(lp.shape), what=f"optimal_discriminator(log_p, log_q) for inputs of shape "
                                                f"{tuple(lp.shape)}")


@ex.check("values for moderate densities, any shape; D* = 1/2 where p = q")
def _(fn):
    g = torch.Generator().manual_seed(0)
    for shape in ((6,), (2, 4)):
        lp = torch.randn(shape, generator=g, dtype=torch.float64) - 2
        lq = torch.randn(shape, generator=g, dtype=torch.float64) - 2
        got = _d_call(fn, lp, lq)
        if torch.allclose(got, torch.sigmoid(lq - lp), atol=1e-9):
            raise AssertionError("you return q/(p+q): D* is the probability that x is real, p/(p+q)")
        assert_close(got, torch.sigmoid(lp - lq), lp - lq, name="log p - log q", rtol=1e-7, atol=1e-12)
    same = torch.tensor([-3.0, 0.0, 2.0], dtype=torch.float64)
    assert_close(_d_call(fn, same, same), torch.full((3,), 0.5, dtype=torch.float64), what="p = q: ")


@ex.check("tiny densities (log p = -1000, log q = -1001): no 0/0")
def _(fn):
    lp = torch.tensor([-1000.0, -1001.0, -1000.0], dtype=torch.float64)
    lq = torch.tensor([-1001.0, -1000.0, -1000.0], dtype=torch.float64)
    got = _d_call(fn, lp, lq)
    if torch.isnan(got).any():
        raise AssertionError(f"log p = {fmt(lp)}, log q = {fmt(lq)}: got {fmt(got)}; exp(-1000) is 0 in floating "
                             "point and 0/0 is nan: stay in log space")
    assert_close(got, torch.sigmoid(lp - lq), lp - lq, name="log p - log q", rtol=1e-7)


@ex.check("one density zero: D* = 0 where p = 0, 1 where q = 0")
def _(fn):
    lp = torch.tensor([-math.inf, -2.0, -800.0], dtype=torch.float64)
    lq = torch.tensor([-2.0, -math.inf, 800.0], dtype=torch.float64)
    got = _d_call(fn, lp, lq)
    assert_close(got, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), [
        "log p = -inf, log q = -2", "log p = -2, log q = -inf", "log p = -800, log q = 800"], atol=1e-12)


# --------------------------------------------------------------------------- 8.2

P82 = [0.5, 0.3, 0.2]
Q82 = [0.2, 0.3, 0.5]


def _js(p, q):
    def kl(a, b):
        return sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)
    m = [(x + y) / 2 for x, y in zip(p, q)]
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


JS82 = _js(P82, Q82)
GAN_OPT_82 = sum(p * math.log(p / (p + q)) + q * math.log(q / (p + q)) for p, q in zip(P82, Q82))

ex = EXERCISES.add(Exercise(
    id="8.2", kind="number", name="gan_value_at_optimum", tolerance=1e-4,
    title="The GAN objective at the optimal discriminator",
    task=r"""Let $P_X = (0.5, 0.3, 0.2)$ and $P_\theta = (0.2, 0.3, 0.5)$ on three points. Plug the optimal
discriminator $D^* = p/(p+q)$ into $J_{\mathrm{GAN}} = \sum_x p(x)\log D^*(x) + q(x) \log(1 - D^*(x))$ and
return $\max_D J_{\mathrm{GAN}}$ (tolerance $10^{-4}$). Check that it equals
$2 D_{\mathrm{JS}}(P_X \Vert P_\theta) - \log 4$: what does the classifier's best log-likelihood measure?""",
    doc="Return max_D J_GAN = sum_x p log(p/(p+q)) + q log(q/(p+q)) for P = (0.5, 0.3, 0.2), Q = (0.2, 0.3, 0.5).",
    hint="J(D*) = sum p log(p/(p+q)) + q log(q/(p+q)); it is negative: log 4 is subtracted from 2 D_JS.",
))


@ex.check("equals max_D J_GAN = 2 D_JS - log 4")
def _(value):
    assert_number(value, GAN_OPT_82, 1e-4, wrong=[
        (JS82, 1e-4, "that is D_JS(P||Q); the objective at D* is 2 D_JS - log 4"),
        (2 * JS82, 1e-4, "that is 2 D_JS; J_GAN at D* also contains the constant -log 4"),
        (-math.log(4), 1e-4, "that is J at D = 1/2 (or with P = Q); use the given P and Q"),
        (-GAN_OPT_82, 1e-4, "sign: the log-likelihoods are negative, so J_GAN <= 0"),
    ])


# --------------------------------------------------------------------------- 8.3

PHI1 = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
TV83 = 2 * PHI1 - 1

ex = EXERCISES.add(Exercise(
    id="8.3", kind="number", name="tv_from_accuracy", tolerance=0.02,
    title="Total variation from the best classifier's accuracy",
    task=r"""Real samples come from $P = \mathcal{N}(1, 1)$, generated ones from $Q = \mathcal{N}(-1, 1)$, half and
half. The best classifier predicts "real" where $p > q$; its accuracy is
$\mathrm{acc}^* = \tfrac12\big(1 + D_{\mathrm{TV}}(P, Q)\big)$ with
$D_{\mathrm{TV}} = \tfrac12\int|p - q|$ (the $f(u) = \tfrac12|u-1|$ divergence). Compute $\mathrm{acc}^*$ (exactly
with `math.erf`, or by training a logistic regression on samples) and return $D_{\mathrm{TV}}(P, Q)$
(tolerance 0.02).""",
    doc="Return D_TV(N(1,1), N(-1,1)) = 2 acc* - 1, acc* the Bayes accuracy of real-vs-generated.",
    hint="The best rule says 'real' where p > q: where is that for these two Gaussians? The accuracy is "
         "then a probability of a half-line under one of them (the normal CDF, torch.special.ndtr).",
))


@ex.check("equals D_TV = 2 acc* - 1 (tolerance 0.02)")
def _(value):
    assert_number(value, TV83, 0.02, wrong=[
        (PHI1, 0.02, "that is the accuracy acc* itself; D_TV = 2 acc* - 1"),
        (2 * TV83, 0.04, "that is the integral of |p - q| without the factor 1/2"),
        (0.5, 0.02, "0.5 is a chance-level accuracy; the best classifier does better"),
    ])


@ex.check("is a total variation: in [0, 1]")
def _(value):
    if not 0 <= value <= 1:
        raise AssertionError(f"D_TV = {fmt(value)} must lie in [0, 1]")


# --------------------------------------------------------------------------- 8.4 (derivation)

ex = EXERCISES.add(Exercise(
    id="8.4", kind="sympy", name="optimal_discriminator_ratio", variable="u",
    title="Derivation: the optimal discriminator",
    task=r"""Exercise 8.1 took $D^* = p/(p+q)$ as given; derive it. For fixed densities, $J_{\mathrm{GAN}}$ is the
integral of $p \log D + q \log(1 - D)$ over $x$, so it is maximised pointwise: for numbers $p, q > 0$ find the
$D \in (0, 1)$ that maximises $\phi(D) = p \log D + q \log(1 - D)$ (is the stationary point a maximum?).
Return $D^*$ as a sympy expression in the ratio `u` $= p/q$. What is $D^*$ where $P_\theta = P_X$?""",
    doc="Return the maximiser of p log D + q log(1 - D) over D in (0, 1), as a sympy expression in u = p/q.",
    hint="Set phi'(D) = 0 and solve for D; then divide numerator and denominator by q. phi'' tells whether "
         "it is a maximum.",
))


@ex.check("equals the maximiser of p log D + q log(1 - D), in u = p/q")
def _(expr):
    import sympy

    u = symbol("u")
    assert_sympy_equal(expr, u / (1 + u), "u", [0.01, 0.3, 1.0, 3.0, 100.0], wrong=[
        (1 / (1 + u), "that is q / (p + q), the probability of 'generated': D* is the probability of 'real'"),
        (u, "that is p / q itself; D* must lie in (0, 1)"),
        (u / (1 + u) ** 2, "that is D*(1 - D*), not D*"),
    ])


@ex.check("lies in (0, 1) and is 1/2 where p = q")
def _(expr):
    from ..helpers import eval_sympy

    if abs(eval_sympy(expr, "u", 1.0).real - 0.5) > 1e-10:
        raise AssertionError("where p = q (u = 1) the best discriminator cannot do better than 1/2")
    for x in (1e-6, 0.2, 5.0, 1e6):
        v = eval_sympy(expr, "u", x).real
        if not 0 < v < 1:
            raise AssertionError(f"D*({x:g}) = {v:.6g} is not a probability in (0, 1)")
