"""The edges of every registered divergence, in float32 and float64 (book chapters 1 and 3):
NaN in -> NaN out, never NaN from finite input, the exact limits at +-inf, f(-0.0) = f(0), the GAN's
f to rounding for large u, the arithmetic-geometric conjugate wherever its value fits the dtype, and
the sum-to-one tolerance of ``discrete`` scaled to the input's dtype.

Oracles are independent of the library's formulas: sympy limits of the generator, mpmath at 50 digits."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fdiv

mp.mp.dps = 50
ALL = fdiv.every(alphas=(-2.0, -1.0, 0.25, 0.5, 2.0, 3.0))
IDS = [d.tag for d in ALL]
DTYPES = [torch.float32, torch.float64]
FUNCTIONS = ["f", "conjugate", "activation", "conjugate_activation"]
INF, NAN = math.inf, math.nan


def _call(d, fn, values, dtype):
    return getattr(d, fn)(torch.tensor(values, dtype=dtype))


def _sympy_limit(d, point) -> float:
    u = fdiv.symbolic.u
    lim = sp.limit(d.sympy_f, u, point, "+") if point == 0 else sp.limit(d.sympy_f, u, sp.oo)
    return math.inf if lim == sp.oo else -math.inf if lim == -sp.oo else float(lim)


# --- NaN in, NaN out; never NaN from finite input ------------------------------------------------
@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_nan_in_nan_out(d, dtype, fn):
    x = torch.tensor([NAN, 0.5, -0.5, 2.0, NAN, INF, -INF, 0.0], dtype=dtype)
    y = getattr(d, fn)(x)
    assert y.dtype == dtype
    assert torch.equal(torch.isnan(y), torch.isnan(x)), (d, fn, y.tolist())


@pytest.mark.parametrize("d", ALL, ids=IDS)
@settings(deadline=None, max_examples=60)
@given(xs=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=12),
       wide=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=12))
def test_finite_input_never_nan(d, xs, wide):
    for values, dtype in ((xs, torch.float32), (xs, torch.float64), (wide, torch.float64)):
        for fn in FUNCTIONS:
            y = _call(d, fn, values, dtype)
            assert not torch.isnan(y).any(), (d, fn, dtype, values, y.tolist())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_gradients_at_finite_entries_survive_infinite_neighbours(d, dtype):
    """The double-where idiom: +-inf or NaN elsewhere in the batch never poisons a finite entry's gradient."""
    x = torch.tensor([0.3, INF, -INF, NAN, -0.7], dtype=dtype, requires_grad=True)
    for fn in ("f", "conjugate_activation"):
        (g,) = torch.autograd.grad(getattr(d, fn)(x)[[0, 4]].sum(), x)
        assert torch.isfinite(g[[0, 4]]).all() or fn == "f", (d, fn, g.tolist())
        assert not torch.isnan(g[[0, 4]]).any(), (d, fn, g.tolist())


# --- exact limits -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_f_limits_and_extended_value(d, dtype):
    """f(+inf) = lim f(u) (sympy), f(0) = f(0+), f(u) = +inf for u < 0 (the conjugate is a sup over u > 0)."""
    got = _call(d, "f", [INF, 0.0, -1e-30, -1.0, -INF], dtype).tolist()
    assert got[0] == _sympy_limit(d, sp.oo), (d, got)
    assert got[1] == pytest.approx(_sympy_limit(d, 0), rel=1e-6), (d, got)
    assert got[2:] == [INF, INF, INF], (d, got)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_conjugate_limits(d, dtype):
    """f*(t) decreases to -f(0+) as t -> -inf, and f*(+inf) = +inf (chapter 3)."""
    lo, hi = _call(d, "conjugate", [-INF, INF], dtype).tolist()
    assert lo == pytest.approx(-_sympy_limit(d, 0), rel=1e-7), (d, lo)
    assert hi == INF, (d, hi)


