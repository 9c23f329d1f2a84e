# Chapter 13 source (percent format) -> book/13_summary.ipynb via tools/build_notebooks.py.
# %% [markdown]
# # Summary and notation
#
# This last chapter collects the main line of the book in one place, lists the notation,
# and re-checks the central identities with the library one final time.

# %%
import math
import textwrap

import torch
import torch.distributions as td
from IPython.display import Markdown, display

import fdiv
from fdiv.core import tables
from fdiv.core.runtime import seed_everything

# tiny tensors: one thread is fastest, and avoids contention on shared CPUs
torch.set_num_threads(1)
_ = seed_everything(0)

# %% [markdown]
# ## The main line
#
# 1. **$f$-divergences** (chapter 1). A convex, lower semi-continuous $f$ with $f(1) = 0$
#    defines $D_f(P_X \Vert P_\theta) = \int p_\theta\, f(p_X/p_\theta)\,dx \ge 0$. Forward KL,
#    reverse KL, Jensen-Shannon, total variation and many more are special cases; they are
#    generally asymmetric, and the choice decides between mode covering and mode seeking.
# 2. **Samples only** (chapter 2). A generator $\hat x = g_\theta(z)$ gives samples of $P_\theta$
#    but no density, and the data give samples of $P_X$. Expectations can still be estimated
#    by averages, with error $\sigma/\sqrt{n}$.
# 3. **The Fenchel conjugate** (chapter 3). $f^\ast(t) = \sup_{u>0}\{tu - f(u)\}$ is convex,
#    and $f^{\ast\ast} = f$. Over $u > 0$ some conjugates are piecewise.
# 4. **The variational representation** (chapter 4). Substituting $f = f^{\ast\ast}$ gives
#
#    $$
#    \boxed{\; D_f(P_X \Vert P_\theta) = \sup_{T : \mathcal{X} \to \operatorname{dom} f^\ast}
#      \Big\{ \mathbb{E}_{x \sim P_X}[T(x)] - \mathbb{E}_{x \sim P_\theta}\big[f^\ast(T(x))\big] \Big\} \;}
#    $$
#
#    attained at $T^\ast = f'(p_X/p_\theta)$. Any restricted class of witnesses gives a lower
#    bound, as tight as the class is rich.
# 5. **Variational divergence minimisation** (chapter 5). With $T_w = \sigma_f(V_w)$ and
#    $\hat x = g_\theta(z)$, solve
#    $\min_\theta \max_w J(\theta, w) = \mathbb{E}_{P_X}[T_w(x)] - \mathbb{E}_{z}\big[f^\ast(T_w(g_\theta(z)))\big]$
#    {cite:p}`nowozin2016fgan`.
# 6. **The GAN** (chapters 6 and 7). $f(u) = u\log u - (u+1)\log(u+1)$, $\sigma_f = \log\sigma$,
#    $T_w = \log D_w$, $f^\ast(t) = -\log(1 - e^t)$ on $t < 0$, giving
#    $J_{\mathrm{GAN}} = \mathbb{E}_{P_X}[\log D_w(x)] + \mathbb{E}_z[\log(1 - D_w(g_\theta(z)))]$
#    {cite:p}`goodfellow2014gan`; its maximum over $w$ is $2D_{\mathrm{JS}} - 2\log 2$.
# 7. **The classifier view** (chapters 8 and 9). The GAN discriminator is a binary classifier
#    trained with cross-entropy; its optimum is $D^\ast = p_X/(p_X + p_\theta)$. A classifier
#    class that is too small can fail to separate distributions that differ.
# 8. **In practice** (chapters 10 to 12). Convolutional generators and discriminators
#    {cite:p}`radford2016dcgan`, conditioning on labels {cite:p}`mirza2014conditional`, and
#    sampling from the trained generator alone; the discriminator is discarded.
#
# One cell re-checks steps 1, 4 and 6 for a pair of Gaussians and every divergence that is
# finite for it: the optimal witness recovers the divergence, and the GAN value is the affine
# image of Jensen-Shannon.

# %%
P, Q = td.Normal(0.0, 1.0), td.Normal(0.5, 1.3)
x = torch.linspace(-14, 14, 56_001, dtype=torch.float64)
p, q = P.log_prob(x).exp(), Q.log_prob(x).exp()
checked = []
for name in fdiv.names():
    d = fdiv.get(name) if name != "alpha" else fdiv.get(name, alpha=0.5)
    exact = fdiv.integrate(d, P, Q)
    if not math.isfinite(exact):
        continue
    assert exact >= d.f_one - 1e-12  # chapter 1: D_f >= f(1)
    T_star = d.optimal_witness(p / q)  # chapter 4: T* = f'(p/q)
    J_star = float(
        torch.trapezoid(p * T_star, x) - torch.trapezoid(q * d.conjugate(T_star), x)
    )
    assert abs(J_star - exact) < 1e-4 * (1 + abs(exact)), name
    checked.append(name)
d_gan, d_js = fdiv.integrate("gan", P, Q), fdiv.integrate("js", P, Q)
assert abs(d_gan - (2 * d_js - 2 * math.log(2))) < 1e-9  # chapter 6

