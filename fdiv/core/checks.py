"""Value checkers shared by the configuration, the datasets, the models and the command line.

Each checker returns the value converted to a plain Python type or raises ``ValueError`` with one line
that names the value and what is allowed, e.g. ``batch_size must be an integer >= 1, got 0`` or
``unknown dataset 'ring9'; did you mean 'ring8'? (allowed: ring8, grid25, ...)``.

* :func:`check_int`    -- Python or NumPy integers (never ``bool``), within ``[minimum, maximum]``;
* :func:`check_number` -- finite real numbers (ints, floats, NumPy scalars; never ``bool`` or NaN)
  within bounds that may be open or closed;
* :func:`check_choice` -- one of a list of names, with a "did you mean" from :mod:`difflib`.

This module imports neither torch nor NumPy (NumPy scalars are recognised through the ``numbers`` ABCs
they register with), so the command line can use it before anything heavy is loaded.
"""
from __future__ import annotations

import argparse
import difflib
import math
import numbers
from typing import Iterable, Optional, Sequence

__all__ = ["is_integer", "check_int", "check_number", "check_choice", "did_you_mean", "seconds_argument",
           "FLOAT32_MAX"]

FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32: a larger learning rate overflows Adam


def is_integer(v) -> bool:
    """True for Python and NumPy integers (``numbers.Integral``), False for ``bool``."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _range_text(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"in {minimum}..{maximum}"
    if minimum is not None:
        return f">= {minimum}"
    if maximum is not None:
        return f"<= {maximum}"
    return ""


def check_int(name: str, v, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """``v`` as an ``int`` if it is an integer (Python or NumPy) within ``[minimum, maximum]``."""
    if not is_integer(v) or (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name} must be an integer {_range_text(minimum, maximum)}".rstrip() + f", got {v!r}")
    return int(v)


def check_number(name: str, v, minimum: Optional[float] = None, maximum: Optional[float] = None, *,
                 open_min: bool = False, open_max: bool = False, allowed: Optional[str] = None) -> float:
    """``v`` as a finite ``float`` within the bounds (``open_min``/``open_max`` exclude the ends).

    ``allowed`` replaces the generated description of the range in the message.
    """
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))
    if ok:
        x = float(v)
        if minimum is not None:
            ok = x > minimum if open_min else x >= minimum
        if ok and maximum is not None:
            ok = x < maximum if open_max else x <= maximum
    if not ok:
        if allowed is None:
            lo = "" if minimum is None else ("> " if open_min else ">= ") + f"{minimum:g}"
            hi = "" if maximum is None else ("< " if open_max else "<= ") + f"{maximum:g}"
            allowed = "a finite number" + (f" {lo}" if lo else "") + (" and" if lo and hi else "") + (f" {hi}" if hi else "")
        raise ValueError(f"{name} must be {allowed}, got {v!r}")
    return float(v)


def did_you_mean(value, allowed: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the closest name in ``allowed`` (difflib), or ``""``."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
    if not close:
        close = [a for a in allowed if a.lower() == value.lower()]
    return f"did you mean {close[0]!r}? " if close else ""


def check_choice(name: str, v, allowed: Sequence[str], *, what: Optional[str] = None) -> str:
    """``v`` if it is one of ``allowed``; else ``unknown NAME 'v'; did you mean ...? (allowed: ...)``."""
    allowed = tuple(allowed)
    if isinstance(v, str) and v in allowed:
        return v
    hint = did_you_mean(v, allowed)
    raise ValueError(f"unknown {what or name} {v!r}; {hint}(allowed: {', '.join(allowed)})")


def seconds_argument(text: str) -> float:
    """argparse type of a time limit: a positive, finite number of seconds (``inf`` and ``nan`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive, finite number of seconds")
    return value
