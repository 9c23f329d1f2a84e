"""Quality of generated images, judged by an independent classifier (chapters 10-12).

A small convolutional classifier ``c`` is trained on the *real* training images of the dataset
(deterministic from its seed, a few seconds on a CPU for ``digits``, memoized in-process) and never
sees a generated image. Then, for a generator g_theta:

* ``real_accuracy``: accuracy of c on the held-out real images (how good the judge is);
Every metric is a function of generated images (and the labels they were drawn with); drawing them
from a generator is :func:`fdiv.gan.training.evaluate_generator`'s job.

* ``class_accuracy`` (conditional generators, chapter 11): the fraction of samples
  x = g_theta(z, y), y balanced over the classes, that c labels y:
  (1/n) sum_i 1[argmax_k c_k(g_theta(z_i, y_i)) = y_i];
* ``accuracy_ratio`` = class_accuracy / real_accuracy (1 = the samples are as recognisable as
  real held-out digits);
* ``frechet_distance``: the Frechet distance between Gaussians fitted to the classifier's
  penultimate features phi(x) of generated and of held-out real images,
  FD = ||mu_g - mu_r||^2 + tr(S_g + S_r - 2 (S_r^{1/2} S_g S_r^{1/2})^{1/2})
  (the FID recipe of Heusel et al. (2017), with this small classifier in place of Inception;
  computed in float64 with symmetric eigendecompositions). ``frechet_distance_real`` is the same
  distance between as many real *training* images and the held-out ones: the floor that finite
  samples allow;
* ``class_kl``: KL(predicted label histogram || uniform), 0 when every class is produced equally
  often (detects mode collapse of an unconditional generator); ``classes_covered``: classes that
  receive at least 1% of the samples; ``mean_confidence``: mean max_k softmax(c(x))_k.

"""
from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np
import torch
from torch import Tensor, nn
import torch.nn.functional as F

from fdiv.datasets.base import check_labels
from fdiv.core.estimate import kl_to_uniform

__all__ = ["DigitClassifier", "get_classifier", "train_classifier", "classifier_accuracy",
           "predict", "features", "class_accuracy", "frechet_distance", "gaussian_frechet",
           "evaluate"]


