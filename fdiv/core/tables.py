"""The table of every divergence and the step-by-step derivation of its conjugate: what ``fdiv list``
and ``fdiv derive NAME`` print (chapter 3).  Built on :mod:`fdiv.core.symbolic` (the derivation) and
:mod:`fdiv.core.divergences` (the registry)."""
from __future__ import annotations

import sys

import sympy

from fdiv.core.divergences import get, names
from fdiv.core.symbolic import Derivation, _prepare, _tidy, derive, format_expr, u

__all__ = ["conjugate_table", "print_table", "print_derivation"]


def _activation_text(d) -> str:
    for attr in ("activation_expr", "activation_label"):
        v = getattr(d, attr, None)
        if v is not None:
            return v if isinstance(v, str) else sympy.sstr(v)
    return type(d).__name__


def _divergences():
    """(label, Divergence) for every registered name; families get a few representative values."""
    out = []
    for name in names():
        try:
            out.append((name, get(name)))
        except (TypeError, ValueError):
            for alpha in (-1.0, 0.5, 2.0):
                try:
                    d = get(name, alpha=alpha)
                except (TypeError, ValueError):
                    break
                out.append((f"{name}({alpha:g})", d))
    return out


def _slope_text(der: Derivation, x) -> str:
    """f'(x), or the subdifferential [f'(x-), f'(x+)] at a kink."""
    for p, q in zip(der.pieces[:-1], der.pieces[1:]):
        if p.hi == x:
            return f"[{sympy.sstr(p.b)}, {sympy.sstr(q.a)}]"
    p = next(p for p in der.pieces if p.lo < x and (p.hi == sympy.oo or x < p.hi))
    return sympy.sstr(_tidy(p.f_prime.subs(u, x)))


def conjugate_table() -> list[dict]:
    """Rows {name, f, f_star, domain, activation, f_prime_one, derivation} for every divergence."""
    rows = []
    for label, d in _divergences():
        der = derive(d.sympy_f)
        rows.append({
            "name": label,
            "f": sympy.sstr(der.f),
            "f_star": format_expr(der.conjugate),
            "domain": der.domain_text(),
            "activation": _activation_text(d),
            "f_prime_one": _slope_text(der, sympy.Integer(1)),
            "derivation": der,
        })
    return rows


def print_table(file=None) -> None:
    """``fdiv list``: aligned table of f, f*, dom f*, output activation sigma_f and f'(1)."""
    file = sys.stdout if file is None else file
    cols = [("name", "name"), ("f", "f(u)"), ("f_star", "f*(t)"), ("domain", "dom f*"),
            ("activation", "sigma_f"), ("f_prime_one", "f'(1)")]
    rows = conjugate_table()
    widths = {k: max(len(h), *(len(str(r[k])) for r in rows)) for k, h in cols}
    line = "  ".join(h.ljust(widths[k]) for k, h in cols).rstrip()
    print(line, file=file)
    print("  ".join("-" * widths[k] for k, _ in cols), file=file)
    for r in rows:
        print("  ".join(str(r[k]).ljust(widths[k]) for k, _ in cols).rstrip(), file=file)
    print("\nf*(t) = sup_{u>0} (t u - f(u)); f*(t) = +oo outside dom f*. "
          "'fdiv derive NAME' shows the derivation.", file=file)


def _pretty(expr, file) -> str:
    enc = (getattr(file, "encoding", None) or "").lower()
    return sympy.pretty(expr, use_unicode="utf" in enc, wrap_line=False)


def print_derivation(name, file=None, **params) -> Derivation:
    """``fdiv derive NAME``: the step-by-step derivation of f* for a registered divergence.

    ``name`` may also be a sympy expression (or string) in u. Unknown names -> ValueError
    listing the registered names (raised by ``fdiv.get``).
    """
    file = sys.stdout if file is None else file
    is_name = isinstance(name, str) and name.isidentifier() and name != "u"
    if is_name and not params:
        try:
            d = get(name)
        except (TypeError,) as exc:
            raise ValueError(f"divergence {name!r} needs parameters: {exc}") from exc
        f_expr, title = d.sympy_f, f"{getattr(d, 'label', name)} ({name})"
    elif is_name:
        d = get(name, **params)
        f_expr, title = d.sympy_f, f"{getattr(d, 'label', name)} ({name}, {params})"
    else:
        f_expr, title = name, "f(u) = " + sympy.sstr(_prepare(name))
    der = derive(f_expr)
    print(f"Fenchel conjugate of {title}", file=file)
    print("=" * min(78, len(title) + 21), file=file)
    for i, (head, body) in enumerate(der.steps, 1):
        print(f"\nStep {i}. {head}", file=file)
        if isinstance(body, str):
            print("    " + body, file=file)
        else:
            text = _pretty(body, file)
            print("\n".join("    " + ln for ln in text.splitlines()), file=file)
    print(f"\nOne line: f*(t) = {format_expr(der.conjugate)},  dom f* = {der.domain_text()}", file=file)
    return der
