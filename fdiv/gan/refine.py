r"""Refinement by the critic: discriminator rejection sampling for every f (chapters 4, 5, 12).

Chapter 4: the witness that attains the supremum in
D_f(P_X || P_theta) = sup_T E_P[T] - E_Q[f*(T)] is T*(x) = f'(p_X(x) / p_theta(x)).  Since f is convex,
f' is non-decreasing, so a trained critic's witness T(x) = sigma_f(V(x)) gives an estimate of the
density ratio,

    r(x) = (f')^{-1}(T(x))   (for the GAN divergence simply r = e^{V(x)}),

and rejection sampling with it corrects the generator: draw x ~ P_theta, accept it with probability
min(1, r(x) / M).  The accepted points have density proportional to p_theta(x) min(r(x), M), which is
p_X(x) wherever r <= M (discriminator rejection sampling, Azadi et al. 2019, there for the GAN).

Two cautions, both measured in chapter 5: the critic left at the end of training is nearly flat
(T ~ f'(1) everywhere, the equilibrium of chapter 8), so it accepts almost uniformly and refines
nothing; a critic fitted afresh to the *finished* generator (:func:`fit_critic`) sees its remaining
errors.  And r is only as good as the critic class: refined figures are reported beside the raw ones,
never instead of them.

* :func:`log_density_ratio` -- log r = log (f')^{-1}(T), in closed form for the GAN divergence and by
  bisection in s = log u (f'(e^s) is non-decreasing) for the others;
* :func:`fit_critic` -- a fresh critic ascending J with the generator frozen;
* :func:`rejection_sample` -- n accepted samples and the acceptance rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn

from fdiv.core.checks import check_int, check_number
from fdiv.gan.training.steps import critic_step

__all__ = ["log_density_ratio", "log_ratio_of_witness", "fit_critic", "rejection_sample", "Refined"]

#: the bisection interval of s = log r: ratios from e^-40 to e^40 (float32 holds e^{+-87})
LOG_RATIO_RANGE = (-40.0, 40.0)
_BISECTIONS = 64


def log_density_ratio(divergence, v: Tensor) -> Tensor:
    """log r(x) = log (f')^{-1}(sigma_f(v)) for raw critic outputs ``v`` (chapter 4: T* = f'(p / q)).

    The GAN divergence has f'(u) = log(u / (1 + u)) and sigma_f(v) = -softplus(-v), so log r = v exactly;
    the others go through :func:`log_ratio_of_witness`.  NaN in gives NaN out.
    """
    v = torch.as_tensor(v)
    if divergence.name == "gan":
        return v.to(torch.float32)
    return log_ratio_of_witness(divergence, divergence.activation(v.double())).to(torch.float32)


def log_ratio_of_witness(divergence, t: Tensor) -> Tensor:
    """s = log u solving f'(e^s) = t, by bisection over :data:`LOG_RATIO_RANGE` in float64 (f' is
    non-decreasing because f is convex).

    A witness above f'(e^40) gives 40, one below f'(e^-40) gives -40.  Where f' is constant on an
    interval (total variation: f' = sign(u - 1) / 2) every point of it solves the equation: the ratio is
    then identified only as "p > q" or "p < q".  NaN in gives NaN out.
    """
    t = torch.as_tensor(t, dtype=torch.float64)
    lo = torch.full_like(t, LOG_RATIO_RANGE[0])
    hi = torch.full_like(t, LOG_RATIO_RANGE[1])
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        below = divergence.f_prime_log(mid) < t  # f'(e^mid) < t: the root is above mid
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    s = 0.5 * (lo + hi)
    return torch.where(torch.isnan(t), t, s)


def fit_critic(divergence, generator: nn.Module, dataset, *, steps: int = 1500, batch_size: int = 512,
               lr: float = 2e-3, gradient_penalty: float = 0.1, seed: int = 0,
               critic: Optional[nn.Module] = None, device=None) -> nn.Module:
    """A critic fitted to the finished ``generator``: ``steps`` Adam steps ascending
    J = mean sigma_f(V(x)) - mean f*(sigma_f(V(x_hat))) on fresh data and generated batches, the
    generator frozen, with a small R1 penalty (``gradient_penalty``, gamma/2 E_P|grad V|^2) that keeps V
    smooth.  ``critic``: the network to fit (default: the dataset's critic architecture, newly
    initialised from ``seed``).  Returns the critic in eval mode."""
    from fdiv.gan.models import default_models
    steps, batch_size = check_int("steps", steps, 1), check_int("batch_size", batch_size, 1)
    lr = check_number("lr", lr, 0.0, open_min=True)
    gradient_penalty = check_number("gradient_penalty", gradient_penalty, 0.0)
    if device is None:
        p = next(iter(generator.parameters()), None)
        device = p.device if p is not None else torch.device("cpu")
    torch.manual_seed(seed)
    D = (critic if critic is not None else default_models(dataset)[1]).to(device).train()
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.9))
    data_rng = torch.Generator().manual_seed(seed + 101)
    noise_rng = torch.Generator().manual_seed(seed + 102)
    was_training = generator.training
    generator.eval().requires_grad_(False)
    try:
        for _ in range(steps):
            x = dataset.sample(batch_size, data_rng)
            x = (x[0] if isinstance(x, tuple) else x).to(device)
            z = torch.randn(batch_size, generator.latent_dim, generator=noise_rng).to(device)
            J, _, _ = critic_step(divergence, generator, D, opt, x, z, penalty=gradient_penalty,
                                  penalty_kind="r1", rng=noise_rng)
            if not torch.isfinite(J):
                raise FloatingPointError("fitting the critic diverged (J is not finite); try a smaller lr "
                                         "or a larger gradient_penalty")
    finally:
        generator.train(was_training).requires_grad_(True)
    return D.eval()


@dataclass
class Refined:
    """What :func:`rejection_sample` returns: the accepted ``samples`` (CPU, (n, ...)), the acceptance
    rate, the bound log M and how many candidates were drawn."""

    samples: Tensor
    acceptance: float
    log_m: float
    drawn: int


@torch.no_grad()
def rejection_sample(generator: nn.Module, critic: nn.Module, divergence, n: int, *, seed: int = 0,
                     burn_in: int = 10_000, quantile: float = 0.99, max_draws: int = 10_000_000,
                     batch_size: int = 8192) -> Refined:
    """n samples of the refined generator: x ~ P_theta accepted with probability min(1, r(x) / M).

    log r = :func:`log_density_ratio` of the critic's output; log M is the ``quantile`` of log r over
    ``burn_in`` candidates (1.0 = their maximum, the exact rule where r <= M; a lower quantile accepts
    more, at the price of flattening the few points with r > M).  Noise and the accept/reject draws
    come from CPU generators seeded from ``seed`` (same seed, same samples).  Raises ``ValueError`` if
    fewer than n are accepted within ``max_draws`` candidates.
    """
    from fdiv.gan.models import generate
    n, burn_in = check_int("n", n, 1), check_int("burn_in", burn_in, 1)
    quantile = check_number("quantile", quantile, 0.0, 1.0, open_min=True)
    max_draws = check_int("max_draws", max_draws, 1)
    p = next(iter(critic.parameters()), None)
    device = p.device if p is not None else torch.device("cpu")
    noise = torch.Generator().manual_seed(seed)
    coins = torch.Generator().manual_seed(seed + 1)

    def log_r(x: Tensor) -> Tensor:
        return log_density_ratio(divergence, critic(x.to(device)).float().cpu())

    first = generate(generator, burn_in, rng=noise)
    lr0 = log_r(first)
    finite = lr0[torch.isfinite(lr0)]
    if finite.numel() == 0:
        raise ValueError("the critic gives no finite density ratio on the generator's samples")
    log_m = float(torch.quantile(finite.double(), quantile))
    kept, have, drawn = [], 0, 0
    x, lr = first, lr0
    while True:
        u = torch.rand(x.shape[0], generator=coins)
        accept = torch.log(u) < (lr - log_m).clamp(max=0.0)
        kept.append(x[accept])
        have += int(accept.sum())
        drawn += x.shape[0]
        if have >= n:
            break
        if drawn >= max_draws:
            raise ValueError(f"only {have} of n={n} samples accepted in {drawn} candidates "
                             f"(acceptance {have / drawn:.2%}); raise max_draws or lower quantile")
        x = generate(generator, min(batch_size, max_draws - drawn), rng=noise)
        lr = log_r(x)
    out = torch.cat(kept)[:n]
    return Refined(out, have / drawn, log_m, drawn)
