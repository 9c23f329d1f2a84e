"""Chapter 11: the conditional GAN."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_close, assert_number, call, describe, expect_raises, fmt, gradients
from ..lazy import torch

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 11.1

ex = EXERCISES.add(Exercise(
    id="11.1", kind="function", name="one_hot", signature="(labels, num_classes)",
    title="One-hot labels for the conditional networks",
    task=r"""Both networks of a conditional GAN receive the class label $y \in \{0, \dots, K-1\}$ as a one-hot
vector in $\{0, 1\}^K$. Write `one_hot(labels, num_classes)`: for an integer tensor of labels of shape
`(B,)`, return a **float** tensor of shape `(B, num_classes)`. Labels outside $\{0, \dots, K-1\}$ must raise
`ValueError` naming the bad label and the allowed range.""",
    doc="Float one-hot matrix (B, num_classes) of integer labels (B,); ValueError for labels outside "
        "0..num_classes-1.",
    hint="torch.nn.functional.one_hot needs num_classes (else the width is the largest label + 1), returns "
         "integers, and raises RuntimeError on bad labels: check them first and raise ValueError yourself.",
))


def _oh_ref(labels, k):
    return torch.nn.functional.one_hot(labels, k).double()


def _oh(fn, labels, k):
    out = call(fn, labels, k)
    return as_tensor(out, (labels.shape[0], k), what=f"one_hot(labels of shape {tuple(labels.shape)}, {k})")


@ex.check("one row per label with a single 1 in the label's column")
def _(fn):
    labels = torch.tensor([3, 0, 9, 3, 1])
    got = _oh(fn, labels, 10)
    for i, y in enumerate(labels.tolist()):
        if not torch.equal(got[i], _oh_ref(torch.tensor([y]), 10)[0]):
            raise AssertionError(f"label {y} (row {i}): expected {fmt(_oh_ref(torch.tensor([y]), 10)[0])}, "
                                 f"got {fmt(got[i])}")


@ex.check("float dtype and num_classes columns even if some classes are absent")
def _(fn):
    labels = torch.tensor([0, 1, 1])
    out = call(fn, labels, 10)
    if isinstance(out, torch.Tensor) and not out.is_floating_point():
        raise AssertionError(f"got dtype {out.dtype}: the networks take float inputs; convert with .float()")
    got = as_tensor(out, (3, 10), what="one_hot(tensor([0, 1, 1]), 10)")
    assert_close(got, _oh_ref(labels, 10), what="labels (0, 1, 1), 10 classes: ")


@ex.check("labels outside 0..K-1 raise ValueError")
def _(fn):
    for bad in ([0, 10], [-1, 2]):
        exc = expect_raises(fn, (torch.tensor(bad), 10), "ValueError", what=f"one_hot(tensor({bad}), 10)")
        msg = exc.message
        if str(10 if 10 in bad else -1) not in msg:
            raise AssertionError(f"one_hot(tensor({bad}), 10) raised ValueError({msg!r}): name the bad label in "
                                 "the message")


# --------------------------------------------------------------------------- 11.2

ex = EXERCISES.add(Exercise(
    id="11.2", kind="function", name="conditional_input", signature="(z, labels, num_classes)",
    title="The conditional generator's input",
    task=r"""The conditional generator $g_\theta(z, y)$ is an ordinary network applied to the concatenation of
the noise and the one-hot label. Write `conditional_input(z, labels, num_classes)`: for noise `z` of shape
`(B, k)` and integer labels of shape `(B,)`, return the tensor $[z, \mathrm{onehot}(y)]$ of shape
`(B, k + num_classes)`, noise first, with the dtype of `z`; gradients must flow back to `z`.""",
    doc="torch.cat([z, one_hot(labels)], dim=1): (B, k + num_classes), dtype of z, differentiable in z.",
    hint="Build the one-hot matrix in the dtype of z, then concatenate along dim=1.",
))


@ex.check("shape (B, k + K): noise first, then the one-hot label")
def _(fn):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 3, generator=g, dtype=torch.float64)
    labels = torch.tensor([2, 0, 4, 2])
    out = call(fn, z, labels, 5)
    got = as_tensor(out, (4, 8), what="conditional_input(z of shape (4, 3), labels of shape (4,), 5)")
    exp = torch.cat([z, _oh_ref(labels, 5)], dim=1)
    if torch.equal(got, torch.cat([_oh_ref(labels, 5), z], dim=1)):
        raise AssertionError("you put the one-hot label first; the convention here is [z, onehot(y)]")
    assert_close(got, exp, what="z of shape (4, 3), labels (2, 0, 4, 2), 5 classes: ")


@ex.check("keeps the dtype of z (float32)")
def _(fn):
    z = torch.zeros(2, 4)
    out = call(fn, z, torch.tensor([1, 0]), 3)
    got = as_tensor(out, (2, 7), what="conditional_input(z (2, 4) float32, labels (2,), 3)")
    if out.dtype != torch.float32:
        raise AssertionError(f"z is float32 but the result is {out.dtype}")
    assert_close(got, torch.cat([torch.zeros(2, 4).double(), _oh_ref(torch.tensor([1, 0]), 3)], 1))


@ex.check("differentiable with respect to z")
def _(fn):
    z = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    _, connected, grads = fn.probe(gradients, z, torch.tensor([0, 1, 2]), 3, context="backpropagating to z")
    grad = grads[0] if connected and grads else None
    if not isinstance(grad, torch.Tensor) or not torch.equal(grad, torch.ones_like(z)):
        raise AssertionError(f"the gradient of the sum with respect to z should be all ones, got {describe(grad)}")


# --------------------------------------------------------------------------- 11.3

COND_JS = 0.75 * math.log(4 / 3)

ex = EXERCISES.add(Exercise(
    id="11.3", kind="number", name="conditional_js", tolerance=1e-4,
    title="What a conditional critic sees that an unconditional one cannot",
    task=r"""Labels $y \in \{0, 1\}$ are equally likely and the data is $x = y$: $P_{X|Y=y}$ puts all its mass on
