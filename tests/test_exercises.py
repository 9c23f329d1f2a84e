"""Tests of the exercise machinery (fdiv.course.exercises): every reference solution passes, every plausible
wrong answer fails, check() never raises or hangs, `fdiv grade` (files, notebooks, --list), the pytest
plugin (`-m ex3_2`), and the book's generated exercise sections."""
from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from fdiv.course.exercises import all_exercises, check, get_exercise, run_exercise
from fdiv.course.exercises import book as exbook
from fdiv.cli import grade as excli
from fdiv.course.exercises.core import format_student_exception
from fdiv.course.exercises.grading import load_answers, notebook_code_cells
from fdiv.course.exercises.solutions import SOLUTIONS
from fdiv.course.exercises.wrong import WRONG

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = all_exercises()
IDS_PLAIN = [e.id for e in EXERCISES]


def _marked(eid, *rest):
    """A parameter carrying the exercise's marker, so `pytest -m ex3_2 tests` runs the grader tests of 3.2."""
    return pytest.param(eid, *rest, marks=getattr(pytest.mark, "ex" + eid.replace(".", "_")))


IDS = [_marked(eid) for eid in IDS_PLAIN]
WRONG_CASES = [_marked(eid, i, desc) for eid in IDS_PLAIN for i, (desc, _) in enumerate(WRONG.get(eid, []))]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"  # small tensors: threads only contend on a shared machine
    return env


# --------------------------------------------------------------------------- the registry

def test_registry_covers_every_chapter():
    assert len(EXERCISES) >= 36
    for ch in range(1, 13):
        assert len(all_exercises(ch)) >= 3, f"chapter {ch} has fewer than 3 exercises"
    assert len(set(IDS_PLAIN)) == len(IDS_PLAIN)
    assert {e.kind for e in EXERCISES} == {"function", "number", "sympy"}
    for e in EXERCISES:
        assert e.checks and e.task.strip() and e.hint.strip() and e.title.strip(), e.id
        assert e.marker == "ex" + e.id.replace(".", "_") and e.label == "ex-" + e.id.replace(".", "-")
        if e.kind == "number":
            assert e.tolerance is not None and e.tolerance > 0, e.id
    assert get_exercise("ex3_2") is get_exercise("3.2") is get_exercise("Exercise 3.2")
    with pytest.raises(ValueError, match="1.1, 1.2"):
        get_exercise("99.1")


def test_every_exercise_has_a_solution_and_two_wrong_answers():
    assert set(SOLUTIONS) == set(IDS_PLAIN)
    for eid in IDS_PLAIN:
        assert len(WRONG.get(eid, [])) >= 2, f"exercise {eid} needs at least 2 wrong answers"


# --------------------------------------------------------------------------- references pass, wrong answers fail

@pytest.mark.parametrize("eid", IDS)
def test_reference_solution_passes(eid):
    res = run_exercise(eid, SOLUTIONS[eid])
    assert res.passed, res.report()
    assert bool(res) and res.n_passed == res.n_total == len(get_exercise(eid).checks)


@pytest.mark.parametrize("eid,index,desc", WRONG_CASES)
def test_wrong_answer_fails(eid, index, desc):
    answer = WRONG[eid][index][1]
    res = run_exercise(eid, answer)
    assert not res.passed, f"the wrong answer '{desc}' to {eid} passes every check"
    failed = [o for o in res.outcomes if o.status in ("fail", "error")]
    assert failed and all(o.message for o in failed), res.report()  # says what is wrong
    assert "Traceback" not in res.report()


# --------------------------------------------------------------------------- check() is robust

def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise x")


@pytest.mark.parametrize("eid", IDS)
def test_check_with_stub_prints_fail_and_never_raises(eid):
    buf = io.StringIO()
    res = check(eid, _stub, file=buf)
    out = buf.getvalue()
    assert not res and res.status == "todo"
    assert f"Exercise {eid}:" in out and "FAIL" in out and "not implemented yet" in out
    assert "Traceback" not in out and "checks passed" in out


def test_check_reports_student_exceptions_with_trimmed_frames():
    def pearson_conjugate(t):
        return helper(t)

    def helper(t):
        return t / 0 + {}["missing"]

    buf = io.StringIO()
    res = check("3.2", pearson_conjugate, file=buf)
    out = buf.getvalue()
    assert not res
    assert "your code raised" in out and "KeyError" in out
    assert "in helper (test_exercises.py" in out and "in pearson_conjugate" in out
    assert "threading.py" not in out and "core.py" not in out and "Traceback" not in out


