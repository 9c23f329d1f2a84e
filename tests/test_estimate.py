"""Tests of fdiv/estimate.py: exact (discrete, quadrature, closed form), Monte Carlo and variational values.

Parametrised over ``fdiv.names()`` where it makes sense, so a newly registered divergence is checked
automatically (parameterised families need an entry in ``FAMILY_PARAMS``).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.distributions as td
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate as sci_integrate
from scipy import stats

import fdiv
from fdiv.core import estimate as E

FAMILY_PARAMS = {"alpha": [{"alpha": 0.5}, {"alpha": 2.0}, {"alpha": -1.0}]}


def _all_divergences():
    out = []
    for name in fdiv.names():
        for kw in FAMILY_PARAMS.get(name, [{}]):
            label = name + "".join(f"-{k}={v:g}" for k, v in kw.items())
            try:
                d = fdiv.get(name, **kw)
            except ValueError as exc:  # a new parameterised family: add it to FAMILY_PARAMS
                out.append(pytest.param(None, id=label, marks=pytest.mark.skip(reason=f"no parameters known: {exc}")))
                continue
            out.append(pytest.param(d, id=label))
    return out


ALL = _all_divergences()


def _infinite_here(d) -> bool:
    """Q wider than P: int q^2/p diverges, so Neyman chi^2 and the alpha < 0 members are +inf."""
    return d.name == "neyman" or (d.name == "alpha" and d.alpha < 0)


def N(m, s):
    return td.Normal(torch.tensor(float(m), dtype=torch.float64), torch.tensor(float(s), dtype=torch.float64))


def mixture(w, m, s):
    return td.MixtureSameFamily(td.Categorical(probs=torch.tensor(w)), td.Normal(torch.tensor(m), torch.tensor(s)))


def f_one(d) -> float:
    return float(d.f(torch.tensor(1.0, dtype=torch.float64)))


# --------------------------------------------------------------------------------------------
# discrete
# --------------------------------------------------------------------------------------------
def test_bernoulli_example_of_the_notes():
    kl = fdiv.get("kl")
    forward = E.discrete(kl, [0.7, 0.3], [0.5, 0.5])
    backward = E.discrete(kl, [0.5, 0.5], [0.7, 0.3])
    assert isinstance(forward, float)
    assert forward == pytest.approx(0.0823, abs=1e-3)
    assert backward == pytest.approx(0.0872, abs=1e-3)
    assert forward == pytest.approx(0.7 * math.log(0.7 / 0.5) + 0.3 * math.log(0.3 / 0.5), rel=1e-12)
    # reverse KL is KL with the arguments swapped; the string name works too
    assert E.discrete("reverse_kl", [0.7, 0.3], [0.5, 0.5]) == pytest.approx(backward, rel=1e-12)


def test_discrete_accepts_lists_numpy_and_tensors():
    p, q = [0.2, 0.5, 0.3], [0.4, 0.4, 0.2]
    ref = E.discrete("js", p, q)
    assert E.discrete("js", np.array(p), np.array(q)) == pytest.approx(ref, rel=1e-12)
    assert E.discrete("js", torch.tensor(p, dtype=torch.float64), torch.tensor(q)) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize(
    "name, p, q, expected",
    [
        ("kl", [0.5, 0.5], [1.0, 0.0], math.inf),  # q_i = 0 < p_i: p_i * lim f(u)/u = inf
        ("reverse_kl", [1.0, 0.0], [0.5, 0.5], math.inf),  # p_i = 0 < q_i: q_i f(0) = inf
        ("kl", [1.0, 0.0], [0.5, 0.5], math.log(2.0)),  # p_i = 0: q_i f(0) = 0
        ("total_variation", [1.0, 0.0], [0.0, 1.0], 1.0),
        ("js", [1.0, 0.0], [0.0, 1.0], math.log(2.0)),  # disjoint supports: exactly log 2
        ("js", [0.3, 0.7, 0.0], [0.0, 0.0, 1.0], math.log(2.0)),
        ("squared_hellinger", [1.0, 0.0], [0.0, 1.0], 2.0),
        ("gan", [1.0, 0.0], [0.0, 1.0], 0.0),  # 2 JS - log 4
        ("pearson", [0.5, 0.5], [1.0, 0.0], math.inf),
        ("neyman", [0.5, 0.5], [1.0, 0.0], (1 - 0.5) ** 2 / 0.5 + 0.5 * 1.0),  # q f(1/2) + p * slope 1
    ],
)
def test_discrete_zero_conventions(name, p, q, expected):
    got = E.discrete(name, p, q)
    if math.isinf(expected):
        assert got == math.inf
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("d", ALL)
def test_discrete_zero_conventions_match_the_limits(d):
    """The p_i = 0 and q_i = 0 terms are the limits of the perspective q f(p/q)."""
    f0, slope = float(d.f_at_zero), float(d.f_slope_inf)
    # f_at_zero and f_slope_inf agree with f itself (infinite limits: f keeps growing, maybe only like log)
    def f(u):
        return float(d.f(torch.tensor(u, dtype=torch.float64)))

    if math.isinf(f0):
        assert f(1e-100) > f(1e-50) + 1.0 > f(1e-25) + 2.0
    else:
        assert f(1e-12) == pytest.approx(f0, abs=1e-4)
    if math.isinf(slope):
        assert f(1e100) / 1e100 > f(1e50) / 1e50 + 1.0 > f(1e25) / 1e25 + 2.0
    else:
        assert f(1e12) / 1e12 == pytest.approx(slope, abs=1e-4)
    # the conventions themselves
    p, q = [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]
    base = 0.5 * float(d.f(torch.tensor(2.0, dtype=torch.float64)))
    got = E.discrete(d, p, q)
    assert got == (math.inf if math.isinf(f0) else pytest.approx(base + 0.5 * f0, rel=1e-10, abs=1e-12))
    got = E.discrete(d, q, p)  # now p_3 = 0.5 > 0 = q_3
    base = float(d.f(torch.tensor(0.5, dtype=torch.float64)))  # two terms 0.5 f(0.5)
    assert got == (math.inf if math.isinf(slope) else pytest.approx(base + 0.5 * slope, rel=1e-10, abs=1e-12))
    # 0 f(0/0) = 0: an impossible outcome under both changes nothing
    padded = E.discrete(d, [0.3, 0.7, 0.0], [0.6, 0.4, 0.0])
    assert padded == pytest.approx(E.discrete(d, [0.3, 0.7], [0.6, 0.4]), rel=1e-12)


@pytest.mark.parametrize("d", ALL)
def test_discrete_identity_and_jensen(d):
    rng = np.random.default_rng(0)
    for _ in range(5):
        p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
        assert E.discrete(d, p, p) == pytest.approx(f_one(d), abs=1e-12)
        assert E.discrete(d, p, q) >= f_one(d) - 1e-12  # Jensen: D_f >= f(1) (= 0 for a divergence)


@settings(deadline=None, max_examples=40)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8), st.data())
def test_discrete_kl_matches_scipy(weights, data):
    p = np.asarray(weights) / np.sum(weights)
    other = data.draw(st.lists(st.floats(0.01, 1.0), min_size=len(p), max_size=len(p)))
    q = np.asarray(other) / np.sum(other)
    assert E.discrete("kl", p, q) == pytest.approx(stats.entropy(p, q), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "p, q, words",
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], ["p[1]", "-0.1", ">= 0"]),
        ([0.5, 0.6], [0.5, 0.5], ["p sums to", "1.1"]),
        ([0.5, 0.5], [0.2, 0.2, 0.6], ["(2,)", "(3,)"]),
        ([[0.5, 0.5]], [[0.5, 0.5]], ["1-D", "(1, 2)"]),
        ([0.5, float("nan")], [0.5, 0.5], ["p[1]", "nan"]),
        ([0.5, 0.5], [0.5, 0.3], ["q sums to", "0.8"]),
    ],
)
def test_discrete_bad_input_names_the_value(p, q, words):
    with pytest.raises(ValueError) as info:
        E.discrete("kl", p, q)
    for word in words:
        assert word in str(info.value)


def test_unknown_divergence_name_is_a_value_error():
    with pytest.raises(ValueError, match="kl"):
        E.discrete("no_such_divergence", [1.0], [1.0])


# --------------------------------------------------------------------------------------------
# quadrature and closed forms
# --------------------------------------------------------------------------------------------
PAIRS = [((0, 1), (1, 1)), ((0, 1), (0.5, 1.5)), ((0.3, 0.7), (-1, 2)), ((0, 1), (0, 0.8)), ((0, 0.05), (0.1, 1))]
CLOSED = ["kl", "reverse_kl", "jeffrey", "pearson", "neyman", "squared_hellinger", "total_variation",
          ("alpha", 0.5), ("alpha", 2.0), ("alpha", -1.0), ("alpha", 1.5)]


def _get(spec):
    return fdiv.get(spec[0], alpha=spec[1]) if isinstance(spec, tuple) else fdiv.get(spec)


@pytest.mark.parametrize("spec", CLOSED, ids=str)
@pytest.mark.parametrize("pq", PAIRS, ids=str)
def test_integrate_matches_closed_forms(spec, pq):
    d = _get(spec)
    P, Q = N(*pq[0]), N(*pq[1])
    exact = E.closed_form(d, P, Q)
    got = E.integrate(d, P, Q)
    if math.isinf(exact):
        assert got == math.inf
    else:
        assert got == pytest.approx(exact, rel=1e-6, abs=1e-10)


def test_closed_forms_against_torch_and_known_values():
    P, Q = N(0, 1), N(1, 2)
    assert E.closed_form("kl", P, Q) == pytest.approx(E.kl_normal(P, Q), rel=1e-12)
    assert E.closed_form("reverse_kl", P, Q) == pytest.approx(E.kl_normal(Q, P), rel=1e-12)
    assert E.closed_form("kl", N(0, 1), N(1, 1)) == pytest.approx(0.5, rel=1e-12)
    assert E.closed_form("pearson", N(0, 1), N(1, 1)) == pytest.approx(math.e - 1, rel=1e-12)
    assert E.closed_form("pearson", N(0, 1), N(0, 0.7)) == math.inf  # needs 2 s_q^2 > s_p^2
    assert E.closed_form("total_variation", N(0, 1), N(1, 1)) == pytest.approx(2 * stats.norm.cdf(0.5) - 1, rel=1e-12)
    with pytest.raises(NotImplementedError, match="kl, reverse_kl"):
        E.closed_form("js", P, Q)
    with pytest.raises(NotImplementedError, match="Normal"):
        E.closed_form("kl", td.Laplace(0.0, 1.0), Q)


def _reference(d, p_pdf, q_pdf, lo, hi, n=400_001):
    """Independent reference: scipy densities, composite Simpson's rule on a fine grid, d.f directly."""
    x = np.linspace(lo, hi, n)
    p, q = p_pdf(x), q_pdf(x)
    g = q * d.f(torch.from_numpy(p / q)).numpy()
    return sci_integrate.simpson(g, x=x)


