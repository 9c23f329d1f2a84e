"""Sample-quality metrics (chapters 7, 9-11).

* :func:`mode_metrics` -- the PacGAN benchmark metrics for the 2-D Gaussian mixtures ``ring8`` and
  ``grid25`` (the PacGAN definitions).  For generated points x_1..x_n (n = 2,500 by convention), each point is
  assigned to its nearest centre c(x_i).

  - *high quality*: fraction of points with ||x_i - c(x_i)|| < 3 std;
  - *modes*: number of centres k with at least one high-quality point assigned to k;
  - *reverse KL*: KL(h || u) = sum_k h_k log(K h_k) where h_k is the fraction of **all** points assigned
    to centre k (0 log 0 = 0) and u the uniform distribution on the K modes.

  Report all three together: a collapsed generator can be 99% "high quality".
* :func:`evaluate_points` -- metrics of generated points on their toy dataset: mode metrics for ``ring8``/``grid25``,
  mean log-density of the samples under the data density for other toy sets, and
  ``fdiv.evaluation.images.evaluate`` (classifier accuracy, Frechet distance) for images; for every
  toy set also the two-sample metrics of :mod:`fdiv.evaluation.twosample`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from fdiv.core.estimate import kl_to_uniform
from fdiv.evaluation.twosample import two_sample_metrics

__all__ = ["mode_metrics", "evaluate_points"]


def mode_metrics(samples, dataset) -> dict:
    """PacGAN mode metrics of ``samples`` ((n, 2) tensor/array) for a mixture dataset with ``centers``/``std``.

    Returns ``dict(modes=int, high_quality=float, reverse_kl=float)`` (see the module docstring).
    Non-finite samples count as low quality and are not assigned to any mode; if all are non-finite
    the reverse KL is ``inf``.
    """
    from fdiv.datasets import get_dataset
    dataset = get_dataset(dataset)
    if getattr(dataset, "centers", None) is None or getattr(dataset, "std", None) is None:
        raise ValueError(f"mode metrics need a dataset with mode centres (ring8, grid25), got {dataset.name!r}")
    x = torch.as_tensor(np.asarray(samples.detach().cpu() if torch.is_tensor(samples) else samples),
                        dtype=torch.float64)
    c = dataset.centers.to(torch.float64)
    if x.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"samples must have shape (n, {c.shape[1]}), got {tuple(x.shape)}")
    n, K = x.shape[0], c.shape[0]
    if n == 0:
        raise ValueError("no samples")
    finite = torch.isfinite(x).all(1)
    xf = x[finite]
    if xf.shape[0] == 0:
        return dict(modes=0, high_quality=0.0, reverse_kl=math.inf)
    dist = torch.cdist(xf, c)
    dmin, idx = dist.min(1)
    hq = dmin < 3 * dataset.std
    modes = int(torch.unique(idx[hq]).numel())
    counts = torch.bincount(idx, minlength=K).to(torch.float64)
    return dict(modes=modes, high_quality=float(hq.sum()) / n, reverse_kl=kl_to_uniform(counts))


def evaluate_points(dataset, samples, seed: int = 0) -> dict:
    """Metrics of generated 1-D/2-D ``samples`` on their toy ``dataset``.

    * datasets with mode centres: :func:`mode_metrics` plus ``num_modes``;
    * other 1-D/2-D sets: ``mean_log_density`` = (1/n) sum log p_data(x_i) of the generated points,
      and the same for n real points (drawn with ``seed + 1``, ``data_mean_log_density``) for comparison;
    * all of them: :func:`fdiv.evaluation.twosample.two_sample_metrics` (classifier two-sample test and
      its floor; spread, mean offset and the perfect sampler's high quality for the mixtures).
    """
    from fdiv.datasets import get_dataset
    dataset = get_dataset(dataset)
    x = torch.as_tensor(samples)
    n = x.shape[0]
    if getattr(dataset, "centers", None) is not None:
        out = mode_metrics(x, dataset)
        out["num_modes"] = int(dataset.centers.shape[0])
        out.update(two_sample_metrics(dataset, x, seed=seed))
        return out
    out = {}
    if hasattr(dataset, "log_prob"):
        lp = dataset.log_prob(x.double())
        out["mean_log_density"] = float(lp.clamp_min(-1e6).mean())
        real = dataset.sample(n, torch.Generator().manual_seed(seed + 1))
        real = real[0] if isinstance(real, tuple) else real
        out["data_mean_log_density"] = float(dataset.log_prob(real.double()).mean())
    out["mean"] = x.mean(0).tolist()
    out["std"] = x.std(0).tolist()
    out.update(two_sample_metrics(dataset, x, seed=seed))
    return out
