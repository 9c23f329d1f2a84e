"""Chapter 2: the sample-based computation problem, the law of large numbers."""
from __future__ import annotations

import math

import torch

from ..core import Exercise, register
from ..helpers import as_number, as_tensor, assert_close, assert_number, call, describe, fmt

# --------------------------------------------------------------------------- 2.1

ex = register(Exercise(
    id="2.1", kind="function", name="lln_estimate", signature="(h, x)",
    title="The law-of-large-numbers estimator and its standard error",
    task=r"""Write `lln_estimate(h, x)`: given samples `x` (a tensor whose first dimension indexes the
$n$ samples $x_1, \dots, x_n$) and a function `h` mapping that tensor to the $n$ values
$h(x_1), \dots, h(x_n)$, return the pair `(mean, stderr)`: the estimate
$\frac1n \sum_i h(x_i)$ of $\mathbb{E}[h(X)]$ and its standard error $s / \sqrt{n}$, where $s$ is the
sample standard deviation of the $h(x_i)$ (`torch.std`). Both as 0-dim tensors (or floats).""",
    doc="Return (mean, stderr): the average of h(x_i) and its standard error std(h(x_i)) / sqrt(n).",
    hint="Evaluate h once on all samples; the mean and torch.std of those n values give both numbers.",
))


def _pair(out, what):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"{what} should return a pair (mean, stderr), got {describe(out)}")
    return (as_number(out[0], what=f"{what}[0] (the mean)"), as_number(out[1], what=f"{what}[1] (the stderr)"))


def _samples(n, shape=(), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n,) + shape, generator=g, dtype=torch.float64) * 2 + 1


@ex.check("returns (mean, stderr); the mean is the average of h over the samples")
def _(fn):
    x = _samples(1000)
    mean, _ = _pair(call(fn, lambda s: s ** 2, x), "lln_estimate(h, x)")
    exp = (x ** 2).mean().item()
    if abs(mean - x.mean().item()) < 1e-9:
        raise AssertionError("your mean is the average of the samples x; average h(x) instead")
    if abs(mean - (x ** 2).sum().item()) < 1e-6:
        raise AssertionError("your mean is the sum of h(x_i); divide by n")
    assert_number(mean, exp, 1e-9 + 1e-9 * abs(exp), what="with h(x) = x^2 the mean")


@ex.check("the standard error is std(h(x_i)) / sqrt(n)")
def _(fn):
    for n in (1000, 4000):
        x = _samples(n, seed=n)
        _, se = _pair(call(fn, lambda s: s ** 2, x), "lln_estimate(h, x)")
        vals = x ** 2
        exp = (vals.std() / math.sqrt(n)).item()
        if abs(se - vals.std().item()) < 1e-6 * vals.std().item():
            raise AssertionError(f"n = {n}: your stderr is the standard deviation itself; divide it by sqrt(n)")
        if abs(se - vals.var().item() / n) < 1e-9:
            raise AssertionError(f"n = {n}: your stderr is var / n; take the square root: std / sqrt(n)")
        assert_number(se, exp, 2e-3 * exp, what=f"n = {n}, h(x) = x^2: the stderr")


@ex.check("works for samples of shape (n, 2) and any h")
def _(fn):
    x = _samples(500, (2,), seed=3)
    mean, se = _pair(call(fn, lambda s: s.norm(dim=1), x), "lln_estimate(h, x) with x of shape (500, 2)")
    vals = x.norm(dim=1)
    assert_number(mean, vals.mean().item(), 1e-9, what="with h(x) = |x| the mean")
    assert_number(se, (vals.std() / math.sqrt(500)).item(), 2e-3 * (vals.std() / math.sqrt(500)).item(),
                  what="with h(x) = |x| the stderr")


# --------------------------------------------------------------------------- 2.2

ex = register(Exercise(
    id="2.2", kind="number", name="second_moment_mc", tolerance=0.25,
    title="Monte Carlo estimate of E[X^2] for X ~ N(1, 2^2)",
    task=r"""Let $X \sim \mathcal{N}(1, 2^2)$ (mean 1, standard deviation 2). Draw $n = 10\,000$ samples
with a seeded `torch.Generator` and return the Monte Carlo estimate $\frac1n\sum_i x_i^2$ of
$\mathbb{E}[X^2]$ as a float. It is accepted within $0.25$ (about 3.5 standard errors) of the exact value:
which is it? (Hint: $\mathbb{E}[X^2] = \mathrm{Var}[X] + \mathbb{E}[X]^2$.)""",
    doc="Return the Monte Carlo estimate of E[X^2], X ~ N(1, 2^2), from 10 000 seeded samples.",
    hint="A N(1, 2^2) sample is 1 + 2 * (a standard normal sample); torch.randn takes generator=...",
))


