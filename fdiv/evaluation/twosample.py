"""Two-sample metrics: does a generator match its data, not just land near its modes? (chapters 5, 8, 9)

Chapter 5 claims that variational divergence minimisation drives P_theta to P_X, and chapter 8 that at
the optimum the best discriminator says 1/2 everywhere.  These metrics measure that claim on samples.

* :func:`classifier_two_sample_test` -- the classifier two-sample test (Lopez-Paz & Oquab 2017): pool
  n generated and m data points, label them 1/0, and report the cross-validated accuracy of a k-nearest-
  neighbour classifier (k = 15, stratified 5-fold CV, every point predicted once by a classifier that
  never saw it).  If the two distributions are equal no classifier beats chance, so the accuracy is
  1/2 +- its standard error sqrt(a (1 - a) / (n + m)) (0.007 for 2,500 vs 2,500); it is at most the
  Bayes accuracy (1 + TV(P, Q)) / 2 (chapter 8), and a restricted classifier can fail to tell two
  different distributions apart (chapter 9), so a low accuracy is evidence, not proof, of a match.
* :func:`mode_shape` -- for mixtures with ``centers``/``std``: each point is assigned to its nearest
  centre c_k; among the points within R = 6 std of it,

  - *spread_k* = sqrt(mean ||x - c_k||^2) / s_R, the RMS distance to the centre over the data's own,
    s_R^2 = 2 std^2 (1 - u e^{-u} / (1 - e^{-u})), u = R^2 / (2 std^2) (the 2-D Gaussian truncated at R;
    s_R = sqrt(2) std to 7 digits): 1 for a perfect sampler, < 1 too narrow, > 1 too wide;
  - *offset_k* = ||mean x - c_k|| / std, the mode's mean offset in units of std (for a perfect sampler
    with m_k points in mode k about sqrt(2 / m_k): 0.08 for ring8's 312, 0.14 for grid25's 100).
* :func:`two_sample_metrics` -- all of them for generated points on a toy dataset, beside the figures
  of a second data sample of the same size (the *floor*) and the perfect sampler's high quality
  1 - e^{-4.5} = 98.9% (a 2-D Gaussian has that mass within 3 std; more means the modes are too narrow).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from fdiv.core.checks import check_int

__all__ = ["HIGH_QUALITY_IDEAL", "classifier_two_sample_test", "mode_shape", "two_sample_metrics", "report",
           "caption"]

#: Fraction of a 2-D isotropic Gaussian within 3 std of its mean: P(chi^2_2 < 9) = 1 - e^{-9/2}.
HIGH_QUALITY_IDEAL = 1.0 - math.exp(-4.5)
NEIGHBOURS = 15
FOLDS = 5
NEAR = 6.0  # points farther than NEAR std from every centre are left out of spread and offset


def _points(x, name: str) -> np.ndarray:
    """``x`` (tensor or array of shape (n,) or (n, d)) as a float64 (n, d) array."""
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, d) with n >= 1, got {x.shape}")
    return x


def classifier_two_sample_test(generated, data, k: int = NEIGHBOURS, folds: int = FOLDS,
                               seed: int = 0) -> dict:
    """Cross-validated k-NN accuracy at telling ``generated`` from ``data`` (Lopez-Paz & Oquab 2017).

    accuracy = (1 / (n + m)) sum_i [k-NN vote of point i, trained on the other folds, = its label];
    ``stderr`` = sqrt(accuracy (1 - accuracy) / (n + m)).  Non-finite generated points are counted as
    told apart (correctly classified); the folds come from ``seed`` (same seed, same figure).  Returns
    ``dict(accuracy, stderr, n)``; accuracy and stderr are ``None`` when either sample has fewer than 2
    finite points.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier
    g, d = _points(generated, "generated samples"), _points(data, "data samples")
    if g.shape[1] != d.shape[1]:
        raise ValueError(f"generated samples have dimension {g.shape[1]}, data samples {d.shape[1]}")
    k, folds = check_int("k", k, minimum=1), check_int("folds", folds, minimum=2)
    if not np.isfinite(d).all():
        raise ValueError("data samples must be finite")
    total = g.shape[0] + d.shape[0]
    ok = np.isfinite(g).all(1)
    g = g[ok]
    folds = min(folds, g.shape[0], d.shape[0])
    if folds < 2:
        return dict(accuracy=None, stderr=None, n=total)
    x = np.concatenate([g, d])
    y = np.concatenate([np.ones(len(g), dtype=int), np.zeros(len(d), dtype=int)])
    n_train = len(x) - math.ceil(len(x) / folds)
    knn = KNeighborsClassifier(n_neighbors=min(k, n_train))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    correct = int((cross_val_predict(knn, x, y, cv=cv) == y).sum()) + int((~ok).sum())
    acc = correct / total
    return dict(accuracy=acc, stderr=math.sqrt(acc * (1 - acc) / total), n=total)


