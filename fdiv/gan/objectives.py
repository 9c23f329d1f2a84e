"""The variational divergence minimisation (VDM) objective and its losses (chapters 4-7, 11).

Everything here is a pure function of the critic's *raw* outputs V_w(x) (shape (N,)) and an
f-divergence ``d`` from :func:`fdiv.get`.  With the output activation sigma_f : R -> dom f*,

    T_w(x) = sigma_f(V_w(x)),

the empirical objective on a minibatch x_1..x_B ~ P (data), x_hat_1..x_hat_B ~ Q_theta (model) is

    J(theta, w) = (1/B) sum_i T_w(x_i)  -  (1/B) sum_i f*(T_w(x_hat_i)),

a lower bound on D_f(P || Q_theta) that is tight at T* = f'(p/q).  The critic *ascends* J (loss
-J); the generator *descends* it:

* ``mode="minimax"``: L_G = -(1/B) sum_i f*(T_w(g_theta(z_i)))  (the terms of J that depend on theta;
  for the GAN: (1/B) sum_i log(1 - D_w(g_theta(z_i))));
* ``mode="nonsaturating"`` (the f-GAN paper's alternative update, its Algorithm 1 / Sec. 3.2):
  L_G = -(1/B) sum_i T_w(g_theta(z_i)) = -(1/B) sum_i sigma_f(V_w(g_theta(z_i)));
  for the GAN this is -(1/B) sum_i log D_w(g_theta(z_i)), the notes' "-log D" trick (chapter 7).
  Both have the same fixed points, the non-saturating one has large gradients where the critic wins.

The conditional GAN (chapter 11) has the same objective: the labels are simply passed to both networks.
f*(sigma_f(v)) is evaluated with ``d.conjugate_activation(v)`` (stable: e.g. softplus(v) for the GAN).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from fdiv.core.checks import check_choice

if TYPE_CHECKING:  # torch is imported where it is used, so the names below load without it
    import torch
    from torch import Tensor

__all__ = ["critic_objective", "generator_loss", "gradient_penalty", "witness", "GENERATOR_LOSSES",
           "PENALTY_KINDS"]

GENERATOR_LOSSES = ("minimax", "nonsaturating")
PENALTY_KINDS = ("r1", "interpolate")


def witness(d, v: Tensor) -> Tensor:
    """T_w = sigma_f(V_w): the critic's raw output mapped into dom f*."""
    return d.activation(v)


def critic_objective(d, v_real: Tensor, v_fake: Tensor) -> Tensor:
    """J = mean_i sigma_f(V(x_i)) - mean_i f*(sigma_f(V(x_hat_i)))  (scalar; the D_f estimate).

    For the GAN this is mean log D(x_i) + mean log(1 - D(x_hat_i)).
    """
    return d.activation(v_real).mean() - d.conjugate_activation(v_fake).mean()


def generator_loss(d, v_fake: Tensor, mode: str = "nonsaturating", reduce: bool = True) -> Tensor:
    """Generator loss on V_w(g_theta(z)).

    ``minimax``: -mean f*(sigma_f(v))  (descend J);  ``nonsaturating``: -mean sigma_f(v)
    (= -mean log D(g(z)) for the GAN).  ``reduce=False``: the per-sample losses, without the mean.
    """
    check_choice("generator loss mode", mode, GENERATOR_LOSSES)
    per_sample = -d.conjugate_activation(v_fake) if mode == "minimax" else -d.activation(v_fake)
    return per_sample.mean() if reduce else per_sample


def gradient_penalty(critic, x_real: Tensor, x_fake: Optional[Tensor] = None, y: Optional[Tensor] = None,
                     kind: str = "r1", generator: Optional[torch.Generator] = None,
                     t: Optional[Tensor] = None) -> Tensor:
    """Gradient penalty on the raw critic output V_w (a stabiliser of chapter 7).

    * ``kind="r1"`` (Mescheder et al. 2018): E_P ||grad_x V_w(x)||^2 on real data.  The trainer adds
      (weight / 2) times this to the critic's loss.
    * ``kind="interpolate"`` (WGAN-GP, Gulrajani et al. 2017): E (||grad V_w(x_t)||_2 - 1)^2 at
      x_t = t x + (1 - t) x_hat, t ~ U(0, 1) drawn with ``generator`` (a CPU generator, for reproducibility),
      or the N weights ``t`` given.
    """
    import torch
    check_choice("gradient penalty kind", kind, PENALTY_KINDS)
    if kind == "r1":
        x = x_real.detach().requires_grad_(True)
    elif kind == "interpolate":
        if x_fake is None:
            raise ValueError("kind='interpolate' needs x_fake")
        if t is None:
            t = torch.rand(x_real.shape[0], generator=generator)
        t = t.reshape(x_real.shape[0], *([1] * (x_real.ndim - 1))).to(x_real)
        x = (t * x_real.detach() + (1 - t) * x_fake.detach()).requires_grad_(True)
    v = critic(x, y)
    (g,) = torch.autograd.grad(v.sum(), x, create_graph=True)
    sq = g.reshape(g.shape[0], -1).pow(2).sum(1)
    if kind == "r1":
        return sq.mean()
    return (sq.add(1e-12).sqrt() - 1).pow(2).mean()
