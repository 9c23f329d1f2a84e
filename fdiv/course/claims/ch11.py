"""Claims of chapter 11 (the conditional GAN), and the experiment behind them.

* ``conditional_gan_obeys_labels``: after 1,500 steps the conditional DC-GAN on ``digits`` draws the
  requested digit: the independent judge (a classifier trained on real digits only) assigns most
  generated images, and most of those of every label, to the label they were asked for, while it
  recognises held-out real digits of every class.

The experiment (:func:`train_conditional`) leaves each run's checkpoint in :func:`run_folder` and hands
its path to the chapter (the claim's extras): the chapter shows seed 0 from the very run the claim
measured, and saves that checkpoint for chapter 12.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from fdiv.course.chapters import shared_folder
from fdiv.course.claims.base import Claim, train_defaults
from fdiv.datasets import get_dataset
from fdiv.evaluation import images as image_metrics
from fdiv.gan.training import TrainResult, train

__all__ = ["CLAIMS", "SETTINGS", "steps", "run_folder", "train_conditional", "per_label_accuracy",
           "figures", "PER_LABEL"]

SETTINGS = dict(divergence="gan", dataset="digits", conditional=True, steps=1500)
FAST_STEPS = 200
#: generated images per label in the per-label accuracy
PER_LABEL = 200


def steps(fast: bool) -> int:
    return FAST_STEPS if fast else SETTINGS["steps"]


def run_folder(seed: int, fast: bool) -> Path:
    """Where :func:`train_conditional` leaves seed ``seed``'s checkpoint (a per-user temporary folder)."""
    return shared_folder(f"conditional-digits-claim/seed{seed}" + ("-fast" if fast else ""))


def train_conditional(seed: int, fast: bool = False, out: Optional[Path] = None) -> TrainResult:
    """The chapter's conditional DC-GAN run for ``seed`` (checkpoint in ``out``, or :func:`run_folder`)."""
    out = run_folder(seed, fast) if out is None else out
    return train(**dict(SETTINGS, steps=steps(fast)), seed=seed, out=out, progress=False)


def per_label_accuracy(generator, n: int = PER_LABEL) -> Tuple[List[float], List[float]]:
    """Per label y: the fraction of ``n`` generated g(z, y) (noise seed 100 + y) that the judge classifies
    as y, and the same fraction for the held-out real digits of class y."""
    from fdiv.gan.models import generate

    digits = get_dataset("digits")
    judge = image_metrics.get_classifier(digits)
    x_test, y_test = digits.images("test")
    pred_test = image_metrics.predict(x_test, judge)
    fake, real = [], []
    for label in range(digits.num_classes):
        x = generate(generator, n, seed=100 + label, labels=label)
        fake.append((image_metrics.predict(x, judge) == label).float().mean().item())
        real.append((pred_test[y_test == label] == label).float().mean().item())
    return fake, real


def figures(result: TrainResult) -> Dict[str, float]:
    """The claim's figures of one run: the trainer's class accuracy (2,500 images, balanced labels), the
    judge's accuracy on real held-out digits, and per label ``fake/y`` and ``real/y``."""
    m = result.metrics
    fake, real = per_label_accuracy(result.generator)
    worst = min(range(len(fake)), key=fake.__getitem__)
    out: Dict[str, float] = {"steps": m["steps"], "seconds": m["seconds"],
                             "class_accuracy": m["class_accuracy"], "real_accuracy": m["real_accuracy"],
                             "accuracy_ratio": m["accuracy_ratio"], "fake_min": fake[worst],
                             "worst_label": worst, "real_min": min(real)}
    out.update({f"fake/{y}": a for y, a in enumerate(fake)})
    out.update({f"real/{y}": a for y, a in enumerate(real)})
    return out


def _measure(seed: int, fast: bool) -> Tuple[Dict[str, float], Dict[str, Any]]:
    """The figures, and the path of the run's checkpoint (for the chapter)."""
    res = train_conditional(seed, fast)
    return figures(res), {"checkpoint": res.checkpoint}


MIN_CLASS_ACCURACY = 0.9


def _holds(f) -> bool:
    return (f["class_accuracy"] > MIN_CLASS_ACCURACY and f["fake_min"] > 0.8
            and 0.9 < f["real_accuracy"] <= 1.0 and f["real_min"] > 0.8)


CLAIMS = [
    Claim("conditional_gan_obeys_labels", "11",
          f"After 1,500 steps more than {MIN_CLASS_ACCURACY:.0%} of the conditional DC-GAN's digits are "
          "classified as the label they were asked for, and more than 80% of those of every label, by a "
          "judge that recognises more than 90% of the held-out real digits and more than 80% of those of "
          "every class.",
          _measure, _holds, settings=dict(SETTINGS, **train_defaults("digits", "gan")),
          book_seeds=(0, 1), ci_seeds=(0,), seconds=35.0),
]
