"""Chapter 5: variational divergence minimisation (VDM)."""
from __future__ import annotations

import math

from ..core import Exercise, ExerciseList
from ..helpers import as_number, as_tensor, assert_close, assert_number, call, describe, fmt, gradients
from ..lazy import torch, F

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 5.1


def _kl_act(v):
    return v


def _kl_conj(t):
    return torch.exp(t - 1)


def _gan_act(v):
    return F.logsigmoid(v)


def _gan_conj(t):
    return -torch.log1p(-torch.exp(t))


def vdm_ref(v_real, v_fake, act, conj):
    return act(v_real).mean() - conj(act(v_fake)).mean()


ex = EXERCISES.add(Exercise(
    id="5.1", kind="function", name="vdm_objective", signature="(v_real, v_fake, activation, conjugate)",
    title="The VDM objective from raw critic outputs",
    task=r"""The critic network outputs raw values $V_w(x) \in \mathbb{R}$; the witness is
$T_w = \sigma_f(V_w)$. Write `vdm_objective(v_real, v_fake, activation, conjugate)` returning the empirical
objective
$\hat J = \frac1{B}\sum_i \sigma_f(V_w(x_i)) - \frac1{B'}\sum_j f^*\big(\sigma_f(V_w(\hat x_j))\big)$
as a 0-dim tensor, where `v_real` ($B$ values on data) and `v_fake` ($B'$ values on generated samples) are
the raw outputs (shape `(B,)` or `(B, 1)`; $B \ne B'$ allowed), and `activation`, `conjugate` are
$\sigma_f$ and $f^*$. Gradients must flow to `v_real` and `v_fake`.""",
    doc="J = mean(activation(v_real)) - mean(conjugate(activation(v_fake))), a 0-dim tensor (differentiable).",
    hint="Apply the activation to BOTH batches; the conjugate only to the generated one; average each batch "
         "separately.",
))


def _vdm(fn, vr, vf, act, conj, what):
    out = call(fn, vr, vf, act, conj)
    return out, as_tensor(out, (), what=what, numel_one_ok=True,
                          hint="f* was evaluated outside dom f*? The witness is T = sigma_f(V): apply the "
                               "activation before the conjugate").reshape(())


@ex.check("KL (identity activation, f*(t) = exp(t - 1))")
def _(fn):
    g = torch.Generator().manual_seed(0)
    vr, vf = torch.randn(16, generator=g, dtype=torch.float64), torch.randn(16, generator=g, dtype=torch.float64)
    _, got = _vdm(fn, vr, vf, _kl_act, _kl_conj, "vdm_objective(...) for KL")
    if abs(got.item() - (-vdm_ref(vr, vf, _kl_act, _kl_conj).item())) < 1e-9:
        raise AssertionError("sign: you return E_Q[f*(T)] - E_P[T]; J = E_P[T] - E_Q[f*(T)] (the critic maximises J)")
    assert_close(got, vdm_ref(vr, vf, _kl_act, _kl_conj), rtol=1e-7, what="KL, B = 16: ")


@ex.check("GAN (activation log-sigmoid), unequal batch sizes, (B, 1) shapes")
def _(fn):
    g = torch.Generator().manual_seed(1)
    vr = torch.randn(12, 1, generator=g, dtype=torch.float64)
    vf = torch.randn(5, 1, generator=g, dtype=torch.float64) - 1
    _, got = _vdm(fn, vr, vf, _gan_act, _gan_conj, "vdm_objective(...) for the GAN")
    exp = vdm_ref(vr, vf, _gan_act, _gan_conj)
    if abs(got.item() - (vr.mean() - _gan_conj(_gan_act(vf)).mean()).item()) < 1e-9:
        raise AssertionError("the activation is missing on the real batch: the first term is E_P[sigma_f(V)]")
    assert_close(got, exp, rtol=1e-7, what="GAN, B = 12 real (12, 1), B' = 5 fake (5, 1): ")


