"""Chapter 5: variational divergence minimisation (VDM)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..core import Exercise, register
from ..helpers import as_tensor, assert_close, assert_number, call, describe, fmt

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


ex = register(Exercise(
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
    return out, as_tensor(out, (), what=what, numel_one_ok=True).reshape(())


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
    if torch.isnan(got):
        raise AssertionError("got nan: f* was evaluated outside dom f* = (-inf, 0); the witness is T = sigma_f(V): "
                             "apply the activation before the conjugate")
    if abs(got.item() - (vr.mean() - _gan_conj(_gan_act(vf)).mean()).item()) < 1e-9:
        raise AssertionError("the activation is missing on the real batch: the first term is E_P[sigma_f(V)]")
    assert_close(got, exp, rtol=1e-7, what="GAN, B = 12 real (12, 1), B' = 5 fake (5, 1): ")


@ex.check("differentiable: the gradients reach v_real and v_fake")
def _(fn):
    g = torch.Generator().manual_seed(2)
    vr = torch.randn(8, generator=g, dtype=torch.float64).requires_grad_(True)
    vf = torch.randn(4, generator=g, dtype=torch.float64).requires_grad_(True)
    try:
        out = fn(vr, vf, _gan_act, _gan_conj)
    except Exception as exc:  # noqa: BLE001
        from ..core import StudentError
        raise StudentError(exc) from exc
    if not isinstance(out, torch.Tensor) or out.numel() != 1 or not out.requires_grad:
        raise AssertionError(f"the result must be a tensor connected to the inputs' graph (no .item(), no "
                             f"torch.no_grad()), got {describe(out)}"
                             + (" without grad" if isinstance(out, torch.Tensor) else ""))
    out.reshape(()).backward()
    if vr.grad is None or vf.grad is None:
        raise AssertionError("no gradient reached v_real or v_fake")
    vr2, vf2 = vr.detach().clone().requires_grad_(True), vf.detach().clone().requires_grad_(True)
    vdm_ref(vr2, vf2, _gan_act, _gan_conj).backward()
    assert_close(vr.grad, vr2.grad, rtol=1e-6, what="dJ/dv_real: ")
    assert_close(vf.grad, vf2.grad, rtol=1e-6, what="dJ/dv_fake: ")


# --------------------------------------------------------------------------- 5.2

ex = register(Exercise(
    id="5.2", kind="function", name="activation_reverse_kl", signature="(v)",
    title="An output activation for reverse KL",
    task=r"""Reverse KL has $f(u) = -\log u$ and $f^*(t) = -1 - \log(-t)$ with $\mathrm{dom}\, f^* = (-\infty, 0)$.
Design an output activation $\sigma_f: \mathbb{R} \to (-\infty, 0)$ and write `activation_reverse_kl(v)`
(elementwise, same shape). Requirements: values strictly negative and finite for $|v| \le 30$, monotone,
sweeping the whole domain (close to $0$ at one end, below $-10$ at the other), no `nan` anywhere
(even at $v = \pm 10^4$), finite gradients.""",
    doc="sigma_f: R -> (-inf, 0) for reverse KL, elementwise: strictly negative, monotone, onto the domain.",
    hint="Any smooth monotone map onto (-inf, 0): -exp(-v) (the f-GAN paper's choice) or -softplus(-v).",
))


def _act_call(fn, v, what="activation_reverse_kl(v)"):
    out = call(fn, v)
    return as_tensor(out, tuple(v.shape), what=f"{what} for v of shape {tuple(v.shape)}")


_V = torch.linspace(-30, 30, 601, dtype=torch.float64)


@ex.check("values in dom f* = (-inf, 0): strictly negative and finite for |v| <= 30")
def _(fn):
    got = _act_call(fn, _V)
    bad = ~(torch.isfinite(got) & (got < 0))
    if bad.any():
        i = int(bad.nonzero()[0])
        raise AssertionError(f"at v = {fmt(_V[i])}: got {fmt(got[i])}, not in dom f* = (-inf, 0)")


@ex.check("monotone and sweeping the domain (near 0 at one end, below -10 at the other)")
def _(fn):
    got = _act_call(fn, _V)
    d = got[1:] - got[:-1]
    if not ((d >= 0).all() or (d <= 0).all()):
        i = int(((d < 0) if (d > 0).sum() > (d < 0).sum() else (d > 0)).nonzero()[0])
        raise AssertionError(f"not monotone: between v = {fmt(_V[i])} and {fmt(_V[i + 1])} the output goes "
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
    got = _act_call(fn, v)
    if torch.isnan(got).any():
        raise AssertionError(f"nan at v = {fmt(v)}: got {fmt(got)}")
    vv = torch.linspace(-20, 20, 41, dtype=torch.float64).requires_grad_(True)
    try:
        out = fn(vv)
        out.sum().backward()
    except Exception as exc:  # noqa: BLE001
        from ..core import StudentError
        raise StudentError(exc, "computing gradients") from exc
    if vv.grad is None or not torch.isfinite(vv.grad).all():
        raise AssertionError(f"gradients on v in [-20, 20] are not all finite: {fmt(vv.grad)}")


# --------------------------------------------------------------------------- 5.3

ex = register(Exercise(
    id="5.3", kind="number", name="tightened_bound", tolerance=0.05,
    title="Tightening the bound over a family of witnesses",
    task=r"""Same setting as Exercise 4.2 ($P = \mathcal{N}(1,1)$, $Q = \mathcal{N}(0,1)$, KL). Now maximise the
empirical objective $\hat J(a, b) = \frac1n\sum_i (a x_i + b) - \frac1n \sum_j e^{a \hat x_j + b - 1}$ over the
linear witnesses $T(x) = ax + b$, with $n = 20\,000$ seeded samples $x_i \sim P$, $\hat x_j \sim Q$ (gradient
ascent by hand with `torch.autograd.grad`, or `torch.optim`, a few hundred steps). Return the maximised value (tolerance 0.05). Compare with
Exercise 4.2: why is the bound now (nearly) tight?""",
    doc="Maximise the empirical KL bound over T(x) = a x + b (P = N(1,1), Q = N(0,1)); return the maximum.",
    hint="The optimal witness T*(x) = 1 + log p(x)/q(x) = x + 1/2 is linear, so the family contains it: the "
         "maximum is close to D_KL = 1/2.",
    compute_limit=60.0,
))


@ex.check("is the maximised bound, close to D_KL = 1/2 (tolerance 0.05)")
def _(value):
    assert_number(value, 0.5, 0.05, wrong=[
        (1 - math.exp(-0.5), 0.02, "that is J at T(x) = x (Exercise 4.2), without optimising a and b"),
        (-0.5, 0.05, "sign: the bound is E_P[T] - E_Q[f*(T)], maximised"),
    ])
