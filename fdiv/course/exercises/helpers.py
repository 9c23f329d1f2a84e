"""Small tools the checks are written with: they never trust what the student's code returns and
say precisely what was wrong ("expected a torch.Tensor of shape (5,), got list").

Checks call the student's function through :func:`call` (inputs are cloned, exceptions are wrapped in
:class:`~fdiv.course.exercises.core.StudentError` so the report can tell "your code raised" from "wrong value").
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

import torch

from .core import StudentError

__all__ = [
    "describe", "fmt", "call", "as_tensor", "as_number", "as_sympy_expr", "is_sympy",
    "assert_close", "assert_number", "assert_sympy_equal", "expect_raises", "symbol",
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
        shape = tuple(x.shape)
        dt = str(x.dtype).replace("torch.", "")
        return f"a torch.Tensor of shape {shape} ({dt})"
    if isinstance(x, bool):
        return f"bool {x}"
    if isinstance(x, (int, float)):
        return f"{type(x).__name__} {fmt(x)}"
    if isinstance(x, str):
        s = x if len(x) <= 40 else x[:37] + "..."
        return f"str {s!r}"
    if isinstance(x, (list, tuple)):
        return f"{type(x).__name__} of length {len(x)}"
    mod = type(x).__module__
    if mod.startswith("numpy"):
        shape = getattr(x, "shape", None)
        return f"numpy {type(x).__name__}" + (f" of shape {tuple(shape)}" if shape else "")
    if is_sympy(x):
        return f"sympy {type(x).__name__} {str(x)[:60]}"
    return f"{type(x).__name__}"


def is_sympy(x: Any) -> bool:
    mod = type(x).__module__ or ""
    if not mod.startswith("sympy"):
        return False
    import sympy

    return isinstance(x, sympy.Basic)


# --------------------------------------------------------------------------- calling the student

def _clone(a: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return a.detach().clone().requires_grad_(a.requires_grad) if a.is_leaf else a
    return a


def call(fn: Callable, *args: Any, context: str = "", **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on cloned tensor inputs; exceptions become StudentError."""
    args = tuple(_clone(a) for a in args)
    kwargs = {k: _clone(v) for k, v in kwargs.items()}
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise StudentError(exc, context) from exc


def expect_raises(fn: Callable, args: Sequence, exc_type: type = ValueError, what: str = "") -> BaseException:
    """Assert that ``fn(*args)`` raises ``exc_type`` (the message says what it did instead)."""
    try:
        out = fn(*(_clone(a) for a in args))
    except exc_type as exc:
        return exc
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"{what}: expected {exc_type.__name__}, your code raised "
                             f"{type(exc).__name__}: {exc}") from None
    raise AssertionError(f"{what}: expected {exc_type.__name__}, your code returned {describe(out)}")


# --------------------------------------------------------------------------- validating results

def as_tensor(out: Any, shape: Sequence[int] | None = None, *, what: str = "your function",
              floating: bool = True, numel_one_ok: bool = False) -> torch.Tensor:
    """Assert ``out`` is a tensor (of ``shape``, floating) and return it detached in float64."""
    want = f"a torch.Tensor of shape {tuple(shape)}" if shape is not None else "a torch.Tensor"
    if not isinstance(out, torch.Tensor):
        raise AssertionError(f"{what} should return {want}, got {describe(out)}")
    if shape is not None and tuple(out.shape) != tuple(shape):
        if not (numel_one_ok and out.numel() == 1 and math.prod(shape) == 1):
            raise AssertionError(f"{what} should return {want}, got {describe(out)}")
    if floating and not (out.is_floating_point()):
        raise AssertionError(f"{what} should return a floating-point tensor, got {describe(out)}")
    return out.detach().to(torch.float64).cpu()


