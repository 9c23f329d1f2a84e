"""Short public path to the exercises: ``from fdiv.exercises import check`` (in the chapters) and
``pytest -p fdiv.exercises.pytest_plugin`` (autograders).  The code is in :mod:`fdiv.course.exercises`."""
from fdiv.course.exercises import *  # noqa: F401,F403
from fdiv.course.exercises import __all__  # noqa: F401
