"""Chapter 2: the sample-based computation problem, the law of large numbers."""
from __future__ import annotations

import functools
import math

from ..core import Exercise, ExerciseList
from ..helpers import as_number, as_tensor, assert_close, assert_number, call, describe, fmt, miss
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 2.1

ex = EXERCISES.add(Exercise(
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


def _square(s):
    return s ** 2


def _row_norm(s):
    return s.norm(dim=1)


@ex.check("returns (mean, stderr); the mean is the average of h over the samples")
def _(fn):
    x = _samples(1000)
    mean, _ = _pair(call(fn, _square, x), "lln_estimate(h, x)")
    exp = (x ** 2).mean().item()
    if abs(mean - x.mean().item()) < 1e-9:
        raise AssertionError("your mean is the average of the samples x; average h(x) instead")
    if abs(mean - (x ** 2).sum().item()) < 1e-6:
        raise AssertionError("your mean is the sum of h(x_i); divide by n")
    assert_number(mean, exp, 1e-9 + 1e-9 * abs(exp), what="with h(x) = x^2 the mean")


def _check_stderr(fn, n, seed, rtol):
    x = _samples(n, seed=seed)
    _, se = _pair(call(fn, _square, x), f"lln_estimate(h, x) for n = {n}")
    vals = x ** 2
    exp = (vals.std() / math.sqrt(n)).item()
    if abs(se - vals.std().item()) < 1e-6 * vals.std().item():
        raise AssertionError(f"n = {n}: your stderr is the standard deviation itself; divide it by sqrt(n)")
    if abs(se - vals.var().item() / n) < 1e-9:
        raise AssertionError(f"n = {n}: your stderr is var / n; take the square root: std / sqrt(n)")
    if abs(se - (vals.std(correction=0) / math.sqrt(n)).item()) < 1e-9 * exp:
        raise AssertionError(f"n = {n}: your stderr uses the population standard deviation (dividing by n); "
                             "the sample standard deviation divides by n - 1 (torch.std's default)")
    assert_number(se, exp, rtol * exp, what=f"n = {n}, h(x) = x^2: the stderr")


@ex.check("the standard error is std(h(x_i)) / sqrt(n)")
def _(fn):
    for n in (1000, 4000):
        _check_stderr(fn, n, n, 2e-3)


@ex.check("small samples (n = 5): the sample standard deviation, divided by n - 1")
def _(fn):
    _check_stderr(fn, 5, 11, 1e-6)


@ex.check("works for samples of shape (n, 2) and any h")
def _(fn):
    x = _samples(500, (2,), seed=3)
    mean, se = _pair(call(fn, _row_norm, x), "lln_estimate(h, x) with x of shape (500, 2)")
    vals = x.norm(dim=1)
    assert_number(mean, vals.mean().item(), 1e-9, what="with h(x) = |x| the mean")
    assert_number(se, (vals.std() / math.sqrt(500)).item(), 2e-3 * (vals.std() / math.sqrt(500)).item(),
                  what="with h(x) = |x| the stderr")


# --------------------------------------------------------------------------- 2.2

ex = EXERCISES.add(Exercise(
    id="2.2", kind="function", name="second_moment_mc", signature="(mu, sigma, n, generator)",
    title="Monte Carlo estimate of E[X^2] for X ~ N(mu, sigma^2)",
    task=r"""Let $X \sim \mathcal{N}(\mu, \sigma^2)$ (mean $\mu$, standard deviation $\sigma$). Write
`second_moment_mc(mu, sigma, n, generator)`: draw $n$ samples $x_1, \dots, x_n$ of $X$ with the given
`torch.Generator` and return the Monte Carlo estimate $\frac1n\sum_i x_i^2$ of $\mathbb{E}[X^2]$ as a float.
The checks run it on their own $\mu$, $\sigma$, $n$ and seeds: the estimates must scatter around the exact
value as much as a Monte Carlo estimate does (what is the exact value? Hint:
$\mathbb{E}[X^2] = \mathrm{Var}[X] + \mathbb{E}[X]^2$), and the same seed must give the same estimate.""",
    doc="Return the Monte Carlo estimate (1/n) sum x_i^2 of E[X^2], X ~ N(mu, sigma^2), from n samples\n"
        "drawn with `generator`.",
    hint="A N(mu, sigma^2) sample is mu + sigma * (a standard normal sample); torch.randn takes generator=...",
))


def _moment_estimate(fn, mu, sigma, n, seed):
    what = f"second_moment_mc({fmt(mu)}, {fmt(sigma)}, {n}, generator)"
    return as_number(call(fn, mu, sigma, n, torch.Generator().manual_seed(seed)), what=what)


def _moment_se(mu, sigma, n):
    """Standard error of the mean of X^2: Var[X^2] = 2 sigma^4 + 4 mu^2 sigma^2 for X ~ N(mu, sigma^2)."""
    return math.sqrt((2 * sigma ** 4 + 4 * mu ** 2 * sigma ** 2) / n)


@ex.check("close to E[X^2] for several (mu, sigma), n = 20 000")
def _(fn):
    n = 20_000
    for mu, sigma, seed in ((1.0, 2.0, 0), (-0.5, 0.3, 1), (3.0, 1.0, 2)):
        value = _moment_estimate(fn, mu, sigma, n, seed)
        exact, tol = mu ** 2 + sigma ** 2, 5 * _moment_se(mu, sigma, n)
        assert_number(value, exact, tol, what=f"mu = {fmt(mu)}, sigma = {fmt(sigma)}: your estimate", wrong=[
            (mu ** 2 + sigma, tol, "that is mu^2 + sigma: sigma is the standard deviation, the variance is "
                                   "sigma^2 (torch.normal(mean, std) takes the standard deviation)"),
            (mu, tol, "that is E[X]; square the samples before averaging"),
            (sigma ** 2, tol, "that is Var[X]; E[X^2] = Var[X] + E[X]^2"),
        ])


@ex.check("uses the generator: the same seed gives the same estimate, another seed another one")
def _(fn):
    a, b, c = (_moment_estimate(fn, 1.0, 2.0, 1000, seed) for seed in (7, 7, 8))
    if a != b:
        raise AssertionError("two generators with the same seed gave different estimates: pass "
                             "generator=generator to torch.randn")
    if a == c:
        raise AssertionError("generators with different seeds gave the same estimate: draw the samples "
                             "(a Monte Carlo estimate varies with them)")


@ex.check("scatters like a Monte Carlo estimate (200 seeds, n = 50)")
def _(fn):
    mu, sigma, n = 1.0, 2.0, 50
    vals = torch.tensor([_moment_estimate(fn, mu, sigma, n, 100 + s) for s in range(200)], dtype=torch.float64)
    se = _moment_se(mu, sigma, n)
    spread, centre = vals.std().item(), vals.mean().item()
    if not 0.7 * se <= spread <= 1.35 * se:
        raise AssertionError(f"over 200 seeds your estimates have a standard deviation of {fmt(spread)}: that is "
                             f"{miss(spread, se)} of a Monte Carlo average of {n} samples")
    if abs(centre - (mu ** 2 + sigma ** 2)) > 5 * se / math.sqrt(200):
        raise AssertionError(f"over 200 seeds the average of your estimates is {miss(centre, mu ** 2 + sigma ** 2)}"
                             ": the estimate is biased")


# --------------------------------------------------------------------------- 2.3

ex = EXERCISES.add(Exercise(
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


def _normal_logpdf(x, mu=0.0, sigma=1.0):
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


def _wide_logpdf_2d(z):
    return (-0.5 * (z / 1.5) ** 2 - math.log(1.5) - 0.5 * math.log(2 * math.pi)).sum(dim=1)


def _std_logpdf_2d(z):
    return (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).sum(dim=1)


def _kl_f(u):
    return torch.xlogy(u, u)


def _pearson_f(u):
    return (u - 1) ** 2


def _mcf_call(fn, f, lp, lq, x, what):
    out = call(fn, f, lp, lq, x)
    return as_tensor(out, (), what=what, numel_one_ok=True, hint="f must be evaluated at the ratio "
                     "p/q = exp(log p - log q) > 0, not at the log-ratio").reshape(())


@ex.check("KL(N(1,1) || N(0,1)) from 10 000 samples of Q")
def _(fn):
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    lp, lq = functools.partial(_normal_logpdf, mu=1.0), _normal_logpdf
    got = _mcf_call(fn, _kl_f, lp, lq, x, "mc_f_divergence(f=u log u, ...)")
    exp = _kl_f(torch.exp(lp(x) - lq(x))).mean()
    flipped = _kl_f(torch.exp(lq(x) - lp(x))).mean()
    if abs(got.item() - flipped.item()) < 1e-6:
        raise AssertionError(f"got {fmt(got)}: you used the ratio q/p; D_f(P||Q) = E_Q[f(p/q)]")
    assert_close(got, exp, rtol=1e-6, what="samples x ~ N(0,1), P = N(1,1), f(u) = u log u: ")
    if abs(got.item() - 0.5) > 0.1:
        raise AssertionError(f"got {fmt(got)}, far from the exact KL = 0.5")


@ex.check("Pearson chi^2 on 2-D samples (x of shape (n, 2))")
def _(fn):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5000, 2, generator=g, dtype=torch.float64) * 1.5
    lp, lq = _std_logpdf_2d, _wide_logpdf_2d
    got = _mcf_call(fn, _pearson_f, lp, lq, x, "mc_f_divergence(f=(u-1)^2, ...) on (5000, 2) samples")
    exp = _pearson_f(torch.exp(lp(x) - lq(x))).mean()
    assert_close(got, exp, rtol=1e-6, what="x ~ N(0, 1.5^2 I), P = N(0, I), f(u) = (u-1)^2: ")
