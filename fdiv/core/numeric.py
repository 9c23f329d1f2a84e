"""Numerical building blocks for stable conjugates (book chapter 3).

Everything here works on torch tensors of any float dtype, never produces NaN for finite
inputs and passes NaN through (NaN in, NaN out): branches that ``torch.where`` discards are fed
safe dummy inputs, so their gradients are finite too (the "double where" idiom).

* ``as_float_tensor(x)``: tensors stay tensors (integers promoted); anything else becomes one.
* ``safe_where(cond, x, fill)`` and ``keep_nan(x, y)``: the two halves of that idiom.
* ``log_softplus(x)`` = log(log(1 + e^x)), exact to rounding also for x -> -inf (where it ~ x).
* ``log_w_exp(x)`` = log W(e^x) for the principal Lambert W, i.e. the solution l of e^l + l = x.
* ``numeric_conjugate(t, f_log, f_prime_log, f_over_u_log, ...)``: f*(t) = sup_{u>0} (t u - f(u))
  by bisection on s = log u in float64, with gradient u*(t) (envelope theorem): the slow, generic
  path used by derived divergences (duals, symmetrisations, generators without a closed-form conjugate).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["as_float_tensor", "keep_nan", "log_softplus", "log_w_exp", "numeric_conjugate", "safe_where"]

#: log of the smallest positive and of the largest float64: u = e^s is representable for s in between
S_MIN, S_MAX = math.log(2.0 ** -1074), math.log(torch.finfo(torch.float64).max)


def as_float_tensor(x, like: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` as a floating tensor: tensors keep their dtype/device (integers become the default float)."""
    if isinstance(x, torch.Tensor):
        return x if x.is_floating_point() else x.to(torch.get_default_dtype())
    if like is not None:
        return torch.as_tensor(x, dtype=like.dtype, device=like.device)
    t = torch.as_tensor(x)
    return t if t.is_floating_point() else t.to(torch.get_default_dtype())


def safe_where(cond: torch.Tensor, x: torch.Tensor, fill: float) -> torch.Tensor:
    """``x`` where ``cond`` holds, else the constant ``fill``: feed this to a branch that is only valid on ``cond``."""
    return torch.where(cond, x, torch.full_like(x, fill))


