"""The claims about training that the chapters assert, each checked over several seeds.

A chapter states a claim ("without its penalty, kl is unstable on ring8"), runs it with
:func:`verify` on the seeds the book runs, shows the range of each figure over those seeds beside the
full recorded sweep with :func:`table`, and asserts the verdict.  ``tests/test_claims.py`` runs every
claim on the seeds CI affords, ``make test-claims`` on every seed it promises (and records the sweep).
See :mod:`fdiv.course.claims.base` for what a claim is.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Tuple

from fdiv.course.claims.base import SEEDS, Claim, Sweep, _seed_range, machine, run_one, sweep
from fdiv.course.claims.registry import CLAIMS, RECORD, for_chapter, get, names, read_record, recorded

__all__ = ["SEEDS", "Claim", "Sweep", "CLAIMS", "RECORD", "get", "names", "for_chapter", "recorded",
           "read_record", "sweep", "run_one", "machine", "verify", "table", "cell"]


def verify(name: str, seeds: Optional[Sequence[int]] = None, *, fast: Optional[bool] = None,
           workers: Optional[int] = None, progress: Optional[bool] = None) -> Sweep:
    """Run claim ``name`` as a chapter does and return the :class:`Sweep`.

    ``seeds``: default the claim's ``book_seeds`` (else every seed it promises).  In the default profile
    the verdict is asserted (:meth:`Sweep.check`); in the fast profile (``fast``, default
    :func:`fdiv.core.runtime.fast_profile`) the shorter experiment runs on the first seed only and
    nothing is asserted: its figures are not the claim's.
    """
    from fdiv.core.runtime import fast_profile

    claim = get(name)
    fast = fast_profile() if fast is None else bool(fast)
    if seeds is None:
        seeds = claim.book_seeds or claim.seeds
    if fast:
        seeds = tuple(seeds)[:1]
    result = sweep(claim, seeds, fast=fast, workers=workers, progress=progress)
    return result if fast else result.check()


def cell(result: Sweep, key: str, fmt: str) -> str:
    """Figure ``key`` of ``result`` as ``mean (min to max)`` over its seeds, in format ``fmt``."""
    return _cell(result.ranges().get(key), fmt)


def _cell(stats, fmt: str) -> str:
    if stats is None or stats["mean"] != stats["mean"]:  # NaN: no finite value
        return "-"
    if stats["min"] == stats["max"]:
        return format(stats["mean"], fmt)
    return f"{stats['mean']:{fmt}} ({stats['min']:{fmt}} to {stats['max']:{fmt}})"


def _seeds(rows) -> str:
    s = sorted(rows)
    return f"seed {s[0]}" if len(s) == 1 else f"seeds {_seed_range(s)}"


def table(result: Sweep, figures: Mapping[str, Tuple[str, str]], *, with_record: bool = True) -> str:
    """A Markdown table of ``figures`` (``{label: (key, format spec)}``): mean (min to max) over the seeds
    of ``result``, and, when the claim has a fresh record and ``with_record``, over every seed recorded
    by ``make test-claims`` (the machine named under the table)."""
    rec = recorded(result.claim.name) if with_record else None
    if rec is not None and sorted(rec.rows) == sorted(result.rows) and not result.fast:
        rec = None  # the same seeds: the fresh column says it all
    here, there = result.ranges(), rec.ranges() if rec is not None else {}
    head = f"| figure | this build, {_seeds(result.rows)} |"
    rule = "|---|---|"
    if rec is not None:
        head += f" recorded, {_seeds(rec.rows)} |"
        rule += "---|"
    lines = [head, rule]
    for label, (key, fmt) in figures.items():
        row = f"| {label} | {_cell(here.get(key), fmt)} |"
        if rec is not None:
            row += f" {_cell(there.get(key), fmt)} |"
        lines.append(row)
    lines.append("")
    lines.append("Mean over the seeds, (smallest to largest) when they differ.")
    if rec is not None:
        m = read_record().get("machine", {})
        lines[-1] += (f" Recorded with torch {m.get('torch', '?')} on {m.get('device', '?')} "
                      f"({m.get('cpu_capability', '?')}, {m.get('cpus', '?')} cores) by `make test-claims`.")
    if result.fast:
        lines[-1] += (" This build ran the fast profile's shorter experiment; the claim is about the "
                      "default profile.")
    return "\n".join(lines)
