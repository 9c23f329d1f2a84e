"""``fdiv grade``: grade a student's answers file or notebook, or list the exercises.

    fdiv grade answers.py                 # every exercise the file answers
    fdiv grade 03_fenchel_conjugate.ipynb # the check("3.2", ...) cells of a chapter's exercise section
    fdiv grade answers.py -e 3.2 -e 3.3   # only these (a missing answer fails)
    fdiv grade answers.py --chapter 3     # the exercises of chapter 3
    fdiv grade answers.py --all           # all exercises; missing answers fail
    fdiv grade --list                     # the exercises, with the name of the function each asks for

How answers are found in a file: :mod:`fdiv.course.exercises.grading`. Exit status: 0 when every graded
exercise passes, 1 when one fails (or is missing), 2 for a usage error (no such file, nothing to grade).
The lead's ``fdiv/cli.py`` wires ``fdiv grade`` to :func:`add_arguments` and :func:`run`;
``python -m fdiv.course.exercises ...`` runs the same command on its own.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``fdiv grade``."""
    parser.add_argument("file", nargs="?", help="the answers: a Python file (.py) or a notebook (.ipynb)")
    parser.add_argument("--list", action="store_true", help="list the exercises and exit")
    parser.add_argument("-e", "--exercise", action="append", default=[], metavar="ID",
                        help="grade this exercise (e.g. 3.2); repeatable")
    parser.add_argument("-c", "--chapter", action="append", default=[], type=int, metavar="N",
                        help="grade the exercises of chapter N; repeatable")
    parser.add_argument("--all", action="store_true", help="grade every exercise; missing answers fail")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="time limit per check (default: each exercise's own, usually 10 s)")
    parser.add_argument("--file-time-limit", type=float, default=600.0, metavar="SECONDS",
                        help="time limit for running the file itself (default 600 s)")
    parser.add_argument("--all-cells", action="store_true",
                        help="notebooks: run every code cell, not only those after the 'Exercises' heading")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every exercise's report, and what the file printed")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the score table")


def _list(args, out) -> int:
    from fdiv.course.exercises.core import all_exercises

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
          "names exN_k (fdiv grade FILE).", file=out)
    return 0


def run(args: argparse.Namespace, out=None) -> int:
    """Run ``fdiv grade`` with parsed ``args``; returns the exit status."""
    out = out if out is not None else sys.stdout
    err = sys.stderr if out is sys.stdout else out
    from fdiv.course.exercises.core import all_exercises, normalize_id
    from fdiv.course.exercises.grading import format_table, grade, load_answers

    if args.list:
        return _list(args, out)
    if not args.file:
        print("fdiv grade: give a file to grade (a .py answers file or a .ipynb notebook), or --list", file=err)
        return 2
    try:
        ids = [normalize_id(e) for e in args.exercise]
    except ValueError as exc:
        print(f"fdiv grade: {exc}", file=err)
        return 2
    for ch in args.chapter:
        chapter_ids = [e.id for e in all_exercises(ch)]
        if not chapter_ids:
            print(f"fdiv grade: chapter {ch} has no exercises (chapters: "
                  f"{sorted({e.chapter for e in all_exercises()})})", file=err)
            return 2
        ids += chapter_ids
    if args.all:
        ids = [e.id for e in all_exercises()]
    try:
        loaded = load_answers(args.file, all_cells=args.all_cells, time_limit=args.file_time_limit)
    except (ValueError, OSError) as exc:
        print(f"fdiv grade: {exc}", file=err)
        return 2
    selected = sorted(set(ids), key=lambda s: tuple(int(x) for x in s.split("."))) if ids else None
    if selected is None and not loaded.answers:
        print(f"fdiv grade: no answers found in {args.file}", file=err)
        for e in loaded.errors:
            print(f"  {e}", file=err)
        print("  (name them ex3_2 = my_function, or call check(\"3.2\", my_function); see fdiv grade --list)",
              file=err)
        return 2
    if args.verbose and loaded.output.strip():
        print(f"--- output of {args.file} ---\n{loaded.output.rstrip()}\n---", file=out)
    results = grade(loaded.answers, selected, time_limit=args.time_limit)
    if not args.quiet:
        for eid, res in results:
            if res is not None and (args.verbose or not res.passed):
                print(res.report(), file=out)
                print(file=out)
        for e in loaded.errors:
            print(f"warning: {e}", file=out)
        if loaded.errors:
            print(file=out)
    n = len(loaded.answers)
    print(format_table(results, title=f"fdiv grade {args.file}: {n} answer{'s' if n != 1 else ''} found"),
          file=out)
    return 0 if all(r is not None and r.passed for _, r in results) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fdiv grade", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
