# Chapter 1 source (percent format) -> book/01_f_divergences.ipynb via tools/build_notebooks.py.
# %% [markdown]
# # f-divergences
#
# Generative modelling asks for a parameter $\theta$ that makes a model distribution
# $P_\theta$ look like the data distribution $P_X$:
#
# $$
# \theta^\ast = \arg\min_\theta D(P_X \Vert P_\theta).
# $$
#
# Everything depends on what $D$ is. This chapter introduces the family of
# **$f$-divergences** {cite:p}`csiszar1967,alisilvey1966`, checks their basic properties
# numerically, and ends with the first practical consequence of choosing one member of the
# family over another: fitting a too-simple model to bimodal data.
#
# Throughout the book $P_X$ (density $p_X$, or $p$ for short) is the **data** and $P_\theta$
# (density $p_\theta$, or $q$) is the **model**; the data always sits in the first argument.

# %%
import itertools
import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
import torch.distributions as td
from IPython.display import Markdown, display

import fdiv
from fdiv.core import estimate, symbolic
from fdiv.core.runtime import seed_everything

# tiny tensors: one thread is fastest, and avoids contention on shared CPUs
torch.set_num_threads(1)
seed_everything(0)

DIVERGENCES = fdiv.every(alphas=(-1.0, 0.5, 2.0))  # the alpha family at a few alphas
names = ", ".join(d.tag for d in DIVERGENCES)
print(textwrap.fill(f"{len(DIVERGENCES)} divergences: {names}", 88))

# %% [markdown]
# ## Definition
#
# Let $f : (0, \infty) \to \mathbb{R}$ be a function with three properties:
#
# 1. $f$ is **convex**;
# 2. $f(1) = 0$;
# 3. $f$ is **lower semi-continuous**: at every point its value is at most the limit
#    inferior of its values nearby. A convex function on an open interval is even
#    continuous, so this only matters at the boundary $u \to 0$, where we use the limit
#    $f(0^+)$.
#
# The $f$-divergence of $P_X$ from $P_\theta$ is
#
# $$
# D_f(P_X \Vert P_\theta) \;=\; \int_{\mathcal{X}} p_\theta(x)\,
#   f\!\left(\frac{p_X(x)}{p_\theta(x)}\right) dx .
# $$
#
# The argument of $f$ is the **likelihood ratio** $u(x) = p_X(x)/p_\theta(x)$. Where model
# and data agree, $u = 1$ and the integrand is $f(1) = 0$; elsewhere $f$ turns the
# disagreement into a cost, and the model density weights that cost. Each condition on $f$
# has its own job: convexity gives non-negativity (next section), $f(1) = 0$ makes
# $D_f(P \Vert P) = 0$, and lower semi-continuity is what Fenchel duality needs in
# chapter 3.
#
# In code, every divergence of the library is an object with its generator `d.f`:

# %%
kl = fdiv.get("kl")
u = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
print("f(u) = u log u at u = 0.5, 1, 2:", kl.f(u).numpy().round(6))
assert kl.f(torch.tensor(1.0)) == 0.0

# %% [markdown]
# For distributions on finitely many points the integral is a sum,
# $D_f = \sum_i q_i f(p_i/q_i)$, which `fdiv.discrete` evaluates (with the limits
# $0 \cdot f(0/0) = 0$, $q_i f(0/q_i) = q_i f(0^+)$ and $0 \cdot f(p_i/0) = p_i \lim_{u\to\infty} f(u)/u$
# for the zeros):

# %%
p, q = torch.tensor([0.2, 0.5, 0.3]), torch.tensor([0.4, 0.4, 0.2])
by_hand = float((q * kl.f(p / q)).sum())
assert math.isclose(fdiv.discrete(kl, p, q), by_hand, rel_tol=1e-6)
print(f"D_KL(P||Q) = {by_hand:.6f}")

# %% [markdown]
# ## Non-negativity, by Jensen's inequality
#
# Under the model, the likelihood ratio averages to one:
#
# $$
# \mathbb{E}_{x \sim P_\theta}\!\left[\frac{p_X(x)}{p_\theta(x)}\right]
#   = \int p_\theta(x)\,\frac{p_X(x)}{p_\theta(x)}\,dx = \int p_X(x)\,dx = 1 .
# $$
#
# Jensen's inequality for the convex $f$ moves the expectation inside:
#
# $$
# D_f(P_X \Vert P_\theta) = \mathbb{E}_{P_\theta}\big[f(u(x))\big]
#   \;\ge\; f\big(\mathbb{E}_{P_\theta}[u(x)]\big) = f(1) = 0 .
# $$
#
# The bound $D_f \ge f(1)$ uses convexity alone, so we test it in that form: one of the
# registered generators (the GAN's, chapter 6) has $f(1) \neq 0$. For 60 random pairs of
# distributions on six points and every registered divergence:

