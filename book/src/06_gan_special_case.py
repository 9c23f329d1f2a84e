# Chapter 6 source (percent format) -> book/06_gan_special_case.ipynb via tools/build_notebooks.py.
# %% [markdown]
# # The GAN as a special case
#
# Variational divergence minimisation works with any generator $f$. One choice reproduces
# the original generative adversarial network {cite:p}`goodfellow2014gan`:
#
# $$
# f(u) = u \log u - (u + 1)\log(u + 1).
# $$
#
# This chapter derives its conjugate, its output activation and its objective, checks that
# the objective is exactly a binary cross-entropy, and makes precise how it relates to the
# Jensen-Shannon divergence.

# %%
import math

import numpy as np
import sympy as sp
import torch
import torch.distributions as td
import torch.nn.functional as F

import fdiv
from fdiv.gan import objectives
from fdiv.core import symbolic, tables
from fdiv.core.runtime import seed_everything

# tiny tensors: one thread is fastest, and avoids contention on shared CPUs
torch.set_num_threads(1)
seed_everything(0)
U, T = symbolic.u, symbolic.t
gan = fdiv.get("gan")

# %% [markdown]
# ## The generator
#
# Sympy confirms that $f$ is convex on $u > 0$, and computes its value at one, which is
# **not** zero (more on this at the end of the chapter):

# %%
f_gan = U * sp.log(U) - (U + 1) * sp.log(U + 1)
assert sp.simplify(f_gan - gan.sympy_f) == 0
f1, f2 = sp.simplify(sp.diff(f_gan, U)), sp.simplify(sp.diff(f_gan, U, 2))
assert symbolic.is_convex(f_gan) and sp.simplify(f2 - 1 / (U * (U + 1))) == 0
assert sp.simplify(f_gan.subs(U, 1) + 2 * sp.log(2)) == 0

# %% tags=["nbval-check-output"]
print("f'(u) =", f1, "   f''(u) =", f2, "   f(1) =", sp.simplify(f_gan.subs(U, 1)))

# %% [markdown]
# ## The conjugate
#
# Set up $f^\ast(t) = \sup_{u>0}\{tu - u\log u + (u+1)\log(u+1)\}$ and differentiate the
# bracket:
#
# $$
# \begin{aligned}
# t - \log u - 1 + \log(u + 1) + 1 = 0
# &\quad\Longleftrightarrow\quad \log\frac{u+1}{u} = -t \\
# &\quad\Longleftrightarrow\quad u^\ast = \frac{1}{e^{-t} - 1}.
# \end{aligned}
# $$
#
# The stationary point is a positive number only when $e^{-t} > 1$, i.e. $t < 0$; for
# $t \ge 0$ the bracket increases without bound, since $f'(u) = \log\frac{u}{u+1} < 0$ for
# every $u$. Substituting $u^\ast$:
#
# $$
# f^\ast(t) = -\log(1 - e^t), \qquad \operatorname{dom} f^\ast = (-\infty, 0).
# $$
#
# The same steps in sympy:

# %%
bracket = T * U - f_gan
u_star = 1 / (sp.exp(-T) - 1)
assert sp.simplify(sp.diff(bracket, U).subs(U, u_star)) == 0  # stationary
# substitute s = e^t in (0, 1), written s = 1/(1 + r) with r > 0: sympy then knows s < 1
r = sp.Symbol("r", positive=True)
value = sp.simplify(bracket.subs(U, u_star).subs(T, sp.log(1 / (1 + r))))
assert sp.simplify(value + sp.log(1 - 1 / (1 + r))) == 0  # = -log(1 - e^t)
print("u*(t) =", u_star, "   f*(t) =", -sp.log(1 - sp.exp(T)), " for t < 0")

# %% [markdown]
# `fdiv.core.symbolic` derives it from the generator alone, step by step, and we compare its
# result with the library's closed form `gan.conjugate`:

# %%
derivation = tables.print_derivation("gan")

