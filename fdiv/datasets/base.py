"""The dataset contract and the registry (book chapters 5-11).

Every dataset is a :class:`Dataset` with

* ``name`` (registry name), ``kind`` in ``{"1d", "2d", "image"}``,
* ``dim`` (flattened dimension) and ``shape`` (shape of one sample, e.g. ``(2,)`` or ``(1, 8, 8)``),
* ``num_classes`` (0 if unlabelled),
* ``sample(n, generator=None, device=None)`` -> ``x`` of shape ``(n, *shape)``, or ``(x, y)``
  (``y`` int64 labels of shape ``(n,)``) when ``num_classes > 0``.  Randomness comes only from the
  explicit CPU ``torch.Generator`` (so runs are reproducible and resumable); the result is moved to
  ``device`` afterwards.

and ``train_defaults``: the training configuration ``fdiv train --dataset NAME`` starts from (a dict of
:class:`fdiv.gan.training.TrainConfig` fields; ``model`` holds the architecture's keyword arguments for
``fdiv.gan.models.default_models``).  :class:`Dataset` holds the generic values, and a subclass updates
them (``train_defaults = {**Dataset.train_defaults, "steps": 6000}``).  Per-divergence recipes go on top
(``fdiv/gan/training/recipes.py``), then the user's values.

Registry: :func:`register_dataset`, :func:`get_dataset`, :func:`dataset_names`.  The built-in data sets
are registered by :mod:`fdiv.datasets` itself, explicitly (toy sets first, then images).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Tuple, Union

import torch
from torch import Tensor

from fdiv.core.checks import check_choice, check_int

__all__ = ["Dataset", "KINDS", "register_dataset", "get_dataset", "dataset_names", "check_labels"]

KINDS = ("1d", "2d", "image")


class Dataset:
    """Base class.  Subclasses set the attributes below and implement :meth:`_sample`."""

    name: str = "dataset"
    kind: str = "2d"
    shape: Tuple[int, ...] = (2,)
    num_classes: int = 0
    # Generic training defaults (Adam with betas (0.5, 0.9) and rates 2e-3, tuned on the toy data; see
    # the README's benchmark section).  ``model={}``: default_models' own defaults (the 2-D MLPs).
    train_defaults: Dict[str, Any] = dict(steps=2000, batch_size=256, critic_steps=1, lr_g=2e-3, lr_d=2e-3,
                                          betas=(0.5, 0.9), lr_schedule="constant", ema=0.0,
                                          gradient_penalty=0.0, penalty_kind="r1", spectral_norm=False,
                                          model={})

    @property
    def dim(self) -> int:
        return int(math.prod(self.shape))

    @property
    def labelled(self) -> bool:
        return self.num_classes > 0

    def _sample(self, n: int, generator: Optional[torch.Generator]):
        raise NotImplementedError

    def sample(self, n: int, generator: Optional[torch.Generator] = None, device=None):
        """Draw ``n`` samples (``(x, y)`` when labelled) using the CPU ``generator``."""
        n = check_int("number of samples", n, 1)
        out = self._sample(n, generator)
        if device is not None:
            if isinstance(out, tuple):
                out = tuple(t.to(device) for t in out)
            else:
                out = out.to(device)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r}, shape={self.shape}, num_classes={self.num_classes})"



_REGISTRY: Dict[str, Callable[..., Dataset]] = {}


def register_dataset(name: str, factory: Callable[..., Dataset], overwrite: bool = True) -> None:
    """Register ``factory(**kw) -> Dataset`` under ``name`` (used by :mod:`fdiv.datasets.images`)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"dataset name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise ValueError("factory must be callable")
    if not overwrite and name in _REGISTRY:
        raise ValueError(f"dataset {name!r} is already registered")
    _REGISTRY[name] = factory


def dataset_names() -> Tuple[str, ...]:
    """Registered dataset names (toy sets first, then images)."""
    return tuple(_REGISTRY)


def get_dataset(name: Union[str, Dataset], **kw) -> Dataset:
    """Construct the dataset ``name``; unknown names raise ``ValueError`` listing the known ones.

    A :class:`Dataset` instance is returned unchanged (so functions accept either).
    """
    if isinstance(name, Dataset):
        if kw:
            raise ValueError("keyword arguments given together with a Dataset instance")
        return name
    check_choice("dataset", name, dataset_names())
    try:
        return _REGISTRY[name](**kw)
    except TypeError as e:
        raise ValueError(f"bad parameters for dataset {name!r}: {e}") from None


def check_labels(y: Any, num_classes: int, batch: int | None = None, device=None) -> torch.Tensor:
    """Validate class labels: an integer tensor of shape (N,) with values in {0, ..., K-1}.

    Returns ``y`` as a ``torch.long`` tensor (on ``device`` if given). Python ints and lists are
    accepted; a scalar label is broadcast to ``batch`` entries. Raises ``ValueError`` naming the
    bad values and the allowed range.
    """
    if y is None:
        raise ValueError(f"this model is conditional: pass labels y with values in 0..{num_classes - 1}")
    if not torch.is_tensor(y):
        try:
            y = torch.as_tensor(y)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"labels must be integers in 0..{num_classes - 1}, got {y!r}") from exc
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        if y.dtype.is_floating_point and y.numel() and torch.all(y == y.round()):
            y = y.long()
        else:
            raise ValueError(f"labels must be integers in 0..{num_classes - 1}, got dtype {y.dtype}")
    y = y.long()
    if y.dim() == 0:
        if batch is None:
            y = y.reshape(1)
        else:
            y = y.expand(batch)
    if y.dim() != 1:
        raise ValueError(f"labels must have shape (N,), got shape {tuple(y.shape)}")
    if batch is not None and y.shape[0] != batch:
        raise ValueError(f"got {y.shape[0]} labels for a batch of {batch}")
    if y.numel():
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            bad = sorted({int(v) for v in y[(y < 0) | (y >= num_classes)].tolist()})[:5]
            raise ValueError(f"label values {bad} out of range: allowed 0..{num_classes - 1} "
                             f"({num_classes} classes)")
    if device is not None:
        y = y.to(device)
    return y
