r"""Symbolic Fenchel conjugates of f-divergence generators (book chapter 3, "The Fenchel conjugate").

For a convex generator f on u > 0 the conjugate is the extended-value function

    f^*(t) = \sup_{u > 0} \{ t u - f(u) \},      dom f^* = \{ t : f^*(t) < \infty \}.

This module derives f^* with sympy the way one does it by hand:

1. g(u) = t u - f(u) is concave in u, g'(u) = t - f'(u) and f' is non-decreasing.
2. a = f'(0^+) and b = f'(\infty) (limits) bound the slopes that are attained inside u > 0.
3. for a < t < b the stationarity equation f'(u) = t has a unique root u^*(t) > 0 and
   f^*(t) = t u^*(t) - f(u^*(t));
4. for t <= a (a finite) g is decreasing, the supremum sits at u -> 0^+: f^*(t) = -f(0^+);
5. for t > b, g grows linearly: f^*(t) = +\infty; at t = b (b finite) f^*(b) = \lim_{u\to\infty} (b u - f(u)),
   finite or not (this decides whether dom f^* is closed at b).

Non-smooth generators (|u - 1|/2, Max, Min, Piecewise) are split at their kinks; at a kink k the
subdifferential [f'(k^-), f'(k^+)] is a whole interval of slopes t for which u^* = k.
When f'(u) = t cannot be inverted in closed form (e.g. the arithmetic-geometric divergence) the
conjugate is returned in implicit form t u^*(t) - f(u^*(t)) with u^* an undefined function
``ustar(t)``; :meth:`Derivation.numeric` evaluates it by bisection.

Generators with free parameters work when sympy can decide the signs it needs from the symbols'
assumptions, e.g. the alpha family with alpha = 1 + beta, beta = Symbol("beta", positive=True);
``domain`` then holds sympy expressions instead of floats. Otherwise a ValueError asks for numeric
values (floats are turned into exact rationals: alpha = 0.5 is alpha = 1/2).

Public API::

    u, t                                  # sympy symbols (u positive, t real)
    derive(f_expr) -> Derivation          # everything, with printable steps
    derive_conjugate(f_expr) -> (f^*(t), (low, high))
    is_convex(f_expr), satisfies_normalisation(f_expr), biconjugate_check(...)
    (the table and printout of ``fdiv list`` / ``fdiv derive``: fdiv.core.tables)
"""
from __future__ import annotations

import dataclasses
import functools
import math
import sys
from typing import Any, Callable, Sequence

import numpy as np
import sympy

u = sympy.Symbol("u", positive=True)
t = sympy.Symbol("t", real=True)

#: name of the undefined function standing for the root of f'(u) = t when it has no closed form
U_STAR = sympy.Function("ustar")

_s = sympy.Symbol("s", positive=True)  # auxiliary distance to a finite end of (a, b)
_SOLVE_DEPTH = 100  # extra stack frames allowed to sympy.solve (see _capped_solve)
_NONSMOOTH = (sympy.Abs, sympy.sign, sympy.Heaviside, sympy.Piecewise, sympy.Max, sympy.Min)

__all__ = [
    "u", "t", "U_STAR", "Derivation", "Piece", "Check", "BiconjugateResult",
    "derive", "derive_conjugate", "conjugate_numpy", "is_convex", "satisfies_normalisation",
    "biconjugate_check", "format_expr", "latex_expr", "latex_domain", "format_domain", "to_float",
]


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _prepare(f_expr: Any) -> sympy.Expr:
    """sympify, use the module's positive ``u`` and turn floats into rationals (exact algebra)."""
    if hasattr(f_expr, "sympy_f"):
        f_expr = f_expr.sympy_f
    if isinstance(f_expr, str):
        f_expr = sympy.sympify(f_expr, locals={"u": u, "t": t})
    f = sympy.sympify(f_expr)
    if not isinstance(f, sympy.Expr):
        raise ValueError(f"f must be a sympy expression in u, got {f_expr!r}")
    rep = {x: u for x in f.free_symbols if x.name == "u" and x != u}
    if rep:
        f = f.xreplace(rep)
    floats = f.atoms(sympy.Float)
    if floats:
        f = f.xreplace({x: sympy.nsimplify(x, rational=True) for x in floats})
    if t in f.free_symbols:
        raise ValueError(f"f must be a function of u (t is the conjugate's variable), got {f}")
    return f


def to_float(x) -> float:
    """A sympy number (or a Python number) as a float: +-oo become +-inf; an undefined value (zoo, nan,
    an AccumBounds such as lim sin(u)) is a ValueError; an expression with free symbols a TypeError."""
    if x == sympy.oo:
        return math.inf
    if x == -sympy.oo:
        return -math.inf
    if isinstance(x, sympy.Basic) and (x is sympy.zoo or x is sympy.nan or x.has(sympy.AccumBounds)):
        raise ValueError(f"limit is not a number: {x}")
    return float(x)


def _decide(rel, what: str) -> bool:
    """Truth value of a sympy relation, or a ValueError if it depends on free parameters."""
    r = sympy.simplify(rel) if not isinstance(rel, (bool, sympy.logic.boolalg.BooleanAtom)) else rel
    if r in (True, sympy.true):
        return True
    if r in (False, sympy.false):
        return False
    try:
        lhs, rhs = rel.lhs, rel.rhs
        if (lhs - rhs).free_symbols == set():
            v = complex(sympy.N(lhs - rhs, 30))
            op = type(rel)
            return bool({sympy.Lt: v.real < 0, sympy.Le: v.real <= 0, sympy.Gt: v.real > 0,
                         sympy.Ge: v.real >= 0, sympy.Eq: v.real == 0}[op])
    except (AttributeError, TypeError, KeyError):
        pass
    raise ValueError(f"cannot decide {what} ({rel}); the generator has free parameters "
                     f"{sorted(map(str, rel.free_symbols))}: give them numeric values")