def keep_nan(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``y`` with NaN wherever the input ``x`` is NaN (NaN in, NaN out, whatever branch ``y`` took)."""
    return torch.where(torch.isnan(x), x.to(y.dtype), y)


def _log_softplus_value(x: torch.Tensor) -> torch.Tensor:
    tiny = x < -40.0
    small = (x < -20.0) & ~tiny
    x_big = safe_where(x >= -20.0, x, 0.0)
    x_small = safe_where(small, x, -30.0)
    value = torch.where(tiny, x, torch.where(small, x_small + torch.log1p(-0.5 * torch.exp(x_small)),
                                             torch.log(F.softplus(x_big))))
    return keep_nan(x, value)


class _LogSoftplus(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        y = _log_softplus_value(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, y = ctx.saved_tensors
        # d/dx log softplus(x) = sigmoid(x) / softplus(x) = exp(logsigmoid(x) - log softplus(x)) in (0, 1]
        return grad * torch.exp(F.logsigmoid(x) - y)


def log_softplus(x: torch.Tensor) -> torch.Tensor:
    """log(softplus(x)) = log(log(1 + e^x)), accurate for all x.

    x >= -20: log(softplus(x)) directly; -40 <= x < -20: x + log1p(-e^x / 2) (the series of
    log log1p(e^x)); x < -40: x itself (the correction is below float64 rounding). The gradient,
    sigmoid(x)/softplus(x), is computed in one piece in log space, so an infinite upstream gradient
    gives an infinite (never NaN) result.
    """
    return _LogSoftplus.apply(x)


def log_w_exp(x: torch.Tensor, iterations: int = 12) -> torch.Tensor:
    """l = log W(e^x): the solution of e^l + l = x (W the principal Lambert function).

    Newton's method on g(l) = e^l + l - x in float64, started from l = x (x <= 1, where W(e^x) ~ e^x)
    or l = log(x - log x) (x > 1). Quadratic convergence; 12 steps are plenty for |x| <= 1e6.
    """
    x64 = x.detach().to(torch.float64)
    big = x64 > 1.0
    x_big = safe_where(big, x64, 2.0)
    l = torch.where(big, torch.log(x_big - torch.log(x_big)), x64)
    for _ in range(iterations):
        el = torch.exp(l)
        l = l - (el + l - x64) / (el + 1.0)
    return l


class _NumericConjugate(torch.autograd.Function):
    """f*(t) by bisection in s = log u; backward: d f*/dt = u*(t)."""

    @staticmethod
    def forward(ctx, t, solver):  # type: ignore[override]
        value, u_star = solver(t.detach())
        ctx.save_for_backward(u_star)
        return value.to(t.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (u_star,) = ctx.saved_tensors
        return grad * u_star.to(grad.dtype), None


def _root_log(t64, f_prime_log, s_low: float, s_high: float, iterations: int) -> torch.Tensor:
    """s* = log u* with f'(e^s*) = t, by bisection on [s_low, s_high] (f' is non-decreasing)."""
    lo = torch.full_like(t64, s_low)
    hi = torch.full_like(t64, s_high)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        go_up = f_prime_log(mid) < t64  # the root is above mid
        lo = torch.where(go_up, mid, lo)
        hi = torch.where(go_up, hi, mid)
    return 0.5 * (lo + hi)


def _value_at(t64, s, f_log, f_over_u_log) -> torch.Tensor:
    """t u - f(u) at u = e^s: directly for u <= 1; above, as e^s (t - f(u)/u) with the power taken
    in log space, so the value is finite wherever it fits float64 even where u itself overflows."""
    small = s <= 0
    s_small = safe_where(small, s, 0.0)
    direct = t64 * torch.exp(s_small) - f_log(s_small)
    s_big = safe_where(~small, s, 1.0)
    gap = t64 - f_over_u_log(s_big)
    scaled = torch.sign(gap) * torch.exp(s_big + torch.log(torch.abs(gap)))
    return torch.where(small, direct, scaled)


def numeric_conjugate(
    t: torch.Tensor,
    f_log: Callable[[torch.Tensor], torch.Tensor],
    f_prime_log: Callable[[torch.Tensor], torch.Tensor],
    f_over_u_log: Callable[[torch.Tensor], torch.Tensor],
    low: float,
    high: float,
    high_closed: bool,
    f_at_zero: float,
    boundary_value_high: float = math.inf,
    s_range: tuple[float, float] = (S_MIN, S_MAX),
    iterations: int = 80,
) -> torch.Tensor:
    """f*(t) = sup_{u>0} (t u - f(u)) for convex f, computed numerically (float64 inside).

    f enters through s = log u: ``f_log(s)`` = f(e^s), ``f_prime_log(s)`` = f'(e^s) and
    ``f_over_u_log(s)`` = f(e^s) e^-s (float64 tensors in and out). With a = lim_{u->0} f'(u) = ``low``
    and b = lim_{u->oo} f'(u) = ``high``:
      t <= a      : the supremum sits at u -> 0, f*(t) = -f(0+) (``-f_at_zero``);
      a < t < b   : f*(t) = t u* - f(u*) with f'(u*) = t, found by bisection on s in ``s_range``
                    (a root beyond its top counts as overflow: +inf);
      t = b       : ``boundary_value_high`` if ``high_closed`` else +inf;  t > b : +inf;  NaN: NaN.
    The gradient is u*(t) (0 on the flat piece t <= a).
    """

    def solver(tt: torch.Tensor):
        t64 = tt.to(torch.float64)
        s = _root_log(t64, f_prime_log, s_range[0], s_range[1], iterations)
        u = torch.exp(s)
        value = _value_at(t64, s, f_log, f_over_u_log)
        value = torch.where(s >= s_range[1] - 1e-6, torch.full_like(value, math.inf), value)
        inside = (t64 > low) & (t64 < high)
        below = t64 <= low
        value = torch.where(below, torch.full_like(value, -f_at_zero), value)
        u = torch.where(below, torch.zeros_like(u), u)
        at_high = t64 == high
        value = torch.where(at_high, torch.full_like(value, boundary_value_high if high_closed else math.inf), value)
        value = torch.where(t64 > high, torch.full_like(value, math.inf), value)
        value = keep_nan(t64, value)
        u = torch.where(inside | below, u, torch.full_like(u, math.inf))
        return value, u.to(tt.dtype)

    return _NumericConjugate.apply(t, solver)
