"""The exercise section of each chapter notebook, rendered from the exercise registry at build time.

``tools/build_notebooks.py`` appends :func:`exercise_cells` to the cells of chapter N's source, so the
book, the checks and the reference solutions cannot drift apart: nothing generated is committed.

The section opens with a markdown introduction and one code cell of imports (:data:`PREAMBLE`); then,
for each exercise,

1. a markdown cell with the sphinx-exercise ``{exercise}`` directive (label ``ex-N-k``, the task);
2. the code skeleton the student fills in (``raise NotImplementedError("Exercise N.k")``);
3. a ``check("N.k", name)`` cell, tagged :data:`CHECK_TAGS`: its output is the reader's, so the
   published pages and the committed notebooks show none (run on the skeleton it would print FAIL
   lines, never a traceback);
4. with solutions only: a markdown cell with the ``{solution}`` directive (``:class: dropdown``)
   showing the reference solution.

The reference solutions are not part of the installed package: they are read by path from the
repository (:data:`SOLUTIONS_PATH`, ``instructor/solutions.py``), a module that defines
``SOLUTIONS`` (exercise id -> function) and optionally ``DEPENDS`` (exercise id -> names of the other
functions its solution calls, shown with it). ``solutions=None`` renders the section without them
(the student notebooks).
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import nbformat

from .core import Exercise
from .registry import all_exercises

__all__ = ["PREAMBLE", "INTRO", "CHECK_TAGS", "SOLUTIONS_PATH", "chapters", "exercise_cells", "load_solutions",
           "skeleton", "solution_source"]

#: ``instructor/solutions.py`` of the repository this module sits in (only a source checkout has it).
SOLUTIONS_PATH = Path(__file__).resolve().parents[3] / "instructor" / "solutions.py"

PREAMBLE = """\
import math

import sympy
import torch
import torch.nn.functional as F
from torch import nn

from fdiv.exercises import check"""

INTRO = """\
## Exercises

Each exercise below is checked automatically. Write your answer in the code cell under it (replace the
`raise NotImplementedError(...)` line), run that cell, then run the `check(...)` cell: it prints one
PASS or FAIL line per property it tests, with a hint when something is off. Solutions are in the
dropdowns; try first. To grade a file of answers from a terminal: `fdiv grade answers.py`
(answers named `ex3_2` and so on, see `fdiv grade --list`), or this whole notebook: `fdiv grade NOTEBOOK.ipynb`.

