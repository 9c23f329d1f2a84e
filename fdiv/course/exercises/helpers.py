"""Small tools the checks are written with: they never trust what the student's code returns and say
precisely what was wrong ("expected a torch.Tensor of shape (5,), got list").

Checks call the answer through :func:`call` (``call(student, *inputs)``) and ``student.probe(fn, ...)``;
both return plain values (:mod:`fdiv.course.exercises.values`) and raise
:class:`~fdiv.course.exercises.core.StudentError` when the student's code raised. Probes (module-level
functions such as :func:`gradients`) run next to the answer and return plain data only.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from .answers import step
from .core import StudentError
from .lazy import torch
from .values import Opaque, SympyValue

__all__ = [
    "describe", "fmt", "call", "as_tensor", "as_number", "as_sympy_answer", "SympyAnswer", "gradients",
    "assert_close", "assert_number", "assert_sympy_equal", "assert_conjugate_vanishes_at_zero", "expect_raises",
    "symbol", "eval_sympy", "miss",
]


# --------------------------------------------------------------------------- describing values

def fmt(x: Any) -> str:
    """A short rendering of a number or a small tensor."""
    if isinstance(x, torch.Tensor):
        if x.numel() == 1:
            return fmt(x.item())
        flat = x.detach().flatten()
        items = ", ".join(fmt(v) for v in flat[:6].tolist())
        return f"[{items}{', ...' if flat.numel() > 6 else ''}]"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return f"{x:.6g}"
    if isinstance(x, (list, tuple)):
        return "(" + ", ".join(fmt(v) for v in x) + ")"
    return repr(x)


def describe(x: Any) -> str:
    """What a value is, for messages: ``list of length 3``, ``torch.Tensor of shape (5, 1) (float32)``."""
    if x is None:
        return "None (did your function forget to `return` its result?)"
    if isinstance(x, torch.Tensor):
        dt = str(x.dtype).replace("torch.", "")
        return f"a torch.Tensor of shape {tuple(x.shape)} ({dt})"
    if isinstance(x, bool):
        return f"bool {x}"
    if isinstance(x, (int, float)):
        return f"{type(x).__name__} {fmt(x)}"
    if isinstance(x, str):
        s = x if len(x) <= 40 else x[:37] + "..."
        return f"str {s!r}"
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of length {len(x)}"
    if isinstance(x, SympyValue):
        return f"sympy {x.type_name} {x.text[:60]}"
    if isinstance(x, Opaque):
        return x.desc
    return type(x).__name__


def miss(value: float, expected: float) -> str:
    """Direction and rough size of a miss, without the expected value: ``too large, by about 40%``."""
    direction = "too large" if value > expected else "too small"
    diff = abs(value - expected)
    if expected == 0:
        return f"{direction}, by about {_one_digit(diff)}"
    return f"{direction}, by about {_one_digit(100 * diff / abs(expected))}% of the right value"


def _one_digit(x: float) -> str:
    if x <= 0 or not math.isfinite(x):
        return fmt(x)
    return f"{round(x, -int(math.floor(math.log10(x)))):g}"


# --------------------------------------------------------------------------- calling the student

def call(student, *args: Any, context: str = "", **kwargs: Any) -> Any:
    """The answer ``student`` on the grader's inputs: a plain value; StudentError if the code raised."""
    return student.call(*args, context=context, **kwargs)


def expect_raises(student, args: Sequence, exc_name: str = "ValueError", what: str = "") -> StudentError:
    """Assert that the answer raises ``exc_name`` (or a subclass) on ``args``; returns the error."""
    try:
        out = student.call(*args)
    except StudentError as err:
        if exc_name in err.types:
            return err
        first = err.text.splitlines()[0] if err.text else "an error"
        raise AssertionError(f"{what}: expected {exc_name}, your code raised {first}") from None
    raise AssertionError(f"{what}: expected {exc_name}, your code returned {describe(out)}")


