"""Claims of chapter 10 (the deep convolutional GAN), and the experiment behind them.

* ``dcgan_digits_near_floor``: after 1,500 steps the GAN's DC-GAN on the 8x8 ``digits`` draws digits
  of at least 8 classes, with a Frechet distance above the real-vs-real floor and within a few times
  it, and the critic's estimate J-hat ends above -log 4 (it can still tell real from generated).

Each run also hands the chapter what it draws (extras: 64 samples and the training history), so the
chapter shows seed 0 from the very run the claim measured instead of training it twice.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from fdiv.course.claims.base import Claim, train_defaults
from fdiv.gan.training import TrainResult, train

__all__ = ["CLAIMS", "SETTINGS", "steps", "train_dcgan", "figures"]

#: the chapter's run: the GAN divergence at the library's defaults for ``digits``
SETTINGS = dict(divergence="gan", dataset="digits", steps=1500)
FAST_STEPS = 150


def steps(fast: bool) -> int:
    return FAST_STEPS if fast else SETTINGS["steps"]


def train_dcgan(seed: int, fast: bool = False, out: Optional[Path] = None) -> TrainResult:
    """The chapter's DC-GAN run for ``seed`` (a checkpoint in ``out`` when given)."""
    return train(**dict(SETTINGS, steps=steps(fast)), seed=seed, out=out, progress=False)


def figures(metrics: Dict[str, Any]) -> Dict[str, float]:
    """The claim's figures from a run's metrics; ``j_gap`` is J-hat at the end (mean of the last 10% of
    the steps) minus its value at P_theta = P_X, -log 4."""
    fd, floor = metrics["frechet_distance"], metrics["frechet_distance_real"]
    return {"steps": metrics["steps"], "seconds": metrics["seconds"],
            "classes_covered": metrics["classes_covered"], "frechet_distance": fd,
            "frechet_distance_real": floor, "frechet_ratio": fd / floor,
            "j_end": metrics["divergence_estimate"], "j_gap": metrics["divergence_estimate"] + math.log(4)}


def _measure(seed: int, fast: bool) -> Tuple[Dict[str, float], Dict[str, Any]]:
    """The figures, and what the chapter draws: 64 samples (noise seed 1) and the history."""
    res = train_dcgan(seed, fast)
    return figures(res.metrics), {"samples": res.sample(64, seed=1), "history": res.history}


MAX_RATIO = 6.0
MIN_J_GAP = 0.2


def _holds(f) -> bool:
    return (f["classes_covered"] >= 8 and 1 < f["frechet_ratio"] < MAX_RATIO
            and f["j_gap"] > MIN_J_GAP)


CLAIMS = [
    Claim("dcgan_digits_near_floor", "10",
          f"After 1,500 steps the GAN's DC-GAN on digits draws at least 8 of the 10 classes, its Frechet "
          f"distance is above the real-vs-real floor and less than {MAX_RATIO:g} times it, and the critic's "
          f"J-hat ends more than {MIN_J_GAP:g} above -log 4.",
          _measure, _holds, settings=dict(SETTINGS, **train_defaults("digits", "gan")),
          book_seeds=(0, 1), ci_seeds=(0,), seconds=40.0),
]
