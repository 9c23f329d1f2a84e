"""Image datasets with labels: ``digits`` (offline) and ``mnist`` (download) -- chapters 10-12.

* ``digits``: scikit-learn's ``load_digits`` (ships with scikit-learn, no download): 1,797
  grey-level 8x8 images of the digits 0-9, pixel values 0..16, rescaled to [-1, 1] by
  x = pixel / 16 * 2 - 1 (the range of the DC-GAN generator's Tanh output). Shape (1, 8, 8),
  10 classes. A fixed, stratified split keeps ``test_fraction`` (20%) of every class aside as
  held-out images (the classifier of :mod:`fdiv.evaluation.images` is tested on them and the Frechet
  distance compares against them); ``sample`` draws from the training part only.
* ``mnist``: the 28x28 MNIST digits (60,000 training / 10,000 test images), (1, 28, 28), pixels
  rescaled to [-1, 1]. It needs ``torchvision`` and an internet connection for the first
  download (e.g. on Colab); without them it raises :class:`DatasetUnavailableError` and suggests
  ``digits``. Nothing in the tests uses it.

Both are registered in :mod:`fdiv.datasets` (``fdiv.datasets.get_dataset("digits")``) and follow the
Dataset contract: ``name``, ``kind="image"``, ``shape``, ``num_classes``, ``sample(n, generator,
device) -> (x, y)`` with x of shape (n, 1, H, W) in [-1, 1] and y int64 labels of shape (n,).
Extra: ``images(split)`` -> all (x, y) of the split ("train" or "test"), ``num_train``,
``num_test``.
"""
from __future__ import annotations

import functools
import os
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from fdiv.datasets.base import Dataset

__all__ = ["ImageDataset", "Digits", "MNIST", "DatasetUnavailableError", "stratified_split",
           "to_unit_range", "SPLITS"]

SPLITS = ("train", "test")


class DatasetUnavailableError(ValueError, RuntimeError):
    """A dataset that needs something this machine lacks (a package, a download)."""


def to_unit_range(x: Tensor) -> Tensor:
    """Map images in [-1, 1] back to [0, 1] for display: (x + 1) / 2, clipped."""
    return ((torch.as_tensor(x) + 1) / 2).clamp(0, 1)


