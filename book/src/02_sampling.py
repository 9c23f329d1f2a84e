# Chapter 2 source (percent format) -> book/02_sampling.ipynb via tools/build_notebooks.py.
# %% [markdown]
# # Computing a divergence from samples
#
# Chapter 1 computed every divergence from the two densities. A generative model offers
# something else: samples, and nothing but samples. This chapter makes the obstacle
# precise and introduces the tool that works with samples alone, the law of large numbers.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch
import torch.distributions as td

import fdiv
from fdiv.core import estimate
from fdiv.core.runtime import fast_profile, seed_everything

# tiny tensors: one thread is fastest, and avoids contention on shared CPUs
torch.set_num_threads(1)
seed_everything(0)
FAST = fast_profile()

# %% [markdown]
# ## The generator
#
# The data are $n$ independent draws from the unknown distribution $P_X$,
#
# $$
# \mathcal{D} = \{x_1, \ldots, x_n\}, \qquad x_i \overset{\text{i.i.d.}}{\sim} P_X,
#   \qquad x_i \in \mathbb{R}^d .
# $$
#
# The model is a **generator network** $g_\theta$ that pushes simple noise forward:
#
# $$
# z \sim \mathcal{N}(0, I), \qquad \hat{x} = g_\theta(z), \qquad \hat{x} \sim P_\theta .
# $$
#
# Training looks for $\theta^\ast = \arg\min_\theta D_f(P_X \Vert P_\theta)$; if it reaches
# $P_{\theta^\ast} = P_X$, the generator is a sampler of the data distribution. Drawing from
# $P_\theta$ is cheap, one forward pass. Here is a small random network from
# $\mathbb{R}^1$ to $\mathbb{R}^2$:

# %%
torch.manual_seed(0)
g_theta = torch.nn.Sequential(
    torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 2)
)
with torch.no_grad():
    x_hat = g_theta(torch.randn(2000, 1))
print("2000 samples of P_theta, shape", tuple(x_hat.shape))

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.scatter(x_hat[:, 0], x_hat[:, 1], s=3, alpha=0.5)
ax.set_xlabel("$\\hat{x}_1$")
ax.set_ylabel("$\\hat{x}_2$")
ax.set_title("Samples $g_\\theta(z)$, $z \\sim \\mathcal{N}(0, 1)$")
plt.show()

# %% [markdown]
# ## The obstacle
#
# To evaluate
#
# $$
# D_f(P_X \Vert P_\theta) = \int p_\theta(x)\, f\!\left(\frac{p_X(x)}{p_\theta(x)}\right) dx
# $$
#
# we need both densities at every $x$, and we have neither:
#
# - $p_X$ is unknown. Only the samples $x_1, \ldots, x_n$ are available.
# - $p_\theta$ is defined only implicitly by the network. For a general $g_\theta$ there is no
#   formula for it, and sometimes no density at all: the samples above lie on a curve,
#   the image of a line, so $P_\theta$ puts all its mass on a set of zero area in the plane.
#
# So $D_f$ cannot be computed directly. What we *can* compute from samples are averages.
#
# ## Integrals from samples: the law of large numbers
#
# For a function $h$, the integral $I = \int h(x)\,p_X(x)\,dx = \mathbb{E}_{x\sim P_X}[h(x)]$
# is an expectation, and the law of large numbers says that sample averages converge to it:
#
# $$
# \frac1n \sum_{i=1}^n h(x_i) \;\xrightarrow[n\to\infty]{}\; \mathbb{E}_{x\sim P_X}[h(x)],
#   \qquad x_i \overset{\text{i.i.d.}}{\sim} P_X .
# $$
#
# The density never appears: samples suffice. The same holds under $P_\theta$, with
# samples from the generator.
#
# **Example.** We want $\mathbb{E}[X^2]$ for a random variable $X$ that we can only sample.
# Our "black box" is $X = z_1 + z_2^2$ with $z_1, z_2$ independent standard normals; its
# density is awkward, but its moments are polynomials in Gaussian moments
# ($\mathbb{E}[z^k] = (k-1)!!$ for even $k$, $0$ for odd $k$), so we know the answer to
# compare with. Sympy expands the powers:

# %%
z1, z2 = sp.symbols("z1 z2")


def gaussian_moment(k):
    return 0 if k % 2 else sp.factorial2(k - 1)


def expect(poly):
    """E[poly(z1, z2)] for independent standard normals z1, z2."""
    terms = sp.Poly(sp.expand(poly), z1, z2).terms()
    return sum(c * gaussian_moment(a) * gaussian_moment(b) for (a, b), c in terms)


X = z1 + z2**2
EX2, EX4 = expect(X**2), expect(X**4)
VAR_H = EX4 - EX2**2  # variance of h(X) = X^2
assert (EX2, EX4, VAR_H) == (4, 126, 110)

# %% tags=["nbval-check-output"]
print(f"E[X^2] = {EX2},  Var[X^2] = E[X^4] - E[X^2]^2 = {EX4} - {EX2**2} = {VAR_H}")

