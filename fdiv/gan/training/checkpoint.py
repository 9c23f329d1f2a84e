"""Training checkpoints: the format, atomic saving, loading and checking, models from a checkpoint.

A checkpoint (``DIR/checkpoint.pt``, a ``torch.save`` dict readable with ``weights_only=True``) holds

    format, version                the marker "fdiv-train-checkpoint" and the format version;
    config, dataset_spec           the resolved TrainConfig (dict) and the data's name, kind, shape, classes
                                   and model architecture (enough to rebuild the networks without the data);
    step, seconds                  the steps done and the training time so far;
    generator, critic              state dicts (``generator`` is the EMA generator when ema > 0;
    generator_raw                  the trained one is then ``generator_raw``);
    opt_g, opt_d, sched_g, sched_d the Adam optimisers and their learning-rate schedules;
    amp                            the fp16 loss scalers (or None);
    rng                            every random state (the data and noise generators, torch, NumPy, Python);
    history, pending, pending_first, snapshots, metrics   what was logged, and the steps since the last entry;
    custom_models, torch_version.

so that resuming reproduces the uninterrupted run bit for bit on the CPU.  Checkpoints are written
atomically (:func:`fdiv.core.files.atomic_write`): after a crash the file is the previous complete one.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

from fdiv.core.files import atomic_write
from fdiv.core.runtime import default_device
from fdiv.datasets import Dataset
from fdiv.gan.models import default_models
from fdiv.gan.training.config import TrainConfig, make_dataset

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "CHECKPOINT_NAME", "save_checkpoint", "load_checkpoint",
           "models_from_checkpoint", "build_models", "dataset_spec", "rng_state", "set_rng_state"]

CHECKPOINT_FORMAT = "fdiv-train-checkpoint"
CHECKPOINT_VERSION = 2
CHECKPOINT_NAME = "checkpoint.pt"
_REQUIRED = ("config", "dataset_spec", "step", "generator", "critic", "history")


def rng_state(data_rng: torch.Generator, noise_rng: torch.Generator, device: torch.device) -> Dict[str, Any]:
    """Every random state a run uses (NumPy's as tensors, so the checkpoint loads with weights_only)."""
    np_state = np.random.get_state()
    state = {"data": data_rng.get_state(), "noise": noise_rng.get_state(), "torch": torch.get_rng_state(),
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                       int(np_state[3]), float(np_state[4])],
             "python": random.getstate()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any], data_rng: torch.Generator, noise_rng: torch.Generator,
                  device: torch.device) -> None:
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
        except RuntimeError:  # another number of GPUs: the noise is drawn on the CPU anyway
            pass


def save_checkpoint(state: Dict[str, Any], path) -> Path:
    """``torch.save(state)`` to ``path`` atomically, with the format marker added."""
    state = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state,
             "torch_version": str(torch.__version__)}
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def _not_ours(p: Path, why: str) -> ValueError:
    return ValueError(f"{str(p)!r} is not an fdiv checkpoint ({why}); pass DIR/checkpoint.pt written by `fdiv train`")


def load_checkpoint(path, map_location="cpu") -> Dict[str, Any]:
    """Load and check a checkpoint written by ``train`` (a file, or a directory holding checkpoint.pt).

    Raises ``ValueError`` with one clear line for a missing, corrupt, foreign or incomplete file.
    """
    p = Path(path)
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    if not p.is_file():
        raise ValueError(f"checkpoint {str(p)!r} does not exist")
    with open(p, "rb") as fh:
        head = fh.read(4)
    if not (head.startswith(b"PK") or head[:1] == b"\x80"):  # a zip archive (torch.save) or a legacy pickle
        raise _not_ours(p, "not a file written by torch.save")
    try:
        ck = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt, truncated, or holding arbitrary Python objects
        unsafe = "weights_only" in str(e) or "Unsupported global" in str(e)
        raise _not_ours(p, "it holds Python objects besides tensors" if unsafe
                        else f"unreadable: {type(e).__name__}") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise _not_ours(p, "a torch file without the fdiv checkpoint marker")
    if not isinstance(ck.get("version"), int) or ck["version"] > CHECKPOINT_VERSION:
        raise ValueError(f"{str(p)!r} was written by a newer fdiv (checkpoint version {ck.get('version')!r})")
    missing = [k for k in _REQUIRED if k not in ck]
    if missing:
        raise ValueError(f"{str(p)!r} is an incomplete fdiv checkpoint: it lacks {', '.join(missing)}")
    try:
        TrainConfig.from_dict(ck["config"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{str(p)!r} holds an invalid training configuration: {e}") from None
    ck["path"] = str(p)
    return ck


class _DatasetSpec(Dataset):
    """Name, kind, shape, classes and model architecture of a dataset: enough to rebuild its models."""

    def __init__(self, spec: Dict[str, Any]):
        self.name, self.kind = spec["name"], spec["kind"]
        self.shape, self.num_classes = tuple(spec["shape"]), int(spec["num_classes"])
        self.train_defaults = {**Dataset.train_defaults, "model": dict(spec["model"])}


def dataset_spec(ds: Dataset) -> Dict[str, Any]:
    model = dict((getattr(ds, "train_defaults", None) or {}).get("model") or {})
    return dict(name=ds.name, kind=ds.kind, shape=list(ds.shape), num_classes=int(ds.num_classes), model=model)


def build_models(cfg: TrainConfig, ds) -> Tuple[nn.Module, nn.Module]:
    """The default (generator, critic) of ``cfg`` for ``ds`` (cfg.model, spectral_norm applied)."""
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
    spec = ck["dataset_spec"]
    ds = _DatasetSpec(spec) if "model" in spec else make_dataset(cfg)  # version 1 lacks the architecture
    try:
        G, D = build_models(cfg, ds)
        G.load_state_dict(ck["generator"])
        D.load_state_dict(ck["critic"])
    except (RuntimeError, KeyError, ValueError) as e:
        raise ValueError(f"checkpoint {ck.get('path', '')!r} does not match the models of its config: "
                         f"{str(e).splitlines()[0][:300]}") from None
    dev = default_device(device) if device is not None else torch.device("cpu")
    return G.to(dev), D.to(dev), cfg
