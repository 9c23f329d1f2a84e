"""Exercises of the fdiv course book, with automatic checks.

In a notebook::

    from fdiv.exercises import check
    check("3.2", pearson_conjugate)      # prints PASS/FAIL per check; returns a CheckResult (truthy if all pass)

From the command line: ``fdiv grade answers.py`` or ``fdiv grade 03_fenchel_conjugate.ipynb`` (the
student's code runs in a child process; see :mod:`fdiv.course.exercises.grading` for the file
conventions), ``fdiv grade --list``. With pytest:
``pytest -p fdiv.exercises.pytest_plugin --solutions answers.py -m ex3_2``.

Instructors: the reference solutions are in the repository's ``instructor/solutions.py`` (not part of
the installed package), plausible wrong answers in ``tests/fixtures/wrong_answers.py``.
"""
from __future__ import annotations

from .core import CheckResult, Exercise, Outcome, normalize_id
from .registry import all_exercises, get_exercise
from .runner import active_collector, check, run_exercise

__all__ = ["check", "CheckResult", "Exercise", "Outcome", "all_exercises", "get_exercise",
           "normalize_id", "run_exercise", "answer"]


def answer(ex_id):
    """Decorator marking a function as the answer to an exercise for ``fdiv grade``::

        @answer("3.2")
        def pearson_conjugate(t): ...

    The function is returned unchanged (calling ``check`` is still up to you).
    """
    eid = normalize_id(ex_id)

    def deco(fn):
        coll = active_collector()
        if coll is not None:
            coll.decorated.append((eid, fn))
        try:
            fn.__fdiv_exercise__ = eid
        except (AttributeError, TypeError):
            pass
        return fn

    return deco
