"""The course: exercises and their graders (:mod:`fdiv.course.exercises`) and helpers that only the
chapters need (:mod:`~fdiv.course.chapters`).  Nothing in the library imports this package."""
