"""The peer row: WGAN-GP (Gulrajani et al. 2017) on ring8 / grid25, scored with the same six figures.

The setting of their 8-Gaussians and 25-Gaussians experiments (``gan_toy.py`` of the paper's code):

* generator and critic: MLPs with 3 hidden layers of 512 ReLU units, noise z ~ N(0, I_2);
* critic loss  E V(G(z)) - E V(x) + lambda E (|grad V(x_t)| - 1)^2  on random interpolates x_t, lambda = 0.1;
* 5 critic steps per generator step, batch 256, Adam lr 1e-4, betas (0.5, 0.9), constant rate.

The paper trains 100,000 generator steps.  Here it gets the same time budget as an fdiv run: the
:data:`STEPS` that fit in 60 s on one torch thread of the 2-core machine the README's table comes from
(about 0.19 CPU s a step with two runs at a time: :func:`time_per_step`), with the same seeds and the same 2,500-sample evaluation
(:func:`fdiv.evaluation.evaluate`, evaluation seed = the run's seed).  The loop is written out flat,
like the PyTorch examples' DC-GAN script, so nothing of fdiv's trainer (schedule, EMA, mixture
latent, recipes) helps it.
"""
from __future__ import annotations

import time

import torch
from torch import nn

__all__ = ["STEPS", "mlp", "train", "time_per_step"]

#: generator steps that fit in 60 s on one thread of the benchmark machine (5 critic steps each)
STEPS = {"ring8": 300, "grid25": 300}
HIDDEN, LAMBDA, CRITIC_STEPS, BATCH, LR, BETAS = 512, 0.1, 5, 256, 1e-4, (0.5, 0.9)


def mlp(in_dim: int, out_dim: int, hidden: int = HIDDEN) -> nn.Sequential:
    """in_dim -> 3 x (Linear(hidden), ReLU) -> Linear(out_dim)."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


def _penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """lambda E (|grad V(x_t)| - 1)^2 at x_t = t real + (1 - t) fake, t ~ U(0, 1) per pair."""
    t = torch.rand(real.shape[0], 1, generator=rng)
    x = (t * real + (1 - t) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return LAMBDA * ((g.norm(dim=1) - 1) ** 2).mean()


def train(dataset: str, seed: int = 0, steps: int | None = None, threads: int = 1) -> dict:
    """Train WGAN-GP on ``dataset`` for ``steps`` generator steps; the fdiv metrics of 2,500 samples,
    with ``wall`` and ``cpu`` seconds and ``steps``."""
    from fdiv.datasets import get_dataset
    from fdiv.evaluation import evaluate
    torch.set_num_threads(threads)
    ds = get_dataset(dataset)
    steps = STEPS.get(dataset, 300) if steps is None else int(steps)
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    G, D = mlp(2, 2), mlp(2, 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        for _ in range(CRITIC_STEPS):
            real = ds.sample(BATCH, generator=rng)
            with torch.no_grad():
                fake = G(torch.randn(BATCH, 2, generator=rng))
            loss_d = D(fake).mean() - D(real).mean() + _penalty(D, real, fake, rng)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        loss_g = -D(G(torch.randn(BATCH, 2, generator=rng))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with torch.no_grad():
        x = G(torch.randn(2500, 2, generator=torch.Generator().manual_seed(seed)))
    m = dict(evaluate(ds, x, seed=seed), status="ok") if torch.isfinite(x).all() else dict(status="non-finite")
    m.update(divergence="WGAN-GP", params={}, seed=seed, dataset=dataset, wall=wall, cpu=cpu, steps=steps)
    return m


def time_per_step(dataset: str = "ring8", steps: int = 50) -> float:
    """Seconds of one generator step (with its 5 critic steps) on this machine, one thread."""
    t0 = time.perf_counter()
    train(dataset, steps=steps)
    return (time.perf_counter() - t0) / steps
