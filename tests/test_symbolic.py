"""fdiv.core.symbolic: derived Fenchel conjugates against the library, brute force and known closed forms."""
from __future__ import annotations

import functools
import io
import math

import numpy as np
import pytest
import sympy as sp
import torch

import fdiv
from fdiv.core import symbolic as S
from fdiv.core import tables as T
from fdiv.core.symbolic import t, u

ALPHAS = (-2.5, -1.0, 0.3, 0.5, 2.0, 3.0)


def _cases():
    out = []
    for name in fdiv.names():
        if name == "alpha":
            out += [("alpha", a) for a in ALPHAS]
        else:
            out.append((name, None))
    return out


CASES = _cases()
IDS = [n if a is None else f"{n}={a:g}" for n, a in CASES]


@functools.lru_cache(maxsize=None)
def _case(name, alpha):
    d = fdiv.get(name) if alpha is None else fdiv.get(name, alpha=alpha)
    return d, S.derive(d.sympy_f)


def _lib_conjugate(d, tt):
    return d.conjugate(torch.tensor(np.asarray(tt, dtype=np.float64))).numpy()


def _inside_grid(der, n=161, lo=-30.0, top=8.0, closest=8):
    """Points of dom f*: a grid, points 10^-closest .. 1 below a finite end, the end if closed."""
    low, high = der.domain
    hi = min(high, top)
    tt = np.linspace(lo, hi, n)
    if math.isfinite(high):
        tt = np.concatenate([tt[tt < high], high - np.logspace(-closest, 0, closest + 1)])
        if der.domain_closed[1]:
            tt = np.append(tt, high)
    return np.unique(tt)


def _brute_sup(f_np, tt, xmin=-30.0, xmax=20.0, n=50001):
    """sup_{u>0} (t u - f(u)) by a dense grid in x = log u plus a bounded Brent refinement."""
    from scipy.optimize import minimize_scalar

    xs = np.linspace(xmin, xmax, n)
    us = np.exp(xs)
    fu = f_np(us)
    out = []
    for t0 in np.atleast_1d(tt):
        g = t0 * us - fu
        i = int(np.argmax(g))
        best = g[i]
        if 0 < i < n - 1:
            r = minimize_scalar(lambda x: -(t0 * np.exp(x) - f_np(np.exp(np.array([x])))[0]),
                                bounds=(xs[i - 1], xs[i + 1]), method="bounded", options={"xatol": 1e-13})
            best = max(best, -r.fun)
        out.append(best)
    return np.array(out)


# ------------------------------------------------------------------------------------------
# against the library
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,alpha", CASES, ids=IDS)
def test_domain_matches_library(name, alpha):
    d, der = _case(name, alpha)
    assert der.domain[0] == -math.inf
    assert der.domain[1] == pytest.approx(d.domain[1], rel=1e-15)
    assert tuple(der.domain_closed) == tuple(d.domain_closed)
    assert isinstance(der.domain[0], float) and isinstance(der.domain[1], float)
    assert float(der.f_at_zero) == pytest.approx(d.f_at_zero)


@pytest.mark.parametrize("name,alpha", CASES, ids=IDS)
def test_conjugate_matches_library(name, alpha):
    d, der = _case(name, alpha)
    tt = _inside_grid(der)
    mine, lib = der.numeric(tt), _lib_conjugate(d, tt)
    assert np.all(np.isfinite(mine)) and np.all(np.isfinite(lib))
    np.testing.assert_allclose(mine, lib, rtol=1e-6, atol=1e-9)
    high = der.domain[1]
    if math.isfinite(high):
        out = high + np.array([1e-9, 1e-3, 0.5, 3.0, 100.0])
        assert np.all(np.isinf(der.numeric(out))) and np.all(der.numeric(out) > 0)
        assert np.all(np.isposinf(_lib_conjugate(d, out)))
        end = der.numeric(np.array([high]))[0]
        assert math.isfinite(end) == der.domain_closed[1]


@pytest.mark.parametrize("name,alpha", CASES, ids=IDS)
def test_conjugate_matches_brute_force(name, alpha):
    d, der = _case(name, alpha)
    f_np = S._f_numpy(der.f)
    tt = _inside_grid(der, n=25, lo=-10.0, top=3.0, closest=2)   # u*(t) within the grid (u < e^20)
    brute = _brute_sup(f_np, tt)
    np.testing.assert_allclose(der.numeric(tt), brute, rtol=1e-6, atol=1e-7)
    high = der.domain[1]
    if math.isfinite(high):  # outside dom f*: the supremum runs away
        assert np.all(_brute_sup(f_np, high + np.array([0.1, 1.0])) > 1e6)


