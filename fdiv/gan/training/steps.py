"""One training step of an f-GAN, as plain functions (chapters 5-7; the loop is in :mod:`.loop`).

* :func:`critic_step`: on real x_1..x_B ~ P and fake x_hat_i = g_theta(z_i), one Adam step of the
  critic w on  -J + penalty,  J = mean sigma_f(V_w(x_i)) - mean f*(sigma_f(V_w(x_hat_i)));
* :func:`generator_step`: one Adam step of the generator theta on the generator loss of
  :func:`fdiv.gan.objectives.generator_loss` (``nonsaturating``: -mean T(x_hat); ``minimax``:
  -mean f*(T(x_hat))), on the last critic step's fake batch, as the DC-GAN example does;
* :func:`update_ema`: the moving average of the generator's weights (Yazici et al. 2019);
* :class:`Amp`: mixed precision (autocast, and fp16 loss scaling where bf16 is missing); off on the CPU.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from fdiv.gan.objectives import critic_objective, generator_loss, gradient_penalty

__all__ = ["Amp", "critic_step", "generator_step", "update_ema"]


class Amp:
    """Mixed precision for the critic and the generator, or nothing (``enabled=False``).

    ``autocast()`` is the context for forward passes; ``step(loss, opt, which, inputs)`` does
    backward + optimiser step, through a ``GradScaler`` per network ("g", "d") when fp16 is used.
    """

    def __init__(self, enabled: bool = False):
        self.dtype = None
        self.scalers = {}
        if enabled:
            self.dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            fp16 = self.dtype == torch.float16
            self.scalers = {k: torch.amp.GradScaler("cuda", enabled=fp16) for k in ("g", "d")}

    def autocast(self):
        if self.dtype is None:
            return torch.autocast("cpu", enabled=False)
        return torch.autocast("cuda", dtype=self.dtype)

    def step(self, loss: Tensor, opt: torch.optim.Optimizer, which: str, inputs: Optional[Sequence[Tensor]] = None):
        scaler = self.scalers.get(which)
        if scaler is None:
            loss.backward(inputs=inputs)
            opt.step()
        else:
            scaler.scale(loss).backward(inputs=inputs)
            scaler.step(opt)
            scaler.update()

    def state_dict(self):
        return {k: s.state_dict() for k, s in self.scalers.items()} or None

    def load_state_dict(self, state) -> None:
        for k, s in self.scalers.items():
            if state and state.get(k) is not None:
                s.load_state_dict(state[k])


def critic_step(d, G: nn.Module, D: nn.Module, opt: torch.optim.Optimizer, x_real: Tensor, z: Tensor,
                y: Optional[Tensor] = None, *, penalty: float = 0.0, penalty_kind: str = "r1",
                rng: Optional[torch.Generator] = None, amp: Optional[Amp] = None,
                keep_fake_graph: bool = False) -> Tuple[Tensor, Tensor, Tensor]:
    """One Adam step of the critic ascending J; returns (J, loss_d, fake).

    loss_d = -J + (gamma/2) E_P|grad V|^2 (``penalty_kind="r1"``) or + gamma E(|grad V(x_t)| - 1)^2
    (``"interpolate"``, t ~ U(0, 1) from ``rng``).  ``fake`` = G(z, y) keeps its graph when
    ``keep_fake_graph`` (the last critic step, whose fakes the generator step re-uses).
    """
    amp = amp or Amp()
    with amp.autocast():
        if keep_fake_graph:
            fake = G(z, y)
        else:
            with torch.no_grad():
                fake = G(z, y)
        v_real = D(x_real, y)
        v_fake = D(fake.detach(), y)
    J = critic_objective(d, v_real.float(), v_fake.float())
    loss_d = -J
    if penalty > 0:
        with amp.autocast():
            pen = gradient_penalty(D, x_real, fake, y, penalty_kind, rng)
        loss_d = loss_d + (0.5 * penalty if penalty_kind == "r1" else penalty) * pen.float()
    opt.zero_grad(set_to_none=True)
    amp.step(loss_d, opt, "d")
    return J, loss_d, fake


def generator_step(d, D: nn.Module, opt: torch.optim.Optimizer, fake: Tensor, y: Optional[Tensor] = None, *,
                   loss: str = "nonsaturating", params: Optional[Sequence[Tensor]] = None,
                   amp: Optional[Amp] = None) -> Tensor:
    """One Adam step of the generator on ``loss`` evaluated at the critic's V(fake); returns the loss.

    Gradients flow only into ``params`` (the generator's trainable parameters), not the critic's.
    """
    amp = amp or Amp()
    with amp.autocast():
        v_gen = D(fake, y)
    loss_g = generator_loss(d, v_gen.float(), loss)
    opt.zero_grad(set_to_none=True)
    amp.step(loss_g, opt, "g", inputs=params)
    return loss_g


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, step: int, decay: float) -> None:
    """theta_ema <- d theta_ema + (1 - d) theta with d = min(decay, (1 + step) / (10 + step)) (a warm-up);
    buffers are copied."""
    d = min(decay, (1.0 + step) / (10.0 + step))
    torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1.0 - d)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
