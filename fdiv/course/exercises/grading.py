"""Grading a student's file (a Python answers file or a notebook): the engine of ``fdiv grade`` and of
the pytest plugin.

The file runs in a child process (:mod:`fdiv.course.exercises.sandbox`); how its answers are found is
described in :mod:`fdiv.course.exercises.loader`. Each exercise's checks run here, on plain values the
child sends back, so nothing in the student's code decides a verdict. Only the exercises the file
answers are graded, unless ``ids`` say otherwise; a missing answer then counts as a failure.

Results: :func:`format_table` (the text table), :func:`to_json` (one entry per exercise: id, passed,
score, messages) and :func:`to_gradescope` (Gradescope's ``results.json``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

from .core import CheckResult, Outcome
from .registry import get_exercise, known_id
from .runner import evaluate
from .sandbox import RemoteStudent, Sandbox

__all__ = ["GradingSession", "GradeReport", "grade_file", "format_table", "to_json", "to_gradescope"]


def _sort_key(eid: str) -> tuple[int, int]:
    a, b = eid.split(".")
    return int(a), int(b)


@dataclass
class GradeReport:
    """``results``: (id, CheckResult or None for a missing answer), in book order; what was found."""

    path: str
    results: list[tuple[str, CheckResult | None]] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r is not None and r.passed for _, r in self.results)


class GradingSession:
    """A student's file in a child process, graded exercise by exercise::

        with GradingSession("answers.py") as session:
            result = session.grade("3.2")        # None when the file does not answer 3.2

    A child that dies or runs past a limit is restarted (the file executed again) for the next exercise.
    """

    def __init__(self, path: str | os.PathLike, *, all_cells: bool = False, file_time_limit: float = 600.0,
                 memory_mb: int = 4096):
        self.path = str(path)
        self._options = dict(all_cells=all_cells, file_time_limit=file_time_limit, memory_mb=memory_mb)
        self.sandbox: Sandbox | None = None
        self.origin: dict[str, str] = {}
        self.earlier: dict[str, list[str]] = {}
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.usage_error = ""
        self.failed = ""

    def open(self) -> "GradingSession":
        """Execute the file; fills ``origin`` (the answers found), ``errors``, ``warnings``,
        ``usage_error`` (no such file, not .py/.ipynb) and ``failed`` (the child did not get through)."""
        report = self._start()
        self.usage_error = str(report.get("usage_error", ""))
        self.failed = str(report.get("failed", ""))
        for entry in report.get("answers", []):
            eid = known_id(entry["id"])
            self.origin[eid] = str(entry.get("origin", ""))[:200]
            self.earlier[eid] = [str(w)[:200] for w in entry.get("earlier", [])][:20]
        self.errors = [str(e)[:4000] for e in report.get("errors", [])][:50]
        self.warnings = [str(w)[:500] for w in report.get("warnings", [])][:50]
        if self.failed:
            self.errors.append(self.failed)
        return self

    def _start(self) -> dict:
        if self.sandbox is not None:
            self.sandbox.close()
        self.sandbox = Sandbox(self.path, **self._options)
        report = self.sandbox.start()
        return report if isinstance(report, dict) else {"failed": "the file's report could not be read"}

    def __enter__(self) -> "GradingSession":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()

    def output(self) -> str:
        return self.sandbox.output() if self.sandbox is not None else ""

    def _ensure_alive(self) -> str:
        if self.sandbox is not None and self.sandbox.alive:
            return ""
        report = self._start()
        return str(report.get("failed", "")) or str(report.get("usage_error", ""))

    def grade(self, eid: str, *, time_limit: float | None = None) -> CheckResult | None:
        """The result of exercise ``eid`` (None when the file does not answer it)."""
        ex = get_exercise(eid)
        if ex.id not in self.origin:
            return None
        problem = self._ensure_alive()
        if problem:
            return CheckResult(ex, [Outcome("your file runs", "fail", problem)])
        result = evaluate(ex, RemoteStudent(self.sandbox, ex.id), time_limit=time_limit)
        if not result.passed:
            for i, where in enumerate(self.earlier.get(ex.id, [])):
                if self._ensure_alive():
                    break
                if evaluate(ex, RemoteStudent(self.sandbox, f"{ex.id}#{i}"), time_limit=time_limit).passed:
                    result.notes.append(f"an earlier answer, {where}, passed; the last one given "
                                        f"({self.origin[ex.id]}) is the one graded")
                    break
        return result


def grade_file(path: str | os.PathLike, ids: Iterable[str] | None = None, *, time_limit: float | None = None,
               all_cells: bool = False, file_time_limit: float = 600.0, memory_mb: int = 4096
               ) -> tuple[GradeReport, str]:
    """Grade ``path`` (the exercises ``ids``, default those it answers). Returns the report and a usage
    error ("" when there is none: no such file, a file that is not .py / .ipynb)."""
    with GradingSession(path, all_cells=all_cells, file_time_limit=file_time_limit, memory_mb=memory_mb) as s:
        report = GradeReport(path=str(path), origin=dict(s.origin), errors=list(s.errors),
                             warnings=list(s.warnings))
        if s.usage_error:
            return report, s.usage_error
        selected = sorted(set(s.origin) if ids is None else {known_id(i) for i in ids}, key=_sort_key)
        report.results = [(eid, s.grade(eid, time_limit=time_limit)) for eid in selected]
    report.output = s.output()
    return report, ""


# --------------------------------------------------------------------------- reports

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


def _entry(eid: str, res: CheckResult | None, path: str) -> dict:
    if res is None:
        return {"id": eid, "passed": False, "score": 0.0, "messages": [f"no answer to exercise {eid} in {path}"]}
    return {"id": eid, "passed": res.passed, "score": round(res.score, 6), "messages": res.messages()}


def to_json(report: GradeReport) -> dict:
    """``{"file", "passed", "exercises": [{"id", "passed", "score", "messages"}, ...], "warnings"}``."""
    return {"file": report.path, "passed": report.passed,
            "exercises": [_entry(eid, res, report.path) for eid, res in report.results],
            "warnings": report.errors + report.warnings}


def to_gradescope(report: GradeReport) -> dict:
    """Gradescope's results.json: one test per exercise, worth one point, earned when every check passes."""
    tests = []
    for eid, res in report.results:
        ex = get_exercise(eid)
        passed = res is not None and res.passed
        text = res.report() if res is not None else f"no answer to exercise {eid} in {report.path}"
        tests.append({"name": f"Exercise {eid}: {ex.title}", "number": eid, "score": 1.0 if passed else 0.0,
                      "max_score": 1.0, "status": "passed" if passed else "failed", "output": text})
    notes = "\n".join(f"warning: {w}" for w in report.errors + report.warnings)
    return {"score": sum(t["score"] for t in tests), "tests": tests, "output": notes,
            "stdout_visibility": "visible"}
