r"""The f-divergence family: one small class per divergence and a registry (book chapters 1, 3, 5).

Conventions (book chapter 1): P is the data distribution (density p), Q the model (density q),

    D_f(P || Q) = \int q(x) f(p(x) / q(x)) dx,

with f convex on u > 0 and, for a divergence in the strict sense, f(1) = 0. The Fenchel conjugate
(chapter 3) is taken over u > 0, as the notes define it,

    f*(t) = sup_{u > 0} { t u - f(u) },

an extended-value function: +inf outside dom f* = {t : f*(t) < inf}. Over u > 0 several conjugates
are piecewise: where t <= lim_{u->0} f'(u) the supremum sits at u -> 0 and f*(t) = -f(0+). The
f-GAN paper's table gives some of these (Pearson chi^2, total variation) over all of R instead.

Each divergence offers (torch tensors in, tensors out, any float dtype and device):

    d.f(u), d.f_prime(u), d.conjugate(t), d.domain, d.domain_closed,
    d.activation(v)            sigma_f : R -> dom f*   (the output activation, chapter 5)
    d.conjugate_activation(v)  f*(sigma_f(v)), computed stably (softplus, logsigmoid, expm1, ...)
    d.f_prime_one, d.f_at_zero = f(0+), d.f_slope_inf = lim f(u)/u, d.sympy_f, d.optimal_witness(r)

``get(name, **params)`` builds a registered divergence, ``names()`` lists them, ``register`` adds one,
``dual(d)`` (u f(1/u): swaps the arguments) and ``symmetrize(d)`` (f + dual) derive new ones.
"""
from __future__ import annotations

import math
from typing import Callable

import sympy as sp
import torch
import torch.nn.functional as F

from fdiv.core.checks import check_number
from fdiv.core.numeric import (S_MAX, S_MIN, as_float_tensor, keep_nan, log_softplus, log_w_exp,
                                numeric_conjugate, safe_where)
from fdiv.core.symbolic import to_float
from fdiv.core.symbolic import u as U  # the positive symbol u of the symbolic derivations

__all__ = [
    "Divergence", "register", "get", "names", "every", "dual", "symmetrize",
    "KL", "ReverseKL", "Pearson", "Neyman", "SquaredHellinger", "Jeffrey", "JensenShannon", "GAN",
    "TotalVariation", "Alpha", "Triangular", "ArithmeticGeometric",
]

INF = math.inf
LOG2 = math.log(2.0)


def _inf_like(x: torch.Tensor) -> torch.Tensor:
    return torch.full_like(x, INF)


def _u(u) -> torch.Tensor:
    """``u`` as a float tensor with -0.0 read as +0.0, so that f(-0.0) = f(0+) like f(0.0)."""
    return as_float_tensor(u) + 0.0


