# Chapter 8 source (percent format) -> book/08_classifier_view.ipynb via tools/build_notebooks.py.
# %% [markdown]
# # The classifier view
#
# Chapter 6 derived the GAN objective from an $f$-divergence. It can also be reached
# without any divergence at all, from a question of statistics: *can a classifier tell real
# samples from generated ones?* This chapter follows that route, then checks numerically
# that the two routes meet: a discriminator trained as an ordinary classifier with
# cross-entropy maximises $J_{\mathrm{GAN}}$, learns the optimal $D^\ast = p_X/(p_X + p_\theta)$,
# and its objective approaches $2D_{\mathrm{JS}} - 2\log 2$.

# %%
import inspect
import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.distributions as td
import torch.nn.functional as F
from IPython.display import Code, Markdown, display

import fdiv
from fdiv.course import claims
from fdiv.course.claims import ch08
from fdiv.gan import objectives
from fdiv.core.runtime import fast_profile, seed_everything

# tiny tensors: one thread is fastest, and avoids contention on shared CPUs
torch.set_num_threads(1)
seed_everything(0)
FAST = fast_profile()
gan = fdiv.get("gan")

# %% [markdown]
# ## Binary classification between real and generated samples
#
# Label real samples (from $P_X$) with $y = 1$ and generated ones (from $P_\theta$) with
# $y = 0$, and let $D_w(x) \in (0, 1)$ be a classifier's probability that $x$ is real. Its
# log-likelihood, with the two classes equally represented, is
#
# $$
# \max_w \; \mathbb{E}_{x \sim P_X}\big[\log D_w(x)\big] + \mathbb{E}_{x \sim P_\theta}\big[\log(1 - D_w(x))\big],
# $$
#
# the inner maximisation of $J_{\mathrm{GAN}}$ exactly. Minimising cross-entropy is the same
# as maximising this log-likelihood: precisely, $J_{\mathrm{GAN}} = -(\mathrm{BCE}_{\text{real}} + \mathrm{BCE}_{\text{fake}})$
# with one mean per class, which is $-2$ times the cross-entropy of the pooled, balanced
# sample. So the GAN discriminator *is* a binary classifier, trained in the usual way.
#
# Read backwards, this is also a way to *test* a generator: if no classifier can tell its samples
# from the data better than chance, nothing distinguishes $P_\theta$ from $P_X$ at the resolution of
# that classifier. Chapter 5 scores the toy generators with exactly this test (a nearest-neighbour
# classifier, cross-validated), and chapter 9 shows its caveat: a classifier too weak for the
# problem also says "cannot tell".
#
# ## An experiment: two Gaussians
#
# Take data $P_X = \mathcal{N}(0, 1)$ and a fixed "generator" $P_\theta = \mathcal{N}(1, 1.5^2)$.
# Everything about the best classifier is known in closed form: $D^\ast = p/(p+q)$, the
# maximum of $J_{\mathrm{GAN}}$ is $2D_{\mathrm{JS}} - 2\log 2$ (chapter 6), and it can be
# computed by quadrature:

# %%
P, Q = ch08.P_DATA, ch08.P_MODEL  # N(0, 1) and N(1, 1.5^2)
J_MAX = fdiv.integrate("gan", P, Q)
assert abs(J_MAX - (2 * fdiv.integrate("js", P, Q) - 2 * math.log(2))) < 1e-9

# %% tags=["nbval-check-output"]
print(f"max_w J_GAN = 2 D_JS - 2 log 2 = {J_MAX:.4f}")

# %% [markdown]
# We train a small MLP $V_w$ (the logit, so $D_w = \sigma(V_w)$) as a plain classifier: Adam on
# `binary_cross_entropy_with_logits`, with fresh balanced minibatches of real and generated
# samples at every step. Nothing in the loop mentions divergences. The experiment lives in
# `fdiv.course.claims.ch08`:

# %%
display(Code(inspect.getsource(ch08.train_classifier), language="python"))

# %% [markdown]
# A trained network depends on more than its seed: another CPU, torch build or thread count
# takes another path from the same seed. So what this chapter says about the trained classifier
# is a *claim*, run on seeds 0-4 (`claims.verify` asserts it in the book; the fast profile runs
# one short seed and asserts nothing), and the tables give the mean and the range over the
# seeds. On a large held-out sample (200,000 points of each distribution) each seed's
# classifier is evaluated three ways: its cross-entropy, the GAN objective through the library's
# VDM form (`fdiv.gan.objectives.critic_objective` with the GAN divergence), and its accuracy.
# The first two are the same number for any classifier, which the next cell checks on seed 0's:

