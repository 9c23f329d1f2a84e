# Chapter 10 source (percent format): the deep convolutional GAN.
# %% [markdown]
# # The deep convolutional GAN
#
# Everything so far used multilayer perceptrons on points in the plane. Images are different: a
# $28 \times 28$ picture is a point in $\mathbb R^{784}$, but most of that space is noise, and the
# structure that matters (strokes, edges, their positions) is *local* and *repeats* across the
# image. An MLP generator that emits a flat vector and reshapes it into an image has to learn every
# pixel's relation to every other from scratch. The deep convolutional GAN (DC-GAN)
# {cite:p}`radford2016dcgan` builds the image the way a convolutional network takes one apart,
# only in reverse:
#
# $$
# \begin{aligned}
# z \in \mathbb R^k
#   &\;\xrightarrow{\text{linear + reshape}}\; \text{small map, many channels} \\
#   &\;\xrightarrow{\text{transposed convolutions}}\; \text{larger maps, fewer channels} \\
#   &\;\xrightarrow{\tanh}\; \hat x \in [-1, 1]^{C \times H \times W}.
# \end{aligned}
# $$
#
# The discriminator mirrors it: ordinary strided convolutions shrink the image to a small map,
# and a linear layer reads off the score $V_w(x)$. This chapter explains the transposed
# convolution, traces the shapes through the library's DC-GAN, and trains one on handwritten
# digits.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

import fdiv
from fdiv.course import claims
from fdiv.course.claims import ch10
from fdiv.viz import plots
from fdiv.gan.conv import Reshape, default_models, format_trace, trace_shapes
from fdiv.datasets import get_dataset
from fdiv.core.runtime import default_device, fast_profile
from fdiv.gan.training import train

# small networks on 8x8 images: one thread is fastest on a shared CPU
torch.set_num_threads(1)
FAST = fast_profile()
DEVICE = default_device()

# %% [markdown]
# ## The transposed convolution
#
# An ordinary convolution with kernel size $k$, stride $s$ and padding $p$ slides the kernel over the
# input and *gathers* a weighted sum at each position; with stride 2 it halves the resolution. A
# transposed convolution does the opposite bookkeeping: every input pixel *scatters* a copy of the
# kernel, scaled by the pixel's value, into the output, and consecutive input pixels place their
# copies $s$ pixels apart; where copies overlap they add up. The cell shows it with a single
# nonzero pixel, whose output is the kernel itself, and with two neighbouring pixels, whose
# copies overlap.

# %% tags=["nbval-check-output"]
kernel = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # a 3 x 3 kernel with entries 1..9
one = torch.zeros(1, 1, 2, 2)
one[0, 0, 0, 0] = 1.0
out_one = F.conv_transpose2d(one, kernel, stride=2)
print(
    "input with one nonzero pixel -> output",
    tuple(out_one.shape),
    "\n",
    out_one[0, 0].int(),
)
two = torch.zeros(1, 1, 2, 2)
two[0, 0, 0, :] = 1.0
out_two = F.conv_transpose2d(two, kernel, stride=2)
print(
    "two neighbouring pixels: two copies, 2 apart, overlapping in one column\n",
    out_two[0, 0].int(),
)
assert (
    torch.equal(out_one[0, 0, :3, :3], kernel[0, 0])
    and out_two[0, 0, 0, 2] == kernel[0, 0, 0, 2] + kernel[0, 0, 0, 0]
)

# %% [markdown]
# Why "transposed"? A convolution is a linear map $x \mapsto Cx$; written as a matrix, $C$ is
# sparse and mostly zeros. The transposed convolution with the *same* weights is the map
# $y \mapsto C^\top y$. The defining property of a transpose, $\langle Cx, y\rangle = \langle x, C^\top y\rangle$
# for all $x, y$, checks it (and is exactly how automatic differentiation back-propagates through
# a convolution, which is where the operation comes from).

# %% tags=["nbval-check-output"]
g = torch.Generator().manual_seed(0)
# 5 channels -> 3 channels, k = 4
w = torch.randn(3, 5, 4, 4, generator=g, dtype=torch.float64)
x = torch.randn(2, 5, 8, 8, generator=g, dtype=torch.float64)
y = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum()  # <C x, y>
rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1)).sum()  # <x, C^T y>
print(f"<conv(x), y> = {lhs:.6f}   <x, conv_transpose(y)> = {rhs:.6f}")
assert torch.allclose(lhs, rhs)

# %% [markdown]
# The sizes follow from the scattering picture. With input size $H_{\mathrm{in}}$ (dilation 1), an
# ordinary convolution and a transposed one produce
#
# $$
# H_{\mathrm{conv}} = \Big\lfloor \frac{H_{\mathrm{in}} + 2p - k}{s} \Big\rfloor + 1,
# \qquad
# H_{\mathrm{transposed}} = (H_{\mathrm{in}} - 1)\, s - 2p + k + a,
# $$
#
# where $a$ (`output_padding`, $0 \le a < s$) resolves the ambiguity caused by the floor: several
# input sizes convolve to the same output size, and the transposed convolution has to pick one.
# The DC-GAN choice $k = 4, s = 2, p = 1$ makes the transposed convolution double the size
# exactly, $H_{\mathrm{transposed}} = 2 H_{\mathrm{in}}$, and the convolution halve it. The cell
# compares both formulas with PyTorch over a range of settings.