@ex.check("is within 0.25 of E[X^2]")
def _(value):
    assert_number(value, 5.0, 0.25, wrong=[
        (3.0, 0.25, "that is E[X^2] for variance 2; N(1, 2^2) has standard deviation 2 (variance 4)"),
        (17.0, 1.5, "that is E[X^2] for standard deviation 4: torch.normal(mean, std) takes the standard "
                    "deviation, 2 here"),
        (1.0, 0.25, "that is E[X]; square the samples before averaging"),
        (2.0, 0.25, "that is E[X^2] for N(1, 1)"),
    ])


# --------------------------------------------------------------------------- 2.3

ex = register(Exercise(
    id="2.3", kind="function", name="mc_f_divergence", signature="(f, log_p, log_q, x_q)",
    title="Monte Carlo f-divergence when both densities are known",
    task=r"""When both densities *can* be evaluated, $D_f(P \Vert Q) = \mathbb{E}_{x \sim Q}\big[f(p(x)/q(x))\big]$
is an expectation under $Q$ and the law of large numbers estimates it. Write
`mc_f_divergence(f, log_p, log_q, x_q)`: `f` is the generator (a function of a tensor $u > 0$), `log_p`
and `log_q` map a tensor of points to their log-densities, `x_q` holds samples from $Q$ (first dimension:
the samples). Return the estimate as a 0-dim tensor. (This is exactly what a GAN cannot do: it has
neither density.)""",
    doc="Estimate D_f(P||Q) = E_Q[f(p(x)/q(x))] from samples x_q of Q; log_p, log_q give log-densities.\n"
        "Return a 0-dim tensor.",
    hint="The ratio p/q at the samples is exp(log p - log q); average f of it over the samples of Q.",
))


def _normal_logpdf(mu, sigma=1.0):
    def logpdf(x):
        return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    return logpdf


def _kl_f(u):
    return torch.xlogy(u, u)


def _pearson_f(u):
    return (u - 1) ** 2


def _mcf_call(fn, f, lp, lq, x, what):
    out = call(fn, f, lp, lq, x)
    return as_tensor(out, (), what=what, numel_one_ok=True).reshape(())


@ex.check("KL(N(1,1) || N(0,1)) from 10 000 samples of Q")
def _(fn):
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lp, lq = _normal_logpdf(1.0), _normal_logpdf(0.0)
    got = _mcf_call(fn, _kl_f, lp, lq, x, "mc_f_divergence(f=u log u, ...)")
    exp = _kl_f(torch.exp(lp(x) - lq(x))).mean()
    flipped = _kl_f(torch.exp(lq(x) - lp(x))).mean()
    if torch.isnan(got):
        raise AssertionError("got nan: f must be evaluated at the ratio p/q = exp(log p - log q) > 0, "
                             "not at the log-ratio")
    if abs(got.item() - flipped.item()) < 1e-6:
        raise AssertionError(f"got {fmt(got)}: you used the ratio q/p; D_f(P||Q) = E_Q[f(p/q)]")
    assert_close(got, exp, rtol=1e-6, what="samples x ~ N(0,1), P = N(1,1), f(u) = u log u: ")
    if abs(got.item() - 0.5) > 0.1:
        raise AssertionError(f"got {fmt(got)}, far from the exact KL = 0.5")


@ex.check("Pearson chi^2 on 2-D samples (x of shape (n, 2))")
def _(fn):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5000, 2, generator=g, dtype=torch.float64) * 1.5

    def lq(z):
        return (-0.5 * (z / 1.5) ** 2 - math.log(1.5) - 0.5 * math.log(2 * math.pi)).sum(dim=1)

    def lp(z):
        return (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(dim=1)

    got = _mcf_call(fn, _pearson_f, lp, lq, x, "mc_f_divergence(f=(u-1)^2, ...) on (5000, 2) samples")
    exp = _pearson_f(torch.exp(lp(x) - lq(x))).mean()
    assert_close(got, exp, rtol=1e-6, what="x ~ N(0, 1.5^2 I), P = N(0, I), f(u) = (u-1)^2: ")