def stratified_split(labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: for every class, a seeded permutation of its indices puts
    round(test_fraction * count) of them in the test part. Returns sorted (train_idx, test_idx)."""
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(int(seed))
    test = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        test.append(idx[: int(round(test_fraction * len(idx)))])
    test_idx = np.sort(np.concatenate(test))
    mask = np.ones(len(labels), dtype=bool)
    mask[test_idx] = False
    return np.flatnonzero(mask), test_idx


class ImageDataset(Dataset):
    """Labelled images held in memory, split into a training and a held-out ("test") part.

    ``sample(n, generator)`` draws n training images uniformly with replacement (indices from the
    CPU ``generator``), returning (x, y): x float32 (n, *shape) in [-1, 1], y int64 (n,).
    Subclasses fill ``_x`` / ``_y`` dicts {split: tensor}; images may be stored as uint8 with
    ``_scale`` (the maximum pixel value) and are converted on the fly.
    """

    kind = "image"
    _scale: Optional[float] = None  # None: stored already as float in [-1, 1]
    # DC-GAN sizes for images larger than 8x8 (fdiv.gan.conv.default_models); the generic training defaults
    train_defaults = {**Dataset.train_defaults,
                      "model": dict(latent_dim=64, g_channels=128, d_channels=64, norm="batch")}

    def __init__(self) -> None:
        self._x: dict = {}
        self._y: dict = {}

    def _convert(self, x: Tensor) -> Tensor:
        if self._scale is None:
            return x
        return x.to(torch.float32) / self._scale * 2 - 1

    @property
    def num_train(self) -> int:
        return int(self._y["train"].shape[0])

    @property
    def num_test(self) -> int:
        return int(self._y["test"].shape[0])

    def images(self, split: str = "train", device=None) -> Tuple[Tensor, Tensor]:
        """All images and labels of ``split`` ("train" or "test"): x (N, *shape) in [-1, 1], y (N,)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        x, y = self._convert(self._x[split]), self._y[split]
        if device is not None:
            x, y = x.to(device), y.to(device)
        return x, y

    def _sample(self, n: int, generator: Optional[torch.Generator]):
        idx = torch.randint(self.num_train, (n,), generator=generator)
        return self._convert(self._x["train"][idx]), self._y["train"][idx]

    def class_counts(self, split: str = "train") -> Tensor:
        """Number of images of each class in ``split``."""
        return torch.bincount(self.images(split)[1], minlength=self.num_classes)


@functools.lru_cache(maxsize=None)
def _load_digits_arrays() -> Tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8) float32 in 0..16, labels (1797,) int64), as ``sklearn.datasets.load_digits``.

    Read straight from the CSV file scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``: 64
    pixels then the label per row), which avoids importing scikit-learn (seconds); falls back to
    ``load_digits`` if the file is not where expected."""
    import importlib.util
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise DatasetUnavailableError("the 'digits' dataset needs scikit-learn (pip install scikit-learn)")
    path = os.path.join(os.path.dirname(spec.origin), "datasets", "data", "digits.csv.gz")
    if os.path.isfile(path):
        data = np.loadtxt(path, delimiter=",", dtype=np.float32)
        return data[:, :-1].reshape(-1, 8, 8).copy(), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits  # pragma: no cover - other scikit-learn layouts
    bunch = load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)


class Digits(ImageDataset):
    """scikit-learn's 8x8 digits, x = pixel/16*2 - 1 in [-1, 1], shape (1, 8, 8), 10 classes.

    Split: ``stratified_split(labels, test_fraction, split_seed)`` (default 20% held out, seed 0):
    1,438 training and 359 test images, the same on every machine; ``indices[split]`` are their
    rows in ``sklearn.datasets.load_digits()``.
    """

    name = "digits"
    shape = (1, 8, 8)
    num_classes = 10
    # Tuned in bench/images.py (conditional DC-GAN, gan, seeds 0-2, one CPU thread): it reaches >= 95%
    # of the real-data classifier accuracy in 1,500 steps (BatchNorm in the critic as in the DC-GAN
    # paper trains it reliably), but its Frechet distance stays 2.4-4.6x the real-vs-real floor; 4,500
    # steps take it to 1.8-2.3x, and an exponential moving average of the generator's weights (decay
    # 0.999, the one evaluated and saved) to 1.34-1.55x (1.39-1.68x already at 1,500 steps), with
    # class accuracy 1.01x the real data's, in about 50 s.
    train_defaults = {**Dataset.train_defaults, "steps": 4500, "batch_size": 64, "lr_g": 5e-4, "lr_d": 5e-4,
                      "betas": (0.5, 0.999), "ema": 0.999,
                      "model": dict(latent_dim=32, g_channels=64, d_channels=32, norm="batch")}

    def __init__(self, test_fraction: float = 0.2, split_seed: int = 0):
        super().__init__()
        images, labels = _load_digits_arrays()
        train_idx, test_idx = stratified_split(labels, test_fraction, split_seed)
        x = torch.from_numpy(images / 16.0 * 2.0 - 1.0).to(torch.float32).unsqueeze(1)
        y = torch.from_numpy(labels)
        self.test_fraction, self.split_seed = float(test_fraction), int(split_seed)
        self.indices = {"train": train_idx, "test": test_idx}  # rows of load_digits()
        for split, idx in (("train", train_idx), ("test", test_idx)):
            t = torch.from_numpy(idx)
            self._x[split], self._y[split] = x[t].contiguous(), y[t].contiguous()


MNIST_HELP = ("the 'mnist' dataset needs torchvision and an internet connection for its first download "
              "(e.g. on Colab: pip install torchvision). Use dataset 'digits' instead (scikit-learn's 8x8 "
              "digits, offline).")


def _default_root() -> str:
    return os.environ.get("FDIV_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "fdiv")


class MNIST(ImageDataset):
    """MNIST, 28x28, x = pixel/255*2 - 1 in [-1, 1], shape (1, 28, 28), 10 classes.

    Training part: MNIST's 60,000 training images; held-out part: its 10,000 test images.
    Downloaded by torchvision into ``root`` (default ``$FDIV_DATA_DIR`` or ``~/.cache/fdiv``).
    Raises :class:`DatasetUnavailableError` when torchvision is missing or the download fails.
    """

    name = "mnist"
    shape = (1, 28, 28)
    num_classes = 10
    _scale = 255.0
    # the DC-GAN paper's settings (Adam 2e-4, beta1 0.5, batch 128); meant for a GPU
    train_defaults = {**ImageDataset.train_defaults, "steps": 5000, "batch_size": 128, "lr_g": 2e-4, "lr_d": 2e-4,
                      "betas": (0.5, 0.999)}

    def __init__(self, root: Optional[str] = None, download: bool = True):
        super().__init__()
        try:
            import torchvision  # noqa: F401  (imported lazily: not a dependency of fdiv)
            from torchvision.datasets import MNIST as _TVMNIST
        except Exception as exc:  # ImportError, or a torchvision built for another torch
            raise DatasetUnavailableError(f"cannot import torchvision ({type(exc).__name__}: {exc}); "
                                          + MNIST_HELP) from exc
        root = root or _default_root()
        try:
            for split, train in (("train", True), ("test", False)):
                ds = _TVMNIST(root, train=train, download=download)
                self._x[split] = torch.as_tensor(ds.data, dtype=torch.uint8).unsqueeze(1).contiguous()
                self._y[split] = torch.as_tensor(ds.targets, dtype=torch.long).contiguous()
        except Exception as exc:
            raise DatasetUnavailableError(f"could not load MNIST into {root!r} ({type(exc).__name__}: {exc}); "
                                          + MNIST_HELP) from exc
        self.root = root