@pytest.mark.parametrize("d", ALL)
def test_integrate_mixture_against_scipy(d):
    w, m, s = [0.3, 0.7], [-2.0, 1.5], [0.5, 1.0]
    P = mixture(w, m, s)
    Q = N(0.5, 1.2)  # 1/2 < s_q^2 < 2: Pearson and Neyman chi^2 are both finite

    def p_pdf(x):
        return sum(wi * stats.norm.pdf(x, mi, si) for wi, mi, si in zip(w, m, s))

    got = E.integrate(d, P, Q)
    ref = _reference(d, p_pdf, lambda x: stats.norm.pdf(x, 0.5, 1.2), -25, 25)
    assert got == pytest.approx(ref, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("d", ALL)
def test_integrate_identity_and_jensen(d):
    P = mixture([0.5, 0.5], [-1.0, 2.0], [0.5, 0.7])
    assert E.integrate(d, P, P) == pytest.approx(f_one(d), abs=1e-9)
    Q = N(0.5, 1.5)
    assert E.integrate(d, P, Q) >= f_one(d) - 1e-9


@pytest.mark.parametrize("name", ["kl", "js", "total_variation"])
def test_dual_swaps_the_arguments(name):
    dual = fdiv.dual(name)
    p, q = [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]
    assert E.discrete(dual, p, q) == pytest.approx(E.discrete(name, q, p), rel=1e-9)
    P, Q = N(0, 1), N(0.5, 1.5)
    assert E.integrate(dual, P, Q) == pytest.approx(E.integrate(name, Q, P), rel=1e-8)


def test_integrate_uniform_supports():
    U01 = td.Uniform(torch.tensor(0.0), torch.tensor(1.0))
    far = td.Uniform(torch.tensor(2.0), torch.tensor(3.0))
    wide = td.Uniform(torch.tensor(-1.0), torch.tensor(3.0))
    assert E.integrate("kl", U01, wide) == pytest.approx(math.log(4.0), rel=1e-9)
    assert E.integrate("kl", wide, U01) == math.inf  # P has mass where Q has none
    assert E.integrate("reverse_kl", U01, wide) == math.inf
    assert E.integrate("js", U01, far) == pytest.approx(math.log(2.0), rel=1e-9)
    assert E.integrate("total_variation", U01, far) == pytest.approx(1.0, rel=1e-9)
    overlap = td.Uniform(torch.tensor(0.5), torch.tensor(2.0))
    assert E.integrate("total_variation", U01, overlap) == pytest.approx(2 / 3, rel=1e-9)


def test_integrate_other_families_and_heavy_tails():
    L1, L2 = td.Laplace(torch.tensor(0.0), torch.tensor(1.0)), td.Laplace(torch.tensor(1.0), torch.tensor(2.0))
    ref = sci_integrate.quad(lambda x: stats.laplace.pdf(x) * (stats.laplace.logpdf(x) - stats.laplace.logpdf(x, 1, 2)),
                             -60, 60, points=[0, 1], limit=400)[0]
    assert E.integrate("kl", L1, L2) == pytest.approx(ref, rel=1e-7)
    C1, C2 = td.Cauchy(torch.tensor(0.0), torch.tensor(1.0)), td.Cauchy(torch.tensor(1.0), torch.tensor(2.0))
    # KL between Cauchy laws: log(((g1 + g2)^2 + (m1 - m2)^2) / (4 g1 g2))
    assert E.integrate("kl", C1, C2) == pytest.approx(math.log((3.0**2 + 1.0) / 8.0), rel=1e-7)
    assert E.integrate("kl", C1, N(0, 1)) == math.inf  # E_P[x^2] = inf
    assert E.integrate("kl", N(0, 1), N(0, 1), lower=0.0) == pytest.approx(0.0, abs=1e-12)


def test_integrate_is_accurate_for_float32_parameters_and_extreme_ratios():
    P32, Q32 = td.Normal(torch.tensor(0.0), torch.tensor(0.01)), td.Normal(torch.tensor(0.0), torch.tensor(1.0))
    # log p - log q reaches -5000 where q still has mass: the reverse KL needs the log-space tail handling
    assert E.integrate("reverse_kl", P32, Q32) == pytest.approx(E.kl_normal(Q32, P32), rel=1e-6)
    assert E.integrate("kl", Q32, P32) == pytest.approx(E.closed_form("kl", Q32, P32), rel=1e-6)


def test_integrate_gradients_match_torch_kl():
    mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    log_s = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    value = E.integrate("kl", N(0, 1), td.Normal(mu, log_s.exp()))
    assert torch.is_tensor(value) and value.requires_grad
    value.backward()
    mu2, log_s2 = mu.detach().clone().requires_grad_(), log_s.detach().clone().requires_grad_()
    td.kl_divergence(N(0, 1), td.Normal(mu2, log_s2.exp())).backward()
    reference = td.kl_divergence(N(0, 1), td.Normal(mu2, log_s2.exp()))
    assert float(value.detach()) == pytest.approx(float(reference.detach()), rel=1e-9)
    assert float(mu.grad) == pytest.approx(float(mu2.grad), rel=1e-7)
    assert float(log_s.grad) == pytest.approx(float(log_s2.grad), rel=1e-7)


@pytest.mark.parametrize("d", ALL)
def test_integrate_gradients_are_finite(d):
    P = mixture([0.4, 0.6], [-1.0, 1.0], [0.6, 0.6])
    mu = torch.tensor(0.2, requires_grad=True)
    log_s = torch.tensor(math.log(1.4), requires_grad=True)
    value = E.integrate(d, P, td.Normal(mu, log_s.exp()))
    if _infinite_here(d):  # the exact value is +inf, and integrate must say so
        assert float(value.detach()) == math.inf
        return
    assert math.isfinite(float(value.detach()))
    value.backward()
    assert torch.isfinite(mu.grad) and torch.isfinite(log_s.grad)
    # compare with a central difference of the exact value
    h = 1e-4
    up = E.integrate(d, P, N(0.2 + h, 1.4))
    down = E.integrate(d, P, N(0.2 - h, 1.4))
    assert float(mu.grad) == pytest.approx((up - down) / (2 * h), rel=1e-3, abs=1e-5)


def test_integrate_rejects_batched_distributions():
    with pytest.raises(ValueError, match="batch_shape"):
        E.integrate("kl", td.Normal(torch.zeros(2), torch.ones(2)), N(0, 1))


# --------------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("d", ALL)
def test_monte_carlo_within_four_standard_errors(d):
    P, Q = N(0, 1), N(0.5, 1.5)
    exact = E.integrate(d, P, Q)
    if _infinite_here(d):
        assert exact == math.inf
        return
    assert math.isfinite(exact)
    est = E.monte_carlo(d, P, Q, n=20_000, seed=1)
    assert est.n == 20_000 and est.stderr > 0
    assert abs(est.value - exact) < 4 * est.stderr


def test_monte_carlo_is_seeded_and_leaves_the_rng_alone():
    P, Q = N(0, 1), N(1, 1)
    torch.manual_seed(123)
    a = E.monte_carlo("kl", P, Q, n=1000, seed=7)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), after)
    assert E.monte_carlo("kl", P, Q, n=1000, seed=7) == a
    assert E.monte_carlo("kl", P, Q, n=1000, seed=8).value != a.value