@ex.check("differentiable: the gradients reach v_real and v_fake")
def _(fn):
    g = torch.Generator().manual_seed(2)
    vr = torch.randn(8, generator=g, dtype=torch.float64).requires_grad_(True)
    vf = torch.randn(4, generator=g, dtype=torch.float64).requires_grad_(True)
    out, connected, grads = fn.probe(gradients, vr, vf, _gan_act, _gan_conj, reduce="scalar")
    if not isinstance(out, torch.Tensor) or out.numel() != 1 or not connected:
        raise AssertionError(f"the result must be a tensor connected to the inputs' graph (no .item(), no "
                             f"torch.no_grad()), got {describe(out)}"
                             + (" without grad" if isinstance(out, torch.Tensor) else ""))
    if grads is None or len(grads) != 2 or any(not isinstance(gr, torch.Tensor) for gr in grads):
        raise AssertionError("no gradient reached v_real or v_fake")
    vr2, vf2 = vr.detach().clone().requires_grad_(True), vf.detach().clone().requires_grad_(True)
    vdm_ref(vr2, vf2, _gan_act, _gan_conj).backward()
    assert_close(as_tensor(grads[0], (8,), what="dJ/dv_real"), vr2.grad, rtol=1e-6, what="dJ/dv_real: ")
    assert_close(as_tensor(grads[1], (4,), what="dJ/dv_fake"), vf2.grad, rtol=1e-6, what="dJ/dv_fake: ")


# --------------------------------------------------------------------------- 5.2

ex = EXERCISES.add(Exercise(
    id="5.2", kind="function", name="activation_reverse_kl", signature="(v)",
    title="An output activation for reverse KL",
    task=r"""Reverse KL has $f(u) = -\log u$ and $f^*(t) = -1 - \log(-t)$ with $\mathrm{dom}\, f^* = (-\infty, 0)$.
Design an output activation $\sigma_f$ from $\mathbb{R}$ **onto** $(-\infty, 0)$ and write `activation_reverse_kl(v)`
(elementwise, same shape). Requirements: values strictly negative and finite for $|v| \le 30$, monotone,
sweeping the whole domain (close to $0$ at one end, unbounded below at the other: below $-10$ on
$[-30, 30]$ and below $-100$ at $v = \pm 10^4$), no `nan` anywhere (even at $v = \pm 10^4$), finite gradients.""",
    doc="sigma_f: R -> (-inf, 0) for reverse KL, elementwise: strictly negative, monotone, onto the domain.",
    hint="Any smooth monotone map onto (-inf, 0): -exp(-v) (the f-GAN paper's choice) or -softplus(-v).",
))


def _act_call(fn, v, what="activation_reverse_kl(v)", allow_inf=False):
    out = call(fn, v)
    return as_tensor(out, tuple(v.shape), what=f"{what} for v of shape {tuple(v.shape)}", allow_inf=allow_inf)


def _v_grid():
    return torch.linspace(-30, 30, 601, dtype=torch.float64)


@ex.check("values in dom f* = (-inf, 0): strictly negative and finite for |v| <= 30")
def _(fn):
    v = _v_grid()
    got = _act_call(fn, v)
    bad = ~(got < 0)
    if bad.any():
        i = int(bad.nonzero()[0])
        raise AssertionError(f"at v = {fmt(v[i])}: got {fmt(got[i])}, not in dom f* = (-inf, 0)")


@ex.check("monotone and sweeping the domain (near 0 at one end, below -10 at the other)")
def _(fn):
    v = _v_grid()
    got = _act_call(fn, v)
    d = got[1:] - got[:-1]
    if not ((d >= 0).all() or (d <= 0).all()):
        i = int(((d < 0) if (d > 0).sum() > (d < 0).sum() else (d > 0)).nonzero()[0])
        raise AssertionError(f"not monotone: between v = {fmt(v[i])} and {fmt(v[i + 1])} the output goes "
                             f"from {fmt(got[i])} to {fmt(got[i + 1])} against the trend")
    hi, lo = got.max().item(), got.min().item()
    if not hi > -1e-3:
        raise AssertionError(f"the largest value on [-30, 30] is {fmt(hi)}: the activation should approach 0")
    if not lo < -10:
        raise AssertionError(f"the smallest value on [-30, 30] is {fmt(lo)}: the activation should reach far into "
                             "(-inf, 0)")


@ex.check("no nan at v = +-1e4, finite gradients, shape kept")
def _(fn):
    v = torch.tensor([[-1e4, -50.0], [50.0, 1e4]], dtype=torch.float64)
    _act_call(fn, v, allow_inf=True)  # nan is refused there; -inf at the far end is the limit
    vv = torch.linspace(-20, 20, 41, dtype=torch.float64).requires_grad_(True)
    _, connected, grads = fn.probe(gradients, vv, context="computing gradients")
    if not connected or not grads or not isinstance(grads[0], torch.Tensor):
        raise AssertionError("no gradient flows back to v (did you use .item(), numpy or torch.no_grad()?)")
    if not torch.isfinite(grads[0]).all():
        raise AssertionError(f"gradients on v in [-20, 20] are not all finite: {fmt(grads[0])}")


