# Chapter 3 source (percent format) -> book/03_fenchel_conjugate.ipynb via tools/build_notebooks.py.
# %% [markdown]
# # The Fenchel conjugate
#
# Chapter 2 ended with a wish: rewrite $D_f$ so that the two distributions appear only
# through expectations. The tool is the **Fenchel conjugate** of the convex function $f$
# {cite:p}`fenchel1949conjugate,rockafellar1970convex`. This chapter defines it, draws it,
# checks its two key properties, and derives the conjugate of every generator in the
# library with sympy.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
from IPython.display import Markdown, display

import fdiv
from fdiv.core import symbolic, tables
from fdiv.core.runtime import fast_profile, seed_everything

# tiny tensors: one thread is fastest, and avoids contention on shared CPUs
torch.set_num_threads(1)
seed_everything(0)
FAST = fast_profile()
U, T = symbolic.u, symbolic.t  # sympy symbols: u > 0, t real

def conj(d, t):
    """f*(t) of a library divergence as float64 numpy."""
    return d.conjugate(torch.as_tensor(t, dtype=torch.float64)).numpy()


DIVERGENCES = fdiv.every(alphas=(-1.0, 0.5, 2.0))  # the alpha family at a few alphas

# %% [markdown]
# ## Definition
#
# For a convex $f$, the conjugate is a function of a new variable $t$, a *slope*:
#
# $$
# f^\ast(t) = \sup_{u \in \operatorname{dom} f} \{\, t u - f(u) \,\}.
# $$
#
# For our generators $\operatorname{dom} f = (0, \infty)$, so the supremum is over $u > 0$.
# It may be $+\infty$; the set where it is finite is $\operatorname{dom} f^\ast$.
#
# Read $tu - f(u)$ as the vertical gap between the line through the origin with slope $t$
# and the graph of $f$. The conjugate records the *largest* gap. Where the gap is largest
# (for a differentiable $f$), its derivative vanishes, $f'(u^\ast) = t$: the line of slope
# $t$ that touches the graph at $u^\ast$ is a **supporting line**,
# $\ell_t(u) = t u - f^\ast(t)$, lying below $f$ everywhere and meeting it at $u^\ast$.
#
# For $f(u) = u\log u$ (worked out below) $u^\ast = e^{t-1}$ and $f^\ast(t) = e^{t-1}$. A brute
# force maximum of the gap over a fine grid of $u$ agrees:

# %%
kl = fdiv.get("kl")
u_grid = np.linspace(1e-6, 20, 400_001)
f_grid = u_grid * np.log(u_grid)
for t in [-1.0, 0.0, 0.5, 1.5]:
    gap = t * u_grid - f_grid
    i = gap.argmax()
    assert abs(gap[i] - conj(kl, t)) < 1e-8 and abs(u_grid[i] - math.exp(t - 1)) < 1e-3

# %% tags=["hide-input"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
uu = np.linspace(1e-3, 3, 400)
ax1.plot(uu, uu * np.log(uu), "k", lw=2, label="$f(u) = u \\log u$")
for t, c in zip([-0.5, 0.5, 1.5], ["C0", "C1", "C2"]):
    fs, us = float(conj(kl, t)), math.exp(t - 1)
    ax1.plot(uu, t * uu - fs, c, lw=1, label=f"$\\ell_t(u) = tu - f^*(t)$, $t = {t}$")
    ax1.plot([us], [us * math.log(us)], "o", color=c)
ax1.set_ylim(-1.5, 3)
ax1.set_xlabel("u")
ax1.set_ylabel("value")
ax1.set_title("Supporting lines touch $f$ at $u^* = e^{t-1}$")
ax1.legend(fontsize=8)
t = 0.5
gap = t * uu - uu * np.log(uu)
ax2.plot(uu, gap, "C1", lw=2, label="gap $tu - f(u)$, $t = 0.5$")
ax2.axhline(float(conj(kl, t)), color="0.5", ls="--", label="$f^*(0.5) = e^{-0.5}$")
ax2.plot([math.exp(t - 1)], [float(conj(kl, t))], "ko")
ax2.set_xlabel("u")
ax2.set_ylabel("$tu - f(u)$")
ax2.set_title("The conjugate is the largest gap")
ax2.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Two properties
#
# **$f^\ast$ is convex.** For each fixed $u$, $t \mapsto tu - f(u)$ is an affine function of
# $t$, and a pointwise supremum of affine functions is convex: its epigraph is an
# intersection of half-planes. Over $u > 0$ the slopes $u$ of these affine functions are
# positive, so $f^\ast$ is also **non-decreasing**. Both facts, checked on a grid inside the
# domain of every conjugate in the library (second differences $\ge 0$, first differences
# $\ge 0$):


