"""Data sets: the :class:`Dataset` contract, the registry, the toy sets and the image sets.

    from fdiv.datasets import get_dataset, dataset_names
    ring = get_dataset("ring8")          # also grid25, x, mixture1d, digits, mnist
    x = ring.sample(500, torch.Generator().manual_seed(0))

The built-in sets are registered here, explicitly; :func:`register_dataset` adds one of your own.
"""
from __future__ import annotations

from fdiv.datasets.base import KINDS, Dataset, dataset_names, get_dataset, register_dataset
from fdiv.datasets.images import MNIST, DatasetUnavailableError, Digits, ImageDataset
from fdiv.datasets.toy import Diagonal, GaussianMixture2D, Grid25, Mixture1D, Ring8, XShape, x_factory

__all__ = [
    "Dataset", "KINDS", "register_dataset", "get_dataset", "dataset_names",
    "GaussianMixture2D", "Ring8", "Grid25", "Diagonal", "XShape", "Mixture1D",
    "ImageDataset", "Digits", "MNIST", "DatasetUnavailableError",
]

for _name, _factory in (("ring8", Ring8), ("grid25", Grid25), ("x", x_factory), ("mixture1d", Mixture1D),
                        ("digits", Digits), ("mnist", MNIST)):
    register_dataset(_name, _factory)
del _name, _factory