def _ext_le(x, y, what) -> bool:
    """x <= y in the extended reals."""
    if x == -sympy.oo or y == sympy.oo:
        return True
    if x == sympy.oo or y == -sympy.oo:
        return False
    return _decide(sympy.Le(x, y), what)


def _limit(expr, point, direction="+"):
    try:
        val = sympy.limit(expr, u, point, direction if point not in (sympy.oo, -sympy.oo) else "-")
    except (NotImplementedError, ValueError, TypeError, RecursionError):
        val = None
    if val is None or isinstance(val, sympy.Limit) or val.has(sympy.AccumBounds) or val == sympy.nan:
        raise ValueError(f"cannot compute lim_{{u -> {point}}} {expr}")
    if val == sympy.zoo:
        val = sympy.oo
    return val


def _lambert_rules(expr):
    """exp(A + W(z)) -> exp(A) z / W(z) and log(W(z)) -> log(z) - W(z) (real branch, z > 0)."""
    def rexp(e):
        arg = sympy.expand(e.args[0])
        for w in arg.atoms(sympy.LambertW):
            if len(w.args) == 1 and arg.coeff(w) == 1:
                return sympy.exp(arg - w) * w.args[0] / w
        return e

    def rlog(e):
        a = e.args[0]
        if isinstance(a, sympy.LambertW) and len(a.args) == 1:
            return sympy.expand_log(sympy.log(a.args[0]), force=True) - a
        return e

    if not expr.has(sympy.LambertW):
        return expr
    e = sympy.expand_log(expr, force=True)
    e = e.replace(lambda x: isinstance(x, sympy.exp), rexp)
    e = e.replace(lambda x: isinstance(x, sympy.log), rlog)
    return sympy.simplify(e)


def _log_tidy(expr):
    """log(1/x) -> -log(x), log(-1/x) -> -log(-x) (with -x expanded)."""
    def rlog(e):
        num, den = sympy.fraction(sympy.cancel(e.args[0]))
        if num == 1 and den != 1:
            return -sympy.log(sympy.expand(den))
        if num == -1:
            return -sympy.log(sympy.expand(-den))
        return e
    return expr.replace(lambda x: isinstance(x, sympy.log), rlog)


def _candidates(expr) -> list:
    out = [expr]
    for fn in (sympy.simplify, _lambert_rules,
               lambda e: sympy.expand_log(e, force=True),
               lambda e: sympy.simplify(sympy.expand_log(e, force=True)),
               sympy.factor, sympy.cancel, sympy.radsimp, sympy.powsimp,
               lambda e: sympy.logcombine(e, force=True)):
        try:
            out.append(fn(expr))
        except Exception:  # noqa: BLE001 - simplification is best effort
            pass
    return out


def _ops(e):
    """Ranking of equivalent forms: no log(x**(expression)) (it overflows and reads badly), then
    fewest operations, then shortest text, then the text itself (deterministic)."""
    bad = any(isinstance(p, sympy.Pow) and p.exp.free_symbols
              for lg in e.atoms(sympy.log) for p in sympy.preorder_traversal(lg.args[0]))
    return (bad, sympy.count_ops(e), len(str(e)), str(e))


def _tidy(expr):
    """Shortest (count_ops) of a few equivalent rewritings."""
    if not isinstance(expr, sympy.Expr) or expr.is_number and expr.is_Atom:
        return expr
    return min(_candidates(expr), key=_ops)


def _interval_text(lo, lo_closed, hi, hi_closed, var="t") -> str:
    def end(x):
        return {sympy.oo: "oo", -sympy.oo: "-oo"}.get(x, sympy.sstr(x))
    return f"{'[' if lo_closed else '('}{end(lo)}, {end(hi)}{']' if hi_closed else ')'}"


def format_domain(domain, closed=(False, False)) -> str:
    """'(-oo, 1]' style text for dom f^* given float or sympy ends."""
    lo, hi = (sympy.oo if (isinstance(x, float) and x == math.inf) else
              -sympy.oo if (isinstance(x, float) and x == -math.inf) else sympy.nsimplify(x)
              for x in domain)
    return _interval_text(lo, closed[0], hi, closed[1])


# --------------------------------------------------------------------------------------------
# data classes
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Check:
    """Result of a property check; truthy iff ``holds``. ``method`` is 'symbolic' or 'numeric'."""
    holds: bool
    method: str
    detail: str = ""

    def __bool__(self) -> bool:
        return bool(self.holds)


@dataclasses.dataclass(frozen=True)
class Piece:
    """f restricted to an open interval (lo, hi) of u on which it is smooth."""
    f: sympy.Expr
    lo: sympy.Expr
    hi: sympy.Expr
    f_prime: sympy.Expr
    f_second: sympy.Expr
    a: sympy.Expr                 # lim_{u -> lo+} f'(u)
    b: sympy.Expr                 # lim_{u -> hi-} f'(u)
    stationary_u: sympy.Expr | None   # root of f'(u) = t for a < t < b (None if a == b)
    value: sympy.Expr | None          # t u* - f(u*)
    implicit: bool = False