class Divergence:
    r"""Base class: an f-divergence given by its generator f.

    A subclass defines ``f``, ``f_prime`` and ``sympy_f`` and, where a closed form exists,
    ``conjugate``, ``activation`` and ``conjugate_activation``. Without them the base class derives
    the domain from sympy limits of f', the conjugate numerically (bisection, float64) and the
    activation from the shape of dom f*:

        dom f* = R           -> sigma(v) = v
        dom f* = (-inf, b)   -> sigma(v) = b - softplus(-v)
        dom f* = (a, inf)    -> sigma(v) = a + softplus(v)
        dom f* = (a, b)      -> sigma(v) = a + (b - a) sigmoid(v)

    Edges (chapters 1 and 3), the same for every divergence and dtype: NaN in, NaN out; f follows the
    extended-value convention f(u) = +inf for u < 0 (the conjugate is a sup over u > 0), f(0) = f(-0.0)
    = f(0+) and f(+inf) = lim_{u->oo} f(u); f*(-inf) = -f(0+) (f* decreases to it) and f*(+inf) = +inf.
    Subclasses get these by writing f and f* through ``_extended_f`` and ``_extended_conjugate``.
    """

    name: str = "divergence"
    label: str = "f-divergence"
    #: plain-text formulas for tables (``fdiv list``)
    f_expr: str = ""
    conjugate_expr: str = "numerical: sup_{u>0} (t u - f(u))"
    activation_expr: str = ""

    def __init__(self) -> None:
        self.params: dict = {}

    # ----- the generator ---------------------------------------------------------------
    @property
    def sympy_f(self) -> sp.Expr:
        raise NotImplementedError

    def f(self, u) -> torch.Tensor:
        """f(u) for u > 0 (u = 0 gives the limit f(0+), u < 0 gives +inf)."""
        return self._extended_f(u, self._f_lambdified)

    def f_prime(self, u) -> torch.Tensor:
        """f'(u) for u > 0."""
        return self._f_prime_lambdified(_u(u))

    def _extended_f(self, u, formula: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """f on all of R: ``formula`` on 0 <= u < oo (fed only such u), +inf for u < 0 (extended value),
        the limit ``f_at_inf`` at u = +inf, NaN for NaN (book chapter 1)."""
        u = _u(u)
        inside = (u >= 0) & (u < INF)
        value = formula(safe_where(inside, u, 1.0))
        value = torch.where(u == INF, torch.full_like(value, self.f_at_inf), value)
        return keep_nan(u, torch.where(u < 0, _inf_like(value), value))

    def optimal_witness(self, ratio) -> torch.Tensor:
        r"""T*(x) = f'(p(x)/q(x)): the witness attaining the sup in the variational representation (chapter 4)."""
        return self.f_prime(ratio)

    # sympy -> torch fallbacks for derived divergences
    @property
    def _f_lambdified(self) -> Callable:
        if "_f_fn" not in self.__dict__:
            self._f_fn = sp.lambdify(U, self.sympy_f, modules=[_TORCH_MODULE])
        fn = self._f_fn
        return lambda u: as_float_tensor(fn(u), like=u) + torch.zeros_like(u)

    @property
    def _f_prime_lambdified(self) -> Callable:
        if "_fp_fn" not in self.__dict__:
            self._fp_fn = sp.lambdify(U, sp.simplify(sp.diff(self.sympy_f, U)), modules=[_TORCH_MODULE])
        fn = self._fp_fn
        return lambda u: as_float_tensor(fn(u), like=u) + torch.zeros_like(u)

    @property
    def f_prime_one(self) -> float:
        """f'(1): the optimal witness value where P = Q (chapter 4)."""
        return float(sp.limit(sp.diff(self.sympy_f, U), U, 1))

    @property
    def f_at_zero(self) -> float:
        """f(0+) = lim_{u->0} f(u) (may be +inf): the cost of Q putting mass where P has none."""
        return to_float(sp.limit(self.sympy_f, U, 0, "+"))

    @property
    def f_slope_inf(self) -> float:
        """lim_{u->oo} f(u)/u (may be +inf): the cost of P putting mass where Q has none."""
        return to_float(sp.limit(self.sympy_f / U, U, sp.oo))

    @property
    def f_at_inf(self) -> float:
        """lim_{u->oo} f(u) (+-inf allowed): the value f(+inf)."""
        if "_f_at_inf" not in self.__dict__:
            self._f_at_inf = to_float(sp.limit(self.sympy_f, U, sp.oo))
        return self._f_at_inf

    @property
    def f_one(self) -> float:
        """f(1): zero for a divergence in the strict sense (the GAN's generator has -2 log 2)."""
        return float(self.sympy_f.subs(U, 1))

    # ----- the conjugate ---------------------------------------------------------------
    @property
    def domain(self) -> tuple[float, float]:
        """dom f* as (low, high), +-inf allowed. Endpoints belong to it as ``domain_closed`` says."""
        return self._derived_domain()[0]

    @property
    def domain_closed(self) -> tuple[bool, bool]:
        """Whether the low and high endpoints of dom f* belong to it."""
        return self._derived_domain()[1]

    def _derived_domain(self):
        cache = getattr(self, "_domain_cache", None)
        if cache is None:
            fp = sp.diff(self.sympy_f, U)
            a = to_float(sp.limit(fp, U, 0, "+"))
            b = to_float(sp.limit(fp, U, sp.oo))
            low_closed = math.isfinite(a) and math.isfinite(self.f_at_zero)
            high_closed, high_value = False, INF
            if math.isfinite(b):
                edge = to_float(sp.limit(b * U - self.sympy_f, U, sp.oo))
                high_closed, high_value = math.isfinite(edge), edge
            # the low endpoint: f*(t) = -f(0+) for all t <= a, so dom f* extends to -inf
            low = -INF if math.isfinite(self.f_at_zero) or not math.isfinite(a) else a
            cache = ((low, b), (low_closed and low != -INF, high_closed), a, high_value)
            self._domain_cache = cache
        return cache

    def conjugate(self, t) -> torch.Tensor:
        """f*(t) = sup_{u>0} (t u - f(u)); +inf outside dom f*. Generic path: numerical, float64."""
        t = as_float_tensor(t)
        (_, b), (_, b_closed), a, b_value = self._derived_domain()
        return numeric_conjugate(t, self.f_log, self.f_prime_log, self.f_over_u_log, low=a, high=b,
                                 high_closed=b_closed, f_at_zero=self.f_at_zero, boundary_value_high=b_value,
                                 s_range=self.s_range)

    def _extended_conjugate(self, t, formula: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """f* on the extended reals: ``formula`` on finite t (fed only finite t), the exact limits
        f*(-inf) = -f(0+) and f*(+inf) = +inf, NaN for NaN (book chapter 3)."""
        t = as_float_tensor(t)
        finite = torch.isfinite(t)
        value = formula(safe_where(finite, t, 0.0))
        edge = torch.where(t > 0, _inf_like(value), torch.full_like(value, -self.f_at_zero))
        return keep_nan(t, torch.where(finite, value, edge))

    # f in s = log u for the numeric conjugate, float64 (subclasses may give forms that do not overflow)
    #: the bisection interval of s = log u: every u > 0 that float64 represents
    s_range = (S_MIN, S_MAX)

    def f_log(self, s: torch.Tensor) -> torch.Tensor:
        """f(e^s)."""
        return self.f(torch.exp(s))

    def f_prime_log(self, s: torch.Tensor) -> torch.Tensor:
        """f'(e^s)."""
        return self.f_prime(torch.exp(s))

    def f_over_u_log(self, s: torch.Tensor) -> torch.Tensor:
        """f(e^s) e^-s (used for s > 0)."""
        return self.f(torch.exp(s)) * torch.exp(-s)

    def activation(self, v) -> torch.Tensor:
        """sigma_f(v): maps all of R into dom f* (chosen from the shape of dom f*)."""
        v = as_float_tensor(v)
        low, high = self.domain
        if low == -INF and high == INF:
            return v
        if low == -INF:
            return high - F.softplus(-v)
        if high == INF:
            return low + F.softplus(v)
        return low + (high - low) * torch.sigmoid(v)

    def conjugate_activation(self, v) -> torch.Tensor:
        """f*(sigma_f(v)). Subclasses override with a stable closed form; generic: compose."""
        return self.conjugate(self.activation(v))

    # ----- misc ------------------------------------------------------------------------
    @property
    def tag(self) -> str:
        """Short name with parameters, for tables and legends: 'kl', 'alpha(0.5)'."""
        return self.name + "".join(f"({v:g})" for v in self.params.values())

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"fdiv.get({self.name!r}{', ' + params if params else ''})"


def _torch_fn(fn):
    def wrapped(*args):
        args = [a if isinstance(a, torch.Tensor) else torch.as_tensor(float(a), dtype=torch.float64) for a in args]
        return fn(*args)
    return wrapped


class _TorchModule:
    """Name space for sympy.lambdify: sympy functions mapped to torch (constants become float64 tensors)."""

    log = staticmethod(_torch_fn(torch.log))
    exp = staticmethod(_torch_fn(torch.exp))
    sqrt = staticmethod(_torch_fn(torch.sqrt))
    Abs = staticmethod(_torch_fn(torch.abs))
    sign = staticmethod(_torch_fn(torch.sign))

    @staticmethod
    def Heaviside(x, h=0.5):
        x = _torch_fn(lambda y: y)(x)
        return torch.heaviside(x, torch.as_tensor(h, dtype=x.dtype))


_TORCH_MODULE = {k: getattr(_TorchModule, k) for k in ("log", "exp", "sqrt", "Abs", "sign", "Heaviside")}


# --------------------------------------------------------------------------------------------
# Closed forms. Each class: f, f', f* over u > 0 with its domain, sigma_f, and a stable f*(sigma_f).
# --------------------------------------------------------------------------------------------
class KL(Divergence):
    r"""Forward KL: f(u) = u log u; f*(t) = e^{t-1} on R; sigma_f(v) = v (chapter 1, 3)."""

    name, label = "kl", "Kullback-Leibler KL(P||Q)"
    f_expr, conjugate_expr, activation_expr = "u*log(u)", "exp(t - 1)", "v"
    domain, domain_closed = (-INF, INF), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 1.0, 0.0, INF, INF

    @property
    def sympy_f(self):
        return U * sp.log(U)

    def f(self, u):
        return self._extended_f(u, lambda u: torch.xlogy(u, u))

    def f_prime(self, u):
        return torch.log(_u(u)) + 1.0

    def conjugate(self, t):
        return self._extended_conjugate(t, lambda t: torch.exp(t - 1.0))

    def activation(self, v):
        return as_float_tensor(v)

    def conjugate_activation(self, v):
        return torch.exp(as_float_tensor(v) - 1.0)


class ReverseKL(Divergence):
    r"""Reverse KL: f(u) = -log u, D_f = KL(Q||P); f*(t) = -1 - log(-t) on t < 0;
    sigma_f(v) = -e^{-v}; f*(sigma_f(v)) = v - 1 (chapter 1, 3)."""

    name, label = "reverse_kl", "reverse KL, KL(Q||P)"
    f_expr, conjugate_expr, activation_expr = "-log(u)", "-1 - log(-t)", "-exp(-v)"
    domain, domain_closed = (-INF, 0.0), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = -1.0, INF, 0.0, -INF

    @property
    def sympy_f(self):
        return -sp.log(U)

    def f(self, u):
        return self._extended_f(u, lambda u: -torch.log(u))

    def f_prime(self, u):
        return -1.0 / _u(u)

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    @staticmethod
    def _conjugate(t):
        ok = t < 0
        return torch.where(ok, -1.0 - torch.log(-safe_where(ok, t, -1.0)), _inf_like(t))

    def activation(self, v):
        return -torch.exp(-as_float_tensor(v))

    def conjugate_activation(self, v):
        return as_float_tensor(v) - 1.0


class Pearson(Divergence):
    r"""Pearson chi^2: f(u) = (u - 1)^2. Over u > 0 the conjugate is piecewise:
    f*(t) = -1 for t <= -2 (sup at u -> 0), t + t^2/4 for t > -2; dom f* = R; sigma_f(v) = v.
    (The f-GAN paper's t + t^2/4 on all of R is the conjugate over u in R.)"""

    name, label = "pearson", "Pearson chi^2"
    f_expr, conjugate_expr, activation_expr = "(u - 1)**2", "-1 if t <= -2 else t + t**2/4", "v"
    domain, domain_closed = (-INF, INF), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, 1.0, INF, INF

    @property
    def sympy_f(self):
        return (U - 1) ** 2

    def f(self, u):
        return self._extended_f(u, lambda u: (u - 1.0) ** 2)

    def f_prime(self, u):
        return 2.0 * (_u(u) - 1.0)

    def conjugate(self, t):
        return self._extended_conjugate(t, lambda t: torch.where(t > -2.0, t + 0.25 * t * t, -torch.ones_like(t)))

    def activation(self, v):
        return as_float_tensor(v)

    def conjugate_activation(self, v):
        return self.conjugate(v)


class Neyman(Divergence):
    r"""Neyman chi^2: f(u) = (1 - u)^2 / u; f*(t) = 2 - 2 sqrt(1 - t) on t <= 1 (closed: f*(1) = 2);
    sigma_f(v) = 1 - e^{-v}; f*(sigma_f(v)) = 2 - 2 e^{-v/2}."""

    name, label = "neyman", "Neyman chi^2"
    f_expr, conjugate_expr, activation_expr = "(1 - u)**2/u", "2 - 2*sqrt(1 - t)", "1 - exp(-v)"
    domain, domain_closed = (-INF, 1.0), (False, True)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, INF, 1.0, INF

    @property
    def sympy_f(self):
        return (1 - U) ** 2 / U

    def f(self, u):
        return self._extended_f(u, lambda u: (1.0 - u) * ((1.0 - u) / u))  # no overflow of (1 - u)^2

    def f_prime(self, u):
        u = _u(u)
        return 1.0 - 1.0 / (u * u)

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    @staticmethod
    def _conjugate(t):
        ok = t <= 1.0
        return torch.where(ok, 2.0 - 2.0 * torch.sqrt(1.0 - safe_where(ok, t, 0.0)), _inf_like(t))

    def activation(self, v):
        return -torch.expm1(-as_float_tensor(v))

    def conjugate_activation(self, v):
        return 2.0 - 2.0 * torch.exp(-0.5 * as_float_tensor(v))


class SquaredHellinger(Divergence):
    r"""Squared Hellinger: f(u) = (sqrt u - 1)^2; f*(t) = t / (1 - t) on t < 1;
    sigma_f(v) = 1 - e^{-v}; f*(sigma_f(v)) = e^v - 1 (expm1)."""

    name, label = "squared_hellinger", "squared Hellinger"
    f_expr, conjugate_expr, activation_expr = "(sqrt(u) - 1)**2", "t/(1 - t)", "1 - exp(-v)"
    domain, domain_closed = (-INF, 1.0), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, 1.0, 1.0, INF

    @property
    def sympy_f(self):
        return (sp.sqrt(U) - 1) ** 2

    def f(self, u):
        return self._extended_f(u, lambda u: (torch.sqrt(u) - 1.0) ** 2)

    def f_prime(self, u):
        return 1.0 - 1.0 / torch.sqrt(_u(u))

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    @staticmethod
    def _conjugate(t):
        ok = t < 1.0
        ts = safe_where(ok, t, 0.0)
        return torch.where(ok, ts / (1.0 - ts), _inf_like(t))

    def activation(self, v):
        return -torch.expm1(-as_float_tensor(v))

    def conjugate_activation(self, v):
        return torch.expm1(as_float_tensor(v))


class Jeffrey(Divergence):
    r"""Jeffrey (symmetric KL): f(u) = (u - 1) log u; with w = W(e^{1-t}) (Lambert W),
    f*(t) = w + 1/w + t - 2 = 1/w - log w - 1 on R (the second form has no cancellation);
    sigma_f(v) = v."""

    name, label = "jeffrey", "Jeffrey, KL(P||Q) + KL(Q||P)"
    f_expr, conjugate_expr, activation_expr = "(u - 1)*log(u)", "W(e^(1-t)) + 1/W(e^(1-t)) + t - 2", "v"
    domain, domain_closed = (-INF, INF), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, INF, INF, INF

    @property
    def sympy_f(self):
        return (U - 1) * sp.log(U)

    def f(self, u):
        return self._extended_f(u, lambda u: (u - 1.0) * torch.log(u))

    def f_prime(self, u):
        u = _u(u)
        return torch.log(u) + 1.0 - 1.0 / u

    def conjugate(self, t):
        return self._extended_conjugate(t, _JeffreyConjugate.apply)

    def activation(self, v):
        return as_float_tensor(v)

    def conjugate_activation(self, v):
        return self.conjugate(v)


class _JeffreyConjugate(torch.autograd.Function):
    """f*(t) = e^{-l} - l - 1 with l = log W(e^{1-t}); d f*/dt = u* = 1/w = e^{-l}."""

    @staticmethod
    def forward(ctx, t):  # type: ignore[override]
        l = log_w_exp(1.0 - t.detach().to(torch.float64))
        inv_w = torch.exp(-l)
        ctx.save_for_backward(inv_w)
        return (inv_w - l - 1.0).to(t.dtype)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (inv_w,) = ctx.saved_tensors
        return grad * inv_w.to(grad.dtype)


class JensenShannon(Divergence):
    r"""Jensen-Shannon in the notes' convention, bounded by log 2:
    f(u) = 1/2 (u log u - (u + 1) log((u + 1)/2)), D = 1/2 KL(P||M) + 1/2 KL(Q||M), M = (P + Q)/2;
    f*(t) = -1/2 log(2 - e^{2t}) on t < log(2)/2; sigma_f(v) = 1/2 (log 2 + log sigmoid(v));
    f*(sigma_f(v)) = 1/2 (softplus(v) - log 2). (The f-GAN paper's "JS" is twice this.)"""

    name, label = "js", "Jensen-Shannon (bounded by log 2)"
    f_expr = "(u*log(u) - (u + 1)*log((u + 1)/2))/2"
    conjugate_expr, activation_expr = "-log(2 - exp(2*t))/2", "(log(2) + log(sigmoid(v)))/2"
    domain, domain_closed = (-INF, 0.5 * LOG2), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, 0.5 * LOG2, 0.5 * LOG2, INF

    @property
    def sympy_f(self):
        return (U * sp.log(U) - (U + 1) * sp.log((U + 1) / 2)) / 2

    def f(self, u):
        return self._extended_f(u, lambda u: 0.5 * (_gan_f(u) + (u + 1.0) * LOG2))

    def f_prime(self, u):
        u = _u(u)
        return 0.5 * (LOG2 + torch.log(u) - torch.log1p(u))

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    @staticmethod
    def _conjugate(t):
        ok = t < 0.5 * LOG2
        ts = safe_where(ok, t, 0.0)
        # 2 - e^{2t} = -2 expm1(2t - log 2)
        return torch.where(ok, -0.5 * (LOG2 + torch.log(-torch.expm1(2.0 * ts - LOG2))), _inf_like(t))

    def activation(self, v):
        return 0.5 * (LOG2 + F.logsigmoid(as_float_tensor(v)))

    def conjugate_activation(self, v):
        return 0.5 * (F.softplus(as_float_tensor(v)) - LOG2)


def _gan_f(u: torch.Tensor) -> torch.Tensor:
    """u log u - (u + 1) log(u + 1) for u >= 0, accurate to rounding: as written for u <= 1 (both terms
    negative), as -u log1p(1/u) - log1p(u) above, where the two terms of the first form ~ u log u
    would cancel (in float32 they cancel completely from u ~ 1e8)."""
    small = u <= 1.0
    us, ub = safe_where(small, u, 1.0), safe_where(~small, u, 1.0)
    return torch.where(small, torch.xlogy(us, us) - (us + 1.0) * torch.log1p(us),
                       -ub * torch.log1p(1.0 / ub) - torch.log1p(ub))


class GAN(Divergence):
    r"""The GAN generator (chapter 6): f(u) = u log u - (u + 1) log(u + 1); f(1) = -2 log 2 (not 0:
    D_GAN = 2 D_JS - 2 log 2 is an f-divergence only up to that constant);
    f*(t) = -log(1 - e^t) on t < 0; sigma_f(v) = log sigmoid(v), so T_w = log D_w with D_w = sigmoid(V_w);
    f*(sigma_f(v)) = -log(1 - sigmoid(v)) = softplus(v)."""

    name, label = "gan", "GAN (2 JS - 2 log 2)"
    f_expr, conjugate_expr, activation_expr = "u*log(u) - (u + 1)*log(u + 1)", "-log(1 - exp(t))", "log(sigmoid(v))"
    domain, domain_closed = (-INF, 0.0), (False, False)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = -LOG2, 0.0, 0.0, -INF

    @property
    def sympy_f(self):
        return U * sp.log(U) - (U + 1) * sp.log(U + 1)

    def f(self, u):
        return self._extended_f(u, _gan_f)

    def f_prime(self, u):
        u = _u(u)
        return torch.log(u) - torch.log1p(u)

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    @staticmethod
    def _conjugate(t):
        ok = t < 0
        return torch.where(ok, -torch.log(-torch.expm1(safe_where(ok, t, -1.0))), _inf_like(t))

    def activation(self, v):
        return F.logsigmoid(as_float_tensor(v))

    def conjugate_activation(self, v):
        return F.softplus(as_float_tensor(v))


class TotalVariation(Divergence):
    r"""Total variation: f(u) = |u - 1| / 2. Over u > 0: f*(t) = -1/2 for t < -1/2 (sup at u -> 0),
    t on [-1/2, 1/2], +inf for t > 1/2; dom f* = (-inf, 1/2]. sigma_f(v) = tanh(v)/2, f*(sigma_f(v)) = tanh(v)/2.
    f is not differentiable at 1: f'(1) is reported as 0, the middle of the subdifferential [-1/2, 1/2]."""

    name, label = "total_variation", "total variation"
    f_expr, conjugate_expr, activation_expr = "Abs(u - 1)/2", "-1/2 if t < -1/2 else t (t <= 1/2)", "tanh(v)/2"
    domain, domain_closed = (-INF, 0.5), (False, True)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, 0.5, 0.5, INF

    @property
    def sympy_f(self):
        return sp.Abs(U - 1) / 2

    def f(self, u):
        return self._extended_f(u, lambda u: 0.5 * torch.abs(u - 1.0))

    def f_prime(self, u):
        u = _u(u)
        return keep_nan(u, 0.5 * torch.sign(u - 1.0))

    def conjugate(self, t):
        return self._extended_conjugate(t, lambda t: torch.where(t > 0.5, _inf_like(t), torch.clamp(t, min=-0.5)))

    def activation(self, v):
        return 0.5 * torch.tanh(as_float_tensor(v))

    def conjugate_activation(self, v):
        return 0.5 * torch.tanh(as_float_tensor(v))


class Alpha(Divergence):
    r"""Amari's alpha-divergence, alpha not in {0, 1}: f(u) = (u^alpha - 1 - alpha (u - 1)) / (alpha (alpha - 1)).
    (alpha = 2: Pearson/2; alpha = -1: Neyman/2; alpha = 1/2: 2 x squared Hellinger; alpha -> 1: KL; -> 0: reverse KL.)
    With s = 1 + (alpha - 1) t, over u > 0:
      alpha > 1:      f*(t) = (s^{alpha/(alpha-1)} - 1)/alpha for t > -1/(alpha-1), -1/alpha below; dom R; sigma(v) = v.
      alpha < 1:      f*(t) = (s^{alpha/(alpha-1)} - 1)/alpha on t < 1/(1-alpha) (closed there when alpha < 0);
                      sigma(v) = 1/(1-alpha) - softplus(-v), so s = (1-alpha) softplus(-v) and the power is
                      taken in log space (log softplus)."""

    name, label = "alpha", "alpha-divergence"
    #: parameters to use when a test or table needs one member of the family
    example_params = {"alpha": 0.5}
    # set per instance in __init__ (plain attributes shadow the base-class properties)
    domain = domain_closed = f_prime_one = f_at_zero = f_slope_inf = None
    f_at_inf = INF  # u^alpha/(alpha (alpha - 1)) or u/(1 - alpha) dominates: +inf for every alpha

    def __init__(self, alpha: float) -> None:
        super().__init__()
        alpha = check_number("alpha", alpha, allowed="a finite real number not in {0, 1}")
        if alpha in (0.0, 1.0):
            raise ValueError(f"alpha must not be 0 or 1 (got {alpha!r}): those limits are "
                             f"reverse_kl (alpha -> 0) and kl (alpha -> 1)")
        self.alpha = alpha
        self.params = {"alpha": alpha}
        a = alpha
        self.label = f"alpha-divergence (alpha = {a:g})"
        self.f_expr = f"(u**{a:g} - 1 - {a:g}*(u - 1))/({a:g}*({a:g} - 1))"
        sign = "+" if a > 1 else "-"
        self.conjugate_expr = (f"((1 {sign} {abs(a - 1):g}*t)**({a / (a - 1):g}) - 1)/{a:g}"
                               + (f", {-1 / a:g} for t <= {-1 / (a - 1):g}" if a > 1 else ""))
        if a > 1:
            self.domain, self.domain_closed = (-INF, INF), (False, False)
            self.activation_expr = "v"
        else:
            self.domain, self.domain_closed = (-INF, 1.0 / (1.0 - a)), (False, a < 0)
            self.activation_expr = f"{1 / (1 - a):g} - softplus(-v)"
        self.f_prime_one = 0.0
        self.f_at_zero = 1.0 / a if a > 0 else INF
        self.f_slope_inf = INF if a > 1 else 1.0 / (1.0 - a)

    @property
    def _alpha_sym(self):
        return sp.nsimplify(self.alpha, rational=True)

    @property
    def sympy_f(self):
        a = self._alpha_sym
        return (U ** a - 1 - a * (U - 1)) / (a * (a - 1))

    def f(self, u):
        return self._extended_f(u, self._f)

    def _f(self, u):
        # (u^alpha - 1)/(alpha (alpha - 1)) - (u - 1)/(alpha - 1): each term overflows only where f does,
        # and where both do (oo - oo) f itself is +oo
        a = self.alpha
        value = torch.expm1(a * torch.log(u)) / (a * (a - 1.0)) - (u - 1.0) / (a - 1.0)
        return torch.where(torch.isnan(value), _inf_like(value), value)

    def f_prime(self, u):
        a = self.alpha
        return (torch.pow(_u(u), a - 1.0) - 1.0) / (a - 1.0)

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    def _conjugate(self, t):
        a = self.alpha
        p = a / (a - 1.0)
        s = 1.0 + (a - 1.0) * t
        if a > 1:
            # s <= 0 (t <= -1/(a-1)): the sup sits at u -> 0, f* = -1/alpha; clamp keeps the power finite
            return (torch.pow(torch.clamp(s, min=0.0), p) - 1.0) / a
        high = 1.0 / (1.0 - a)
        ok = (t < high) | ((t == high) & (a < 0))
        ss = safe_where(ok & (s > 0), s, 1.0)
        value = torch.where(s > 0, torch.pow(ss, p), torch.zeros_like(t))  # s = 0 only when alpha < 0 (p > 0)
        return torch.where(ok, (value - 1.0) / a, _inf_like(t))

    def activation(self, v):
        v = as_float_tensor(v)
        if self.alpha > 1:
            return v
        return 1.0 / (1.0 - self.alpha) - F.softplus(-v)

    def conjugate_activation(self, v):
        v = as_float_tensor(v)
        a = self.alpha
        if a > 1:
            return self.conjugate(v)
        p = a / (a - 1.0)
        log_s = math.log(1.0 - a) + log_softplus(-v)  # s = (1 - alpha) softplus(-v) > 0
        return torch.expm1(p * log_s) / a

    def __repr__(self) -> str:
        return f"fdiv.get('alpha', alpha={self.alpha:g})"


class Triangular(Divergence):
    r"""Triangular discrimination (Vincze-Le Cam): f(u) = (u - 1)^2 / (u + 1). Over u > 0:
    f*(t) = -1 for t <= -3 (sup at u -> 0), 4 - t - 4 sqrt(1 - t) on (-3, 1], +inf for t > 1 (closed: f*(1) = 3);
    sigma_f(v) = 1 - e^{-v}; with r = e^{-v/2}: f*(sigma_f(v)) = (r - 2)^2 - 1 for r < 2, else -1."""

    name, label = "triangular", "triangular discrimination"
    f_expr = "(u - 1)**2/(u + 1)"
    conjugate_expr, activation_expr = "-1 if t <= -3 else 4 - t - 4*sqrt(1 - t)", "1 - exp(-v)"
    domain, domain_closed = (-INF, 1.0), (False, True)
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, 1.0, 1.0, INF

    @property
    def sympy_f(self):
        return (U - 1) ** 2 / (U + 1)

    def f(self, u):
        return self._extended_f(u, lambda u: (u - 1.0) * ((u - 1.0) / (u + 1.0)))  # no overflow of (u - 1)^2

    def f_prime(self, u):
        u = _u(u)
        return (u - 1.0) / (u + 1.0) * ((u + 3.0) / (u + 1.0))

    def conjugate(self, t):
        return self._extended_conjugate(t, self._conjugate)

    @staticmethod
    def _conjugate(t):
        ok = t <= 1.0
        mid = ok & (t > -3.0)
        ts = safe_where(mid, t, 0.0)
        value = torch.where(mid, 4.0 - ts - 4.0 * torch.sqrt(1.0 - ts), -torch.ones_like(t))
        return torch.where(ok, value, _inf_like(t))

    def activation(self, v):
        return -torch.expm1(-as_float_tensor(v))

    def conjugate_activation(self, v):
        v = as_float_tensor(v)
        mid = v > -2.0 * LOG2  # r = e^{-v/2} < 2  <=>  t > -3
        r = torch.exp(-0.5 * safe_where(mid, v, 0.0))
        return keep_nan(v, torch.where(mid, (r - 2.0) ** 2 - 1.0, -torch.ones_like(v)))


class ArithmeticGeometric(Divergence):
    r"""Arithmetic-geometric mean divergence (Taneja): f(u) = (u + 1)/2 log((u + 1)/(2 sqrt u)), so
    D_f(P||Q) = \int (p + q)/2 log( ((p + q)/2) / sqrt(p q) ) dx (arithmetic against geometric mean).
    f'(u) = 1/2 log((u + 1)/(2 sqrt u)) + 1/4 - 1/(4u) is not invertible in closed form, so f* is computed
    numerically (bisection in s = log u, where f(e^s) = e^{s/2} cosh(s/2) log cosh(s/2)); dom f* = R.
    f*(t) ~ e^{4t - 1} for large t (finite up to t ~ 22.4 in float32, ~ 177.6 in float64) and
    ~ -1/4 - log(-t)/4 for t -> -oo (f*(-1e300) = -172.94).

    Output activation (book chapter 5): sigma_f(v) = v for v <= 0 and log(1 + 4v)/4 for v > 0, an
    increasing map of R onto R with sigma_f'(0) = 1.  The optimal witness f'(p/q) grows only like
    log(p/q)/4, while f*(t) grows like e^{4t}: with sigma_f(v) = v, the critic's value on data the
    generator has not reached rises without a counterweight, and the first sample that lands there
    costs e^{4V} (an overflow in float32 from V ~ 22).  With the log branch f*(sigma_f(v)) grows
    linearly in v (about 1.47 v), so the critic's loss stays finite for every finite v."""

    name, label = "ag", "arithmetic-geometric mean divergence"
    f_expr = "(u + 1)/2*log((u + 1)/(2*sqrt(u)))"
    activation_expr = "Piecewise((v, v <= 0), (log(1 + 4*v)/4, True))"
    f_prime_one, f_at_zero, f_slope_inf, f_at_inf = 0.0, INF, INF, INF
    domain, domain_closed = (-INF, INF), (False, False)
    # in s = log u nothing below overflows up to s = 745, where f*(t) ~ e^(4t - 1) has long overflowed
    s_range = (S_MIN, 745.0)

    def _derived_domain(self):
        # f'(u) -> -oo as u -> 0 and +oo as u -> oo: dom f* = R (checked symbolically in the tests)
        return ((-INF, INF), (False, False), -INF, INF)

    def activation(self, v):
        v = as_float_tensor(v)
        # log(1 + 4v) as log1p(4v) below v = 1 and log(v + 1/4) + log 4 above, where 4v may overflow
        small, large = (v > 0) & (v < 1.0), v >= 1.0  # NaN and v <= 0 keep v
        log_up = torch.where(large, torch.log(safe_where(large, v, 1.0) + 0.25) + 2.0 * LOG2,
                             torch.log1p(4.0 * safe_where(small, v, 0.0)))
        return torch.where(small | large, log_up / 4.0, v)

    def conjugate_activation(self, v):
        # sigma_f in float64, so that f*(t) ~ e^{4t}, whose relative error is about 4t times t's, gets
        # a float32 v to its rounding
        v = as_float_tensor(v)
        return self.conjugate(self.activation(v.double())).to(v.dtype)

    @property
    def sympy_f(self):
        return (U + 1) / 2 * sp.log((U + 1) / (2 * sp.sqrt(U)))

    # (u + 1)/(2 sqrt u) = 1 + w with w = (sqrt u - 1)^2/(2 sqrt u) = cosh(s/2) - 1 = 2 sinh(s/4)^2 (u = e^s):
    # log1p(w) has no cancellation near u = 1 and no overflow for large or small u
    @staticmethod
    def _log_mean_ratio(u):
        r = torch.sqrt(u)
        return torch.log1p(0.5 * (r - 1.0) * (1.0 - 1.0 / r))

    def f(self, u):
        return self._extended_f(u, lambda u: 0.5 * (u + 1.0) * self._log_mean_ratio(u))

    def f_prime(self, u):
        u = _u(u)
        value = 0.5 * self._log_mean_ratio(u) + 0.25 - 0.25 / u
        return torch.where(u == 0, -_inf_like(value), value)  # f'(0+) = -oo (the formula gives oo - oo)

    @staticmethod
    def _log_cosh_half(s):
        return torch.log1p(2.0 * torch.sinh(0.25 * s) ** 2)  # log cosh(s/2)

    def f_log(self, s):
        return 0.5 * (torch.exp(s) + 1.0) * self._log_cosh_half(s)

    def f_prime_log(self, s):
        # 1/4 - e^-s/4 = -expm1(-s)/4; far below s = 0 as 1/4 - e^(-s - log 4), which overflows only
        # where f' itself is below -max
        tiny = s < -1.0
        far = 0.25 - torch.exp(-safe_where(tiny, s, -2.0) - 2.0 * LOG2)
        near = -0.25 * torch.expm1(-safe_where(~tiny, s, 0.0))
        return 0.5 * self._log_cosh_half(s) + torch.where(tiny, far, near)

    def f_over_u_log(self, s):
        return 0.5 * (1.0 + torch.exp(-s)) * self._log_cosh_half(s)


# --------------------------------------------------------------------------------------------
# Operations that derive new divergences
# --------------------------------------------------------------------------------------------
class _Derived(Divergence):
    """A divergence given by a torch generator and its sympy expression; conjugate derived numerically."""

    def __init__(self, name, label, f_torch, sympy_f, f_at_zero, f_slope_inf):
        super().__init__()
        self.name, self.label = name, label
        self._f_torch, self._sympy_f = f_torch, sympy_f
        self._f_at_zero, self._f_slope_inf = f_at_zero, f_slope_inf
        self.f_expr = str(sympy_f)

    @property
    def sympy_f(self):
        return self._sympy_f

    @property
    def f_at_zero(self):
        return self._f_at_zero

    @property
    def f_slope_inf(self):
        return self._f_slope_inf

    def f(self, u):
        return self._extended_f(u, self._f_formula)

    def _f_formula(self, u):
        try:  # the simplified sympy expression avoids the cancellation in u f(1/u) for extreme u
            return self._f_lambdified(u).to(u.dtype)
        except (TypeError, NameError, RuntimeError):
            return self._f_torch(u)

    def f_prime(self, u):
        u = _u(u)
        try:  # sympy's derivative of the simplified expression: autograd of u f(1/u) cancels badly
            return self._f_prime_lambdified(u).to(u.dtype)
        except (TypeError, NameError, RuntimeError):
            with torch.enable_grad():
                x = u.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(self._f_torch(x).sum(), x)
            return g

    @property
    def activation_expr(self):
        low, high = self.domain
        if low == -INF and high == INF:
            return "v"
        if low == -INF:
            return f"{high:g} - softplus(-v)"
        if high == INF:
            return f"{low:g} + softplus(v)"
        return f"{low:g} + {high - low:g}*sigmoid(v)"


def dual(d: Divergence) -> Divergence:
    r"""The dual generator f_dual(u) = u f(1/u): D_{f_dual}(P||Q) = D_f(Q||P) (arguments swapped).
    dual(kl) is reverse_kl, dual(pearson) is neyman; the conjugate is derived (numerically), not typed in."""
    d = get(d) if isinstance(d, str) else d
    f_sym = sp.simplify(U * d.sympy_f.subs(U, 1 / U))
    return _Derived(f"dual({d.name})", f"dual of {d.label}", lambda u: u * d.f(1.0 / u), f_sym,
                    f_at_zero=d.f_slope_inf, f_slope_inf=d.f_at_zero)


def symmetrize(d: Divergence) -> Divergence:
    r"""The symmetrised generator f(u) + u f(1/u): D = D_f(P||Q) + D_f(Q||P). symmetrize(kl) is jeffrey."""
    d = get(d) if isinstance(d, str) else d
    f_sym = sp.simplify(d.sympy_f + U * d.sympy_f.subs(U, 1 / U))
    both = d.f_at_zero + d.f_slope_inf
    return _Derived(f"symmetrize({d.name})", f"symmetrised {d.label}", lambda u: d.f(u) + u * d.f(1.0 / u),
                    f_sym, f_at_zero=both, f_slope_inf=both)


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Callable[..., Divergence]] = {}


def register(name: str, factory: Callable[..., Divergence]) -> None:
    """Register ``factory`` (a Divergence subclass or a function returning one) under ``name``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"divergence names are identifiers like 'kl', got {name!r}")
    _REGISTRY[name] = factory


def names() -> tuple[str, ...]:
    """The registered divergence names."""
    return tuple(_REGISTRY)


def every(alphas=(-1.0, 0.5, 2.0)) -> list[Divergence]:
    """One instance of every registered divergence, the alpha family at each of ``alphas``
    (what the book's tables and checks loop over)."""
    out: list[Divergence] = []
    for name in names():
        if name == "alpha":
            out += [get(name, alpha=a) for a in alphas]
        else:
            out.append(get(name))
    return out


def get(name, **params) -> Divergence:
    """The divergence registered as ``name`` (parameterised families take keyword parameters:
    ``get("alpha", alpha=0.5)``). A Divergence passes through unchanged."""
    if isinstance(name, Divergence):
        if params:
            raise ValueError(f"parameters {params} given with an already-built divergence {name!r}")
        return name
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown divergence {name!r}; known divergences: {', '.join(names())}")
    factory = _REGISTRY[name]
    try:
        return factory(**params)
    except TypeError as exc:
        import inspect

        accepted = [p for p in inspect.signature(factory).parameters]
        example = getattr(factory, "example_params", None)
        hint = f" (for example fdiv.get({name!r}, {', '.join(f'{k}={v}' for k, v in example.items())}))" if example else ""
        raise ValueError(f"divergence {name!r} takes parameters {accepted or 'none'}, got {params}{hint}") from exc


for _cls in (KL, ReverseKL, Pearson, Neyman, SquaredHellinger, Jeffrey, JensenShannon, GAN, TotalVariation,
             Alpha, Triangular, ArithmeticGeometric):
    register(_cls.name, _cls)
