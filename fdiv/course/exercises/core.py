"""The exercise data types: :class:`Exercise` and its checks, the results (:class:`Outcome`,
:class:`CheckResult`) and the errors a check can meet. Nothing here imports torch, sympy or the bank.

An :class:`Exercise` has a ``kind``:

``"function"``  the answer is a callable (the student's function); every check calls it.
``"number"``    the answer is a real number, or a function of no arguments returning one
                (it is called once, under ``compute_limit``: experiments may take a few seconds).
``"sympy"``     the answer is a sympy expression, or a function of no arguments returning one.
                Symbols are matched by *name* (``u``, ``t``, ``v``), whatever their assumptions.

A check is a function of the *prepared* answer that raises ``AssertionError`` with a message saying
which input failed and what came back. It never touches the student's objects: it calls the answer
through a :class:`~fdiv.course.exercises.runner.Student` (``call(student, ...)``, ``student.probe(...)``),
which returns plain values only (numbers, strings, tensors of the base class), so the same check runs
on an answer in this process (``check()`` in a notebook) or in a child process (``fdiv grade``).
"""
from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "Exercise", "ExerciseList", "Check", "Outcome", "CheckResult", "StudentError", "ExerciseTimeout",
    "normalize_id", "format_student_exception", "KINDS",
]

KINDS = ("function", "number", "sympy")
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_FDIV_DIR = os.path.dirname(os.path.dirname(_PKG_DIR))


@dataclass
class Check:
    """One property of a correct answer; ``fn(answer)`` raises AssertionError when it does not hold."""

    name: str
    fn: Callable[[Any], None]


@dataclass
class Exercise:
    """An exercise of the book (chapter N, number k: id ``"N.k"``).

    ``name`` is the function name of the notebook skeleton (``def name(...)``), ``signature`` its
    parameter list, ``doc`` its docstring, ``task`` the markdown statement shown in the book, ``hint``
    the text printed when a check fails, ``tolerance`` the accepted error of a number answer,
    ``time_limit`` seconds per check (``compute_limit`` for calling a no-argument answer), ``variable``
    the symbol of a sympy answer.
    """

    id: str
    title: str
    kind: str
    task: str
    name: str
    signature: str = "()"
    doc: str = ""
    hint: str = ""
    tolerance: float | None = None
    time_limit: float = 10.0
    compute_limit: float = 60.0
    variable: str = "u"
    checks: list[Check] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.id}: kind {self.kind!r} not in {KINDS}")
        self.id = normalize_id(self.id)
        self.chapter, self.number = (int(x) for x in self.id.split("."))

    @property
    def marker(self) -> str:
        """The pytest marker / answer name of this exercise: ``ex3_2``."""
        return "ex" + self.id.replace(".", "_")

    @property
    def label(self) -> str:
        """The book label of this exercise: ``ex-3-2``."""
        return "ex-" + self.id.replace(".", "-")

    def check(self, name: str) -> Callable:
        """Decorator adding a check: ``@ex.check("values for t < -2")``."""

        def deco(fn):
            self.checks.append(Check(name, fn))
            return fn

        return deco

    def __repr__(self) -> str:
        return f"Exercise({self.id!r}, {self.title!r}, kind={self.kind!r}, checks={len(self.checks)})"


class ExerciseList(list):
    """The exercises of one chapter module, in book order: ``ex = EXERCISES.add(Exercise(...))``."""

    def add(self, ex: Exercise) -> Exercise:
        self.append(ex)
        return ex


def normalize_id(ex_id: Any) -> str:
    """``"3.2"``, ``"ex3_2"``, ``"3_2"``, ``"ex-3-2"``, ``(3, 2)`` -> ``"3.2"``; malformed -> ValueError.
    (Whether the exercise exists is :func:`fdiv.course.exercises.registry.get_exercise`'s business.)"""
    raw = ex_id
    if isinstance(ex_id, tuple) and len(ex_id) == 2:
        ex_id = f"{ex_id[0]}.{ex_id[1]}"
    if isinstance(ex_id, float):
        raise ValueError(f"exercise id {raw!r}: pass it as a string, e.g. check(\"3.2\", answer) "
                         "(the float 3.10 would read as 3.1)")
    if not isinstance(ex_id, str):
        raise ValueError(f"exercise id must be a string like \"3.2\", got {type(raw).__name__} {raw!r}")
    s = ex_id.strip().lower()
    for prefix in ("exercise", "ex"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    s = s.strip(" -_").replace("_", ".").replace("-", ".")
    parts = s.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"exercise id {raw!r} is not of the form \"N.k\" (e.g. \"3.2\")")
    return f"{int(parts[0])}.{int(parts[1])}"


# --------------------------------------------------------------------------- errors

class StudentError(Exception):
    """The student's code raised: ``text`` is its formatted exception (type, message, the student's
    frames), ``types`` the names of the exception's classes, ``message`` its ``str()``. No exception
    object of the student's crosses into the checks: only these strings."""

    def __init__(self, text: str, context: str = "", types: tuple[str, ...] = (), message: str = ""):
        super().__init__(text)
        self.text = text
        self.context = context
        self.types = tuple(types)
        self.message = message

    @property
    def not_implemented(self) -> bool:
        return "NotImplementedError" in self.types


