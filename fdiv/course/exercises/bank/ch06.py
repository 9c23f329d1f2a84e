"""Chapter 6: the GAN as a special case of VDM."""
from __future__ import annotations

from ..core import Exercise, ExerciseList
from ..helpers import (as_tensor, assert_close, assert_conjugate_vanishes_at_zero, assert_sympy_equal, call,
                      fmt, gradients, symbol)
from ..lazy import torch, F

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 6.1

ex = EXERCISES.add(Exercise(
    id="6.1", kind="sympy", name="js_conjugate", variable="t",
    title="Conjugate of the notes' Jensen-Shannon generator",
    task=r"""Derive the conjugate of the notes' Jensen-Shannon generator
$f(u) = \tfrac12\big(u\log u - (u+1)\log\tfrac{u+1}{2}\big)$ over $u > 0$ with sympy, as the notes do
for the GAN generator: stationary point, admissible $t$, substitute back. Return $f^*(t)$ as an expression
in `t`, valid on $\mathrm{dom}\, f^* = (-\infty, \tfrac12\log 2)$. (The f-GAN paper's "JS" generator
is twice this one; by the scaling rule $(\alpha f)^*(t) = \alpha f^*(t/\alpha)$ its conjugate differs.)""",
    doc="Return f*(t) of f(u) = 1/2 (u log u - (u+1) log((u+1)/2)) (over u > 0), a sympy expression in t.",
    hint="Solve f'(u) = t for u (exponentiate both sides); the solution must be positive, which limits t. "
         "Then substitute u*(t) into t u - f(u) and simplify.",
))


@ex.check("f*(0) = -min f = 0")
def _(expr):
    assert_conjugate_vanishes_at_zero(expr)


@ex.check("equals the conjugate on dom f* = (-inf, log(2)/2)")
def _(expr):
    import sympy

    t = symbol("t")
    assert_sympy_equal(expr, -sympy.log(2 - sympy.exp(2 * t)) / 2, "t", [-8.0, -1.0, -0.2, 0.0, 0.2, 0.3, 0.34],
                       wrong=[
                           (-sympy.log(2 - sympy.exp(t)), "that is the conjugate of the f-GAN paper's JS generator "
                                                           "(twice the notes' f); with the 1/2, (f/2)*(t) = f*(2t)/2"),
                           (-sympy.log(1 - sympy.exp(t)), "that is the GAN conjugate -log(1 - e^t)"),
                           (sympy.log(2 - sympy.exp(2 * t)) / 2, "sign error"),
                       ])


# --------------------------------------------------------------------------- 6.2

ex = EXERCISES.add(Exercise(
    id="6.2", kind="function", name="gan_conjugate_activation", signature="(v)",
    title="The GAN's f* after its activation, computed stably",
    task=r"""For the GAN, $\sigma_f(v) = \log \mathrm{sigmoid}(v)$ and $f^*(t) = -\log(1 - e^t)$, so the second term
of the objective needs $f^*(\sigma_f(v)) = -\log(1 - \mathrm{sigmoid}(v))$. Simplify it by hand and write
`gan_conjugate_activation(v)` computing it elementwise **without overflow**: finite, correct values and
gradients at $v = \pm 10^4$ (where the naive formula returns `inf`), in float32 and float64.""",
    doc="f*(sigma_f(v)) = -log(1 - sigmoid(v)) for the GAN, elementwise, stable at v = +-1e4.",
    hint="Write 1 - sigmoid(v) as a sigmoid of something, and -log of a sigmoid as a function that "
         "torch.nn.functional computes without overflow.",
))


def _unary(fn, v, name):
    out = call(fn, v)
    return as_tensor(out, tuple(v.shape), what=f"{name}(v) for v of shape {tuple(v.shape)}")