def _reference_rms(std: float, radius: float) -> float:
    """RMS distance to the centre of a 2-D N(c, std^2 I) truncated at ``radius`` (see module docstring)."""
    u = radius ** 2 / (2 * std ** 2)
    return std * math.sqrt(2 * (1 - u * math.exp(-u) / -math.expm1(-u)))


def mode_shape(samples, centers, std: float, near: float = NEAR) -> dict:
    """Per-mode spread and mean offset of ``samples`` around ``centers`` (K x 2), components of std ``std``.

    Returns ``dict(spread, spread_min, spread_max, mean_offset, spread_per_mode, offset_per_mode)``:
    ``spread`` pools all near points (sqrt of their mean ||x - c||^2 over s_R), ``spread_min``/``_max``
    and ``mean_offset`` (the largest offset_k) are over the modes with at least two near points;
    per-mode entries are ``None`` for the others (and the summaries ``None`` if no mode has two).
    """
    x = _points(samples, "samples")
    c = _points(centers, "centers")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples must have shape (n, {c.shape[1]}), got {x.shape}")
    x = x[np.isfinite(x).all(1)]
    K = len(c)
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1) if len(x) else np.zeros((0, K))
    idx = d2.argmin(1) if len(x) else np.zeros(0, dtype=int)
    r2 = d2[np.arange(len(x)), idx]
    near_ = r2 < (near * std) ** 2
    ref = _reference_rms(std, near * std)
    spread, offset = [None] * K, [None] * K
    for j in range(K):
        pts = near_ & (idx == j)
        if pts.sum() >= 2:
            spread[j] = math.sqrt(r2[pts].mean()) / ref
            offset[j] = float(np.linalg.norm(x[pts].mean(0) - c[j])) / std
    have = [s for s in spread if s is not None]
    pooled = math.sqrt(r2[near_].mean()) / ref if have else None
    return dict(spread=pooled, spread_min=min(have) if have else None, spread_max=max(have) if have else None,
                mean_offset=max(o for o in offset if o is not None) if have else None,
                spread_per_mode=spread, offset_per_mode=offset)


def _data(dataset, n: int, seed: int) -> torch.Tensor:
    real = dataset.sample(n, torch.Generator().manual_seed(seed))
    return real[0] if isinstance(real, tuple) else real