@pytest.mark.parametrize("name,alpha", CASES, ids=IDS)
def test_generator_properties(name, alpha):
    d, der = _case(name, alpha)
    convex = S.is_convex(d.sympy_f)
    assert convex and convex.method == "symbolic", convex
    if name == "gan":
        # the GAN's generator is not normalised: f(1) = -2 log 2 (D_GAN = 2 JS - log 4)
        assert S.satisfies_normalisation(d.sympy_f) is False
        assert sp.simplify(der.f.subs(u, 1) + 2 * sp.log(2)) == 0
    else:
        assert S.satisfies_normalisation(d.sympy_f) is True


@pytest.mark.parametrize("name,alpha", CASES, ids=IDS)
def test_biconjugate(name, alpha):
    d, der = _case(name, alpha)
    res = S.biconjugate_check(der.f, der, der.domain, [0.05, 0.3, 1.0, 2.5, 10.0], closed=der.domain_closed)
    assert res, (res.f, res.f_star_star)
    # the library's own conjugate gives f back as well
    res_lib = S.biconjugate_check(der.f, lambda x: _lib_conjugate(d, x), d.domain, [0.2, 1.0, 4.0],
                                  closed=d.domain_closed)
    assert res_lib, (res_lib.f, res_lib.f_star_star)


# ------------------------------------------------------------------------------------------
# the closed forms of the book (over u > 0)
# ------------------------------------------------------------------------------------------
def _alpha_expected(a):
    a = sp.nsimplify(a)
    main = ((1 + (a - 1) * t) ** (a / (a - 1)) - 1) / a
    if a > 1:
        return sp.Piecewise((-1 / a, t <= -1 / (a - 1)), (main, True)), sp.oo, False
    return main, 1 / (1 - a), bool(a < 0)


W = sp.LambertW(sp.exp(1 - t))
EXPECTED = {  # name: (f*(t) on dom f*, sup dom f*, closed at the top)
    "kl": (sp.exp(t - 1), sp.oo, False),
    "reverse_kl": (-1 - sp.log(-t), 0, False),
    "pearson": (sp.Piecewise((-1, t <= -2), (t + t**2 / 4, True)), sp.oo, False),
    "neyman": (2 - 2 * sp.sqrt(1 - t), 1, True),
    "squared_hellinger": (t / (1 - t), 1, False),
    "jeffrey": (W + 1 / W + t - 2, sp.oo, False),
    "js": (-sp.log(2 - sp.exp(2 * t)) / 2, sp.log(2) / 2, False),
    "gan": (-sp.log(1 - sp.exp(t)), 0, False),
    "triangular": (sp.Piecewise((-1, t <= -3), (4 - t - 4 * sp.sqrt(1 - t), True)), 1, True),
    "total_variation": (sp.Piecewise((-sp.Rational(1, 2), t < -sp.Rational(1, 2)), (t, True)),
                        sp.Rational(1, 2), True),
}


def _finite_pieces(expr):
    if isinstance(expr, sp.Piecewise):
        return [(e, c) for e, c in expr.args if e != sp.oo]
    return [(expr, sp.true)]


def _equal_on(e1, e2, points):
    """Symbolic identity (simplify) or agreement to 25 digits at exact sample points."""
    if sp.simplify(e1 - e2) == 0:
        return True
    return all(abs(sp.N((e1 - e2).subs(t, p), 40)) < 1e-25 for p in points)


@pytest.mark.parametrize("name,alpha", [c for c in CASES if c[0] in EXPECTED or c[0] == "alpha"],
                         ids=[i for c, i in zip(CASES, IDS) if c[0] in EXPECTED or c[0] == "alpha"])
