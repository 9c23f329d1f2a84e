"""The child process of ``fdiv grade``: it executes the student's file, then serves the grader's
requests on its answers (:class:`~fdiv.course.exercises.answers.Answer`) until told to stop.

Started by :class:`fdiv.course.exercises.sandbox.Sandbox` as ``python -I -c ...`` with the two
descriptors of its channel as arguments; its stdin is empty and its stdout/stderr go to a file. It
decides nothing: every reply is plain data, which the grader judges.
"""
from __future__ import annotations

import os
import sys

from . import channel
from .answers import Answer
from .loader import load_answers

__all__ = ["main"]


def _load(request: dict) -> tuple[dict[str, Answer], dict]:
    try:
        loaded = load_answers(request["path"], all_cells=bool(request.get("all_cells")))
    except (ValueError, OSError) as exc:
        return {}, {"usage_error": str(exc)}
    answers: dict[str, Answer] = {}
    entries = []
    for eid, obj in loaded.answers.items():
        answers[eid] = Answer(obj)
        earlier = []
        for i, (where, old) in enumerate(loaded.earlier.get(eid, [])):
            answers[f"{eid}#{i}"] = Answer(old)
            earlier.append(where)
        entries.append({"id": eid, "origin": loaded.origin[eid], "earlier": earlier})
    return answers, {"answers": entries, "errors": loaded.errors, "warnings": loaded.warnings}


def main() -> None:
    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    os.environ.setdefault("MPLBACKEND", "Agg")
    answers, report = _load(channel.receive(rfd))
    sys.stdout.flush()
    sys.stderr.flush()
    channel.send(wfd, report)
    while True:
        request = channel.receive(rfd)
        if request.get("op") == "bye":
            break
        answer = answers.get(request.get("key"))
        if answer is None:
            reply = {"error": {"text": "no such answer", "types": [], "message": "", "context": ""}}
        else:
            reply = answer.serve(request)
        channel.send(wfd, {"seq": request.get("seq"), **reply})
    sys.stdout.flush()
    os._exit(0)  # no atexit handler or lingering thread of the student's decides how this process ends