def test_check_reports_wrong_types_and_shapes():
    cases = [
        ("3.2", lambda t: [1.0, 2.0], "got list"),
        ("3.2", lambda t: t[:1], "shape (5,)"),
        ("3.2", lambda t: None, "forget to `return`"),
        ("3.2", lambda t: t.long(), "floating-point"),
        ("3.2", 3.0, "expected a function"),
        ("1.1", "0.2263", "got str"),
        ("1.1", torch.zeros(3), "shape (3,)"),
        ("1.1", True, "got bool"),
        ("3.1", "2 - 2*sqrt(1 - t)", "sympy expression"),
        ("2.1", lambda h, x: 1.0, "a pair"),
        ("10.2", lambda k: "model", "torch.nn.Module"),
        ("12.3", lambda s, c, std: 2.0, "an int"),
    ]
    for eid, answer, expected in cases:
        buf = io.StringIO()
        res = check(eid, answer, file=buf)
        assert not res, (eid, expected)
        assert expected in buf.getvalue(), (eid, expected, buf.getvalue())


def test_check_nan_outputs_fail_cleanly():
    buf = io.StringIO()
    assert not check("6.2", lambda v: v * math.nan, file=buf)
    assert "got nan" in buf.getvalue()
    buf = io.StringIO()
    assert not check("1.1", lambda: math.nan, file=buf)
    assert "nan" in buf.getvalue() and "Traceback" not in buf.getvalue()


def test_check_time_limit_stops_infinite_loops():
    def forever(t):
        while True:
            pass

    def stubborn(t):  # swallows ordinary exceptions
        while True:
            try:
                pass
            except Exception:
                pass

    for fn in (forever, stubborn):
        buf = io.StringIO()
        t0 = time.perf_counter()
        res = check("3.2", fn, time_limit=0.3, file=buf)
        assert time.perf_counter() - t0 < 5
        assert not res and "time limit" in buf.getvalue()
        assert [o.status for o in res.outcomes][:2] == ["timeout", "skip"]
    t0 = time.perf_counter()
    while any(t.name == "fdiv-exercise-check" for t in threading.enumerate()) and time.perf_counter() - t0 < 3:
        time.sleep(0.05)
    assert not any(t.name == "fdiv-exercise-check" for t in threading.enumerate()), "a looping check survived"
    res = check("1.1", lambda: time.sleep(5) or 0.2263, time_limit=0.2, quiet=True)
    assert not res and res.outcomes[0].status == "timeout"


def test_check_unknown_exercise_and_result_object():
    buf = io.StringIO()
    res = check("99.9", lambda: 0, file=buf)
    assert not res and "unknown exercise" in buf.getvalue()
    buf = io.StringIO()
    res = check("ex1_1", SOLUTIONS["1.1"], file=buf)
    assert res and res.passed and res.score == 1.0 and res.exercise_id == "1.1"
    assert "All 2 checks passed" in buf.getvalue() and "All 2 checks passed" in repr(res)
    assert check("1.1", 0.2263, quiet=True)  # a plain number works too
    assert check("3.1", SOLUTIONS["3.1"](), quiet=True)  # and a sympy expression


def test_format_student_exception_has_no_traceback_word():
    try:
        raise ValueError("Traceback (most recent call last) inside a message")
    except ValueError as exc:
        text = format_student_exception(exc)
    assert "Traceback" not in text and text.startswith("ValueError")


# --------------------------------------------------------------------------- fdiv grade

PARTLY_WRONG = """
import math
import torch
from fdiv.exercises import check, answer
from fdiv.course.exercises.solutions import pearson_conjugate, tv_conjugate, kl_bernoulli

ex3_2 = pearson_conjugate
ex1_1 = 0.3112                      # KL(Q||P): wrong

@answer("3.3")
def my_tv(t):
    return torch.where(t.abs() <= 0.5, t, torch.full_like(t, math.inf))   # the paper's domain: wrong

def my_kl():
    raise NotImplementedError("Exercise 2.2")

check("2.2", my_kl)                 # recorded, not run, while grading
print("this line is captured")
if __name__ == "__main__":
    raise SystemExit("must not run while grading")
"""


def _grade(argv, capsys):
    code = excli.main(argv)
    return code, capsys.readouterr()


def test_grade_reference_solutions_file_passes(capsys):
    code, cap = _grade([str(ROOT / "fdiv" / "course" / "exercises" / "solutions.py"), "--all", "-q"], capsys)
    assert code == 0, cap.out
    assert f"score: {len(IDS_PLAIN)}/{len(IDS_PLAIN)} exercises passed" in cap.out