# %%
STEPS = 400 if FAST else 1000
result = claims.verify("classifier_learns_d_star")
V_w = result.extras[0]["V"]  # seed 0's classifier
x_real, x_fake, v_real, v_fake = ch08.held_out_logits(V_w, seed=0)
J = float(objectives.critic_objective(gan, v_real, v_fake))
bce_pooled = float(
    F.binary_cross_entropy_with_logits(
        torch.cat([v_real, v_fake]),
        torch.cat([torch.ones_like(v_real), torch.zeros_like(v_fake)]),
    )
)
assert abs(J - (-2 * bce_pooled)) < 1e-5  # the classifier's objective is J_GAN

# %% [markdown]
# The claim: after 1,000 steps the held-out $J_{\mathrm{GAN}}$ is within 0.02 below its ceiling
# (and not more than 4 standard errors above it, which only sampling error could do):

# %%
figures = {
    "held-out J_GAN": ("j", ".4f"),
    "J_GAN - max J": ("j_gap", "+.4f"),
    "the same, in standard errors": ("j_gap_in_stderr", "+.1f"),
}
display(Markdown(claims.table(result, figures)))
print(f"max J = 2 D_JS - 2 log 2 = {J_MAX:.4f}")

# %% [markdown]
# The cross-entropy a classifier minimises and the objective a GAN discriminator maximises
# are the same number (up to the factor $-2$), and training the classifier drove it close
# to its ceiling $2D_{\mathrm{JS}} - 2\log 2$: the classifier has nearly found the optimal
# witness. Compare it with $D^\ast$ directly (the claim: within 0.06 on $[-3, 4]$):

# %%
x = torch.linspace(-3, 4, 701)
p, q = P.log_prob(x).exp(), Q.log_prob(x).exp()
D_star = p / (p + q)
with torch.no_grad():
    D_mlp = torch.sigmoid(V_w(x[:, None]).squeeze(1))
figures = {"max |D_w(x) - D*(x)| on [-3, 4]": ("d_star_error", ".3f")}
display(Markdown(claims.table(result, figures)))

# %% [markdown]
# A classical statistician would fit a logistic regression instead. Here that is not even an
# approximation: for two Gaussians the log-odds of being real,
# $\log\frac{D^\ast}{1 - D^\ast} = \log\frac{p(x)}{q(x)}$, is a quadratic in $x$, so logistic
# regression on the features $(x, x^2)$ contains $D^\ast$ exactly, and its fitted coefficients
# estimate those of the log-ratio,
# $\log\frac{p}{q} = \log 1.5 + \frac{1}{4.5} - \frac{2}{4.5}x - \big(\tfrac12 - \tfrac{1}{4.5}\big)x^2$.
#
# The claim fits it to 20,000 points of each distribution and promises the coefficients and the
# intercept within 0.1 of the true ones, and a held-out $J_{\mathrm{GAN}}$ within 0.01 of the
# maximum:

# %% tags=["nbval-check-output"]
true_coef, true_intercept = ch08.TRUE_COEF, ch08.TRUE_INTERCEPT
print(f"true coefficients {true_coef.round(3)}, intercept {true_intercept:.3f}")

# %%
figures = {
    "coefficient of x": ("logreg_coef_x", ".3f"),
    "coefficient of x^2": ("logreg_coef_x2", ".3f"),
    "intercept": ("logreg_intercept", ".3f"),
    "held-out J_GAN - max J": ("logreg_j_gap", "+.4f"),
}
display(Markdown(claims.table(result, figures)))
logreg = result.extras[0]["logreg"]  # seed 0's, for the figure
D_logreg = torch.from_numpy(
    logreg.predict_proba(ch08.quadratic_features(x))[:, 1]
).float()

