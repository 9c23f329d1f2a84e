"""Generator and critic networks for the f-GAN experiments (chapters 5-7, 9, 11).

Contract shared by every model in :mod:`fdiv` (MLPs here, DC-GANs in :mod:`fdiv.gan.conv`):

* generators have ``latent_dim``, ``num_classes`` (0 = unconditional), ``out_shape`` and
  ``forward(z, y=None)`` mapping noise z ~ N(0, I) of shape (N, latent_dim) (and labels y, int64 of
  shape (N,), for a conditional model) to samples x_hat = g_theta(z, y) of shape (N, *out_shape);
* critics have ``num_classes`` and ``forward(x, y=None)`` returning the raw witness output V_w(x)
  of shape (N,).  The f-divergence's output activation sigma_f is *not* part of the critic: the
  objective applies it, T_w(x) = sigma_f(V_w(x)) (see :mod:`fdiv.gan.objectives`).

Conditioning (chapter 11) follows the notes: the label enters both networks as a one-hot vector
concatenated to the input, g_theta([z, onehot(y)]) and V_w([x, onehot(y)]).

:func:`default_models` builds the networks the trainer uses for a dataset (images are delegated to
``fdiv.gan.conv.default_models``); :func:`generate` draws samples reproducibly from a generator.
"""
from __future__ import annotations

from typing import Optional, Tuple

import math

import torch
from torch import nn, Tensor
import torch.nn.functional as F

from fdiv.core.checks import check_int, check_number

__all__ = ["evaluate_generator", "MLPGenerator", "MLPCritic", "GaussianGenerator", "MIXTURE_OPTIONS", "default_models",
           "generate"]

_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": lambda: nn.ELU(),
    "tanh": lambda: nn.Tanh(),
    "silu": lambda: nn.SiLU(),
}


def _act(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def _one_hot(y: Optional[Tensor], num_classes: int, n: int, like: Tensor) -> Tensor:
    if y is None:
        raise ValueError(f"this model is conditional ({num_classes} classes): pass labels y")
    y = torch.as_tensor(y, device=like.device)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(y.shape)}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    return F.one_hot(y.long(), num_classes).to(like.dtype)


