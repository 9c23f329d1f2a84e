"""Chapter 7: training the GAN."""
from __future__ import annotations

from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_close, assert_number, assert_sympy_equal, call, fmt, gradients, symbol
from ..lazy import torch, F

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 7.1

ex = EXERCISES.add(Exercise(
    id="7.1", kind="function", name="discriminator_loss", signature="(v_real, v_fake)",
    title="The discriminator's loss, from logits",
    task=r"""Optimisers *minimise*. The discriminator ascends $J_{\mathrm{GAN}} = \mathbb{E}_P[\log D(x)] +
\mathbb{E}_Q[\log(1 - D(\hat x))]$, so it descends $-J_{\mathrm{GAN}}$. Write `discriminator_loss(v_real, v_fake)`
where $D = \mathrm{sigmoid}(V)$ and `v_real`, `v_fake` are the logits $V$ on a real and a generated batch
(sizes may differ); return the batch estimate of $-J_{\mathrm{GAN}}$ as a 0-dim tensor. It must be exact
and finite even for logits of $\pm 10^4$ (a very confident discriminator), with finite gradients.""",
    doc="-J_GAN = -mean(log D(x_real)) - mean(log(1 - D(x_fake))), D = sigmoid(logits); stable, 0-dim tensor.",
    hint="This is binary cross-entropy with labels 1 (real) and 0 (fake), written on logits: express each "
         "-log term through a function that never evaluates sigmoid(v) itself.",
))


def ref_dloss(vr, vf):
    return F.softplus(-vr).mean() + F.softplus(vf).mean()


def _gradients(fn, *logits):
    """The gradients of the (0-dim) loss with respect to each batch of logits."""
    _, connected, grads = fn.probe(gradients, *logits, reduce="scalar", context="computing gradients")
    if not connected or grads is None or len(grads) != len(logits) or not all(
            isinstance(g, torch.Tensor) and g.shape == v.shape for g, v in zip(grads, logits)):
        raise AssertionError("no gradient reached the logits (did you use .item(), numpy or torch.no_grad()?)")
    return grads


def _scalar(fn, *args, what):
    out = call(fn, *args)
    return as_tensor(out, (), what=what, numel_one_ok=True).reshape(())