# %% tags=["hide-input"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
ax1.plot(x, p, label="data $p_X$ = N(0, 1)")
ax1.plot(x, q, label="model $p_\\theta$ = N(1, 1.5²)")
ax1.set_xlabel("x")
ax1.set_ylabel("density")
ax1.set_title("The two distributions")
ax1.legend(fontsize=8)
ax2.plot(x, D_star, "k", lw=3, alpha=0.4, label="$D^*(x) = p/(p+q)$")
ax2.plot(x, D_mlp, "C2", lw=1.5, label=f"MLP classifier ({STEPS} steps, seed 0)")
ax2.plot(x, D_logreg, "C3--", lw=1.5, label="logistic regression, seed 0")
ax2.axhline(0.5, color="0.6", lw=0.8, ls=":")
ax2.set_xlabel("x")
ax2.set_ylabel("$D(x)$ = P(real | x)")
ax2.set_title("Learned discriminators and the optimal one")
ax2.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# One more classical fact falls out. The best possible accuracy of any classifier with
# equal class priors (the Bayes classifier, which says "real" where $p > q$) is
# $\tfrac12\big(1 + D_{\mathrm{TV}}(P_X, P_\theta)\big)$, with chapter 1's total variation. The trained
# discriminator, thresholded at $\tfrac12$, gets there (the claim: within 0.01):

# %% tags=["nbval-check-output"]
bayes = 0.5 * (1 + fdiv.integrate("total_variation", P, Q))
print(f"Bayes accuracy (1 + TV)/2 = {bayes:.4f}")

# %%
figures = {
    "held-out accuracy": ("accuracy", ".4f"),
    "minus Bayes": ("accuracy_gap", "+.4f"),
}
display(Markdown(claims.table(result, figures)))

# %% [markdown]
# ## The adversarial generator update
#
# If the classifier separates real from generated samples, the two distributions differ. If
# even the best classifier fails, it is evidence that $P_\theta$ is close to $P_X$ (with
# caveats for restricted classifiers, chapter 9). The generator is therefore updated to make
# the classifier fail, which gives the full game
#
# $$
# \min_\theta \max_w \;\Big\{ \mathbb{E}_{x \sim P_X}\big[\log D_w(x)\big]
#   + \mathbb{E}_{z \sim \mathcal{N}(0, I)}\big[\log\big(1 - D_w(g_\theta(z))\big)\big] \Big\},
# $$
#
# identical to $\min_\theta \max_w J_{\mathrm{GAN}}$ from chapter 6. The two derivations agree.
# Against a perfect classifier the generator faces $\max_w J_{\mathrm{GAN}} = 2D_{\mathrm{JS}} - 2\log 2$.
# For a one-parameter family of generators $P_\theta = \mathcal{N}(\theta, 1)$ this is a curve
# with its minimum $-2\log 2 = -\log 4$ at $\theta = 0$, where $P_\theta = P_X$ and the best
# classifier can do no better than $D^\ast = \tfrac12$, a coin flip:

# %%
thetas = np.linspace(-3, 3, 61)
value = np.array([fdiv.integrate("gan", P, td.Normal(float(th), 1.0)) for th in thetas])
assert thetas[value.argmin()] == 0.0 and abs(value.min() + math.log(4)) < 1e-9
assert np.all(np.diff(value[thetas >= 0]) > 0) and np.all(
    np.diff(value[thetas <= 0]) < 0
)
p_same = P.log_prob(x).exp()
assert torch.allclose(
    gan.optimal_witness(p_same / p_same).exp(), torch.full_like(x, 0.5)
)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(thetas, value, lw=2, label="$\\max_w J_{GAN} = 2 D_{JS} - 2\\log 2$")
ax.axhline(-math.log(4), color="0.6", ls="--", label="$-\\log 4$")
ax.set_xlabel("generator parameter $\\theta$ (model $\\mathcal{N}(\\theta, 1)$)")
ax.set_ylabel("value of the game")
ax.set_title("What the generator minimises against the best classifier")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ```{note}
# The variational route and the classifier route give the same objective, and the Fenchel
# machinery explains why: the optimal witness $T^\ast = \log D^\ast$ is a function of the
# posterior probability that a sample is real, so the best classifier *is* the best
# witness of the divergence. The classifier route makes no promise about what happens when
# the classifier is too weak to find $D^\ast$; the variational route quantifies it as the
# gap in the lower bound of chapter 4. Chapter 9 shows a case where that gap is the whole
# divergence.
# ```