@dataclasses.dataclass
class Derivation:
    r"""Everything about f^*(t) = sup_{u>0} (t u - f(u)) (book chapter 3).

    ``conjugate`` is a sympy expression in ``t`` (a Piecewise with ``oo`` outside dom f^* when
    needed), ``domain`` = (low, high) floats, ``domain_closed`` = whether each end belongs to dom f^*.
    ``steps`` is a list of (title, sympy expression or text) for printing.
    """
    f: sympy.Expr
    f_prime: sympy.Expr
    f_second: sympy.Expr
    pieces: tuple
    breakpoints: tuple
    stationary_u: sympy.Expr | None
    a: sympy.Expr                  # f'(0+)
    b: sympy.Expr                  # f'(oo)
    f_at_zero: sympy.Expr          # lim_{u->0+} f(u)
    value_at_b: sympy.Expr | None  # lim_{u->oo} (b u - f(u)) when b is finite
    conjugate: sympy.Expr
    domain: tuple
    domain_closed: tuple
    implicit: bool
    steps: list
    domain_sympy: tuple = (-sympy.oo, sympy.oo)
    _numeric: Callable | None = dataclasses.field(default=None, repr=False, compare=False)

    def numeric(self, tt) -> np.ndarray:
        """f^*(t) as float64 numpy (+inf outside dom f^*), implicit roots solved by bisection."""
        if self._numeric is None:
            self._numeric = conjugate_numpy(self)
        return self._numeric(tt)

    def in_domain(self, tt) -> np.ndarray:
        tt = np.asarray(tt, dtype=float)
        lo, hi = self.domain
        left = tt >= lo if self.domain_closed[0] else tt > lo
        right = tt <= hi if self.domain_closed[1] else tt < hi
        return left & right

    def domain_text(self) -> str:
        return _interval_text(*self.domain_sympy[:1], self.domain_closed[0], self.domain_sympy[1],
                              self.domain_closed[1])


# --------------------------------------------------------------------------------------------
# non-smooth generators: kinks and smooth pieces
# --------------------------------------------------------------------------------------------
def _positive_roots(expr) -> list:
    try:
        sols = sympy.solve(expr, u)
    except Exception:  # noqa: BLE001
        raise ValueError(f"cannot locate the kinks of f (solve {expr} = 0)")
    out = []
    for r in sols:
        if r.free_symbols:
            raise ValueError(f"kink location {r} depends on parameters: give numeric values")
        if r.is_real and r.is_positive:
            out.append(sympy.nsimplify(r))
    return out


def _breakpoints(f) -> list:
    pts = set()
    for node in sympy.preorder_traversal(f):
        if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside)):
            pts.update(_positive_roots(node.args[0]))
        elif isinstance(node, sympy.Piecewise):
            for _, cond in node.args:
                for rel in cond.atoms(sympy.core.relational.Relational):
                    pts.update(_positive_roots(rel.lhs - rel.rhs))
        elif isinstance(node, (sympy.Max, sympy.Min)):
            args = node.args
            for i in range(len(args)):
                for j in range(i + 1, len(args)):
                    pts.update(_positive_roots(args[i] - args[j]))
    return sorted(pts, key=lambda x: float(x))


def _specialise(f, m):
    """The smooth expression that equals f near the test point u = m (no kinks around it)."""
    def val(e):
        return e.subs(u, m)

    def repl(node):
        if isinstance(node, sympy.Abs):
            return node.args[0] * sympy.sign(val(node.args[0]))
        if isinstance(node, sympy.sign):
            return sympy.sign(val(node.args[0]))
        if isinstance(node, sympy.Heaviside):
            v = val(node.args[0])
            return sympy.Integer(1) if v > 0 else sympy.Integer(0)
        if isinstance(node, sympy.Max):
            return max(node.args, key=lambda e: float(val(e)))
        if isinstance(node, sympy.Min):
            return min(node.args, key=lambda e: float(val(e)))
        if isinstance(node, sympy.Piecewise):
            for e, c in node.args:
                if c.subs(u, m) in (True, sympy.true):
                    return e
            raise ValueError(f"no branch of {node} holds at u = {m}")
        return node

    for _ in range(20):
        if not f.has(*_NONSMOOTH):
            return f
        f = f.replace(lambda e: isinstance(e, _NONSMOOTH), repl)
    raise ValueError(f"could not resolve the non-smooth parts of {f}")


def _test_point(lo, hi):
    if hi == sympy.oo:
        return lo + 1 if lo != 0 else sympy.Integer(1)
    if lo == 0:
        return hi / 2
    return (lo + hi) / 2


# --------------------------------------------------------------------------------------------
# the stationarity equation
# --------------------------------------------------------------------------------------------
def _t_substitution(a, b):
    """t expressed through a positive symbol s measuring the distance to a finite end of (a, b).

    With s > 0 sympy knows the sign of e.g. sqrt(1 - t) = sqrt(s) and discards negative roots.
    """
    if b != sympy.oo:
        return b - _s, b - t          # t = b - s,  s = b - t
    if a != -sympy.oo:
        return a + _s, t - a
    return None, None


def _sample_t(a, b, n=5) -> list:
    """A few exact sample slopes strictly inside (a, b)."""
    if a == -sympy.oo and b == sympy.oo:
        return [sympy.Rational(k, 2) for k in (-3, -1, 0, 1, 4)][:n]
    if a == -sympy.oo:
        return [b - sympy.Rational(1, 2) ** k for k in (-2, 0, 1, 3, 6)][:n]
    if b == sympy.oo:
        return [a + sympy.Rational(1, 2) ** k for k in (-2, 0, 1, 3, 6)][:n]
    return [a + (b - a) * sympy.Rational(k, 8) for k in (1, 2, 4, 6, 7)][:n]


