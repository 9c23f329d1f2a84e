"""Convolutional generators and critics: the DC-GAN (chapter 10) and its conditional form (chapter 11).

DC-GAN generator (chapter 10, "Deep Convolutional GAN")::

    z in R^k  --Linear-->  reshape to a C x (H/4) x (W/4) map
              --ConvTranspose2d(stride 2) + BatchNorm + ReLU-->  C/2 x (H/2) x (W/2)
              --ConvTranspose2d(stride 2) + Tanh-->              c x H x W   (in [-1, 1])

Critic: strided convolutions with LeakyReLU(0.2) downsample the image to a small map, a
linear layer reads off the raw score V_w(x) in R. There is no sigmoid: the witness is
T_w(x) = sigma_f(V_w(x)) with the divergence's own output activation sigma_f (chapter 4),
so the same critic serves every f-divergence (for the GAN, sigma_f = log sigmoid and
D_w(x) = sigmoid(V_w(x))).

Conditional versions (chapter 11, "Conditional GAN"): g_theta(z, y) and V_w(x, y).

* generator: the label enters as a one-hot vector e_y in {0,1}^K (``label_encoding="onehot"``)
  or a learned embedding E[y] in R^m (``label_encoding="embedding"``), concatenated to z.
* critic: ``conditioning="concat"`` appends K constant one-hot planes to the image channels,
  V_w(x, y) = V(concat(x, e_y 1_{HxW}));  ``conditioning="projection"`` is the projection
  critic V_w(x, y) = psi(phi(x)) + <E[y], phi(x)> (Miyato & Koyama, 2018).

Sizes: ``image_shape=(1, 8, 8)`` for scikit-learn's digits (small, fast on a CPU) and
``(1, 28, 28)`` for MNIST (GPU / Colab). Any H, W divisible by 4 work.

``trace_shapes(model, *inputs)`` lists (layer, output shape) through a forward pass: the
book's "transposed convolutions traced" section.  ``default_models(dataset, conditional)``
builds the (generator, critic) pair sized for a dataset.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
import torch.nn.functional as F

from fdiv.core.checks import check_choice
from fdiv.datasets.base import check_labels

__all__ = [
    "Reshape",
    "DCGenerator",
    "DCCritic",
    "dcgan_init",
    "trace_shapes",
    "format_trace",
    "default_models",
    "check_labels",
    "LABEL_ENCODINGS",
    "CONDITIONINGS",
]

LABEL_ENCODINGS = ("onehot", "embedding")
CONDITIONINGS = ("concat", "projection")


def _check_shape(image_shape) -> tuple[int, int, int]:
    try:
        c, h, w = (int(s) for s in image_shape)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"image_shape must be (channels, height, width), got {image_shape!r}") from exc
    if c < 1 or h < 4 or w < 4 or h % 4 or w % 4:
        raise ValueError(f"image_shape {image_shape!r} not supported: need channels >= 1 and height, "
                         f"width positive multiples of 4 (e.g. (1, 8, 8) digits, (1, 28, 28) MNIST)")
    return c, h, w


class Reshape(nn.Module):
    """Reshape (N, prod(shape)) to (N, *shape): the "reshape" step z -> low-resolution feature map."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def dcgan_init(module: nn.Module) -> nn.Module:
    """DC-GAN initialisation (Radford et al., 2016): conv / linear weights ~ N(0, 0.02^2), biases 0,
    BatchNorm scales ~ N(1, 0.02^2), shifts 0. Embeddings keep their own initialisation (the
    generator's label embedding N(0, 1), like z; the projection critic's is set to N(0, 0.02^2)
    where it is built). Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


class DCGenerator(nn.Module):
    """DC-GAN generator g_theta(z) or, with ``num_classes > 0``, g_theta(z, y) (chapters 10-11).

    z in R^k (plus the label code) -> Linear -> reshape to ``channels`` x H/4 x W/4
    -> [BatchNorm, ReLU, ConvTranspose2d(4, stride 2, pad 1)] doubles H, W and halves channels
    -> ... -> Tanh: an image c x H x W with pixels in [-1, 1].

    Attributes: ``latent_dim`` (k), ``num_classes`` (0 when unconditional), ``out_shape`` (= ``image_shape``).
    An unconditional generator ignores ``y``; a conditional one checks it (``ValueError`` when missing
    or out of range).
    """

    def __init__(self, latent_dim: int = 32, image_shape=(1, 8, 8), num_classes: int = 0,
                 channels: int = 128, label_encoding: str = "onehot", embed_dim: int | None = None,
                 init: bool = True):
        super().__init__()
        c, h, w = _check_shape(image_shape)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        if int(num_classes) < 0 or int(num_classes) == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or >= 2, got {num_classes!r}")
        if int(channels) < 2:
            raise ValueError(f"channels must be >= 2, got {channels!r}")
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.image_shape = self.out_shape = (c, h, w)
        self.label_encoding = check_choice("label_encoding", label_encoding, LABEL_ENCODINGS)
        ch = int(channels)
        if self.num_classes:
            if self.label_encoding == "embedding":
                self.embed_dim = int(embed_dim or min(self.num_classes, 16))
                self.embed = nn.Embedding(self.num_classes, self.embed_dim)
                code = self.embed_dim
            else:
                self.embed_dim = self.num_classes
                code = self.num_classes
        else:
            code = 0
        self.net = nn.Sequential(
            nn.Linear(self.latent_dim + code, ch * (h // 4) * (w // 4), bias=False),
            Reshape(ch, h // 4, w // 4),
            nn.BatchNorm2d(ch),
            nn.ReLU(),
            nn.ConvTranspose2d(ch, ch // 2, kernel_size=4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ch // 2),
            nn.ReLU(),
            nn.ConvTranspose2d(ch // 2, c, kernel_size=4, stride=2, padding=1),
            nn.Tanh(),
        )
        if init:
            dcgan_init(self)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def label_code(self, y: torch.Tensor) -> torch.Tensor:
        """The label's code: one-hot e_y (N, K) or the embedding E[y] (N, m)."""
        if self.label_encoding == "embedding":
            return self.embed(y)
        return F.one_hot(y, self.num_classes).to(self.net[0].weight.dtype)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        if self.num_classes:
            y = check_labels(y, self.num_classes, batch=z.shape[0], device=z.device)
            z = torch.cat([z, self.label_code(y).to(z.dtype)], dim=1)
        return self.net(z)  # an unconditional generator ignores y (as the MLPs of fdiv.gan.models do)

    @torch.no_grad()
    def sample(self, n: int, y=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images x = g_theta(z, y), z ~ N(0, I) (eval mode, no gradients); chapter 12 (inference)."""
        p = next(self.parameters())
        z = torch.randn(int(n), self.latent_dim, generator=generator).to(device=p.device, dtype=p.dtype)
        if y is not None:
            y = check_labels(y, self.num_classes, batch=int(n), device=p.device)
        was = self.training
        self.eval()
        try:
            return self(z, y)
        finally:
            self.train(was)


class DCCritic(nn.Module):
    """DC-GAN critic V_w(x) (or V_w(x, y)) in R, raw score of shape (N,) (chapters 10-11).

    x (c x H x W) -> Conv2d(4, stride 2, pad 1) + LeakyReLU(0.2) -> H/2
                  -> Conv2d(4, stride 2, pad 1) [+ norm] + LeakyReLU(0.2) -> H/4
                  -> flatten = phi(x) -> Linear -> V_w(x).
    No sigmoid: T_w = sigma_f(V_w) is applied by the objective. ``norm``: "none" (default),
    "batch" (classic DC-GAN; couples the samples of a batch), "spectral" (spectral normalisation
    of every layer) or "layer" (GroupNorm with one group).  ``dropout`` before the last layer.
    Conditional critics (``num_classes > 0``) use ``conditioning="concat"`` (one-hot planes) or
    ``"projection"``.
    """

    NORMS = ("none", "batch", "layer", "spectral")

    def __init__(self, image_shape=(1, 8, 8), num_classes: int = 0, channels: int = 64,
                 conditioning: str = "projection", norm: str = "none", dropout: float = 0.0,
                 init: bool = True):
        super().__init__()
        c, h, w = _check_shape(image_shape)
        if int(num_classes) < 0 or int(num_classes) == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or >= 2, got {num_classes!r}")
        self.image_shape = (c, h, w)
        self.num_classes = int(num_classes)
        self.conditioning = check_choice("conditioning", conditioning, CONDITIONINGS)
        self.norm = check_choice("norm", norm, self.NORMS)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        ch = int(channels)
        in_ch = c + (self.num_classes if self.num_classes and self.conditioning == "concat" else 0)
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, ch, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ch, 2 * ch, kernel_size=4, stride=2, padding=1, bias=self.norm != "batch"),
        ]
        if self.norm == "batch":
            layers.append(nn.BatchNorm2d(2 * ch))
        elif self.norm == "layer":
            layers.append(nn.GroupNorm(1, 2 * ch))
        layers += [nn.LeakyReLU(0.2), nn.Flatten()]
        if dropout:
            layers.append(nn.Dropout(float(dropout)))
        self.features = nn.Sequential(*layers)
        self.feature_dim = 2 * ch * (h // 4) * (w // 4)
        self.head = nn.Linear(self.feature_dim, 1)
        if self.num_classes and self.conditioning == "projection":
            self.embed = nn.Embedding(self.num_classes, self.feature_dim)
        if init:
            dcgan_init(self)
            if self.num_classes and self.conditioning == "projection":
                nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if self.norm == "spectral":  # after the initialisation: it reparametrises the weights
            sn = nn.utils.parametrizations.spectral_norm
            for i, m in enumerate(self.features):
                if isinstance(m, nn.Conv2d):
                    self.features[i] = sn(m)
            self.head = sn(self.head)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x must have shape (N, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(x.shape)}")
        if self.num_classes:
            y = check_labels(y, self.num_classes, batch=x.shape[0], device=x.device)
            if self.conditioning == "concat":
                planes = F.one_hot(y, self.num_classes).to(x.dtype)[:, :, None, None]
                x = torch.cat([x, planes.expand(-1, -1, x.shape[2], x.shape[3])], dim=1)
        phi = self.features(x)
        v = self.head(phi).squeeze(1)
        if self.num_classes and self.conditioning == "projection":
            v = v + (self.embed(y).to(phi.dtype) * phi).sum(dim=1)
        return v


def trace_shapes(model: nn.Module, *inputs: Any) -> list[tuple[str, tuple[int, ...]]]:
    """Run ``model(*inputs)`` once (eval mode, no gradients) and list (layer, output shape).

    The first row is ("input", shape of the first input); then one row per leaf module in
    execution order, named like "ConvTranspose2d(64->1, k4, s2)" so the table reads on its own
    (chapter 10, "transposed convolutions traced"). Example::

        trace_shapes(DCGenerator(16, (1, 8, 8)), torch.randn(1, 16))
        # [('input', (1, 16)), ('Linear(16->512)', (1, 512)), ('Reshape(128, 2, 2)', (1, 128, 2, 2)), ...]
    """
    if not inputs:
        raise ValueError("trace_shapes needs at least one input tensor")
    rows: list[tuple[str, tuple[int, ...]]] = [("input", tuple(inputs[0].shape))]
    handles = []

    def describe(m: nn.Module) -> str:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            return (f"{type(m).__name__}({m.in_channels}->{m.out_channels}, k{m.kernel_size[0]}, "
                    f"s{m.stride[0]}, p{m.padding[0]})")
        if isinstance(m, nn.Linear):
            return f"Linear({m.in_features}->{m.out_features})"
        if isinstance(m, Reshape):
            return f"Reshape{m.shape}"
        if isinstance(m, nn.Embedding):
            return f"Embedding({m.num_embeddings}->{m.embedding_dim})"
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            return f"{type(m).__name__}({m.num_features})"
        if isinstance(m, nn.LeakyReLU):
            return f"LeakyReLU({m.negative_slope})"
        return type(m).__name__

    def hook(m, _inp, out):
        if torch.is_tensor(out):
            rows.append((describe(m), tuple(out.shape)))

    for m in model.modules():
        if not list(m.children()) or isinstance(m, Reshape):
            handles.append(m.register_forward_hook(hook))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(*inputs)
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    if torch.is_tensor(out) and tuple(out.shape) != rows[-1][1]:
        rows.append(("output", tuple(out.shape)))
    return rows


def format_trace(rows: list[tuple[str, tuple[int, ...]]]) -> str:
    """The rows of :func:`trace_shapes` as an aligned text table (layer | output shape)."""
    width = max(len(name) for name, _ in rows)
    lines = [f"{'layer':<{width}}  output shape", f"{'-' * width}  {'-' * 12}"]
    lines += [f"{name:<{width}}  {tuple(shape)}" for name, shape in rows]
    return "\n".join(lines)


def default_models(dataset: Any, conditional: bool = False, *, latent_dim: int | None = None,
                   g_channels: int | None = None, d_channels: int | None = None,
                   label_encoding: str = "onehot", conditioning: str = "projection",
                   norm: str | None = None, dropout: float = 0.0, spectral_norm: bool = False,
                   seed: int | None = None, **unknown: Any) -> tuple[DCGenerator, DCCritic]:
    """The (generator, critic) pair for an image dataset (anything with ``shape`` and
    ``num_classes``, e.g. ``fdiv.datasets.get_dataset("digits")``), conditional on the labels if asked.

    Keyword overrides: latent_dim, g_channels, d_channels, label_encoding ("onehot"|"embedding"),
    conditioning ("projection"|"concat"), norm ("none"|"batch"|"layer"|"spectral"; default "batch"),
    dropout, spectral_norm (True = norm "spectral" in place of the default; the trainer's
    ``spectral_norm`` option), seed (seeds the initialisation: same seed -> same weights).
    Unset sizes come from ``dataset.train_defaults["model"]`` (digits: latent_dim 32, g_channels 64,
    d_channels 32; MNIST and other image sets: 64, 128, 64; norm "batch").
    """
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)} for DC-GAN models; allowed: latent_dim, "
                         f"g_channels, d_channels, label_encoding, conditioning, norm, dropout, spectral_norm, seed")
    shape = tuple(int(s) for s in getattr(dataset, "shape"))
    if len(shape) != 3:
        raise ValueError(f"dataset {getattr(dataset, 'name', dataset)!r} has shape {shape}: "
                         f"DC-GAN models need images (channels, height, width)")
    from fdiv.datasets.images import ImageDataset
    preset = {**ImageDataset.train_defaults["model"], **(getattr(dataset, "train_defaults", None) or {}).get("model", {})}
    k = int(getattr(dataset, "num_classes", 0) or 0) if conditional else 0
    if conditional and k < 2:
        raise ValueError(f"dataset {getattr(dataset, 'name', dataset)!r} has no labels "
                         f"(num_classes={k}): it cannot train a conditional model")
    if spectral_norm:
        if norm not in (None, "none", "spectral"):
            raise ValueError(f"spectral_norm=True conflicts with norm={norm!r}")
        norm = "spectral"
    if norm is None:
        norm = preset["norm"]
    if seed is not None:
        torch.manual_seed(int(seed))
    g = DCGenerator(latent_dim or preset["latent_dim"], shape, num_classes=k,
                    channels=g_channels or preset["g_channels"], label_encoding=label_encoding)
    d = DCCritic(shape, num_classes=k, channels=d_channels or preset["d_channels"],
                 conditioning=conditioning, norm=norm, dropout=dropout)
    return g, d