@ex.check("onto (-inf, 0): unbounded below at one end (below -100 at v = +-1e4)")
def _(fn):
    v = torch.tensor([-1e4, 1e4], dtype=torch.float64)
    got = _act_call(fn, v, allow_inf=True)
    if not got.min().item() < -100:
        raise AssertionError(f"at v = -1e4 and 1e4 your activation gives {fmt(got)}: it is bounded below, so "
                             "some witnesses T in dom f* = (-inf, 0) are out of reach; use a map onto all of "
                             "(-inf, 0), e.g. -exp(-v) or -softplus(-v)")


# --------------------------------------------------------------------------- 5.3

ex = EXERCISES.add(Exercise(
    id="5.3", kind="function", name="tightened_bound", signature="(x_p, x_q)", tolerance=2e-3,
    title="Tightening the bound over a family of witnesses",
    task=r"""Same setting as Exercise 4.2 (KL, $f^*(t) = e^{t-1}$), now from samples. Write
`tightened_bound(x_p, x_q)`: given 1-D tensors of samples $x_i \sim P$ and $\hat x_j \sim Q$ (their sizes may
differ), maximise the empirical objective
$\hat J(a, b) = \frac1n\sum_i (a x_i + b) - \frac1m \sum_j e^{a \hat x_j + b - 1}$ over the linear witnesses
$T(x) = ax + b$ (gradient ascent with `torch.autograd.grad`, or `torch.optim`, a few hundred steps) and
return the maximised value as a float (within $2 \cdot 10^{-3}$ of the true maximum). The checks run it on
samples of $P = \mathcal{N}(1,1)$, $Q = \mathcal{N}(0,1)$ and on other pairs. For that first pair, compare with
Exercise 4.2: why is the bound now (nearly) tight?""",
    doc="Maximise J(a, b) = mean(a x_p + b) - mean(exp(a x_q + b - 1)) over a, b; return the maximum (a float).",
    hint="The optimal witness T*(x) = 1 + log p(x)/q(x) = x + 1/2 is linear for N(1,1) against N(0,1), so the "
         "family contains it: the maximum is close to D_KL = 1/2. Start from a = b = 0 and iterate until J "
         "stops increasing.",
    time_limit=30.0,
))


def best_linear_bound(x_p, x_q) -> float:
    """max over (a, b) of mean(a x_p + b) - mean(exp(a x_q + b - 1)). For fixed a the best b solves
    mean(exp(a x_q + b - 1)) = 1, leaving the concave a m_p - log mean(exp(a x_q)): bisection on its
    derivative m_p - (softmax(a x_q) . x_q), which decreases in a."""
    x_p, x_q = x_p.double(), x_q.double()
    m_p = x_p.mean()

    def slope(a):
        return (m_p - (torch.softmax(a * x_q, 0) * x_q).sum()).item()

    lo, hi = -50.0, 50.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slope(mid) > 0 else (lo, mid)
    a = (lo + hi) / 2
    return (a * m_p - (torch.logsumexp(a * x_q, 0) - math.log(len(x_q)))).item()


def _bound_samples(mu_p, sigma_p, n, m, seed):
    g = torch.Generator().manual_seed(seed)
    return (mu_p + sigma_p * torch.randn(n, generator=g, dtype=torch.float64),
            torch.randn(m, generator=g, dtype=torch.float64))


def _check_bound(fn, mu_p, sigma_p, n, m, seed, wrong=()):
    x_p, x_q = _bound_samples(mu_p, sigma_p, n, m, seed)
    what = f"P = N({fmt(mu_p)}, {fmt(sigma_p)}^2), Q = N(0, 1), {n} and {m} samples: your maximum"
    value = as_number(call(fn, x_p, x_q), what=what)
    best = best_linear_bound(x_p, x_q)
    if value > best + 2e-3:
        raise AssertionError(f"{what} {fmt(value)} is above the largest value J takes on linear witnesses: "
                             "J(a, b) must be evaluated on the given samples")
    assert_number(value, best, 2e-3, what=what, wrong=[w(x_p, x_q) for w in wrong])


def _at_identity(x_p, x_q):
    return ((x_p.mean() - torch.exp(x_q - 1).mean()).item(), 2e-3,
            "that is J at T(x) = x (Exercise 4.2), without optimising a and b")


@ex.check("the maximum for P = N(1, 1), Q = N(0, 1)")
def _(fn):
    _check_bound(fn, 1.0, 1.0, 4000, 4000, 0, wrong=[_at_identity])


@ex.check("other pairs of samples: P = N(2, 1), P = N(0.5, 0.5^2), unequal sample sizes")
def _(fn):
    _check_bound(fn, 2.0, 1.0, 3000, 2000, 1)
    _check_bound(fn, 0.5, 0.5, 1500, 2500, 2)