def test_expectation_law_of_large_numbers():
    est = E.expectation(lambda x: x**2, N(0, 1), n=4000, seed=0)
    assert abs(est.value - 1.0) < 4 * est.stderr
    value, stderr, n = E.expectation(lambda x: x, lambda k: torch.rand(k), n=4000, seed=3)
    assert abs(value - 0.5) < 4 * stderr and n == 4000
    with pytest.raises(ValueError, match="n must be an integer"):
        E.expectation(lambda x: x, N(0, 1), n=0)


# --------------------------------------------------------------------------------------------
# variational lower bound
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("d", ALL)
def test_constant_witness_gives_f_of_one(d):
    """sup over constants t of t - f*(t) = f**(1) = f(1): a constant witness cannot tell P from Q."""
    res = E.variational_bound(d, N(0, 1), N(1, 1), "constant", steps=60, batch=4, lr=0.1, eval_n=4)
    assert res.estimate <= f_one(d) + 1e-5  # Fenchel-Young, exactly (no sampling noise for a constant)
    assert res.estimate == pytest.approx(f_one(d), abs=0.02)


@pytest.mark.parametrize("d", ALL)
def test_bound_is_below_the_exact_value(d):
    P, Q = N(0, 1), N(0.5, 1.5)
    exact = E.integrate(d, P, Q)
    res = E.variational_bound(d, P, Q, "linear", steps=30, batch=128, lr=0.03, eval_n=20_000, seed=0)
    assert math.isfinite(res.estimate) and len(res.history) == 30
    assert res.estimate <= exact + 4 * res.stderr + 1e-9