def test_expected_closed_form(name, alpha):
    d, der = _case(name, alpha)
    expected, top, closed = EXPECTED[name] if alpha is None else _alpha_expected(alpha)
    assert der.domain_sympy[1] == top and der.domain_closed == (False, closed)
    assert der.domain == (-math.inf, float(top))
    # exact sample points strictly inside dom f*: compare the pieces symbolically
    top_f = float(top)
    pts = [sp.Rational(k, 7) for k in range(-70, 50, 3) if k / 7 < min(top_f, 6)]
    mine = sp.piecewise_fold(der.conjugate)
    for p in pts:
        v_mine, v_exp = mine.subs(t, p), expected.subs(t, p)
        assert abs(sp.N(v_mine - v_exp, 40)) < 1e-25, (p, v_mine, v_exp)
    # the stationary (smooth, non-constant) piece is the expected formula as a sympy identity
    main_exp = [e for e, _ in _finite_pieces(expected) if e.has(t)][-1]
    main_mine = [e for e, _ in _finite_pieces(der.conjugate) if e.has(t)][-1]
    assert _equal_on(main_mine, main_exp, [p for p in pts if float(p) > -1])
    # beyond the domain: +oo
    if top != sp.oo:
        assert der.conjugate.subs(t, top + 1) == sp.oo
        assert (der.conjugate.subs(t, top) != sp.oo) == closed


def test_jeffrey_uses_lambert_w_in_closed_form():
    _, der = _case("jeffrey", None)
    assert der.conjugate.has(sp.LambertW) and not der.implicit
    assert sp.simplify(der.stationary_u - 1 / W) == 0 or _equal_on(der.stationary_u, 1 / W, [-2, 0, 1, 3])


def test_pearson_is_piecewise_over_positive_u():
    _, der = _case("pearson", None)
    assert der.a == -2 and der.b == sp.oo and der.f_at_zero == 1
    assert der.conjugate.subs(t, -5) == -1            # the sup sits at u -> 0 (the f-GAN table says 5/4)
    assert der.conjugate.subs(t, 2) == 3


def test_total_variation_kink():
    _, der = _case("total_variation", None)
    assert der.breakpoints == (1,)
    assert [p.f_prime for p in der.pieces] == [-sp.Rational(1, 2), sp.Rational(1, 2)]
    vals = der.numeric(np.array([-3.0, -0.5, -0.2, 0.0, 0.3, 0.5, 0.5000001, 2.0]))
    np.testing.assert_allclose(vals, [-0.5, -0.5, -0.2, 0.0, 0.3, 0.5, np.inf, np.inf])
    assert any("Kink at u = 1" in title for title, _ in der.steps)


def test_ag_is_implicit_but_domain_is_known():
    d, der = _case("ag", None)
    assert der.implicit and der.conjugate.has(S.U_STAR)
    assert der.domain == (-math.inf, math.inf) and der.a == -sp.oo and der.b == sp.oo
    assert any("No closed-form" in title for title, _ in der.steps)
    # u*(t) solves f'(u) = t
    tt = np.array([-5.0, 0.0, 2.0])
    us = S._root_solver(der.f_prime)(tt)
    fp = sp.lambdify(u, sp.expand_log(der.f_prime, force=True), "numpy")
    np.testing.assert_allclose(fp(us), tt, atol=1e-9)
    assert der.numeric(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-12)   # f*(f'(1)) = f'(1) - f(1) = 0


# ------------------------------------------------------------------------------------------
# plain sympy input, other generators, errors
# ------------------------------------------------------------------------------------------
def test_derive_conjugate_api_on_plain_expressions():
    fstar, dom = S.derive_conjugate(u * sp.log(u))
    assert sp.simplify(fstar - sp.exp(t - 1)) == 0 and dom == (-math.inf, math.inf)
    fstar, dom = S.derive_conjugate("(sqrt(u) - 1)**2")                 # strings work
    assert sp.simplify(fstar.args[0][0] - t / (1 - t)) == 0 and dom == (-math.inf, 1.0)
    plain_u = sp.Symbol("u")                                            # a u without assumptions
    assert S.derive(-sp.log(plain_u)).domain == (-math.inf, 0.0)
    assert S.derive(u * sp.log(u)) is S.derive(u * sp.log(u))          # cached
    # floats become rationals: alpha = 0.5 is 2 (sqrt u - 1)^2
    der = S.derive((u**0.5 - 1 - 0.5 * (u - 1)) / (0.5 * (0.5 - 1)))
    assert not der.f.atoms(sp.Float) and der.domain == (-math.inf, 2.0)


def test_max_generator_kink_and_closed_end():
    # f = max(0, 1 - u): slopes -1 then 0; f* = -1 (t <= -1), t (-1 <= t <= 0), +oo beyond; closed at 0
    der = S.derive(sp.Max(0, 1 - u))
    assert der.domain == (-math.inf, 0.0) and der.domain_closed == (False, True)
    np.testing.assert_allclose(der.numeric(np.array([-4.0, -1.0, -0.5, 0.0, 0.1])), [-1, -1, -0.5, 0, np.inf])


