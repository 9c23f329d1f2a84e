"""The exercise machinery: the registry, the runner behind ``check()``, and the result objects.

One set of checks per exercise serves three graders:

* the notebook: ``check("3.2", answer)`` prints one PASS/FAIL line per check, hints and a summary,
  and returns a :class:`CheckResult` (true when every check passed). It never raises;
* the command line: ``fdiv grade FILE`` (:mod:`fdiv.cli.grade`);
* pytest: ``pytest -p fdiv.exercises.pytest_plugin --solutions FILE -m ex3_2``.

An :class:`Exercise` has a ``kind``:

``"function"``  the answer is a callable (the student's function); every check calls it.
``"number"``    the answer is a real number, or a function of no arguments returning one
                (it is called once, under the time limit: experiments may take a few seconds).
``"sympy"``     the answer is a sympy expression, or a function of no arguments returning one.
                Symbols are matched by *name* (``u``, ``t``, ``v``), whatever their assumptions.

A check is a small function taking the (validated) answer and raising ``AssertionError`` with a
message saying which input failed, what was expected and what came back.

Time limits. Every check (and the call of a no-argument answer) runs in a worker thread; the runner
waits ``time_limit`` seconds (per check), then stops waiting, reports a time-out, and injects an
exception into the worker (``PyThreadState_SetAsyncExc``), which ends pure-Python loops such as
``while True: pass`` at their next bytecode. A single long C call (one huge torch operation) cannot
be interrupted: it finishes in the background while the runner moves on. Threads, unlike
``signal.alarm``, work outside the main thread too (Jupyter, pytest-xdist, web servers).
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "Exercise", "Check", "Outcome", "CheckResult", "StudentError", "ExerciseTimeout",
    "register", "get_exercise", "all_exercises", "normalize_id", "run_exercise", "check",
]

KINDS = ("function", "number", "sympy")
_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_FDIV_DIR = os.path.dirname(_PKG_DIR)


# --------------------------------------------------------------------------- registry

@dataclass
class Check:
    """One property of a correct answer; ``fn(answer)`` raises AssertionError when it does not hold."""

    name: str
    fn: Callable[[Any], None]


@dataclass
class Exercise:
    """An exercise of the book (chapter N, number k: id ``"N.k"``).

    ``name`` is the function name of the notebook skeleton (``def name(...)``), ``signature`` its
    parameter list, ``doc`` its docstring, ``task`` the markdown statement shown in the book, ``hint`` the text printed when
    a check fails, ``tolerance`` the accepted error of a number answer, ``time_limit`` seconds per check
    (``compute_limit`` for calling a no-argument answer), ``variable`` the symbol of a sympy answer.
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
        self.id = normalize_id(self.id, known_only=False)
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


_REGISTRY: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    if ex.id in _REGISTRY:
        raise ValueError(f"exercise {ex.id} registered twice")
    _REGISTRY[ex.id] = ex
    return ex


def _load_all() -> None:
    from . import bank  # noqa: F401  (registers every exercise on import)


def all_exercises(chapter: int | None = None) -> list[Exercise]:
    """Every registered exercise (of one chapter if given), in book order."""
    _load_all()
    exs = sorted(_REGISTRY.values(), key=lambda e: (e.chapter, e.number))
    if chapter is not None:
        exs = [e for e in exs if e.chapter == int(chapter)]
    return exs


def normalize_id(ex_id: Any, *, known_only: bool = True) -> str:
    """``"3.2"``, ``"ex3_2"``, ``"3_2"``, ``"ex-3-2"``, ``(3, 2)`` -> ``"3.2"``; unknown -> ValueError."""
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
    out = f"{int(parts[0])}.{int(parts[1])}"
    if known_only:
        _load_all()
        if out not in _REGISTRY:
            known = ", ".join(e.id for e in all_exercises())
            raise ValueError(f"unknown exercise {raw!r}; the exercises are: {known}")
    return out


def get_exercise(ex_id: Any) -> Exercise:
    """The registered exercise ``ex_id`` (``"3.2"``); unknown ids -> ValueError listing the known ones."""
    return _REGISTRY[normalize_id(ex_id)]


# --------------------------------------------------------------------------- errors and running

class StudentError(Exception):
    """The student's code raised ``original`` (wrapped so checks can tell it from their own asserts)."""

    def __init__(self, original: BaseException, context: str = ""):
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original
        self.context = context


class ExerciseTimeout(BaseException):
    """Injected into a worker thread that ran past its time limit (BaseException: not caught by
    ``except Exception`` in student code)."""


def _inject(thread: threading.Thread, exc_type: type) -> None:
    tid = thread.ident
    if tid is None:
        return
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(exc_type))
    except Exception:  # pragma: no cover - non-CPython
        pass