# %% tags=["nbval-check-output"]
print(textwrap.fill("J(T*) = D_f for: " + ", ".join(checked), 88))
print(f"D_GAN = {d_gan:.6f} = 2 D_JS - 2 log 2 = {2 * d_js - 2 * math.log(2):.6f}")

# %% [markdown]
# ## The divergences of the library
#
# A cheat sheet generated from the registry: the generator, its conjugate over $u > 0$, the
# domain of the conjugate and the output activation $\sigma_f$ that maps a network's real
# output into that domain (`fdiv list` prints the same from the command line, derived
# symbolically).


# %%
cheat_sheet = fdiv.every(alphas=(-1.0, 0.5, 2.0))
v = torch.linspace(-20, 20, 401, dtype=torch.float64)
for d in cheat_sheet:
    low, high = d.domain
    T = d.activation(v)
    assert bool(((T > low) & (T <= high)).all()), d  # sigma_f maps R into dom f*
display(Markdown(tables.markdown_table(cheat_sheet)))

# %% [markdown]
# ## Notation
#
# | Symbol | Meaning |
# |---|---|
# | $P_X$, $p_X$ | data distribution and its (unknown) density; the first argument of $D_f$ |
# | $P_\theta$, $p_\theta$ | model distribution defined by the generator, and its density when it exists |
# | $g_\theta$, $z$ | generator network and its input noise $z \sim \mathcal{N}(0, I)$; $\hat x = g_\theta(z)$ |
# | $D_f(P \Vert Q)$ | $f$-divergence $\int q\, f(p/q)$ between $P$ and $Q$ |
# | $f$ | convex generator on $u > 0$ with $f(1) = 0$ |
# | $u = p_X/p_\theta$ | likelihood ratio |
# | $f^\ast$ | Fenchel conjugate, $f^\ast(t) = \sup_{u > 0}\{tu - f(u)\}$ |
# | $\operatorname{dom} f^\ast$ | where $f^\ast$ is finite |
# | $D_{\mathrm{KL}}(P \Vert Q)$ | Kullback-Leibler divergence, $f(u) = u\log u$ |
# | $D_{\mathrm{JS}}(P \Vert Q)$ | Jensen-Shannon divergence, symmetric, bounded by $\log 2$ |
# | $D_{\mathrm{TV}}(P, Q)$ | total variation distance, $f(u) = \tfrac12\lvert u - 1\rvert$ |
# | $T(x)$ | witness (critic) function, $T : \mathcal{X} \to \operatorname{dom} f^\ast$ |
# | $T^\ast$ | optimal witness, $T^\ast = f'(p_X/p_\theta)$ |
# | $\mathcal{T}$ | class of functions over which $T$ is optimised |
# | $T_w$, $V_w$ | witness network $T_w = \sigma_f(V_w)$ and its raw output $V_w : \mathcal{X} \to \mathbb{R}$ |
# | $\sigma_f$ | output activation, $\mathbb{R} \to \operatorname{dom} f^\ast$ |
# | $J(\theta, w)$ | VDM objective $\mathbb{E}_{P_X}[T_w] - \mathbb{E}_{P_\theta}[f^\ast(T_w)]$ |
# | $D_w(x)$ | GAN discriminator, $D_w = \sigma(V_w) \in (0, 1)$ |
# | $D^\ast$ | optimal discriminator $p_X/(p_X + p_\theta)$ |
# | $J_{\mathrm{GAN}}(\theta, w)$ | GAN objective, the VDM objective for the GAN generator |
# | $w^\ast$, $\theta^\ast$ | optimal discriminator and generator parameters |
# | $P_{X,Y}$, $P_{X \mid Y}$ | joint and conditional data distributions (conditional GAN) |
# | $g_\theta(z, y)$, $D_w(x, y)$ | conditional generator and discriminator |
#
# The definitions in the table that have a formula are the library's, as the next cell
# confirms.

# %%
u = torch.linspace(0.01, 5, 500, dtype=torch.float64)
t = torch.linspace(-5, 5, 101, dtype=torch.float64)
v = torch.linspace(-10, 10, 201, dtype=torch.float64)
assert torch.allclose(fdiv.get("kl").f(u), u * torch.log(u))
assert torch.allclose(fdiv.get("total_variation").f(u), 0.5 * (u - 1).abs())
assert torch.allclose(fdiv.get("kl").conjugate(t), torch.exp(t - 1))
gan = fdiv.get("gan")
assert torch.allclose(gan.activation(v), torch.log(torch.sigmoid(v)))  # T_w = log D_w
# f*(T_w) = -log(1 - D_w)
assert torch.allclose(gan.conjugate(gan.activation(v)), -torch.log1p(-torch.sigmoid(v)))
ratio = torch.exp(torch.linspace(-5, 5, 101, dtype=torch.float64))
# D* = p/(p+q)
assert torch.allclose(gan.optimal_witness(ratio).exp(), ratio / (ratio + 1))
# JS bounded by log 2
assert abs(fdiv.discrete("js", [1, 0], [0, 1]) - math.log(2)) < 1e-12

# %% [markdown]
# ## Bibliography
#
# The works cited in this book.
#
# ```{bibliography}
# :all:
# ```