def gradients(answer, *args: Any, reduce: str = "sum"):
    """Probe (runs next to the answer): ``out = answer(*args)``, then the backward pass of ``out.sum()``
    (``reduce="sum"``) or of the 0-dim ``out`` (``reduce="scalar"``). Returns ``(out, connected,
    grads)``: the output detached, whether it is connected to the inputs' graph, and the gradient of
    every input that requires one (None where none arrived)."""
    out = step("calling your function", answer, *args)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return out, False, None
    if reduce == "sum":
        total = step("reducing the output to a number", out.sum)
    else:
        total = step("reducing the output to a number", out.reshape, ())
    step("computing gradients", total.backward)
    grads = [a.grad for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
    return out.detach(), True, grads


# --------------------------------------------------------------------------- validating results

def as_tensor(out: Any, shape: Sequence[int] | None = None, *, what: str = "your function",
              floating: bool = True, numel_one_ok: bool = False, allow_inf: bool = False,
              hint: str = "") -> torch.Tensor:
    """Assert ``out`` is a tensor (of ``shape``, floating, without nan, and finite unless ``allow_inf``)
    and return it in float64. ``hint`` is added to the message for values that are not allowed."""
    want = f"a torch.Tensor of shape {tuple(shape)}" if shape is not None else "a torch.Tensor"
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"{what} should return {want}, got {describe(out)}")
    if shape is not None and tuple(out.shape) != tuple(shape):
        if not (numel_one_ok and out.numel() == 1 and math.prod(shape) == 1):
            raise AssertionError(f"{what} should return {want}, got {describe(out)}")
    if floating and not out.is_floating_point():
        raise AssertionError(f"{what} should return a floating-point tensor, got {describe(out)}")
    t = out.detach().to(torch.float64).cpu() if out.is_floating_point() else out.detach().cpu()
    if t.is_floating_point():
        bad = torch.isnan(t) if allow_inf else ~torch.isfinite(t)
        if bad.any():
            i = int(bad.flatten().nonzero()[0])
            where = f" at index {i}" if t.numel() > 1 else ""
            kind = "nan" if allow_inf else "not finite numbers"
            raise AssertionError(f"{what}: got {fmt(t.flatten()[i].item())}{where} ({int(bad.sum())} of "
                                 f"{t.numel()} values are {kind})" + (f"; {hint}" if hint else ""))
    return t


def as_number(x: Any, what: str = "your answer") -> float:
    """A real number from an int / float / numpy or sympy number / one-element tensor; nan and inf are
    rejected before any comparison."""
    val: float | None = None
    if isinstance(x, bool) or x is None:
        val = None
    elif isinstance(x, (int, float)):
        val = float(x)
    elif isinstance(x, torch.Tensor):
        if x.numel() == 1 and not x.is_complex() and x.dtype != torch.bool:
            val = float(x.reshape(()).item())
    elif isinstance(x, (Opaque, SympyValue)):
        val = x.number
    if val is None:
        raise AssertionError(f"{what} should be a real number (a float), got {describe(x)}")
    if math.isnan(val):
        raise AssertionError(f"{what} is nan (not a number): check for 0/0, log of a negative number, ...")
    if math.isinf(val):
        raise AssertionError(f"{what} is {fmt(val)}: expected a finite number")
    return val


_CANONICAL: dict = {}


def symbol(name: str):
    """The canonical sympy symbol of a variable: u (positive), t, v (real); others real."""
    import sympy

    if name not in _CANONICAL:
        _CANONICAL[name] = sympy.Symbol(name, positive=True) if name == "u" else sympy.Symbol(name, real=True)
    return _CANONICAL[name]


def assert_convex_generator(expr, var: str = "u", points: Sequence[float] = (0.01, 0.5, 3.0, 100.0),
                            strict: bool = True) -> None:
    """The answer is an f-divergence generator: 0 at u = 1 and convex, its second difference
    (h(x(1+e)) - 2 h(x) + h(x(1-e))) / (e x)^2 (e = 1e-3) positive at ``points``."""
    at1 = eval_sympy(expr, var, 1.0)
    if not abs(at1) <= 1e-10:
        raise AssertionError(f"a generator vanishes at {var} = 1, yours is {fmt(at1.real)} there")
    for x in points:
        e = 1e-3 * x
        lo, mid, hi = (eval_sympy(expr, var, x + d).real for d in (-e, 0.0, e))
        second = (hi - 2 * mid + lo) / e ** 2
        if not (second > 0 if strict else second >= -1e-9):
            raise AssertionError(f"the second derivative at {var} = {x:g} is about {second:.3g}: not "
                                 f"{'strictly ' if strict else ''}convex")


