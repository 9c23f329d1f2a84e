"""Claims of chapter 5 (variational divergence minimisation), and the experiments behind them.

* ``vdm_fit_matches_exact``: a Gaussian fitted to the 1-D mixture by VDM (the twelve-line loop
  :func:`vdm`) lands on the exact minimiser for kl and reverse_kl, and covers (kl) vs seeks (reverse
  kl) a mode.
* ``short_fgans_find_the_ring``: after 1,000 steps most bounded f-GANs find the ring's 8 modes
  (``short_unbounded_fgans``: the unbounded ones with the same recipe, a figure, not asserted).
* ``mixture_latent_fewer_bridges``: the mixture latent leaves fewer points between the modes.
* ``gan_matches_the_data``: at the full length the GAN finds every mode of ring8, and a two-sample
  test can no longer tell its points from the data (on at least 3 of 5 seeds).
* ``kl_needs_its_penalty``: with its R1 penalty kl trains on ring8; without it, it is unstable.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Dict

import torch

from fdiv.core import estimate
from fdiv.core.divergences import every, get
from fdiv.core.runtime import seed_everything
from fdiv.course.claims.base import Claim, train_defaults
from fdiv.datasets import get_dataset
from fdiv.evaluation import evaluate
from fdiv.gan.models import GaussianGenerator, MLPCritic
from fdiv.gan.training import TrainingDiverged, train
from fdiv.gan.training.recipes import recipe

__all__ = ["CLAIMS", "vdm", "vdm_gaussian_fit", "exact_gaussian_fit", "bridge_fraction", "bounded",
           "FIT_NAMES", "DATASETS", "SHORT_SETTINGS"]


def vdm(d, G, V, sample_data, steps, batch=256, lr_g=1e-2, lr_v=5e-3, k=5, seed=0):
    """Alternating VDM: the critic V ascends J-hat (k steps), then G descends it."""
    rng = seed_everything(seed)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_v = torch.optim.Adam(V.parameters(), lr=lr_v, betas=(0.5, 0.999))
    for step in range(steps):
        for _ in range(k):  # critic: ascend J-hat
            x = sample_data(batch, rng)
            x_hat = G(torch.randn(batch, G.latent_dim, generator=rng)).detach()
            J = d.activation(V(x)).mean() - d.conjugate_activation(V(x_hat)).mean()
            opt_v.zero_grad()
            (-J).backward()
            opt_v.step()
        # generator: descend J-hat
        x_hat = G(torch.randn(batch, G.latent_dim, generator=rng))
        # the first term of J does not depend on theta
        loss_g = -d.conjugate_activation(V(x_hat)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return G, V


# --------------------------------------------------------------------------- the 1-D fit
FIT_NAMES = ("kl", "reverse_kl", "js", "jeffrey")
FIT_START = (-1.0, 1.0)
FIT_STEPS = 300


def vdm_gaussian_fit(name: str, seed: int = 0, steps: int = FIT_STEPS):
    """(mu, sigma) of N(mu, sigma^2) fitted to ``mixture1d`` by :func:`vdm` with divergence ``name``."""
    data = get_dataset("mixture1d")
    seed_everything(seed)
    G = GaussianGenerator(1, mean=FIT_START[0], log_scale=math.log(FIT_START[1]))
    V = MLPCritic(1, hidden=64, depth=2, activation="tanh")
    vdm(get(name), G, V, lambda n, rng: data.sample(n, rng), steps, seed=seed)
    return G.mean.item(), G.scale.item()


@lru_cache(maxsize=None)
def exact_gaussian_fit(name: str):
    """The exact minimiser of D_f(mixture1d || N(mu, sigma^2)) from the same start (quadrature)."""
    return estimate.fit_gaussian_exact(name, get_dataset("mixture1d").distribution, init=FIT_START)


def _measure_fit(seed: int, fast: bool) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for name in FIT_NAMES[:2] if fast else FIT_NAMES:
        mu, sigma = vdm_gaussian_fit(name, seed, FIT_STEPS)
        out[f"{name}_mu"], out[f"{name}_sigma"] = mu, sigma
    return out


def _fit_holds(f) -> bool:
    close = all(abs(f[f"{n}_mu"] - exact_gaussian_fit(n).mu) < 0.15 * exact_gaussian_fit(n).sigma
                and abs(f[f"{n}_sigma"] / exact_gaussian_fit(n).sigma - 1) < 0.1 for n in ("kl", "reverse_kl"))
    return close and f["kl_sigma"] > 3 * f["reverse_kl_sigma"]


# --------------------------------------------------------------------------- f-GANs at a short budget
DATASETS = ("ring8", "grid25")
# one recipe for every divergence (a constant penalty: penalty_end 1, where a grid25 recipe lets it fade);
# the latent and the moving average are left to the data sets' defaults and recipes
SHORT_SETTINGS = dict(steps=1000, batch_size=256, critic_steps=1, lr_g=3e-3, lr_d=3e-3, lr_schedule="cosine",
                      gradient_penalty=0.1, penalty_end=1.0, model=dict(hidden=64))


def _short_defaults():
    """SHORT_SETTINGS and what they leave to the data sets' defaults and recipes (the latent), for the
    fingerprint: the short runs go stale when a recipe changes."""
    inside, outside = short_divergences()
    return dict(SHORT_SETTINGS, defaults={f"{ds}/{d.name}": train_defaults(ds, d.name)
                                          for ds in DATASETS for d in inside + outside})


def bounded(divergences):
    """The divergences with f(0) + f'(inf) finite: D_f <= f(0) + f'(inf) whatever the generator does."""
    return [d for d in divergences if math.isfinite(d.f_at_zero + d.f_slope_inf)]


def short_divergences(fast: bool = False):
    """(bounded, unbounded) divergences of the short-budget table: the registry with alpha = 1/2, 2."""
    every_d = every(alphas=(0.5, 2.0))
    inside = bounded(every_d)
    return (inside[:2], []) if fast else (inside, [d for d in every_d if d not in inside])


def _short_runs(divergences, seed: int, fast: bool):
    """Figures ``DATA/TAG/modes``, ``/high_quality`` (%), ``/reverse_kl``, ``/diverged`` (step or 0);
    extras: 1,000 samples of each run that did not diverge, by ``DATA/TAG``."""
    settings = dict(SHORT_SETTINGS, steps=50 if fast else SHORT_SETTINGS["steps"], seed=seed, progress=False)
    out: Dict[str, float] = {}
    samples = {}
    for ds in DATASETS:
        for d in divergences:
            key = f"{ds}/{d.tag}"
            try:
                res = train(divergence=d.name, divergence_params=d.params, dataset=ds, **settings)
                m, samples[key] = res.metrics, res.sample(1000, seed=1)
                out.update({f"{key}/modes": m["modes"], f"{key}/high_quality": 100 * m["high_quality"],
                            f"{key}/reverse_kl": m["reverse_kl"], f"{key}/diverged": 0})
            except TrainingDiverged as exc:
                out.update({f"{key}/modes": math.nan, f"{key}/high_quality": math.nan,
                            f"{key}/reverse_kl": math.nan, f"{key}/diverged": exc.step})
    return out, samples


def _measure_short(seed: int, fast: bool):
    inside = short_divergences(fast)[0]
    out, samples = _short_runs(inside, seed, fast)
    out["ring8_bounded_all_modes"] = sum(out[f"ring8/{d.tag}/modes"] == 8 for d in inside)
    out["ring8_bounded"] = len(inside)
    return out, samples


def _measure_unbounded(seed: int, fast: bool):
    return _short_runs(short_divergences(fast)[1], seed, fast)[0]


def _short_holds(f) -> bool:
    return f["ring8_bounded_all_modes"] >= f["ring8_bounded"] / 2


# --------------------------------------------------------------------------- the mixture latent
BRIDGE_STEPS = 2000
LATENTS = {"plain": dict(latent_mixture=0), "mixture": dict()}  # {}: the trainer's default for ring8


def bridge_fraction(x, ds, radius: float = 10) -> float:
    """Fraction of samples more than ``radius`` standard deviations from every centre."""
    dist = torch.cdist(x.double(), ds.centers.double()).min(dim=1).values
    return (dist > radius * ds.std).double().mean().item()


def _measure_bridges(seed: int, fast: bool):
    """Figures ``KIND/modes``, ``/high_quality`` (%), ``/bridges`` (% beyond 10 std), ``/reverse_kl``;
    extras: per kind, 2,000 generated points and their latent component (None for the plain latent)."""
    ring = get_dataset("ring8")
    out: Dict[str, float] = {}
    drawn = {}
    for kind, model in LATENTS.items():
        res = train(divergence="gan", dataset="ring8", steps=50 if fast else BRIDGE_STEPS, model=model,
                    seed=seed, progress=False)
        m, G = res.metrics, res.generator.cpu()
        z = torch.randn(2000, G.latent_dim, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            drawn[kind] = (G(z), G.component(z) if G.latent_mixture else None)
        out.update({f"{kind}/modes": m["modes"], f"{kind}/high_quality": 100 * m["high_quality"],
                    f"{kind}/bridges": 100 * bridge_fraction(res.sample(2500, seed=1), ring),
                    f"{kind}/reverse_kl": m["reverse_kl"]})
    return out, drawn


# --------------------------------------------------------------------------- the full-length GAN
def perfect_ring_sampler() -> Dict[str, float]:
    """The figures of a second sample of ring8 itself: the floor of every metric."""
    ring = get_dataset("ring8")
    return evaluate(ring, ring.sample(2500, torch.Generator().manual_seed(11)))


def _measure_match(seed: int, fast: bool) -> Dict[str, float]:
    res = train(divergence="gan", dataset="ring8", steps=100 if fast else None, seed=seed, progress=False)
    m = res.metrics
    gap = m["two_sample_accuracy"] - 0.5
    return {"steps": res.config.steps, "modes": m["modes"], "high_quality": 100 * m["high_quality"],
            "two_sample_accuracy": m["two_sample_accuracy"], "spread": m["spread"],
            "mean_offset": m["mean_offset"], "gap_in_stderr": gap / m["two_sample_stderr"]}


def _match_holds(f) -> bool:
    """All 8 modes, and the test's accuracy less than 3 of its standard errors above chance (1/2)."""
    return f["modes"] == 8 and f["gap_in_stderr"] < 3