def _capped_solve(eq):
    """sympy.solve(eq, u) with a recursion cap: equations sympy cannot invert otherwise make it
    recurse for minutes (e.g. the arithmetic-geometric f'). None when it gives up."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    old = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(min(old, depth + _SOLVE_DEPTH))
        sols = sympy.solve(eq, u)
    except Exception:  # noqa: BLE001 - NotImplementedError, RecursionError, ...
        return None
    finally:
        sys.setrecursionlimit(old)
    return sols if isinstance(sols, list) and sols else None


def _invert(fp, rhs):
    """Candidate roots of fp(u) = rhs: sympy's invert_real first (fast, exact for a single
    occurrence of u, e.g. power laws), then sympy.solve on the partly inverted equation."""
    from sympy.solvers.solveset import invert_real

    forms = [fp, sympy.together(sympy.expand_log(fp, force=True))]
    partial = []
    for form in forms:
        try:
            lhs, sol = invert_real(form, rhs, u)
        except Exception:  # noqa: BLE001
            continue
        if isinstance(sol, sympy.FiniteSet):
            if lhs == u:
                return list(sol)
            partial.extend(sympy.Eq(lhs, v, evaluate=False) for v in sol)
        else:
            partial.append(sympy.Eq(form, rhs, evaluate=False))
    tried = set()
    for eq in partial + [sympy.Eq(f, rhs, evaluate=False) for f in forms]:
        if eq in tried:
            continue
        tried.add(eq)
        sols = _capped_solve(sympy.together(eq.lhs - eq.rhs))
        if sols:
            return sols
        if len(tried) >= 3:
            break
    return None


_PARAM_POOL = [sympy.Rational(1, 3), sympy.Rational(3, 2), 3, -sympy.Rational(1, 2), -2,
               sympy.Rational(-7, 3), 2, 1]


def _param_samples(params, n=2) -> list:
    """n assignments of exact values to free parameters that respect their assumptions."""
    if not params:
        return [{}]
    out = []
    for k in range(n):
        pv = {}
        for p in params:
            ok = [v for v in _PARAM_POOL if all(
                getattr(sympy.Integer(0) + v, f"is_{q}") == val for q, val in p.assumptions0.items()
                if q in ("positive", "negative", "nonnegative", "nonpositive", "integer", "nonzero"))]
            if not ok:
                raise ValueError(f"cannot pick a sample value for parameter {p}")
            pv[p] = ok[k % len(ok)]
        out.append(pv)
    return out


def _solve_stationary(fp, a, b, lo, hi):
    """Root u*(t) of f'(u) = t in (lo, hi) for a < t < b, or None if there is no closed form."""
    t_of_s, _ = _t_substitution(a, b)
    tt = t_of_s if t_of_s is not None else t
    sols = _invert(fp, tt)
    if sols is None:
        return None
    params = sorted((fp.free_symbols | a.free_symbols | b.free_symbols) - {u, t, _s}, key=str)
    good = []
    for r in sols:
        ok = True
        for pv in _param_samples(params):
            ap, bp, fpp, rp = (e.subs(pv) for e in (a, b, fp, r))
            s_of_t = _t_substitution(ap, bp)[1]
            for t0 in _sample_t(ap, bp):
                sub = {t: t0} if t_of_s is None else {_s: s_of_t.subs(t, t0)}
                try:
                    v = complex(sympy.N(rp.subs(sub), 30))
                    resid = complex(sympy.N(fpp.subs(u, v.real), 30)) - complex(sympy.N(t0, 30))
                    lo_f, hi_f = float(lo.subs(pv)), to_float(hi.subs(pv))
                except (TypeError, ValueError, ZeroDivisionError):
                    ok = False
                    break
                if not (abs(v.imag) < 1e-12 * max(1.0, abs(v.real)) and lo_f < v.real < hi_f
                        and abs(resid) < 1e-8 * max(1.0, abs(float(t0)))):
                    ok = False
                    break
            if not ok:
                break
        if ok:
            good.append(r)
    if not good:
        return None
    r = good[0]
    if t_of_s is not None:
        r = r.subs(_s, _t_substitution(a, b)[1])
    return r


def _value(f_piece, ustar, a, b):
    """t u* - f(u*) simplified; the simplification is done in s where that helps."""
    val = t * ustar - f_piece.subs(u, ustar)
    t_of_s, s_of_t = _t_substitution(a, b)
    if t_of_s is None:
        cands = _candidates(val)
    else:
        vs = val.subs(t, t_of_s)
        back = sorted({c.subs(_s, s_of_t) for c in _candidates(vs)}, key=_ops)
        cands = [val] + back + [sympy.simplify(c) for c in back[:2]] + [sympy.expand(c) for c in back[:2]]
        cands += [_log_tidy(c) for c in cands if c.has(sympy.log)]
    cands = [c for c in cands if not c.has(_s)]
    return min(cands, key=_ops)


# --------------------------------------------------------------------------------------------
# the derivation
# --------------------------------------------------------------------------------------------
def derive(f_expr) -> Derivation:
    r"""Derive f^*(t) = sup_{u>0} (t u - f(u)) step by step (book chapter 3).

    ``f_expr``: sympy expression in ``u`` (or a string, or an object with ``.sympy_f``).
    Floats are turned into rationals. Raises ValueError if f is not convex on u > 0 or if a
    limit cannot be decided (e.g. symbolic parameters whose sign matters).
    """
    return _derive_cached(_prepare(f_expr))


def _smooth_parts(f, steps: list) -> tuple[list, list]:
    """(expression, lo, hi) of the smooth pieces of f on (0, oo), neighbours with the same expression
    merged, and the kinks between them (a step says where f is not differentiable)."""
    cuts = _breakpoints(f) if f.has(*_NONSMOOTH) else []
    edges = [sympy.Integer(0)] + list(cuts) + [sympy.oo]
    smooth: list = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        fi = _specialise(f, _test_point(lo, hi)) if cuts else f
        if smooth and sympy.simplify(smooth[-1][0] - fi) == 0:
            smooth[-1] = (smooth[-1][0], smooth[-1][1], hi)
        else:
            smooth.append((fi, lo, hi))
    kinks = [hi for _, _, hi in smooth[:-1]]
    if kinks:
        steps.append(("f is not differentiable at", ", ".join(f"u = {k}" for k in kinks)
                      + ": split (0, oo) there; at a kink k the subdifferential is the interval "
                        "[f'(k-), f'(k+)] and every slope t in it has u* = k."))
    return smooth, kinks


