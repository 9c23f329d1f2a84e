"""Chapter 9: limits of the classifier view (the X of two diagonals)."""
from __future__ import annotations

import math

import torch

from ..core import Exercise, register
from ..helpers import as_tensor, assert_number, call, describe, fmt

# --------------------------------------------------------------------------- 9.1

ex = register(Exercise(
    id="9.1", kind="function", name="two_diagonals", signature="(n, generator)",
    title="Sampling the X of two diagonals",
    task=r"""The notes' counter-example: $P_X$ lives on the diagonal $\{(s, s)\}$ and $P_\theta$ on the other
diagonal $\{(s, -s)\}$ of the square $[-1, 1]^2$, with $s \sim \mathcal{U}(-1, 1)$. Write
`two_diagonals(n, generator)` returning a pair `(x_p, x_q)` of float tensors of shape `(n, 2)`: $n$ samples
of each, with independent $s$ for the two sets, drawn with the given `torch.Generator` (same seed, same
samples).""",
    doc="Return (x_p, x_q), each (n, 2): x_p = (s, s), x_q = (s', -s'), s, s' ~ U(-1, 1) independent, "
        "drawn with `generator`.",
    hint="torch.rand(n, generator=generator) is uniform on [0, 1): rescale it; torch.stack builds the points.",
))


def _pair(fn, n, seed):
    out = call(fn, n, torch.Generator().manual_seed(seed))
    what = f"two_diagonals({n}, generator)"
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"{what} should return a pair (x_p, x_q), got {describe(out)}")
    return (as_tensor(out[0], (n, 2), what=f"{what}[0] (x_p)"), as_tensor(out[1], (n, 2), what=f"{what}[1] (x_q)"))


@ex.check("returns two (n, 2) float tensors")
def _(fn):
    for n in (1, 7):
        _pair(fn, n, 0)


@ex.check("x_p on the diagonal y = x, x_q on the diagonal y = -x, inside [-1, 1]^2")
def _(fn):
    xp, xq = _pair(fn, 2000, 0)
    if (xp[:, 0] - xp[:, 1]).abs().max() > 1e-6:
        i = int((xp[:, 0] - xp[:, 1]).abs().argmax())
        raise AssertionError(f"x_p[{i}] = {fmt(xp[i])} is not on the diagonal y = x")
    if (xq[:, 0] + xq[:, 1]).abs().max() > 1e-6:
        i = int((xq[:, 0] + xq[:, 1]).abs().argmax())
        raise AssertionError(f"x_q[{i}] = {fmt(xq[i])} is not on the diagonal y = -x")
    for name, x in (("x_p", xp), ("x_q", xq)):
        if x.abs().max() > 1:
            raise AssertionError(f"{name} has a point outside [-1, 1]^2: {fmt(x[x.abs().amax(dim=1).argmax()])}")


@ex.check("s uniform on (-1, 1), independent between x_p and x_q")
def _(fn):
    xp, xq = _pair(fn, 4000, 1)
    for name, s in (("x_p", xp[:, 0]), ("x_q", xq[:, 0])):
        m, sd = s.mean().item(), s.std().item()
        if abs(m) > 0.06 or abs(sd - 1 / math.sqrt(3)) > 0.04:
            raise AssertionError(f"{name}: the coordinate s has mean {m:.3f} and std {sd:.3f}; U(-1, 1) has mean 0 and "
                                 f"std {1 / math.sqrt(3):.3f}")
    c = torch.corrcoef(torch.stack([xp[:, 0], xq[:, 0]]))[0, 1].item()
    if abs(c) > 0.1:
        raise AssertionError(f"the s of x_p and x_q are correlated ({c:.2f}): draw them independently")


@ex.check("reproducible: uses the generator")
def _(fn):
    a, b = _pair(fn, 50, 7), _pair(fn, 50, 7)
    if not (torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])):
        raise AssertionError("two calls with generators of the same seed gave different samples: pass "
                             "generator=generator to torch.rand")
    c = _pair(fn, 50, 8)
    if torch.equal(a[0], c[0]):
        raise AssertionError("generators with different seeds gave the same samples")


# --------------------------------------------------------------------------- 9.2

