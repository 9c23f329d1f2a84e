"""A claim the book asserts about training, and the sweep that checks it over seeds.

A seeded GAN run is chaotic: another CPU, torch build or GPU takes another path from the same seed, so
"seed 0 diverges" is a fact about one machine.  What a chapter may assert is a claim that holds over
several seeds.  A :class:`Claim` is

* ``measure(seed, fast)``: one run of the experiment, returning its figures (a flat dict of numbers,
  booleans or short strings; ``fast`` is the fast profile's shorter version), or ``(figures, extras)``
  where ``extras`` is what a chapter draws (samples, say): kept by the sweep, never recorded;
* ``holds(figures)``: the verdict on one seed (``None``: a figure the book shows over the seeds
  without asserting anything about it);
* ``seeds`` and ``quorum``: the promise, "holds on at least ``quorum`` of ``seeds``" (all of them by
  default).  A subset of ``m`` seeds passes when it fails on at most ``len(seeds) - quorum`` of
  them, so a failing subset proves the full claim false.

:func:`sweep` runs a claim on several seeds (in parallel processes on the CPU) and returns a
:class:`Sweep`: the per-seed figures, the verdict, and the range of each figure over the seeds.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

__all__ = ["SEEDS", "Claim", "Sweep", "sweep", "run_one", "machine", "shutdown_workers"]

#: the seeds every claim promises unless it says otherwise
SEEDS: Tuple[int, ...] = (0, 1, 2, 3, 4)

Figures = Dict[str, Any]



def train_defaults(dataset: str, divergence: str) -> Dict[str, Any]:
    """What ``fdiv train`` uses for ``divergence`` on ``dataset``: the dataset's defaults and the recipe
    (part of a claim's settings, so a recorded sweep goes stale when either changes)."""
    from fdiv.datasets import get_dataset
    from fdiv.gan.training.recipes import recipe
    return dict(dataset=get_dataset(dataset).train_defaults, recipe=recipe(dataset, divergence))

@dataclass(frozen=True)
class Claim:
    """One statement about training that a chapter asserts (see the module docstring)."""

    name: str
    chapter: str
    statement: str
    measure: Callable[[int, bool], Figures]
    holds: Optional[Callable[[Figures], bool]]
    settings: Mapping[str, Any] = field(default_factory=dict)
    seeds: Tuple[int, ...] = SEEDS
    quorum: Optional[int] = None
    ci_seeds: Optional[Tuple[int, ...]] = None
    book_seeds: Optional[Tuple[int, ...]] = None
    seconds: float = 0.0  # measured cost of one seed in the default profile, one CPU thread

    @property
    def asserted(self) -> bool:
        """False for a figure shown without a verdict (``holds`` is None)."""
        return self.holds is not None

    @property
    def needed(self) -> int:
        """How many of :attr:`seeds` must hold."""
        return len(self.seeds) if self.quorum is None else self.quorum

    @property
    def allowed_failures(self) -> int:
        return len(self.seeds) - self.needed

    @property
    def promise(self) -> str:
        n = len(self.seeds)
        if not self.asserted:
            return f"shown over seeds {_seed_range(self.seeds)}, not asserted"
        who = "every seed" if self.needed == n else f"at least {self.needed} of {n} seeds"
        return f"{who} of {_seed_range(self.seeds)}"

    def fingerprint(self) -> str:
        """A short hash of the settings and the promise: a recorded sweep is stale when it changes."""
        blob = json.dumps({"settings": dict(self.settings), "seeds": list(self.seeds), "quorum": self.needed},
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _seed_range(seeds: Sequence[int]) -> str:
    s = sorted(seeds)
    if len(s) > 2 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return ", ".join(map(str, s))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass
class Sweep:
    """The figures of one claim on several seeds, and the verdict."""

    claim: Claim
    rows: Dict[int, Figures]
    fast: bool = False
    extras: Dict[int, Any] = field(default_factory=dict)

    @property
    def verdicts(self) -> Dict[int, bool]:
        if not self.claim.asserted:
            return {s: True for s in self.rows}
        return {s: bool(self.claim.holds(f)) for s, f in self.rows.items()}

    @property
    def failed(self) -> Tuple[int, ...]:
        return tuple(s for s, ok in self.verdicts.items() if not ok)

    @property
    def holds(self) -> bool:
        """At most ``claim.allowed_failures`` of the seeds fail (on a subset: a necessary condition)."""
        return len(self.failed) <= self.claim.allowed_failures

    def ranges(self) -> Dict[str, Dict[str, float]]:
        """Per numeric figure: ``mean``, ``std`` (population), ``min``, ``max`` over the seeds (NaN-aware:
        a seed whose figure is NaN, e.g. a run that diverged, is left out and counted in ``missing``)."""
        out: Dict[str, Dict[str, float]] = {}
        keys = [k for k in next(iter(self.rows.values()), {}) if _number(next(iter(self.rows.values()))[k])]
        for k in keys:
            vals = [float(f[k]) for f in self.rows.values() if _number(f.get(k)) and math.isfinite(f[k])]
            if not vals:
                out[k] = dict(mean=math.nan, std=math.nan, min=math.nan, max=math.nan, missing=len(self.rows))
                continue
            mean = sum(vals) / len(vals)
            std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
            out[k] = dict(mean=mean, std=std, min=min(vals), max=max(vals), missing=len(self.rows) - len(vals))
        return out

    def verdict_line(self) -> str:
        """How many seeds hold, against the promise: two lines, each within 88 columns for the usual
        claim names (a chapter prints it)."""
        n, ok = len(self.rows), len(self.rows) - len(self.failed)
        seeds = _seed_range(list(self.rows))
        if self.fast:
            return f"{self.claim.name}: fast profile, not checked\n  ({n} seed(s) of a shorter run)"
        if not self.claim.asserted:
            return f"{self.claim.name}: shown over {n} seeds ({seeds}), not asserted"
        state = "holds" if self.holds else "FAILS"
        failed = f", fails on seed {', '.join(map(str, self.failed))}" if self.failed else ""
        return (f"{self.claim.name}: {state} on {ok} of {n} seeds ({seeds}){failed}\n"
                f"  promised on {self.claim.promise}")

    def check(self) -> "Sweep":
        """Raise ``AssertionError`` (one line, naming the failing seeds and their figures) unless the claim
        holds on these seeds; return ``self``."""
        if not self.holds:
            bad = {s: self.rows[s] for s in self.failed}
            line = self.verdict_line().replace("\n ", ";")
            raise AssertionError(f"{line}. {self.claim.statement} Figures: {bad}")
        return self

    def to_json(self) -> Dict[str, Any]:
        return {"fingerprint": self.claim.fingerprint(), "fast": self.fast,
                "rows": {str(s): f for s, f in self.rows.items()}, "holds": self.holds}


def run_one(claim: Claim, seed: int, fast: bool = False) -> Figures:
    """The figures of ``claim.measure(seed, fast)``, checked to be a flat dict of JSON-safe values."""
    return _measured(claim, seed, fast)[0]


def _measured(claim: Claim, seed: int, fast: bool) -> Tuple[Figures, Any]:
    out = claim.measure(seed, fast)
    figures, extras = out if isinstance(out, tuple) else (out, None)
    if not isinstance(figures, dict) or not all(isinstance(v, (int, float, bool, str)) for v in figures.values()):
        raise TypeError(f"claim {claim.name!r} measured {figures!r}; figures are a flat dict of numbers, "
                        "booleans or strings")
    return figures, extras


def _one_thread() -> None:
    """A worker's set-up: one torch thread, and the claims imported once (not at every task)."""
    import torch

    import fdiv.course.claims.registry  # noqa: F401

    torch.set_num_threads(1)


_POOLS: Dict[int, ProcessPoolExecutor] = {}


def _pool(n: int) -> ProcessPoolExecutor:
    """A pool of ``n`` spawned workers, started once and kept for the next sweep (a chapter runs several;
    each worker costs seconds to import torch and the library)."""
    if n not in _POOLS:
        import atexit
        import multiprocessing as mp

        _POOLS[n] = ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=_one_thread)
        if len(_POOLS) == 1:
            atexit.register(shutdown_workers)
    return _POOLS[n]


def shutdown_workers() -> None:
    """Stop the worker processes that :func:`sweep` keeps between calls."""
    while _POOLS:
        _POOLS.popitem()[1].shutdown(cancel_futures=True)


def _in_child(name: str, seed: int, fast: bool) -> Tuple[Figures, Any]:
    from fdiv.course.claims.registry import get

    return _measured(get(name), seed, fast)


def _workers(n_seeds: int, workers: Optional[int]) -> int:
    if workers is not None:
        return max(1, min(int(workers), n_seeds))
    import torch

    if torch.cuda.is_available():  # one process owns the GPU
        return 1
    return max(1, min(n_seeds, os.cpu_count() or 1))


def sweep(claim: Claim, seeds: Optional[Sequence[int]] = None, *, fast: bool = False,
          workers: Optional[int] = None, progress: Optional[bool] = None) -> Sweep:
    """Run ``claim`` on ``seeds`` (default: all it promises) and return the :class:`Sweep`.

    On the CPU the seeds run in ``workers`` processes (default: one per core, each with one torch
    thread, which is the fastest way to train small networks); on a GPU, one after another.  A claim
    registered in :mod:`fdiv.course.claims.registry` can run in a child process; any other runs here.
    """
    from fdiv.core.runtime import show_progress

    seeds = tuple(claim.seeds if seeds is None else seeds)
    n = _workers(len(seeds), workers)
    bar = _bar(len(seeds), claim.name, show_progress() if progress is None else progress)
    rows: Dict[int, Tuple[Figures, Any]] = {}
    if n == 1 or not _registered(claim):
        for s in seeds:
            rows[s] = _measured(claim, s, fast)
            bar.update()
    else:
        from concurrent.futures.process import BrokenProcessPool

        futures = {_pool(n).submit(_in_child, claim.name, s, fast): s for s in seeds}
        try:
            for fut in as_completed(futures):
                rows[futures[fut]] = fut.result()
                bar.update()
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh next time
            _POOLS.pop(n, None)
            raise
    bar.close()
    return Sweep(claim, {s: rows[s][0] for s in seeds}, fast,
                 {s: rows[s][1] for s in seeds if rows[s][1] is not None})


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, desc: str, show: bool):
    """A ``tqdm.auto`` bar over the seeds where someone will see it (imported only then: in a kernel
    without ipywidgets, importing ``tqdm.auto`` prints a warning into the page)."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="seed")


def _registered(claim: Claim) -> bool:
    from fdiv.course.claims.registry import CLAIMS

    return CLAIMS.get(claim.name) is claim


def machine() -> Dict[str, Any]:
    """Where this process runs: torch version, device, CPU capability, threads, platform, CPU count."""
    import platform

    import torch

    from fdiv.core.runtime import default_device

    cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: "unknown")()
    return {"torch": torch.__version__, "device": str(default_device()), "cpu_capability": cap,
            "threads": torch.get_num_threads(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "python": platform.python_version()}
