"""The f-GAN paper's single-Gaussian experiment by VDM training (its Section 4; chapter 5)."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import torch

from fdiv.core.estimate import GaussianFit
from fdiv.core.runtime import seed_everything
from fdiv.datasets import Dataset, get_dataset
from fdiv.gan.models import GaussianGenerator, MLPCritic
from fdiv.gan.training.config import TrainConfig
from fdiv.gan.training.loop import train

__all__ = ["fit_gaussian_vdm"]


def _mixture_params(mixture) -> Dict[str, Any]:
    if mixture is None:
        return {}
    if isinstance(mixture, Dataset):
        if not all(hasattr(mixture, a) for a in ("weights", "means", "stds")):
            raise ValueError("mixture must be a 1-D Gaussian mixture (fdiv.datasets.Mixture1D)")
        w, m, s = mixture.weights, mixture.means, mixture.stds
    elif isinstance(mixture, torch.distributions.MixtureSameFamily):
        comp = mixture.component_distribution
        if not isinstance(comp, torch.distributions.Normal) or comp.loc.ndim != 1:
            raise ValueError("mixture must be a MixtureSameFamily of 1-D Normals")
        w, m, s = mixture.mixture_distribution.probs, comp.loc, comp.scale
    elif isinstance(mixture, torch.distributions.Normal):
        w, m, s = torch.ones(1), mixture.loc.reshape(1), mixture.scale.reshape(1)
    else:
        raise ValueError(f"mixture must be a Mixture1D dataset or a torch MixtureSameFamily, got {type(mixture).__name__}")
    return dict(weights=[float(v) for v in w], means=[float(v) for v in m], stds=[float(v) for v in s])


def fit_gaussian_vdm(divergence="kl", mixture=None, steps: int = 2000, seed: int = 0, *,
                     divergence_params: Optional[dict] = None, batch_size: int = 512, lr_g: float = 1e-2,
                     lr_d: float = 2e-3, critic_steps: int = 1, hidden: int = 64, depth: int = 2,
                     lr_schedule: str = "cosine", init: Optional[Tuple[float, float]] = None,
                     progress: Optional[bool] = False, **kw) -> GaussianFit:
    """Fit Q_theta = N(mu, sigma^2) to a 1-D mixture P by VDM; returns ``GaussianFit(mu, sigma, value)``
    with ``value`` the final D_f estimate J (mean of the last tenth of the history).

    min_theta max_w  E_P[T_w(x)] - E_{Q_theta}[f*(T_w(x))] with the saddle-point ("minimax") generator
    loss, so that theta descends the D_f estimate itself (the non-saturating update has the same fixed
    point only when P is in the model family, which it is not here).  The critic is an MLP
    (``depth`` x ``hidden``, tanh); both learning rates follow a cosine schedule.  ``init`` = (mu, sigma)
    of the start, default P's mean and standard deviation (as :func:`fdiv.core.estimate.fit_gaussian_exact`,
    to which the result should be compared: mode-seeking divergences have several local minimisers).
    ``mixture``: a :class:`fdiv.datasets.Mixture1D`, a torch ``MixtureSameFamily`` of Normals, or None
    (the default ``mixture1d``).  Extra keywords go to :class:`TrainConfig`.
    """
    params = _mixture_params(mixture)
    if isinstance(divergence, str):
        name, dparams = divergence, dict(divergence_params or {})
    else:
        name, dparams = getattr(divergence, "name", None), dict(getattr(divergence, "params", {}) or {})
        if name is None:
            raise ValueError("divergence must be a registered name or a divergence from fdiv.get")
    P = get_dataset("mixture1d", **params).distribution
    mu0, sd0 = (float(P.mean), float(P.variance.sqrt())) if init is None else (float(init[0]), float(init[1]))
    torch.manual_seed(seed)
    G = GaussianGenerator(1, mean=mu0, log_scale=math.log(sd0))
    seed_everything(seed)
    D = MLPCritic(1, hidden, depth, activation="tanh")
    cfg = dict(divergence=name, divergence_params=dparams, dataset="mixture1d", dataset_params=params,
               steps=steps, batch_size=batch_size, lr_g=lr_g, lr_d=lr_d, critic_steps=critic_steps,
               generator_loss="minimax", lr_schedule=lr_schedule, seed=seed, device=kw.pop("device", "cpu"))
    cfg.update(kw)
    res = train(TrainConfig(**cfg), generator=G, critic=D, progress=progress)
    g = res.generator
    return GaussianFit(float(g.mean.detach()[0]), float(g.scale.detach()[0]),
                       float(res.metrics.get("divergence_estimate", float("nan"))))
