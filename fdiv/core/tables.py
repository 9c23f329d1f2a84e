"""The table of every divergence and the step-by-step derivation of its conjugate: what ``fdiv list``
and ``fdiv derive NAME`` print (chapter 3).  Built on :mod:`fdiv.core.symbolic` (the derivation) and
:mod:`fdiv.core.divergences` (the registry).

Deriving the thirteen conjugates with sympy takes seconds, so the rows of the built-in divergences are
kept in ``conjugate_table.json`` next to this module, each under the generator it was derived from.
``fdiv list`` prints them without importing torch or sympy while only the built-ins can be registered
(the registry module not yet imported); otherwise a row is reused only if its divergence's generator
is unchanged, and derived afresh if not.  The file is written by ``python -m fdiv.core.tables --write``
and a test checks it against the live derivation.
"""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

__all__ = ["conjugate_table", "print_table", "print_derivation", "derivation_stage", "STAGES", "table_text",
           "markdown_table",
           "write_table_file"]

TABLE_FILE = Path(__file__).with_name("conjugate_table.json")
COLUMNS = [("name", "name"), ("f", "f(u)"), ("f_star", "f*(t)"), ("domain", "dom f*"),
           ("activation", "sigma_f"), ("f_prime_one", "f'(1)")]
FOOTER = ("\nf*(t) = sup_{u>0} (t u - f(u)); f*(t) = +oo outside dom f*. "
          "'fdiv derive NAME' shows the derivation.")


def _activation_text(d) -> str:
    import sympy

    for attr in ("activation_expr", "activation_label"):
        v = getattr(d, attr, None)
        if v is not None:
            return v if isinstance(v, str) else sympy.sstr(v)
    return type(d).__name__


def _slope_text(der, x) -> str:
    """f'(x), or the subdifferential [f'(x-), f'(x+)] at a kink."""
    import sympy

    from fdiv.core.symbolic import _tidy, u

    for p, q in zip(der.pieces[:-1], der.pieces[1:]):
        if p.hi == x:
            return f"[{sympy.sstr(p.b)}, {sympy.sstr(q.a)}]"
    p = next(p for p in der.pieces if p.lo < x and (p.hi == sympy.oo or x < p.hi))
    return sympy.sstr(_tidy(p.f_prime.subs(u, x)))


def _generator_key(d) -> str:
    """The generator a row is derived from, as exact text (floats become rationals, as in derive)."""
    import sympy

    from fdiv.core.symbolic import _prepare

    return sympy.srepr(_prepare(d.sympy_f))


def _row(d) -> dict:
    """{name, f, f_star, domain, activation, f_prime_one, key, derivation} from the live derivation."""
    import sympy

    from fdiv.core.symbolic import derive, format_expr, latex_domain, latex_expr

    der = derive(d.sympy_f)
    activation = _activation_text(d)
    return {"name": d.tag, "f": sympy.sstr(der.f), "f_star": format_expr(der.conjugate),
            "domain": der.domain_text(), "activation": activation,
            "f_prime_one": _slope_text(der, sympy.Integer(1)), "key": _generator_key(d),
            "f_tex": latex_expr(der.f), "f_star_tex": latex_expr(der.conjugate),
            "domain_tex": latex_domain(d.domain, d.domain_closed), "activation_tex": latex_expr(activation), "derivation": der}


def markdown_table(divergences=None) -> str:
    """The table of f, f*, dom f* and sigma_f typeset as math: a Markdown table (for
    ``IPython.display.Markdown`` in the book, chapters 3, 5, 13).  ``divergences``: instances (default:
    ``every()``); stored rows are used where their generator is unchanged."""
    from fdiv.core.divergences import every

    rows = _rows_for(every() if divergences is None else divergences, _stored_rows())
    lines = ["| divergence | $f(u)$ | $f^\\ast(t)$ | $\\operatorname{dom} f^\\ast$ | $\\sigma_f(v)$ |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | ${r['f_tex']}$ | ${r['f_star_tex']}$ | ${r['domain_tex']}$ | "
              f"${r['activation_tex']}$ |" for r in rows]
    return "\n".join(lines)


def conjugate_table() -> list[dict]:
    """Rows {name, f, f_star, domain, activation, f_prime_one, key, derivation} for every divergence
    (``every()``: the alpha family at a few values), each derived now with sympy."""
    from fdiv.core.divergences import every

    return [_row(d) for d in every()]


