"""How good is a generator, judged from its samples: mode metrics of the 2-D toys
(:mod:`~fdiv.evaluation.modes`), two-sample metrics of the toys (:mod:`~fdiv.evaluation.twosample`:
classifier two-sample test, per-mode spread and mean offset) and image metrics from a classifier trained on real digits
(:mod:`~fdiv.evaluation.images`).  :func:`evaluate` picks the right one for a dataset."""
from __future__ import annotations

__all__ = ["evaluate"]


def evaluate(dataset, samples, labels=None, seed: int = 0) -> dict:
    """Metrics of generated ``samples`` on ``dataset``: :func:`fdiv.evaluation.images.evaluate` for
    image sets (``labels``: those the images were drawn with), else
    :func:`fdiv.evaluation.modes.evaluate_points`."""
    from fdiv.datasets import get_dataset
    from fdiv.evaluation import images, modes
    dataset = get_dataset(dataset)
    if dataset.kind == "image":
        return images.evaluate(dataset, samples, labels=labels, seed=seed)
    return modes.evaluate_points(dataset, samples, seed=seed)