# %%
assert derivation.domain == (-math.inf, 0.0) and derivation.domain == gan.domain
ts = np.linspace(-12, 0.5, 251)
derived, library = (
    derivation.numeric(ts),
    gan.conjugate(torch.as_tensor(ts, dtype=torch.float64)).numpy(),
)
inside = ts < 0
assert np.allclose(derived[inside], -np.log1p(-np.exp(ts[inside])), rtol=1e-10)
assert np.allclose(derived[inside], library[inside], rtol=1e-10)
assert np.all(np.isinf(derived[~inside])) and np.all(np.isinf(library[~inside]))

# %% [markdown]
# ## The activation, and the discriminator
#
# The witness must take values in $\operatorname{dom} f^\ast = (-\infty, 0)$. The GAN's output
# activation is
#
# $$
# \sigma_f(v) = -\log(1 + e^{-v}) = \log \sigma(v), \qquad \sigma(v) = \frac{1}{1 + e^{-v}},
# $$
#
# negative for every real $v$, tending to $0$ as $v \to \infty$ and to $-\infty$ as
# $v \to -\infty$. With the **discriminator** $D_w(x) = \sigma(V_w(x)) \in (0, 1)$ the witness is
#
# $$
# \begin{aligned}
# T_w(x) &= \sigma_f(V_w(x)) = \log D_w(x), \\
# f^\ast(T_w(x)) &= -\log\big(1 - e^{\log D_w(x)}\big) = -\log\big(1 - D_w(x)\big).
# \end{aligned}
# $$

# %%
v = torch.linspace(-30, 30, 601, dtype=torch.float64)
T_w = gan.activation(v)
assert torch.allclose(T_w, F.logsigmoid(v)) and torch.allclose(
    T_w, torch.log(torch.sigmoid(v))
)
assert bool((T_w < 0).all())
# where -log(1 - sigmoid(v)) is still accurate when computed literally
moderate = (v.abs() <= 15)
assert torch.allclose(
    gan.conjugate(T_w)[moderate], -torch.log1p(-torch.sigmoid(v[moderate])), rtol=1e-9
)
# f*(log D) = -log(1 - D) = softplus(V)
assert torch.allclose(gan.conjugate_activation(v), F.softplus(v))

# %% [markdown]
# ## The GAN objective
#
# Substituting both terms into the VDM objective
# $J(\theta, w) = \mathbb{E}_{P_X}[T_w(x)] - \mathbb{E}_{P_\theta}[f^\ast(T_w(x))]$ gives
#
# $$
# J_{\mathrm{GAN}}(\theta, w) = \mathbb{E}_{x \sim P_X}\big[\log D_w(x)\big]
#   + \mathbb{E}_{z \sim \mathcal{N}(0, I)}\big[\log\big(1 - D_w(g_\theta(z))\big)\big],
# $$
#
# with the saddle-point problem $\min_\theta \max_w J_{\mathrm{GAN}}(\theta, w)$: the objective
# of {cite:t}`goodfellow2014gan`, derived here as one member of the $f$-GAN family
# {cite:p}`nowozin2016fgan`. Each term is a log-likelihood of a binary label: the first
# rewards $D_w \to 1$ on data, the second $D_w \to 0$ on generated samples. So $J_{\mathrm{GAN}}$
# is minus the binary cross-entropy of a classifier with logit $V_w$, real samples labelled
# $1$ and generated ones $0$:
#
# $$
# J_{\mathrm{GAN}} = -\Big(\mathrm{BCE}\big(V_w(x), 1\big) + \mathrm{BCE}\big(V_w(\hat x), 0\big)\Big),
# $$
#
# each BCE averaged over its own minibatch. A numerical check with a small random
# discriminator, a small random generator and data from a Gaussian: the library's VDM
# objective (`fdiv.gan.objectives.critic_objective`), the notes' formula and PyTorch's
# `binary_cross_entropy_with_logits` agree, and so do their gradients with respect to the
# discriminator's weights.

# %%
torch.manual_seed(0)
V_w = torch.nn.Sequential(
    torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
)
g_theta = torch.nn.Sequential(
    torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
)
x_real = 0.5 + torch.randn(512, 1)
with torch.no_grad():
    x_fake = g_theta(torch.randn(512, 2))


