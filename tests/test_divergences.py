"""Properties of every registered divergence (parametrised over the registry: registering a new
divergence tests it), checked against independent oracles: mpmath at 50 digits, brute-force suprema."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fdiv

mp.mp.dps = 50
ALPHAS = (-2.0, -1.0, 0.5, 0.25, 2.0, 3.0)


def _all():
    out = []
    for n in fdiv.names():
        if n == "alpha":
            out += [fdiv.get("alpha", alpha=a) for a in ALPHAS]
        else:
            out.append(fdiv.get(n))
    return out


ALL = _all()
IDS = [repr(d) for d in ALL]
CLOSED_FORM = [d for d in ALL if d.name != "ag"]

# --- mpmath oracles: sigma_f and f* written out independently of the library -------------------
def _mp_conj(d, t):
    """f*(t) at 50 digits from the formulas of the chapter (piecewise over u > 0)."""
    n = d.name
    lo, hi = d.domain
    if t > hi or (t == hi and not d.domain_closed[1]):
        return mp.inf
    if n == "kl":
        return mp.exp(t - 1)
    if n == "reverse_kl":
        return -1 - mp.log(-t)
    if n == "pearson":
        return -1 if t <= -2 else t + t * t / 4
    if n == "neyman":
        return 2 - 2 * mp.sqrt(1 - t)
    if n == "squared_hellinger":
        return t / (1 - t)
    if n == "jeffrey":
        w = mp.lambertw(mp.exp(1 - t)).real
        return w + 1 / w + t - 2
    if n == "js":
        return -mp.log(2 - mp.exp(2 * t)) / 2
    if n == "gan":
        return -mp.log(1 - mp.exp(t))
    if n == "total_variation":
        return max(t, mp.mpf(-0.5))
    if n == "triangular":
        return -1 if t <= -3 else 4 - t - 4 * mp.sqrt(1 - t)
    if n == "alpha":
        a = mp.mpf(d.alpha)
        s = 1 + (a - 1) * t
        if a > 1 and s <= 0:
            return -1 / a
        return (s ** (a / (a - 1)) - 1) / a
    raise KeyError(n)


def _mp_act(d, v):
    n = d.name
    v = mp.mpf(v)
    if n in ("kl", "pearson", "jeffrey") or (n == "alpha" and d.alpha > 1):
        return v
    if n == "reverse_kl":
        return -mp.exp(-v)
    if n in ("neyman", "squared_hellinger", "triangular"):
        return 1 - mp.exp(-v)
    if n == "js":
        return (mp.log(2) - mp.log(1 + mp.exp(-v))) / 2
    if n == "gan":
        return -mp.log(1 + mp.exp(-v))
    if n == "total_variation":
        return mp.tanh(v) / 2
    if n == "alpha":
        return 1 / (1 - mp.mpf(d.alpha)) - mp.log(1 + mp.exp(-v))
    raise KeyError(n)


def _mp_conj_act(d, v):
    n = d.name
    v = mp.mpf(v)
    # closed forms of f*(sigma(v)) that avoid the catastrophic subtraction near the boundary
    if n == "gan":
        return mp.log(1 + mp.exp(v))
    if n == "js":
        return (mp.log(1 + mp.exp(v)) - mp.log(2)) / 2
    if n == "squared_hellinger":
        return mp.expm1(v)
    if n == "neyman":
        return 2 - 2 * mp.exp(-v / 2)
    if n == "reverse_kl":
        return v - 1
    if n == "triangular":
        r = mp.exp(-v / 2)
        return (r - 2) ** 2 - 1 if r < 2 else mp.mpf(-1)
    if n == "alpha" and d.alpha < 1:
        a = mp.mpf(d.alpha)
        s = (1 - a) * mp.log1p(mp.exp(-v))
        return (s ** (a / (a - 1)) - 1) / a
    return _mp_conj(d, _mp_act(d, v))


def _close(got: float, want, rtol: float, atol: float) -> bool:
    want = float(want) if abs(want) < 1e308 else math.inf
    if math.isinf(want):
        return math.isinf(got) and (got > 0) == (want > 0)
    return abs(got - want) <= atol + rtol * abs(want)


# --- the registry ------------------------------------------------------------------------------
def test_registry_names_and_unknown():
    for n in ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "jeffrey", "js", "gan",
              "total_variation", "alpha", "triangular", "ag"):
        assert n in fdiv.names()
    with pytest.raises(ValueError) as e:
        fdiv.get("kullback")
    assert "kullback" in str(e.value) and "reverse_kl" in str(e.value) and "pearson" in str(e.value)


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.0, float("nan"), float("inf"), "half", True])
def test_alpha_rejects(bad):
    with pytest.raises(ValueError, match="alpha"):
        fdiv.get("alpha", alpha=bad)


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="kl"):
        fdiv.get("kl", alpha=2)
    with pytest.raises(ValueError, match="alpha"):
        fdiv.get("alpha")


def test_register_new_divergence():
    class Half(fdiv.core.divergences.Pearson):
        name = "pearson_copy_for_test"

    fdiv.register(Half.name, Half)
    try:
        assert fdiv.get(Half.name).conjugate(torch.tensor(1.0)).item() == pytest.approx(1.25)
    finally:
        fdiv.core.divergences._REGISTRY.pop(Half.name)


# --- f, normalisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_f_at_one_and_derivative(d):
    one = torch.tensor([1.0], dtype=torch.float64)
    expected_f1 = -2 * math.log(2) if d.name == "gan" else 0.0
    assert d.f(one).item() == pytest.approx(expected_f1, abs=1e-12)
    if d.name != "total_variation":  # |u - 1|/2 has no derivative at 1
        assert d.f_prime(one).item() == pytest.approx(d.f_prime_one, abs=1e-9)
        h = 1e-6
        fd = (d.f(one + h) - d.f(one - h)).item() / (2 * h)
        assert fd == pytest.approx(d.f_prime_one, abs=1e-6)


@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_f_matches_sympy_and_limits(d):
    import sympy as sp

    fn = sp.lambdify(fdiv.core.divergences.U, d.sympy_f, "mpmath")
    for x in (1e-3, 0.3, 1.0, 2.5, 40.0):
        assert d.f(torch.tensor(x, dtype=torch.float64)).item() == pytest.approx(float(fn(x)), rel=1e-10, abs=1e-12)
    # f(0+) and lim f(u)/u as declared
    f0 = d.f(torch.tensor(1e-300, dtype=torch.float64)).item()
    if math.isinf(d.f_at_zero):
        assert f0 > 50
    else:
        assert f0 == pytest.approx(d.f_at_zero, abs=1e-6)
    slope = (d.f(torch.tensor(1e12, dtype=torch.float64)) / 1e12).item()
    if math.isinf(d.f_slope_inf):
        assert slope > 5
    else:
        assert slope == pytest.approx(d.f_slope_inf, abs=1e-3)


# --- conjugates ---------------------------------------------------------------------------------
def _t_grid(d, n=41):
    lo, hi = d.domain
    lo = max(lo, -8.0)
    top = hi if d.domain_closed[1] else (hi - 1e-3 if math.isfinite(hi) else 4.0)
    return torch.linspace(lo, top, n, dtype=torch.float64)


@pytest.mark.parametrize("d", CLOSED_FORM, ids=[repr(d) for d in CLOSED_FORM])
def test_conjugate_matches_mpmath(d):
    t = _t_grid(d)
    got = d.conjugate(t)
    # at a closed alpha endpoint s = 1 + (alpha - 1) t rounds to 0 and s^p has infinite slope there:
    # the float input itself is only known to ~1e-16, which moves the exact value by ~1e-11
    atol = 1e-9 if d.name == "alpha" else 1e-12
    for ti, gi in zip(t.tolist(), got.tolist()):
        assert _close(gi, _mp_conj(d, mp.mpf(ti)), 1e-12, atol), (d, ti, gi)


@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_conjugate_brute_force_supremum(d):
    """f*(t) against a dense maximisation of t u - f(u) over u = e^s, s in [-30, 20]."""
    s = torch.linspace(-30, 20, 500001, dtype=torch.float64)
    u = torch.exp(s)
    fu = d.f(u)
    t = _t_grid(d, 13)
    got = d.conjugate(t)
    for ti, gi in zip(t.tolist(), got.tolist()):
        brute = torch.max(ti * u - fu).item()
        brute = max(brute, -d.f_at_zero)  # the u -> 0 end
        assert math.isfinite(gi)
        assert gi >= brute - 1e-7 and gi <= brute + 1e-4 + 1e-6 * abs(brute), (d, ti, gi, brute)


@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_conjugate_is_inf_outside_domain(d):
    lo, hi = d.domain
    if math.isfinite(hi):
        out = torch.tensor([hi + 1e-6, hi + 1.0, hi + 1e4], dtype=torch.float64)
        assert torch.isinf(d.conjugate(out)).all() and (d.conjugate(out) > 0).all()
        edge = d.conjugate(torch.tensor([hi], dtype=torch.float64))
        assert torch.isfinite(edge).item() == d.domain_closed[1]


@pytest.mark.parametrize("d", ALL, ids=IDS)
@settings(deadline=None, max_examples=40)
@given(x=st.floats(-12, 12), t_frac=st.floats(0.0, 1.0))
def test_fenchel_young(d, x, t_frac):
    """f(u) + f*(t) >= t u for all u > 0, t; equality at t = f'(u)."""
    u = torch.tensor(math.exp(x), dtype=torch.float64)
    lo, hi = d.domain
    lo, hi = max(lo, -20.0), min(hi, 20.0)
    t = torch.tensor(lo + (hi - lo) * t_frac, dtype=torch.float64)
    lhs = d.f(u) + d.conjugate(t)
    assert (lhs >= t * u - 1e-9 * (1 + abs(t * u))).item()
    if d.name != "total_variation":
        tp = d.f_prime(u)
        if torch.isfinite(d.conjugate(tp)):
            eq = d.f(u) + d.conjugate(tp) - tp * u
            assert abs(eq.item()) <= 1e-7 * (1 + abs((tp * u).item()) + abs(d.f(u).item()))