# %%
def interior_grid(d, n=801):
    low, high = d.domain
    lo = max(low, -8.0)
    hi = min(high, 8.0) - (0.05 if math.isfinite(high) else 0.0)
    return np.linspace(lo, hi, n)


for d in DIVERGENCES:
    values = conj(d, interior_grid(d))
    scale = 1e-9 * (1 + np.abs(values).max())
    assert np.all(np.isfinite(values)), d.tag
    assert np.all(np.diff(values, 2) >= -scale), f"{d.tag}: f* not convex"
    assert np.all(np.diff(values) >= -scale), f"{d.tag}: f* decreasing"

# %% [markdown]
# **Biconjugation.** If $f$ is convex and lower semi-continuous, conjugating twice gives $f$
# back (the Fenchel-Moreau theorem):
#
# $$
# f^{\ast\ast}(u) = \sup_{t \in \operatorname{dom} f^\ast} \{\, t u - f^\ast(t) \,\} = f(u).
# $$
#
# This is the identity the next chapter needs: it writes the nonlinear $f(u)$ as a
# supremum of expressions that are *affine in $u$*, and affine expressions commute with
# integrals. `fdiv.core.symbolic.biconjugate_check` maximises $tu - f^\ast(t)$ over $t$
# numerically, here with the library's $f^\ast$, at seven points $u$ from $0.05$ to $10$.
# (The arithmetic-geometric divergence, whose conjugate is itself computed by a numerical
# root search, is skipped in the fast profile.)

# %%
biconj_errors = {}
for d in DIVERGENCES:
    if FAST and d.name == "ag":
        continue
    result = symbolic.biconjugate_check(
        d.sympy_f,
        fstar=lambda t, d=d: conj(d, t),
        domain=d.domain,
        closed=d.domain_closed,
    )
    biconj_errors[d.tag] = result.max_error
    assert result, (d.tag, result.max_error)
print(
    f"max |f**(u) - f(u)| / (1 + |f(u)|) over {len(biconj_errors)} generators: "
    f"{max(biconj_errors.values()):.1e}"
)

# %% [markdown]
# ## Worked examples
#
# **$f(u) = \tfrac12 u^2$.** Over all real $u$, the gap $tu - \tfrac12u^2$ is a downward
# parabola in $u$ with its top at $u = t$, so $f^\ast(t) = t^2 - \tfrac12 t^2 = \tfrac12 t^2$:
# over $\mathbb{R}$ the function is its own conjugate.

# %%
v = sp.Symbol("v", real=True)
gap_R = T * v - v**2 / 2
(v_star,) = sp.solve(sp.diff(gap_R, v), v)
conj_over_R = sp.simplify(gap_R.subs(v, v_star))
assert (
    v_star == T
    and sp.diff(gap_R, v, 2) == -1
    and sp.simplify(conj_over_R - T**2 / 2) == 0
)
print("over u in R:  u* =", v_star, "  f*(t) =", conj_over_R)

# %% [markdown]
# ```{note}
# The notes define the conjugate of a function on all of $\mathbb{R}$, and there $\tfrac12 u^2$
# *is* self-conjugate, exactly as the cell above shows. This book changes the convention: an
# $f$-divergence generator lives on $u > 0$ (a likelihood ratio is positive), so every
# conjugate here is $f^\ast(t) = \sup_{u > 0}\{tu - f(u)\}$. Nothing is wrong with either
# statement; they answer different questions. (Nor is $\tfrac12 u^2$ a generator: $f(1) = \tfrac12
# \neq 0$; it serves only as a worked example.) Over $u > 0$, for $t \le 0$ the top of the
# parabola, $u = t$, is not allowed; the gap then increases towards $u \to 0$ and the supremum
# is $0$:
#
# $$
# \sup_{u > 0}\{tu - \tfrac12u^2\} = \begin{cases} 0, & t \le 0,\\ \tfrac12 t^2, & t > 0,\end{cases}
# $$
#
# which differs from $\tfrac12 t^2$ for $t < 0$: at $t = -1$ it is $0$, not $\tfrac12$. The next cell
# builds both pieces by hand and checks them against a brute-force supremum over a grid of $u > 0$.
# ```

