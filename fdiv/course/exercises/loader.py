"""Executing a student's file or notebook and finding its answers (in the child process of ``fdiv grade``).

Conventions (what ``fdiv grade FILE`` and the pytest plugin look for):

* **Python file** (``answers.py``): it is executed as a module named ``__fdiv_grade__`` (so an
  ``if __name__ == "__main__":`` block does not run) and its answers are, by priority:

  1. top-level names ``ex<chapter>_<k>``: ``ex3_2 = pearson_conjugate`` or ``def ex3_2(t): ...``;
     for number / sympy exercises the value itself or a function of no arguments computing it;
  2. functions decorated with ``@fdiv.exercises.answer("3.2")``;
  3. top-level functions defined in the file with the skeleton's name (``def pearson_conjugate(t)``,
     see ``fdiv grade --list``);
  4. calls ``check("3.2", answer)`` made while the file runs (during grading ``check`` only records its
     answer); among several, the last one counts, and the report says so if an earlier one passed.

  A top-level function that is none of these, with a name close to an exercise's, gets a warning
  naming that exercise.

* **Notebook** (``.ipynb``): its code cells are executed in order in one namespace, and answers are
  collected as for a Python file. The cells after the ``## Exercises`` heading all run; above it (the
  chapter's own computations, possibly long trainings) only what the answers may depend on runs:
  imports, function and class definitions, and the assignments of names used by the exercise section
  or by those definitions. ``all_cells=True`` (``--all-cells``) runs every cell. IPython syntax is
  dropped: lines starting with ``%`` or ``!``, cells starting with ``%%``. A cell that raises is
  reported and the next cells still run.
"""
from __future__ import annotations

import ast
import difflib
import json
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core import format_student_exception
from .registry import all_exercises, by_name, known_id
from .runner import collecting

__all__ = ["LoadedAnswers", "load_answers", "notebook_code_cells", "MODULE_NAME"]

MODULE_NAME = "__fdiv_grade__"
_NAME_RE = re.compile(r"^ex(\d+)_(\d+)$")
_EXERCISES_HEADING = re.compile(r"^\s*#{1,6}\s*Exercises\b", re.I | re.M)


@dataclass
class LoadedAnswers:
    """What a file answers: ``answers[id]`` (the object graded), ``origin[id]`` (where it came from),
    ``earlier[id]`` (earlier check() answers, as (where, object)), problems met and warnings."""

    path: str
    answers: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    earlier: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- notebooks

def _cell_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _strip_ipython(src: str) -> str:
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())