```{only} html
This page shows no `check` output: open the chapter in Colab or Jupyter (the rocket button at the top)
to run the checks.
```"""

#: Tags of the ``check(...)`` cells: myst-nb leaves their output out of the HTML book, and
#: ``tools/build_notebooks.py`` clears it in the committed notebooks.
CHECK_TAGS = ("remove-output", "fdiv-check")

#: The sentence of :data:`INTRO` left out of the section without solutions.
SOLUTIONS_NOTE = " Solutions are in the\ndropdowns; try first."

_LOADED: dict[Path, ModuleType] = {}


def chapters() -> list[int]:
    """The chapters that have exercises."""
    return sorted({e.chapter for e in all_exercises()})


def load_solutions(path: str | Path | None = None) -> ModuleType:
    """The reference-solutions module at ``path`` (default :data:`SOLUTIONS_PATH`), loaded once."""
    path = Path(SOLUTIONS_PATH if path is None else path).resolve()
    if path in _LOADED:
        return _LOADED[path]
    if not path.is_file():
        raise FileNotFoundError(f"reference solutions not found at {path} (a source checkout of the "
                                "repository has instructor/solutions.py)")
    name = f"_fdiv_reference_solutions_{len(_LOADED)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and inspect look modules up by name
    spec.loader.exec_module(module)
    if not isinstance(getattr(module, "SOLUTIONS", None), dict):
        raise ValueError(f"{path} must define SOLUTIONS, a dict from exercise id to function")
    _LOADED[path] = module
    return module


def _solutions_module(solutions: ModuleType | str | Path | None) -> ModuleType:
    return solutions if isinstance(solutions, ModuleType) else load_solutions(solutions)


CODE_WIDTH = 88  # the longest code line a chapter shows (tests/test_book_style.py)


def _def_line(name: str, signature: str) -> str:
    """``def name(signature):``, its parameters on a line of their own where it is too long."""
    line = f"def {name}{signature}:"
    if len(line) <= CODE_WIDTH:
        return line
    params = signature.strip()[1:-1].strip()
    return f"def {name}(\n    {params}\n):"


def _docstring(doc: str) -> str:
    """A docstring indented by four spaces, its lines wrapped to the code width."""
    lines = []
    for paragraph in doc.splitlines():
        lines += textwrap.wrap(paragraph, CODE_WIDTH - 4, break_long_words=False,
                               break_on_hyphens=False) or [""]
    if len(lines) == 1 and len(lines[0]) <= CODE_WIDTH - 10:
        return f'    """{lines[0]}"""'
    body = textwrap.indent("\n".join(lines), "    ")
    return f'    """\n{body}\n    """'


def skeleton(ex: Exercise) -> str:
    """The code cell the student fills in."""
    return (f"{_def_line(ex.name, ex.signature)}\n"
            f"{_docstring(ex.doc.strip() or ex.title)}\n"
            f"    # Exercise {ex.id}: replace the next line with your code\n"
            f"    raise NotImplementedError(\"Exercise {ex.id}\")")


def solution_source(ex: Exercise, solutions: ModuleType | str | Path | None = None) -> str:
    """The reference solution's source, after the other functions it calls, as the book shows it.

    ``solutions``: the solutions module or its path (default :data:`SOLUTIONS_PATH`)."""
    module = _solutions_module(solutions)
    if ex.id not in module.SOLUTIONS:
        raise KeyError(f"{module.__file__} has no reference solution for exercise {ex.id}")
    parts = [inspect.getsource(getattr(module, dep)).rstrip()
             for dep in getattr(module, "DEPENDS", {}).get(ex.id, [])]
    parts.append(inspect.getsource(module.SOLUTIONS[ex.id]).rstrip())
    return "\n\n\n".join(parts)


def _escape_title(title: str) -> str:
    return title.replace("*", r"\*")


def _directive(ex: Exercise) -> str:
    kind_note = {
        "function": f"Check your function with `check(\"{ex.id}\", {ex.name})`.",
        "number": f"Return the number from `{ex.name}()`; `check(\"{ex.id}\", {ex.name})` calls it "
                  f"(or pass the number itself).",
        "sympy": f"Return the sympy expression from `{ex.name}()`; `check(\"{ex.id}\", {ex.name})` calls it.",
    }[ex.kind]
    return (f"````{{exercise}} {_escape_title(ex.title)}\n:label: {ex.label}\n\n"
            f"{ex.task.strip()}\n\n{kind_note}\n````")


def exercise_cells(chapter: int, solutions: ModuleType | str | Path | None = SOLUTIONS_PATH
                   ) -> list[nbformat.NotebookNode]:
    """The cells of chapter ``chapter``'s exercise section (empty if it has none).

    ``solutions``: the solutions module or its path (each exercise then ends with its reference
    solution in a closed dropdown), or ``None`` for the section without solutions."""
    exs = all_exercises(chapter)
    if not exs:
        return []
    module = None if solutions is None else _solutions_module(solutions)
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    intro = INTRO if module is not None else INTRO.replace(SOLUTIONS_NOTE, "")
    cells = [new_md(intro), new_code(PREAMBLE)]
    for ex in exs:
        cells += [new_md(_directive(ex)), new_code(skeleton(ex)), new_code(f"check(\"{ex.id}\", {ex.name})",
                                                                      metadata={"tags": list(CHECK_TAGS)})]
        if module is not None:
            cells.append(new_md(f"````{{solution}} {ex.label}\n:class: dropdown\n\n"
                                f"```python\n{solution_source(ex, module)}\n```\n````"))
    return cells
