"""One training step of an f-GAN, as plain functions (chapters 5-7; the loop is in :mod:`.loop`).

* :func:`critic_step`: on real x_1..x_B ~ P and fake x_hat_i = g_theta(z_i), one Adam step of the
  critic w on  -J + penalty,  J = mean sigma_f(V_w(x_i)) - mean f*(sigma_f(V_w(x_hat_i)));
* :func:`generator_step`: one Adam step of the generator theta on the generator loss of
  :func:`fdiv.gan.objectives.generator_loss` (``nonsaturating``: -mean T(x_hat); ``minimax``:
  -mean f*(T(x_hat))), on the last critic step's fake batch, as the DC-GAN example does; for a
  generator with learned mixture weights (:class:`fdiv.gan.models.MLPGenerator`) plus the
  score-function term  mean_i (l_i - mean l) log pi_{k_i}  that trains them;
* :func:`update_ema`: the moving average of the generator's weights (Yazici et al. 2019);
* :class:`Amp`: mixed precision (autocast to bf16, or fp16 with loss scaling on CUDA), or nothing.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from fdiv.gan.objectives import critic_objective, generator_loss, gradient_penalty

__all__ = ["Amp", "critic_step", "generator_step", "update_ema"]


class Amp:
    """Mixed precision for the critic and the generator, or nothing (``precision="fp32"``).

    ``precision``: ``"fp32"`` (no autocast), ``"bf16"`` (forward passes autocast to bfloat16, on CUDA or a
    CPU; bfloat16 has float32's exponent range, so no loss scaling), ``"fp16"`` (CUDA: autocast to float16
    with a ``GradScaler`` per network, "g" and "d", against underflowing gradients), or ``"auto"`` (bf16
    where the GPU supports it, else fp16; what ``Amp(True)``, the trainer's ``amp=True``, means).
    ``autocast()`` is the context for forward passes; ``step(loss, opt, which, inputs)`` does backward +
    optimiser step.  The losses themselves are computed in float32 (``.float()`` on the critic's outputs).
    """

    DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

    def __init__(self, enabled: bool = False, *, precision: Optional[str] = None, device_type: str = "cuda"):
        precision = precision or ("auto" if enabled else "fp32")
        if precision == "auto":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if precision not in self.DTYPES:
            raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(self.DTYPES)}, auto")
        self.precision, self.device_type, self.dtype = precision, device_type, self.DTYPES[precision]
        self.scalers = {}
        if precision == "fp16":
            self.scalers = {k: torch.amp.GradScaler(device_type) for k in ("g", "d")}

    def autocast(self):
        if self.dtype is None:
            return torch.autocast("cpu", enabled=False)
        return torch.autocast(self.device_type, dtype=self.dtype)

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
                keep_fake_graph: bool = False, shard: Optional[Tuple[int, int]] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """One Adam step of the critic ascending J; returns (J, loss_d, fake).

    loss_d = -J + (gamma/2) E_P|grad V|^2 (``penalty_kind="r1"``) or + gamma E(|grad V(x_t)| - 1)^2
    (``"interpolate"``, t ~ U(0, 1) from ``rng``).  ``fake`` = G(z, y) keeps its graph when
    ``keep_fake_graph`` (the last critic step, whose fakes the generator step re-uses).  ``shard`` =
    (rank, world size): the batch is this process's share of a global batch, and t is drawn for the global
    batch and sliced alike (:mod:`.distributed`), so W processes draw what one process draws.
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
            pen = gradient_penalty(D, x_real, fake, y, penalty_kind, rng, t=_shared_t(x_real, penalty_kind, rng, shard))
        loss_d = loss_d + (0.5 * penalty if penalty_kind == "r1" else penalty) * pen.float()
    opt.zero_grad(set_to_none=True)
    amp.step(loss_d, opt, "d")
    return J, loss_d, fake


def _shared_t(x: Tensor, kind: str, rng: Optional[torch.Generator], shard: Optional[Tuple[int, int]]):
    """The interpolation weights of this rank's share, drawn for the global batch (None: one process)."""
    if kind != "interpolate" or shard is None or shard[1] == 1:
        return None
    rank, size, n = shard[0], shard[1], x.shape[0]
    return torch.rand(n * size, generator=rng)[rank * n:(rank + 1) * n]


def generator_step(d, D: nn.Module, opt: torch.optim.Optimizer, fake: Tensor, y: Optional[Tensor] = None, *,
                   loss: str = "nonsaturating", params: Optional[Sequence[Tensor]] = None,
                   amp: Optional[Amp] = None,
                   ranks_mean: Optional[Callable[[Tensor], Tensor]] = None) -> Tensor:
    """One Adam step of the generator on ``loss`` evaluated at the critic's V(fake); returns the loss.

    Gradients flow only into ``params`` (the generator's trainable parameters), not the critic's.  When
    ``fake`` carries ``log_weight`` (log pi_k of each sample's mixture component, with its graph), the
    step also descends  mean_i (l_i - mean l) log pi_{k_i}  (l_i the per-sample loss, detached): its
    gradient is the exact gradient of the loss in the mixture weights' logits (the mean is a baseline
    that leaves it unbiased; under torchrun ``ranks_mean``, the mean over the ranks (``World.mean``), makes
    it the mean over the global batch, so the step is the same as in one process).
    """
    amp = amp or Amp()
    with amp.autocast():
        v_gen = D(fake, y)
    loss_g = generator_loss(d, v_gen.float(), loss)
    total = loss_g
    log_weight = getattr(fake, "log_weight", None)
    if log_weight is not None:
        with torch.no_grad():
            ell = generator_loss(d, v_gen.float(), loss, reduce=False)
        baseline = ell.mean() if ranks_mean is None else ranks_mean(ell.mean())
        total = loss_g + ((ell - baseline) * log_weight).mean()
    opt.zero_grad(set_to_none=True)
    amp.step(total, opt, "g", inputs=params)
    return loss_g


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, step: int, decay: float) -> None:
    """theta_ema <- d theta_ema + (1 - d) theta with d = min(decay, (1 + step) / (10 + step)) (a warm-up);
    buffers are copied."""
    d = min(decay, (1.0 + step) / (10.0 + step))
    torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1.0 - d)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