ex = register(Exercise(
    id="9.2", kind="number", name="linear_critic_js", tolerance=0.02,
    title="What a linear discriminator sees in the X",
    task=r"""With `two_diagonals` (Exercise 9.1), draw 2 000 points of each set. Train a *linear* discriminator
$D(x) = \mathrm{sigmoid}(w^\top x + b)$ to maximise $\hat J_{\mathrm{GAN}} = \frac1n\sum\log D(x_i) +
\frac1n\sum \log(1 - D(\hat x_j))$ (a few hundred steps of gradient ascent from a random start), then return the Jensen-Shannon estimate
$\tfrac12(\max \hat J_{\mathrm{GAN}} + \log 4)$ this discriminator gives (tolerance 0.02). Compare with the
true $D_{\mathrm{JS}}$ of two disjoint sets. What does the generator learn from this critic?""",
    doc="Train D = sigmoid(w.x + b) on the X; return (max J_GAN + log 4) / 2.",
    hint="Both sets are symmetric under (x, y) -> (-x, -y): what does that force on the best w? Then J at D = 1/2 is?",
))


@ex.check("is the JS estimate of the best linear critic (tolerance 0.02)")
def _(value):
    assert_number(value, 0.0, 0.02, wrong=[
        (math.log(2), 0.02, "that is the true D_JS of the two disjoint diagonals; a linear critic cannot see it"),
        (-math.log(4), 0.02, "that is max J_GAN itself; the JS estimate is (J + log 4) / 2"),
        (-math.log(2), 0.02, "that is J / 2; add log 4 before halving: (J + log 4) / 2"),
    ])


# --------------------------------------------------------------------------- 9.3

ex = register(Exercise(
    id="9.3", kind="function", name="x_critic", signature="(points)",
    title="A non-linear critic that separates the X",
    task=r"""No line separates the two diagonals, but one non-linear feature does. Write `x_critic(points)`:
for a tensor of points of shape `(n, 2)`, return logits of shape `(n,)`, positive on the diagonal
$y = x$ (data) and negative on $y = -x$ (model), for every point with $|s| \ge 0.05$, also when the points
are jittered by noise of standard deviation $0.01$. No training needed: find the feature.""",
    doc="Logits (n,) for points (n, 2): > 0 on the diagonal y = x, < 0 on y = -x.",
    hint="On y = x the product x*y = s^2 > 0; on y = -x it is -s^2 < 0.",
))


def _diag_points(n, noise, seed):
    g = torch.Generator().manual_seed(seed)
    s = (torch.rand(n, generator=g, dtype=torch.float64) * 0.95 + 0.05) * torch.where(
        torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
    r = (torch.rand(n, generator=g, dtype=torch.float64) * 0.95 + 0.05) * torch.where(
        torch.rand(n, generator=g) < 0.5, -1.0, 1.0).double()
    xp = torch.stack([s, s], 1) + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    xq = torch.stack([r, -r], 1) + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return xp, xq


def _logits(fn, pts):
    out = call(fn, pts)
    return as_tensor(out, (pts.shape[0],), what=f"x_critic(points) for points of shape {tuple(pts.shape)}")


@ex.check("returns n logits for (n, 2) points")
def _(fn):
    for n in (1, 5):
        _logits(fn, torch.zeros(n, 2, dtype=torch.float64) + 0.3)


@ex.check("separates the exact diagonals")
def _(fn):
    xp, xq = _diag_points(1000, 0.0, 0)
    lp, lq = _logits(fn, xp), _logits(fn, xq)
    for name, pts, lg, good in (("y = x (data)", xp, lp, lp > 0), ("y = -x (model)", xq, lq, lq < 0)):
        if not good.all():
            i = int((~good).nonzero()[0])
            raise AssertionError(f"{int((~good).sum())} of 1000 points on {name} get the wrong sign, e.g. "
                                 f"{fmt(pts[i])} -> logit {fmt(lg[i])}")


@ex.check("separates jittered diagonals (noise std 0.01)")
def _(fn):
    xp, xq = _diag_points(1000, 0.01, 1)
    keep_p = xp.prod(dim=1) > 0  # jitter may push a point near the centre across; ignore those
    keep_q = xq.prod(dim=1) < 0
    lp, lq = _logits(fn, xp), _logits(fn, xq)
    acc = ((lp > 0) | ~keep_p).double().mean().item() * 0.5 + ((lq < 0) | ~keep_q).double().mean().item() * 0.5
    if acc < 0.99:
        raise AssertionError(f"only {100 * acc:.1f}% of the jittered points are classified correctly (need 99%)")