# %% [markdown]
# The sample average of $x_i^2$ over $n = 1000$ draws (`fdiv.core.estimate.expectation` draws
# them with a fixed seed and reports the average with its standard error
# $\hat\sigma/\sqrt{n}$):


# %%
def sample_x(n):
    z = torch.randn(n, 2, dtype=torch.float64)
    return z[:, 0] + z[:, 1] ** 2


mc = estimate.expectation(lambda x: x**2, sample_x, n=1000, seed=0)
assert (
    abs(mc.value - 4) < 3 * mc.stderr and abs(mc.stderr - math.sqrt(110 / 1000)) < 0.15
)

# %% tags=["nbval-check-output"]
print(f"(1/1000) sum x_i^2 = {mc.value:.2f} +- {mc.stderr:.2f}   (exact: 4)")

# %% [markdown]
# ## How fast: error $\propto 1/\sqrt{n}$
#
# The law of large numbers says *that* the average converges, not *how fast*. The rate comes
# from the variance: the average of $n$ independent copies of $h(X)$ has variance
# $\mathrm{Var}[h(X)]/n$, so its typical error is
#
# $$
# \sqrt{\mathbb{E}\Big[\Big(\tfrac1n\textstyle\sum_i h(x_i) - \mathbb{E}[h(X)]\Big)^2\Big]}
#   = \frac{\sigma_h}{\sqrt n}, \qquad \sigma_h^2 = \mathrm{Var}[h(X)] = 110 \text{ here.}
# $$
#
# Each extra correct digit costs a hundred times more samples. We measure the
# root-mean-square error over many repetitions for sample sizes from 10 upwards, and fit a
# line on log-log axes.

# %%
ns = np.array(
    [10, 30, 100, 300, 1000, 3000] if FAST else [10, 30, 100, 300, 1000, 3000, 10000]
)
repeats = 100 if FAST else 200
gen = torch.Generator().manual_seed(1)
rmse = []
for n in ns:
    z = torch.randn(repeats, int(n), 2, dtype=torch.float64, generator=gen)
    averages = ((z[..., 0] + z[..., 1] ** 2) ** 2).mean(dim=1)
    rmse.append(float(((averages - 4.0) ** 2).mean().sqrt()))
rmse = np.array(rmse)
slope, intercept = np.polyfit(np.log(ns), np.log(rmse), 1)
print(
    f"fitted slope {slope:.3f}, intercept exp({intercept:.2f}) = "
    f"{math.exp(intercept):.2f} "
    f"(theory: -1/2 and sigma_h = {math.sqrt(110):.2f})"
)
assert abs(slope + 0.5) < 0.1
assert np.all(np.abs(rmse / (math.sqrt(110) / np.sqrt(ns)) - 1) < 0.5)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(5.5, 3.8))
ax.loglog(ns, rmse, "o", label=f"measured RMS error ({repeats} repeats)")
ax.loglog(
    ns, np.exp(intercept) * ns**slope, "-", label=f"fitted line, slope {slope:.2f}"
)
ax.loglog(ns, math.sqrt(110) / np.sqrt(ns), "--", label="theory $\\sigma_h/\\sqrt{n}$")
ax.set_xlabel("number of samples $n$")
ax.set_ylabel("RMS error of the average")
ax.set_title("Monte Carlo error of $\\frac{1}{n}\\sum x_i^2$")
ax.legend()
plt.show()

# %% [markdown]
# ```{note}
# The notes say the accuracy of a sample average "is controlled by the sample size". The
# precise statement is the $\sigma_h/\sqrt{n}$ law above: it comes from the variance of a sum
# of independent terms (and, for the shape of the error distribution, the central limit
# theorem), not from the law of large numbers itself. It also depends on $\sigma_h$: an $h$
# with heavy tails can make the average useless at any practical $n$.
# ```
#
# ## Back to divergences
#
# A divergence *is* an expectation under the model,
# $D_f(P_X \Vert P_\theta) = \mathbb{E}_{x\sim P_\theta}\big[f\big(p_X(x)/p_\theta(x)\big)\big]$,
# so when both densities are known it can be estimated by sampling from $P_\theta$
# (`fdiv.monte_carlo`). For two Gaussians, where the exact value is available by quadrature:

# %%
P, Q = td.Normal(0.0, 1.0), td.Normal(1.0, 1.0)
exact = fdiv.integrate("kl", P, Q)
mc_kl = fdiv.monte_carlo("kl", P, Q, n=20_000, seed=0)
assert abs(exact - 0.5) < 1e-9  # KL(N(0,1) || N(1,1)) = (mu_p - mu_q)^2 / 2
assert abs(mc_kl.value - exact) < 4 * mc_kl.stderr
print(f"KL exact {exact:.4f}, Monte Carlo {mc_kl.value:.4f} +- {mc_kl.stderr:.4f}")

# %% [markdown]
# But the thing being averaged, $f(p_X(x)/p_\theta(x))$, still needs both densities at the
# sample points, which is exactly what a generative model does not have. The way forward
# is to rewrite $D_f$ so that $P_X$ and $P_\theta$ enter *only through expectations of
# functions we can evaluate*. The tool for that rewriting is the Fenchel conjugate of $f$,
# the subject of the next chapter.