def _mlp(in_dim: int, hidden: int, depth: int, out_dim: int, activation: str, sn: bool = False) -> nn.Sequential:
    wrap = nn.utils.parametrizations.spectral_norm if sn else (lambda m: m)
    layers = []
    d = in_dim
    for _ in range(depth):
        layers += [wrap(nn.Linear(d, hidden)), _act(activation)]
        d = hidden
    layers.append(wrap(nn.Linear(d, out_dim)))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """g_theta(z, y) = MLP([z, onehot(y)]) with ``depth`` hidden layers of width ``hidden``.

    Linear output (the toy data are unbounded); ``out_dim`` is the data dimension.

    Mixture latent (``latent_mixture = K > 0``, the default for ``ring8``/``grid25`` in the trainer,
    chapter 5).  The image of a connected latent space under a continuous map is connected, so a plain
    g_theta(z), z ~ N(0, I), cannot put all of its mass on K well separated modes: some samples always
    lie on "bridges" between them.  With a mixture latent the MLP reads
    h = mu_k + s * eps  instead of z, where the component k is uniform on {0, ..., K-1} and the means
    mu_k ~ N(0, spread^2 I) are drawn once at initialisation (a buffer, saved with the weights; DeLiGAN,
    Gurumurthy et al. 2017, learns them, we keep them fixed).  Each component can then be sent to one
    mode with no bridge.

    Learned mixture weights (``learn_weights=True``).  A component cannot cross from one mode to another
    without a bridge, so the share of the components each mode ends up with is fixed early, and with
    uniform weights 1/K the modes' masses are uneven (gan on ring8: mode KL up to 0.03).  Then the weights
    are pi = softmax(a) with logits a (a parameter, initialised to 0: uniform), k is drawn by the inverse
    CDF of pi, and the generator descends its loss E_{k ~ pi} E_eps l(g(mu_k + s eps)) in a too, by the
    exact score-function gradient of a discrete choice: sum_i (l_i - mean l) grad log pi_{k_i} / B
    (:func:`fdiv.gan.training.steps.generator_step` adds it; a sample carries log pi_k as the output's
    ``log_weight`` attribute while gradients are on).  Mass then flows to the under-weighted modes
    without any sample crossing between them.  The noise contract is unchanged: z ~ N(0, I_latent_dim) and both parts are
    functions of z, eps = z[:, :-1] and k = floor(K Phi(z[:, -1])) (Phi the standard normal CDF,
    :meth:`component`), so the mixture space has dimension latent_dim - 1.

    Output noise (``output_noise = s_out > 0``, the default for ``ring8`` and ``grid25``).  The sample is
    g_theta(h) + s_out * eps_out, with eps_out ~ N(0, I_out_dim) read from z (the ``out_dim``
    coordinates before the component's; the network then reads latent_dim - 1 - out_dim).  A ReLU network
    maps each component's Gaussian through a piecewise-linear map, so its image is an ellipse, and a mode
    built from several components is a lumpy sum of ellipses, which a two-sample test sees even when the
    width is right.  Isotropic noise of a fixed width rounds every mode; the network then only has to add
    the rest of the width.  The width is fixed, not learned: as a parameter (a learned log-scale) it
    shrank from 0.03 to about 0.002 on grid25 and the network made up the width, because the generator's
    gradient moves each sample up the critic's slope, which pulls the samples of a mode together.
    """

    def __init__(self, latent_dim: int = 2, out_dim: int = 2, hidden: int = 128, depth: int = 3,
                 num_classes: int = 0, activation: str = "relu", latent_mixture: int = 0,
                 mixture_scale: float = 0.2, mixture_spread: float = 2.0, learn_weights: bool = False,
                 output_noise: float = 0.0):
        super().__init__()
        check_int("latent_dim", latent_dim)
        check_int("out_dim", out_dim)
        check_int("hidden", hidden)
        check_int("depth", depth, 0)
        check_int("num_classes", num_classes, 0)
        check_int("latent_mixture", latent_mixture, 0)
        depth = int(depth)
        if latent_mixture == 1:
            raise ValueError("latent_mixture must be 0 (plain Gaussian latent) or >= 2 components, got 1")
        if latent_mixture and latent_dim < 2:
            raise ValueError(f"a mixture latent needs latent_dim >= 2 (one coordinate picks the component), "
                             f"got {latent_dim}")
        for name, v in (("mixture_scale", mixture_scale), ("mixture_spread", mixture_spread)):
            check_number(name, v, 0.0, open_min=True)
        latent_dim, out_dim, hidden, num_classes = int(latent_dim), int(out_dim), int(hidden), int(num_classes)
        latent_mixture = int(latent_mixture)
        self.latent_dim, self.out_dim, self.num_classes = latent_dim, out_dim, num_classes
        self.out_shape = (out_dim,)
        self.latent_mixture = latent_mixture
        self.mixture_scale, self.mixture_spread = float(mixture_scale), float(mixture_spread)
        self.output_noise = float(check_number("output_noise", output_noise, 0.0))
        self.noise_dims = out_dim if self.output_noise else 0
        in_dim = latent_dim - (1 if latent_mixture else 0) - self.noise_dims
        if in_dim < 1:
            raise ValueError(f"latent_dim must be >= {latent_dim - in_dim + 1} (the network's input, "
                             f"{self.noise_dims} output-noise and {1 if latent_mixture else 0} component "
                             f"coordinates), got {latent_dim}")
        if latent_mixture:
            # drawn from the global RNG like the weights, so the trainer's seed fixes them
            self.register_buffer("mixture_means", float(mixture_spread) * torch.randn(latent_mixture, in_dim))
        if not isinstance(learn_weights, bool):
            raise ValueError(f"learn_weights must be True or False, got {learn_weights!r}")
        if learn_weights and not latent_mixture:
            raise ValueError("learn_weights needs a mixture latent (latent_mixture >= 2)")
        self.learn_weights = learn_weights
        if self.learn_weights:
            self.mixture_logits = nn.Parameter(torch.zeros(latent_mixture))
        self.net = _mlp(in_dim + num_classes, hidden, depth, out_dim, activation)

    def component(self, z: Tensor) -> Tensor:
        """The mixture component of each z (int64, shape (N,)): k = floor(K Phi(z_last)) in {0, ..., K-1}, or
        with learned weights the k with  pi_0 + ... + pi_{k-1} <= Phi(z_last) < pi_0 + ... + pi_k."""
        if not self.latent_mixture:
            raise ValueError("this generator has a plain Gaussian latent (latent_mixture=0): no components")
        u = torch.special.ndtr(z[:, -1].double())  # float64: the boundaries do not move with the dtype
        if self.learn_weights:
            cdf = torch.softmax(self.mixture_logits.detach().double(), 0).cumsum(0)
            return torch.searchsorted(cdf, u.contiguous()).clamp_(0, self.latent_mixture - 1)
        return (u * self.latent_mixture).long().clamp_(0, self.latent_mixture - 1)

    @property
    def mixture_weights(self) -> Tensor:
        """pi (shape (K,), detached): softmax of the logits, or uniform 1/K."""
        if not self.latent_mixture:
            raise ValueError("this generator has a plain Gaussian latent (latent_mixture=0): no components")
        if self.learn_weights:
            return torch.softmax(self.mixture_logits.detach(), 0)
        return torch.full((self.latent_mixture,), 1.0 / self.latent_mixture, device=self.mixture_means.device)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if self.latent_mixture:
            k = self.component(z)
            z = z[:, :-1]
        if self.noise_dims:
            eps, z = z[:, -self.noise_dims:], z[:, :-self.noise_dims]
        if self.latent_mixture:
            z = self.mixture_means.to(z.dtype)[k] + self.mixture_scale * z
        if self.num_classes:
            z = torch.cat([z, _one_hot(y, self.num_classes, z.shape[0], z)], 1)
        x = self.net(z)
        if self.noise_dims:
            x = x + self.output_noise * eps
        if self.learn_weights and torch.is_grad_enabled():
            x.log_weight = torch.log_softmax(self.mixture_logits, 0)[k]
        return x