@ex.check("values on random logits (unequal batch sizes)")
def _(fn):
    g = torch.Generator().manual_seed(0)
    vr, vf = torch.randn(10, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    got = _scalar(fn, vr, vf, what="discriminator_loss(v_real, v_fake)")
    exp = ref_dloss(vr, vf)
    if abs(got.item() + exp.item()) < 1e-9:
        raise AssertionError("sign: you return J_GAN; the loss to minimise is -J_GAN")
    if abs(got.item() - ref_dloss(-vr, -vf).item()) < 1e-9:
        raise AssertionError("labels swapped: real samples should get D -> 1, generated ones D -> 0")
    assert_close(got, exp, rtol=1e-7, what="10 real and 6 fake logits: ")


@ex.check("finite and exact for confident logits (+-1e4)")
def _(fn):
    cases = [
        (torch.tensor([1e4, 50.0]), torch.tensor([-1e4, -50.0]), "confident and right"),
        (torch.tensor([-1e4, 3.0]), torch.tensor([1e4, 0.0]), "confident and wrong"),
    ]
    for vr, vf, desc in cases:
        vr, vf = vr.double(), vf.double()
        got = _scalar(fn, vr, vf, what="discriminator_loss(v_real, v_fake)")
        assert_close(got, ref_dloss(vr, vf), rtol=1e-6, atol=1e-12,
                     what=f"{desc}: v_real = {fmt(vr)}, v_fake = {fmt(vf)}: ")


@ex.check("finite gradients, pointing the right way")
def _(fn):
    vr = torch.tensor([-1e4, -2.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    vf = torch.tensor([1e4, 2.0, 0.0, -3.0], dtype=torch.float64, requires_grad=True)
    grads = _gradients(fn, vr, vf)
    gr, gf = grads
    if not (torch.isfinite(gr).all() and torch.isfinite(gf).all()):
        raise AssertionError(f"non-finite gradients: d/dv_real = {fmt(gr)}, d/dv_fake = {fmt(gf)}")
    assert_close(gr, -torch.sigmoid(-vr.detach()) / 4, vr.detach(), name="v_real", rtol=1e-6, atol=1e-12,
                 what="d loss / d v_real (should be negative: raising real logits lowers the loss): ")
    assert_close(gf, torch.sigmoid(vf.detach()) / 4, vf.detach(), name="v_fake", rtol=1e-6, atol=1e-12,
                 what="d loss / d v_fake: ")


# --------------------------------------------------------------------------- 7.2

ex = EXERCISES.add(Exercise(
    id="7.2", kind="function", name="generator_loss_nonsaturating", signature="(v_fake)",
    title="The non-saturating generator loss",
    task=r"""Write `generator_loss_nonsaturating(v_fake)`: the batch average of $-\log D(g_\theta(z))$ with
$D = \mathrm{sigmoid}(V)$, from the discriminator's logits `v_fake` on generated samples (shape `(B,)` or
`(B, 1)`), as a 0-dim tensor. Stable for logits of $\pm 10^4$. Then compare its gradient with that of the
saturating loss $\log(1 - D)$ when the discriminator confidently rejects the samples ($V = -10$).""",
    doc="mean(-log sigmoid(v_fake)) as a 0-dim tensor, stable at +-1e4.",
    hint="Same identity as in Exercise 7.1: -log sigmoid(v) through a stable function of v.",
))


@ex.check("values on random logits, (B,) and (B, 1)")
def _(fn):
    g = torch.Generator().manual_seed(0)
    for shape in ((9,), (9, 1)):
        v = torch.randn(shape, generator=g, dtype=torch.float64) * 3
        got = _scalar(fn, v, what=f"generator_loss_nonsaturating(v) for v of shape {shape}")
        if abs(got.item() + F.softplus(v).mean().item()) < 1e-9:
            raise AssertionError("that is the saturating loss mean(log(1 - D)); the non-saturating one is "
                                 "mean(-log D)")
        assert_close(got, F.softplus(-v).mean(), rtol=1e-7, what=f"shape {shape}: ")


@ex.check("finite at logits +-1e4")
def _(fn):
    v = torch.tensor([-1e4, 1e4, -40.0], dtype=torch.float64)
    got = _scalar(fn, v, what="generator_loss_nonsaturating(v)")
    assert_close(got, F.softplus(-v).mean(), rtol=1e-7, what=f"v = {fmt(v)}: ")


@ex.check("does not saturate: gradient about -1/B at V = -10")
def _(fn):
    v = torch.full((4,), -10.0, dtype=torch.float64, requires_grad=True)
    (grad,) = _gradients(fn, v)
    exp = -torch.sigmoid(-v.detach()) / 4
    assert_close(grad, exp, rtol=1e-6, atol=1e-12, what="d loss / d v at v = -10 (B = 4): ")


# --------------------------------------------------------------------------- 7.3

ex = EXERCISES.add(Exercise(
    id="7.3", kind="number", name="gradient_ratio", tolerance=0.1,
    title="How much larger is the non-saturating gradient?",
    task=r"""Early in training the discriminator rejects generated samples confidently: say
$D = \mathrm{sigmoid}(V) = 0.01$ on a sample. Compute the ratio
$\left|\frac{\partial}{\partial V}\big(-\log D\big)\right| \Big/ \left|\frac{\partial}{\partial V}\log(1 - D)\right|$
of the non-saturating to the saturating generator gradient with respect to the logit $V$ (by hand, or with
autograd). Return it as a float (tolerance 0.1).""",
    doc="Return |d/dV (-log D)| / |d/dV log(1 - D)| at D = sigmoid(V) = 0.01.",
    hint="Differentiate log sigmoid(V) and log(1 - sigmoid(V)) with respect to V, using sigmoid' = "
         "sigmoid (1 - sigmoid), and write both in terms of D = sigmoid(V).",
))


@ex.check("equals the gradient ratio (1 - D) / D at D = 0.01")
def _(value):
    assert_number(value, 99.0, 0.1, wrong=[
        (0.01, 5e-5, "that is D itself"),
        (1 / 99, 5e-5, "you computed the inverse ratio (saturating over non-saturating)"),
        (100.0, 0.05, "that is 1/D; with respect to the logit the two gradients are 1 - D and D"),
    ])


# --------------------------------------------------------------------------- 7.4 (derivation)

ex = EXERCISES.add(Exercise(
    id="7.4", kind="sympy", name="nonsaturating_generator", variable="u",
    title="Derivation: the fixed point of the non-saturating loss",
    task=r"""The non-saturating generator minimises $-\mathbb{E}_{P_\theta}[\log D(x)]$ instead of
$\mathbb{E}_{P_\theta}[\log(1 - D(x))]$. Does it still aim at $P_\theta = P_X$? At the optimal discriminator
$D^* = \frac{p_X}{p_X + p_\theta}$, write the loss as $\mathbb{E}_{P_\theta}\big[g(p_X/p_\theta)\big]$ and find
the constant $c$ for which $h(u) = g(u) - c$ is an $f$-divergence generator ($h(1) = 0$, $h$ convex). Then
$-\mathbb{E}_{P_\theta}[\log D^*] = c + D_h(P_X \Vert P_\theta) \ge c$, with equality only at
$P_\theta = P_X$ ($h$ strictly convex): the same fixed point as the minimax game. Return $h(u)$ as a sympy
expression in `u`.""",
    doc="Return h(u) = g(u) - g(1), where -E_Q[log D*] = E_Q[g(p/q)], as a sympy expression in u.",
    hint="Divide p and q in D* by q: D* is a function of u = p/q alone; take -log of it. The constant is "
         "the value at u = 1, where P_theta = P_X.",
))


@ex.check("equals -log D* written in u = p/q, minus its value at u = 1")
def _(expr):
    import math

    import sympy

    u = symbol("u")
    assert_sympy_equal(expr, sympy.log((1 + u) / (2 * u)), "u", [0.05, 0.5, 1.0, 2.0, 40.0], wrong=[
        (sympy.log((1 + u) / u), "that is g itself: subtract its value log 2 at u = 1, so that h(1) = 0"),
        (sympy.log(2 * u / (1 + u)), "sign error: the loss is -log D*, and D* = u / (1 + u)"),
        (sympy.log((1 + u) / 2), "that is -log(1 - D*) - log 2, the saturating loss's integrand: use -log D*"),
        (sympy.log(1 + u) - math.log(2), "-log D* = log(1 + q/p) = log((1 + u) / u): the 1/u is missing"),
    ])


@ex.check("is a generator: 0 at u = 1, strictly convex on u > 0")
def _(expr):
    from ..helpers import assert_convex_generator

    assert_convex_generator(expr, "u")