def test_linear_witness_is_tight_for_kl_with_equal_variances():
    # T* = f'(p/q) = 1 + log(p/q) = 3/2 - x is linear: the linear class contains it
    res = E.variational_bound("kl", N(0, 1), N(1, 1), "linear", steps=300, batch=256, lr=0.02, eval_n=50_000)
    assert res.estimate == pytest.approx(0.5, rel=0.1)
    assert res.estimate <= 0.5 + 4 * res.stderr


def test_mlp_bound_within_ten_percent_for_kl():
    P, Q = N(0, 1), N(0.5, 1.5)  # T* is quadratic in x: needs more than a linear witness
    exact = E.integrate("kl", P, Q)
    res = E.variational_bound("kl", P, Q, "mlp", steps=250, batch=256, lr=0.01, eval_n=50_000, seed=0)
    assert res.estimate == pytest.approx(exact, rel=0.1)
    assert res.estimate <= exact + 4 * res.stderr
    assert res.history[-1] > res.history[0]


def test_bound_is_deterministic_for_a_seed_and_leaves_the_rng_alone():
    torch.manual_seed(5)
    a = E.variational_bound("gan", N(0, 1), N(1, 1), "mlp", steps=20, batch=32, seed=3, eval_n=1000)
    after = torch.rand(1)
    torch.manual_seed(5)
    assert torch.equal(torch.rand(1), after)
    b = E.variational_bound("gan", N(0, 1), N(1, 1), "mlp", steps=20, batch=32, seed=3, eval_n=1000)
    c = E.variational_bound("gan", N(0, 1), N(1, 1), "mlp", steps=20, batch=32, seed=4, eval_n=1000)
    assert a.estimate == b.estimate and a.history == b.history
    assert c.history != a.history