def test_grade_partly_wrong_file(tmp_path, capsys):
    f = tmp_path / "answers.py"
    f.write_text(PARTLY_WRONG)
    code, cap = _grade([str(f)], capsys)
    assert code == 1
    out = cap.out
    assert "4 answers found" in out and "score: 1/4 exercises passed" in out
    rows = dict(re.findall(r"^  (\d+\.\d+) .* (PASS|FAIL|TODO|MISSING)$", out, re.M))
    assert rows == {"1.1": "FAIL", "2.2": "TODO", "3.2": "PASS", "3.3": "FAIL"}
    assert "arguments swapped" in out  # the failing exercises' reports come before the table
    assert "this line is captured" not in out and "must not run" not in out
    # selection: one exercise, a chapter, --all makes missing answers fail
    assert _grade([str(f), "-e", "3.2"], capsys)[0] == 0
    code, cap = _grade([str(f), "--chapter", "3", "-q"], capsys)
    assert code == 1 and "3.1" in cap.out and "MISSING" in cap.out
    code, cap = _grade([str(f), "--all", "-q"], capsys)
    assert code == 1 and cap.out.count("MISSING") == len(IDS_PLAIN) - 4


def test_grade_usage_errors(tmp_path, capsys):
    assert _grade([str(tmp_path / "nope.py")], capsys)[0] == 2
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    code, cap = _grade([str(empty)], capsys)
    assert code == 2 and "no answers found" in cap.err
    assert _grade([str(empty), "-e", "42.1"], capsys)[0] == 2
    assert _grade([], capsys)[0] == 2


def test_grade_list(capsys):
    code, cap = _grade(["--list"], capsys)
    assert code == 0
    for e in EXERCISES:
        assert f"  {e.id} " in cap.out and e.title in cap.out
    code, cap = _grade(["--list", "--chapter", "3"], capsys)
    assert "3.2" in cap.out and "1.1 " not in cap.out


def _notebook(cells):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    for kind, src in cells:
        cell = {"cell_type": kind, "metadata": {}, "source": src}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    return json.dumps(nb)


def test_grade_notebook(tmp_path, capsys):
    sol = textwrap.dedent
    nb = tmp_path / "chapter.ipynb"
    nb.write_text(_notebook([
        ("code", "raise RuntimeError('the chapter body is not run')"),
        ("markdown", "## Exercises\n\nSome text."),
        ("code", "%matplotlib inline\n!echo hi\nimport torch\nfrom fdiv.exercises import check"),
        ("code", sol("""\
            def pearson_conjugate(t):
                return torch.where(t <= -2, torch.full_like(t, -1.0), t + t ** 2 / 4)""")),
        ("code", 'check("3.2", pearson_conjugate)'),
        ("code", "def tv_conjugate(t):\n    raise NotImplementedError('Exercise 3.3')"),
        ("code", 'check("3.3", tv_conjugate)'),
        ("code", "1 / 0  # a failing cell does not stop grading"),
        ("code", "%%timeit\nx = 1"),
        ("code", 'check("1.1", 0.2263)'),
    ]))
    cells = notebook_code_cells(nb)
    assert all("%" not in src and "!echo" not in src for _, src in cells)
    assert not any("chapter body" in src for _, src in cells)
    loaded = load_answers(nb)
    assert sorted(loaded.answers) == ["1.1", "3.2", "3.3"]
    assert any("ZeroDivisionError" in e for e in loaded.errors)
    code, cap = _grade([str(nb), "-q"], capsys)
    assert code == 1 and "score: 2/3 exercises passed" in cap.out
    # --all-cells also runs the chapter body (which raises here): a warning, still graded
    code, cap = _grade([str(nb), "--all-cells"], capsys)
    assert code == 1 and "the chapter body is not run" in cap.out


# --------------------------------------------------------------------------- pytest plugin

def test_pytest_plugin_selects_one_exercise_by_marker(tmp_path):
    """`pytest -p fdiv.exercises.pytest_plugin --solutions FILE -m ex3_2` runs exercise 3.2 only."""
    (tmp_path / "answers.py").write_text(PARTLY_WRONG.replace("ex3_2 = pearson_conjugate", "ex3_2 = torch.exp"))
    cmd = [sys.executable, "-m", "pytest", "-p", "fdiv.exercises.pytest_plugin", "--solutions", "answers.py",
           "-q", "-p", "no:cacheprovider", "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning",
           "-m", "ex3_2"]
    r = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"1 failed, {len(IDS_PLAIN) - 1} deselected" in r.stdout, r.stdout
    assert "answers.py::exercise_3_2" in r.stdout and "Exercise 3.2: The Pearson" in r.stdout
    assert "FAIL  values where the supremum sits at u -> 0" in r.stdout


# --------------------------------------------------------------------------- the book's exercise sections