def _piece(f, fi, lo, hi) -> Piece:
    """One smooth piece: f', f'', the slopes a, b reached at its ends and, for a < t < b, the root
    u*(t) of f'(u) = t and t u* - f(u*) (implicit ``ustar(t)`` when f' has no closed-form inverse)."""
    fpi = _tidy(sympy.diff(fi, u))
    fppi = _tidy(sympy.diff(fi, u, 2))
    ai = _limit(fpi, lo, "+")
    bi = _limit(fpi, hi, "-")
    if not _ext_le(ai, bi, "f'(lo+) <= f'(hi-)"):
        raise ValueError(f"f = {f} is not convex on u > 0: f' decreases on ({lo}, {hi})")
    ustar = value = None
    implicit = False
    if ai != bi:
        ustar = _solve_stationary(fpi, ai, bi, lo, hi)
        if ustar is None:
            implicit = True
            ustar = U_STAR(t)
            value = t * ustar - fi.subs(u, ustar)
        else:
            ustar = _tidy(ustar)
            value = _value(fi, ustar, ai, bi)
    return Piece(fi, lo, hi, fpi, fppi, ai, bi, ustar, value, implicit)


def _derivative_steps(f, pieces, kinks, steps: list) -> tuple:
    """(f', f'') of the whole generator, with the steps that show them (per piece at kinks)."""
    first = pieces[0]
    f_prime = first.f_prime if not kinks else _tidy(sympy.diff(f, u))
    f_second = first.f_second if not kinks else _tidy(sympy.diff(f, u, 2))
    if not kinks:
        steps.append(("f'(u)", f_prime))
        steps.append(("f''(u)  (>= 0: f is convex)", f_second))
    else:
        for p in pieces:
            steps.append((f"on {p.lo} < u < {p.hi}: f(u), f'(u)", sympy.Tuple(p.f, p.f_prime)))
    return f_prime, f_second


def _lower_segments(a, f0, steps: list) -> list:
    """t <= a (a = f'(0+) finite): the sup is at u -> 0+ and f*(t) = -f(0+)."""
    if a == -sympy.oo:
        steps.append(("u -> 0+", f"f'(0+) = -oo, so every slope t is reached before u -> 0 "
                      f"(f(0+) = {f0} plays no role)"))
        return []
    if f0 in (sympy.oo, -sympy.oo):
        raise ValueError(f"f(0+) = {f0} with finite f'(0+) = {a}: f is not convex/proper on u > 0")
    steps.append((f"t <= a = {a}: g'(u) = t - f'(u) <= 0, g decreases, the sup is at u -> 0+",
                  sympy.Eq(sympy.Symbol("f*(t)"), -f0, evaluate=False)))
    return [(-f0, a, True)]


def _stationary_steps(p: Piece, steps: list) -> None:
    where = f"{p.a} < t < {p.b}"
    if p.implicit:
        steps.append((f"Stationarity on {where}", sympy.Eq(p.f_prime.subs(u, U_STAR(t)), t)))
        steps.append(("No closed-form inverse of f'", "u*(t) = ustar(t) is the unique root of "
                      "f'(u) = t in u > 0 (f' increases strictly from a to b); f*(t) is left in "
                      "implicit form and evaluated numerically (bisection in log u)."))
    else:
        steps.append((f"Stationarity f'(u) = t, solved for u > 0 ({where})",
                      sympy.Eq(sympy.Symbol("u*(t)"), p.stationary_u, evaluate=False)))
        steps.append(("It lies in the range of u", f"u*(t) runs over ({p.lo}, {p.hi}) exactly "
                      f"when t runs over ({p.a}, {p.b}) because f' is increasing there."))
    steps.append(("Substitute: f*(t) = t u* - f(u*)", sympy.Eq(sympy.Symbol("f*(t)"), p.value, evaluate=False)))


def _inner_segments(pieces, steps: list) -> list:
    """a < t < b: the stationary value on each piece, and t k - f(k) on the subdifferential of each kink k."""
    segs = []
    for i, p in enumerate(pieces):
        if p.a != p.b:
            _stationary_steps(p, steps)
            segs.append((p.value, p.b, False))
        if i + 1 < len(pieces):
            k, q = p.hi, pieces[i + 1]
            val = t * k - p.f.subs(u, k)
            steps.append((f"Kink at u = {k}: for {p.b} <= t <= {q.a} the sup is at u* = {k}",
                          sympy.Eq(sympy.Symbol("f*(t)"), val, evaluate=False)))
            segs.append((val, q.a, True))
    return segs


def _upper_end(b, last: Piece, segs: list, steps: list) -> tuple:
    """t >= b (b = f'(oo) finite): f*(b) = lim (b u - f(u)), closing dom f* when finite; +oo beyond.
    Appends to ``segs``; returns (f*(b) or None, whether dom f* is closed at b)."""
    if b == sympy.oo:
        steps.append(("f'(oo) = oo", "every t is a slope of f: dom f* = R"))
        return None, False
    value_at_b = _limit(sympy.expand(b * u - last.f), sympy.oo)
    closed_b = value_at_b.is_finite is True
    steps.append((f"t = b = {b}: g increases, f*(b) = lim_(u->oo) (b u - f(u))", value_at_b))
    if closed_b and not (segs[-1][1] == b and segs[-1][2]):
        v, hi, _ = segs[-1]
        try:
            left = sympy.limit(v, t, b, "-") if not v.has(U_STAR) else None
        except Exception:  # noqa: BLE001
            left = None
        if left is not None and sympy.simplify(left - value_at_b) == 0:
            segs[-1] = (v, hi, True)
        else:
            segs.append((value_at_b, b, True))
    steps.append((f"t > b = {b}", "g(u) >= (t - b) u + const grows without bound: f*(t) = +oo"))
    segs.append((sympy.oo, sympy.oo, False))
    return value_at_b, closed_b