def test_bound_with_data_tensors_custom_module_and_two_dimensions():
    g = torch.Generator().manual_seed(0)
    shift = torch.tensor([1.0, -0.5])
    xp, xq = torch.randn(20_000, 2, generator=g), torch.randn(20_000, 2, generator=g) + shift
    witness = torch.nn.Linear(2, 1)
    res = E.variational_bound("kl", xp, xq, witness, dim=2, steps=300, batch=256, lr=0.02, eval_n=20_000)
    assert res.witness is witness
    assert res.estimate == pytest.approx(float(shift.pow(2).sum()) / 2, rel=0.1)  # KL = |shift|^2 / 2
    with pytest.raises(ValueError, match="witness must be"):
        E.variational_bound("kl", xp, xq, "quadratic", dim=2)
    with pytest.raises(ValueError, match="dim=1"):
        E.variational_bound("kl", xp, xq, "linear", steps=1)


def test_optimal_witness_attains_the_divergence():
    """J(T*) with T* = d.optimal_witness(p/q) (and the closed-form conjugate) equals D_f: ties f', f* and the quadrature."""
    P, Q = N(0, 1), N(0.5, 1.5)
    x_p, x_q = P.sample((40_000,)), Q.sample((40_000,))
    for name in ["kl", "reverse_kl", "squared_hellinger", "js", "gan", "pearson"]:
        d = fdiv.get(name)

        def T(x):
            return d.optimal_witness(torch.exp(P.log_prob(x) - Q.log_prob(x)))

        tp, fq = T(x_p), d.conjugate(T(x_q))
        se = math.sqrt(float(tp.var()) / len(tp) + float(fq.var()) / len(fq))
        assert float(tp.mean() - fq.mean()) == pytest.approx(E.integrate(d, P, Q), abs=4 * se + 1e-9)


