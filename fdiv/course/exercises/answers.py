"""The answer's side: a student's answer, in the process that runs the student's code, serving the
grader's requests. Every reply is plain data (:func:`fdiv.course.exercises.values.encode`); an
exception of the student's comes back as its formatted text and class names, never as an object.

Three requests: ``call`` (the answer on the grader's inputs), ``value`` (a number / sympy answer:
the value, computed once by calling a function of no arguments) and ``probe`` (a module-level function
of the grader, run here on the answer, e.g. one that builds a model and reports its output shapes and
parameter count; only its plain result comes back). The same class serves ``check()`` in a notebook
(in the notebook's process) and ``fdiv grade`` (in a child process, :mod:`~fdiv.course.exercises.child`).
"""
from __future__ import annotations

import sys
from typing import Any, Callable

from .core import ExerciseTimeout, format_student_exception
from .values import decode_input, encode

__all__ = ["Answer", "StepFailed", "step"]

_UNSET = object()


class StepFailed(Exception):
    """Raised by a probe when the student's code raised during one of its steps (``context``)."""

    def __init__(self, original: BaseException, context: str):
        super().__init__(context)
        self.original = original
        self.context = context


def step(context: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Inside a probe: ``fn(*args, **kwargs)``, the student's code; what it raises becomes StepFailed."""
    try:
        return fn(*args, **kwargs)
    except ExerciseTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: the answer's own failure
        raise StepFailed(exc, context) from exc


def _error(exc: BaseException, context: str = "") -> dict:
    if isinstance(exc, StepFailed):
        exc, context = exc.original, exc.context
    text = format_student_exception(exc)
    if isinstance(exc, SystemExit):
        text = "SystemExit: your code called exit() (sys.exit, os._exit, quit or raise SystemExit)"
    try:
        message = str(exc)[:2000]
    except Exception:  # noqa: BLE001
        message = ""
    types = [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"]
    return {"error": {"text": text, "types": types, "message": message, "context": context}}


def _is_sympy(x: Any) -> bool:
    mod = getattr(type(x), "__module__", "") or ""
    return mod.split(".")[0] == "sympy" and "sympy" in sys.modules and isinstance(x, sys.modules["sympy"].Basic)


class Answer:
    """A student's answer (``obj``) and the requests it serves."""

    def __init__(self, obj: Any):
        self.obj = obj
        self._value: Any = _UNSET

    def _reply(self, fn: Callable, *args: Any, **kwargs: Any) -> dict:
        try:
            out = fn(*args, **kwargs)
        except ExerciseTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001 - nothing of the student's escapes
            return _error(exc)
        try:
            return {"ok": encode(out)}
        except ExerciseTimeout:
            raise
        except BaseException as exc:  # noqa: BLE001 - a value whose reading fails
            return _error(exc, "reading the value your code returned")

    def call(self, args: list, kwargs: dict) -> dict:
        """``answer(*args, **kwargs)`` on the grader's inputs (data from encode_input)."""
        args = [decode_input(a) for a in args]
        kwargs = {k: decode_input(v) for k, v in kwargs.items()}
        return self._reply(self.obj, *args, **kwargs)

    def compute(self) -> Any:
        """The value of a number / sympy answer: the object itself, or what a no-argument function returns
        (called once; later requests reuse it)."""
        if self._value is _UNSET:
            obj = self.obj
            self._value = obj() if callable(obj) and not _is_sympy(obj) else obj
        return self._value

    def value(self) -> dict:
        return self._reply(self.compute)

    def info(self) -> dict:
        """Whether the answer is callable, and whether it is a sympy object (for the kind checks)."""
        return {"ok": encode((callable(self.obj) and not _is_sympy(self.obj), _is_sympy(self.obj)))}

    def probe(self, fn: dict, args: list, kwargs: dict) -> dict:
        """``fn(answer, *args, **kwargs)`` for a grader's function ``fn`` (a reference from encode_input);
        a number / sympy answer is passed as its value."""
        func = decode_input(fn)
        args = [decode_input(a) for a in args]
        kwargs = {k: decode_input(v) for k, v in kwargs.items()}
        target = self.obj if self._value is _UNSET else self._value
        return self._reply(func, target, *args, **kwargs)

    def serve(self, request: dict) -> dict:
        """Dispatch one request ``{"op": "call" | "value" | "probe", ...}``."""
        op = request.get("op")
        if op == "call":
            return self.call(request.get("args", []), request.get("kwargs", {}))
        if op == "value":
            return self.value()
        if op == "info":
            return self.info()
        if op == "probe":
            return self.probe(request["fn"], request.get("args", []), request.get("kwargs", {}))
        return {"error": {"text": f"unknown request {op!r}", "types": [], "message": "", "context": ""}}