# %%
gap_pos = T * U - U**2 / 2  # u > 0 now
stationary = sp.solve(sp.diff(gap_pos, U), U)  # u = t, inside u > 0 only when t > 0
# t <= 0: the gap decreases on u > 0, so the sup is its limit at u -> 0
at_zero = sp.limit(gap_pos, U, 0, "+")
half_square = sp.Piecewise((at_zero, T <= 0), (gap_pos.subs(U, T), True))
print("over u > 0:  u* =", stationary, "for t > 0;  f*(t) =", half_square)
u_pos = np.linspace(1e-9, 10, 100_001)
for t in [-2.0, -1.0, 0.0, 1.0, 2.0]:
    brute = (t * u_pos - u_pos**2 / 2).max()
    assert abs(brute - float(half_square.subs(T, t))) < 1e-6
assert float(half_square.subs(T, -1)) == 0.0 != (-1.0) ** 2 / 2

# %% [markdown]
# **$f(u) = u \log u$.** On $u > 0$ the gap $tu - u\log u$ has derivative $t - \log u - 1$,
# which vanishes at $u^\ast = e^{t-1}$ (a maximum: the second derivative is $-1/u < 0$).
# Substituting,
#
# $$
# f^\ast(t) = t e^{t-1} - e^{t-1}(t - 1) = e^{t-1}, \qquad \operatorname{dom} f^\ast = \mathbb{R}.
# $$
#
# This is the conjugate behind the KL divergence in the chapters to come. The same steps in
# sympy, compared with the library:

# %%
gap = T * U - U * sp.log(U)
(u_star,) = sp.solve(sp.diff(gap, U), U)
kl_conj = sp.simplify(gap.subs(U, u_star))
assert (
    sp.simplify(u_star - sp.exp(T - 1)) == 0
    and sp.simplify(kl_conj - sp.exp(T - 1)) == 0
)
ts = np.linspace(-5, 5, 101)
assert np.allclose(conj(kl, ts), np.exp(ts - 1), rtol=1e-12)

# %% tags=["nbval-check-output"]
print("u* =", u_star, "  f*(t) =", kl_conj)

# %% [markdown]
# ## Every conjugate, derived step by step
#
# `fdiv.core.symbolic.derive` does what we just did by hand, for any convex generator, in five
# steps (the printout below numbers its lines by these steps: 4.2 is the second line of step 4):
#
# 1. the gap $g(u) = tu - f(u)$ is concave in $u$, with $g'(u) = t - f'(u)$ and $f'$ non-decreasing;
# 2. the slopes reached inside $u > 0$ run from $a = f'(0^+)$ to $b = f'(\infty)$;
# 3. for $t \le a$ (when $a$ is finite) $g$ decreases on all of $u > 0$, the supremum sits at
#    $u \to 0$ and $f^\ast(t) = -f(0^+)$;
# 4. for $a < t < b$, solve $f'(u) = t$ for $u^\ast(t) > 0$ and substitute:
#    $f^\ast(t) = t u^\ast - f(u^\ast)$;
# 5. for $t > b$, $g$ grows without bound and $f^\ast(t) = +\infty$; at $t = b$ the limit
#    $\lim_{u\to\infty}(bu - f(u))$ decides whether $b$ belongs to the domain.
#
# The two worked examples used steps 1, 2 and 4 ($\tfrac12 u^2$ over $u > 0$ also step 3). Here is
# the full derivation for the Pearson $\chi^2$ generator, $f(u) = (u - 1)^2$, where step 3 matters:

# %%
pearson_derivation = tables.print_derivation("pearson")

# %% [markdown]
# Now for every generator. Each derived conjugate is compared with the library's
# `d.conjugate` on a grid that extends beyond the domain (where both must be $+\infty$). In
# the fast profile the four slowest derivations are skipped: Jensen-Shannon, GAN, Jeffrey
# (whose conjugate needs the Lambert $W$ function) and the arithmetic-geometric divergence
# (whose equation $f'(u) = t$ has no closed-form solution at all).

# %%
SLOW = {"js", "gan", "jeffrey", "ag"}
DERIVED = {}
for d in DIVERGENCES:
    if FAST and d.name in SLOW:
        continue
    der = symbolic.derive(d.sympy_f)
    assert der.domain == d.domain and der.domain_closed == d.domain_closed, d.tag
    low, high = d.domain
    ts = np.linspace(max(low, -6.0), min(high, 6.0), 241)
    # also outside dom f*
    ts = np.concatenate([ts, ts + 0.5 if math.isfinite(high) else ts])
    mine, lib = der.numeric(ts), conj(d, ts)
    finite = np.isfinite(lib)
    assert np.array_equal(finite, np.isfinite(mine)), d.tag
    err = np.abs(mine[finite] - lib[finite]) / (1 + np.abs(lib[finite]))
    assert err.max() < 1e-8, (d.tag, err.max())
    DERIVED[d.tag] = der

