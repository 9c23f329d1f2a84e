"""Running an exercise's checks on an answer, and ``check()`` for notebooks.

The checks see the answer through a :class:`Student`: ``call(student, *inputs)`` returns what the
answer gives on the grader's inputs, ``student.probe(fn, ...)`` what a grader's function running next
to the answer reports, always as plain values (:mod:`fdiv.course.exercises.values`). A
:class:`LocalStudent` holds an answer of this process (``check()`` in a notebook: each check runs in a
worker thread, stopped after ``time_limit`` seconds by an exception injected into it, and a call of
``os._exit``/``exit()`` in the answer is a FAIL, not a dead kernel); ``fdiv grade`` uses
:class:`fdiv.course.exercises.sandbox.RemoteStudent`, an answer living in a child process. The verdict
is always computed here, from plain values.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
from typing import Any, Callable

from .answers import Answer
from .core import CheckResult, Exercise, ExerciseTimeout, Outcome, StudentError
from .registry import get_exercise
from .values import ProtocolError, decode, encode_input

__all__ = ["Student", "LocalStudent", "evaluate", "run_exercise", "check", "run_limited", "collecting"]


# --------------------------------------------------------------------------- the answer, seen from the checks

class Student:
    """The answer under test. Subclasses implement :meth:`request` (send one request, return the reply)
    and :meth:`run_check` (run one check under a time limit)."""

    def request(self, req: dict, timeout: float | None = None) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def run_check(self, fn: Callable, arg: Any, limit: float) -> tuple[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _result(self, reply: dict, context: str = "") -> Any:
        if "ok" in reply:
            try:
                return decode(reply["ok"])
            except (ProtocolError, ValueError, TypeError, KeyError) as exc:
                raise AssertionError(f"the value your code returned could not be read ({exc})") from None
        err = reply.get("error") or {}
        raise StudentError(str(err.get("text", "an error"))[:4000], context or str(err.get("context", "")),
                           tuple(str(t) for t in err.get("types", ()))[:20], str(err.get("message", ""))[:2000])

    def call(self, *args: Any, context: str = "", **kwargs: Any) -> Any:
        """The answer on the grader's inputs ``args``: a plain value; StudentError if it raised."""
        req = {"op": "call", "args": [encode_input(a) for a in args],
               "kwargs": {k: encode_input(v) for k, v in kwargs.items()}}
        return self._result(self.request(req), context)

    def probe(self, fn: Callable, *args: Any, context: str = "", **kwargs: Any) -> Any:
        """``fn(answer, *args, **kwargs)`` run next to the answer (``fn`` a module-level function of the
        grader); its plain result."""
        req = {"op": "probe", "fn": encode_input(fn), "args": [encode_input(a) for a in args],
               "kwargs": {k: encode_input(v) for k, v in kwargs.items()}}
        return self._result(self.request(req), context)

    def info(self) -> tuple[bool, bool]:
        """(the answer is callable, it is a sympy object)."""
        is_callable, is_sympy = self._result(self.request({"op": "info"}, timeout=30.0))
        return bool(is_callable), bool(is_sympy)

    def run_value(self, limit: float) -> tuple[str, Any]:
        """The value of a number / sympy answer (a no-argument function is called, within ``limit``)."""
        return self.run_check(lambda _: self._result(self.request({"op": "value"}, timeout=limit)), None, limit)


def _inject(thread: threading.Thread, exc_type: type) -> None:
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))


def run_limited(fn: Callable, args: tuple = (), timeout: float | None = 10.0) -> tuple[str, Any]:
    """Run ``fn(*args)`` in a worker thread. Returns ``("ok", value)``, ``("raised", exc)`` or
    ``("timeout", None)``; on time-out an exception is injected into the worker, which ends pure-Python
    loops at their next bytecode (a single long C call finishes in the background). Never raises
    (KeyboardInterrupt excepted)."""
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


def _refuse_exit(*args: Any) -> None:
    raise SystemExit(*args)