def eval_sympy(expr, var: str, x: float) -> complex:
    """The value of ``expr`` (a sympy expression of the grader's, or a :class:`SympyAnswer`) at ``var = x``."""
    if isinstance(expr, SympyAnswer):
        return expr.at(x)
    import sympy

    val = sympy.N(expr.xreplace({symbol(var): sympy.Float(x, 30)}), 20)
    try:
        return complex(val)
    except (TypeError, ValueError):
        if val in (sympy.oo, sympy.zoo, -sympy.oo) or val.has(sympy.oo, sympy.zoo, -sympy.oo):
            return complex(float("inf"), 0)
        return complex(float("nan"), 0)


def assert_conjugate_vanishes_at_zero(expr, var: str = "t") -> None:
    """f*(0) = sup_u -f(u) = -min f = -f(1) = 0 for every generator of the book (f >= 0, f(1) = 0)."""
    val = eval_sympy(expr, var, 0.0)
    if not (abs(val.imag) < 1e-12 and abs(val.real) < 1e-10):
        shown = fmt(val.real) if abs(val.imag) < 1e-12 else f"the complex number {val.real:.6g}{val.imag:+.6g}i"
        raise AssertionError(f"your f*(0) = {shown}; but f*(0) = sup_u -f(u) = -min f = -f(1) = 0")


def sympy_values(expr, var: str, points: Sequence[float]) -> list[tuple[float, float]]:
    """Probe (runs next to the answer): the values of the answer's expression at ``var = x`` for each
    point, as (real, imaginary) pairs; the symbol named ``var`` is replaced whatever its assumptions."""
    import sympy

    expr = sympy.sympify(expr)
    expr = expr.xreplace({s: symbol(var) for s in expr.free_symbols if s.name == var})
    out = []
    for x in points:
        z = eval_sympy(expr, var, x)
        out.append((float(z.real), float(z.imag)))
    return out


class SympyAnswer:
    """A sympy answer seen from the checks: ``at(x)`` and ``values(points)`` evaluate it (next to the
    answer), ``text`` is its printed form (messages only)."""

    def __init__(self, student, var: str, text: str, constant: float | None = None):
        self.student, self.var, self.text, self.constant = student, var, text, constant

    def values(self, points: Sequence[float]) -> list[complex]:
        if self.constant is not None:
            return [complex(self.constant, 0)] * len(points)
        raw = self.student.probe(sympy_values, self.var, [float(p) for p in points],
                                 context="evaluating your expression")
        if not isinstance(raw, list) or len(raw) != len(points):
            raise AssertionError("the values of your expression could not be read")
        return [complex(float(re), float(im)) for re, im in raw]

    def at(self, x: float) -> complex:
        return self.values([x])[0]


def as_sympy_answer(x: Any, ex, student) -> SympyAnswer:
    """A sympy answer in ``ex.variable`` (matched by name), or AssertionError saying what it is instead."""
    var = getattr(ex, "variable", "u")
    if isinstance(x, str):
        raise AssertionError(f"your answer should be a sympy expression in {var}, got {describe(x)}; "
                             f"build it from a symbol, e.g. {var} = sympy.Symbol({var!r}); expr = ...")
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return SympyAnswer(student, var, fmt(x), constant=float(x))
    if not isinstance(x, SympyValue) or not x.is_expr:
        raise AssertionError(f"your answer should be a sympy expression in {var}, got {describe(x)}")
    for name in x.symbols:
        if name != var:
            raise AssertionError(f"your expression contains the symbol {name!r}; "
                                 f"it should be an expression in {var} only")
    return SympyAnswer(student, var, x.text)


# --------------------------------------------------------------------------- comparing