class DigitClassifier(nn.Module):
    """Small CNN: Conv(3x3, stride s) ReLU -> Conv(3x3, stride 2) ReLU -> flatten -> Linear -> ReLU
    = features phi(x) in R^feature_dim -> Linear -> logits (N, K). s = 1 for 8x8 images (8 -> 8 -> 4),
    s = 2 for larger ones (28 -> 14 -> 7)."""

    def __init__(self, image_shape=(1, 8, 8), num_classes: int = 10, feature_dim: int = 64,
                 dropout: float = 0.25):
        super().__init__()
        c, h, w = (int(s) for s in image_shape)
        s1 = 2 if min(h, w) > 8 else 1
        layers = [nn.Conv2d(c, 32, 3, stride=s1, padding=1), nn.ReLU(),
                  nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU()]
        for s in (s1, 2):
            h, w = (h - 1) // s + 1, (w - 1) // s + 1
        layers += [nn.Flatten(), nn.Dropout(dropout), nn.Linear(64 * h * w, feature_dim), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(feature_dim, num_classes)
        self.image_shape, self.num_classes, self.feature_dim = (c, *image_shape[1:]), num_classes, feature_dim
        self.test_accuracy: float = float("nan")
        self.train_seconds: float = float("nan")

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


_CACHE: dict = {}


class _cpu_threads:
    """Run tiny CPU workloads on ``n`` intra-op threads (restored afterwards): for networks this small,
    extra threads only add synchronisation, and on a busy machine they slow training down many times."""

    def __init__(self, device, n: int = 1):
        self.active = torch.device(device).type == "cpu"
        self.n = n

    def __enter__(self):
        if self.active:
            self.saved = torch.get_num_threads()
            torch.set_num_threads(min(self.n, self.saved))
        return self

    def __exit__(self, *exc):
        if self.active:
            torch.set_num_threads(self.saved)
        return False


def _dataset(dataset):
    from fdiv.datasets import get_dataset
    ds = get_dataset(dataset)
    if getattr(ds, "kind", None) != "image" or not hasattr(ds, "images"):
        raise ValueError(f"image metrics need an image dataset (digits, mnist), got {getattr(ds, 'name', ds)!r}")
    return ds


def train_classifier(dataset="digits", seed: int = 0, steps: Optional[int] = None, batch_size: int = 64,
                     lr: float = 3e-3, device=None) -> DigitClassifier:
    """Train a :class:`DigitClassifier` on the real training images of ``dataset`` (cross-entropy,
    Adam, random one-pixel shifts as augmentation), deterministically from ``seed``; its held-out
    accuracy is stored in ``.test_accuracy``. Uses its own RNGs: the global torch RNG is untouched.
    Default ``steps``: 800 for 8x8 images (about 98% held-out accuracy on digits, a few seconds),
    3,000 (batch 128) for larger ones."""
    from fdiv.core.runtime import default_device
    ds = _dataset(dataset)
    big = ds.shape[1] > 8
    if device is None:
        device = default_device() if big else torch.device("cpu")
    device = default_device(device)
    steps = int(steps if steps is not None else (3000 if big else 800))
    if big and batch_size == 64:
        batch_size = 128
    x_train, y_train = ds.images("train")
    gen = torch.Generator().manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = DigitClassifier(ds.shape, ds.num_classes).to(device)
    with _cpu_threads(device):
        model = _fit(model, ds, x_train, y_train, gen, steps, batch_size, lr, device)
    model.test_accuracy = classifier_accuracy(model, ds, "test")
    return model


def _fit(model, ds, x_train, y_train, gen, steps, batch_size, lr, device):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.perf_counter()
    model.train()
    pad = 1
    for _ in range(steps):
        idx = torch.randint(len(y_train), (batch_size,), generator=gen)
        xb, yb = x_train[idx], y_train[idx]
        # augmentation: random shift by up to one pixel (pad with background -1, random crop)
        dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
        xb = F.pad(xb, (pad, pad, pad, pad), value=-1.0)[:, :, dy:dy + ds.shape[1], dx:dx + ds.shape[2]]
        drop = torch.rand(1, generator=gen)  # dropout mask seed from our generator: deterministic
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(drop.item() * 2**31))
            loss = F.cross_entropy(model(xb.to(device)), yb.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    model.train_seconds = time.perf_counter() - t0
    return model


def get_classifier(dataset="digits", seed: int = 0, device=None) -> DigitClassifier:
    """The classifier for ``dataset`` trained by :func:`train_classifier` (memoized per process by
    dataset, image shape, seed and device)."""
    ds = _dataset(dataset)
    key = (ds.name, tuple(ds.shape), getattr(ds, "test_fraction", None), getattr(ds, "split_seed", None),
           int(seed), None if device is None else str(device))
    if key not in _CACHE:
        _CACHE[key] = train_classifier(ds, seed=seed, device=device)
    return _CACHE[key]


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _batched(fn, x: Tensor, device, batch: int = 2048) -> Tensor:
    with _cpu_threads(device):
        return torch.cat([fn(x[i:i + batch].to(device=device, dtype=torch.float32)).cpu()
                          for i in range(0, x.shape[0], batch)])


def _check_images(x, shape) -> Tensor:
    x = torch.as_tensor(x)
    if x.dim() == 3 and shape[0] == 1:
        x = x.unsqueeze(1)
    if x.dim() != 4 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"images must have shape (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}")
    return x


def predict(x: Tensor, classifier: DigitClassifier) -> Tensor:
    """Predicted labels argmax_k c_k(x) for images x (N, C, H, W) in [-1, 1] (CPU int64)."""
    x = _check_images(x, classifier.image_shape)
    return _batched(classifier, x, _model_device(classifier)).argmax(1)


def features(x: Tensor, classifier: DigitClassifier) -> Tensor:
    """Penultimate features phi(x) (N, feature_dim), CPU float32."""
    x = _check_images(x, classifier.image_shape)
    return _batched(classifier.features, x, _model_device(classifier))


