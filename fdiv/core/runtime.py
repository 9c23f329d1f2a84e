"""Runtime helpers shared by every experiment: device choice, seeding, the fast profile.

* ``default_device(device=None)``: CUDA when available, else CPU; an explicit name is
  validated (an unknown or unavailable device is a clear ``ValueError``).
* ``fast_profile()``: True when the book runs in its fast profile (``FDIV_FAST=1``, or
  ``CI`` set and ``FDIV_FAST`` not ``0``); chapters shrink their training budgets then.
* ``seed_everything(seed)``: seeds Python, NumPy and torch, returns a ``torch.Generator``;
  ``check_seed(seed)`` accepts integers 0 <= seed <= 2**64 - 1 (what ``torch.manual_seed`` takes).
* ``available_memory(device)`` / ``check_memory(...)``: bytes free on the device, and a one-line
  ``ValueError`` for a request (a batch, a number of samples) that cannot fit.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from fdiv.core.checks import check_int

__all__ = ["default_device", "fast_profile", "seed_everything", "check_seed", "available_devices",
           "available_memory", "check_memory", "show_progress", "MAX_SEED"]

MAX_SEED = 2**64 - 1  # torch.manual_seed's range


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


def show_progress() -> bool:
    """Whether a progress bar left to its default (``progress=None``) is drawn: where someone will see it.

    True when stderr is a terminal, or inside a Jupyter kernel (Colab, JupyterLab, Binder) that can
    draw ``tqdm.auto``'s widget (``ipywidgets`` importable).  False elsewhere: a kernel without widgets
    (the book's build, nbval) would store the bar as stray text in the page.
    """
    import importlib.util
    import sys

    if getattr(sys.stderr, "isatty", lambda: False)():
        return True
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel") and importlib.util.find_spec("ipywidgets") is not None


def seed_everything(seed: int) -> torch.Generator:
    """Seed ``random``, NumPy and torch (all devices) with ``seed``; return a CPU ``torch.Generator`` seeded alike."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def check_seed(seed) -> int:
    """``seed`` as an int if it is an integer (Python or NumPy) in 0..2**64 - 1, else a ``ValueError``."""
    return check_int("seed", seed, 0, MAX_SEED)


def available_memory(device=None) -> int:
    """Bytes that can still be allocated on ``device``: free GPU memory for CUDA, else the system's
    available memory (``MemAvailable`` of /proc/meminfo, or the physical memory where that is missing)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - no way to tell
        return 2**62


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_memory(name: str, n: int, bytes_each: float, device=None, *, fraction: float = 0.8) -> None:
    """Raise ``ValueError`` if ``n`` items of ``bytes_each`` bytes exceed ``fraction`` of the device's free
    memory, naming the request, what is free and the largest ``n`` that fits."""
    need = float(n) * float(bytes_each)
    free = available_memory(device) * fraction
    if need > free:
        fits = max(1, int(free // max(bytes_each, 1)))
        raise ValueError(f"{name} {n} needs about {_gib(need)} of memory but {_gib(free)} is available "
                         f"on {device or 'cpu'}; allowed: up to about {fits}")
