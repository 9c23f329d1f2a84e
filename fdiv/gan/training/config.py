"""The training configuration: :class:`TrainConfig`, its defaults and its validation (chapters 5-7, 10, 11).

Every field carries its help text, its type and its check in ``dataclasses.field(metadata=...)``:
``fdiv train``'s options are generated from them (``fdiv train --help`` lists every field with its
default), and :meth:`TrainConfig.validate` runs the checks, so nothing is declared twice.  ``None``
fields are filled by :meth:`TrainConfig.resolved` from the dataset's ``train_defaults`` and the recipe
table (:mod:`fdiv.gan.training.recipes`).

This module imports neither torch nor the registries at import time (``fdiv train --help`` stays fast);
resolving a configuration does.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from fdiv.core.checks import FLOAT32_MAX, check_choice, check_int, check_number
from fdiv.gan.objectives import GENERATOR_LOSSES, PENALTY_KINDS
from fdiv.gan.training.recipes import MIXTURE_OPTIONS, defaults_for

__all__ = ["TrainConfig", "TrainSetup", "LR_SCHEDULES", "PRECISIONS", "RUNTIME_FIELDS", "prepare", "make_dataset",
           "get_divergence"]

LR_SCHEDULES = ("constant", "cosine")
PRECISIONS = ("fp32", "bf16", "fp16")
# Options that may change between a checkpoint and its resumption (they do not change the maths).
RUNTIME_FIELDS = ("steps", "device", "progress", "checkpoint_every", "eval_samples", "threads", "log_every")
_PER_DATASET = "per dataset and divergence: the dataset's train_defaults and fdiv/gan/training/recipes.py"


def _bool(name, v):
    if not isinstance(v, bool):
        raise ValueError(f"{name} must be True or False, got {v!r}")
    return v


def _dict(name, v):
    if not isinstance(v, dict):
        raise ValueError(f"{name} must be a dict of keyword arguments, got {v!r}")
    return dict(v)


def _betas(name, v):
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        raise ValueError(f"{name} must be two numbers in [0, 1), got {v!r}")
    return tuple(check_number(name, b, 0.0, 1.0, open_max=True, allowed=f"two numbers in [0, 1) (got {tuple(v)!r})")
                 for b in v)


def _device(name, v):
    if v is not None:
        from fdiv.core.runtime import default_device
        default_device(v)
    return v


def _opt(default=None, help="", *, type=None, check=None, cli=True, metavar=None, choices=None, factory=None,
         per_dataset=False, flag=None):
    """A field with its metadata: help text, type, check(name, value) -> value, and for the command line
    whether it is an option (``cli``), its ``flag`` (default --field-name), ``metavar`` and ``choices``."""
    md = dict(help=help, type=type, check=check, cli=cli, metavar=metavar, choices=choices, per_dataset=per_dataset,
              flag=flag)
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


def _int(minimum, maximum=None):
    return lambda n, v: check_int(n, v, minimum, maximum)


def _num(minimum, maximum=None, **kw):
    return lambda n, v: check_number(n, v, minimum, maximum, **kw)


def _choice(allowed):
    return lambda n, v: check_choice(n, v, allowed)


def _optional(check):
    return lambda n, v: None if v is None else check(n, v)


def _seed(name, v):
    from fdiv.core.runtime import check_seed
    return check_seed(v)


def _per_dataset(help, **kw):
    """A field whose default comes from the dataset's train_defaults and the recipe table."""
    return _opt(None, help, per_dataset=True, **kw)


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint); see each field's help.

    ``None`` fields take the defaults of the dataset and the recipe table (:meth:`resolved`).
    One iteration ("step"): ``critic_steps`` Adam steps of the critic ascending
    J = mean sigma_f(V(x)) - mean f*(sigma_f(V(x_hat))) (minus a gradient penalty), then one generator step
    on ``generator_loss`` re-using the last fake batch (chapters 5-7).
    """

    divergence: str = _opt("gan", "f-divergence to minimise (see `fdiv list`)", type=str, metavar="NAME")
    divergence_params: Dict[str, Any] = _opt(help="a parameter of the divergence, e.g. --param alpha=0.5", type=dict,
                                             check=_dict, metavar="KEY=VALUE", factory=dict, flag="--param")
    dataset: str = _opt("ring8", "ring8, grid25, x, mixture1d, digits, mnist, ...", type=str, metavar="NAME")
    dataset_params: Dict[str, Any] = _opt(help="a parameter of the dataset, e.g. --dataset-param labelled=true",
                                          type=dict, check=_dict, metavar="KEY=VALUE", factory=dict,
                                          flag="--dataset-param")
    steps: Optional[int] = _per_dataset("generator steps", type=int, check=_int(0), metavar="N")
    batch_size: Optional[int] = _per_dataset("minibatch size B", type=int, check=_int(1), metavar="B")
    critic_steps: Optional[int] = _per_dataset("critic updates per generator update (k)", type=int,
                                       check=_int(1), metavar="K")
    lr_g: Optional[float] = _per_dataset("the generator's Adam learning rate", type=float, metavar="LR",
                                         check=_num(0.0, open_min=True))
    lr_d: Optional[float] = _per_dataset("the critic's Adam learning rate", type=float, metavar="LR",
                                         check=_num(0.0, open_min=True))
    betas: Optional[Tuple[float, float]] = _per_dataset("Adam's betas", type=tuple, check=_betas, metavar="B")
    generator_loss: str = _opt("nonsaturating", "nonsaturating: -mean T(G(z)) (the f-GAN paper's); minimax: "
                               "-mean f*(T(G(z)))", type=str, check=_choice(GENERATOR_LOSSES), choices=GENERATOR_LOSSES)
    lr_schedule: Optional[str] = _per_dataset("cosine anneals both rates by (1 + cos(pi t / steps)) / 2",
                                      type=str, check=_choice(LR_SCHEDULES), choices=LR_SCHEDULES)
    ema: Optional[float] = _per_dataset("decay of a moving average of the generator's weights, which is then "
                                "the generator returned, evaluated and saved (0 = off)", type=float,
                                check=_num(0.0, 1.0, open_max=True), metavar="DECAY")
    gradient_penalty: Optional[float] = _per_dataset("weight gamma of a gradient penalty on V (0 = off)",
                                             type=float, check=_num(0.0), metavar="GAMMA")
    penalty_end: Optional[float] = _opt(None, "the gradient penalty's weight at the last step, as a fraction of "
                                        "gamma: the weight follows (e + (1 - e)(1 + cos(pi t / steps)) / 2) gamma "
                                        "(None or 1: constant; set per dataset and divergence)", type=float,
                                        check=_optional(_num(0.0, 1.0)), metavar="E")
    penalty_kind: Optional[str] = _per_dataset("r1: + gamma/2 E_P|grad V|^2; interpolate: + gamma E(|grad V| - 1)^2",
                                       type=str, check=_choice(PENALTY_KINDS), choices=PENALTY_KINDS)
    spectral_norm: Optional[bool] = _per_dataset("spectral normalisation in the critic", type=bool, check=_bool)
    model: Dict[str, Any] = _opt(help="an option of fdiv.gan.models.default_models, e.g. --model hidden=256",
                                 type=dict, check=_dict, metavar="KEY=VALUE", factory=dict)
    amp: bool = _opt(False, "mixed precision (CUDA only; bf16 where supported, else fp16 with loss scaling); "
                     "--precision names the format", type=bool, check=_bool)
    precision: str = _opt("fp32", "arithmetic of the forward passes: fp32, or automatic mixed precision in bf16 "
                          "(CUDA, or a CPU with bfloat16) or fp16 (CUDA, with loss scaling)", type=str,
                          check=_choice(PRECISIONS), choices=PRECISIONS)
    seed: int = _opt(0, "random seed (0 .. 2**64 - 1)", type=int, check=_seed, metavar="S")
    device: Optional[str] = _opt(None, "cpu, cuda, cuda:0, ... (default: cuda if available)", type=str,
                                 check=_device, metavar="D")
    conditional: bool = _opt(False, "conditional GAN: labels to both networks (chapter 11)", type=bool, check=_bool)
    log_every: int = _opt(10, "steps per history entry (each the mean over them)", type=int, check=_int(1), metavar="N")
    checkpoint_every: int = _opt(500, "steps between checkpoints", type=int, check=_int(1), metavar="N")
    snapshot_every: int = _opt(0, "keep generated samples every so many steps (0 = off)", type=int,
                               check=_int(0), cli=False)
    snapshot_n: int = _opt(500, "points per snapshot", type=int, check=_int(1), cli=False)
    eval_samples: int = _opt(2500, "samples for the final metrics", type=int, check=_int(1), metavar="N")
    progress: Optional[bool] = _opt(None, "a progress bar (default: in a terminal, or a notebook that draws widgets)", type=bool,
                                    check=_optional(_bool))
    threads: Optional[int] = _opt(None, "torch CPU threads while training (default: 1 for 1-D/2-D data, "
                                  "torch's setting for images)", type=int, check=_optional(_int(1)), metavar="N")

    # ------------------------------------------------------------------ conversions
    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["betas"] is not None:
            d["betas"] = list(d["betas"])
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "TrainConfig":
        if not isinstance(d, dict):
            raise ValueError(f"a training configuration must be a dict, got {type(d).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        bad = sorted(set(d) - set(names))
        if bad:
            raise ValueError(f"unknown training option(s) {bad}; allowed: {', '.join(names)}")
        d = dict(d)
        if isinstance(d.get("betas"), list):
            d["betas"] = tuple(d["betas"])
        return cls(**d)

    def replace(self, **kw) -> "TrainConfig":
        return TrainConfig.from_dict({**self.to_dict(), **kw})

    # ------------------------------------------------------------------ resolution
    def resolved(self, dataset=None) -> "TrainConfig":
        """A validated copy with the ``None`` fields filled from the dataset's ``train_defaults`` and the
        recipe table.  ``dataset``: the already built dataset (else it is built from the config).

        Raises ``ValueError`` naming the bad value (misspelled names get a "did you mean").
        """
        c = copy.deepcopy(self)
        get_divergence(c.divergence, c.divergence_params)
        ds = make_dataset(c) if dataset is None else dataset
        fields, model = defaults_for(getattr(ds, "train_defaults", {}), c.dataset, c.divergence)
        for k, v in fields.items():
            if getattr(c, k, "absent") is None:
                setattr(c, k, copy.deepcopy(v))
        if not isinstance(c.model, dict):
            raise ValueError(f"model must be a dict of keyword arguments, got {c.model!r}")
        if c.model.get("latent_mixture", None) == 0:  # a plain Gaussian latent: drop the whole mixture latent
            model = {k: v for k, v in model.items() if k not in MIXTURE_OPTIONS}
        c.model = {**model, **c.model}
        return c.validate()

    def validate(self) -> "TrainConfig":
        """Run every field's check (converting NumPy scalars to Python ones); return ``self``.

        A field filled per dataset (``None`` by default) must be set by now: call :meth:`resolved` first.
        """
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None and f.metadata.get("per_dataset"):
                raise ValueError(f"{f.name} is not set (resolve the configuration first: TrainConfig.resolved())")
            if f.metadata.get("check") is not None:
                setattr(self, f.name, f.metadata["check"](f.name, v))
        if self.amp and self.precision != "fp32":
            raise ValueError(f"amp=True and precision={self.precision!r} both ask for mixed precision; "
                             "give precision alone (--precision bf16 or fp16)")
        beta1 = self.betas[0]
        top = FLOAT32_MAX * (1.0 - beta1) / 10.0  # Adam's first step is lr / (1 - beta1): it must fit a float32
        for n in ("lr_g", "lr_d"):
            setattr(self, n, check_number(n, getattr(self, n), 0.0, top, open_min=True,
                                          allowed=f"a number > 0 and <= {top:.3g} (larger rates overflow float32 "
                                                  f"in Adam with beta1={beta1:g})"))
        return self


def get_divergence(name, params: Optional[dict] = None):
    """The registered divergence ``name`` with ``params`` (a misspelled name gets a "did you mean")."""
    from fdiv.core import divergences
    check_choice("divergence", name, divergences.names())
    return divergences.get(name, **_dict("divergence_params", params or {}))


def make_dataset(c: TrainConfig):
    """The dataset of ``c`` (labelled when ``c.conditional`` and the dataset can be)."""
    from fdiv.datasets import dataset_names, get_dataset
    check_choice("dataset", c.dataset, dataset_names())
    params = _dict("dataset_params", c.dataset_params)
    ds = get_dataset(c.dataset, **params)
    if c.conditional is True and not ds.num_classes and "labelled" not in params:
        try:
            ds = get_dataset(c.dataset, labelled=True, **params)
        except ValueError:
            pass
    if c.conditional is True and not ds.num_classes:
        raise ValueError(f"dataset {c.dataset!r} has no labels: it cannot be used with conditional=True")
    return ds


@dataclass
class TrainSetup:
    """A resolved configuration with what resolving it built: the divergence, the dataset and the
    checkpoint it resumes (or None).  :func:`fdiv.gan.training.train` accepts one as its config."""

    config: TrainConfig
    divergence: Any
    dataset: Any
    checkpoint: Optional[Dict[str, Any]] = None


def prepare(config=None, checkpoint: Optional[Dict[str, Any]] = None, **kw) -> TrainSetup:
    """Resolve ``config`` (a TrainConfig, a dict or None) updated by ``kw``, once, into a :class:`TrainSetup`.

    With a ``checkpoint`` (from :func:`~fdiv.gan.training.load_checkpoint`) the configuration starts
    from the checkpoint's, and only :data:`RUNTIME_FIELDS` may differ from it.
    """
    if isinstance(config, TrainSetup):
        config = config.config
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    if config is not None and not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig or a dict, got {type(config).__name__}")
    saved = TrainConfig.from_dict(checkpoint["config"]) if checkpoint is not None else None
    base = config if config is not None else (saved if saved is not None else TrainConfig())
    cfg = base.replace(**kw) if kw else copy.deepcopy(base)
    d = get_divergence(cfg.divergence, cfg.divergence_params)
    ds = make_dataset(cfg)
    cfg = cfg.resolved(ds)
    if saved is not None:
        a, b = saved.to_dict(), cfg.to_dict()
        diff = [k for k in a if k not in RUNTIME_FIELDS and a[k] != b[k]]
        if diff:
            raise ValueError("cannot resume: the configuration differs from the checkpoint's in "
                             + ", ".join(f"{k} ({a[k]!r} != {b[k]!r})" for k in diff))
        if cfg.steps < checkpoint["step"]:
            raise ValueError(f"steps={cfg.steps} is less than the checkpoint's step {checkpoint['step']}")
    return TrainSetup(cfg, d, ds, checkpoint)