def _assemble(segs: list):
    """The segments (value, upper end, upper end included) as one expression in t (a Piecewise)."""
    pw_args = []
    for v, hi, closed in segs:
        if hi == sympy.oo:
            pw_args.append((v, True))
            break
        pw_args.append((v, sympy.Le(t, hi) if closed else sympy.Lt(t, hi)))
    return pw_args[0][0] if len(pw_args) == 1 else sympy.Piecewise(*pw_args)


@functools.lru_cache(maxsize=256)
def _derive_cached(f: sympy.Expr) -> Derivation:
    """The derivation of f* in the order of the module docstring's steps 1-5."""
    convex = is_convex(f)
    if not convex:
        raise ValueError(f"f(u) = {f} is not convex on u > 0 ({convex.detail}): the conjugate "
                         f"machinery (and D_f >= 0) needs a convex generator")
    steps: list = [
        ("Generator", sympy.Eq(sympy.Function("f")(u), f, evaluate=False)),
        ("Set-up", "f*(t) = sup_{u>0} g(u),  g(u) = t*u - f(u); g is concave in u because f is "
                   "convex, and g'(u) = t - f'(u) with f' non-decreasing."),
        ("g(u) = t u - f(u)", t * u - f),
    ]
    smooth, kinks = _smooth_parts(f, steps)
    pieces = [_piece(f, fi, lo, hi) for fi, lo, hi in smooth]
    for p, q in zip(pieces[:-1], pieces[1:]):  # convexity across kinks: f'(k-) <= f'(k+)
        if not _ext_le(p.b, q.a, f"f'({p.hi}-) <= f'({p.hi}+)"):
            raise ValueError(f"f = {f} is not convex: its slope jumps down at u = {p.hi}")
    a, b = pieces[0].a, pieces[-1].b
    f_prime, f_second = _derivative_steps(f, pieces, kinks, steps)
    f0 = _limit(pieces[0].f, 0, "+")
    steps.append(("Slopes reached inside u > 0", f"a = f'(0+) = {a},  b = f'(oo) = {b}"))
    segs = _lower_segments(a, f0, steps) + _inner_segments(pieces, steps)
    value_at_b, closed_b = _upper_end(b, pieces[-1], segs, steps)
    conj = _assemble(segs)
    steps.append(("Result", sympy.Eq(sympy.Symbol("f*(t)"), conj, evaluate=False)))
    steps.append(("Domain", f"dom f* = {_interval_text(-sympy.oo, False, b, closed_b)}"))
    return Derivation(f=f, f_prime=f_prime, f_second=f_second, pieces=tuple(pieces),
                      breakpoints=tuple(kinks), stationary_u=pieces[0].stationary_u if len(pieces) == 1 else None,
                      a=a, b=b, f_at_zero=f0, value_at_b=value_at_b, conjugate=conj,
                      domain=(-math.inf, to_float(b) if b.is_number else b), domain_closed=(False, bool(closed_b)),
                      implicit=any(p.implicit for p in pieces), steps=steps, domain_sympy=(-sympy.oo, b))


def derive_conjugate(f_expr):
    """(f^*(t) as a sympy expression in ``t``, (low, high) floats of dom f^*) (book chapter 3)."""
    d = derive(f_expr)
    return d.conjugate, d.domain


# --------------------------------------------------------------------------------------------
# numerics
# --------------------------------------------------------------------------------------------
def _lambertw_real(x, k=0):
    import scipy.special
    return np.real(scipy.special.lambertw(x, k))


def _root_solver(fp_expr) -> Callable:
    """Vectorised u*(t): root of f'(u) = t by bisection in x = log u over [-700, 700]."""
    # expanded logs: forms like log(((u + 1)**2/(4 u))**u) overflow for large u
    fp_expr = sympy.expand_log(fp_expr, force=True)
    fp = sympy.lambdify(u, fp_expr, modules=[{"LambertW": _lambertw_real}, "numpy"])

    def ustar(tt):
        tt = np.asarray(tt, dtype=float)
        lo = np.full(tt.shape, -700.0)
        hi = np.full(tt.shape, 700.0)
        with np.errstate(all="ignore"):
            for _ in range(64):  # 1400 / 2^64 ~ 1e-16 in log u
                mid = 0.5 * (lo + hi)
                up = np.asarray(fp(np.exp(mid))) >= tt
                hi = np.where(up, mid, hi)
                lo = np.where(up, lo, mid)
        return np.exp(0.5 * (lo + hi))
    return ustar