def run_limited(fn: Callable, args: tuple = (), timeout: float | None = 10.0):
    """Run ``fn(*args)`` in a worker thread. Returns ``("ok", value)``, ``("raised", exc)`` or
    ``("timeout", None)``. Never raises (KeyboardInterrupt excepted)."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except ExerciseTimeout:
            box["timeout"] = True
        except BaseException as exc:  # noqa: BLE001 - everything is reported, nothing escapes
            box["exc"] = exc

    th = threading.Thread(target=target, name="fdiv-exercise-check", daemon=True)
    th.start()
    try:
        th.join(timeout)
    except KeyboardInterrupt:  # the user interrupted (Jupyter's stop button): stop the worker too
        _inject(th, ExerciseTimeout)
        raise
    if th.is_alive():
        deadline = time.monotonic() + 1.0
        while th.is_alive() and time.monotonic() < deadline:
            _inject(th, ExerciseTimeout)
            th.join(0.05)
        return ("timeout", None)
    if "exc" in box:
        return ("raised", box["exc"])
    if box.get("timeout"):
        return ("timeout", None)
    return ("ok", box.get("value"))


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
    lines = [f"{type(exc).__name__}: {exc}".rstrip(": ")]
    for fr in frames[-limit:]:
        where = os.path.basename(fr.filename) if fr.filename and not fr.filename.startswith("<") else fr.filename
        code = (fr.line or "").strip()
        lines.append(f"in {fr.name} ({where}, line {fr.lineno})" + (f": {code}" if code else ""))
    return "\n".join(lines).replace("Traceback", "traceback")


def _not_implemented(exc: BaseException) -> bool:
    return isinstance(exc, NotImplementedError) or (
        isinstance(exc, StudentError) and isinstance(exc.original, NotImplementedError))


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
    :class:`Outcome`), ``result.report()`` (the text ``check()`` printed), ``result.score`` in [0, 1].
    """

    def __init__(self, exercise: Exercise, outcomes: list[Outcome], note: str = ""):
        self.exercise = exercise
        self.exercise_id = exercise.id
        self.title = exercise.title
        self.outcomes = outcomes
        self.note = note
        self.unknown = False  # True when the exercise id was not recognised
        self._shown_in: Any = None

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
                    for line in o.message.splitlines():
                        out.append(f"        {line}")
                previous = o.message
        if self.passed:
            out.append(f"  All {self.n_total} checks passed.")
        else:
            skipped = sum(o.status == "skip" for o in self.outcomes)
            extra = f" ({skipped} not run)" if skipped else ""
            out.append(f"  {self.n_passed}/{self.n_total} checks passed{extra}.")
            if hints and ex.hint and self.status != "todo":
                out.append(f"  Hint: {ex.hint}")
        if self.note:
            out.append(f"  Note: {self.note}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return self.report()

    def __str__(self) -> str:
        return self.report()

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in notebooks
        # check() already printed the report in the cell that called it: do not print it twice.
        try:
            from IPython import get_ipython

            ip = get_ipython()
            count = getattr(ip, "execution_count", None)
        except Exception:
            count = None
        if self._shown_in is not None and self._shown_in == count:
            self._shown_in = None
            return
        print(self.report())


# --------------------------------------------------------------------------- the runner

def _prepare_answer(ex: Exercise, answer: Any, time_limit: float | None):
    """Turn a raw answer into what the checks take. Returns (value, error_outcome or None)."""
    from . import helpers

    if answer is None:
        return None, Outcome("an answer was given", "fail",
                             f"no answer: pass your answer, e.g. check(\"{ex.id}\", {ex.name})")
    if ex.kind == "function":
        if not callable(answer):
            return None, Outcome("your answer is a function", "fail",
                                 f"expected a function (def {ex.name}{ex.signature}: ...), "
                                 f"got {helpers.describe(answer)}")
        return answer, None

    # number / sympy: a value, or a function of no arguments computing it
    is_sympy_obj = helpers.is_sympy(answer)
    if callable(answer) and not is_sympy_obj:
        limit = ex.compute_limit if time_limit is None else max(time_limit, 0.01)
        t0 = time.perf_counter()
        status, value = run_limited(answer, (), limit)
        dt = time.perf_counter() - t0
        name = f"your function {getattr(answer, '__name__', '')}() returns a value".replace(" ()", "()")
        if status == "timeout":
            return None, Outcome(name, "timeout", f"did not finish within the time limit ({limit:g} s)", dt)
        if status == "raised":
            if _not_implemented(value):
                return None, Outcome(name, "todo", _todo_message(ex, value), dt)
            return None, Outcome(name, "error", "your code raised " + format_student_exception(value), dt)
        answer = value
    try:
        if ex.kind == "number":
            return helpers.as_number(answer), None
        return helpers.as_sympy_expr(answer, ex), None
    except AssertionError as exc:
        return None, Outcome("your answer has the right type", "fail", str(exc))


def _todo_message(ex: Exercise, exc: BaseException) -> str:
    orig = exc.original if isinstance(exc, StudentError) else exc
    msg = f"NotImplementedError({str(orig)!r})" if str(orig) else "NotImplementedError"
    return (f"not implemented yet: your code raised {msg}.\n"
            f"Replace the `raise NotImplementedError(...)` line with your solution, then run check() again.")


def run_exercise(ex_id: Any, answer: Any, *, time_limit: float | None = None,
                 stop_on_todo: bool = True) -> CheckResult:
    """Run every check of exercise ``ex_id`` on ``answer``; never raises. ``time_limit`` overrides the
    exercise's per-check limit (seconds)."""
    ex = get_exercise(ex_id)
    limit = ex.time_limit if time_limit is None else float(time_limit)
    value, bad = _prepare_answer(ex, answer, time_limit)
    outcomes: list[Outcome] = []
    if bad is not None:
        outcomes.append(bad)
        for c in ex.checks:
            outcomes.append(Outcome(c.name, "skip"))
        return CheckResult(ex, outcomes)
    todo = timed_out = False
    for c in ex.checks:
        if todo or timed_out:
            outcomes.append(Outcome(c.name, "skip"))
            continue
        t0 = time.perf_counter()
        status, res = run_limited(c.fn, (value,), limit)
        dt = time.perf_counter() - t0
        if status == "ok":
            outcomes.append(Outcome(c.name, "pass", "", dt))
        elif status == "timeout":
            outcomes.append(Outcome(c.name, "timeout",
                                    f"your code did not finish within the time limit ({limit:g} s per check); "
                                    "the remaining checks are not run", dt))
            timed_out = True
        elif isinstance(res, AssertionError):
            outcomes.append(Outcome(c.name, "fail", str(res) or "assertion failed", dt))
        elif _not_implemented(res):
            outcomes.append(Outcome(c.name, "todo", _todo_message(ex, res), dt))
            todo = stop_on_todo
        elif isinstance(res, StudentError):
            ctx = f"{res.context}: " if res.context else ""
            outcomes.append(Outcome(c.name, "error",
                                    f"{ctx}your code raised " + format_student_exception(res.original), dt))
        else:
            outcomes.append(Outcome(c.name, "error",
                                    "error while checking your answer: " + format_student_exception(res), dt))
    return CheckResult(ex, outcomes)


# --------------------------------------------------------------------------- check() and collection

class _Collector:
    """While ``fdiv grade`` executes a student's file, check() calls are recorded, not run."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.order: list[str] = []


_COLLECTORS: list[_Collector] = []
_COLLECT_LOCK = threading.Lock()


def _active_collector() -> _Collector | None:
    with _COLLECT_LOCK:
        return _COLLECTORS[-1] if _COLLECTORS else None


def check(ex_id: Any, answer: Any = None, *, time_limit: float | None = None, hints: bool = True,
          file=None, quiet: bool = False) -> CheckResult:
    """Check your answer to exercise ``ex_id`` (``"3.2"``), print one PASS/FAIL line per check and a
    summary, and return a :class:`CheckResult` (true when all checks pass). Never raises.

    ``answer`` is your function (exercises that ask for a function), or a number / sympy expression,
    or a function of no arguments returning it. ``time_limit``: seconds per check (default: the
    exercise's). ``quiet=True`` prints nothing.
    """
    try:
        ex = get_exercise(ex_id)
    except ValueError as exc:
        ex = None
        err = str(exc)
    coll = _active_collector()
    if coll is not None and ex is not None:
        if ex.id not in coll.answers:
            coll.order.append(ex.id)
        coll.answers[ex.id] = answer
        return CheckResult(ex, [], note="collected by fdiv grade; not run")
    out = file if file is not None else sys.stdout
    if ex is None:
        dummy = Exercise(id="0.0", title="unknown exercise", kind="function", task="", name="answer")
        res = CheckResult(dummy, [Outcome("the exercise id is known", "fail", err)])
        res.unknown = True
    else:
        try:
            res = run_exercise(ex.id, answer, time_limit=time_limit)
        except Exception as exc:  # pragma: no cover - the runner never raises; belt and braces
            res = CheckResult(ex, [Outcome("the grader ran", "error", format_student_exception(exc))])
    if not quiet:
        print(res.report(hints=hints), file=out)
        try:
            from IPython import get_ipython

            ip = get_ipython()
            res._shown_in = getattr(ip, "execution_count", None) if ip is not None else None
        except Exception:
            res._shown_in = None
    return res