def test_non_convex_is_rejected():
    with pytest.raises(ValueError, match="not convex"):
        S.derive(sp.sqrt(u))
    check = S.is_convex(-u**2)
    assert not check and check.method == "symbolic"


def test_is_convex_numeric_fallback():
    good = S.is_convex(u**2 + sp.cos(u) / 10)             # f'' = 2 - cos(u)/10 > 0
    assert good and good.method == "numeric"
    bad = S.is_convex(u * sp.log(u) + sp.sin(u) / 1000)   # f'' = 1/u - sin(u)/1000 < 0 somewhere
    assert not bad and bad.method == "numeric"


def test_biconjugate_detects_a_wrong_conjugate():
    wrong = S.biconjugate_check(u * sp.log(u), sp.exp(t), (-math.inf, math.inf), [0.5, 1.0, 2.0])
    assert not wrong and wrong.max_error > 0.1


def test_conjugate_numpy_from_expression():
    fn = S.conjugate_numpy(sp.Piecewise((t / (1 - t), t < 1), (sp.oo, True)))
    np.testing.assert_allclose(fn(np.array([-1.0, 0.5, 1.0, 2.0])), [-0.5, 1.0, np.inf, np.inf])


def test_symbolic_alpha_above_one():
    # alpha = 1 + beta with beta > 0: sympy decides every limit, the book's formula comes out symbolically
    beta = sp.Symbol("beta", positive=True)
    a = 1 + beta
    der = S.derive((u**a - 1 - a * (u - 1)) / (a * (a - 1)))
    assert der.domain == (-math.inf, math.inf) and not der.implicit
    low, main = der.conjugate.args[0], der.conjugate.args[1]
    assert low[0] == -1 / a and low[1] == (t <= -1 / beta)
    expected = ((1 + (a - 1) * t) ** (a / (a - 1)) - 1) / a
    for b0 in (sp.Rational(1, 2), 2):
        for t0 in (-1, 0, sp.Rational(5, 2)):
            assert abs(sp.N((main[0] - expected).subs({beta: b0, t: t0}), 30)) < 1e-25


def test_symbolic_parameter_without_values_is_a_clear_error():
    a = sp.Symbol("alpha")
    with pytest.raises(ValueError, match="alpha"):
        S.derive((u**a - 1 - a * (u - 1)) / (a * (a - 1)))


# ------------------------------------------------------------------------------------------
# command line outputs
# ------------------------------------------------------------------------------------------
def test_print_table_lists_every_divergence():
    buf = io.StringIO()
    T.print_table(file=buf)
    text = buf.getvalue()
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["name", "f(u)", "f*(t)", "dom"]
    for name in fdiv.names():
        assert any(line.startswith(name) for line in lines[2:]), name
    assert "-log(1 - exp(t)) if t < 0" in text and "(-oo, 0)" in text
    assert "log(sigmoid(v))" in text                       # sigma_f of the GAN
    rows = {r["name"]: r for r in T.conjugate_table()}
    assert rows["neyman"]["domain"] == "(-oo, 1]" and rows["kl"]["f_prime_one"] == "1"
    assert rows["total_variation"]["f_prime_one"] == "[-1/2, 1/2]"


def test_print_derivation_steps():
    buf = io.StringIO()
    der = T.print_derivation("neyman", file=buf)
    text = buf.getvalue()
    for piece in ("Stationarity", "u -> 0+", "lim_(u->oo)", "Result", "dom f* = (-oo, 1]",
                  "2 - 2*sqrt(1 - t)"):
        assert piece in text, piece
    assert der.domain_closed == (False, True)
    buf = io.StringIO()
    T.print_derivation("alpha", file=buf, alpha=2.0)
    assert "-1/2 if t <= -1" in buf.getvalue()