def conjugate_numpy(deriv_or_expr, f_expr=None) -> Callable:
    """float64 numpy function t -> f^*(t) (+inf outside dom f^*).

    Accepts a :class:`Derivation` (implicit roots supported), or a sympy expression in ``t``
    (then ``f_expr`` is needed only if it contains ``u_star(t)``).
    """
    if isinstance(deriv_or_expr, Derivation):
        d = deriv_or_expr
        expr, fp_expr = d.conjugate, None
        if d.implicit:
            fp_expr = next(p.f_prime for p in d.pieces if p.implicit)
        domain, closed = d.domain, d.domain_closed
    else:
        expr = sympy.sympify(deriv_or_expr)
        fp_expr = sympy.diff(_prepare(f_expr), u) if f_expr is not None else None
        domain, closed = None, None
    mods = [{"LambertW": _lambertw_real}, "numpy"]
    if expr.has(U_STAR):
        if fp_expr is None:
            raise ValueError("implicit conjugate ustar(t): pass f_expr to solve f'(u) = t")
        solver = _root_solver(fp_expr)
        ux = sympy.Dummy("ustar")
        inner = sympy.lambdify((t, ux), expr.subs(U_STAR(t), ux), modules=mods)
        fn = lambda tt: inner(tt, solver(tt))  # noqa: E731 - solve f'(u) = t once per call
    else:
        fn = sympy.lambdify(t, expr, modules=mods)

    def fstar(tt):
        tt = np.asarray(tt, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(tt))
            if np.iscomplexobj(out):
                out = np.where(np.abs(out.imag) < 1e-12 * (1 + np.abs(out.real)), out.real, np.nan)
            out = np.broadcast_to(out, tt.shape).astype(float)
        if domain is not None:
            lo, hi = domain
            inside = ((tt >= lo) if closed[0] else (tt > lo)) & ((tt <= hi) if closed[1] else (tt < hi))
            out = np.where(inside, out, np.inf)
        return out
    return fstar


def _f_numpy(f_expr) -> Callable:
    f = _prepare(f_expr)
    fn = sympy.lambdify(u, f, modules=[{"LambertW": _lambertw_real}, "numpy"])

    def ff(uu):
        uu = np.asarray(uu, dtype=float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(fn(uu), dtype=float), uu.shape).astype(float)
    return ff


# --------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------
def _nonneg_symbolic(e) -> bool | None:
    for c in (e, sympy.factor(sympy.together(e)), sympy.simplify(e), sympy.cancel(e)):
        if c.is_nonnegative is True:
            return True
        if c.is_negative is True:
            return False
        num, den = sympy.fraction(sympy.together(c))
        if (num.is_nonnegative and den.is_positive) or (num.is_nonpositive and den.is_negative):
            return True
    return None


def is_convex(f_expr, *, grid: Sequence[float] | None = None) -> Check:
    """f''(u) >= 0 on u > 0 (and slopes not jumping down at kinks).

    Tries a sympy proof first (``method='symbolic'``), falls back to a dense numeric check of f''
    on 10^-8 <= u <= 10^8 (``method='numeric'``). Book chapter 1 (generator conditions).
    """
    f = _prepare(f_expr)
    kinks = _breakpoints(f) if f.has(*_NONSMOOTH) else []
    edges = [sympy.Integer(0)] + list(kinks) + [sympy.oo]
    pieces = [(_specialise(f, _test_point(lo, hi)) if kinks else f, lo, hi)
              for lo, hi in zip(edges[:-1], edges[1:])]
    for (p, _, k), (q, _, _) in zip(pieces[:-1], pieces[1:]):
        jump = sympy.diff(q, u).subs(u, k) - sympy.diff(p, u).subs(u, k)
        if float(jump) < 0:
            return Check(False, "symbolic", f"slope jumps down by {jump} at u = {k}")
        if sympy.simplify(q.subs(u, k) - p.subs(u, k)) != 0:
            return Check(False, "symbolic", f"f is discontinuous at u = {k}")
    verdicts = []
    for p, lo, hi in pieces:
        fpp = sympy.diff(p, u, 2)
        verdicts.append(_nonneg_symbolic(fpp))
        if verdicts[-1] is False:
            return Check(False, "symbolic", f"f''(u) = {fpp} < 0 on ({lo}, {hi})")
    if all(v is True for v in verdicts):
        return Check(True, "symbolic", "f'' >= 0 proved by sympy" + (" on each piece; slopes "
                                                                       "increase at kinks" if kinks else ""))
    if f.free_symbols - {u}:
        raise ValueError(f"cannot prove convexity of {f} with free parameters "
                         f"{sorted(map(str, f.free_symbols - {u}))}: give them numeric values")
    uu = np.asarray(grid, dtype=float) if grid is not None else np.logspace(-8, 8, 4001)
    for p, lo, hi in pieces:
        fpp = sympy.lambdify(u, sympy.diff(p, u, 2), modules=[{"LambertW": _lambertw_real}, "numpy"])
        m = (uu > float(lo)) & (uu < to_float(hi))
        if not m.any():
            continue
        with np.errstate(all="ignore"):
            vals = np.broadcast_to(np.asarray(fpp(uu[m]), dtype=float), uu[m].shape)
        ok = np.isfinite(vals)
        if ok.any():
            if np.any(vals[ok] < -1e-10 * (1 + np.abs(vals[ok]))):
                i = int(np.argmin(vals[ok]))
                return Check(False, "numeric", f"f''({uu[m][ok][i]:.3g}) = {vals[ok][i]:.3g} < 0")
    return Check(True, "numeric", f"f'' >= 0 on a grid of {uu.size} points in [{uu.min():.0e}, {uu.max():.0e}]")


def satisfies_normalisation(f_expr) -> bool:
    """f(1) == 0 (so D_f(P||P) = 0), decided by sympy (book chapter 1)."""
    f = _prepare(f_expr)
    return bool(sympy.simplify(f.subs(u, 1)) == 0)


@dataclasses.dataclass(frozen=True)
class BiconjugateResult:
    """f^{**}(u) = sup_{t in dom f*} (t u - f*(t)) against f(u); truthy iff max relative error <= tol."""
    u: np.ndarray
    f: np.ndarray
    f_star_star: np.ndarray
    max_error: float
    tol: float

    def __bool__(self) -> bool:
        return bool(self.max_error <= self.tol)