def three_forms():
    v_real, v_fake = V_w(x_real).squeeze(1), V_w(x_fake).squeeze(1)
    vdm = objectives.critic_objective(gan, v_real, v_fake)
    notes = (
        torch.log(torch.sigmoid(v_real)).mean()
        + torch.log(1 - torch.sigmoid(v_fake)).mean()
    )
    bce = -(
        F.binary_cross_entropy_with_logits(v_real, torch.ones_like(v_real))
        + F.binary_cross_entropy_with_logits(v_fake, torch.zeros_like(v_fake))
    )
    return vdm, notes, bce


values = three_forms()
grads = [
    torch.cat(
        [
            g.flatten()
            for g in torch.autograd.grad(J, list(V_w.parameters()), retain_graph=True)
        ]
    )
    for J in values
]
values = [float(J.detach()) for J in values]
assert all(abs(J - values[0]) < 1e-6 for J in values)
assert all(torch.allclose(g, grads[0], atol=1e-6) for g in grads)

# %% tags=["nbval-check-output"]
print("J_GAN: VDM form, notes' form, -(BCE_real + BCE_fake):")
print("  ", ",  ".join(f"{J:.5f}" for J in values))
assert all(abs(J - values[0]) < 1e-6 for J in values)

# %% [markdown]
# The forms are equal as mathematics, not as floating-point programs. With a confident
# discriminator, $\log(1 - \sigma(v))$ computed literally in single precision rounds
# $\sigma(30)$ to $1$ and returns $-\infty$, while the library evaluates
# $f^\ast(\sigma_f(v)) = \operatorname{softplus}(v)$ and PyTorch's BCE works with the logit:

# %%
v_big = torch.tensor([30.0])
literal = torch.log(1 - torch.sigmoid(v_big))
stable = -gan.conjugate_activation(v_big)
assert torch.isinf(literal).all() and torch.allclose(stable, torch.tensor([-30.0]))
assert torch.allclose(
    stable, -F.binary_cross_entropy_with_logits(v_big, torch.zeros(1), reduction="none")
)
print("log(1 - sigmoid(30)) literally:", literal.item(), "  stably:", stable.item())

# %% [markdown]
# ## The optimal discriminator
#
# Chapter 4's optimal witness is $T^\ast = f'(p/q) = \log\frac{p/q}{p/q + 1}
# = \log\frac{p_X}{p_X + p_\theta}$. Since $T_w = \log D_w$, the optimal discriminator is
#
# $$
# D^\ast(x) = \frac{p_X(x)}{p_X(x) + p_\theta(x)},
# $$
#
# the posterior probability that $x$ is real when real and generated samples are equally
# likely a priori. Where the model is perfect, $p_\theta = p_X$, it is $\tfrac12$ everywhere.

# %%
x = torch.linspace(-8, 8, 1601, dtype=torch.float64)
P, Q = td.Normal(0.0, 1.0), td.Normal(1.0, 1.5)
p, q = P.log_prob(x).exp(), Q.log_prob(x).exp()
D_star = gan.optimal_witness(p / q).exp()
assert torch.allclose(D_star, p / (p + q))
assert torch.allclose(
    gan.optimal_witness(torch.ones(5, dtype=torch.float64)).exp(),
    torch.full((5,), 0.5, dtype=torch.float64),
)

# %% [markdown]
# ## How the GAN relates to Jensen-Shannon
#
# Compare the GAN generator with the Jensen-Shannon generator of chapter 1,
# $f_{\mathrm{JS}}(u) = \tfrac12\big(u\log u - (u+1)\log\tfrac{u+1}{2}\big)$. Expanding
# $\log\tfrac{u+1}{2} = \log(u+1) - \log 2$,
#
# $$
# f_{\mathrm{GAN}}(u) = 2 f_{\mathrm{JS}}(u) - (u + 1)\log 2
#   = 2 f_{\mathrm{JS}}(u) - (u - 1)\log 2 - 2\log 2 .
# $$
#
# The term $(u - 1)\log 2$ integrates to nothing: $\int q\,(p/q - 1) = \int p - \int q = 0$.
# Adding $c(u-1)$ to any generator leaves $D_f$ unchanged. What remains is
#
# $$
# D_{\mathrm{GAN}}(P_X \Vert P_\theta) = 2\,D_{\mathrm{JS}}(P_X \Vert P_\theta) - 2\log 2 .
# $$

