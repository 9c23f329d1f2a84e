"""The f-GAN paper's Section 4 experiment: fit one Gaussian N(mu, sigma^2) to the 1-D mixture P.

For each divergence: the exact minimiser of D_f(P || N(mu, sigma^2)) (quadrature + L-BFGS,
``fdiv.core.estimate.fit_gaussian_exact``) started, like the VDM run, at P's mean and standard deviation,
next to the VDM fit (``fdiv.gan.training.fit_gaussian_vdm``: a Gaussian generator against an MLP critic,
saddle-point generator loss).  Mode-seeking divergences have several local minimisers, so the global
one (best of the starts "moment match" and "each component") is listed as well.
"""
from __future__ import annotations

import math
import time

import fdiv
from fdiv.datasets import get_dataset
from fdiv.gan.training import TrainingDiverged, fit_gaussian_vdm

from . import Table

DIVERGENCES = [("kl", {}), ("reverse_kl", {}), ("pearson", {}), ("neyman", {}), ("squared_hellinger", {}),
               ("jeffrey", {}), ("js", {}), ("gan", {}), ("total_variation", {}), ("alpha", {"alpha": 0.5}),
               ("alpha", {"alpha": 2.0})]


def _exact(d, P, ds):
    from fdiv.core.estimate import fit_gaussian_exact
    same = fit_gaussian_exact(d, P)
    best = same
    for m, s in zip(ds.means.tolist(), ds.stds.tolist()):
        try:
            f = fit_gaussian_exact(d, P, init=(m, s))
        except ValueError:
            continue
        if math.isfinite(float(f.value)) and float(f.value) < float(best.value) - 1e-9:
            best = f
    return same, best


def table(quick: bool = False, steps=None, seed: int = 0) -> Table:
    ds = get_dataset("mixture1d")
    P = ds.distribution
    t = Table("Single-Gaussian fit to mixture1d (f-GAN paper, Sec. 4): exact minimiser vs VDM training",
              ["divergence", "exact mu", "exact sigma", "VDM mu", "VDM sigma", "exact D_f", "VDM J (last 10%)",
               "global min (mu, sigma)", "VDM CPU s"])
    divs = DIVERGENCES[:3] if quick else DIVERGENCES
    for name, params in divs:
        d = fdiv.get(name, **params)
        label = name + (f"({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
        try:
            same, best = _exact(d, P, ds)
            em, es, ev = float(same.mu), float(same.sigma), float(same.value)
            glob = f"({float(best.mu):+.2f}, {float(best.sigma):.2f})" if best is not same else "same"
        except Exception as e:  # report, don't crash the table
            em = es = ev = float("nan")
            glob = f"error: {type(e).__name__}"
        c0 = time.process_time()
        try:
            fit = fit_gaussian_vdm(name, divergence_params=params, steps=steps or (800 if quick else 2000), seed=seed)
            vm, vs, vj = fit.mu, fit.sigma, fit.value
        except TrainingDiverged as e:
            vm = vs = vj = float("nan")
        t.rows.append([label, em, es, vm, vs, ev, vj, glob, time.process_time() - c0])
    t.note = (f"P = {ds.weights.tolist()} mixture of N({ds.means.tolist()}, {ds.stds.tolist()}^2); both fits start "
              "at P's mean and standard deviation; seed {seed}.").replace("{seed}", str(seed))
    return t