# %%
seed_everything(1)
dirichlet = torch.distributions.Dirichlet(torch.ones(6, dtype=torch.float64))
pairs = [(dirichlet.sample(), dirichlet.sample()) for _ in range(60)]

worst = {}
for d in DIVERGENCES:
    values = np.array([fdiv.discrete(d, p, q) for p, q in pairs])
    worst[d.tag] = (values - d.f_one).min()
    assert (values >= d.f_one - 1e-12).all(), d.tag
    # D_f(P||P) = f(1)
    assert abs(fdiv.discrete(d, pairs[0][0], pairs[0][0]) - d.f_one) < 1e-12

# %% tags=["nbval-check-output"]
non_negative = ", ".join(k for k, v in worst.items() if v >= 0)
line = f"min over 60 pairs of D_f(P||Q) - f(1) is >= 0 for {non_negative}"
print(textwrap.fill(line, 88))

# %% [markdown]
# The step that started the argument, $\mathbb{E}_{P_\theta}[p_X/p_\theta] = 1$, checked exactly on
# the six-point pairs and by Monte Carlo for two Gaussians, $P_X = \mathcal N(0, 1)$ and
# $P_\theta = \mathcal N(1, 1)$ (the ratio $e^{1/2 - x}$ averaged over samples of $P_\theta$):

# %%
assert all(abs(float((q * (p / q)).sum()) - 1) < 1e-12 for p, q in pairs)
gen = torch.Generator().manual_seed(0)
x_theta = 1 + torch.randn(200_000, generator=gen, dtype=torch.float64)
ratio = torch.exp(0.5 - x_theta)  # p_X(x) / p_theta(x) for N(0, 1) over N(1, 1)
mean_ratio, se_ratio = ratio.mean().item(), (ratio.std() / len(ratio) ** 0.5).item()
assert abs(mean_ratio - 1) < 4 * se_ratio
print(f"E_theta[p_X/p_theta] by Monte Carlo: {mean_ratio:.3f} +- {se_ratio:.3f}")

# %% [markdown]
# **Identity of indiscernibles.** If $f$ is *strictly* convex at $1$, Jensen's inequality is
# an equality only when the ratio is constant, i.e. $p_X = p_\theta$ almost everywhere. So
# $D_f(P_X \Vert P_\theta) = 0$ exactly when the two distributions agree. These two
# properties, $D_f \ge 0$ with equality only at $P_X = P_\theta$, are what make $D_f$ a
# **divergence**.
#
# Strictness is what the "only if" needs. Every registered divergence except total variation
# has $f''(1) > 0$, and on the 60 random pairs above each gives $D_f > f(1)$ for $P \neq Q$.
# Without strict convexity at $1$ the property can fail: $f(u) = \max(0, |u - 1| - \tfrac12)$
# is convex with $f(1) = 0$ but flat on $[\tfrac12, \tfrac32]$, so *any* pair whose ratio stays in
# that interval has divergence $0$. (Total variation's kink at $1$ is not flat on either side,
# which is why it still separates distributions.)


# %%
def flat_near_one(u):
    return np.maximum(0.0, np.abs(u - 1) - 0.5)


p_flat, q_flat = np.array([0.4, 0.6]), np.array([0.5, 0.5])  # ratios 0.8 and 1.2
d_flat = float((q_flat * flat_near_one(p_flat / q_flat)).sum())
assert d_flat == 0.0 and not np.allclose(p_flat, q_flat)
assert min(worst[d.tag] for d in DIVERGENCES) > 0  # strictly above f(1) for P != Q
print(f"flat generator: D_f = {d_flat} for P = {p_flat}, Q = {q_flat}")

# %% [markdown]
# ## Divergence is not distance
#
# A distance must also be symmetric and satisfy the triangle inequality. Most
# $f$-divergences do neither. Asymmetry is easy to see with two Bernoulli distributions
# (the example of the course notes):
# $P_X = \mathrm{Bernoulli}(0.7)$, $P_\theta = \mathrm{Bernoulli}(0.5)$, written as
# probability vectors $(P(1), P(0))$.