def _stored_rows() -> list[dict]:
    try:
        return json.loads(TABLE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a missing or damaged file only costs the time to derive
        return []


def _table_rows() -> list[dict]:
    """The rows to print: the stored ones while only the built-ins can be registered, otherwise
    every registered divergence with its stored row if the generator matches, derived if not."""
    stored = _stored_rows()
    if stored and "fdiv.core.divergences" not in sys.modules:
        return stored
    from fdiv.core.divergences import every

    return _rows_for(every(), stored)


def _rows_for(divergences, stored: list[dict]) -> list[dict]:
    """The row of each divergence: its stored one if the generator is unchanged, else derived now."""
    by_key = {(r["name"], r["key"]): r for r in stored}
    return [by_key.get((d.tag, _generator_key(d))) or _row(d) for d in divergences]


def table_text(rows: list[dict] | None = None) -> str:
    """The aligned table of f, f*, dom f*, sigma_f and f'(1) with its footer (what ``fdiv list`` prints)."""
    rows = _table_rows() if rows is None else rows
    widths = {k: max(len(h), *(len(str(r[k])) for r in rows)) for k, h in COLUMNS}
    lines = ["  ".join(h.ljust(widths[k]) for k, h in COLUMNS).rstrip(),
             "  ".join("-" * widths[k] for k, _ in COLUMNS)]
    lines += ["  ".join(str(r[k]).ljust(widths[k]) for k, _ in COLUMNS).rstrip() for r in rows]
    return "\n".join(lines) + "\n" + FOOTER


def print_table(file=None) -> None:
    """``fdiv list``: aligned table of f, f*, dom f*, output activation sigma_f and f'(1)."""
    print(table_text(), file=sys.stdout if file is None else file)


def write_table_file(path: Path = TABLE_FILE) -> None:
    """Derive every row now and store the text columns (and the generator) in ``path``."""
    rows = [{k: v for k, v in r.items() if k != "derivation"} for r in conjugate_table()]
    path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _pretty(expr, file) -> str:
    import sympy

    enc = (getattr(file, "encoding", None) or "").lower()
    return sympy.pretty(expr, use_unicode="utf" in enc, wrap_line=False)


#: The five stages of a derivation (chapter 3 numbers them the same way); each printed step is
#: numbered "stage.k".
STAGES = (
    "the gap g(u) = t u - f(u) is concave",
    "the slopes reached inside u > 0 run from a = f'(0+) to b = f'(oo)",
    "t <= a: g decreases, the sup is the limit at u -> 0+",
    "a < t < b: solve f'(u) = t for u*(t) > 0 and substitute",
    "t >= b: the sup is the limit as u -> oo (+oo for t > b); the result",
)


def derivation_stage(title: str) -> int:
    """The stage (1-5 of :data:`STAGES`) of a derivation step, from its title."""
    t = title.lower()
    if t.startswith(("slopes reached", "u -> 0+")):
        return 2
    if t.startswith("t <= a"):
        return 3
    if t.startswith(("stationarity", "no closed-form", "it lies in the range", "substitute", "kink at")):
        return 4
    if t.startswith(("f'(oo)", "t = b", "t > b", "result", "domain")):
        return 5
    return 1


def print_derivation(name, file=None, **params):
    """``fdiv derive NAME``: the step-by-step derivation of f* for a registered divergence.

    ``name`` may also be a sympy expression (or string) in u. Unknown names -> ValueError
    listing the registered names (raised by ``fdiv.get``).
    """
    import sympy

    from fdiv.core.divergences import get
    from fdiv.core.symbolic import _prepare, derive, format_expr

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
    counts: dict[int, int] = {}
    for head, body in der.steps:
        stage = derivation_stage(head)
        counts[stage] = counts.get(stage, 0) + 1
        print(f"\nStep {stage}.{counts[stage]}. {head}", file=file)
        if isinstance(body, str):  # prose: wrapped to the book's 88 columns
            print(textwrap.fill(body, 88, initial_indent="    ", subsequent_indent="    "), file=file)
        else:
            text = _pretty(body, file)
            print("\n".join("    " + ln for ln in text.splitlines()), file=file)
    print(f"\nOne line: f*(t) = {format_expr(der.conjugate)},  dom f* = {der.domain_text()}", file=file)
    return der


def main(argv: list[str] | None = None) -> int:
    """``python -m fdiv.core.tables --write`` regenerates the stored rows; ``--check`` compares them."""
    parser = argparse.ArgumentParser(prog="python -m fdiv.core.tables", description=main.__doc__)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="derive every row and store them")
    action.add_argument("--check", action="store_true", help="compare the stored rows with a live derivation (default)")
    args = parser.parse_args(argv)
    if args.write:
        write_table_file()
        print(f"wrote {TABLE_FILE}")
        return 0
    live = [{k: v for k, v in r.items() if k != "derivation"} for r in conjugate_table()]
    if live == _stored_rows():
        print(f"{TABLE_FILE.name} matches the live derivation")
        return 0
    print(f"{TABLE_FILE.name} is out of date: run python -m fdiv.core.tables --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
