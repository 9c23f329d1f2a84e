"""Training an f-GAN (chapters 5-7, 10, 11).

* :mod:`.config`     -- :class:`TrainConfig` (every field with its help, type and check) and its resolution;
* :mod:`.recipes`    -- the per-(dataset, divergence) recipe table on top of each dataset's ``train_defaults``;
* :mod:`.steps`      -- :func:`critic_step`, :func:`generator_step` and the weight average, as plain functions;
* :mod:`.distributed` -- several processes under torchrun: the process group, shares of the global batch,
  agreement between the ranks, :class:`ProcessLost`;
* :mod:`.loop`       -- :func:`train`, the loop;
* :mod:`.checkpoint` -- the checkpoint format, atomic save, :func:`load_checkpoint`, :func:`models_from_checkpoint`;
* :mod:`.rundir`     -- the run directory of ``fdiv train`` (its ``fdiv-run.json`` status);
* :mod:`.gaussian`   -- :func:`fit_gaussian_vdm`, the f-GAN paper's single-Gaussian fit.

The names below are loaded on first use, so that ``fdiv train --help`` (which reads only
:mod:`.config`) does not import torch.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "train": "loop", "TrainResult": "loop", "TrainingDiverged": "loop", "TrainingInterrupted": "loop",
    "derived_seed": "loop", "TrainConfig": "config", "TrainSetup": "config", "prepare": "config",
    "load_checkpoint": "checkpoint", "models_from_checkpoint": "checkpoint", "fit_gaussian_vdm": "gaussian",
    "critic_step": "steps", "generator_step": "steps", "evaluate_generator": "fdiv.gan.models",
    "ProcessLost": "distributed",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fdiv.gan.training' has no attribute {name!r}")
    where = _EXPORTS[name]
    module = importlib.import_module(where if "." in where else f"fdiv.gan.training.{where}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
