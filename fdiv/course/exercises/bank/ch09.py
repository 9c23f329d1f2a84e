"""Chapter 9: limits of the classifier view (the X of two diagonals)."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_number, as_tensor, assert_number, call, describe, fmt
from ..lazy import F, torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 9.1

ex = EXERCISES.add(Exercise(
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

ex = EXERCISES.add(Exercise(
    id="9.2", kind="function", name="linear_critic_js", signature="(x_p, x_q)", tolerance=0.01,
    title="What a linear discriminator sees in the X",
    task=r"""Write `linear_critic_js(x_p, x_q)`: given real samples `x_p` and generated samples `x_q` (tensors
of shape `(n, 2)` and `(m, 2)`), train a *linear* discriminator $D(x) = \mathrm{sigmoid}(w^\top x + b)$ to
maximise $\hat J_{\mathrm{GAN}} = \frac1n\sum_i\log D(x_i) + \frac1m\sum_j \log(1 - D(\hat x_j))$ (a few hundred
steps of gradient ascent), then return the Jensen-Shannon estimate $\tfrac12(\max \hat J_{\mathrm{GAN}} + \log 4)$
this discriminator gives, as a float (within 0.01). The checks run it on the X of two diagonals (draw it
with `two_diagonals` of Exercise 9.1 to try) and on other data. Compare the X's estimate with the true
$D_{\mathrm{JS}}$ of two disjoint sets. What does the generator learn from this critic?""",
    doc="Train D = sigmoid(w.x + b) on x_p (real) against x_q (generated); return (max J_GAN + log 4) / 2.",
    hint="Both sets of the X are symmetric under (x, y) -> (-x, -y): what does that force on the best w? Then J "
         "at D = 1/2 is? On other data, iterate until J stops increasing (torch.optim.LBFGS or Adam help).",
    time_limit=30.0,
))


def best_linear_critic(x_p, x_q) -> float:
    """max over (w, b) of mean log sigmoid(w.x_p + b) + mean log sigmoid(-(w.x_q + b)): a concave
    (logistic-regression) objective, maximised by Newton's method with step halving."""
    x_p = torch.cat([x_p.double(), torch.ones(len(x_p), 1, dtype=torch.float64)], 1)
    x_q = torch.cat([x_q.double(), torch.ones(len(x_q), 1, dtype=torch.float64)], 1)

    def j(theta):
        return (F.logsigmoid(x_p @ theta).mean() + F.logsigmoid(-(x_q @ theta)).mean()).item()

    theta = torch.zeros(3, dtype=torch.float64)
    for _ in range(100):
        sp, sq = torch.sigmoid(x_p @ theta), torch.sigmoid(x_q @ theta)
        grad = ((1 - sp)[:, None] * x_p).mean(0) - (sq[:, None] * x_q).mean(0)
        hess = -((sp * (1 - sp))[:, None, None] * x_p[:, :, None] * x_p[:, None, :]).mean(0) - (
            (sq * (1 - sq))[:, None, None] * x_q[:, :, None] * x_q[:, None, :]).mean(0)
        step = torch.linalg.solve(hess - 1e-12 * torch.eye(3, dtype=torch.float64), -grad)
        size = 1.0
        while j(theta + size * step) < j(theta) and size > 1e-8:
            size /= 2
        theta = theta + size * step
        if grad.abs().max() < 1e-12:
            break
    return (j(theta) + math.log(4)) / 2


def _the_x(n, seed):
    g = torch.Generator().manual_seed(seed)
    s = torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1
    r = torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1
    return torch.stack([s, s], 1), torch.stack([r, -r], 1)


def _blobs(n, m, shift, seed):
    g = torch.Generator().manual_seed(seed)
    shift = torch.tensor(shift, dtype=torch.float64)
    return (torch.randn(n, 2, generator=g, dtype=torch.float64) + shift,
            torch.randn(m, 2, generator=g, dtype=torch.float64) - shift)


def _check_critic(fn, x_p, x_q, what, wrong=()):
    value = as_number(call(fn, x_p, x_q), what=f"{what}: your estimate")
    assert_number(value, best_linear_critic(x_p, x_q), 0.01, what=f"{what}: your estimate", wrong=wrong)


@ex.check("on the X of two diagonals (2 000 points each)")
def _(fn):
    x_p, x_q = _the_x(2000, 0)
    _check_critic(fn, x_p, x_q, "the X", wrong=[
        (math.log(2), 0.01, "that is the true D_JS of the two disjoint diagonals; a linear critic cannot see it"),
        (-math.log(4), 0.01, "that is max J_GAN itself; the JS estimate is (J + log 4) / 2"),
        (-math.log(2), 0.01, "that is J / 2; add log 4 before halving: (J + log 4) / 2"),
    ])


@ex.check("on overlapping Gaussian blobs, which a line does separate in part")
def _(fn):
    _check_critic(fn, *_blobs(1500, 1000, [0.6, 0.0], 1), "blobs N((0.6, 0), I) against N((-0.6, 0), I)")
    _check_critic(fn, *_blobs(1000, 1000, [0.3, -0.4], 2), "blobs N((0.3, -0.4), I) against N((-0.3, 0.4), I)")


# --------------------------------------------------------------------------- 9.3

ex = EXERCISES.add(Exercise(
    id="9.3", kind="function", name="x_critic", signature="(points)",
    title="A non-linear critic that separates the X",
    task=r"""No line separates the two diagonals, but one non-linear feature does. Write `x_critic(points)`:
for a tensor of points of shape `(n, 2)`, return logits of shape `(n,)`, positive on the diagonal
$y = x$ (data) and negative on $y = -x$ (model), for every point with $|s| \ge 0.05$, also when the points
are jittered by noise of standard deviation $0.01$. No training needed: find the feature.""",
    doc="Logits (n,) for points (n, 2): > 0 on the diagonal y = x, < 0 on y = -x.",
    hint="Write a point of each diagonal as (s, s) or (s, -s). Which simple polynomial in x and y has a "
         "sign that depends only on the diagonal, not on s?",
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
