"""Grading a student's file: a Python answers file or a notebook.

Conventions (what ``fdiv grade FILE`` and the pytest plugin look for):

* **Python file** (``answers.py``): it is executed (as a module named ``__fdiv_grade__``, so an
  ``if __name__ == "__main__":`` block does not run) and its answers are collected from

  1. top-level names ``ex<chapter>_<k>``: ``ex3_2 = pearson_conjugate`` or ``def ex3_2(t): ...``;
     for number / sympy exercises the value itself or a function of no arguments computing it;
  2. functions decorated with ``@fdiv.course.exercises.answer("3.2")``;
  3. calls ``check("3.2", answer)`` made while the file runs: during grading ``check`` only records
     its answer (it prints nothing and runs nothing).

  When several give an answer to the same exercise, that order decides (a name beats a decorator beats
  a ``check`` call; among ``check`` calls the last one wins).

* **Notebook** (``.ipynb``, e.g. a chapter of the book with your answers filled in): its code cells are
  executed in order in one namespace, and answers are collected as for a Python file; in practice the
  ``check("3.2", my_function)`` cells of the exercise section provide them. Only the cells *after* the
  ``## Exercises`` heading run (the section imports what it needs; the chapter's own computations,
  possibly long trainings, are skipped) unless ``all_cells=True`` (``--all-cells``) or the notebook has no
  such heading. IPython syntax is dropped: lines starting with ``%`` or ``!``, cells starting with ``%%``.
  A cell that raises is reported and the next cells still run.

Only the exercises the file answers are graded, unless ``ids`` (``--exercise``/``--chapter``) or
``require_all`` (``--all``) say otherwise; a missing answer then counts as a failure.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .core import (CheckResult, _Collector, _COLLECT_LOCK, _COLLECTORS,
                   format_student_exception, get_exercise, normalize_id, run_exercise, run_limited)

__all__ = ["LoadedAnswers", "load_answers", "grade", "format_table", "notebook_code_cells"]

_NAME_RE = re.compile(r"^ex(\d+)_(\d+)$")
_EXERCISES_HEADING = re.compile(r"^\s*#{1,6}\s*Exercises\b", re.I | re.M)


@dataclass
class LoadedAnswers:
    """Answers found in a file: ``answers[id]``, where each came from (``origin[id]``), problems met."""

    path: str
    answers: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    output: str = ""
    namespace: dict = field(default_factory=dict, repr=False)


def notebook_code_cells(path: str | os.PathLike, all_cells: bool = False) -> list[tuple[int, str]]:
    """``(cell number, source)`` of the code cells to run (see the module docstring), IPython lines removed."""
    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise ValueError(f"{path}: not a Jupyter notebook (no 'cells' list)")

    def text(cell) -> str:
        src = cell.get("source", "")
        return "".join(src) if isinstance(src, list) else str(src)

    start = 0
    if not all_cells:
        for i, cell in enumerate(cells):
            if cell.get("cell_type") == "markdown" and _EXERCISES_HEADING.search(text(cell)):
                start = i + 1
                break
    out = []
    for i, cell in enumerate(cells[start:], start=start):
        if cell.get("cell_type") != "code":
            continue
        src = text(cell)
        if src.lstrip().startswith("%%"):
            continue
        lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines()]
        out.append((i + 1, "\n".join(lines)))
    return out


def _exec_sources(sources: list[tuple[str, str]], ns: dict, loaded: LoadedAnswers) -> None:
    for filename, src in sources:
        try:
            code = compile(src, filename, "exec")
        except SyntaxError as exc:
            loaded.errors.append(f"{filename}: syntax error, line {exc.lineno}: {exc.msg}")
            continue
        try:
            exec(code, ns)  # noqa: S102 - grading runs the student's code by design
        except SystemExit:
            loaded.errors.append(f"{filename}: called exit(); the remaining code did not run")
            return
        except Exception as exc:  # noqa: BLE001
            loaded.errors.append(f"{filename} raised " + format_student_exception(exc).replace("\n", "\n    "))


def load_answers(path: str | os.PathLike, *, all_cells: bool = False, time_limit: float = 600.0) -> LoadedAnswers:
    """Execute a student's ``.py`` file or ``.ipynb`` notebook and collect its answers (never raises for
    errors in the student's code; raises ValueError/OSError for a missing or unreadable file)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such file: {path}")
    loaded = LoadedAnswers(path=str(p))
    if p.suffix == ".ipynb":
        sources = [(f"<cell {n}>", src) for n, src in notebook_code_cells(p, all_cells)]
    elif p.suffix == ".py":
        sources = [(str(p), p.read_text(encoding="utf-8"))]
    else:
        raise ValueError(f"{path}: expected a Python file (.py) or a notebook (.ipynb)")

    mod = types.ModuleType("__fdiv_grade__")
    mod.__file__ = str(p.resolve())
    ns = mod.__dict__
    coll = _Collector()
    old_mod = sys.modules.get("__fdiv_grade__")
    sys.modules["__fdiv_grade__"] = mod
    folder = str(p.resolve().parent)
    sys.path.insert(0, folder)
    os.environ.setdefault("MPLBACKEND", "Agg")
    buf = io.StringIO()
    with _COLLECT_LOCK:
        _COLLECTORS.append(coll)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            status, _ = run_limited(_exec_sources, (sources, ns, loaded), time_limit)
        if status == "timeout":
            loaded.errors.append(f"running the file took longer than {time_limit:g} s; it was stopped")
    finally:
        with _COLLECT_LOCK:
            _COLLECTORS.remove(coll)
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
        if old_mod is not None:
            sys.modules["__fdiv_grade__"] = old_mod
    loaded.output = buf.getvalue()
    loaded.namespace = ns

    # 3. check() calls, 2. decorated functions, 1. names ex<N>_<k>: later assignments win
    for eid in coll.order:
        loaded.answers[eid], loaded.origin[eid] = coll.answers[eid], "check() call"
    for name, obj in list(ns.items()):
        eid = getattr(obj, "__fdiv_exercise__", None) if callable(obj) else None
        if isinstance(eid, str):
            loaded.answers[eid], loaded.origin[eid] = obj, f"@answer: {name}"
    for name, obj in list(ns.items()):
        m = _NAME_RE.match(name)
        if not m:
            continue
        try:
            eid = normalize_id(f"{m.group(1)}.{m.group(2)}")
        except ValueError:
            loaded.errors.append(f"the name {name} does not match an exercise (fdiv grade --list shows them)")
            continue
        loaded.answers[eid], loaded.origin[eid] = obj, f"name {name}"
    return loaded