# %%
bern = lambda s: [s, 1.0 - s]  # noqa: E731
kl_pq = fdiv.discrete("kl", bern(0.7), bern(0.5))
kl_qp = fdiv.discrete("kl", bern(0.5), bern(0.7))
assert round(kl_pq, 3) == 0.082 and round(kl_qp, 3) == 0.087
assert math.isclose(kl_pq, 0.7 * math.log(0.7 / 0.5) + 0.3 * math.log(0.3 / 0.5))

# %% tags=["nbval-check-output"]
print(f"KL(Bern(0.7) || Bern(0.5)) = {kl_pq:.4f}")
print(f"KL(Bern(0.5) || Bern(0.7)) = {kl_qp:.4f}")

# %% [markdown]
# The two orders differ, $0.082 \ne 0.087$: KL is not symmetric.
#
# The triangle inequality fails too. Take three Bernoulli distributions on a line,
# $A = \mathrm{Bernoulli}(0.1)$, $B = \mathrm{Bernoulli}(0.2)$, $C = \mathrm{Bernoulli}(0.3)$.
# Going from $A$ to $C$ directly costs *more* than the detour through $B$: near its minimum
# KL grows like a squared distance, and squares of lengths do not add up along a line.

# %%
A, B, C = bern(0.1), bern(0.2), bern(0.3)
direct = fdiv.discrete("kl", A, C)
detour = fdiv.discrete("kl", A, B) + fdiv.discrete("kl", B, C)
assert direct > detour

# %% tags=["nbval-check-output"]
print(f"KL(A||C) = {direct:.4f}  >  KL(A||B) + KL(B||C) = {detour:.4f}")

# %% [markdown]
# Some members of the family do better. Jensen-Shannon is symmetric, and total variation is
# a true metric: symmetric *and* satisfying the triangle inequality. A random search over
# triples finds no violation for total variation, and a violation for KL at once:

# %%
triples = [
    (dirichlet.sample(), dirichlet.sample(), dirichlet.sample()) for _ in range(100)
]


def triangle_violations(name):
    return sum(
        fdiv.discrete(name, a, c)
        > fdiv.discrete(name, a, b) + fdiv.discrete(name, b, c) + 1e-12
        for a, b, c in triples
    )


assert triangle_violations("total_variation") == 0 and triangle_violations("kl") > 0
for p, q in pairs:
    assert math.isclose(
        fdiv.discrete("js", p, q), fdiv.discrete("js", q, p), rel_tol=1e-9
    )
    assert math.isclose(
        fdiv.discrete("total_variation", p, q),
        fdiv.discrete("total_variation", q, p),
        rel_tol=1e-9,
    )

# %% [markdown]
# The asymmetry is not a nuisance to be removed: which argument the data occupies changes
# which models a divergence prefers, as the last section of this chapter shows.
#
# ## Convex generators
#
# A function $f$ is convex when every chord lies on or above the graph:
# for $u_1, u_2$ and weights $\alpha_1, \alpha_2 \ge 0$ with $\alpha_1 + \alpha_2 = 1$,
#
# $$
# \alpha_1 f(u_1) + \alpha_2 f(u_2) \;\ge\; f(\alpha_1 u_1 + \alpha_2 u_2),
# $$
#
# equivalently, the region above the graph (the epigraph) is a convex set. For a twice
# differentiable $f$ this is the same as $f''(u) \ge 0$ on the interval.
#
# **Example.** For the KL generator $f(u) = u\log u$, sympy gives the two derivatives and
# the value at one:

# %%
U = symbolic.u  # sympy Symbol("u", positive=True)
f_kl = U * sp.log(U)
f1, f2 = sp.diff(f_kl, U), sp.diff(f_kl, U, 2)
assert sp.simplify(f1 - (sp.log(U) + 1)) == 0 and sp.simplify(f2 - 1 / U) == 0
assert f_kl.subs(U, 1) == 0 and f2.is_positive  # 1/u > 0 for every u > 0
print("f'(u) =", f1, "   f''(u) =", f2, "   f(1) =", f_kl.subs(U, 1))

# %% [markdown]
# Since $f''(u) = 1/u > 0$ on $u > 0$, $u \log u$ is strictly convex, and $f(1) = 0$. The
# same check for every generator in the library: `fdiv.core.symbolic.is_convex` asks sympy to
# prove $f'' \ge 0$ (on each smooth piece, and that the slope does not jump down at a
# kink, for $|u - 1|/2$).