def _close_mask(got: torch.Tensor, exp: torch.Tensor, rtol: float, atol: float) -> torch.Tensor:
    both_inf = torch.isinf(got) & torch.isinf(exp) & (torch.sign(got) == torch.sign(exp))
    finite = torch.isfinite(got) & torch.isfinite(exp)
    ok = torch.zeros_like(got, dtype=torch.bool)
    ok[finite] = (got[finite] - exp[finite]).abs() <= atol + rtol * exp[finite].abs()
    return ok | both_inf


def assert_close(got: torch.Tensor, expected: torch.Tensor, inputs: Any = None, *, name: str = "t",
                 rtol: float = 1e-5, atol: float = 1e-7, what: str = "") -> None:
    """Elementwise comparison; the message names the first mismatching inputs."""
    got = torch.as_tensor(got).detach().to(torch.float64).cpu()
    expected = torch.as_tensor(expected, dtype=torch.float64).cpu()
    if got.shape != expected.shape:
        raise AssertionError(f"{what}expected shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    ok = _close_mask(got, expected, rtol, atol)
    if bool(ok.all()):
        return
    bad = (~ok).flatten().nonzero().flatten()
    lines = []
    g, e = got.flatten(), expected.flatten()
    inp = None
    if inputs is not None:
        inp = torch.as_tensor(inputs).detach().cpu().flatten() if not isinstance(inputs, (list, tuple)) else inputs
    for i in bad[:3].tolist():
        if inp is None:
            where = f"at index {i}" if ok.numel() > 1 else "value"
        elif isinstance(inp, (list, tuple)):
            where = f"at {inp[i]}"
        else:
            where = f"at {name} = {fmt(inp[i].item())}"
        lines.append(f"{where}: expected {fmt(e[i].item())}, got {fmt(g[i].item())}")
    more = f" ({len(bad)} of {ok.numel()} values are wrong)" if ok.numel() > 1 else ""
    raise AssertionError(what + "; ".join(lines) + more)


def assert_number(value: float, expected: float, tol: float, *, wrong: Iterable[tuple] = (),
                  what: str = "your answer") -> None:
    """|value - expected| <= tol; ``wrong`` is ((value, tol, explanation), ...) of known mistakes. The
    message gives the direction and rough size of the miss, never the expected value."""
    if abs(value - expected) <= tol:
        return
    for wv, wtol, why in wrong:
        if abs(value - wv) <= wtol:
            raise AssertionError(f"{what} {fmt(value)} is not right: {why}")
    raise AssertionError(f"{what} {fmt(value)} is {miss(value, expected)} (tolerance {fmt(tol)})")


def assert_sympy_equal(expr: SympyAnswer, expected, var: str, points: Sequence[float], *, rtol: float = 1e-8,
                       wrong: Iterable[tuple] = (), what: str = "your expression") -> None:
    """Compare the answer with ``expected`` numerically at ``points`` (robust where simplify is not).
    ``wrong`` is ((wrong_expr, explanation), ...) of known mistakes, recognised the same way."""
    got = expr.values(points) if isinstance(expr, SympyAnswer) else [eval_sympy(expr, var, x) for x in points]

    def first_difference(reference) -> int | None:
        for i, x in enumerate(points):
            a, b = got[i], eval_sympy(reference, var, x)
            if not (math.isfinite(a.real) and math.isfinite(a.imag)) or abs(a.imag) > 1e-9 * max(1, abs(a.real)):
                return i
            if abs(a.real - b.real) > rtol * max(1.0, abs(b.real)):
                return i
        return None

    i = first_difference(expected)
    if i is None:
        return
    for wexpr, why in wrong:
        if first_difference(wexpr) is None:
            raise AssertionError(f"{what} is not right: {why}")
    a, b = got[i], eval_sympy(expected, var, points[i])
    if not (math.isfinite(a.real) and math.isfinite(a.imag)):
        value = "not a finite number"
    elif abs(a.imag) > 1e-9 * max(1, abs(a.real)):
        value = f"the complex number {a.real:.6g}{a.imag:+.6g}i"
    else:
        value = fmt(a.real)
    raise AssertionError(f"{what} differs from the right answer at {var} = {fmt(points[i])}: "
                         f"expected {fmt(b.real)}, got {value}")