def _grad_of(fn, v):
    _, connected, grads = fn.probe(gradients, v.detach().clone().requires_grad_(True), context="computing gradients")
    if not connected or not grads or not isinstance(grads[0], torch.Tensor):
        raise AssertionError("no gradient flows back to v (did you use .item(), numpy or torch.no_grad()?)")
    return grads[0]


def _check_extremes(fn, name, reference):
    """fn(v) against reference(v) at v = +-1e4 in float64 and float32."""
    for dt in (torch.float64, torch.float32):
        v = _extreme().to(dt)
        got = _unary(fn, v, name)
        assert_close(got, reference(v.double()), v, name="v", rtol=1e-6, atol=1e-6,
                     what=f"{str(dt).replace('torch.', '')}: ")


def _check_gradient(fn, derivative):
    """d fn / dv finite and equal to derivative(v), for moderate and extreme v."""
    v = torch.cat([_moderate(), _extreme()])
    gr = _grad_of(fn, v)
    if not torch.isfinite(gr).all():
        i = int((~torch.isfinite(gr)).nonzero()[0])
        raise AssertionError(f"the gradient at v = {fmt(v[i])} is {fmt(gr[i])}")
    assert_close(gr, derivative(v), v, name="v", rtol=1e-6, atol=1e-9, what="gradient: ")


def _moderate():
    return torch.linspace(-20, 20, 81, dtype=torch.float64)


def _extreme():
    return torch.tensor([-1e4, -800.0, 800.0, 1e4], dtype=torch.float64)


@ex.check("values for moderate v, shape kept")
def _(fn):
    v = _moderate()
    assert_close(_unary(fn, v, "gan_conjugate_activation"), F.softplus(v), v, name="v", rtol=1e-6, atol=1e-9)
    _unary(fn, torch.zeros(3, 2, dtype=torch.float64), "gan_conjugate_activation")


@ex.check("no overflow at v = +-1e4 (float64 and float32)")
def _(fn):
    _check_extremes(fn, "gan_conjugate_activation", F.softplus)


@ex.check("finite, correct gradients (d/dv = sigmoid(v)), also at +-1e4")
def _(fn):
    _check_gradient(fn, torch.sigmoid)


# --------------------------------------------------------------------------- 6.3

ex = EXERCISES.add(Exercise(
    id="6.3", kind="function", name="gan_activation", signature="(v)",
    title="A stable GAN output activation: log-sigmoid",
    task=r"""The GAN's output activation is $\sigma_f(v) = -\log(1 + e^{-v}) = \log\mathrm{sigmoid}(v)$, with values in
$\mathrm{dom}\, f^* = (-\infty, 0)$. Write `gan_activation(v)` computing it elementwise so that it is
finite with correct gradients for every float input, including $v = \pm 10^4$ (`torch.log(torch.sigmoid(v))`
gives `-inf` at $v = -10^4$, and `-torch.log1p(torch.exp(-v))` overflows there too).""",
    doc="sigma_f(v) = log sigmoid(v) = -log(1 + exp(-v)), elementwise, stable at v = +-1e4.",
    hint="log(1 / (1 + e^{-v})): which stable torch.nn.functional function is log(1 + e^x)?",
))


@ex.check("values for moderate v, in (-inf, 0), shape kept")
def _(fn):
    v = _moderate()
    got = _unary(fn, v, "gan_activation")
    if torch.allclose(got, torch.sigmoid(v)):
        raise AssertionError("you return sigmoid(v), i.e. D(x); the witness is T = log D(x)")
    assert_close(got, F.logsigmoid(v), v, name="v", rtol=1e-6, atol=1e-9)
    _unary(fn, torch.zeros(2, 5, dtype=torch.float64), "gan_activation")


@ex.check("finite at v = +-1e4 (float64 and float32)")
def _(fn):
    _check_extremes(fn, "gan_activation", F.logsigmoid)


@ex.check("finite, correct gradients (d/dv = sigmoid(-v))")
def _(fn):
    _check_gradient(fn, lambda v: torch.sigmoid(-v))