# %%
rows = ["| divergence | $f(u)$ | $f''(u)$ | $f'' \\ge 0$ |", "|---|---|---|---|"]
for d in DIVERGENCES:
    check = symbolic.is_convex(d.sympy_f)
    assert check and check.method == "symbolic", (d.tag, check)
    f_tex = symbolic.latex_expr(d.sympy_f)
    f2_tex = symbolic.latex_expr(sp.simplify(sp.diff(d.sympy_f, U, 2)))
    rows.append(f"| {d.tag} | ${f_tex}$ | ${f2_tex}$ | {check.method} proof |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# (For total variation sympy writes $f''$ with a Dirac delta at $u = 1$: the slope jumps up
# there, which is convexity at a kink.)
#
# The chord definition itself, checked numerically for every generator at random points
# $u_1, u_2 \in (e^{-6}, e^{6})$ and weights $\alpha_1 \in [0, 1]$:

# %%
gen = torch.Generator().manual_seed(2)
u1, u2 = (
    torch.exp(6 * (2 * torch.rand(5000, generator=gen, dtype=torch.float64) - 1))
    for _ in range(2)
)
a1 = torch.rand(5000, generator=gen, dtype=torch.float64)
for d in DIVERGENCES:
    chord = a1 * d.f(u1) + (1 - a1) * d.f(u2)
    graph = d.f(a1 * u1 + (1 - a1) * u2)
    assert bool((chord >= graph - 1e-9 * (1 + graph.abs())).all()), d.tag

# %% [markdown]
# ## The common divergences
#
# Different generators give the standard divergences. The registry of the library, with the
# values that matter later: $f(1)$, the slope $f'(1)$, the cost $f(0^+)$ of the model putting
# mass where the data has none, and the cost $\lim_{u\to\infty} f(u)/u$ of the data putting
# mass where the model has none.


# %%
def fmt(x):
    return "$\\infty$" if x == math.inf else f"{x:.4g}"


rows = [
    "| name | divergence | $f(u)$ | $f(1)$ | $f'(1)$ | $f(0^+)$ | "
    "$\\lim f(u)/u$ |",
    "|---|---|---|---|---|---|---|",
]
for d in DIVERGENCES:
    limits = (d.f_one, d.f_prime_one, d.f_at_zero, d.f_slope_inf)
    values = " | ".join(fmt(x) for x in limits)
    f_tex = symbolic.latex_expr(d.sympy_f)
    label = d.label.replace("||", "‖")  # a | would split the table cell
    rows.append(f"| {d.tag} | {label} | ${f_tex}$ | {values} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# Four of them deserve a closer look.
#
# **Forward KL**, $f(u) = u \log u$:
#
# $$
# D_{\mathrm{KL}}(P_X \Vert P_\theta) = \int p_\theta\, \frac{p_X}{p_\theta}\log\frac{p_X}{p_\theta}\,dx
#   = \int p_X(x) \log \frac{p_X(x)}{p_\theta(x)}\,dx .
# $$
#
# This is the divergence maximum likelihood minimises. The integrand is weighted by the
# *data*: where $p_X$ is large and $p_\theta$ small it is large, and where $p_\theta = 0 < p_X$
# it is infinite (the last column of the table).
#
# **Reverse KL**, $f(u) = -\log u$, gives $D_f(P_X \Vert P_\theta) = \int p_\theta \log (p_\theta / p_X)
# = D_{\mathrm{KL}}(P_\theta \Vert P_X)$: now the *model* weights the integrand, and the
# model is punished for putting mass where the data has little ($f(0^+) = \infty$).
#
# **Jensen-Shannon**, $f(u) = \tfrac12\big(u\log u - (u+1)\log\tfrac{u+1}{2}\big)$, gives
# $D_{\mathrm{JS}} = \tfrac12 D_{\mathrm{KL}}(P_X \Vert M) + \tfrac12 D_{\mathrm{KL}}(P_\theta \Vert M)$
# with the mixture $M = \tfrac12(P_X + P_\theta)$. It is symmetric, and bounded by $\log 2$,
# reached when the supports are disjoint. (The $f$-GAN paper {cite:p}`nowozin2016fgan` calls
# twice this quantity "Jensen-Shannon"; we follow the notes.)
#
# **Total variation**, $f(u) = \tfrac12 |u - 1|$, gives
# $D_{\mathrm{TV}} = \tfrac12 \int |p_X - p_\theta|\,dx = \sup_A |P_X(A) - P_\theta(A)|$,
# the largest difference in probability the two distributions give to one event.
#
# Each of these identities is checked on a random pair, the last one by enumerating all
# $2^6$ events of the six-point space:

# %%
p, q = pairs[0]
m = (p + q) / 2
assert math.isclose(
    fdiv.discrete("reverse_kl", p, q), fdiv.discrete("kl", q, p), rel_tol=1e-9
)
js_def = 0.5 * fdiv.discrete("kl", p, m) + 0.5 * fdiv.discrete("kl", q, m)
assert math.isclose(fdiv.discrete("js", p, q), js_def, rel_tol=1e-9)
# disjoint: log 2
assert math.isclose(fdiv.discrete("js", [1, 0], [0, 1]), math.log(2), rel_tol=1e-12)
js_all = [fdiv.discrete("js", p, q) for p, q in pairs]
# bounded by log 2, with equality only for disjoint supports
assert max(js_all) < math.log(2)
tv = fdiv.discrete("total_variation", p, q)
events = itertools.product([False, True], repeat=6)
sup_events = max(abs(float(p[list(e)].sum() - q[list(e)].sum())) for e in events)
assert math.isclose(
    tv, 0.5 * float((p - q).abs().sum()), rel_tol=1e-9
) and math.isclose(tv, sup_events, rel_tol=1e-9)

# %% [markdown]
# ```{warning}
# In the course notes the total variation entry lost its formula: the absolute value bars
# appear to have been read as table separators, so the sentence shows "$f(u) = \tfrac12$"
# followed by debris. The generator is
#
# $$
# f(u) = \tfrac12\,|u - 1|, \qquad D_{\mathrm{TV}}(P_X, P_\theta) = \tfrac12 \int |p_X(x) - p_\theta(x)|\,dx ,
# $$
#
# which the next cell checks against the library, pointwise and on a pair of distributions.
# ```

# %%
tv_div = fdiv.get("total_variation")
uu = torch.linspace(0, 4, 41, dtype=torch.float64)
assert torch.allclose(tv_div.f(uu), 0.5 * (uu - 1).abs())
assert sp.simplify(tv_div.sympy_f - sp.Abs(U - 1) / 2) == 0

# %% tags=["nbval-check-output"]
print("total variation: f(u) =", tv_div.sympy_f)
print(f"TV(Bern(0.7), Bern(0.5)) = {fdiv.discrete(tv_div, bern(0.7), bern(0.5)):.4f}")

# %% [markdown]
# Each choice of $f$ defines its own geometry on distributions: how gradients behave, how
# outliers are weighed, what happens when the supports do not overlap. The rest of the book
# develops one recipe that works for every $f$, so the divergence becomes a
# hyperparameter of the method.
#
# ## Mode covering and mode seeking
#
# The asymmetry matters most when the model family is too small. Take bimodal data,
# $P_X = \tfrac12\mathcal{N}(-2, 0.5^2) + \tfrac12\mathcal{N}(2, 0.5^2)$, and a single
# Gaussian model $P_\theta = \mathcal{N}(\mu, \sigma^2)$. For each divergence we minimise the
# *exact* $D_f(P_X \Vert \mathcal{N}(\mu, \sigma^2))$ (quadrature, L-BFGS on
# $(\mu, \log\sigma)$: `fdiv.core.estimate.fit_gaussian_exact`). Some divergences have more than
# one local minimum here, so the optimiser starts in the middle, $(\mu, \sigma) = (0, 2)$,
# on the right-hand mode, $(2, 0.5)$, or from both, and we keep the better fit.

# %%
P_data = td.MixtureSameFamily(
    td.Categorical(torch.tensor([0.5, 0.5], dtype=torch.float64)),
    td.Normal(
        torch.tensor([-2.0, 2.0], dtype=torch.float64),
        torch.tensor([0.5, 0.5], dtype=torch.float64),
    ),
)
MIDDLE, ON_MODE = (0.0, 2.0), (2.0, 0.5)
STARTS = {
    "kl": [MIDDLE],
    "reverse_kl": [ON_MODE],
    "js": [MIDDLE, ON_MODE],
    "squared_hellinger": [MIDDLE, ON_MODE],
    "total_variation": [ON_MODE],
}
ALL_FITS = {
    name: [estimate.fit_gaussian_exact(name, P_data, init=s) for s in starts]
    for name, starts in STARTS.items()
}
FITS = {name: min(fits, key=lambda fit: fit.value) for name, fits in ALL_FITS.items()}

# %% tags=["nbval-check-output"]
for name, fit in FITS.items():
    print(
        f"{name:18s} mu = {abs(fit.mu):.2f}  sigma = {fit.sigma:.2f}  D_f = "
        f"{fit.value:.3f}"
    )

# %% [markdown]
# (The printout shows $|\mu|$: by symmetry, the mode on the left is as good as the one on
# the right.) Forward KL matches the moments of the data, $\mu = 0$ and
# $\sigma^2 = 0.5^2 + 2^2$: it *covers* both modes and puts a lot of mass in the empty gap
# between them. Reverse KL sits on one mode with that mode's width: it *seeks* a mode and
# ignores the other, at a cost of almost exactly $\log 2$ (where the model lives, its
# density is about twice the data density).

# %%
kl_fit, rkl_fit = FITS["kl"], FITS["reverse_kl"]
assert abs(kl_fit.mu) < 1e-4 and abs(kl_fit.sigma - math.sqrt(0.25 + 4.0)) < 1e-4
assert abs(abs(rkl_fit.mu) - 2.0) < 0.01 and abs(rkl_fit.sigma - 0.5) < 0.01
assert abs(rkl_fit.value - math.log(2)) < 1e-3

# %% [markdown]
# Forward KL is maximum likelihood in disguise:
# $D_{\mathrm{KL}}(P_X \Vert P_\theta) = \mathbb{E}_{P_X}[\log p_X] - \mathbb{E}_{P_X}[\log p_\theta]$, and the
# first term does not depend on $\theta$. Minimising it over Gaussians is maximising the expected
# log-likelihood, whose sample version is the Gaussian MLE: the sample mean and the (biased)
# sample standard deviation of data drawn from $P_X$. The two fits agree:

# %%
x_data = P_data.sample((400_000,))
mle_mu, mle_sigma = x_data.mean().item(), x_data.std(unbiased=False).item()
assert abs(mle_mu - kl_fit.mu) < 0.02 and abs(mle_sigma - kl_fit.sigma) < 0.02
print(
    f"KL fit: mu = {kl_fit.mu:.3f}, sigma = {kl_fit.sigma:.3f};  "
    f"MLE on {len(x_data):,} samples: mu = {mle_mu:.3f}, sigma = {mle_sigma:.3f}"
)

# %% tags=["hide-input"]
x = torch.linspace(-6, 6, 1201, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.fill_between(x, P_data.log_prob(x).exp(), color="0.85", label="data $P_X$")
for name, style in [
    ("kl", "-"),
    ("reverse_kl", "--"),
    ("js", ":"),
    ("total_variation", "-."),
]:
    fit = FITS[name]
    density = td.Normal(fit.mu, fit.sigma).log_prob(x).exp()
    ax.plot(
        x,
        density,
        style,
        lw=2,
        label=f"{name}: $\\mu$={fit.mu:.2f}, $\\sigma$={fit.sigma:.2f}",
    )
ax.set_xlabel("x")
ax.set_ylabel("density")
ax.set_title(
    "One Gaussian fitted to two modes: $\\min_{\\mu,\\sigma} D_f(P_X \\Vert "
    "\\mathcal{N}(\\mu,\\sigma^2))$"
)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The other divergences land in between. For these well separated modes Jensen-Shannon and
# squared Hellinger still prefer the broad fit, although the start on a mode stops at a
# mode-locked local minimum that is not much worse; total variation, started on a mode,
# settles on a compromise between the centre and that mode. Which behaviour is preferable
# depends on the application: a mode-covering model produces implausible samples in the
# gap, a mode-seeking one never produces samples from the ignored mode.

# %%
for name in ["js", "squared_hellinger"]:
    broad, local = ALL_FITS[name]
    assert (
        abs(broad.mu) < 1e-3
        and abs(abs(local.mu) - 2.0) < 0.01
        and broad.value < local.value
    ), name
assert 0.5 < abs(FITS["total_variation"].mu) < 1.9

# %% [markdown]
# Everything in this chapter used the densities $p_X$ and $p_\theta$. The next chapter
# explains why a generative model gives us neither.
