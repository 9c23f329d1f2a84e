"""Exercises of the fdiv course book, with automatic checks.

In a notebook::

    from fdiv.exercises import check
    check("3.2", pearson_conjugate)      # prints PASS/FAIL per check; returns a CheckResult (truthy if all pass)

From the command line: ``fdiv grade answers.py`` or ``fdiv grade 03_fenchel_conjugate.ipynb``
(see :mod:`fdiv.cli.grade` for the file conventions), ``fdiv grade --list``.
With pytest: ``pytest -p fdiv.exercises.pytest_plugin --solutions answers.py -m ex3_2``.

Instructors: reference solutions are in :mod:`fdiv.course.exercises.solutions`, plausible wrong answers
(used by the tests) in :mod:`fdiv.course.exercises.wrong`.
"""
from __future__ import annotations

from .core import (CheckResult, Exercise, Outcome, all_exercises, check, get_exercise, normalize_id,
                   run_exercise)

__all__ = ["check", "CheckResult", "Exercise", "Outcome", "all_exercises", "get_exercise",
           "normalize_id", "run_exercise", "answer"]


def answer(ex_id):
    """Decorator marking a function as the answer to an exercise for ``fdiv grade``::

        @answer("3.2")
        def pearson_conjugate(t): ...

    The function is returned unchanged (calling ``check`` is still up to you).
    """
    from .core import _active_collector, normalize_id as _norm

    eid = _norm(ex_id)

    def deco(fn):
        coll = _active_collector()
        if coll is not None:
            if eid not in coll.answers:
                coll.order.append(eid)
            coll.answers[eid] = fn
        try:
            fn.__fdiv_exercise__ = eid
        except (AttributeError, TypeError):
            pass
        return fn

    return deco