def _saturated(d, fn, sign) -> float:
    """lim_{v -> sign oo} of ``fn``, read off float64 values at huge finite v: equal there, or growing."""
    a, b = _call(d, fn, [sign * 1e150, sign * 1e300], torch.float64).tolist()
    if a == b:
        return b
    assert abs(b) > abs(a), (d, fn, a, b)  # still growing (if only like log v): unbounded
    return math.copysign(INF, b)


@pytest.mark.parametrize("fn", ["activation", "conjugate_activation"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_activation_limits(d, dtype, fn):
    lo, hi = _call(d, fn, [-INF, INF], dtype).tolist()
    want_lo, want_hi = _saturated(d, fn, -1.0), _saturated(d, fn, 1.0)
    assert lo == pytest.approx(want_lo, rel=1e-6) and hi == pytest.approx(want_hi, rel=1e-6), (d, fn, lo, hi)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", ALL, ids=IDS)
def test_negative_zero_is_zero(d, dtype, fn):
    neg, pos = _call(d, fn, [-0.0, 0.0], dtype).tolist()
    assert neg == pos, (d, fn, neg, pos)


# --- accuracy -----------------------------------------------------------------------------------
def _mp_gan_f(x: float):
    with mp.workdps(400):  # the two terms cancel: ~u log u each, up to u = 1e307
        u = mp.mpf(x)
        return +(u * mp.log(u) - (u + 1) * mp.log(u + 1))


@pytest.mark.parametrize("dtype,top", [(torch.float32, 38), (torch.float64, 307)])
def test_gan_f_accurate_to_rounding(dtype, top):
    """u log u - (u + 1) log(u + 1) within a few ulps of the 50-digit value, from tiny to huge u."""
    d = fdiv.get("gan")
    u = torch.logspace(-30, top, 400, dtype=torch.float64).to(dtype)
    got = d.f(u).tolist()
    eps = torch.finfo(dtype).eps
    for x, g in zip(u.tolist(), got):
        want = float(_mp_gan_f(x))
        assert abs(g - want) <= 4 * eps * abs(want), (dtype, x, g, want)


def test_gan_f_large_u_values():
    d = fdiv.get("gan")
    assert d.f(torch.tensor(1e8, dtype=torch.float32)).item() == pytest.approx(-19.42068, rel=1e-6)
    assert d.f(torch.tensor(1e16, dtype=torch.float64)).item() == pytest.approx(float(_mp_gan_f(1e16)), rel=1e-15)
    js = fdiv.get("js")  # built on the same form
    want = (_mp_gan_f(1e30) + (mp.mpf(1e30) + 1) * mp.log(2)) / 2
    assert js.f(torch.tensor(1e30, dtype=torch.float64)).item() == pytest.approx(float(want), rel=1e-15)


def _mp_ag_conjugate(t: float):
    """f*(t) = t u* - f(u*) with f'(u*) = t for the arithmetic-geometric generator, at 50 digits."""
    f = lambda u: (u + 1) / 2 * mp.log((u + 1) / (2 * mp.sqrt(u)))  # noqa: E731
    fp = lambda u: mp.log((u + 1) / (2 * mp.sqrt(u))) / 2 + mp.mpf(1) / 4 - 1 / (4 * u)  # noqa: E731
    lo, hi = mp.mpf(-2000), mp.mpf(2000)
    for _ in range(250):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fp(mp.exp(mid)) < t else (lo, mid)
    u = mp.exp((lo + hi) / 2)
    return mp.mpf(t) * u - f(u)


@pytest.mark.parametrize("dtype,fits,overflows,rtol", [
    (torch.float32, [-3e38, -1e30, -1e10, -5.0, 1.0, 20.0, 22.4], [22.5, 30.0], 1e-5),
    (torch.float64, [-1.7e308, -1e300, -1e100, -700.0, 1.0, 44.0, 88.0, 150.0, 177.3, 177.6], [177.8, 300.0], 1e-9),
])
def test_ag_conjugate_finite_wherever_the_value_fits(dtype, fits, overflows, rtol):
    d = fdiv.get("ag")
    big = torch.finfo(dtype).max
    got = _call(d, "conjugate", fits, dtype).tolist()
    for t, g in zip(fits, got):
        want = _mp_ag_conjugate(t)
        assert abs(want) < big and g == pytest.approx(float(want), rel=rtol), (t, g, want)
    for t, g in zip(overflows, _call(d, "conjugate", overflows, dtype).tolist()):
        assert abs(_mp_ag_conjugate(t)) > big and g == INF, (t, g)
    assert _call(d, "conjugate", [-1e300], torch.float64).item() == pytest.approx(-172.943881975, rel=1e-10)


def _mp_ag_activation(v: float):
    """sigma_f(v) = v for v <= 0, log(1 + 4v)/4 for v > 0 (the arithmetic-geometric output activation)."""
    return mp.mpf(v) if v <= 0 else mp.log1p(4 * mp.mpf(v)) / 4


@pytest.mark.parametrize("dtype,rtol", [(torch.float32, 1e-5), (torch.float64, 1e-9)])
def test_ag_activation_and_its_conjugate_over_the_whole_line(dtype, rtol):
    """sigma_f to rounding, and f*(sigma_f(v)) finite for every finite v whose value fits the dtype:
    about 1.47 v for large v, where sigma_f(v) = v would overflow from v ~ 22 in float32."""
    d = fdiv.get("ag")
    big, eps = torch.finfo(dtype).max, torch.finfo(dtype).eps
    vs = [-big, -1e30, -700.0, -5.0, -1e-3, 0.0, 1e-7, 1e-3, 0.999, 1.0, 1.001, 22.5, 80.0, 1e4, 1e30,
          big / 2, big]
    v = torch.tensor(vs, dtype=dtype)
    for x, a in zip(vs, d.activation(v).tolist()):
        want = _mp_ag_activation(x)
        assert abs(a - float(want)) <= 2 * eps * abs(float(want)), (x, a, want)
    wants = [_mp_ag_conjugate(_mp_ag_activation(x)) for x in vs]
    for x, g, want in zip(vs, d.conjugate_activation(v).tolist(), wants):
        if abs(want) > big:
            assert g == INF, (x, g)
        else:
            assert g == pytest.approx(float(want), rel=rtol, abs=1e-20), (x, g, want)
    assert d.conjugate_activation(torch.tensor(1e30, dtype=dtype)).item() == pytest.approx(1.4715178e30, rel=1e-6)


# --- discrete: the sum-to-one tolerance follows the dtype ---------------------------------------
def test_discrete_accepts_low_precision_probabilities():
    p16 = torch.tensor([0.7, 0.3], dtype=torch.float16)
    assert float(p16.double().sum()) != 1.0  # 0.7 and 0.3 round to a sum of 1.000244 in float16
    want = fdiv.discrete("kl", p16.double() / p16.double().sum(), [0.5, 0.5])
    assert fdiv.discrete("kl", p16, [0.5, 0.5]) == pytest.approx(want, rel=1e-9)
    assert fdiv.discrete("kl", np.array([0.7, 0.3], dtype=np.float16), [0.5, 0.5]) == pytest.approx(want, rel=1e-9)
    assert fdiv.discrete("kl", torch.tensor([0.7, 0.3], dtype=torch.bfloat16), [0.5, 0.5]) == pytest.approx(
        0.0823, abs=5e-3)


@pytest.mark.parametrize("p", [torch.tensor([0.7, 0.32], dtype=torch.float16), [0.7, 0.30001],
                               np.array([0.7, 0.3001], dtype=np.float32)])
def test_discrete_still_rejects_vectors_that_do_not_sum_to_one(p):
    with pytest.raises(ValueError, match="sums to"):
        fdiv.discrete("kl", p, [0.5, 0.5])