# %% [markdown]
# ## The classifier as a referee of trained generators
#
# The same question, *can a classifier tell them apart?*, grades a finished generator. Chapter 5
# introduced the classifier two-sample test: pool 2,500 generated and 2,500 fresh data points and
# let a 15-nearest-neighbour classifier guess which is which, each point guessed by a classifier
# that never saw it. At $P_\theta = P_X$ its accuracy is $\tfrac12$ up to a standard error of
# $0.007$, and it can never beat the Bayes accuracy $\tfrac12(1 + \operatorname{TV})$ of
# this chapter. Beside it stand figures that see what a local classifier misses: a mode dropped
# (modes found, and the KL divergence of the histogram of modes from the uniform one) and the
# width of each mode (the *spread*, 1 for the data; and the high-quality share within three
# standard deviations, 98.9% for the data).
#
# The table is the recorded sweep of `fdiv train` at its defaults for the three divergences the
# benchmark holds to the strictest targets, on seeds 0-4 (`make test-claims` refreshes it; it is
# not retrained here, at about a minute a run). Each figure is the mean, and in brackets the
# smallest and the largest value over the seeds. The recipe each run used comes first.

# %%
for ds_name in ch08.REFEREE_DATASETS:
    recipes = {}  # one line per recipe, with the divergences that share it
    for name in ch08.REFEREE_DIVERGENCES:
        recipes.setdefault(ch08.recipe_line(ds_name, name), []).append(name)
    for settings, names in recipes.items():
        line = f"fdiv train --dataset {ds_name} ({', '.join(names)}): {settings}"
        print(textwrap.fill(line, 88, subsequent_indent="    "))
referee = claims.recorded("recipes_against_the_referee")


def percent(r):
    """A recorded fraction's mean (min to max) over the seeds, in per cent."""
    return f"{100 * r['mean']:.1f} ({100 * r['min']:.1f} to {100 * r['max']:.1f})"


rows = [
    "| data | divergence | modes (min) | two-sample accuracy | spread "
    "| high quality (%) | mode KL |",
    "|---|---|---|---|---|---|---|",
    "| a perfect sampler | | all | 0.50 ± 0.007 | 1 | 98.9 | about 0.001 |",
]
for ds_name in ch08.REFEREE_DATASETS if referee is not None else ():
    for name in ch08.REFEREE_DIVERGENCES:
        key = f"{ds_name}/{name}"
        fewest = min(f[f"{key}/modes"] for f in referee.rows.values())
        rows.append(
            f"| {ds_name} | {name} | {fewest:.0f} "
            f"| {claims.cell(referee, key + '/two_sample_accuracy', '.3f')} "
            f"| {claims.cell(referee, key + '/spread', '.2f')} "
            f"| {percent(referee.ranges()[key + '/high_quality'])} "
            f"| {claims.cell(referee, key + '/reverse_kl', '.3f')} |"
        )
display(Markdown("\n".join(rows)))
if referee is not None:
    print(f"recorded over seeds {', '.join(map(str, sorted(referee.rows)))}")

# %% [markdown]
# Read it with the perfect sampler's row in mind. Every run finds every mode. On `ring8` the widths
# are within 4% of the data's and the mode masses nearly even, and the referee tells the generated
# points from the data 0.50 to 0.52 of the time, against $0.50 \pm 0.007$ for a perfect sampler:
# within about two standard errors of chance on every seed, so it cannot say that they differ. On
# `grid25` it is right 0.51 to 0.55 of the time, and the modes come out at most 5% too wide. A
# 15-nearest-neighbour classifier is blind to some errors: modes of exactly Gaussian shape but 20%
# too narrow score only about $0.54$, and one mode of eight dropped about $0.55$ (the tests of
# `bench/toys.py` check both), which is why the referee has the other figures beside it. What it
# saw on `ring8` until the recipe added output noise to the generator (chapter 5) was the *shape*
# of each mode: the generator built a mode from several latent components, each mapped to an
# ellipse, and their sum was not quite the data's round Gaussian. On `grid25` it then saw where
# each mode sat: the modes drift a little until the end of a run, and the recipe's longer moving
# average of the generator's weights (chapter 5) cancels most of the drift; for js and squared
# Hellinger the recipe also lets the critic's R1 penalty fade out, so that late in the run the
# critic can see a mode that sits off its centre. So on `ring8` the game of this chapter has come
# close to its end, where $D^\ast = \tfrac12$ and no classifier wins; on `grid25` one still wins
# in more than half of the runs (more than three standard errors above chance
# in 9 of these 15), by at most 6.5 standard errors, and its accuracy is the measure of how far.