def _domain_map(lo, hi):
    """x in R -> t in (lo, hi), monotone increasing."""
    if lo == -math.inf and hi == math.inf:
        return np.sinh
    if lo == -math.inf:
        return lambda x: hi - np.exp(-x)
    if hi == math.inf:
        return lambda x: lo + np.exp(x)
    return lambda x: lo + (hi - lo) / (1 + np.exp(-x))


def biconjugate_check(f_expr, fstar=None, domain=None, points=None, *, closed=(False, False),
                      tol: float = 1e-6) -> BiconjugateResult:
    r"""Numeric Fenchel-Moreau check f^{**}(u) = f(u) at sample points u (book chapter 3).

    ``fstar``: sympy expression in t, a numpy callable, or None (then derived). ``domain``:
    (low, high) of dom f^*; ``closed``: whether the ends belong to it. The concave function
    t u - f^*(t) is maximised over t by a dense grid followed by a bounded Brent refinement;
    closed finite ends are evaluated exactly. Error is ``|f** - f| / (1 + |f|)``.
    """
    from scipy.optimize import minimize_scalar

    f = _prepare(f_expr)
    if fstar is None or domain is None:
        d = derive(f)
        fstar = d if fstar is None else fstar
        domain = d.domain if domain is None else domain
        closed = d.domain_closed
    if isinstance(fstar, Derivation):
        fs = fstar.numeric
    elif callable(fstar) and not isinstance(fstar, sympy.Basic):
        fs = lambda tt: np.asarray(fstar(np.asarray(tt, dtype=float)), dtype=float)  # noqa: E731
    else:
        fs = conjugate_numpy(fstar, f)
    lo, hi = float(domain[0]), float(domain[1])
    pts = np.asarray(points if points is not None else [0.05, 0.3, 0.7, 1.0, 1.5, 3.0, 10.0], dtype=float)
    tmap = _domain_map(lo, hi)
    xs = np.linspace(-30, 30, 3001)
    ts = tmap(xs)
    fs_grid = fs(ts)
    ends = [e for e, c in ((lo, closed[0]), (hi, closed[1])) if c and math.isfinite(e)]
    out = []
    for uu in pts:
        with np.errstate(all="ignore"):
            vals = ts * uu - fs_grid
        vals = np.where(np.isfinite(vals), vals, -np.inf)
        i = int(np.argmax(vals))
        best = float(vals[i])
        xa, xb = xs[max(i - 1, 0)], xs[min(i + 1, xs.size - 1)]
        if xb > xa:
            res = minimize_scalar(lambda x: -(float(tmap(x)) * uu - float(fs(np.array([tmap(x)]))[0])),
                                  bounds=(xa, xb), method="bounded", options={"xatol": 1e-12})
            if np.isfinite(res.fun):
                best = max(best, -float(res.fun))
        for e in ends:
            v = e * uu - float(fs(np.array([e]))[0])
            if np.isfinite(v):
                best = max(best, v)
        out.append(best)
    fss = np.asarray(out)
    fv = _f_numpy(f)(pts)
    err = float(np.max(np.abs(fss - fv) / (1 + np.abs(fv))))
    return BiconjugateResult(pts, fv, fss, err, tol)


# --------------------------------------------------------------------------------------------
# formatting (the table and printout of ``fdiv list`` / ``fdiv derive`` are in fdiv.core.tables)
# --------------------------------------------------------------------------------------------
def latex_expr(expr, *, drop_infinite: bool = True) -> str:
    """LaTeX of ``expr`` (``sympy.latex``) for typeset tables; a Piecewise becomes a ``cases``
    environment without its +oo pieces (a single remaining piece drops its condition: the table's
    dom f* column states it).  A string is parsed first (``sigmoid`` and ``softplus`` as functions)."""
    if isinstance(expr, str):
        names = {"v": sympy.Symbol("v"), "u": u, "t": t, "sigmoid": sympy.Function("sigma"),
                 "softplus": sympy.Function("softplus")}
        expr = sympy.parse_expr(expr, local_dict=names, evaluate=False)
    if isinstance(expr, sympy.Piecewise):
        parts = [(e, c) for e, c in expr.args if not (drop_infinite and e in (sympy.oo, -sympy.oo))]
        if len(parts) == 1:
            return sympy.latex(parts[0][0])
        rows = [sympy.latex(e) + " & " + (r"\text{otherwise}" if c in (True, sympy.true) else sympy.latex(c))
                for e, c in parts]
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
    # an implicit conjugate's stationary point u*(t) (see U_STAR); \vert, not |, so that the LaTeX
    # can sit in a Markdown table cell
    return (sympy.latex(expr).replace(r"\operatorname{ustar}{\left(t \right)}", r"u^{\ast}(t)")
            .replace("|", r"\vert "))


def latex_domain(domain, closed=(False, False)) -> str:
    """An interval (low, high) with its closed ends as LaTeX: ``(-\\infty, 1]``."""
    (low, high), (lc, hc) = domain, closed

    def end(x) -> str:
        x = float(x)
        return r"\infty" if x == float("inf") else r"-\infty" if x == float("-inf") else f"{x:.4g}"

    return f"{'[' if lc else '('}{end(low)}, {end(high)}{']' if hc else ')'}"


def format_expr(expr, *, drop_infinite: bool = True) -> str:
    """One-line text; a Piecewise becomes 'A if cond; B if cond; ...' (+oo pieces dropped)."""
    if isinstance(expr, sympy.Piecewise):
        parts = []
        for e, c in expr.args:
            if drop_infinite and e in (sympy.oo, -sympy.oo):
                continue
            cond = "otherwise" if c in (True, sympy.true) else "if " + sympy.sstr(c)
            parts.append(f"{sympy.sstr(e)} {cond}")
        return "; ".join(parts)
    return sympy.sstr(expr)