class MLPCritic(nn.Module):
    """V_w(x, y) = MLP([x, onehot(y)]) -> R, returned with shape (N,).

    ``spectral_norm=True`` wraps every linear layer in spectral normalisation (Miyato et al. 2018),
    one of the stabilisers of chapter 7.
    """

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3, num_classes: int = 0,
                 spectral_norm: bool = False, activation: str = "leaky_relu"):
        super().__init__()
        check_int("in_dim", in_dim)
        check_int("hidden", hidden)
        check_int("depth", depth, 0)
        check_int("num_classes", num_classes, 0)
        in_dim, hidden, depth, num_classes = int(in_dim), int(hidden), int(depth), int(num_classes)
        self.in_dim, self.num_classes = in_dim, num_classes
        self.spectral_norm = bool(spectral_norm)
        self.net = _mlp(in_dim + num_classes, hidden, depth, 1, activation, sn=spectral_norm)

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        x = x.reshape(x.shape[0], -1)
        if self.num_classes:
            x = torch.cat([x, _one_hot(y, self.num_classes, x.shape[0], x)], 1)
        return self.net(x).squeeze(-1)


class GaussianGenerator(nn.Module):
    """Q_theta = N(mu, diag(exp(2 s))): g_theta(z) = mu + exp(s) * z with learned mean mu and log-scale s.

    The model of the f-GAN paper's Section 4 experiment (fit one Gaussian to a mixture, chapter 5).
    """

    def __init__(self, dim: int = 1, mean: float = 0.0, log_scale: float = 0.0):
        super().__init__()
        dim = check_int("dim", dim, 1)
        self.latent_dim, self.num_classes, self.out_shape = dim, 0, (dim,)
        self.mean = nn.Parameter(torch.full((dim,), float(mean)))
        self.log_scale = nn.Parameter(torch.full((dim,), float(log_scale)))

    @property
    def scale(self) -> Tensor:
        return self.log_scale.exp()

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.mean + self.log_scale.exp() * z

    def distribution(self) -> torch.distributions.Distribution:
        """The fitted distribution (float64, detached): Normal for dim 1, else Independent Normals."""
        m, s = self.mean.detach().double().cpu(), self.scale.detach().double().cpu()
        if m.numel() == 1:
            return torch.distributions.Normal(m[0], s[0])
        return torch.distributions.Independent(torch.distributions.Normal(m, s), 1)


#: MLPGenerator's keyword arguments of the mixture latent and its output noise (passed through by name)
MIXTURE_OPTIONS = ("latent_mixture", "mixture_scale", "mixture_spread", "learn_weights", "output_noise")
_MLP_OPTIONS = ("latent_dim", "hidden", "depth", "g_hidden", "d_hidden", "g_depth", "d_depth", "spectral_norm",
                "g_activation", "d_activation", *MIXTURE_OPTIONS)


