"""Runtime helpers shared by every experiment: device choice, seeding, the fast profile.

* ``default_device(device=None)``: CUDA when available, else CPU; an explicit name is
  validated (an unknown or unavailable device is a clear ``ValueError``).
* ``fast_profile()``: True when the book runs in its fast profile (``FDIV_FAST=1``, or
  ``CI`` set and ``FDIV_FAST`` not ``0``); chapters shrink their training budgets then.
* ``seed_everything(seed)``: seeds Python, NumPy and torch, returns a ``torch.Generator``.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["default_device", "fast_profile", "seed_everything", "available_devices"]


def available_devices() -> list[str]:
    """Names of the devices this machine offers: ``cpu`` and, where present, ``cuda``, ``cuda:0``, ..."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
        names.extend(f"cuda:{i}" for i in range(torch.cuda.device_count()))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def default_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: ``device`` if given (validated), else ``cuda`` when available, else ``cpu``."""
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    allowed = available_devices()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; allowed here: {', '.join(allowed + ['auto'])}") from exc
    name = str(dev)
    if name not in allowed and not (dev.type == "cuda" and dev.index is None and "cuda" in allowed):
        raise ValueError(f"device {device!r} is not available on this machine; allowed here: "
                         f"{', '.join(allowed + ['auto'])}")
    return dev


def fast_profile() -> bool:
    """True in the fast profile: ``FDIV_FAST=1``, or ``CI`` set (and ``FDIV_FAST`` not ``0``)."""
    flag = os.environ.get("FDIV_FAST")
    if flag is not None:
        return flag.strip().lower() not in ("", "0", "false", "no")
    return bool(os.environ.get("CI"))


def seed_everything(seed: int) -> torch.Generator:
    """Seed ``random``, NumPy and torch (all devices) with ``seed``; return a CPU ``torch.Generator`` seeded alike."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