@contextlib.contextmanager
def _exit_is_an_error():
    """While an answer runs in this process, ``os._exit`` raises SystemExit (reported as a FAIL)."""
    saved = os._exit
    os._exit = _refuse_exit
    try:
        yield
    finally:
        os._exit = saved


class LocalStudent(Student):
    """An answer of this process (a notebook's ``check()``)."""

    def __init__(self, obj: Any):
        self.answer = Answer(obj)

    def request(self, req: dict, timeout: float | None = None) -> dict:
        with _exit_is_an_error():
            return self.answer.serve(req)

    def run_check(self, fn: Callable, arg: Any, limit: float) -> tuple[str, Any]:
        return run_limited(fn, (arg,), limit)


# --------------------------------------------------------------------------- running the checks

def _todo_message(err: StudentError) -> str:
    msg = err.text.splitlines()[0] if err.text else "NotImplementedError"
    return (f"not implemented yet: your code raised {msg}.\n"
            "Replace the `raise NotImplementedError(...)` line with your solution, then run check() again.")


def _student_outcome(name: str, err: StudentError, dt: float) -> Outcome:
    if err.not_implemented:
        return Outcome(name, "todo", _todo_message(err), dt)
    if "SandboxError" in err.types:  # the process running the answer ended: not an exception of the answer
        return Outcome(name, "error", err.text, dt)
    ctx = f"{err.context}: " if err.context else ""
    return Outcome(name, "error", f"{ctx}your code raised " + err.text, dt)


def _prepare(ex: Exercise, student: Student, time_limit: float | None) -> tuple[Any, Outcome | None]:
    """The answer as the checks take it: the Student itself (function exercises), a float or a sympy
    answer. Returns (value, None) or (None, the outcome saying why there is nothing to check)."""
    from . import helpers

    status, info = student.run_check(lambda _: student.info(), None, 30.0)
    if status != "ok":
        why = info.text if isinstance(info, StudentError) else "it did not answer in time"
        return None, Outcome("your answer can be read", "error", f"your answer could not be read: {why}")
    is_callable, _ = info
    if ex.kind == "function":
        if is_callable:
            return student, None
        status, value = student.run_value(ex.compute_limit)
        got = helpers.describe(value) if status == "ok" else "a value"
        return None, Outcome("your answer is a function", "fail",
                             f"expected a function (def {ex.name}{ex.signature}: ...), got {got}")
    limit = ex.compute_limit if time_limit is None else max(float(time_limit), 0.01)
    t0 = time.perf_counter()
    status, value = student.run_value(limit)
    dt = time.perf_counter() - t0
    name = "your function returns a value" if is_callable else "your answer is a value"
    if status == "timeout":
        return None, Outcome(name, "timeout", f"did not finish within the time limit ({limit:g} s)", dt)
    if status == "raised":
        if isinstance(value, StudentError):
            return None, _student_outcome(name, value, dt)
        return None, Outcome(name, "fail", str(value) or "the value could not be read", dt)
    try:
        if ex.kind == "number":
            return helpers.as_number(value), None
        return helpers.as_sympy_answer(value, ex, student), None
    except AssertionError as exc:
        return None, Outcome("your answer has the right type", "fail", str(exc))