# --------------------------------------------------------------------------- kl and its penalty
def _measure_kl(seed: int, fast: bool) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for kind, gamma in (("none", 0.0), ("r1", None)):  # None: the recipe's gamma = 1
        try:
            m = train(divergence="kl", dataset="ring8", steps=100 if fast else None, gradient_penalty=gamma,
                      seed=seed, progress=False).metrics
            out.update({f"{kind}/modes": m["modes"], f"{kind}/high_quality": 100 * m["high_quality"],
                        f"{kind}/two_sample_accuracy": m["two_sample_accuracy"], f"{kind}/diverged": 0})
        except TrainingDiverged as exc:
            out.update({f"{kind}/modes": math.nan, f"{kind}/high_quality": math.nan,
                        f"{kind}/two_sample_accuracy": math.nan, f"{kind}/diverged": exc.step})
    return out


def _kl_holds(f) -> bool:
    """The penalised run trains (all 8 modes); the unpenalised one diverges, loses a mode, or ends with
    broader modes: a high-quality share at least 5 points below the penalised run's."""
    if f["r1/diverged"] or f["r1/modes"] != 8:
        return False
    if f["none/diverged"] or f["none/modes"] < 8:
        return True
    return f["none/high_quality"] < f["r1/high_quality"] - 5


CLAIMS = [
    Claim("vdm_fit_matches_exact", "05",
          "VDM fits N(mu, sigma^2) to mixture1d within 0.15 sigma in mu and 10% in sigma of the exact "
          "minimiser (kl and reverse_kl), and kl's sigma is more than three times reverse kl's.",
          _measure_fit, _fit_holds, settings=dict(steps=FIT_STEPS, start=FIT_START, names=FIT_NAMES)),
    Claim("short_fgans_find_the_ring", "05",
          "After 1,000 steps at least half of the bounded f-GANs find all 8 modes of ring8.",
          _measure_short, _short_holds, settings=_short_defaults(), book_seeds=(0, 1), ci_seeds=(0,)),
    Claim("short_unbounded_fgans", "05",
          "The unbounded divergences with the same 1,000-step recipe on ring8 and grid25 (shown, not "
          "asserted; the book quotes the recorded sweep).",
          _measure_unbounded, None, settings=_short_defaults()),
    Claim("mixture_latent_fewer_bridges", "05",
          "After 2,000 steps of the GAN on ring8 the mixture latent leaves fewer points more than 10 "
          "standard deviations from every mode than the plain Gaussian latent.",
          _measure_bridges, lambda f: f["mixture/bridges"] < f["plain/bridges"],
          settings=dict(steps=BRIDGE_STEPS, latents=LATENTS, **train_defaults("ring8", "gan")), book_seeds=(0, 1), ci_seeds=(0,)),
    Claim("gan_matches_the_data", "05",
          "On at least 3 of 5 seeds, at fdiv train's defaults the GAN finds all 8 modes of ring8 and the "
          "two-sample test cannot tell its samples from the data: its accuracy is less than 3 standard "
          "errors above chance (1/2).",
          _measure_match, _match_holds, settings=train_defaults("ring8", "gan"), quorum=3,
          book_seeds=(0, 1), ci_seeds=(0, 1, 2)),
    Claim("kl_needs_its_penalty", "05",
          "On at least 3 of 5 seeds, kl on ring8 with its recipe's R1 penalty (gamma = 1) finds all 8 "
          "modes while the run without it diverges, loses a mode or ends with broader modes (high "
          "quality at least 5 points lower).",
          _measure_kl, _kl_holds, settings=dict(gammas=(0.0, 1.0), **train_defaults("ring8", "kl")), quorum=3,
          book_seeds=(0, 1), ci_seeds=(0, 1, 2)),
]