def as_number(x: Any, what: str = "your answer") -> float:
    """A real number from a float / int / numpy scalar / one-element tensor; AssertionError otherwise."""
    if isinstance(x, bool) or x is None:
        raise AssertionError(f"{what} should be a real number (a float), got {describe(x)}")
    val: float | None = None
    if isinstance(x, (int, float)):
        val = float(x)
    elif isinstance(x, torch.Tensor):
        if x.numel() != 1 or x.is_complex():
            raise AssertionError(f"{what} should be a real number (a float), got {describe(x)}")
        val = float(x.detach().cpu().reshape(()).item())
    elif type(x).__module__.startswith("numpy"):
        import numpy as np

        arr = np.asarray(x)
        if arr.size != 1 or not np.isrealobj(arr) or arr.dtype == bool:
            raise AssertionError(f"{what} should be a real number (a float), got {describe(x)}")
        val = float(arr.reshape(()))
    elif is_sympy(x):
        import sympy

        if x.free_symbols or not x.is_real:
            raise AssertionError(f"{what} should be a real number (a float), got {describe(x)}")
        val = float(sympy.N(x))
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
        if name == "u":
            _CANONICAL[name] = sympy.Symbol("u", positive=True)
        else:
            _CANONICAL[name] = sympy.Symbol(name, real=True)
    return _CANONICAL[name]


def as_sympy_expr(x: Any, ex) -> Any:
    """A sympy expression in ``ex.variable`` (matched by name), or AssertionError."""
    import sympy

    var = getattr(ex, "variable", "u")
    if isinstance(x, str):
        raise AssertionError(f"your answer should be a sympy expression in {var}, got {describe(x)}; "
                             f"build it from a symbol, e.g. {var} = sympy.Symbol({var!r}); expr = ...")
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        x = sympy.sympify(x)
    if not is_sympy(x) or not isinstance(x, sympy.Expr):
        raise AssertionError(f"your answer should be a sympy expression in {var}, got {describe(x)}")
    mapping = {}
    for s in x.free_symbols:
        if s.name != var:
            raise AssertionError(f"your expression contains the symbol {s.name!r}; "
                                 f"it should be an expression in {var} only")
        mapping[s] = symbol(var)
    return x.xreplace(mapping)


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
    got = got.detach().to(torch.float64).cpu()
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
    """|value - expected| <= tol; ``wrong`` is ((value, tol, explanation), ...) of known mistakes."""
    if abs(value - expected) <= tol:
        return
    for wv, wtol, why in wrong:
        if abs(value - wv) <= wtol:
            raise AssertionError(f"{what} {fmt(value)} is not right: {why}")
    raise AssertionError(f"{what} {fmt(value)} is off: expected {fmt(expected)} (tolerance {fmt(tol)})")


def eval_sympy(expr, var: str, x: float) -> complex:
    import sympy

    val = expr.xreplace({symbol(var): sympy.Float(x, 30)})
    val = sympy.N(val, 20)
    try:
        return complex(val)
    except (TypeError, ValueError):
        if val in (sympy.oo, sympy.zoo, -sympy.oo) or val.has(sympy.oo, sympy.zoo, -sympy.oo):
            return complex(float("inf"), 0)
        return complex(float("nan"), 0)


def assert_sympy_equal(expr, expected, var: str, points: Sequence[float], *, rtol: float = 1e-8,
                       wrong: Iterable[tuple] = (), what: str = "your expression") -> None:
    """Compare two expressions in ``var`` numerically at ``points`` (robust where simplify is not).
    ``wrong`` is ((wrong_expr, explanation), ...) of known mistakes, recognised the same way."""

    def agree(e1, e2) -> tuple[bool, float, complex, complex]:
        for x in points:
            a, b = eval_sympy(e1, var, x), eval_sympy(e2, var, x)
            if not (math.isfinite(a.real) and math.isfinite(a.imag)) or abs(a.imag) > 1e-9 * max(1, abs(a.real)):
                return False, x, a, b
            if abs(a.real - b.real) > rtol * max(1.0, abs(b.real)):
                return False, x, a, b
        return True, 0.0, 0, 0

    ok, x, a, b = agree(expr, expected)
    if ok:
        return
    for wexpr, why in wrong:
        if agree(expr, wexpr)[0]:
            raise AssertionError(f"{what} is not right: {why}")
    if not (math.isfinite(a.real) and math.isfinite(a.imag)):
        got = "not a finite number"
    elif abs(a.imag) > 1e-9 * max(1, abs(a.real)):
        got = f"the complex number {a.real:.6g}{a.imag:+.6g}i"
    else:
        got = fmt(a.real)
    raise AssertionError(f"{what} differs from the right answer at {var} = {fmt(x)}: "
                         f"expected {fmt(b.real)}, got {got}")