def default_models(dataset, conditional: bool = False, **kw) -> Tuple[nn.Module, nn.Module]:
    """(generator, critic) suited to ``dataset`` (a Dataset or a registered name).

    The architecture is ``dataset.train_defaults["model"]`` updated by ``kw`` (``None`` values ignored).
    1-D / 2-D data: :class:`MLPGenerator` and :class:`MLPCritic` (options: latent_dim, hidden, depth,
    g_hidden, d_hidden, g_depth, d_depth, spectral_norm, g_activation, d_activation, latent_mixture,
    mixture_scale, mixture_spread, learn_weights, output_noise; unset ones take the classes' defaults,
    the 2-D networks).
    Images: ``fdiv.gan.conv.default_models(dataset, conditional, **kw)``.
    ``conditional=True`` needs a labelled dataset (``num_classes > 0``).
    """
    from fdiv.datasets import get_dataset
    dataset = get_dataset(dataset)
    if conditional and not dataset.num_classes:
        raise ValueError(f"dataset {dataset.name!r} has no labels; conditional=True needs a labelled dataset"
                         " (e.g. get_dataset('ring8', labelled=True) or 'digits')")
    if dataset.kind == "image":
        from fdiv.gan import conv as conv_models
        return conv_models.default_models(dataset, conditional, **kw)
    if dataset.kind not in ("1d", "2d"):
        raise ValueError(f"unknown dataset kind {dataset.kind!r}; allowed: 1d, 2d, image")
    o = dict((getattr(dataset, "train_defaults", None) or {}).get("model") or {})
    o.update({k: v for k, v in kw.items() if v is not None})
    bad = set(o) - set(_MLP_OPTIONS)
    if bad:
        raise ValueError(f"unknown model option(s) {sorted(bad)}; allowed: {', '.join(_MLP_OPTIONS)}")
    nc = dataset.num_classes if conditional else 0
    hidden, depth = o.get("hidden", 128), o.get("depth", 3)
    mixture = {k: o[k] for k in MIXTURE_OPTIONS if k in o}
    G = MLPGenerator(o.get("latent_dim", 2), dataset.dim, o.get("g_hidden", hidden), o.get("g_depth", depth),
                     nc, o.get("g_activation", "relu"), **mixture)
    D = MLPCritic(dataset.dim, o.get("d_hidden", hidden), o.get("d_depth", depth), nc,
                  bool(o.get("spectral_norm", False)), o.get("d_activation", "leaky_relu"))
    return G, D


@torch.no_grad()
def generate(generator: nn.Module, n: int, *, seed: Optional[int] = None, rng: Optional[torch.Generator] = None,
             labels=None, batch_size: int = 4096, device=None) -> Tensor:
    """Draw ``n`` samples x = g(z, y), z ~ N(0, I), as a CPU tensor of shape ``(N, *out_shape)``.

    Noise comes from a CPU generator (``rng``, or a fresh one seeded with ``seed``, default 0), so the
    result does not depend on the device.  ``labels``: int (all samples that class), a sequence/tensor of
    N labels, or None (conditional models then get labels 0..K-1 cycled, i.e. balanced classes).
    ``n`` must fit in memory (the noise and the samples, float32): a larger one is a ``ValueError``.
    """
    from fdiv.core.runtime import check_memory
    n = check_int("n", n, 1)
    out_dim = math.prod(getattr(generator, "out_shape", (1,)))
    check_memory("n", n, 4 * (int(generator.latent_dim) + 2 * out_dim) + 16)
    if rng is None:
        rng = torch.Generator().manual_seed(0 if seed is None else int(seed))
    if device is None:
        p = next(iter(generator.parameters()), None)
        device = p.device if p is not None else torch.device("cpu")
    K = getattr(generator, "num_classes", 0)
    if K:
        from fdiv.datasets.base import check_labels
        y = torch.arange(n) % K if labels is None else check_labels(labels, K, batch=n)
    else:
        if labels is not None:
            raise ValueError("labels given but the generator is unconditional")
        y = None
    was_training = generator.training
    generator.eval()
    out = []
    z_all = torch.randn(n, generator.latent_dim, generator=rng)  # all at once: independent of batch_size
    try:
        for i in range(0, n, batch_size):
            z = z_all[i:i + batch_size]
            yy = None if y is None else y[i:i + batch_size].to(device)
            out.append(generator(z.to(device), yy).float().cpu())
    finally:
        generator.train(was_training)
    return torch.cat(out)


def evaluate_generator(dataset, generator: nn.Module, n: int = 2500, seed: int = 0, labels=None) -> dict:
    """Draw ``n`` samples of ``generator`` (noise seed ``seed``; conditional models get balanced labels
    unless ``labels`` is given) and score them with :func:`fdiv.evaluation.evaluate`."""
    from fdiv.datasets import get_dataset
    from fdiv.datasets.base import check_labels
    from fdiv.evaluation import evaluate
    dataset = get_dataset(dataset)
    K = int(getattr(generator, "num_classes", 0) or 0)
    y = None
    if K:
        y = torch.arange(n) % K if labels is None else check_labels(labels, K, batch=n)
    elif labels is not None:
        raise ValueError("labels given but the generator is unconditional")
    x = generate(generator, n, seed=seed, labels=y)
    return evaluate(dataset, x, labels=y if dataset.kind == "image" else None, seed=seed)