class ExerciseTimeout(BaseException):
    """The answer ran past its time limit (BaseException: not caught by ``except Exception``)."""


_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))


def _is_library_file(filename: str) -> bool:
    """True for frames of the grader, the standard library and installed packages (not the student's)."""
    if not filename or filename.startswith("<frozen"):
        return True
    path = os.path.abspath(filename)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return path.startswith(_FDIV_DIR + os.sep) or path.startswith(_STDLIB_DIR + os.sep)


def format_student_exception(exc: BaseException, limit: int = 4) -> str:
    """``ZeroDivisionError: division by zero`` plus the student's frames (library frames trimmed),
    as ``in f (<cell 3>, line 2): return 1 / 0``. Never contains the word 'Traceback'."""
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if not _is_library_file(fr.filename)]
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a student's exception whose __str__ fails
        text = "<unprintable>"
    lines = [f"{type(exc).__name__}: {text}".rstrip(": ")]
    for fr in frames[-limit:]:
        where = os.path.basename(fr.filename) if fr.filename and not fr.filename.startswith("<") else fr.filename
        code = (fr.line or "").strip()
        lines.append(f"in {fr.name} ({where}, line {fr.lineno})" + (f": {code}" if code else ""))
    return "\n".join(lines).replace("Traceback", "traceback")


# --------------------------------------------------------------------------- results

@dataclass
class Outcome:
    """The result of one check: status is "pass", "fail", "error", "timeout", "todo" or "skip"."""

    name: str
    status: str
    message: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"


_LABELS = {"pass": "PASS", "fail": "FAIL", "error": "FAIL", "timeout": "FAIL", "todo": "FAIL", "skip": "----"}


class CheckResult:
    """What ``check()`` returns: true when every check passed.

    ``result.passed``, ``result.n_passed``, ``result.n_total``, ``result.outcomes`` (list of
    :class:`Outcome`), ``result.report()`` (the text ``check()`` printed), ``result.score`` in [0, 1],
    ``result.notes`` (remarks such as "this replaces an earlier passing answer").
    """

    def __init__(self, exercise: Exercise, outcomes: list[Outcome], note: str = ""):
        self.exercise = exercise
        self.exercise_id = exercise.id
        self.title = exercise.title
        self.outcomes = outcomes
        self.notes = [note] if note else []
        self.unknown = False  # True when the exercise id was not recognised
        self._shown_in: Any = None

    @property
    def note(self) -> str:
        return " ".join(self.notes)

    @property
    def n_total(self) -> int:
        return len(self.outcomes)

    @property
    def n_passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def passed(self) -> bool:
        return self.n_total > 0 and self.n_passed == self.n_total

    @property
    def score(self) -> float:
        return self.n_passed / self.n_total if self.n_total else 0.0

    @property
    def status(self) -> str:
        """"pass", "todo" (not implemented yet) or "fail"."""
        if self.passed:
            return "pass"
        if any(o.status == "todo" for o in self.outcomes):
            return "todo"
        return "fail"

    def __bool__(self) -> bool:
        return self.passed

    def messages(self) -> list[str]:
        """One line per failed check (``check name: message``), then the notes."""
        out = [f"{o.name}: {o.message}" if o.message else o.name for o in self.outcomes
               if not o.passed and o.status != "skip"]
        return out + list(self.notes)

    def report(self, hints: bool = True) -> str:
        ex = self.exercise
        if self.unknown:
            return "check(): " + (self.outcomes[0].message if self.outcomes else "unknown exercise")
        out = [f"Exercise {ex.id}: {ex.title}"]
        previous = None
        for o in self.outcomes:
            out.append(f"  {_LABELS.get(o.status, 'FAIL')}  {o.name}")
            if o.message and not o.passed:
                if o.message == previous:
                    out.append("        (the same error as above)")
                else:
                    out.extend(f"        {line}" for line in o.message.splitlines())
                previous = o.message
        if self.passed:
            out.append(f"  All {self.n_total} checks passed.")
        else:
            skipped = sum(o.status == "skip" for o in self.outcomes)
            extra = f" ({skipped} not run)" if skipped else ""
            out.append(f"  {self.n_passed}/{self.n_total} checks passed{extra}.")
            if hints and ex.hint and self.status != "todo":
                out.append(f"  Hint: {ex.hint}")
        out.extend(f"  Note: {n}" for n in self.notes)
        return "\n".join(out)

    def __repr__(self) -> str:
        return self.report()

    def __str__(self) -> str:
        return self.report()

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in notebooks
        # check() already printed the report in the cell that called it: do not print it twice.
        try:
            from IPython import get_ipython

            count = getattr(get_ipython(), "execution_count", None)
        except Exception:  # noqa: BLE001
            count = None
        if self._shown_in is not None and self._shown_in == count:
            self._shown_in = None
            return
        print(self.report())