@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_biconjugate_recovers_f(d):
    """f**(u) = sup_{t in dom f*} (t u - f*(t)) = f(u) (Fenchel-Moreau), numerically on a t grid."""
    lo, hi = d.domain
    lo_t = max(lo, -60.0)
    hi_t = hi if d.domain_closed[1] else (hi - 1e-9 if math.isfinite(hi) else 12.0)
    t = torch.linspace(lo_t, hi_t, 60001 if d.name != "ag" else 12001, dtype=torch.float64)
    fs = d.conjugate(t)
    for uu in (0.2, 0.7, 1.0, 1.8, 4.0):
        bi = torch.max(t * uu - fs).item()
        assert bi == pytest.approx(d.f(torch.tensor(uu, dtype=torch.float64)).item(), abs=2e-3), (d, uu)


# --- activation and the stable composite --------------------------------------------------------
V_WIDE = torch.cat([torch.linspace(-1e4, 1e4, 4001), torch.linspace(-60, 60, 2401)])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_activation_range_and_no_nan(d, dtype):
    v = V_WIDE.to(dtype).requires_grad_(True)
    a = d.activation(v)
    lo, hi = d.domain
    assert not torch.isnan(a).any()
    finite_a = a[torch.isfinite(a)]
    assert (finite_a <= hi).all()
    # strictly inside (or on a closed endpoint) for moderate v where rounding cannot reach the edge
    mid = d.activation(torch.linspace(-10, 10, 201, dtype=torch.float64))
    assert (mid < hi).all() or d.domain_closed[1]
    y = d.conjugate_activation(v)
    (g,) = torch.autograd.grad(y.sum(), v)
    assert not torch.isnan(y).any(), "conjugate_activation gave NaN"
    assert not torch.isnan(g).any(), "conjugate_activation gradient gave NaN"


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-11), (torch.float32, 2e-5)])
@pytest.mark.parametrize("d", CLOSED_FORM, ids=[repr(d) for d in CLOSED_FORM])
def test_conjugate_activation_accurate_everywhere(d, dtype, rtol):
    """f*(sigma_f(v)) to rounding against 50-digit mpmath, also where the naive composition loses
    digits (sigma near the edge of dom f*); finite wherever the exact value fits the dtype."""
    vs = [-1e4, -700.0, -80.0, -30.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 0.5, 3.0, 20.0, 35.0, 80.0, 700.0, 1e4]
    got = d.conjugate_activation(torch.tensor(vs, dtype=dtype)).tolist()
    big = torch.finfo(dtype).max
    for v, g in zip(vs, got):
        want = _mp_conj_act(d, v)
        if abs(want) > big:
            assert math.isinf(g) or abs(g) > big / 10, (d, v, g, want)
            continue
        assert math.isfinite(g), (d, v, g, float(want))
        assert _close(g, want, rtol, 1e-300 if dtype == torch.float64 else 1e-38) or \
            abs(g - float(want)) <= 4 * torch.finfo(dtype).eps * max(1.0, abs(float(want))), (d, v, g, float(want))