# --------------------------------------------------------------------------------------------
# fitting and tables
# --------------------------------------------------------------------------------------------
def _two_modes():
    return mixture([0.5, 0.5], [-2.0, 2.0], [0.5, 0.5])


def test_fit_gaussian_kl_is_moment_matching_and_reverse_kl_seeks_a_mode():
    P = _two_modes()
    mu, sigma, value = E.fit_gaussian_exact("kl", P, init=(0.5, 1.0))
    assert mu == pytest.approx(0.0, abs=1e-4)
    assert sigma == pytest.approx(math.sqrt(0.25 + 4.0), rel=1e-4)
    assert value == pytest.approx(E.integrate("kl", P, N(0.0, math.sqrt(4.25))), rel=1e-6)
    fit = E.fit_gaussian_exact("reverse_kl", P, init=(1.0, 1.0))
    assert fit.mu == pytest.approx(2.0, abs=0.01) and fit.sigma == pytest.approx(0.5, abs=0.01)
    assert fit.value == pytest.approx(math.log(2.0), abs=1e-3)  # one mode of two missed


def test_tightness_table_rows_and_markdown():
    rows = E.tightness_table(pairs=[("N(0,1) || N(1,1)", (0.0, 1.0), (1.0, 1.0))], names=["kl", "neyman"],
                             witnesses=["constant", "linear"], steps=100, batch=128, lr=0.05, eval_n=10_000)
    assert [(r["divergence"], r["witness"]) for r in rows] == [
        ("kl", "constant"), ("kl", "linear"), ("neyman", "constant"), ("neyman", "linear")]
    assert rows[0]["exact"] == pytest.approx(0.5, rel=1e-9)
    assert rows[0]["bound"] == pytest.approx(0.0, abs=0.05)
    assert rows[2]["exact"] == pytest.approx(math.e - 1, rel=1e-9)
    text = E.markdown_table(rows)
    assert text.splitlines()[0].startswith("| pair | divergence | witness | exact | bound")
    assert len(text.splitlines()) == 2 + len(rows)
    skipped = E.tightness_table(pairs=[("wide P", (0.0, 1.5), (0.5, 1.0))], names=["pearson"], witnesses=["constant"],
                                steps=1)
    assert skipped == []  # chi^2 is infinite there: skipped
