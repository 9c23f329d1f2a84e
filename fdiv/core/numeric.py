"""Numerical building blocks for stable conjugates (book chapter 3).

Everything here works on torch tensors of any float dtype and never produces NaN for finite
inputs: branches that ``torch.where`` discards are fed safe dummy inputs, so their gradients
are finite too (the "double where" idiom).

* ``as_float_tensor(x)``: tensors stay tensors (integers promoted); anything else becomes one.
* ``log_softplus(x)`` = log(log(1 + e^x)), exact to rounding also for x -> -inf (where it ~ x).
* ``log_w_exp(x)`` = log W(e^x) for the principal Lambert W, i.e. the solution l of e^l + l = x.
* ``numeric_conjugate(f, f_prime, ...)``: f*(t) = sup_{u>0} (t u - f(u)) by bisection on
  s = log u in float64, with gradient u*(t) (envelope theorem): the slow, generic path used by
  derived divergences (duals, symmetrisations, generators without a closed-form conjugate).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ["as_float_tensor", "log_softplus", "log_w_exp", "numeric_conjugate", "safe_where"]


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


def _log_softplus_value(x: torch.Tensor) -> torch.Tensor:
    tiny = x < -40.0
    small = (x < -20.0) & ~tiny
    x_big = safe_where(x >= -20.0, x, 0.0)
    x_small = safe_where(small, x, -30.0)
    return torch.where(tiny, x, torch.where(small, x_small + torch.log1p(-0.5 * torch.exp(x_small)),
                                            torch.log(F.softplus(x_big))))


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


def numeric_conjugate(
    t: torch.Tensor,
    f: Callable[[torch.Tensor], torch.Tensor],
    f_prime: Callable[[torch.Tensor], torch.Tensor],
    low: float,
    high: float,
    high_closed: bool,
    f_at_zero: float,
    boundary_value_high: float = math.inf,
    s_range: float = 300.0,
    iterations: int = 110,
) -> torch.Tensor:
    """f*(t) = sup_{u>0} (t u - f(u)) for convex f, computed numerically (float64 inside).

    With a = lim_{u->0} f'(u) = ``low`` and b = lim_{u->oo} f'(u) = ``high``:
      t <= a      : the supremum sits at u -> 0, f*(t) = -f(0+) (``-f_at_zero``);
      a < t < b   : f*(t) = t u* - f(u*) with f'(u*) = t, found by bisection on s = log u in
                    [-s_range, s_range] (u beyond e^s_range counts as overflow: +inf);
      t = b       : ``boundary_value_high`` if ``high_closed`` else +inf;  t > b : +inf.
    The gradient is u*(t) (0 on the flat piece t <= a).
    """

    def solver(tt: torch.Tensor):
        t64 = tt.to(torch.float64)
        lo = torch.full_like(t64, -s_range)
        hi = torch.full_like(t64, s_range)
        inside = (t64 > low) & (t64 < high)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            fp = f_prime(torch.exp(mid))
            go_up = fp < t64  # f' increasing: the root is above mid
            lo = torch.where(go_up, mid, lo)
            hi = torch.where(go_up, hi, mid)
        s = 0.5 * (lo + hi)
        u = torch.exp(s)
        value = t64 * u - f(u)
        value = torch.where(s >= s_range - 1e-6, torch.full_like(value, math.inf), value)
        below = t64 <= low
        value = torch.where(below, torch.full_like(value, -f_at_zero), value)
        u = torch.where(below, torch.zeros_like(u), u)
        at_high = t64 == high
        value = torch.where(at_high, torch.full_like(value, boundary_value_high if high_closed else math.inf), value)
        value = torch.where(t64 > high, torch.full_like(value, math.inf), value)
        value = torch.where(torch.isnan(t64), t64, value)
        u = torch.where(inside, u, torch.where(below, u, torch.full_like(u, math.inf)))
        return value, u.to(tt.dtype)

    return _NumericConjugate.apply(t, solver)
