"""Image datasets (fdiv.datasets.images): scikit-learn's digits, MNIST's clear failure without torchvision."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from fdiv.datasets import dataset_names, get_dataset
from fdiv.datasets.images import Digits, DatasetUnavailableError, MNIST, stratified_split, to_unit_range


@pytest.fixture(scope="module")
def digits():
    return get_dataset("digits")


def test_registered(digits):
    assert {"digits", "mnist"} <= set(dataset_names())
    assert isinstance(digits, Digits)
    assert digits.name == "digits" and digits.kind == "image"
    assert digits.shape == (1, 8, 8) and digits.num_classes == 10 and digits.dim == 64


def test_range_shapes_labels(digits):
    x, y = digits.sample(500, torch.Generator().manual_seed(0))
    assert x.shape == (500, 1, 8, 8) and x.dtype == torch.float32
    assert y.shape == (500,) and y.dtype == torch.int64
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert set(y.tolist()) == set(range(10))
    # pixel values 0..16 map to -1 + 2k/16: every value is on that grid
    k = (x + 1) * 8
    assert torch.allclose(k, k.round(), atol=1e-5)


# Fingerprint of sklearn.datasets.load_digits() (importing scikit-learn takes seconds, so the
# constants were read once from it): the first image (a zero), the class counts, the pixel total.
FIRST_IMAGE = [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0], [0, 3, 15, 2, 0, 11, 8, 0],
               [0, 4, 12, 0, 0, 8, 8, 0], [0, 5, 8, 0, 0, 9, 8, 0], [0, 4, 11, 0, 1, 12, 7, 0],
               [0, 2, 14, 5, 10, 12, 0, 0], [0, 0, 6, 13, 10, 0, 0, 0]]
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
PIXEL_SUM = 561718


def test_pixels_match_scikit_learn(digits):
    xs, ys = [], []
    for split in ("train", "test"):
        x, y = digits.images(split)
        order = torch.as_tensor(digits.indices[split])
        xs.append((order, x)), ys.append((order, y))
    n = sum(len(o) for o, _ in xs)
    x_all = torch.empty(n, 1, 8, 8)
    y_all = torch.empty(n, dtype=torch.long)
    for (o, x), (_, y) in zip(xs, ys):
        x_all[o], y_all[o] = x, y
    pixels = (x_all + 1) / 2 * 16  # back to 0..16
    assert n == 1797
    assert torch.equal(pixels[0, 0].round().long(), torch.tensor(FIRST_IMAGE))
    assert y_all[:10].tolist() == list(range(10))
    assert torch.bincount(y_all).tolist() == CLASS_COUNTS
    assert int(pixels.sum().round()) == PIXEL_SUM


def test_split_is_fixed_disjoint_and_stratified(digits):
    tr, te = digits.indices["train"], digits.indices["test"]
    assert len(tr) == digits.num_train == 1438 and len(te) == digits.num_test == 359
    assert not set(tr) & set(te) and len(set(tr) | set(te)) == 1797
    counts_te = digits.class_counts("test")
    counts_all = counts_te + digits.class_counts("train")
    assert torch.all((counts_te.double() / counts_all - 0.2).abs() < 0.02)
    # the same split in a fresh instance; another seed gives another split
    again = Digits()
    assert np.array_equal(again.indices["test"], te)
    assert torch.equal(again.images("test")[0], digits.images("test")[0])
    other = Digits(split_seed=1)
    assert not np.array_equal(other.indices["test"], te)
    a, b = stratified_split(np.repeat(np.arange(3), 10), 0.3, seed=5)
    assert len(b) == 9 and sorted(set(a) | set(b)) == list(range(30))


def test_sample_is_deterministic_and_from_train_split(digits):
    a = digits.sample(64, torch.Generator().manual_seed(3))
    b = digits.sample(64, torch.Generator().manual_seed(3))
    c = digits.sample(64, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    train = digits.images("train")[0].flatten(1)
    test_only = digits.images("test")[0].flatten(1)
    x = digits.sample(300, torch.Generator().manual_seed(0))[0].flatten(1)
    # every sampled image is a training image
    d_train = torch.cdist(x, train).min(1).values
    assert float(d_train.max()) == 0.0
    assert test_only.shape[0] == 359


def test_bad_arguments(digits):
    with pytest.raises(ValueError, match="split 'valid'.*train, test"):
        digits.images("valid")
    with pytest.raises(ValueError, match="test_fraction"):
        Digits(test_fraction=1.5)
    with pytest.raises(ValueError, match="integer >= 1, got 0"):
        digits.sample(0)


def test_to_unit_range():
    assert torch.equal(to_unit_range(torch.tensor([-1.0, 0.0, 1.0, 3.0])), torch.tensor([0.0, 0.5, 1.0, 1.0]))


def test_mnist_without_torchvision_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # `import torchvision` -> ImportError
    with pytest.raises(DatasetUnavailableError, match="torchvision.*internet.*'digits'") as info:
        get_dataset("mnist")
    assert isinstance(info.value, ValueError)


def test_mnist_download_failure_is_a_clear_error(monkeypatch, tmp_path):
    fake = types.ModuleType("torchvision")
    fake_ds = types.ModuleType("torchvision.datasets")

    class FailingMNIST:
        def __init__(self, root, train=True, download=True):
            raise RuntimeError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    fake_ds.MNIST = FailingMNIST
    fake.datasets = fake_ds
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", fake_ds)
    with pytest.raises(DatasetUnavailableError, match="could not load MNIST.*name resolution.*'digits'"):
        MNIST(root=str(tmp_path))


def test_mnist_with_a_stub_torchvision(monkeypatch, tmp_path):
    """The conversion path (uint8 -> [-1, 1], shape (1, 28, 28)) without a download."""
    fake = types.ModuleType("torchvision")
    fake_ds = types.ModuleType("torchvision.datasets")

    class StubMNIST:
        def __init__(self, root, train=True, download=True):
            n = 20 if train else 10
            self.data = torch.arange(n * 28 * 28, dtype=torch.int64).reshape(n, 28, 28).remainder(256).to(torch.uint8)
            self.targets = torch.arange(n) % 10

    fake_ds.MNIST = StubMNIST
    fake.datasets = fake_ds
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", fake_ds)
    ds = MNIST(root=str(tmp_path))
    assert ds.shape == (1, 28, 28) and ds.num_train == 20 and ds.num_test == 10
    x, y = ds.sample(8, torch.Generator().manual_seed(0))
    assert x.shape == (8, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    xt, _ = ds.images("test")
    assert float(xt.flatten()[0]) == -1.0
    assert abs(float(xt.flatten()[255]) - 1.0) < 1e-6