# %%
f_js = fdiv.get("js").sympy_f
assert (
    sp.simplify(
        sp.expand_log(
            f_gan - (2 * f_js - (U - 1) * sp.log(2) - 2 * sp.log(2)), force=True
        )
    )
    == 0
)
seed_everything(1)
dirichlet = td.Dirichlet(torch.ones(8, dtype=torch.float64))
gaps = []
for _ in range(100):
    p8, q8 = dirichlet.sample(), dirichlet.sample()
    gaps.append(
        fdiv.discrete("gan", p8, q8)
        - (2 * fdiv.discrete("js", p8, q8) - 2 * math.log(2))
    )
assert max(abs(g) for g in gaps) < 1e-12
d_gan, d_js = fdiv.integrate("gan", P, Q), fdiv.integrate("js", P, Q)
assert abs(d_gan - (2 * d_js - 2 * math.log(2))) < 1e-9

# %% tags=["nbval-check-output"]
print(
    "max |D_GAN - (2 D_JS - 2 log 2)| over 100 random pairs < 1e-12: "
    f"{max(abs(g) for g in gaps) < 1e-12}"
)
print(
    f"N(0,1) vs N(1,1.5^2):  D_GAN = {d_gan:.6f},  2 D_JS - 2 log 2 = "
    f"{2 * d_js - 2 * math.log(2):.6f}"
)

# %% [markdown]
# ```{warning}
# The notes say the GAN generator "is related to the generator of the Jensen-Shannon
# divergence by an additive constant and a factor of two". For the *generators* that is
# loose: they differ by the factor two and the affine function $-(u+1)\log 2$, not a
# constant. For the *divergences* it is exact, $D_{\mathrm{GAN}} = 2D_{\mathrm{JS}} - 2\log 2$,
# an affine map. And strictly the GAN generator does not qualify as an $f$-divergence
# generator under chapter 1's definition, because $f(1) = -2\log 2 \ne 0$: the "divergence"
# of a distribution from itself is $-2\log 2$, not $0$, and its range is
# $[-2\log 2, 0]$ (the upper end for disjoint supports). Nothing in the variational
# machinery needs $f(1) = 0$, and since the map is increasing, minimising $D_{\mathrm{GAN}}$ over
# $\theta$ minimises $D_{\mathrm{JS}}$: the best generator is still $P_\theta = P_X$.
# ```

# %%
p8 = dirichlet.sample()
# D_GAN(P||P) = -2 log 2
assert abs(fdiv.discrete("gan", p8, p8) + 2 * math.log(2)) < 1e-12
# disjoint supports: 0
assert abs(fdiv.discrete("gan", [0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5])) < 1e-12

# %% tags=["nbval-check-output"]
print(
    f"f_GAN(1) = {gan.f_one:.6f} = -2 log 2;  D_GAN(P||P) = "
    f"{fdiv.discrete('gan', p8, p8):.6f};\n"
    "disjoint supports: D_GAN = "
    f"{round(fdiv.discrete('gan', [0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]), 6) + 0.0:.6f}"
)

# %% [markdown]
# Two conventions meet here. {cite:t}`goodfellow2014gan` state the result as
# $-\log 4 + 2\,\mathrm{JSD}(P_X \Vert P_\theta)$ with the same Jensen-Shannon divergence as the
# notes and this book (bounded by $\log 2$). The $f$-GAN paper {cite:p}`nowozin2016fgan` calls
# $2D_{\mathrm{JS}}$ (generator $u\log u - (u+1)\log\tfrac{u+1}{2}$) "Jensen-Shannon"; in that
# convention $D_{\mathrm{GAN}} = D_{\mathrm{JS}}^{\text{f-GAN}} - \log 4$.
#
# At the optimal discriminator the objective equals the divergence,
# $\max_w J_{\mathrm{GAN}} = 2D_{\mathrm{JS}} - 2\log 2$ (checked by quadrature below), so the
# generator that plays against a perfect discriminator minimises Jensen-Shannon. Chapter 8
# trains a discriminator and watches its objective approach this value.

# %%
J_star = float(
    torch.trapezoid(p * torch.log(D_star), x)
    + torch.trapezoid(q * torch.log1p(-D_star), x)
)
assert abs(J_star - d_gan) < 1e-6