def classifier_accuracy(classifier: DigitClassifier, dataset="digits", split: str = "test") -> float:
    """Accuracy of ``classifier`` on the real images of ``split``."""
    x, y = _dataset(dataset).images(split)
    return float((predict(x, classifier) == y).double().mean())


def class_accuracy(images, labels, dataset="digits", classifier: Optional[DigitClassifier] = None) -> float:
    """Fraction of conditional samples x_i = g(z_i, y_i) that the real-data classifier labels y_i (chapter 11):
    (1/n) sum_i 1[argmax_k c_k(x_i) = y_i].  ``labels``: the n labels the samples were drawn with."""
    classifier = classifier or get_classifier(dataset)
    y = check_labels(labels, classifier.num_classes, batch=len(images))
    return float((predict(images, classifier) == y).double().mean())


def gaussian_frechet(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Frechet (2-Wasserstein) distance^2 between N(mu1, S1) and N(mu2, S2), float64:
    ||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1^{1/2} S2 S1^{1/2})^{1/2}.
    Square roots by symmetric eigendecomposition (negative round-off eigenvalues clipped to 0)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(s1, np.float64), np.asarray(s2, np.float64)
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    r1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = r1 @ s2 @ r1
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    d = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross)
    return max(d, 0.0)


def frechet_distance(a, b) -> float:
    """Frechet distance between Gaussians fitted (mean, covariance) to two feature sets a (N, d), b (M, d)."""
    a = np.asarray(a.detach().cpu() if torch.is_tensor(a) else a, np.float64)
    b = np.asarray(b.detach().cpu() if torch.is_tensor(b) else b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"feature sets must have shapes (N, d), (M, d) with N, M >= 2; got {a.shape}, {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.inf
    return gaussian_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def evaluate(dataset, images, labels=None, seed: int = 0, classifier: Optional[DigitClassifier] = None) -> dict:
    """Metrics of generated ``images`` (n, C, H, W) in [-1, 1] on an image ``dataset``.

    Returns a dict with ``real_accuracy``, ``frechet_distance``, ``frechet_distance_real``,
    ``class_kl``, ``classes_covered``, ``mean_confidence`` and, when the images were drawn conditionally
    on ``labels`` (n class labels), ``class_accuracy`` and ``accuracy_ratio`` (see the module docstring).
    ``seed`` picks the real training images of the floor ``frechet_distance_real``.
    """
    ds = _dataset(dataset)
    x = torch.as_tensor(images)
    n = x.shape[0] if x.dim() else 0
    if n < 2:
        raise ValueError(f"evaluation needs at least 2 images, got {n}")
    clf = classifier or get_classifier(ds)
    out = {"real_accuracy": float(clf.test_accuracy)}
    with torch.no_grad():
        logits = _batched(clf, _check_images(x, clf.image_shape), _model_device(clf))
    pred = logits.argmax(1)
    if labels is not None:
        y = check_labels(labels, ds.num_classes, batch=n)
        acc = float((pred == y).double().mean())
        out["class_accuracy"] = acc
        out["accuracy_ratio"] = acc / out["real_accuracy"] if out["real_accuracy"] > 0 else float("nan")
    hist = torch.bincount(pred, minlength=ds.num_classes).double() / n
    out["class_kl"] = kl_to_uniform(hist)
    out["classes_covered"] = int((hist >= 0.01).sum())
    out["mean_confidence"] = float(torch.softmax(logits.double(), 1).max(1).values.mean())
    x_test, _ = ds.images("test")
    f_test = features(x_test, clf)
    out["frechet_distance"] = frechet_distance(features(x, clf), f_test)
    x_train, _ = ds.images("train")
    m = min(n, x_train.shape[0])
    idx = torch.randperm(x_train.shape[0], generator=torch.Generator().manual_seed(int(seed)))[:m]
    out["frechet_distance_real"] = frechet_distance(features(x_train[idx], clf), f_test)
    return out
