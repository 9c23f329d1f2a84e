"""The student's code in a child process: :class:`Sandbox` starts it, :class:`RemoteStudent` is an answer
living there, seen from the checks.

The child (:mod:`fdiv.course.exercises.child`) runs ``python -I`` (no user site, no ``PYTHON*``
variables, not the current directory on ``sys.path``) in a process group of its own, with an empty stdin,
its output in a file, and resource limits: address space (``memory_mb``), CPU seconds, file size, no
core dumps. Every request has a deadline; past it, or when the child ends or sends something that is not
a message, the whole process group is killed (SIGKILL) and the exercise reports why. Replies are plain
data only (:mod:`fdiv.course.exercises.values`); the verdict and the exit status are the grader's.

What this does not stop: the student's code runs as the same user, so it can harm the grading process
from outside (signals, its files). Run untrusted submissions in a container, as classroom runners do.
"""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from . import channel
from .core import ExerciseTimeout, StudentError
from .runner import Student

__all__ = ["Sandbox", "RemoteStudent", "SandboxError"]

_FDIV_PARENT = str(Path(__file__).resolve().parents[3])
_BOOT = (f"import sys; sys.path.insert(0, {_FDIV_PARENT!r}); "
         "from fdiv.course.exercises.child import main; main()")
MAX_OUTPUT = 64 << 10


class SandboxError(Exception):
    """The child process ended or broke its channel; ``str()`` says how."""


def _limits(memory_mb: int, cpu_seconds: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit fails instead of killing

    return apply


class Sandbox:
    """One child process executing ``path`` and serving requests on its answers."""

    def __init__(self, path: str | os.PathLike, *, all_cells: bool = False, file_time_limit: float = 600.0,
                 memory_mb: int = 4096, cpu_seconds: int = 3600):
        self.path = str(Path(path).resolve())
        self.all_cells, self.file_time_limit = all_cells, file_time_limit
        self.memory_mb, self.cpu_seconds = memory_mb, cpu_seconds
        self.proc: subprocess.Popen | None = None
        self.dead_reason = ""
        self._seq = 0
        self._output = tempfile.TemporaryFile()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> dict:
        """Start the child and execute the file; returns its report (answers, errors, warnings), or
        ``{"failed": reason}`` when the child did not get through the file."""
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        env = dict(os.environ, MPLBACKEND="Agg")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, str(req_r), str(rep_w)], pass_fds=(req_r, rep_w),
            stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT, env=env,
            process_group=0, preexec_fn=_limits(self.memory_mb, self.cpu_seconds), close_fds=True)
        os.close(req_r)
        os.close(rep_w)
        self._to, self._from = req_w, rep_r
        self.dead_reason = ""
        try:
            channel.send(self._to, {"op": "load", "path": self.path, "all_cells": self.all_cells})
            return channel.receive(self._from, self.file_time_limit)
        except channel.ChannelTimeout:
            self.kill(f"running the file took longer than {self.file_time_limit:g} s; it was stopped")
        except channel.ChannelClosed:
            self.kill(self._ended("while the file ran"))
        return {"failed": self.dead_reason}

    @property
    def alive(self) -> bool:
        return self.proc is not None and not self.dead_reason

    def _ended(self, when: str) -> str:
        try:
            code = self.proc.wait(timeout=2) if self.proc is not None else None
        except subprocess.TimeoutExpired:
            return f"the process running your code closed its channel to the grader {when}"
        if code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
            if -code in (signal.SIGXCPU, signal.SIGKILL):
                how += " (a time, CPU or memory limit?)"
        else:
            how = f"exited with status {code} (os._exit, exit() at the top level, or a crash)"
        return f"the process running your code {how} {when}"

    def kill(self, reason: str) -> None:
        """Kill the child's whole process group (threads, grandchildren) and remember why."""
        self.dead_reason = self.dead_reason or reason
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        for fd in (getattr(self, "_to", None), getattr(self, "_from", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to = self._from = None

    def close(self) -> None:
        if self.alive:
            try:
                channel.send(self._to, {"op": "bye"})
                self.proc.wait(timeout=2)
            except (channel.ChannelClosed, subprocess.TimeoutExpired):
                pass
        if self.proc is not None:
            self.kill("closed")

    def output(self) -> str:
        """What the student's code printed (the first 64 KiB)."""
        self._output.seek(0)
        return self._output.read(MAX_OUTPUT).decode("utf-8", "replace")

    # ------------------------------------------------------------------ requests

    def request(self, key: str, req: dict, timeout: float) -> dict:
        """Send ``req`` for the answer ``key``; the reply, or ExerciseTimeout / SandboxError (the child is
        then killed)."""
        if not self.alive:
            raise SandboxError(self.dead_reason)
        self._seq += 1
        try:
            channel.send(self._to, {**req, "key": key, "seq": self._seq})
            reply = channel.receive(self._from, timeout)
        except channel.ChannelTimeout:
            self.kill("a check ran past its time limit")
            raise ExerciseTimeout() from None
        except channel.ChannelClosed:
            self.kill(self._ended("during this check"))
            raise SandboxError(self.dead_reason) from None
        if reply.get("seq") != self._seq:
            self.kill("the channel to the process running your code was written to by something else")
            raise SandboxError(self.dead_reason)
        return reply


class RemoteStudent(Student):
    """The answer ``key`` of a :class:`Sandbox`. Each check runs here, in the grader's process; every call
    of the answer is a request with the check's remaining time as deadline."""

    def __init__(self, sandbox: Sandbox, key: str):
        self.sandbox, self.key = sandbox, key
        self.deadline: float | None = None

    def request(self, req: dict, timeout: float | None = None) -> dict:
        left = [t for t in (timeout, None if self.deadline is None else self.deadline - time.monotonic())
                if t is not None]
        try:
            return self.sandbox.request(self.key, req, max(min(left), 0.0) if left else 600.0)
        except SandboxError as exc:
            raise StudentError(f"{exc}; the remaining checks of this exercise could not run",
                               types=("SandboxError",)) from None

    def run_check(self, fn: Callable, arg: Any, limit: float) -> tuple[str, Any]:
        self.deadline = time.monotonic() + limit
        try:
            return ("ok", fn(arg))
        except ExerciseTimeout:
            return ("timeout", None)
        except Exception as exc:  # noqa: BLE001 - reported like the local runner does
            return ("raised", exc)
        finally:
            self.deadline = None