@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_conjugate_activation_equals_composition(d):
    v = torch.linspace(-6, 6, 121, dtype=torch.float64)
    assert torch.allclose(d.conjugate_activation(v), d.conjugate(d.activation(v)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_gradcheck_stable_paths(d):
    v = torch.linspace(-5, 5, 11, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(d.conjugate_activation, (v,), eps=1e-6, atol=1e-5)
    assert torch.autograd.gradcheck(d.activation, (v,), eps=1e-6, atol=1e-5)
    lo, hi = d.domain
    t = _t_grid(d, 9)[1:-1].clone().requires_grad_(True)
    if d.name in ("pearson", "triangular") or (d.name == "alpha" and d.alpha > 1):
        kink = {"pearson": -2.0, "triangular": -3.0}.get(d.name) or -1.0 / (getattr(d, "alpha", 2.0) - 1.0)
        t = t[(t - kink).abs() > 1e-2].detach().requires_grad_(True)
    if d.name == "total_variation":
        t = torch.tensor([-0.4, 0.1, 0.3], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(d.conjugate, (t,), eps=1e-7, atol=1e-4)


def test_gan_is_binary_cross_entropy():
    """J_GAN = E_P log D + E_Q log(1 - D) with D = sigmoid(V): the VDM form with the GAN divergence."""
    d = fdiv.get("gan")
    v_real, v_fake = torch.randn(50, dtype=torch.float64), torch.randn(50, dtype=torch.float64)
    j = d.activation(v_real).mean() - d.conjugate_activation(v_fake).mean()
    dr, df = torch.sigmoid(v_real), torch.sigmoid(v_fake)
    assert j.item() == pytest.approx((torch.log(dr).mean() + torch.log(1 - df).mean()).item(), rel=1e-12)


# --- derived divergences ------------------------------------------------------------------------
@pytest.mark.parametrize("base,expected", [("kl", "reverse_kl"), ("reverse_kl", "kl"), ("pearson", "neyman"),
                                           ("squared_hellinger", "squared_hellinger"), ("js", "js")])
def test_dual_swaps_arguments(base, expected):
    d, e = fdiv.dual(base), fdiv.get(expected)
    u = torch.logspace(-3, 3, 25, dtype=torch.float64)
    assert torch.allclose(d.f(u), e.f(u), rtol=1e-10, atol=1e-12)
    assert d.domain == pytest.approx(e.domain)
    t = _t_grid(e, 15)
    assert torch.allclose(d.conjugate(t), e.conjugate(t), rtol=1e-7, atol=1e-9)


def test_symmetrize_kl_is_jeffrey():
    d, e = fdiv.symmetrize("kl"), fdiv.get("jeffrey")
    t = torch.linspace(-6, 4, 21, dtype=torch.float64)
    assert torch.allclose(d.conjugate(t), e.conjugate(t), rtol=1e-7, atol=1e-9)
    assert d.domain == e.domain
    v = torch.linspace(-4, 4, 9, dtype=torch.float64).requires_grad_(True)
    (g,) = torch.autograd.grad(d.conjugate_activation(v).sum(), v)
    (ge,) = torch.autograd.grad(e.conjugate_activation(v).sum(), v)
    assert torch.allclose(g, ge, rtol=1e-6)


def test_dual_of_pearson_domain_closed_like_neyman():
    d = fdiv.dual("pearson")
    assert d.domain == (-math.inf, 1.0) and d.domain_closed == (False, True)
    assert d.conjugate(torch.tensor([1.0], dtype=torch.float64)).item() == pytest.approx(2.0)


def test_special_alphas_are_known_divergences():
    u = torch.logspace(-2, 2, 17, dtype=torch.float64)
    assert torch.allclose(fdiv.get("alpha", alpha=2).f(u), fdiv.get("pearson").f(u) / 2)
    assert torch.allclose(fdiv.get("alpha", alpha=-1).f(u), fdiv.get("neyman").f(u) / 2)
    assert torch.allclose(fdiv.get("alpha", alpha=0.5).f(u), 2 * fdiv.get("squared_hellinger").f(u))
    assert torch.allclose(fdiv.get("alpha", alpha=1 + 1e-7).f(u), fdiv.get("kl").f(u) - (u - 1), atol=1e-5)


def test_inputs_any_device_dtype_and_lists():
    d = fdiv.get("kl")
    assert d.f([1.0, 2.0]).dtype == torch.get_default_dtype()
    assert d.conjugate(torch.tensor([0, 1])).dtype == torch.get_default_dtype()
    if torch.cuda.is_available():
        assert d.conjugate_activation(torch.zeros(3, device="cuda")).device.type == "cuda"


def test_every_expands_families_and_tags():
    ds = fdiv.core.divergences.every(alphas=(0.5, 2.0))
    tags = [d.tag for d in ds]
    assert tags.count("alpha(0.5)") == 1 and "alpha(2)" in tags and "kl" in tags
    assert len(ds) == len(fdiv.names()) - 1 + 2
