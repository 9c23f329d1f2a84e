"""The exercises of the book, in book order, from the bank (:mod:`fdiv.course.exercises.bank`)."""
from __future__ import annotations

import functools
from typing import Any

from .bank import EXERCISES
from .core import Exercise, normalize_id

__all__ = ["all_exercises", "get_exercise", "known_id", "by_name"]


@functools.lru_cache(maxsize=None)
def _table() -> dict[str, Exercise]:
    table: dict[str, Exercise] = {}
    for ex in EXERCISES:
        if ex.id in table:
            raise ValueError(f"exercise {ex.id} is defined twice")
        table[ex.id] = ex
    return table


def all_exercises(chapter: int | None = None) -> list[Exercise]:
    """Every exercise (of one chapter if given), in book order."""
    exs = sorted(_table().values(), key=lambda e: (e.chapter, e.number))
    if chapter is not None:
        exs = [e for e in exs if e.chapter == int(chapter)]
    return exs


def known_id(ex_id: Any) -> str:
    """The normalised id of an existing exercise; ValueError listing the exercises otherwise."""
    out = normalize_id(ex_id)
    if out not in _table():
        known = ", ".join(e.id for e in all_exercises())
        raise ValueError(f"unknown exercise {ex_id!r}; the exercises are: {known}")
    return out


def get_exercise(ex_id: Any) -> Exercise:
    """The exercise ``ex_id`` (``"3.2"``, ``"ex3_2"``); unknown ids -> ValueError listing the known ones."""
    return _table()[known_id(ex_id)]


def by_name() -> dict[str, Exercise]:
    """The exercises by the function name of their skeleton (``pearson_conjugate`` -> 3.2)."""
    return {e.name: e for e in all_exercises()}
