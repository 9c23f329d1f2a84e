"""``fdiv grade``: grade a student's answers file or notebook, or list the exercises.

    fdiv grade answers.py                 # every exercise the file answers
    fdiv grade 03_fenchel_conjugate.ipynb # a chapter notebook with its exercise cells filled in
    fdiv grade answers.py -e 3.2 -e 3.3   # only these (a missing answer fails)
    fdiv grade answers.py --chapter 3     # the exercises of chapter 3
    fdiv grade answers.py --all           # all exercises; missing answers fail
    fdiv grade answers.py --format json   # one entry per exercise: id, passed, score, messages
    fdiv grade answers.py --format gradescope --output /autograder/results/results.json
    fdiv grade --list                     # the exercises, with the name of the function each asks for

The student's code runs in a child process with time and memory limits; the checks compare what it
returns here (:mod:`fdiv.course.exercises.sandbox`). How answers are found in a file:
:mod:`fdiv.course.exercises.loader`. Exit status: 0 when every graded exercise passes, 1 when one fails
(or is missing), 2 for a usage error (no such file, nothing to grade, a bad option value).
"""
from __future__ import annotations

import argparse
import json
import sys

from fdiv.core.checks import seconds_argument

__all__ = ["add_arguments", "run", "main"]


def _megabytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of MiB") from None
    if value < 256:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least 256 MiB (torch alone needs about that)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``fdiv grade``."""
    parser.add_argument("file", nargs="?", help="the answers: a Python file (.py) or a notebook (.ipynb)")
    parser.add_argument("--list", action="store_true", help="list the exercises and exit")
    parser.add_argument("-e", "--exercise", action="append", default=[], metavar="ID",
                        help="grade this exercise (e.g. 3.2); repeatable")
    parser.add_argument("-c", "--chapter", action="append", default=[], type=int, metavar="N",
                        help="grade the exercises of chapter N; repeatable")
    parser.add_argument("--all", action="store_true", help="grade every exercise; missing answers fail")
    parser.add_argument("--time-limit", type=seconds_argument, default=None, metavar="SECONDS",
                        help="time limit per check (default: each exercise's own, usually 10 s)")
    parser.add_argument("--file-time-limit", type=seconds_argument, default=600.0, metavar="SECONDS",
                        help="time limit for running the file itself (default 600 s)")
    parser.add_argument("--memory-limit", type=_megabytes, default=4096, metavar="MIB",
                        help="address-space limit of the process running the answers (default 4096 MiB)")
    parser.add_argument("--all-cells", action="store_true",
                        help="notebooks: run every code cell, not only the exercises and what they depend on")
    parser.add_argument("--format", choices=("text", "json", "gradescope"), default="text",
                        help="text (default), json (one entry per exercise) or gradescope (results.json)")
    parser.add_argument("--output", metavar="FILE", default=None,
                        help="write the json / gradescope results to FILE instead of stdout")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every exercise's report, and what the file printed")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the score table")


def _list(args, out) -> int:
    from fdiv.course.exercises.registry import all_exercises

    chapters = set(args.chapter or [])
    rows = [e for e in all_exercises() if not chapters or e.chapter in chapters]

    def answer(e) -> str:
        s = e.name + e.signature
        return s if len(s) <= 36 else s[:33] + "..."

    w = max(len(answer(e)) for e in rows)
    print(f"  {'id':<5}  {'kind':<8}  {'answer':<{w}}  title", file=out)
    for e in rows:
        print(f"  {e.id:<5}  {e.kind:<8}  {answer(e):<{w}}  {e.title}", file=out)
    print(f"\n  {len(rows)} exercises. Answer in a notebook with check(\"N.k\", answer), or in a file with "
          "functions named as above or exN_k (fdiv grade FILE).", file=out)
    return 0


def _selection(args) -> list[str] | None:
    from fdiv.course.exercises.registry import all_exercises, known_id

    ids = [known_id(e) for e in args.exercise]
    for ch in args.chapter:
        chapter_ids = [e.id for e in all_exercises(ch)]
        if not chapter_ids:
            chapters = sorted({e.chapter for e in all_exercises()})
            raise ValueError(f"chapter {ch} has no exercises (chapters: {chapters})")
        ids += chapter_ids
    if args.all:
        ids = [e.id for e in all_exercises()]
    return sorted(set(ids), key=lambda s: tuple(int(x) for x in s.split("."))) if ids else None


def _print_text(args, report, out) -> None:
    from fdiv.course.exercises.grading import format_table

    if args.verbose and report.output.strip():
        print(f"--- output of {args.file} ---\n{report.output.rstrip()}\n---", file=out)
    if not args.quiet:
        for _, res in report.results:
            if res is not None and (args.verbose or not res.passed or res.notes):
                print(res.report(), file=out)
                print(file=out)
        for e in report.errors + report.warnings:
            print(f"warning: {e}", file=out)
        if report.errors or report.warnings:
            print(file=out)
    n = len(report.origin)
    print(format_table(report.results, title=f"fdiv grade {args.file}: {n} answer{'s' if n != 1 else ''} found"),
          file=out)


def run(args: argparse.Namespace, out=None) -> int:
    """Run ``fdiv grade`` with parsed ``args``; returns the exit status."""
    out = out if out is not None else sys.stdout
    err = sys.stderr if out is sys.stdout else out
    if args.list:
        return _list(args, out)
    if not args.file:
        print("fdiv grade: give a file to grade (a .py answers file or a .ipynb notebook), or --list", file=err)
        return 2
    if args.output and args.format == "text":
        print("fdiv grade: --output needs --format json or --format gradescope", file=err)
        return 2
    from fdiv.course.exercises.grading import grade_file, to_gradescope, to_json

    try:
        selected = _selection(args)
    except ValueError as exc:
        print(f"fdiv grade: {exc}", file=err)
        return 2
    report, usage_error = grade_file(args.file, selected, time_limit=args.time_limit, all_cells=args.all_cells,
                                     file_time_limit=args.file_time_limit, memory_mb=args.memory_limit)
    if usage_error:
        print(f"fdiv grade: {usage_error}", file=err)
        return 2
    if selected is None and not report.origin and args.format == "text":
        print(f"fdiv grade: no answers found in {args.file}", file=err)
        for e in report.errors + report.warnings:
            print(f"  {e}", file=err)
        print("  (name them as the skeletons, e.g. def pearson_conjugate(t), or ex3_2 = my_function, or call "
              "check(\"3.2\", my_function); see fdiv grade --list)", file=err)
        return 1 if report.errors else 2
    if args.format == "text":
        _print_text(args, report, out)
    else:
        data = to_json(report) if args.format == "json" else to_gradescope(report)
        text = json.dumps(data, indent=2)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        else:
            print(text, file=out)
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fdiv grade", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
