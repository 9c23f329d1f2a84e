"""fdiv: f-divergences, their Fenchel conjugates and f-GAN training: the library behind the course book
"Variational Divergence Minimization and GANs".

    import fdiv
    d = fdiv.get("gan")                     # fdiv.names() lists them
    d.conjugate_activation(v)               # f*(sigma_f(v)), stable
    fdiv.discrete(d, [0.7, 0.3], [0.5, 0.5])
"""
from __future__ import annotations

from . import runtime
from .divergences import Divergence, dual, get, names, register, symmetrize

__version__ = "0.1.0"

__all__ = ["Divergence", "dual", "get", "names", "register", "symmetrize", "runtime", "__version__"]

try:  # exact and estimated divergences (fdiv/estimate.py)
    from .estimate import (  # noqa: F401
        closed_form, discrete, expectation, fit_gaussian_exact, integrate, monte_carlo, variational_bound,
    )

    __all__ += ["closed_form", "discrete", "expectation", "fit_gaussian_exact", "integrate", "monte_carlo",
                "variational_bound"]
except ImportError:  # pragma: no cover - while the module is being written
    pass


def __getattr__(name):
    # heavier parts load on first use: fdiv.symbolic, fdiv.train, ...
    import importlib

    if name in ("symbolic", "estimate", "objectives", "models", "data", "metrics", "trainer", "plots",
                "conv_models", "image_data", "image_metrics", "exercises", "numeric"):
        return importlib.import_module(f".{name}", __name__)
    if name == "train":
        from .trainer import train

        return train
    raise AttributeError(f"module 'fdiv' has no attribute {name!r}")
