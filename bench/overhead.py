"""Trainer overhead: fdiv.gan.training.train vs a hand-written PyTorch loop (same nets, optimisers, batch).

Both loops do exactly the same arithmetic (critic step on -J, generator step on the non-saturating
loss re-using the fake batch, ``backward(inputs=generator params)``); the ratio of their steps/s
measures what the trainer adds (history buffer, NaN checks, the divergence registry, config handling).
Runs are interleaved and the best of ``repeats`` is kept, which filters out load from other processes.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F

import fdiv
from fdiv.datasets import get_dataset
from fdiv.gan.models import default_models
from fdiv.gan.training import TrainConfig, derived_seed, train

from . import Table


def hand_written_loop(dataset: str, steps: int, batch_size: int, lr_g: float, lr_d: float, betas, seed: int = 0,
                      model=None) -> float:
    """The DC-GAN-example loop for the GAN on 2-D data; returns the loop's seconds."""
    ds = get_dataset(dataset)
    fdiv.core.runtime.seed_everything(seed)
    G, D = default_models(ds, **(model or {}))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
    g_data = torch.Generator().manual_seed(derived_seed(seed, 1))
    g_noise = torch.Generator().manual_seed(derived_seed(seed, 2))
    g_params = list(G.parameters())
    t0 = time.perf_counter()
    for _ in range(steps):
        x = ds.sample(batch_size, g_data)
        z = torch.randn(batch_size, G.latent_dim, generator=g_noise)
        fake = G(z)
        loss_d = -(F.logsigmoid(D(x)).mean() - F.softplus(D(fake.detach())).mean())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = -F.logsigmoid(D(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=g_params)
        opt_g.step()
    return time.perf_counter() - t0


def measure(dataset: str = "ring8", steps: int = 400, repeats: int = 3, threads: int = 1):
    """(fdiv steps/s, hand-written steps/s) for the default 2-D setting of ``dataset``."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        # constant learning rate and no weight averaging: the hand-written loop does exactly the same work
        cfg = TrainConfig(divergence="gan", dataset=dataset, steps=steps, device="cpu", progress=False,
                          eval_samples=10, lr_schedule="constant", ema=0.0, gradient_penalty=0.0).resolved()
        best_f = best_h = float("inf")
        for _ in range(repeats):
            res = train(cfg)
            best_f = min(best_f, res.metrics["seconds"])
            best_h = min(best_h, hand_written_loop(dataset, steps, cfg.batch_size, cfg.lr_g, cfg.lr_d, cfg.betas,
                                                   model=cfg.model))
        return steps / best_f, steps / best_h, cfg
    finally:
        torch.set_num_threads(old)


def table(quick: bool = False) -> Table:
    t = Table("Trainer overhead (fdiv loop vs hand-written loop, same process)",
              ["setting", "device", "fdiv steps/s", "hand-written steps/s", "ratio (target >= 0.95)"])
    f, h, cfg = measure("ring8", steps=150 if quick else 500, repeats=3 if quick else 5)
    t.rows.append([f"2-D MLP {cfg.model or 'default'}, batch {cfg.batch_size}, GAN", "cpu (1 thread)", f, h, f / h])
    try:
        from . import images  # the conditional DC-GAN row (bench.images)
        rows = getattr(images, "overhead_rows", None)
        if rows is not None:
            t.rows.extend(rows(quick))
    except ImportError:
        pass
    t.note = "Best of several interleaved runs; the loop time excludes set-up and the final evaluation."
    return t