def _loaded_names(nodes) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _stored_names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _dependencies(cells: list[tuple[int, str]], section: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The statements of ``cells`` (above the exercises) that ``section`` may depend on; the others are
    blanked out, so line numbers stay those of the notebook."""
    parsed = []
    for number, src in cells:
        try:
            parsed.append((number, src, ast.parse(src).body))
        except SyntaxError:
            continue
    needed = set()
    for _, src in section:
        try:
            needed |= _loaded_names([ast.parse(src)])
        except SyntaxError:
            continue
    keep: set[int] = set()
    statements = [stmt for _, _, body in parsed for stmt in body]
    changed = True
    while changed:
        changed = False
        for stmt in statements:
            if id(stmt) in keep:
                continue
            always = isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            assigns = isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and _stored_names(stmt) & needed
            if always or assigns:
                keep.add(id(stmt))
                needed |= _loaded_names([stmt])
                changed = True
    out = []
    for number, src, body in parsed:
        lines = src.splitlines()
        kept = [""] * len(lines)
        for stmt in body:
            if id(stmt) in keep:
                first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
                kept[first - 1:stmt.end_lineno] = lines[first - 1:stmt.end_lineno]
        if any(line.strip() for line in kept):
            out.append((number, "\n".join(kept)))
    return out


def notebook_code_cells(path: str | os.PathLike, all_cells: bool = False) -> list[tuple[int, str]]:
    """``(cell number, source)`` of the code to run (see the module docstring), IPython lines removed."""
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except json.JSONDecodeError as exc:  # a truncated or hand-edited file
        raise ValueError(f"{path}: not a readable notebook (invalid JSON at line {exc.lineno}, "
                         f"column {exc.colno}: {exc.msg}); open and save it again in Jupyter") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a readable notebook (not UTF-8 text)") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError(f"{path}: not a Jupyter notebook (no 'cells' list)")
    start = 0
    if not all_cells:
        for i, cell in enumerate(cells):
            if cell.get("cell_type") == "markdown" and _EXERCISES_HEADING.search(_cell_text(cell)):
                start = i + 1
                break
    code = [(i + 1, _strip_ipython(_cell_text(c))) for i, c in enumerate(cells)
            if c.get("cell_type") == "code" and not _cell_text(c).lstrip().startswith("%%")]
    above = [(n, src) for n, src in code if n <= start]
    section = [(n, src) for n, src in code if n > start]
    return _dependencies(above, section) + section


# --------------------------------------------------------------------------- running the file

def _exec_sources(sources: list[tuple[str, str]], ns: dict, loaded: LoadedAnswers) -> None:
    for filename, src in sources:
        try:
            code = compile(src, filename, "exec")
        except SyntaxError as exc:
            loaded.errors.append(f"{filename}: syntax error, line {exc.lineno}: {exc.msg}")
            continue
        try:
            exec(code, ns)  # noqa: S102 - grading runs the student's code by design (in a child process)
        except SystemExit:
            loaded.errors.append(f"{filename}: called exit(); the remaining code did not run")
            return
        except Exception as exc:  # noqa: BLE001
            loaded.errors.append(f"{filename} raised " + format_student_exception(exc).replace("\n", "\n    "))


def _sources(p: Path, all_cells: bool) -> list[tuple[str, str]]:
    if p.suffix == ".ipynb":
        return [(f"<cell {n}>", src) for n, src in notebook_code_cells(p, all_cells)]
    if p.suffix == ".py":
        return [(str(p), p.read_text(encoding="utf-8"))]
    raise ValueError(f"{p}: expected a Python file (.py) or a notebook (.ipynb)")


def load_answers(path: str | os.PathLike, *, all_cells: bool = False) -> LoadedAnswers:
    """Execute a student's ``.py`` file or ``.ipynb`` notebook in this process and collect its answers
    (never raises for errors in the student's code; ValueError/OSError for a missing or unreadable file)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such file: {path}")
    loaded = LoadedAnswers(path=str(p))
    sources = _sources(p, all_cells)
    mod = types.ModuleType(MODULE_NAME)
    mod.__file__ = str(p.resolve())
    sys.modules[MODULE_NAME] = mod
    sys.path.insert(0, str(p.resolve().parent))
    with collecting() as coll:
        _exec_sources(sources, mod.__dict__, loaded)
    _collect(mod.__dict__, coll, loaded)
    return loaded


def _defined_here(obj: Any) -> bool:
    return callable(obj) and getattr(obj, "__module__", None) == MODULE_NAME


def _collect(ns: dict, coll, loaded: LoadedAnswers) -> None:
    """Fill ``loaded`` from the namespace and the recorded calls; later steps have priority."""
    calls: dict[str, list[tuple[str, Any]]] = {}
    for eid, obj, where in coll.calls:
        calls.setdefault(eid, []).append((f"check() call ({where})", obj))
    for eid, found in calls.items():
        (origin, obj), loaded.earlier[eid] = found[-1], found[:-1]
        loaded.answers[eid], loaded.origin[eid] = obj, origin
    skeletons = by_name()
    used: set[str] = set()
    for name, obj in list(ns.items()):
        ex = skeletons.get(name)
        if ex is not None and (_defined_here(obj) or (ex.kind != "function" and not callable(obj))):
            _set(loaded, ex.id, obj, f"skeleton name {name}")
            used.add(name)
    for eid, obj in coll.decorated:
        _set(loaded, eid, obj, f"@answer: {getattr(obj, '__name__', eid)}")
        used.add(getattr(obj, "__name__", ""))
    for name, obj in list(ns.items()):
        m = _NAME_RE.match(name)
        if not m:
            continue
        used.add(name)
        try:
            eid = known_id(f"{m.group(1)}.{m.group(2)}")
        except ValueError:
            loaded.errors.append(f"the name {name} does not match an exercise (fdiv grade --list shows them)")
            continue
        _set(loaded, eid, obj, f"name {name}")
    _warn_unrecognised(ns, used | {getattr(o, "__name__", "") for _, o, _ in coll.calls}, loaded)


def _set(loaded: LoadedAnswers, eid: str, obj: Any, origin: str) -> None:
    loaded.answers[eid], loaded.origin[eid] = obj, origin
    loaded.earlier.pop(eid, None)


def _warn_unrecognised(ns: dict, used: set[str], loaded: LoadedAnswers) -> None:
    names = {e.name: e for e in all_exercises()} | {e.marker: e for e in all_exercises()}
    for name, obj in list(ns.items()):
        if name in used or name.startswith("_") or not _defined_here(obj) or isinstance(obj, type):
            continue
        close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
        if close:
            ex = names[close[0]]
            loaded.warnings.append(f"the function {name} is not graded: did you mean {close[0]} (exercise {ex.id}, "
                                   f"{ex.name}{ex.signature})? Name it {ex.name} or {ex.marker}")
        elif name.startswith("ex") and name[2:3].isdigit():
            loaded.warnings.append(f"the function {name} is not graded: answers are named ex<chapter>_<k>, "
                                   "e.g. ex3_2 (fdiv grade --list shows them)")
