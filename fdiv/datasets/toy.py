"""The 1-D and 2-D toy data sets of chapters 5-9 (the contract is :class:`fdiv.datasets.base.Dataset`).

Besides ``sample``, toy sets have ``log_prob(x)`` / ``density(x)`` (the exact data density) and, for the
mode benchmarks ``ring8``/``grid25``, ``centers`` (K x 2 tensor) and ``std`` (float).

Toy definitions (those of the PacGAN benchmark, so results compare with the literature):

* ``ring8``: mixture of 8 equal Gaussians, centres (cos 2 pi i/8, sin 2 pi i/8), std 0.01.
* ``grid25``: mixture of 25 equal Gaussians, centres on {-4,-2,0,2,4}^2, std 0.05.
* ``x``: the two diagonals of the square [-1, 1]^2 (chapter 9's counter-example to the restricted
  classifier): ``get_dataset("x")`` is P, uniform on the diagonal y = x plus N(0, 0.05^2) noise across
  it; ``.other()`` is Q, the same on the anti-diagonal y = -x; ``get_dataset("x", part="both")`` is the
  whole "X" (equal mixture, label = which diagonal when ``labelled=True``).
* ``mixture1d``: 1-D mixture 0.6 N(-2, 0.5^2) + 0.4 N(2, 0.5^2) (``.distribution`` is the
  ``torch.distributions.MixtureSameFamily``), for the single-Gaussian fit of the f-GAN paper, Sec. 4.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from fdiv.datasets.base import Dataset

__all__ = ["GaussianMixture2D", "Ring8", "Grid25", "Diagonal", "XShape", "Mixture1D", "x_factory", "TOY_DEFAULTS"]

# Training defaults of the toy sets (Dataset.train_defaults, updated): a cosine learning-rate schedule
# and an exponential moving average of the generator's weights (decay 0.99), which together sharpen the
# modes far more than the DC-GAN recipe (2e-4, betas (0.5, 0.999)) in the same number of steps (tuned
# on a 2-core CPU towards the benchmark's targets: all 8/25 modes, >= 98% / 95% high quality, reverse KL
# <= 0.03, within a minute).  Per-divergence recipes (fdiv/gan/training/recipes.py) go on top.
TOY_DEFAULTS = {**Dataset.train_defaults, "lr_schedule": "cosine", "ema": 0.99}


class GaussianMixture2D(Dataset):
    """Equal-weight mixture of isotropic 2-D Gaussians with given ``centers`` and common ``std``.

    p(x) = (1/K) sum_k N(x; c_k, std^2 I).  With ``labelled=True`` the label is the component index k.
    """

    kind = "2d"
    shape = (2,)

    def __init__(self, name: str, centers: Tensor, std: float, labelled: bool = False):
        self.name = name
        self.centers = torch.as_tensor(centers, dtype=torch.float32)
        if self.centers.ndim != 2 or self.centers.shape[1] != 2:
            raise ValueError("centers must have shape (K, 2)")
        if not std > 0:
            raise ValueError(f"std must be positive, got {std!r}")
        self.std = float(std)
        self.num_classes = self.centers.shape[0] if labelled else 0

    @property
    def num_modes(self) -> int:
        return self.centers.shape[0]

    def _sample(self, n, generator):
        k = torch.randint(self.num_modes, (n,), generator=generator)
        x = self.centers[k] + self.std * torch.randn(n, 2, generator=generator)
        return (x, k) if self.labelled else x

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) for points ``x`` of shape (..., 2) (logsumexp over the components)."""
        x = torch.as_tensor(x)
        dt = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        x = x.to(dt)
        c = self.centers.to(device=x.device, dtype=dt)
        d2 = ((x.unsqueeze(-2) - c) ** 2).sum(-1)
        s2 = self.std ** 2
        log_comp = -d2 / (2 * s2) - math.log(2 * math.pi * s2)
        return torch.logsumexp(log_comp, dim=-1) - math.log(self.num_modes)

    def density(self, x: Tensor) -> Tensor:
        return self.log_prob(x).exp()

    @property
    def bounds(self) -> Tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax) of a plotting window around the data."""
        lo = self.centers.min(0).values - 0.25 * (self.centers.max(0).values - self.centers.min(0).values) - 6 * self.std
        hi = self.centers.max(0).values + 0.25 * (self.centers.max(0).values - self.centers.min(0).values) + 6 * self.std
        return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


class Ring8(GaussianMixture2D):
    """``ring8``: 8 Gaussians, centres (cos 2 pi i/8, sin 2 pi i/8), std 0.01 (PacGAN)."""

    train_defaults = {**TOY_DEFAULTS, "steps": 4000}

    def __init__(self, labelled: bool = False):
        a = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
        super().__init__("ring8", torch.stack([a.cos(), a.sin()], 1).float(), 0.01, labelled)


class Grid25(GaussianMixture2D):
    """``grid25``: 25 Gaussians, centres {-4,-2,0,2,4}^2, std 0.05 (PacGAN)."""

    # batch 256: about 10 points of each of the 25 modes a step; a moving average over about the last
    # 1,000 steps (decay 0.999), which averages out the modes' drift (fdiv/gan/training/recipes.py)
    train_defaults = {**TOY_DEFAULTS, "steps": 5000, "batch_size": 256, "ema": 0.999}

    def __init__(self, labelled: bool = False):
        g = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        c = torch.stack(torch.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
        super().__init__("grid25", c, 0.05, labelled)


class Diagonal(Dataset):
    """Uniform on a diagonal of [-1, 1]^2 plus Gaussian noise of std ``noise`` across it.

    ``sign=+1``: the diagonal y = x (P of chapter 9); ``sign=-1``: y = -x (Q).  Density:
    p(x) = N(a_perp; 0, s^2) * [Phi((L - a)/s) - Phi((-L - a)/s)] / (2L), with a = <x, e>,
    a_perp = <x, e_perp>, e = (1, sign)/sqrt 2, L = sqrt 2 (half-length of the diagonal).
    """

    kind = "2d"
    shape = (2,)
    num_classes = 0
    train_defaults = TOY_DEFAULTS

    def __init__(self, sign: int = 1, noise: float = 0.05):
        if sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {sign!r}")
        self.sign = sign
        self.noise = float(noise)
        self.name = "x"
        self.part = "p" if sign == 1 else "q"
        self.bounds = (-1.5, 1.5, -1.5, 1.5)

    def _dirs(self, dtype=torch.float32, device=None):
        e = torch.tensor([1.0, float(self.sign)], dtype=dtype, device=device) / math.sqrt(2)
        ep = torch.tensor([-float(self.sign), 1.0], dtype=dtype, device=device) / math.sqrt(2)
        return e, ep

    def _sample(self, n, generator):
        t = 2 * torch.rand(n, generator=generator) - 1
        eps = self.noise * torch.randn(n, 2, generator=generator)
        return torch.stack([t, self.sign * t], 1) + eps

    def log_prob(self, x: Tensor) -> Tensor:
        x = torch.as_tensor(x)
        dt = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        x = x.to(dt)
        e, ep = self._dirs(dt, x.device)
        a, ap = x @ e, x @ ep
        s, L = self.noise, math.sqrt(2)
        normal = torch.distributions.Normal(torch.zeros((), dtype=dt, device=x.device), torch.ones((), dtype=dt, device=x.device))
        mass = normal.cdf((L - a) / s) - normal.cdf((-L - a) / s)
        return (-0.5 * (ap / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))
                + torch.log(mass.clamp_min(torch.finfo(dt).tiny)) - math.log(2 * L))

    def density(self, x: Tensor) -> Tensor:
        return self.log_prob(x).exp()

    def other(self) -> "Diagonal":
        """The other diagonal (Q if this is P and vice versa)."""
        return Diagonal(-self.sign, self.noise)


class XShape(Dataset):
    """Both diagonals ("X"): the equal mixture (P + Q)/2; label 0 = diagonal y = x, 1 = y = -x."""

    kind = "2d"
    shape = (2,)
    train_defaults = TOY_DEFAULTS

    def __init__(self, noise: float = 0.05, labelled: bool = False):
        self.name = "x"
        self.part = "both"
        self.p, self.q = Diagonal(1, noise), Diagonal(-1, noise)
        self.noise = float(noise)
        self.num_classes = 2 if labelled else 0
        self.bounds = (-1.5, 1.5, -1.5, 1.5)

    def _sample(self, n, generator):
        lab = torch.randint(2, (n,), generator=generator)
        t = 2 * torch.rand(n, generator=generator) - 1
        eps = self.noise * torch.randn(n, 2, generator=generator)
        sign = 1.0 - 2.0 * lab.float()
        x = torch.stack([t, sign * t], 1) + eps
        return (x, lab) if self.labelled else x

    def log_prob(self, x: Tensor) -> Tensor:
        return torch.logaddexp(self.p.log_prob(x), self.q.log_prob(x)) - math.log(2)

    def density(self, x: Tensor) -> Tensor:
        return self.log_prob(x).exp()


class Mixture1D(Dataset):
    """1-D mixture sum_k w_k N(mu_k, s_k^2); default 0.6 N(-2, 0.5^2) + 0.4 N(2, 0.5^2).

    ``.distribution`` is the ``torch.distributions.MixtureSameFamily`` (float64) used for exact
    divergences by quadrature (``fdiv.integrate``) and the f-GAN paper's single-Gaussian fit (chapter 5).
    Samples have shape (n, 1).
    """

    kind = "1d"
    shape = (1,)
    # smaller MLPs for 1-D data: latent_dim 1, two hidden layers of 64
    train_defaults = {**TOY_DEFAULTS, "model": dict(latent_dim=1, hidden=64, depth=2)}

    def __init__(self, weights=(0.6, 0.4), means=(-2.0, 2.0), stds=(0.5, 0.5), labelled: bool = False):
        w = torch.as_tensor(weights, dtype=torch.float64)
        m = torch.as_tensor(means, dtype=torch.float64)
        s = torch.as_tensor(stds, dtype=torch.float64)
        if not (w.shape == m.shape == s.shape) or w.ndim != 1 or len(w) < 1:
            raise ValueError("weights, means and stds must be 1-D sequences of equal length")
        if (w <= 0).any() or (s <= 0).any():
            raise ValueError("weights and stds must be positive")
        self.name = "mixture1d"
        self.weights, self.means, self.stds = w / w.sum(), m, s
        self.num_classes = len(w) if labelled else 0
        self.distribution = torch.distributions.MixtureSameFamily(
            torch.distributions.Categorical(probs=self.weights), torch.distributions.Normal(m, s))
        self.bounds = (float((m - 4 * s).min()), float((m + 4 * s).max()))

    def _sample(self, n, generator):
        k = torch.multinomial(self.weights.float(), n, replacement=True, generator=generator)
        x = self.means.float()[k] + self.stds.float()[k] * torch.randn(n, generator=generator)
        x = x.unsqueeze(1)
        return (x, k) if self.labelled else x

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x); ``x`` of shape (n, 1) or (n,)."""
        x = torch.as_tensor(x)
        if x.ndim >= 1 and x.shape[-1] == 1 and x.ndim == 2:
            x = x[:, 0]
        dt = x.dtype if x.is_floating_point() else torch.float64
        return self.distribution.log_prob(x.to(torch.float64)).to(dt)

    def density(self, x: Tensor) -> Tensor:
        return self.log_prob(x).exp()


def x_factory(part: str = "p", noise: float = 0.05, labelled: bool = False):
    if part == "p":
        return Diagonal(1, noise)
    if part == "q":
        return Diagonal(-1, noise)
    if part == "both":
        return XShape(noise, labelled)
    raise ValueError(f"part must be one of 'p', 'q', 'both', got {part!r}")

