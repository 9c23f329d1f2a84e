"""The f-GAN / VDM training loop (chapters 5-7, 10, 11).

A flat, readable loop in the style of the PyTorch DC-GAN example.  One iteration ("step"):

1. ``critic_steps`` times: draw real x_1..x_B ~ P and noise z_1..z_B ~ N(0, I), x_hat_i = g_theta(z_i);
   compute J = mean sigma_f(V_w(x_i)) - mean f*(sigma_f(V_w(x_hat_i))) and take an Adam step on
   -J (+ an optional gradient penalty) for the critic w;
2. one Adam step for the generator theta on the generator loss (``minimax``: -mean f*(T(x_hat)),
   i.e. descend J; ``nonsaturating``: -mean T(x_hat), the f-GAN paper's / notes' -log D trick),
   re-using the last critic step's fake batch (as the DC-GAN example does).

Usage::

    import fdiv
    res = fdiv.train(divergence="gan", dataset="ring8", seed=0)   # = fdiv.gan.training.train
    res.metrics      # {'modes': 8, 'high_quality': 0.97, 'reverse_kl': 0.004, 'seconds': ...}
    res.history      # {'step': [...], 'loss_d': [...], 'loss_g': [...], 'divergence_estimate': [...]}
    x = res.sample(500)

Reproducibility: all data and noise come from two explicit CPU ``torch.Generator`` objects seeded from
``seed`` (model initialisation from ``seed_everything(seed)``), so the same seed gives the same run on
CPU, and a run resumed from a checkpoint (``resume=``) reproduces the uninterrupted run bit for bit:
checkpoints hold the models, the optimisers, every RNG state, the step, the history and the config.
They are written atomically (temporary file + ``os.replace``), every ``checkpoint_every`` steps and at
the end.  A non-finite loss stops training with :class:`TrainingDiverged` naming the step; the last
good checkpoint is left untouched.

Per-dataset defaults (``None`` fields of :class:`TrainConfig`, see :data:`DATASET_DEFAULTS`) are what
``fdiv train --dataset NAME`` and the benchmark ``python -m bench`` use; they were tuned towards the
benchmark's targets (all 8/25 modes, >= 98% / 95% high quality, reverse KL <= 0.03, within a minute on
a 2-core CPU).  A dataset can provide its own through a ``train_defaults`` dict attribute (the image
data sets do).  On the CPU, training on 1-D/2-D data runs on one thread (``threads``).
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from fdiv.datasets import Dataset, get_dataset
from fdiv.gan.models import GaussianGenerator, MLPCritic, default_models, evaluate_generator, generate
from fdiv.gan.objectives import GENERATOR_LOSSES, critic_objective, generator_loss, gradient_penalty
from fdiv.core.runtime import default_device, seed_everything

__all__ = ["TrainConfig", "TrainResult", "TrainingDiverged", "train", "load_checkpoint",
           "models_from_checkpoint", "fit_gaussian_vdm", "GaussianFit", "DATASET_DEFAULTS",
           "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "fdiv-train-checkpoint"
CHECKPOINT_VERSION = 1

# Defaults per dataset for the TrainConfig fields left as None: what `fdiv train --dataset NAME` uses.
# Tuned on a 2-core CPU (see bench/ and the README benchmark table): Adam with betas (0.5, 0.9), learning rates
# 2e-3 (4e-3 for the grid's generator) annealed by a cosine schedule, and an exponential moving average
# of the generator's weights (decay 0.99), which together sharpen the modes far more than the DC-GAN
# recipe (2e-4, betas (0.5, 0.999)) in the same number of steps.  grid25 also gets a small R1 penalty
# (gamma = 0.1), which keeps its 25 modes balanced (reverse KL ~0.01 instead of ~0.15).
# The two mixtures of separated Gaussians get a generator with a mixture latent (TOY_MIXTURE_MODEL, see
# fdiv.gan.models.MLPGenerator): a continuous generator of a Gaussian z must leave part of its samples on
# bridges between the modes (seed 0: 2.6% of ring8's and 9.9% of grid25's samples outside 3 std), and 50
# latent components in R^4 remove most of them (gan, high quality, mean over seeds: ring8 96.9% -> 98.7%,
# grid25 89.2% -> 96.3%; the README's benchmark section has the per-seed figures).
TOY_MIXTURE_MODEL = dict(latent_dim=5, latent_mixture=50, mixture_scale=0.2, mixture_spread=2.0)
_TOY = dict(batch_size=256, lr_g=2e-3, lr_d=2e-3, betas=(0.5, 0.9), lr_schedule="cosine", ema=0.99,
            gradient_penalty=0.0)
GENERIC_DEFAULTS: Dict[str, Any] = dict(steps=2000, batch_size=256, lr_g=2e-3, lr_d=2e-3, betas=(0.5, 0.9),
                                        lr_schedule="constant", ema=0.0, gradient_penalty=0.0)
DATASET_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "ring8": dict(_TOY, steps=6000, model=TOY_MIXTURE_MODEL),
    "grid25": dict(_TOY, steps=8000, batch_size=128, lr_g=4e-3, gradient_penalty=0.1, model=TOY_MIXTURE_MODEL),
    "x": dict(_TOY, steps=2000),
    "mixture1d": dict(_TOY, steps=2000),
}
LR_SCHEDULES = ("constant", "cosine")
# Options that may change between a checkpoint and its resumption (they do not change the maths).
_RUNTIME_FIELDS = ("steps", "device", "progress", "checkpoint_every", "eval_samples", "threads")


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite.  ``step`` is the first bad step, ``checkpoint`` the last good one."""

    def __init__(self, step: int, what: str, checkpoint: Optional[str] = None):
        self.step, self.what, self.checkpoint = step, what, checkpoint
        where = (f"the last good checkpoint {checkpoint} is intact" if checkpoint
                 else "no checkpoint was written")
        super().__init__(f"training diverged at step {step}: {what} is not finite; {where}. "
                         "Try a smaller learning rate, another divergence, or a gradient penalty.")


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint).

    ``None`` fields take the dataset's defaults (:data:`DATASET_DEFAULTS`), see :meth:`resolved`.

    divergence, divergence_params : name for :func:`fdiv.get` and its keyword parameters (e.g. alpha).
    dataset, dataset_params      : name for :func:`fdiv.datasets.get_dataset` and its keyword parameters.
    steps, batch_size            : generator steps and minibatch size B.
    critic_steps                 : critic updates per generator update (k).
    lr_g, lr_d, betas            : Adam learning rates and betas.
    lr_schedule                  : "constant" or "cosine" (both rates annealed by
                                   (1 + cos(pi t / steps)) / 2, which sharpens the modes at the end).
    ema                          : decay of an exponential moving average of the generator's weights
                                   (0 = off).  With ema > 0 the averaged generator is the one returned,
                                   evaluated, sampled and saved as "generator" (Yazici et al. 2019).
    generator_loss               : "nonsaturating" (f-GAN paper's -mean T(G(z)), default) or "minimax".
    gradient_penalty, penalty_kind : weight gamma of a gradient penalty on V_w ("r1": + gamma/2 E_P|grad V|^2;
                                   "interpolate": + gamma E(|grad V| - 1)^2), 0 = off.
    spectral_norm                : spectral normalisation in the critic.
    model                        : extra keyword arguments for :func:`fdiv.gan.models.default_models`
                                   (e.g. dict(hidden=256, depth=3, d_depth=0) for a linear critic).
                                   ring8/grid25 default to a mixture latent (TOY_MIXTURE_MODEL);
                                   dict(latent_mixture=0) asks for the plain Gaussian latent.
    amp                          : mixed precision (CUDA only; bf16 where supported, else fp16 + loss scaling).
    seed, device                 : RNG seed; device name (None = CUDA if available else CPU).
    conditional                  : conditional GAN (labels fed to both networks, chapter 11).
    log_every                    : history granularity (each entry is the mean over these steps).
    checkpoint_every             : steps between checkpoints when an output directory is given.
    snapshot_every               : if > 0, keep generated samples (fixed noise, ``snapshot_n`` points)
                                   every so many steps in ``TrainResult.snapshots`` (for figures).
    eval_samples                 : samples for the final metrics (2,500 as in the benchmark).
    progress                     : tqdm bar (None = only when stderr is a terminal).
    threads                      : torch CPU threads during training (None: 1 for 1-D/2-D data, whose tiny
                                   networks only lose from intra-op parallelism on a busy machine, and
                                   torch's setting for images); restored afterwards.
    """

    divergence: str = "gan"
    divergence_params: Dict[str, Any] = field(default_factory=dict)
    dataset: str = "ring8"
    dataset_params: Dict[str, Any] = field(default_factory=dict)
    steps: Optional[int] = None
    batch_size: Optional[int] = None
    critic_steps: int = 1
    lr_g: Optional[float] = None
    lr_d: Optional[float] = None
    betas: Optional[Tuple[float, float]] = None
    generator_loss: str = "nonsaturating"
    lr_schedule: Optional[str] = None
    ema: Optional[float] = None
    gradient_penalty: Optional[float] = None
    penalty_kind: str = "r1"
    spectral_norm: bool = False
    model: Dict[str, Any] = field(default_factory=dict)
    amp: bool = False
    seed: int = 0
    device: Optional[str] = None
    conditional: bool = False
    log_every: int = 10
    checkpoint_every: int = 500
    snapshot_every: int = 0
    snapshot_n: int = 500
    eval_samples: int = 2500
    progress: Optional[bool] = None
    threads: Optional[int] = None

    # ------------------------------------------------------------------ helpers
    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["betas"] is not None:
            d["betas"] = list(d["betas"])
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(d) - names
        if bad:
            raise ValueError(f"unknown TrainConfig field(s) {sorted(bad)}; allowed: {sorted(names)}")
        d = dict(d)
        if d.get("betas") is not None:
            d["betas"] = tuple(d["betas"])
        return cls(**d)

    def replace(self, **kw) -> "TrainConfig":
        return dataclasses.replace(self, **kw)

    def resolved(self) -> "TrainConfig":
        """A validated copy with the ``None`` fields filled from the dataset's defaults.

        Raises ``ValueError`` naming the bad value (unknown divergence/dataset names list the known ones).
        """
        c = copy.deepcopy(self)
        _get_divergence(c.divergence, c.divergence_params)  # validates name + params
        ds = _make_dataset(c)
        defaults = dict(GENERIC_DEFAULTS)
        defaults.update(DATASET_DEFAULTS.get(c.dataset, {}))
        defaults.update(getattr(ds, "train_defaults", None) or {})
        for k in ("steps", "batch_size", "lr_g", "lr_d", "betas", "lr_schedule", "ema", "gradient_penalty"):
            if getattr(c, k) is None:
                setattr(c, k, defaults[k])
        # model defaults a dataset may suggest (only where not given); asking for a plain Gaussian latent
        # (latent_mixture=0) drops the whole mixture-latent default, latent_dim included
        suggested = dict(defaults.get("model") or {})
        if c.model.get("latent_mixture", None) == 0:
            suggested = {k: v for k, v in suggested.items() if k not in TOY_MIXTURE_MODEL}
        for k, v in suggested.items():
            c.model.setdefault(k, v)
        c.betas = tuple(float(b) for b in c.betas)
        _validate(c)
        return c


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _validate(c: TrainConfig) -> None:
    def pos_int(name, minimum=1):
        v = getattr(c, name)
        if not _is_int(v) or v < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")

    pos_int("steps", 0)
    for n in ("batch_size", "critic_steps", "log_every", "checkpoint_every", "eval_samples", "snapshot_n"):
        pos_int(n)
    pos_int("snapshot_every", 0)
    if c.threads is not None:
        pos_int("threads")
    pos_int("seed", 0)
    for n in ("lr_g", "lr_d"):
        v = getattr(c, n)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v < math.inf):
            raise ValueError(f"{n} must be a positive number, got {v!r}")
    if len(c.betas) != 2 or not all(0 <= b < 1 for b in c.betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {c.betas!r}")
    if isinstance(c.ema, bool) or not isinstance(c.ema, (int, float)) or not (0 <= c.ema < 1):
        raise ValueError(f"ema must be a number in [0, 1), got {c.ema!r}")
    if c.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown lr_schedule {c.lr_schedule!r}; allowed: {', '.join(LR_SCHEDULES)}")
    if c.generator_loss not in GENERATOR_LOSSES:
        raise ValueError(f"unknown generator_loss {c.generator_loss!r}; allowed: {', '.join(GENERATOR_LOSSES)}")
    if isinstance(c.gradient_penalty, bool) or not isinstance(c.gradient_penalty, (int, float)) or not (0 <= c.gradient_penalty < math.inf):
        raise ValueError(f"gradient_penalty must be a number >= 0, got {c.gradient_penalty!r}")
    if c.penalty_kind not in ("r1", "interpolate"):
        raise ValueError(f"unknown penalty_kind {c.penalty_kind!r}; allowed: r1, interpolate")
    default_device(c.device)  # validates the name
    if not isinstance(c.model, dict):
        raise ValueError("model must be a dict of keyword arguments for default_models")


def _get_divergence(name: str, params: Optional[dict] = None):
    from fdiv.core import divergences
    if not isinstance(name, str):
        raise ValueError(f"divergence must be a registered name (str), got {name!r}")
    return divergences.get(name, **(params or {}))


def _make_dataset(c: TrainConfig) -> Dataset:
    if not isinstance(c.dataset, str):
        raise ValueError(f"dataset must be a registered name (str), got {c.dataset!r}")
    ds = get_dataset(c.dataset, **c.dataset_params)
    if c.conditional and not ds.num_classes and "labelled" not in c.dataset_params:
        try:
            ds = get_dataset(c.dataset, labelled=True, **c.dataset_params)
        except ValueError:
            pass
    if c.conditional and not ds.num_classes:
        raise ValueError(f"dataset {c.dataset!r} has no labels: it cannot be used with conditional=True")
    return ds


def _derived_seed(seed: int, stream: int) -> int:
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0] % (2**63))


@dataclass
class TrainResult:
    """What :func:`train` returns.  ``history`` lists are aligned (one entry per ``log_every`` steps)."""

    generator: nn.Module
    critic: nn.Module
    history: Dict[str, List[float]]
    metrics: Dict[str, Any]
    config: TrainConfig
    divergence: Any = None
    dataset: Any = None
    snapshots: List[Tuple[int, torch.Tensor]] = field(default_factory=list)
    checkpoint: Optional[str] = None

    def sample(self, n: int = 2500, seed: int = 0, labels=None) -> torch.Tensor:
        """n generated samples as a CPU tensor (see :func:`fdiv.gan.models.generate`)."""
        return generate(self.generator, n, seed=seed, labels=labels)


# --------------------------------------------------------------------------- RNG state helpers
def _rng_state(data_rng, noise_rng, device) -> Dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "data": data_rng.get_state(),
        "noise": noise_rng.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "python": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state, data_rng, noise_rng, device) -> None:
    data_rng.set_state(state["data"])
    noise_rng.set_state(state["noise"])
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if device.type == "cuda" and "cuda" in state:
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except Exception:  # different number of GPUs: noise is drawn on the CPU anyway
            pass


def _atomic_save(obj, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_checkpoint(path, map_location="cpu") -> Dict[str, Any]:
    """Load and check a checkpoint written by :func:`train` (a file, or a directory holding checkpoint.pt).

    Raises ``ValueError`` with a clear message for missing, corrupt or foreign files.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.pt"
    if not p.is_file():
        raise ValueError(f"checkpoint {str(p)!r} does not exist")
    try:
        ck = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt / not a torch file / unsafe pickle
        raise ValueError(f"{str(p)!r} is not a readable fdiv checkpoint ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{str(p)!r} is not an fdiv training checkpoint (written by `fdiv train`)")
    if ck.get("version", 0) > CHECKPOINT_VERSION:
        raise ValueError(f"{str(p)!r} was written by a newer fdiv (checkpoint version {ck.get('version')})")
    ck["path"] = str(p)
    return ck


class _DatasetSpec(Dataset):
    """Name, kind, shape and classes of a dataset: enough to rebuild its models without the data."""

    def __init__(self, spec: Dict[str, Any]):
        self.name, self.kind = spec["name"], spec["kind"]
        self.shape, self.num_classes = tuple(spec["shape"]), int(spec["num_classes"])


def _spec(ds: Dataset) -> Dict[str, Any]:
    return dict(name=ds.name, kind=ds.kind, shape=list(ds.shape), num_classes=int(ds.num_classes))


def _build_models(cfg: TrainConfig, ds) -> Tuple[nn.Module, nn.Module]:
    kw = dict(cfg.model)
    if cfg.spectral_norm:
        kw["spectral_norm"] = True
    return default_models(ds, cfg.conditional, **kw)


def models_from_checkpoint(ck, device=None) -> Tuple[nn.Module, nn.Module, TrainConfig]:
    """(generator, critic, config) rebuilt from a checkpoint (dict from :func:`load_checkpoint` or a path)."""
    if not isinstance(ck, dict):
        ck = load_checkpoint(ck)
    cfg = TrainConfig.from_dict(ck["config"])
    if ck.get("custom_models"):
        raise ValueError(f"checkpoint {ck.get('path', '')!r} holds custom models; rebuild them yourself and "
                         "load ck['generator'] / ck['critic'] with load_state_dict")
    try:
        G, D = _build_models(cfg, _DatasetSpec(ck["dataset_spec"]))
    except AttributeError:  # model factory needs more than the spec: build the real dataset
        G, D = _build_models(cfg, _make_dataset(cfg))
    try:
        G.load_state_dict(ck["generator"])
        D.load_state_dict(ck["critic"])
    except (RuntimeError, KeyError) as e:
        raise ValueError(f"checkpoint {ck.get('path', '')!r} does not match the models of its config: {str(e)[:300]}") from None
    dev = default_device(device) if device is not None else torch.device("cpu")
    return G.to(dev), D.to(dev), cfg


# --------------------------------------------------------------------------- the loop
def _make_config(config, kw, ck) -> TrainConfig:
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    if config is not None and not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig or a dict, got {type(config).__name__}")
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    bad = set(kw) - names
    if bad:
        raise ValueError(f"unknown training option(s) {sorted(bad)}; allowed: {sorted(names)}")
    if ck is not None:
        saved = TrainConfig.from_dict(ck["config"])
        if config is None:
            cfg = saved.replace(**{k: v for k, v in kw.items()})
        else:
            cfg = config.replace(**kw)
        cfg = cfg.resolved()
        diff = [k for k in saved.to_dict() if k not in _RUNTIME_FIELDS and saved.to_dict()[k] != cfg.to_dict()[k]]
        if diff:
            raise ValueError("cannot resume: the configuration differs from the checkpoint's in "
                             + ", ".join(f"{k} ({saved.to_dict()[k]!r} != {cfg.to_dict()[k]!r})" for k in diff))
        if cfg.steps < ck["step"]:
            raise ValueError(f"steps={cfg.steps} is less than the checkpoint's step {ck['step']}")
        return cfg
    cfg = (config or TrainConfig()).replace(**kw)
    return cfg.resolved()


def train(config: Union[TrainConfig, dict, None] = None, out=None, resume=None, progress=None, *,
          generator: Optional[nn.Module] = None, critic: Optional[nn.Module] = None,
          callback: Optional[Callable[[int, Dict[str, float]], None]] = None, **kw) -> TrainResult:
    """Train an f-GAN; return a :class:`TrainResult`.

    ``config``: a :class:`TrainConfig` (or dict); keyword arguments override its fields, so
    ``train(divergence="kl", dataset="grid25", steps=3000, seed=1)`` works without one.
    ``out``: directory for ``checkpoint.pt`` (written atomically every ``checkpoint_every`` steps and at
    the end).  ``resume``: a checkpoint file or directory; training continues from its step to
    ``steps`` and reproduces the uninterrupted run exactly (on CPU).  ``progress``: override the
    config's tqdm setting.  ``generator``/``critic``: custom modules (following the
    :mod:`fdiv.gan.models` contract) instead of :func:`fdiv.gan.models.default_models`'s.  ``callback(step, logs)``
    is called at every history entry.
    """
    ck = load_checkpoint(resume) if resume is not None else None
    cfg = _make_config(config, kw, ck)
    if progress is not None:
        cfg.progress = bool(progress)
    device = default_device(cfg.device)
    if cfg.amp and device.type != "cuda":
        raise ValueError(f"amp=True needs a CUDA device; the device is {device}")
    d = _get_divergence(cfg.divergence, cfg.divergence_params)
    ds = _make_dataset(cfg)
    n_threads = cfg.threads if cfg.threads is not None else (1 if ds.kind != "image" else None)
    old_threads = torch.get_num_threads()
    if device.type == "cpu" and n_threads:
        torch.set_num_threads(n_threads)
    try:
        return _train_loop(cfg, ck, device, d, ds, out, generator, critic, callback)
    finally:
        torch.set_num_threads(old_threads)


def _train_loop(cfg: TrainConfig, ck, device, d, ds, out, generator, critic, callback) -> TrainResult:
    """The body of :func:`train` (config, device, divergence and dataset already resolved)."""
    seed_everything(cfg.seed)  # model initialisation
    custom = generator is not None or critic is not None
    if custom:
        G0, D0 = (None, None) if (generator is not None and critic is not None) else _build_models(cfg, ds)
        G = generator if generator is not None else G0
        D = critic if critic is not None else D0
    else:
        G, D = _build_models(cfg, ds)
    G.to(device)
    D.to(device)
    G_ema = copy.deepcopy(G).requires_grad_(False).eval() if cfg.ema > 0 else None
    G_out = G_ema if G_ema is not None else G  # the generator that is evaluated, sampled and returned
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    amp_dtype = None
    if cfg.amp:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    use_scaler = amp_dtype == torch.float16
    scaler_g = torch.amp.GradScaler("cuda", enabled=use_scaler) if cfg.amp else None
    scaler_d = torch.amp.GradScaler("cuda", enabled=use_scaler) if cfg.amp else None
    data_rng = torch.Generator().manual_seed(_derived_seed(cfg.seed, 1))
    noise_rng = torch.Generator().manual_seed(_derived_seed(cfg.seed, 2))
    history: Dict[str, List[float]] = {"step": [], "loss_d": [], "loss_g": [], "divergence_estimate": []}
    snapshots: List[Tuple[int, torch.Tensor]] = []
    start = 0
    elapsed0 = 0.0
    if ck is not None:
        if bool(ck.get("custom_models")) != custom:
            raise ValueError("cannot resume: the checkpoint was trained with "
                             + ("custom models (pass generator=/critic=)" if ck.get("custom_models") else "the default models"))
        try:
            G.load_state_dict(ck["generator_raw"] if G_ema is not None else ck["generator"])
            if G_ema is not None:
                G_ema.load_state_dict(ck["generator"])
            D.load_state_dict(ck["critic"])
            opt_g.load_state_dict(ck["opt_g"])
            opt_d.load_state_dict(ck["opt_d"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise ValueError(f"cannot resume from {ck['path']!r}: {str(e)[:300]}") from None
        if cfg.amp and ck.get("scaler_g") is not None:
            scaler_g.load_state_dict(ck["scaler_g"])
            scaler_d.load_state_dict(ck["scaler_d"])
        _set_rng_state(ck["rng"], data_rng, noise_rng, device)
        history = {k: list(v) for k, v in ck["history"].items()}
        snapshots = [(int(s), x) for s, x in ck.get("snapshots", [])]
        start = int(ck["step"])
        elapsed0 = float(ck.get("seconds", 0.0))

    out_dir = Path(out) if out is not None else None
    ckpt_path = out_dir / "checkpoint.pt" if out_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    last_good: Optional[str] = None
    if ckpt_path is not None and ckpt_path.exists():
        last_good = str(ckpt_path)

    B, latent = cfg.batch_size, G.latent_dim
    conditional = cfg.conditional
    labelled = ds.num_classes > 0
    gp_w = float(cfg.gradient_penalty)
    g_params = [p for p in G.parameters() if p.requires_grad]
    all_g_params = list(G.parameters())
    ema_params = list(G_ema.parameters()) if G_ema is not None else []
    snap_rng_seed = _derived_seed(cfg.seed, 3)
    nonblock = device.type == "cuda"

    def autocast():
        if amp_dtype is None:
            return torch.autocast("cpu", enabled=False)
        return torch.autocast("cuda", dtype=amp_dtype)

    def save(step: int, seconds: float, metrics=None) -> None:
        nonlocal last_good
        if ckpt_path is None:
            return
        for name, m in (("generator", G), ("critic", D)):
            if not all(bool(torch.isfinite(p).all()) for p in m.parameters()):
                raise TrainingDiverged(step, f"the {name}'s parameters", last_good)
        state = {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "config": cfg.to_dict(), "dataset_spec": _spec(ds), "custom_models": custom,
            "step": step, "seconds": seconds,
            "generator": G_out.state_dict(), "critic": D.state_dict(),
            "generator_raw": G.state_dict() if G_ema is not None else None,
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "scaler_g": scaler_g.state_dict() if scaler_g is not None else None,
            "scaler_d": scaler_d.state_dict() if scaler_d is not None else None,
            "rng": _rng_state(data_rng, noise_rng, device),
            "history": history, "snapshots": snapshots, "metrics": metrics,
            "pending": check_buffer(), "pending_first": buf_first,
            "torch_version": str(torch.__version__),
        }
        _atomic_save(state, ckpt_path)
        last_good = str(ckpt_path)

    show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
    bar = None
    if show and cfg.steps > start:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=start, desc=f"{cfg.divergence} on {cfg.dataset}", leave=False,
                   dynamic_ncols=True)

    buf: List[torch.Tensor] = []   # per-step (loss_d, loss_g, J) kept on the device until flushed
    buf_first = start + 1
    if ck is not None and ck.get("pending") is not None:  # steps since the last history entry
        buf = [r.float().to(device) for r in ck["pending"]]
        buf_first = int(ck["pending_first"])

    def check_buffer() -> Optional[torch.Tensor]:
        """The buffered rows (CPU, float64); raises TrainingDiverged at the first non-finite value."""
        if not buf:
            return None
        rows = torch.stack(buf).double().cpu()
        bad = ~torch.isfinite(rows)
        if bad.any():
            i, j = (int(t) for t in bad.nonzero()[0])
            what = ("the critic loss", "the generator loss", "the divergence estimate J")[j]
            raise TrainingDiverged(buf_first + i, what, last_good)
        return rows

    def flush(step: int) -> None:
        nonlocal buf, buf_first
        rows = check_buffer()
        if rows is None:
            return
        m = rows.mean(0).tolist()
        history["step"].append(step)
        history["loss_d"].append(m[0])
        history["loss_g"].append(m[1])
        history["divergence_estimate"].append(m[2])
        buf, buf_first = [], step + 1
        logs = {"loss_d": m[0], "loss_g": m[1], "divergence_estimate": m[2]}
        if bar is not None:
            bar.set_postfix(loss_d=f"{m[0]:.3f}", loss_g=f"{m[1]:.3f}", D_f=f"{m[2]:.3f}")
        if callback is not None:
            callback(step, logs)

    def snapshot(step: int) -> None:
        snapshots.append((step, generate(G_out, cfg.snapshot_n, seed=snap_rng_seed)))

    if cfg.snapshot_every and start == 0:
        snapshot(0)
    G.train()
    D.train()
    t0 = time.perf_counter()
    step = start
    try:
        for step in range(start + 1, cfg.steps + 1):
            if cfg.lr_schedule == "cosine":
                fac = 0.5 * (1.0 + math.cos(math.pi * (step - 1) / cfg.steps))
                for opt, lr in ((opt_g, cfg.lr_g), (opt_d, cfg.lr_d)):
                    for group in opt.param_groups:
                        group["lr"] = lr * fac
            # ---- critic: ascend J (k times) ----
            for k in range(cfg.critic_steps):
                last = k == cfg.critic_steps - 1
                real = ds.sample(B, data_rng)
                if labelled:
                    x_real, y = real
                    y = y.to(device, non_blocking=nonblock) if conditional else None
                else:
                    x_real, y = real, None
                x_real = x_real.to(device, non_blocking=nonblock)
                z = torch.randn(B, latent, generator=noise_rng).to(device, non_blocking=nonblock)
                with autocast():
                    if last:
                        fake = G(z, y)
                    else:
                        with torch.no_grad():
                            fake = G(z, y)
                    v_real = D(x_real, y)
                    v_fake = D(fake.detach(), y)
                J = critic_objective(d, v_real.float(), v_fake.float())
                loss_d = -J
                if gp_w > 0:
                    with autocast():
                        pen = gradient_penalty(D, x_real, fake, y, cfg.penalty_kind, noise_rng)
                    loss_d = loss_d + (0.5 * gp_w if cfg.penalty_kind == "r1" else gp_w) * pen.float()
                opt_d.zero_grad(set_to_none=True)
                if scaler_d is not None:
                    scaler_d.scale(loss_d).backward()
                    scaler_d.step(opt_d)
                    scaler_d.update()
                else:
                    loss_d.backward()
                    opt_d.step()
            # ---- generator: descend J (or the non-saturating loss) on the same fake batch ----
            with autocast():
                v_gen = D(fake, y)
            loss_g = generator_loss(d, v_gen.float(), cfg.generator_loss)
            opt_g.zero_grad(set_to_none=True)
            if scaler_g is not None:
                scaler_g.scale(loss_g).backward(inputs=g_params)
                scaler_g.step(opt_g)
                scaler_g.update()
            else:
                loss_g.backward(inputs=g_params)
                opt_g.step()
            if G_ema is not None:
                with torch.no_grad():
                    decay = min(cfg.ema, (1.0 + step) / (10.0 + step))
                    torch._foreach_lerp_(ema_params, all_g_params, 1.0 - decay)
                    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                        b_ema.copy_(b)
            buf.append(torch.stack([loss_d.detach().float(), loss_g.detach().float(), J.detach().float()]))
            if device.type == "cpu" and not (torch.isfinite(buf[-1]).all()):
                flush(step)  # raises with the exact step
            if step % cfg.log_every == 0 or step == cfg.steps:
                flush(step)
            if bar is not None:
                bar.update(1)
            if cfg.snapshot_every and step % cfg.snapshot_every == 0:
                snapshot(step)
            if ckpt_path is not None and step % cfg.checkpoint_every == 0 and step != cfg.steps:
                save(step, elapsed0 + time.perf_counter() - t0)
        flush(step)
    finally:
        if bar is not None:
            bar.close()
    seconds = elapsed0 + time.perf_counter() - t0
    metrics: Dict[str, Any] = {}
    try:
        metrics.update(evaluate_generator(ds, G_out, n=cfg.eval_samples, seed=cfg.seed))
    except NotImplementedError:  # pragma: no cover - a dataset without metrics
        pass
    metrics["seconds"] = round(seconds, 3)
    metrics["steps"] = cfg.steps
    if history["divergence_estimate"]:
        tail = history["divergence_estimate"][-max(1, len(history["divergence_estimate"]) // 10):]
        metrics["divergence_estimate"] = float(np.mean(tail))
    save(cfg.steps, seconds, metrics)
    G_out.eval()
    D.eval()
    return TrainResult(G_out, D, history, metrics, cfg, d, ds, snapshots, str(ckpt_path) if ckpt_path else None)


# --------------------------------------------------------------------------- single-Gaussian fit
@dataclass
class GaussianFit:
    """Result of :func:`fit_gaussian_vdm`: the fitted N(mean, std^2) and the training run."""

    divergence: str
    mean: float
    std: float
    history: Dict[str, List[float]]
    generator: GaussianGenerator
    critic: nn.Module
    divergence_estimate: float
    seconds: float


def _mixture_params(mixture) -> Dict[str, Any]:
    if mixture is None:
        return {}
    if isinstance(mixture, Dataset):
        if not all(hasattr(mixture, a) for a in ("weights", "means", "stds")):
            raise ValueError("mixture must be a 1-D Gaussian mixture (fdiv.datasets.Mixture1D)")
        w, m, s = mixture.weights, mixture.means, mixture.stds
    elif isinstance(mixture, torch.distributions.MixtureSameFamily):
        comp = mixture.component_distribution
        if not isinstance(comp, torch.distributions.Normal) or comp.loc.ndim != 1:
            raise ValueError("mixture must be a MixtureSameFamily of 1-D Normals")
        w, m, s = mixture.mixture_distribution.probs, comp.loc, comp.scale
    elif isinstance(mixture, torch.distributions.Normal):
        w, m, s = torch.ones(1), mixture.loc.reshape(1), mixture.scale.reshape(1)
    else:
        raise ValueError(f"mixture must be a Mixture1D dataset or a torch MixtureSameFamily, got {type(mixture).__name__}")
    return dict(weights=[float(v) for v in w], means=[float(v) for v in m], stds=[float(v) for v in s])


def fit_gaussian_vdm(divergence="kl", mixture=None, steps: int = 2000, seed: int = 0, *,
                     divergence_params: Optional[dict] = None, batch_size: int = 512, lr_g: float = 1e-2,
                     lr_d: float = 2e-3, critic_steps: int = 1, hidden: int = 64, depth: int = 2,
                     lr_schedule: str = "cosine", init: Optional[Tuple[float, float]] = None,
                     progress: Optional[bool] = False, **kw) -> GaussianFit:
    """Fit Q_theta = N(mu, sigma^2) to a 1-D mixture P by VDM (the f-GAN paper's Section 4 experiment).

    min_theta max_w  E_P[T_w(x)] - E_{Q_theta}[f*(T_w(x))] with the saddle-point ("minimax") generator
    loss, so that theta descends the D_f estimate itself (the non-saturating update has the same fixed
    point only when P is in the model family, which it is not here).  The critic is an MLP
    (``depth`` x ``hidden``, tanh); both learning rates follow a cosine schedule.  ``init`` = (mu, sigma)
    of the start, default P's mean and standard deviation (as ``fdiv.core.estimate.fit_gaussian_exact``, to
    which the result should be compared: mode-seeking divergences have several local minimisers).
    ``mixture``: a :class:`fdiv.datasets.Mixture1D`, a torch ``MixtureSameFamily`` of Normals, or None
    (the default ``mixture1d``).  Extra keywords go to :class:`TrainConfig`.
    """
    params = _mixture_params(mixture)
    if isinstance(divergence, str):
        name, dparams = divergence, dict(divergence_params or {})
    else:
        name, dparams = getattr(divergence, "name", None), dict(getattr(divergence, "params", {}) or {})
        if name is None:
            raise ValueError("divergence must be a registered name or a divergence from fdiv.get")
    ds = get_dataset("mixture1d", **params)
    P = ds.distribution
    mu0, sd0 = (float(P.mean), float(P.variance.sqrt())) if init is None else (float(init[0]), float(init[1]))
    torch.manual_seed(seed)
    G = GaussianGenerator(1, mean=mu0, log_scale=math.log(sd0))
    seed_everything(seed)
    D = MLPCritic(1, hidden, depth, activation="tanh")
    cfg = dict(divergence=name, divergence_params=dparams, dataset="mixture1d", dataset_params=params,
               steps=steps, batch_size=batch_size, lr_g=lr_g, lr_d=lr_d, critic_steps=critic_steps,
               generator_loss="minimax", lr_schedule=lr_schedule, seed=seed, device=kw.pop("device", "cpu"))
    cfg.update(kw)
    res = train(TrainConfig(**cfg), generator=G, critic=D, progress=progress)
    g = res.generator
    return GaussianFit(name, float(g.mean.detach()[0]), float(g.scale.detach()[0]), res.history, g, res.critic,
                       float(res.metrics.get("divergence_estimate", float("nan"))), float(res.metrics["seconds"]))
