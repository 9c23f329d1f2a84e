# Chapter 12 source (percent format): inference with a trained generator.
# %% [markdown]
# # Inference with a trained generator
#
# Training a GAN takes two networks, many thousands of alternating steps and some care. Using
# one takes a single forward pass. For an unconditional model with trained parameters
# $\theta^\ast$, draw $z_{\text{test}} \sim \mathcal N(0, I)$ and output
# $x_{\text{test}} = g_{\theta^\ast}(z_{\text{test}})$, a sample of $P_{\theta^\ast} \approx P_X$; for a conditional
# model, choose the label $y$ first and output $g_{\theta^\ast}(z_{\text{test}}, y)$, a sample of
# $P_{\theta^\ast}(\cdot \mid y) \approx P_{X \mid Y = y}$. New samples need only new noise. The discriminator
# plays no part: its only job was to supply the generator's training signal.
#
# This chapter takes the conditional digit generator of chapter 11 through these steps: load it,
# drop everything that only training needed, sample per label, walk through the latent space,
# and do the same from the command line.

# %%
import copy
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from fdiv.viz import plots
from fdiv.gan.models import generate
from fdiv.core.runtime import fast_profile
from fdiv.course.chapters import shared_folder
from fdiv.gan.training import load_checkpoint, models_from_checkpoint, train

# small networks on 8x8 images: one thread is fastest on a shared CPU
torch.set_num_threads(1)
FAST = fast_profile()
WORK = Path(tempfile.mkdtemp(prefix="fdiv-inference-"))

# %% [markdown]
# ## A trained generator
#
# Chapter 11 saves its checkpoint in a temporary folder. If it is there (and is what we expect, a
# conditional model of the `digits`), we use it; otherwise, e.g. when this chapter runs on its own,
# we train a small conditional DC-GAN here, with fewer steps than chapter 11.


# %%
def usable(path):
    """A readable checkpoint of a conditional digits model that fdiv can rebuild."""
    try:
        ck = load_checkpoint(path)
        models_from_checkpoint(ck)
    except (ValueError, KeyError):
        return False
    return (
        bool(ck["config"].get("conditional")) and ck["dataset_spec"]["name"] == "digits"
    )


CHECKPOINT = shared_folder("conditional-digits") / "checkpoint.pt"
if usable(CHECKPOINT):
    print("using chapter 11's checkpoint")
else:
    run = train(
        divergence="gan",
        dataset="digits",
        conditional=True,
        steps=150 if FAST else 600,
        seed=0,
        device="cpu",
        out=WORK / "run",
    )
    CHECKPOINT = Path(run.checkpoint)
    print("trained a small conditional DC-GAN for this chapter")
ck = load_checkpoint(CHECKPOINT)
print(f"checkpoint after {ck['step']} training steps: {CHECKPOINT}")

# %% [markdown]
# ## What inference needs
#
# A training checkpoint holds everything needed to *resume* training: both networks, both
# optimisers' internal state (Adam keeps two running averages per parameter), every random number
# generator's state, the history of the losses and the configuration. To *sample*, only the
# generator's weights and the configuration that says how to rebuild its architecture are needed.
# `models_from_checkpoint` rebuilds both networks; we keep the generator, drop the critic, and
# save a generator-only file for deployment.

# %%
G, critic, config = models_from_checkpoint(ck)  # on the CPU
n_generator = sum(p.numel() for p in G.parameters())
n_critic = sum(p.numel() for p in critic.parameters())
del critic  # inference never uses it
G.eval()  # see the next cell

slim = {
    "config": ck["config"],
    "dataset_spec": ck["dataset_spec"],
    "generator": ck["generator"],
}
torch.save(slim, WORK / "generator.pt")
size_full, size_slim = CHECKPOINT.stat().st_size, (WORK / "generator.pt").stat().st_size
print(f"parameters: generator {n_generator:,}, discarded critic {n_critic:,}")
print(
    f"file size: training checkpoint {size_full / 1e3:.0f} kB, generator only "
    f"{size_slim / 1e3:.0f} kB"
)
assert size_slim < 0.5 * size_full

# %% [markdown]
# `G.eval()` matters for this generator. Its batch-normalisation layers normalise with the
# statistics of the current minibatch during training, so a generated image would depend on
# which other images share its batch. In evaluation mode they use the running averages collected
# during training instead, and every sample depends only on its own $z$ and $y$:

# %% tags=["nbval-check-output"]
g = torch.Generator().manual_seed(0)
z = torch.randn(16, G.latent_dim, generator=g)
y = torch.arange(16) % 10
with torch.no_grad():
    alone = G(z[:1], y[:1])
    in_batch = G(z, y)[:1]
    in_batch_train = copy.deepcopy(G).train()(z, y)[
        :1
    ]  # a copy: train mode would update G's running averages
print(
    "eval mode:  a sample does not depend on its batch:",
    torch.allclose(alone, in_batch, atol=1e-6),
)
print(
    "train mode: it does:                               ",
    not torch.allclose(alone, in_batch_train, atol=1e-3),
)

# %% [markdown]
# ## Sampling per label
#
# `fdiv.gan.models.generate(G, n, seed=..., labels=...)` draws the noise from its own seeded random
# number generator, so the same call gives the same images on any machine and device. One row per
# label:

# %%
per_label = 12
labels = torch.arange(10).repeat_interleave(per_label)
images = generate(G, len(labels), seed=1, labels=labels)
# reproducible
assert torch.equal(images, generate(G, len(labels), seed=1, labels=labels))
# tanh output in [-1, 1]
assert images.shape == (10 * per_label, 1, 8, 8) and images.abs().max() <= 1

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6, 5.2))
plots.plot_image_grid(
    images, nrow=per_label, labels=labels, ax=ax, title="one row per label $y$"
)
plt.show()

# %% [markdown]
# ## Walking through the latent space
#
# The map $z \mapsto g_{\theta^\ast}(z, y)$ is continuous, so a path between two noise vectors $z_0$ and
# $z_1$ gives a sequence of images that morphs one sample into another, a common sanity check that
# the generator has learned a smooth map rather than memorised isolated images. The simplest path
# is the straight line $z_t = (1 - t) z_0 + t z_1$, $t \in [0, 1]$ (`torch.lerp`). It has one flaw in
# many dimensions: for independent $z_0, z_1 \sim \mathcal N(0, I_k)$ almost all of the Gaussian's mass
# sits near the sphere of radius $\sqrt{k}$, but the midpoint $\tfrac12(z_0 + z_1) \sim \mathcal N(0, \tfrac12 I_k)$
# has norm about $\sqrt{k/2}$: the line dips through a region the generator rarely saw in training.

# %% tags=["nbval-check-output"]
k = G.latent_dim
g = torch.Generator().manual_seed(2)
z0s, z1s = torch.randn(2, 20_000, k, generator=g, dtype=torch.float64)
endpoint = z0s.norm(dim=-1).mean().item()
midpoint = torch.lerp(z0s, z1s, 0.5).norm(dim=-1).mean().item()
print(f"k = {k}: mean norm of the endpoints {endpoint:.2f}, sqrt(k) = {k ** 0.5:.2f}")
print(f"mean norm of the midpoints {midpoint:.2f}, sqrt(k/2) = {math.sqrt(k / 2):.2f}")
assert abs(endpoint / math.sqrt(k) - 1) < 0.05
assert abs(midpoint / math.sqrt(k / 2) - 1) < 0.05

# %% [markdown]
# For a generator with a small latent space such as this one ($k = 32$) the straight line works well
# enough, and that is what the grid below uses; the usual remedy for large $k$, interpolating along
# a great circle instead ("slerp"), is Exercise 12.2.

# %%
ts = torch.linspace(0, 1, 9)
g = torch.Generator().manual_seed(3)
z0, z1 = torch.randn(2, 1, k, generator=g)
path = torch.cat([torch.lerp(z0, z1, t.item()) for t in ts])  # (9, k): one column per t
rows = []
with torch.no_grad():
    for label in range(10):
        rows.append(G(path, torch.full((len(ts),), label)))
walk = torch.cat(rows)  # row = label, column = t
assert torch.allclose(
    walk[:: len(ts)], G(z0.repeat(10, 1), torch.arange(10)), atol=1e-5
)

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(5.5, 6))
plots.plot_image_grid(
    walk,
    nrow=len(ts),
    labels=torch.arange(10).repeat_interleave(len(ts)),
    ax=ax,
    title=r"from $z_0$ (left) to $z_1$ (right), the same path for every label",
)
ax.set_xlabel("$t$ from 0 to 1")
plt.show()

# %% [markdown]
# Within a row the class stays fixed while the style drifts smoothly from the left sample to the
# right one; within a column the style is shared while the class changes. The label and the noise
# control different things, which is exactly what the conditional objective asked for.
#
# ## From the command line
#
# The same inference runs without Python code. `fdiv sample` loads a checkpoint written by
# `fdiv train`, rebuilds the generator (the critic stays on disk) and writes raw samples (`.npy`,
# images as $N \times C \times H \times W$ in $[-1, 1]$) or a picture (`.png`). It draws its noise exactly
# like `generate`, so the same seed gives the same images.

# %%
out_file = WORK / "sevens.npy"
command = [
    sys.executable,
    "-m",
    "fdiv",
    "sample",
    "--checkpoint",
    str(CHECKPOINT),
    "--label",
    "7",
    "--n",
    "16",
    "--seed",
    "0",
    "--out",
    str(out_file),
]
print(
    "$ fdiv sample --checkpoint CHECKPOINT --label 7 --n 16 --seed 0 --out sevens.npy"
)
done = subprocess.run(command, capture_output=True, text=True, timeout=600)
print(done.stdout.strip() or done.stderr.strip())
assert done.returncode == 0

# %% tags=["nbval-check-output"]
sevens = torch.from_numpy(np.load(out_file))
print(
    "shape:", tuple(sevens.shape), "  values in [-1, 1]:", bool(sevens.abs().max() <= 1)
)
print(
    "identical to generate(G, 16, seed=0, labels=7):",
    torch.allclose(sevens, generate(G, 16, seed=0, labels=7), atol=1e-6),
)

# %% tags=["hide-input"]
plots.plot_image_grid(sevens, nrow=16, title="fdiv sample --label 7")
plt.show()

# %% tags=["remove-cell"]
import shutil  # noqa: E402  (housekeeping: remove this chapter's temporary files)

shutil.rmtree(WORK, ignore_errors=True)