def _sort_key(eid: str) -> tuple[int, int]:
    a, b = eid.split(".")
    return int(a), int(b)


def grade(answers: dict[str, Any], ids: Iterable[str] | None = None, *, time_limit: float | None = None
          ) -> list[tuple[str, CheckResult | None]]:
    """Run the checks of ``ids`` (default: every answered exercise); ``None`` results mark a missing answer."""
    ids = sorted(set(answers) if ids is None else {normalize_id(i) for i in ids}, key=_sort_key)
    out: list[tuple[str, CheckResult | None]] = []
    for eid in ids:
        if eid in answers:
            out.append((eid, run_exercise(eid, answers[eid], time_limit=time_limit)))
        else:
            out.append((eid, None))
    return out


def format_table(results: list[tuple[str, CheckResult | None]], title: str = "") -> str:
    """The score table of ``fdiv grade``."""
    rows = []
    for eid, res in results:
        ex = get_exercise(eid)
        name = ex.title if len(ex.title) <= 56 else ex.title[:53] + "..."
        if res is None:
            rows.append((eid, name, f"0/{len(ex.checks)}", "MISSING"))
        else:
            label = {"pass": "PASS", "todo": "TODO", "fail": "FAIL"}[res.status]
            rows.append((eid, name, f"{res.n_passed}/{res.n_total}", label))
    w_title = max([len(r[1]) for r in rows] + [5])
    lines = [title] if title else []
    lines.append(f"  {'exercise':<8}  {'title':<{w_title}}  {'checks':>6}  result")
    lines.append(f"  {'-' * 8}  {'-' * w_title}  {'-' * 6}  {'-' * 7}")
    for eid, name, checks, label in rows:
        lines.append(f"  {eid:<8}  {name:<{w_title}}  {checks:>6}  {label}")
    n_pass = sum(1 for _, r in results if r is not None and r.passed)
    n_checks = sum(r.n_passed for _, r in results if r is not None)
    tot_checks = sum((r.n_total if r is not None else len(get_exercise(e).checks)) for e, r in results)
    lines.append(f"  score: {n_pass}/{len(results)} exercises passed ({n_checks}/{tot_checks} checks)")
    return "\n".join(lines)
