"""fdiv: f-divergences, their Fenchel conjugates and f-GAN training: the library behind the course book
"Variational Divergence Minimization and GANs".

    import fdiv
    d = fdiv.get("gan")                     # fdiv.names() lists them
    d.conjugate_activation(v)               # f*(sigma_f(v)), stable
    fdiv.discrete(d, [0.7, 0.3], [0.5, 0.5])
    res = fdiv.train(divergence="gan", dataset="ring8")

The package is layered (CONTRIBUTING.md): ``fdiv.core`` (divergences, conjugates, estimates),
``fdiv.datasets``, ``fdiv.evaluation``, ``fdiv.gan`` (objectives, models, training), ``fdiv.viz``,
``fdiv.course`` (exercises and chapter helpers) and ``fdiv.cli``.  The names below are re-exported
from those modules; each is imported on first use, so ``import fdiv`` (and the command line's help)
does not pay for torch or sympy until they are needed.
"""
from __future__ import annotations

import importlib
from importlib import metadata as _metadata
from typing import TYPE_CHECKING

try:
    __version__ = _metadata.version("fdiv")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# public name -> the module that defines it (explicit; no module is imported for its side effects)
_EXPORTS = {
    "Divergence": "fdiv.core.divergences",
    "dual": "fdiv.core.divergences",
    "every": "fdiv.core.divergences",
    "get": "fdiv.core.divergences",
    "names": "fdiv.core.divergences",
    "register": "fdiv.core.divergences",
    "symmetrize": "fdiv.core.divergences",
    "closed_form": "fdiv.core.estimate",
    "discrete": "fdiv.core.estimate",
    "expectation": "fdiv.core.estimate",
    "fit_gaussian_exact": "fdiv.core.estimate",
    "integrate": "fdiv.core.estimate",
    "monte_carlo": "fdiv.core.estimate",
    "variational_bound": "fdiv.core.estimate",
    "train": "fdiv.gan.training",
    "TrainConfig": "fdiv.gan.training",
}
# submodules reachable as attributes: fdiv.symbolic.u, fdiv.runtime.default_device(), ...
_SUBMODULES = {
    "core": "fdiv.core",
    "numeric": "fdiv.core.numeric",
    "divergences": "fdiv.core.divergences",
    "symbolic": "fdiv.core.symbolic",
    "estimate": "fdiv.core.estimate",
    "runtime": "fdiv.core.runtime",
    "datasets": "fdiv.datasets",
    "evaluation": "fdiv.evaluation",
    "gan": "fdiv.gan",
    "viz": "fdiv.viz",
    "course": "fdiv.course",
    "exercises": "fdiv.exercises",
    "cli": "fdiv.cli",
}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES) + ["__version__"]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from fdiv.core import divergences, estimate, numeric, runtime, symbolic  # noqa: F401
    from fdiv.core.divergences import Divergence, dual, every, get, names, register, symmetrize  # noqa: F401
    from fdiv.core.estimate import (closed_form, discrete, expectation, fit_gaussian_exact,  # noqa: F401
                                    integrate, monte_carlo, variational_bound)
    from fdiv.gan.training import TrainConfig, train  # noqa: F401


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    else:
        raise AttributeError(f"module 'fdiv' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