def two_sample_metrics(dataset, samples, seed: int = 0) -> dict:
    """Two-sample metrics of generated ``samples`` ((n, d)) on a 1-D/2-D toy ``dataset``.

    Draws two fresh data samples of size n (generators seeded ``seed + 2`` and ``seed + 3``) and returns

    * ``two_sample_accuracy``, ``two_sample_stderr``: :func:`classifier_two_sample_test` of the samples
      against the first; ``two_sample_floor``, ``two_sample_floor_stderr``: the same for the second data
      sample against the first (what a perfect sampler scores, about 1/2);
    * for mixtures with ``centers``/``std`` also :func:`mode_shape`'s figures, ``data_mean_offset`` (the
      second data sample's largest mean offset, the perfect sampler's scale for it) and
      ``high_quality_ideal`` = 1 - e^{-4.5}.
    """
    from fdiv.datasets import get_dataset
    dataset = get_dataset(dataset)
    x = _points(samples, "samples")
    n = x.shape[0]
    a, b = _data(dataset, n, seed + 2), _data(dataset, n, seed + 3)
    test = classifier_two_sample_test(x, a, seed=seed)
    floor = classifier_two_sample_test(b, a, seed=seed)
    out = dict(two_sample_accuracy=test["accuracy"], two_sample_stderr=test["stderr"],
               two_sample_floor=floor["accuracy"], two_sample_floor_stderr=floor["stderr"], two_sample_n=n)
    centers, std = getattr(dataset, "centers", None), getattr(dataset, "std", None)
    if centers is not None and std is not None:
        out.update(mode_shape(x, centers, std))
        out["data_mean_offset"] = mode_shape(b, centers, std)["mean_offset"]
        out["high_quality_ideal"] = HIGH_QUALITY_IDEAL
    return out


def _pct(v) -> str:
    return f"{100 * v:.1f}%"


def report(metrics: dict) -> str:
    """The two-sample figures of ``metrics`` (as returned by :func:`two_sample_metrics`, possibly merged
    with :func:`fdiv.evaluation.modes.mode_metrics`) as a short labelled table, each figure beside what a
    perfect sampler scores and a few words on what it means.  Empty if there are no two-sample figures."""
    if metrics.get("two_sample_accuracy") is None:
        return ""
    n = metrics.get("two_sample_n")
    rows = [("classifier accuracy",
             f"{metrics['two_sample_accuracy']:.3f} +- {metrics['two_sample_stderr']:.3f}",
             f"{metrics['two_sample_floor']:.3f}", "can a 15-NN classifier tell them apart? 0.5 = no")]
    if metrics.get("spread") is not None:
        rows.append(("spread", f"{metrics['spread']:.2f} [{metrics['spread_min']:.2f}, "
                     f"{metrics['spread_max']:.2f}]", "1.00", "RMS distance to the centre / data's; < 1 too narrow"))
        rows.append(("mean offset (worst)", f"{metrics['mean_offset']:.2f} std",
                     f"{metrics['data_mean_offset']:.2f} std", "how far a mode's mean sits from its centre"))
    if "high_quality" in metrics and "high_quality_ideal" in metrics:
        rows.append(("high quality", _pct(metrics["high_quality"]), _pct(metrics["high_quality_ideal"]),
                     "within 3 std; above the perfect sampler's = too narrow"))
    if "modes" in metrics and "num_modes" in metrics:
        rows.append(("modes", f"{metrics['modes']}/{metrics['num_modes']}", f"{metrics['num_modes']}/"
                     f"{metrics['num_modes']}", "modes with a high-quality sample"))
    if "reverse_kl" in metrics:
        rows.append(("mode-histogram KL", f"{metrics['reverse_kl']:.4f}", "~0", "0 = every mode equally often"))
    head = "two-sample metrics" + (f" ({n} generated vs {n} fresh data points)" if n else "")
    w0, w1, w2 = (max(len(r[i]) for r in rows) for i in range(3))
    lines = [head, f"  {'':{w0}}  {'this run':{w1}}  {'perfect':{w2}}"]
    lines += [f"  {a:{w0}}  {b:{w1}}  {c:{w2}}  {d}" for a, b, c, d in rows]
    return "\n".join(lines)


def caption(metrics: dict) -> str:
    """One line for a samples figure: the two-sample accuracy with its floor, the spread and high quality."""
    if metrics.get("two_sample_accuracy") is None:
        return ""
    parts = [f"two-sample acc. {metrics['two_sample_accuracy']:.3f} (data {metrics['two_sample_floor']:.3f})"]
    if metrics.get("spread") is not None:
        parts.append(f"spread {metrics['spread']:.2f}")
    if "high_quality" in metrics and "high_quality_ideal" in metrics:
        parts.append(f"high quality {_pct(metrics['high_quality'])} (ideal {_pct(metrics['high_quality_ideal'])})")
    return ", ".join(parts)