@pytest.mark.parametrize("name", ["kl", "pearson", "total_variation", "ag"])
def test_derivation_steps_are_numbered_by_the_five_stages_of_chapter_3(name):
    """`fdiv derive` numbers its lines stage.k, stages 1-5 in order (the chapter's own numbering):
    the t <= a piece is stage 3 where a = f'(0+) is finite, and absent where it is not."""
    import re
    buf = io.StringIO()
    T.print_derivation(name, file=buf)
    nums = [tuple(map(int, m)) for m in re.findall(r"^Step (\d)\.(\d+)\. ", buf.getvalue(), re.M)]
    assert nums and nums == sorted(nums) and nums[0] == (1, 1) and nums[-1][0] == 5
    assert all(k == 1 or (stage, k - 1) in nums for stage, k in nums)   # 1, 2, ... within a stage
    assert ((3, 1) in nums) == (name in ("pearson", "total_variation"))
    assert len(T.STAGES) == 5 and T.derivation_stage("Stationarity f'(u) = t, solved") == 4


def test_print_derivation_unknown_name_lists_names():
    with pytest.raises(ValueError, match="kl"):
        T.print_derivation("no_such_divergence", file=io.StringIO())


def _text_columns(rows):
    return [{k: v for k, v in r.items() if k != "derivation"} for r in rows]


def test_stored_table_matches_the_live_derivation():
    """conjugate_table.json (what `fdiv list` prints) is what sympy derives now: regenerate it with
    `python -m fdiv.core.tables --write` after changing a divergence."""
    live = _text_columns(T.conjugate_table())
    assert T._stored_rows() == live
    assert T.table_text(live) == T.table_text()


def test_markdown_table_typesets_every_formula():
    """The book's formula tables are LaTeX from sympy.latex, one row per divergence, not code strings;
    a piecewise conjugate is a cases environment and no cell holds a bare | (it would split the cell)."""
    import sympy
    ds = fdiv.every(alphas=(0.5, 2.0))
    text = T.markdown_table(ds)
    lines = text.splitlines()
    assert len(lines) == 2 + len(ds) and "`" not in text
    assert all(line.count("|") == 6 for line in lines), "a cell holds a bare |"
    row = {line.split("|")[1].strip(): line for line in lines[2:]}
    assert r"$- \log{\left(1 - e^{t} \right)}$" in row["gan"] and r"\sigma{\left(v \right)}" in row["gan"]
    assert r"\begin{cases} -1 & t \leq -2" in row["pearson"] and "$(-\\infty, 1]$" in row["neyman"]
    assert r"\left\vert {u - 1}\right\vert" in row["total_variation"]
    assert "u^{\\ast}(t)" in row["ag"]
    # the LaTeX is sympy's own rendering of the derived conjugate
    der = fdiv.core.symbolic.derive(fdiv.get("squared_hellinger").sympy_f)
    assert "$" + sympy.latex(der.conjugate.args[0][0]) + "$" in row["squared_hellinger"]


def test_fdiv_list_is_fast_and_imports_neither_torch_nor_sympy():
    import subprocess
    import sys
    import time

    code = ("import sys; from fdiv.cli.main import main; rc = main(['list']); "
            "assert not {'torch', 'sympy'} & set(sys.modules), sorted({'torch', 'sympy'} & set(sys.modules)); "
            "sys.exit(rc)")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stderr
    assert out.stdout == T.table_text(_text_columns(T.conjugate_table())) + "\n"
    assert elapsed < 2.0, f"fdiv list took {elapsed:.2f} s"


def test_table_rederives_rows_whose_generator_changed(tmp_path, monkeypatch):
    rows = T._stored_rows()
    kl = next(r for r in rows if r["name"] == "kl")
    pearson = next(r for r in rows if r["name"] == "pearson")
    kl["f_star"] = "a stored row is reused while its generator is unchanged"
    pearson["key"], pearson["f_star"] = "Symbol('not the generator')", "stale"
    path = tmp_path / "table.json"
    path.write_text(__import__("json").dumps(rows))
    monkeypatch.setattr(T, "TABLE_FILE", path)
    text = T.table_text()  # the registry is imported in this process: rows are checked against it
    assert "a stored row is reused" in text and "stale" not in text
    assert "-1 if t <= -2; t**2/4 + t otherwise" in text


def test_table_includes_a_newly_registered_divergence():
    from fdiv.core import divergences as D

    class Shifted(D.Pearson):
        name = "shifted_pearson_for_test"

        @property
        def sympy_f(self):
            return (u - 1) ** 2 / 2

    D.register(Shifted.name, Shifted)
    try:
        line = next(ln for ln in T.table_text().splitlines() if ln.startswith(Shifted.name))
        assert "(u - 1)**2/2" in line and "-1/2 if t <= -1; t**2/2 + t otherwise" in line
    finally:
        D._REGISTRY.pop(Shifted.name)