# %% tags=["nbval-check-output"]
def conv_size(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def transposed_size(h, k, s, p, a=0):
    return (h - 1) * s - 2 * p + k + a


checked, agree = 0, True
for h in range(1, 12):
    for k in range(1, 6):
        for s in range(1, 4):
            for p in range(0, k):
                for a in range(0, s):
                    t = torch.zeros(1, 1, h, h)
                    if h + 2 * p >= k:
                        agree &= F.conv2d(
                            t, torch.zeros(1, 1, k, k), stride=s, padding=p
                        ).shape[-1] == conv_size(h, k, s, p)
                    out = transposed_size(h, k, s, p, a)
                    if out > 0:
                        got = F.conv_transpose2d(
                            t,
                            torch.zeros(1, 1, k, k),
                            stride=s,
                            padding=p,
                            output_padding=a,
                        )
                        agree &= got.shape[-1] == out
                        checked += 1
print(f"both size formulas agree with PyTorch on {checked} settings:", agree)
print(
    "k=4, s=2, p=1 doubles:",
    [transposed_size(h, 4, 2, 1) for h in (2, 4, 7, 14)],
    " and halves:",
    [conv_size(h, 4, 2, 1) for h in (4, 8, 14, 28)],
)

# %% [markdown]
# ## The library's DC-GAN, traced
#
# scikit-learn ships 1,797 handwritten digits as $8 \times 8$ grey images (`digits`, rescaled to
# $[-1, 1]$, 20% of each class held out). They are tiny, but they are real images, and a DC-GAN
# learns them in seconds on a CPU. `fdiv.gan.conv.default_models` builds the pair sized for a
# data set, and `trace_shapes` runs one forward pass and lists every layer's output shape. The
# generator starts from $k = 32$ numbers, makes a $2 \times 2$ map, and doubles it twice; the
# critic halves twice and ends with one number per image, the raw score $V_w(x)$ (no sigmoid: the
# divergence's own $\sigma_f$ is applied by the objective, chapter 5).

# %% tags=["nbval-check-output"]
digits = get_dataset("digits")
G, V = default_models(digits)
print(
    "generator g_theta(z)\n"
    + format_trace(trace_shapes(G, torch.zeros(2, G.latent_dim)))
)
print(
    "\ncritic V_w(x)\n" + format_trace(trace_shapes(V, torch.zeros(2, *digits.shape)))
)
print(
    "\nparameters: generator",
    sum(p.numel() for p in G.parameters()),
    " critic",
    sum(p.numel() for p in V.parameters()),
)

# %% [markdown]
# ```{note}
# The notes call the DC-GAN generator *fully convolutional*, yet its first layer is a dense one
# ("linear + reshape"). The two descriptions agree: a linear map from $z \in \mathbb R^k$ to a
# $C \times 2 \times 2$ map is exactly a transposed convolution with a $2 \times 2$ kernel applied to $z$
# viewed as a $k$-channel $1 \times 1$ image, with the same weights rearranged. The cell checks it on the
# generator above.
# ```

# %% tags=["nbval-check-output"]
dense = next(m for m in G.modules() if isinstance(m, torch.nn.Linear))
reshape = next(m for m in G.modules() if isinstance(m, Reshape))
C, h, w_ = reshape.shape
z = torch.randn(5, dense.in_features, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    as_dense = reshape(dense(z))
    # (in channels, out channels, kH, kW)
    kernel_T = dense.weight.t().reshape(dense.in_features, C, h, w_)
    as_transposed_conv = F.conv_transpose2d(
        z[:, :, None, None], kernel_T, bias=dense.bias
    )
print(
    f"linear {dense.in_features} -> {C}x{h}x{w_} equals a {h}x{w_} transposed "
    "convolution of a 1x1 input:",
    torch.allclose(as_dense, as_transposed_conv, atol=1e-6),
)

# %% [markdown]
# ## Training on the digits
#
# Training is the same loop as for the points in the plane (`fdiv.gan.training.train`); only the
# networks and the data changed. We use the GAN divergence and the library's defaults for this
# data set. One of them is new here: the generator that is evaluated and sampled is an exponential
# moving average of the trained one's weights, $\bar\theta \leftarrow 0.999\,\bar\theta +
# 0.001\,\theta$ after every step, which averages out the last steps' back-and-forth between the
# two players (on the conditional runs of the README's benchmark it took the Fréchet distance
# below from 1.8-2.3 to 1.3-1.6 times the floor). At the end the trainer scores the generator with an *independent* judge: a small
# convolutional classifier trained on the real training digits only, which never sees a generated
# image (`fdiv.evaluation.images`). Two of its numbers matter for an unconditional generator: how
# many of the ten classes appear among the samples, and the Fréchet distance between the
# classifier's features of generated and of held-out real digits (the recipe of the FID score,
# with this small classifier in place of an ImageNet network). The distance between two real
# samples of the same size is the floor that finite samples allow.
#
# One seeded run is one draw of a chaotic process: another CPU takes another path from the same
# seed. So the cell below states what it expects as a claim, `dcgan_digits_near_floor` (its
# statement is printed with the verdict), trains seeds 0 and 1 side by side, asserts the claim
# on both and shows each figure's range over them; `python -m fdiv.course.claims
# dcgan_digits_near_floor` checks it on seeds 0-4. (The fast profile trains seed 0 only, with
# fewer steps, and asserts nothing.) The pictures further down are seed 0's.

# %%
STEPS = ch10.steps(FAST)
dcgan = claims.verify("dcgan_digits_near_floor")
if FAST:  # shorter runs: their figures are not the claim's
    print(f"fast profile: seed 0 only, {STEPS} steps; the claim is not checked")
else:
    print(dcgan.verdict_line())
display(
    Markdown(
        claims.table(
            dcgan,
            {
                "classes covered (of 10)": ("classes_covered", ".1f"),
                "Frechet distance": ("frechet_distance", ".1f"),
                "real vs real (the floor)": ("frechet_distance_real", ".1f"),
                "Frechet distance / floor": ("frechet_ratio", ".2f"),
                "final J-hat + log 4": ("j_gap", ".3f"),
                "seconds of training": ("seconds", ".0f"),
            },
        )
    )
)

# %%
samples, history = dcgan.extras[0]["samples"], dcgan.extras[0]["history"]  # seed 0's
assert samples.shape == (64, 1, 8, 8) and samples.abs().max() <= 1

# %% tags=["hide-input"]
real, _ = digits.images("test")
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
plots.plot_image_grid(real[:64], nrow=8, ax=axes[0], title="real digits (held out)")
plots.plot_image_grid(
    samples, nrow=8, ax=axes[1], title=f"DC-GAN samples after {STEPS} steps"
)
fig.tight_layout()
plt.show()

# %% tags=["hide-input"]
fig = plots.plot_curves(
    history,
    smooth=10,
    divergence_label=r"critic's $\hat J$ (GAN: $2 D_{JS} - \log 4$)",
    divergence=fdiv.get("gan"),
)
plt.show()

# %% [markdown]
# The samples are recognisably digits of several classes; on seeds 0-4 of the claim's sweep all
# ten classes appear (the claim asks for at least 8). In the training curves the critic's
# estimate $\hat J$ drops from its early peak (when the generator's output is easy to spot) and
# then settles clearly above $-\log 4$, the value at which it could no longer tell real from
# generated: over the last tenth of the steps it stays 0.41 to 0.44 above it on seeds 0-4 (the
# claim asks for more than 0.2). Samples that already look like digits to us are still
# distinguishable to it, as the gap between the two Fréchet distances also says: 2.2 to 2.5
# times the floor on seeds 0-4 (the claim: more than 1, less than 6). Chapter 11 adds labels, so
# that we can ask for a particular digit and check that we get it.
#
# ## Going bigger: MNIST on a GPU
#
# The same code trains a DC-GAN on MNIST's $28 \times 28$ digits. The library's MNIST model starts
# from a $7 \times 7$ map instead of $2 \times 2$ and doubles it twice ($7 \to 14 \to 28$), with the
# DC-GAN paper's optimiser settings. It needs
# `torchvision`, a download, and a GPU to finish in a few minutes, so the cell below only runs
# where all three are present (on Colab: *Runtime > Change runtime type > GPU*) and the fast
# profile is off. Everywhere else it prints why it skipped.

# %%
try:
    import torchvision  # noqa: F401  (only needed to download MNIST)

    HAVE_TORCHVISION = True
except Exception:  # not installed, or built for another torch
    HAVE_TORCHVISION = False

if torch.cuda.is_available() and not fast_profile() and HAVE_TORCHVISION:
    from fdiv.datasets.images import DatasetUnavailableError

    try:
        mnist_run = train(
            divergence="gan",
            dataset="mnist",
            steps=5000,
            seed=0,
            device=DEVICE,
            progress=True,
        )
    except DatasetUnavailableError as err:
        print("MNIST is not available here:", err)
    else:
        mm = mnist_run.metrics
        print(
            f"MNIST: classes covered {mm['classes_covered']} / 10, Frechet distance "
            f"{mm['frechet_distance']:.1f} (real vs real "
            f"{mm['frechet_distance_real']:.1f})"
        )
        plots.plot_image_grid(
            mnist_run.sample(64, seed=1), nrow=8, title="DC-GAN on MNIST"
        )
        plt.show()
else:
    print(
        "skipped the MNIST run: it needs a CUDA GPU, torchvision and the default (not "
        "fast) profile"
    )