def test_book_exercise_sources_are_up_to_date():
    stale = exbook.write_all(ROOT / "book" / "src", check=True)
    assert not stale, f"regenerate with `python -m fdiv.course.exercises.book book/src`: {stale}"


@pytest.mark.parametrize("chapter", exbook.chapters())
def test_book_exercise_source_structure(chapter):
    text = (ROOT / "book" / "src" / f"{chapter:02d}_exercises.py").read_text()
    assert "# ## Exercises" in text
    for e in all_exercises(chapter):
        assert f":label: {e.label}" in text
        assert f"````{{solution}} {e.label}\n# :class: dropdown" in text
        assert f'raise NotImplementedError("Exercise {e.id}")' in text
        assert f'check("{e.id}", {e.name})' in text
    tools = ROOT / "tools" / "build_notebooks.py"
    if tools.exists():  # the book's own parser accepts the file
        sys.path.insert(0, str(tools.parent))
        try:
            import build_notebooks
        finally:
            sys.path.remove(str(tools.parent))
        cells = build_notebooks.parse_source(ROOT / "book" / "src" / f"{chapter:02d}_exercises.py")
        kinds = [c.kind for c in cells]
        assert kinds[:2] == ["markdown", "code"] and kinds[2:] == ["markdown", "code", "code", "markdown"] * len(
            all_exercises(chapter))


def test_book_cells_run_standalone_and_solutions_pass():
    """The skeleton + check cells print FAIL (no exception); the solution shown in the book, run with only
    the section's imports, passes."""
    for e in EXERCISES:
        ns: dict = {}
        exec(exbook.PREAMBLE, ns)
        exec(exbook.skeleton(e), ns)
        buf = io.StringIO()
        assert not ns["check"](e.id, ns[e.name], file=buf)
        assert "FAIL" in buf.getvalue() and "Traceback" not in buf.getvalue()
        exec(exbook.solution_source(e), ns)
        res = run_exercise(e.id, ns[e.name])
        assert res.passed, res.report()


# --------------------------------------------------------------------------- agreement with the library

def test_references_agree_with_fdiv_library():
    import fdiv
    import torch.nn.functional as F

    from fdiv.course.exercises.bank.ch03 import pearson_conj_ref, tv_conj_ref

    t = torch.linspace(-6, 0.49, 200, dtype=torch.float64)
    assert torch.allclose(fdiv.get("pearson").conjugate(t).double(), pearson_conj_ref(t), atol=1e-5)
    assert torch.allclose(fdiv.get("total_variation").conjugate(t).double(), tv_conj_ref(t), atol=1e-6)
    v = torch.tensor([-1e4, -3.0, 0.0, 3.0, 1e4], dtype=torch.float64)
    assert torch.allclose(fdiv.get("gan").conjugate_activation(v).double(), F.softplus(v), atol=1e-6)
    assert torch.allclose(fdiv.get("gan").activation(v).double(), F.logsigmoid(v), atol=1e-6)
    ts = torch.tensor([-3.0, -0.5, 0.0, 0.2, 0.9], dtype=torch.float64)
    assert torch.allclose(fdiv.get("neyman").conjugate(ts).double(), 2 - 2 * torch.sqrt(1 - ts), atol=1e-5)
    tj = torch.tensor([-3.0, 0.0, 0.3], dtype=torch.float64)
    assert torch.allclose(fdiv.get("js").conjugate(tj).double(), -0.5 * torch.log(2 - torch.exp(2 * tj)), atol=1e-5)


def test_conv_transpose_formula_matches_pytorch():
    from fdiv.course.exercises.bank.ch10 import convT_size

    for h, k, s, p, op, d in [(4, 4, 2, 1, 0, 1), (7, 3, 2, 1, 1, 1), (5, 3, 3, 0, 2, 1), (3, 5, 1, 2, 0, 2),
                              (2, 4, 2, 1, 1, 2)]:
        layer = torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
        assert layer(torch.zeros(1, 1, h, h)).shape[-1] == convT_size(h, k, s, p, op, d)
    assert sum(p.numel() for p in torch.nn.ConvTranspose2d(128, 64, 4, 2, 1).parameters()) == SOLUTIONS["10.3"]()


def test_fdiv_grade_command_line(tmp_path, capsys):
    """`fdiv grade` through the package's command line (fdiv/cli.py wires it to fdiv.cli.grade)."""
    from fdiv import cli

    assert cli.main(["grade", "--list"]) == 0
    out = capsys.readouterr().out
    assert "3.2" in out and "pearson_conjugate(t)" in out
    f = tmp_path / "answers.py"
    f.write_text(PARTLY_WRONG)
    assert cli.main(["grade", str(f), "-q"]) == 1
    assert "score: 1/4 exercises passed" in capsys.readouterr().out