$x = y$. A lazy generator ignores the label and outputs $x \in \{0, 1\}$ uniformly. The *unconditional*
divergence between the marginals is $D_{\mathrm{JS}}(P_X \Vert P_\theta) = 0$ (both are uniform). Compute the
*conditional* divergence $\mathbb{E}_{y}\big[D_{\mathrm{JS}}(P_{X|Y=y} \Vert P_{\theta}(\cdot \mid y))\big]$, which
the conditional GAN's discriminator $D(x, y)$ estimates, and return it (tolerance $10^{-4}$).""",
    doc="Return E_y[ D_JS(P(x|y) || uniform) ] for P(x|y) = point mass at x = y, y uniform on {0, 1}.",
    hint="Fix y: the two conditionals are distributions on two points; form their mixture M = (P + Q)/2 "
         "and use D_JS = (KL(P||M) + KL(Q||M)) / 2. Then average over y with its probabilities.",
))


@ex.check("equals the conditional Jensen-Shannon divergence")
def _(value):
    assert_number(value, COND_JS, 1e-4, wrong=[
        (0.0, 1e-4, "that is the divergence between the marginals, which the unconditional critic sees; condition on y"),
        (2 * COND_JS, 1e-4, "that is twice the notes' D_JS (the f-GAN paper's normalisation)"),
        (math.log(2), 1e-4, "log 2 would be two disjoint distributions; P(x|y) and the uniform overlap at x = y"),
    ])


# --------------------------------------------------------------------------- 11.4 (derivation)

ex = EXERCISES.add(Exercise(
    id="11.4", kind="function", name="conditional_optimal_discriminator",
    signature="(log_p_x_given_y, log_q_x_given_y, log_p_y, log_q_y)",
    title="Derivation: the optimal conditional discriminator",
    task=r"""In a conditional GAN the discriminator sees pairs $(x, y)$: real pairs from
$p(y)\,p_X(x \mid y)$, generated ones from $q(y)\,p_\theta(x \mid y)$, where $q(y)$ is the label distribution
fed to the generator. Write the value $J(D)$ as an integral over pairs, maximise it pointwise as for $D^*$
(chapter 8), and derive $D^*(x, y)$. Then write
`conditional_optimal_discriminator(log_p_x_given_y, log_q_x_given_y, log_p_y, log_q_y)`, returning it
elementwise from the four log-probabilities (tensors of one shape), stable where they are very negative.
What does $D^*$ become when the generator is fed the data's label distribution, $q(y) = p(y)$?""",
    doc="D*(x, y) elementwise from log p(x|y), log q(x|y), log p(y), log q(y); stable for tiny probabilities.",
    hint="Chapter 8's pointwise argument works on any joint density: which two joint densities does the "
         "discriminator compare here? Then stay in log space, as in Exercise 8.1.",
))


def _cd_call(fn, *args):
    out = call(fn, *args)
    return as_tensor(out, tuple(args[0].shape), what="conditional_optimal_discriminator(...)")


def _cd_inputs(seed, shape=(7,)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64) - 2 for _ in range(4)]


@ex.check("D* of the joint densities p(y) p(x|y) against q(y) q(x|y)")
def _(fn):
    for seed, shape in ((0, (7,)), (1, (2, 3))):
        lpx, lqx, lpy, lqy = _cd_inputs(seed, shape)
        got = _cd_call(fn, lpx, lqx, lpy, lqy)
        want = torch.sigmoid(lpy + lpx - lqy - lqx)
        if torch.allclose(got, torch.sigmoid(lpx - lqx), atol=1e-9):
            raise AssertionError("you compare only p(x|y) with q(x|y): the discriminator sees pairs, whose densities "
                                 "also carry the label probabilities p(y) and q(y)")
        if torch.allclose(got, 1 - want, atol=1e-9):
            raise AssertionError("you return the probability of 'generated': D* is the probability of 'real'")
        assert_close(got, want, lpy + lpx - lqy - lqx, name="log p(y) p(x|y) - log q(y) q(x|y)", rtol=1e-7,
                     atol=1e-12)


@ex.check("with q(y) = p(y) it is the unconditional D* of the conditionals")
def _(fn):
    lpx, lqx, lpy, _ = _cd_inputs(2)
    assert_close(_cd_call(fn, lpx, lqx, lpy, lpy.clone()), torch.sigmoid(lpx - lqx), lpx - lqx,
                 name="log p(x|y) - log q(x|y)", rtol=1e-7, atol=1e-12)


@ex.check("tiny probabilities (log-probabilities near -1000): no 0/0")
def _(fn):
    lpx = torch.tensor([-1000.0, -1001.0, -999.0], dtype=torch.float64)
    lqx = torch.tensor([-1001.0, -1000.0, -1000.0], dtype=torch.float64)
    lpy = torch.full((3,), -2.0, dtype=torch.float64)
    lqy = torch.tensor([-1.0, -3.0, -2.0], dtype=torch.float64)
    got = _cd_call(fn, lpx, lqx, lpy, lqy)
    if torch.isnan(got).any():
        raise AssertionError(f"log p(x|y) = {fmt(lpx)}: got {fmt(got)}; exp(-1000) is 0 and 0/0 is nan: stay in "
                             "log space")
    assert_close(got, torch.sigmoid(lpy + lpx - lqy - lqx), lpx, name="log p(x|y)", rtol=1e-7)