rows = [
    "| divergence | $f^\\ast(t)$ ($+\\infty$ outside the domain) "
    "| $\\operatorname{dom} f^\\ast$ |",
    "|---|---|---|",
]
for name, der in DERIVED.items():
    dom = symbolic.latex_domain(der.domain, der.domain_closed)
    rows.append(f"| {name} | ${symbolic.latex_expr(der.conjugate)}$ | ${dom}$ |")
display(Markdown("\n".join(rows)))

# %% tags=["nbval-check-output"]
for name in [
    "kl",
    "reverse_kl",
    "pearson",
    "squared_hellinger",
    "neyman",
    "total_variation",
]:
    der = DERIVED[name]
    print(
        f"{name:18s} f*(t) = {symbolic.format_expr(der.conjugate):40s} dom f* = "
        f"{der.domain_text()}"
    )

# %% [markdown]
# ## When the supremum sits at $u \to 0$
#
# Step 3 produces a *piecewise* conjugate whenever the slope $a = f'(0^+)$ is finite: for
# slopes $t \le a$ no point of $u > 0$ is stationary, the gap keeps growing as $u \to 0$,
# and $f^\ast(t) = -f(0^+)$ is constant. This happens for Pearson $\chi^2$, total variation,
# the triangular discrimination and every $\alpha$-divergence with $\alpha > 1$:

# %%
rows = []
for d in [
    fdiv.get("pearson"),
    fdiv.get("total_variation"),
    fdiv.get("triangular"),
    fdiv.get("alpha", alpha=2.0),
]:
    der = symbolic.derive(d.sympy_f)
    a, f0 = float(der.a), float(der.f_at_zero)
    # flat at -f(0+) for t <= a
    assert math.isfinite(a) and np.allclose(conj(d, [a - 3, a - 1, a]), -f0)
    conjugate = symbolic.latex_expr(der.conjugate)
    rows.append(f"| {d.tag} | ${a:g}$ | ${f0:g}$ | ${conjugate}$ |")
header = "| divergence | $a = f'(0^+)$ | $f(0^+)$ | $f^\\ast(t)$ |\n|---|---|---|---|\n"
display(Markdown(header + "\n".join(rows)))

# %% [markdown]
# The $f$-GAN paper {cite:p}`nowozin2016fgan` lists simpler formulas for some of these,
# because it takes the supremum over all $u \in \mathbb{R}$ (extending $f$ beyond
# $u > 0$). For Pearson $\chi^2$ its conjugate is $t + t^2/4$ on all of $\mathbb{R}$; for total
# variation it is $t$ on $|t| \le \tfrac12$. Over $u > 0$ we get $\max(t + t^2/4, -1)$, with the
# flat piece for $t \le -2$, and for total variation the extra half-line $t < -\tfrac12$ with
# $f^\ast = -\tfrac12$.
#
# The difference is harmless for the variational bound of the next chapter. A supremum over
# a larger set is larger, so the paper's $f^\ast$ is $\ge$ ours, and the bound
# $\mathbb{E}_P[T] - \mathbb{E}_Q[f^\ast(T)]$ built with it is still a lower bound. And the two
# agree wherever the optimal witness $T^\ast = f'(p/q)$ can go: since $p/q \ge 0$ and $f'$ is
# non-decreasing, $T^\ast \ge f'(0^+) = a$.

# %%
pearson = fdiv.get("pearson")
ts = np.linspace(-8, 4, 241)
paper = ts + ts**2 / 4
ours = conj(pearson, ts)
assert np.all(paper >= ours - 1e-12) and np.allclose(paper[ts >= -2], ours[ts >= -2])
ratios = torch.linspace(0, 50, 1001, dtype=torch.float64)
# T* = 2(p/q - 1) never enters t < -2
assert (pearson.optimal_witness(ratios) >= -2).all()

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(
    ts,
    paper,
    "C1--",
    lw=2,
    label="sup over $u \\in \\mathbb{R}$: $t + t^2/4$ (f-GAN paper)",
)
ax.plot(ts, ours, "C0", lw=2, label="sup over $u > 0$ (this book)")
ax.axvline(-2, color="0.6", lw=1, ls=":")
ax.text(-1.9, 6, "$t = f'(0^+) = -2$", fontsize=9)
ax.set_xlabel("t")
ax.set_ylabel("$f^*(t)$")
ax.set_title("Pearson $\\chi^2$: the two conjugates")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# With biconjugation in hand, the next chapter substitutes $f = f^{\ast\ast}$ into the
# definition of $D_f$ and obtains a formula that needs only samples.
