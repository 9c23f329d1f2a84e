"""pytest plugin: grade a student's answers with pytest, one test (and one marker) per exercise.

    pytest -p fdiv.exercises.pytest_plugin --solutions answers.py            # every exercise
    pytest -p fdiv.exercises.pytest_plugin --solutions answers.py -m ex3_2   # only exercise 3.2
    FDIV_SOLUTIONS=lesson.ipynb pytest -p fdiv.exercises.pytest_plugin -m "ex3_1 or ex3_2"

The answers file follows the conventions of ``fdiv grade`` (:mod:`fdiv.course.exercises.grading`): a ``.py``
file with the skeletons' function names, names ``ex3_2`` or ``check("3.2", ...)`` calls, or a notebook. The
file runs once, in a child process (:class:`~fdiv.course.exercises.grading.GradingSession`, the runner of
``fdiv grade``); each exercise becomes a test item ``answers.py::exercise_3_2`` marked ``ex3_2``; an exercise
the file does not answer FAILS (an autograder must not count it as passed); a failing one shows the same
report as ``check()``. When ``--solutions`` is given and no test paths are, only the
answers file is collected. The plugin registers the markers ``ex1_1`` ... ``ex13_20`` and ``exercise``, so
``-m ex3_2`` gives no unknown-marker warning (``--strict-markers`` works too).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fdiv.core.checks import seconds_argument

MARKERS = [f"ex{c}_{n}" for c in range(1, 14) for n in range(1, 21)]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fdiv-exercises", "fdiv exercises")
    group.addoption("--solutions", action="store", default=None, metavar="FILE",
                    help="grade this answers file (.py or .ipynb) as one test per exercise "
                         "(default: $FDIV_SOLUTIONS)")
    group.addoption("--exercise-time-limit", action="store", type=seconds_argument, default=None,
                    metavar="SECONDS", help="time limit per check of an exercise (default: the exercise's own)")


def _solutions(config: pytest.Config) -> Path | None:
    value = config.getoption("--solutions", default=None) or os.environ.get("FDIV_SOLUTIONS")
    if not value:
        return None
    return Path(value).resolve()


def pytest_configure(config: pytest.Config) -> None:
    for name in MARKERS:
        config.addinivalue_line("markers", f"{name}: exercise {name[2:].replace('_', '.')} (fdiv.course.exercises)")
    config.addinivalue_line("markers", "exercise: a graded answer to an exercise (fdiv.course.exercises)")
    path = _solutions(config)
    if path is None:
        return
    if not path.is_file():
        raise pytest.UsageError(f"--solutions: no such file: {path}")
    if path.suffix not in (".py", ".ipynb"):
        raise pytest.UsageError(f"--solutions: expected a .py or .ipynb file, got {path}")
    # Collect the answers file: alone when no paths were given, besides them otherwise.
    args = list(getattr(config, "args", []) or [])
    given = getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS
    if not given:
        config.args = [str(path)]
    elif all(Path(a.split("::")[0]).resolve() != path for a in args):
        config.args = args + [str(path)]


class ExerciseFailed(Exception):
    def __init__(self, report: str):
        super().__init__(report)
        self.report = report


class ExerciseItem(pytest.Item):
    def __init__(self, *, exercise_id: str, **kwargs):
        super().__init__(**kwargs)
        self.exercise_id = exercise_id

    def runtest(self) -> None:
        session = self.parent.grading
        limit = self.config.getoption("--exercise-time-limit", default=None)
        res = session.grade(self.exercise_id, time_limit=limit)
        if res is None:
            problems = "".join(f"\n  {e}" for e in session.errors)
            raise ExerciseFailed(f"no answer to exercise {self.exercise_id} in {self.parent.path.name} (name it "
                                 f"as the skeleton or ex{self.exercise_id.replace('.', '_')}; fdiv grade --list)"
                                 + problems)
        if not res.passed:
            raise ExerciseFailed(res.report())

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ExerciseFailed):
            return excinfo.value.report
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"exercise {self.exercise_id}"


class SolutionsFile(pytest.File):
    """The student's answers file as a pytest collector: one item per exercise."""

    grading = None

    def collect(self):
        from .grading import GradingSession
        from .registry import all_exercises

        self.grading = GradingSession(self.path).open()
        self.config.add_cleanup(self.grading.close)
        if self.grading.usage_error:
            raise pytest.UsageError(f"--solutions: {self.grading.usage_error}")
        for msg in self.grading.errors + self.grading.warnings:
            self.warn(pytest.PytestWarning(f"{self.path.name}: {msg}"))
        for ex in all_exercises():
            item = ExerciseItem.from_parent(self, name=f"exercise_{ex.id.replace('.', '_')}", exercise_id=ex.id)
            item.add_marker(ex.marker)
            item.add_marker("exercise")
            yield item


def _is_solutions(config: pytest.Config, path: Path) -> bool:
    sol = _solutions(config)
    return sol is not None and Path(path).resolve() == sol


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent):
    if _is_solutions(parent.config, module_path):
        return SolutionsFile.from_parent(parent, path=module_path)
    return None


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix == ".ipynb" and _is_solutions(parent.config, file_path):
        return SolutionsFile.from_parent(parent, path=file_path)
    return None
