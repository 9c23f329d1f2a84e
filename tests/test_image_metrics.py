"""Image metrics (fdiv.evaluation.images): the real-data classifier, class accuracy, Frechet distance."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from fdiv.evaluation import images as im
from fdiv.datasets import get_dataset


@pytest.fixture(scope="module")
def digits():
    return get_dataset("digits")


@pytest.fixture(scope="module")
def clf(digits):
    return im.get_classifier(digits)


class RealDigitsGenerator(nn.Module):
    """A 'perfect' conditional generator: returns held-out real digits of the requested class."""

    def __init__(self, ds, conditional=True):
        super().__init__()
        self.latent_dim, self.num_classes = 2, (10 if conditional else 0)
        self.out_shape = ds.shape
        self.x, self.y = ds.images("test")
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z, y=None):
        idx = (z[:, 0].abs() * 1e4).long()
        if y is None:
            return self.x[idx % len(self.x)]
        out = torch.empty(len(z), *self.out_shape)
        for c in range(10):
            pool = self.x[self.y == c]
            sel = y == c
            out[sel] = pool[idx[sel] % len(pool)]
        return out


class NoiseGenerator(nn.Module):
    def __init__(self, conditional=True):
        super().__init__()
        self.latent_dim, self.num_classes, self.out_shape = 64, (10 if conditional else 0), (1, 8, 8)
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z, y=None):
        return torch.tanh(z).reshape(-1, 1, 8, 8)


def test_classifier_is_accurate_on_held_out_digits(clf, digits):
    assert clf.test_accuracy > 0.9
    assert im.classifier_accuracy(clf, digits, "test") == clf.test_accuracy
    assert im.classifier_accuracy(clf, digits, "train") > 0.95
    assert im.get_classifier("digits") is clf  # memoized in-process
    assert not any(p.requires_grad for p in clf.parameters())


def test_classifier_training_is_deterministic(digits):
    a = im.train_classifier(digits, seed=1, steps=30)
    b = im.train_classifier(digits, seed=1, steps=30)
    c = im.train_classifier(digits, seed=2, steps=30)
    x, _ = digits.images("test")
    assert torch.equal(im.features(x, a), im.features(x, b))
    assert not torch.equal(im.features(x, a), im.features(x, c))


def test_gaussian_frechet_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    s1 = a @ a.T + 0.1 * np.eye(6)
    mu = rng.normal(size=6)
    assert abs(im.gaussian_frechet(mu, s1, mu, s1)) < 1e-8
    # same covariance: the squared distance of the means
    assert math.isclose(im.gaussian_frechet(mu, s1, mu + 2.0, s1), 4.0 * 6, rel_tol=1e-9)
    # diagonal covariances: sum (sqrt(s1) - sqrt(s2))^2
    d1, d2 = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    expect = ((np.sqrt(d1) - np.sqrt(d2)) ** 2).sum()
    assert math.isclose(im.gaussian_frechet(mu, np.diag(d1), mu, np.diag(d2)), expect, rel_tol=1e-9)
    # general case agrees with scipy's sqrtm formula
    import scipy.linalg
    b = rng.normal(size=(6, 6))
    s2 = b @ b.T + 0.1 * np.eye(6)
    ref = np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert math.isclose(im.gaussian_frechet(mu, s1, mu, s2), ref, rel_tol=1e-7)
    # singular covariances are fine (rank deficient features)
    z = np.zeros((6, 6))
    assert math.isclose(im.gaussian_frechet(mu, z, mu, z), 0.0, abs_tol=1e-12)


def test_frechet_distance_zero_for_identical_sets_larger_for_noise(clf, digits):
    x, _ = digits.images("test")
    f = im.features(x, clf)
    assert im.frechet_distance(f, f) < 1e-6
    noise = torch.rand(359, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    train = digits.images("train")[0][:359]
    fd_real = im.frechet_distance(im.features(train, clf), f)
    fd_noise = im.frechet_distance(im.features(noise, clf), f)
    assert fd_noise > 10 * fd_real > 0
    with pytest.raises(ValueError, match="feature sets"):
        im.frechet_distance(f[:, :3], f)
    assert im.frechet_distance(f.clone().fill_(float("nan")), f) == math.inf


def test_class_accuracy_perfect_and_noise_generators(clf, digits):
    from fdiv.gan.models import generate
    y = torch.arange(500) % 10
    perfect = generate(RealDigitsGenerator(digits), 500, labels=y)
    acc = im.class_accuracy(perfect, y, digits, classifier=clf)
    assert acc > 0.9
    noise = generate(NoiseGenerator(), 500, labels=y)
    assert im.class_accuracy(noise, y, digits, classifier=clf) < 0.5
    with pytest.raises(ValueError, match="2 labels for a batch of 3"):
        im.class_accuracy(perfect[:3], [0, 1], digits, classifier=clf)
    with pytest.raises(ValueError, match=r"\[12\].*0\.\.9"):
        im.class_accuracy(perfect[:3], [0, 12, 1], digits, classifier=clf)


def test_evaluate_conditional_and_unconditional(clf, digits):
    from fdiv.gan.models import evaluate_generator
    m = evaluate_generator(digits, RealDigitsGenerator(digits), n=500, seed=0)
    assert set(m) >= {"class_accuracy", "real_accuracy", "accuracy_ratio", "frechet_distance",
                      "frechet_distance_real", "class_kl", "classes_covered", "mean_confidence"}
    assert m["real_accuracy"] == clf.test_accuracy
    assert math.isclose(m["accuracy_ratio"], m["class_accuracy"] / m["real_accuracy"])
    assert m["accuracy_ratio"] > 0.95 and m["classes_covered"] == 10 and m["class_kl"] < 0.05
    noise = evaluate_generator(digits, NoiseGenerator(), n=500, seed=0)
    assert noise["frechet_distance"] > 5 * m["frechet_distance"]
    assert noise["class_accuracy"] < 0.5
    un = evaluate_generator("digits", RealDigitsGenerator(digits, conditional=False), n=500, seed=0)
    assert "class_accuracy" not in un and "accuracy_ratio" not in un
    assert un["classes_covered"] == 10
    with pytest.raises(ValueError, match="unconditional"):
        evaluate_generator(digits, NoiseGenerator(conditional=False), n=10, labels=[0] * 10)
    with pytest.raises(ValueError, match="image dataset"):
        im.evaluate("ring8", torch.zeros(10, 1, 8, 8))
    # the trainer's entry point dispatches here
    from fdiv.evaluation import evaluate
    from fdiv.gan.models import generate
    y = torch.arange(500) % 10
    assert evaluate(digits, generate(RealDigitsGenerator(digits), 500, labels=y), labels=y) == m


def test_image_grid():
    from fdiv.viz.plots import tile_images

    def image_grid(x, nrow, padding=1):
        return tile_images(x, nrow, padding=padding)[0]

    x = torch.linspace(-1, 1, 7 * 64).reshape(7, 1, 8, 8)
    g = image_grid(x, nrow=3, padding=1)
    assert g.shape == (3 * 9 + 1, 3 * 9 + 1)
    assert g.min() >= 0 and g.max() <= 1
    assert np.allclose(g[1:9, 1:9], ((x[0, 0] + 1) / 2).numpy())
    assert np.allclose(g[10:18, 1:9], ((x[3, 0] + 1) / 2).numpy())  # row 2 starts with image 3
    rgb = image_grid(torch.zeros(2, 3, 4, 4), nrow=2, padding=0)
    assert rgb.shape == (4, 8, 3) and np.allclose(rgb, 0.5)
    with pytest.raises(ValueError, match="nrow"):
        image_grid(x, nrow=0)


def test_trainer_integration_conditional_digits(clf, tmp_path):
    """A few steps of `fdiv train --dataset digits --conditional` through the library: the DC-GAN
    defaults, the image metrics at the end, and a checkpoint that rebuilds the same generator."""
    from fdiv.gan.conv import DCGenerator
    from fdiv.gan.training import models_from_checkpoint, train
    res = train(dataset="digits", conditional=True, steps=3, batch_size=16, eval_samples=100, device="cpu",
                progress=False, out=tmp_path, seed=0)
    assert isinstance(res.generator, DCGenerator) and res.generator.num_classes == 10
    m = res.metrics
    assert {"class_accuracy", "accuracy_ratio", "frechet_distance"} <= set(m)
    assert m["real_accuracy"] == clf.test_accuracy and 0 <= m["class_accuracy"] <= 1
    G, _, cfg = models_from_checkpoint(tmp_path)
    assert cfg.conditional and cfg.batch_size == 16
    x1 = res.sample(20, seed=1)
    from fdiv.viz.plots import tile_images
    x2, _ = tile_images(x1, nrow=10)  # 2 rows of 10
    assert x2.shape == (2 * 9 + 1, 10 * 9 + 1)
    from fdiv.gan.models import generate
    assert torch.allclose(generate(G, 20, seed=1), x1)


def test_28x28_pipeline_on_a_synthetic_dataset():
    """The MNIST-sized path (classifier with three convolutions, 28x28 DC-GAN) without MNIST."""
    from fdiv.gan.conv import default_models
    from fdiv.datasets.images import ImageDataset

    class Bars(ImageDataset):
        name, shape, num_classes = "bars28", (1, 28, 28), 10

        def __init__(self):
            super().__init__()
            for split, n in (("train", 200), ("test", 50)):
                y = torch.arange(n) % 10
                x = -torch.ones(n, 1, 28, 28)
                for i in range(n):
                    x[i, 0, :, 2 * int(y[i]) + 4] = 1.0  # class k: a vertical bar in column 2k+4
                self._x[split], self._y[split] = x, y

    ds = Bars()
    c = im.train_classifier(ds, steps=40, batch_size=32, device="cpu")
    assert c.test_accuracy > 0.5 and im.features(ds.images("test")[0], c).shape == (50, 64)
    G, D = default_models(ds, conditional=True)
    assert G(torch.randn(4, G.latent_dim), torch.arange(4)).shape == (4, 1, 28, 28)
    from fdiv.gan.models import generate
    y = torch.arange(40) % 10
    m = im.evaluate(ds, generate(G, 40, labels=y), labels=y, classifier=c)
    assert 0 <= m["class_accuracy"] <= 1 and m["frechet_distance"] > 0