def evaluate(ex: Exercise, student: Student, *, time_limit: float | None = None,
             stop_on_todo: bool = True) -> CheckResult:
    """Run every check of ``ex`` on ``student``; never raises. ``time_limit`` overrides the exercise's
    per-check limit (seconds)."""
    limit = ex.time_limit if time_limit is None else float(time_limit)
    value, bad = _prepare(ex, student, time_limit)
    if bad is not None:
        return CheckResult(ex, [bad] + [Outcome(c.name, "skip") for c in ex.checks])
    outcomes: list[Outcome] = []
    stop = False
    for c in ex.checks:
        if stop:
            outcomes.append(Outcome(c.name, "skip"))
            continue
        t0 = time.perf_counter()
        status, res = student.run_check(c.fn, value, limit)
        dt = time.perf_counter() - t0
        if status == "ok":
            outcomes.append(Outcome(c.name, "pass", "", dt))
        elif status == "timeout":
            outcomes.append(Outcome(c.name, "timeout",
                                    f"your code did not finish within the time limit ({limit:g} s per check); "
                                    "the remaining checks are not run", dt))
            stop = True
        elif isinstance(res, AssertionError):
            outcomes.append(Outcome(c.name, "fail", str(res) or "assertion failed", dt))
        elif isinstance(res, StudentError):
            outcomes.append(_student_outcome(c.name, res, dt))
            stop = res.not_implemented and stop_on_todo
        else:
            from .core import format_student_exception

            outcomes.append(Outcome(c.name, "error",
                                    "error while checking your answer: " + format_student_exception(res), dt))
    return CheckResult(ex, outcomes)


def run_exercise(ex_id: Any, answer: Any, *, time_limit: float | None = None,
                 stop_on_todo: bool = True) -> CheckResult:
    """Run every check of exercise ``ex_id`` on ``answer`` (an object of this process); never raises."""
    return evaluate(get_exercise(ex_id), LocalStudent(answer), time_limit=time_limit, stop_on_todo=stop_on_todo)


# --------------------------------------------------------------------------- check() and collection

class Collector:
    """While ``fdiv grade`` executes a student's file, check() calls are recorded, not run:
    ``calls`` is a list of (exercise id, answer, where the call was made)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        self.decorated: list[tuple[str, Any]] = []


_COLLECTORS: list[Collector] = []
_PASSED: dict[str, str] = {}  # exercise id -> the name of the answer that last passed check()


@contextlib.contextmanager
def collecting():
    """``with collecting() as coll:`` check() calls and @answer decorations are recorded in ``coll``."""
    coll = Collector()
    _COLLECTORS.append(coll)
    try:
        yield coll
    finally:
        _COLLECTORS.remove(coll)


def active_collector() -> Collector | None:
    return _COLLECTORS[-1] if _COLLECTORS else None


def _caller_location() -> str:
    frame = sys._getframe(2)
    name = frame.f_code.co_filename
    where = name if name.startswith("<") else os.path.basename(name)
    return f"{where}, line {frame.f_lineno}"


def _answer_name(answer: Any) -> str:
    name = getattr(answer, "__name__", None) if callable(answer) else None
    return name if isinstance(name, str) else "a value"


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
        dummy = Exercise(id="0.0", title="unknown exercise", kind="function", task="", name="answer")
        res = CheckResult(dummy, [Outcome("the exercise id is known", "fail", str(exc))])
        res.unknown = True
        if not quiet:
            print(res.report(), file=file if file is not None else sys.stdout)
        return res
    coll = active_collector()
    if coll is not None:
        coll.calls.append((ex.id, answer, _caller_location()))
        return CheckResult(ex, [], note="collected by fdiv grade; not run")
    if answer is None:
        res = CheckResult(ex, [Outcome("an answer was given", "fail",
                                       f"no answer: pass your answer, e.g. check(\"{ex.id}\", {ex.name})")])
    else:
        res = run_exercise(ex.id, answer, time_limit=time_limit)
    name = _answer_name(answer)
    if res.passed:
        _PASSED[ex.id] = name
    elif ex.id in _PASSED:
        res.notes.append(f"an earlier check(\"{ex.id}\", {_PASSED[ex.id]}) passed; this answer replaces it "
                         "(fdiv grade grades the last answer given)")
    if not quiet:
        print(res.report(hints=hints), file=file if file is not None else sys.stdout)
        try:
            from IPython import get_ipython

            ip = get_ipython()
            res._shown_in = getattr(ip, "execution_count", None) if ip is not None else None
        except Exception:  # noqa: BLE001
            res._shown_in = None
    return res
