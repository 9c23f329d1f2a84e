"""``pytest -p fdiv.exercises.pytest_plugin``: the grader's pytest plugin, whose code is
:mod:`fdiv.course.exercises.pytest_plugin`."""
from fdiv.course.exercises.pytest_plugin import *  # noqa: F401,F403
