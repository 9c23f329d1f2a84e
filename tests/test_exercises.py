"""Tests of the exercise machinery (fdiv.course.exercises): every reference solution passes, every plausible
wrong answer fails (in this process and through `fdiv grade`'s child process), check() never raises or hangs,
`fdiv grade` (files, notebooks, --list), the pytest plugin (`-m ex3_2`), and the book's exercise cells.
The attacks on the grader are in tests/test_grading_isolation.py."""
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

from fdiv.cli import grade as excli
from fdiv.course.exercises import all_exercises, check, get_exercise, run_exercise
from fdiv.course.exercises import book as exbook
from fdiv.course.exercises.core import format_student_exception
from fdiv.course.exercises.loader import load_answers, notebook_code_cells

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(FIXTURES))
from wrong_answers import WRONG, load_solutions  # noqa: E402

S = load_solutions()
SOLUTIONS = S.SOLUTIONS
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


def test_closed_form_exercises_are_checked_on_the_graders_inputs():
    """2.2, 5.3 and 9.2 had answers known in closed form or printed in the chapter: they are functions now."""
    for eid in ("2.2", "5.3", "9.2"):
        assert get_exercise(eid).kind == "function", eid


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
    assert "Traceback" not in res.report() and "error while checking" not in res.report()


def test_wrong_answers_fail_through_fdiv_grade(tmp_path):
    """The same wrong answers, graded the way an instructor does: in the child process."""
    rounds = max(len(v) for v in WRONG.values())
    for i in range(rounds):
        ids = [eid for eid in IDS_PLAIN if i < len(WRONG.get(eid, []))]
        f = tmp_path / f"wrong_{i}.py"
        f.write_text(f"import sys\nsys.path.insert(0, {str(FIXTURES)!r})\nfrom wrong_answers import WRONG\n"
                     + "".join(f"ex{e.replace('.', '_')} = WRONG[{e!r}][{i}][1]\n" for e in ids))
        buf = io.StringIO()
        args = excli_args([str(f), "--format", "json"])
        assert excli.run(args, out=buf) == 1
        data = json.loads(buf.getvalue())
        passing = [(e["id"], WRONG[e["id"]][i][0]) for e in data["exercises"] if e["passed"]]
        assert not passing, f"wrong answers pass through fdiv grade: {passing}"
        assert sorted(e["id"] for e in data["exercises"]) == sorted(ids)


def excli_args(argv):
    import argparse

    parser = argparse.ArgumentParser()
    excli.add_arguments(parser)
    return parser.parse_args(argv)


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


def test_failed_number_says_direction_and_size_never_the_expected_value():
    buf = io.StringIO()
    assert not check("1.1", 0.3, file=buf)  # D_KL = 0.2263...
    out = buf.getvalue()
    assert "too large, by about 30% of the right value" in out, out
    assert "0.2263" not in out and "0.226" not in out and "expected" not in out
    buf = io.StringIO()
    assert not check("10.3", 100_000, file=buf)
    assert "too small" in buf.getvalue() and "131136" not in buf.getvalue()


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


def test_check_says_when_it_overrides_an_earlier_pass():
    assert check("12.1", SOLUTIONS["12.1"], quiet=True)
    buf = io.StringIO()
    res = check("12.1", WRONG["12.1"][0][1], file=buf)
    assert not res and "an earlier check(\"12.1\", interpolate) passed; this answer replaces it" in buf.getvalue()


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

def pearson_conjugate(t):           # the skeleton's name: graded as 3.2
    return torch.where(t <= -2, torch.full_like(t, -1.0), t + t ** 2 / 4)

ex1_1 = 0.3112                      # KL(Q||P): wrong

@answer("3.3")
def my_tv(t):
    return torch.where(t.abs() <= 0.5, t, torch.full_like(t, math.inf))   # the paper's domain: wrong

def my_lln(h, x):
    raise NotImplementedError("Exercise 2.1")

check("2.1", my_lln)                # recorded, not run, while grading
print("this line is captured")
if __name__ == "__main__":
    raise SystemExit("must not run while grading")
"""


def _grade(argv, capsys):
    code = excli.main(argv)
    return code, capsys.readouterr()


def test_grade_reference_solutions_file_passes(capsys):
    code, cap = _grade([str(ROOT / "instructor" / "solutions.py"), "--all", "-q"], capsys)
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
    assert rows == {"1.1": "FAIL", "2.1": "TODO", "3.2": "PASS", "3.3": "FAIL"}
    assert "arguments swapped" in out  # the failing exercises' reports come before the table
    assert "this line is captured" not in out and "must not run" not in out
    # selection: one exercise, a chapter, --all makes missing answers fail
    assert _grade([str(f), "-e", "3.2"], capsys)[0] == 0
    code, cap = _grade([str(f), "--chapter", "3", "-q"], capsys)
    assert code == 1 and "3.1" in cap.out and "MISSING" in cap.out
    code, cap = _grade([str(f), "--all", "-q"], capsys)
    assert code == 1 and cap.out.count("MISSING") == len(IDS_PLAIN) - 4
    code, cap = _grade([str(f), "-v", "-e", "3.2"], capsys)
    assert "this line is captured" in cap.out  # --verbose shows what the file printed


def test_grade_usage_errors(tmp_path, capsys):
    assert _grade([str(tmp_path / "nope.py")], capsys)[0] == 2
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    code, cap = _grade([str(empty)], capsys)
    assert code == 2 and "no answers found" in cap.err
    assert _grade([str(empty), "-e", "42.1"], capsys)[0] == 2
    assert _grade([], capsys)[0] == 2
    (tmp_path / "notes.txt").write_text("hi")
    code, cap = _grade([str(tmp_path / "notes.txt")], capsys)
    assert code == 2 and ".ipynb" in cap.err


def test_grade_list(capsys):
    code, cap = _grade(["--list"], capsys)
    assert code == 0
    for e in EXERCISES:
        assert f"  {e.id} " in cap.out and e.title in cap.out
    code, cap = _grade(["--list", "--chapter", "3"], capsys)
    assert "3.2" in cap.out and "1.1 " not in cap.out


def test_grade_list_imports_neither_torch_nor_sympy():
    code = ("import sys, io, contextlib\nfrom fdiv.cli.main import main\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n    assert main(['grade', '--list']) == 0\n"
            "assert 'pearson_conjugate' in buf.getvalue()\n"
            "print(sorted(m for m in ('torch', 'sympy', 'numpy') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout


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
        ("code", "import torch\nfrom fdiv.exercises import check\nCUT = -2.0\nraise_me = 1"),
        ("code", "raise RuntimeError('the chapter body is not run')"),
        ("code", "trained = torch.zeros(1) + (1 / 0)  # a training: not needed by the answers"),
        ("markdown", "## Exercises\n\nSome text."),
        ("code", "%matplotlib inline\n!echo hi"),
        ("code", sol("""\
            def pearson_conjugate(t):
                return torch.where(t <= CUT, torch.full_like(t, -1.0), t + t ** 2 / 4)""")),
        ("code", 'check("3.2", pearson_conjugate)'),
        ("code", "def tv_conjugate(t):\n    raise NotImplementedError('Exercise 3.3')"),
        ("code", 'check("3.3", tv_conjugate)'),
        ("code", "1 / 0  # a failing cell does not stop grading"),
        ("code", "%%timeit\nx = 1"),
        ("code", 'check("1.1", 0.2263)'),
    ]))
    cells = notebook_code_cells(nb)
    text = "\n".join(src for _, src in cells)
    assert "%" not in text and "!echo" not in text
    assert "chapter body" not in text and "trained" not in text
    assert "import torch" in text and "CUT = -2.0" in text and "raise_me" not in text
    code, cap = _grade([str(nb)], capsys)
    assert code == 1 and "score: 2/3 exercises passed" in cap.out, cap.out
    assert "warning: <cell 10> raised ZeroDivisionError" in cap.out
    # --all-cells also runs the chapter body (which raises here): a warning, still graded
    code, cap = _grade([str(nb), "--all-cells"], capsys)
    assert code == 1 and "the chapter body is not run" in cap.out


def test_load_answers_priority_and_skeleton_names(tmp_path, monkeypatch):
    """In the process that runs the file (the child): exN_k beats @answer beats skeleton name beats check()."""
    f = tmp_path / "a.py"
    f.write_text(textwrap.dedent("""\
        from fdiv.exercises import answer, check
        def interpolate(z0, z1, steps): return "skeleton"
        @answer("12.1")
        def mine(z0, z1, steps): return "decorated"
        check("12.1", lambda *a: "call")
        def slerp(z0, z1, t): return "skeleton"
        check("12.2", lambda *a: "call")
        ex12_2 = lambda *a: "name"
        from math import exp as one_hot   # imported, not defined here: not an answer to 11.1
        def modes_capture(samples, centres, std): return 0
        """))
    monkeypatch.setattr(sys, "path", list(sys.path))
    loaded = load_answers(f)
    assert loaded.origin["12.1"].startswith("@answer") and loaded.origin["12.2"] == "name ex12_2"
    assert "11.1" not in loaded.answers
    assert any("modes_capture is not graded: did you mean modes_captured (exercise 12.3" in w
               for w in loaded.warnings), loaded.warnings


# --------------------------------------------------------------------------- pytest plugin

def _plugin(tmp_path, *args):
    cmd = [sys.executable, "-m", "pytest", "-p", "fdiv.exercises.pytest_plugin", "--solutions", "answers.py",
           "-q", "-p", "no:cacheprovider", "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)


def test_pytest_plugin_selects_one_exercise_by_marker(tmp_path):
    """`pytest -p fdiv.exercises.pytest_plugin --solutions FILE -m ex3_2` runs exercise 3.2 only."""
    (tmp_path / "answers.py").write_text(PARTLY_WRONG.replace("def pearson_conjugate(t):", "def _unused(t):")
                                         + "\nex3_2 = torch.exp\n")
    r = _plugin(tmp_path, "-m", "ex3_2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"1 failed, {len(IDS_PLAIN) - 1} deselected" in r.stdout, r.stdout
    assert "answers.py::exercise_3_2" in r.stdout and "Exercise 3.2: The Pearson" in r.stdout
    assert "FAIL  values where the supremum sits at u -> 0" in r.stdout


def test_pytest_plugin_fails_on_a_missing_answer(tmp_path):
    """An autograder reads exit 0 as full marks: a missing answer must fail, not skip."""
    (tmp_path / "answers.py").write_text("x = 1\n")
    r = _plugin(tmp_path, "-m", "ex3_2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 failed" in r.stdout and "skipped" not in r.stdout
    assert "no answer to exercise 3.2" in r.stdout


def test_pytest_plugin_passes_reference_solutions_of_a_chapter(tmp_path):
    (tmp_path / "answers.py").write_text((ROOT / "instructor" / "solutions.py").read_text())
    r = _plugin(tmp_path, "-m", "ex3_1 or ex3_2 or ex3_3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 passed" in r.stdout


def test_pytest_plugin_validates_the_time_limit(tmp_path):
    (tmp_path / "answers.py").write_text("x = 1\n")
    for bad in ("nan", "inf", "0", "-1"):
        r = _plugin(tmp_path, "--exercise-time-limit", bad)
        assert r.returncode == 4 and "positive, finite" in r.stderr, (bad, r.stderr)


# --------------------------------------------------------------------------- the book's exercise cells

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
    import torch.nn.functional as F

    import fdiv
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


def test_grader_references_of_the_sample_exercises():
    """5.3's and 9.2's maxima, computed by the grader, against a brute-force search."""
    from fdiv.course.exercises.bank.ch05 import _bound_samples, best_linear_bound
    from fdiv.course.exercises.bank.ch09 import _blobs, best_linear_critic

    x_p, x_q = _bound_samples(1.0, 1.0, 500, 400, 3)
    a, b = torch.meshgrid(torch.linspace(0, 2, 401, dtype=torch.float64),
                          torch.linspace(-1.5, 1.5, 301, dtype=torch.float64), indexing="ij")
    j = (a[..., None] * x_p).mean(-1) + b - torch.exp(a[..., None] * x_q + b[..., None] - 1).mean(-1)
    assert best_linear_bound(x_p, x_q) >= j.max().item() - 1e-12
    assert best_linear_bound(x_p, x_q) - j.max().item() < 1e-3
    x_p, x_q = _blobs(300, 200, [0.6, 0.0], 0)
    w = torch.linspace(-3, 3, 121, dtype=torch.float64)
    grid = torch.cartesian_prod(w, w, torch.linspace(-1, 1, 41, dtype=torch.float64))
    jg = (torch.nn.functional.logsigmoid(x_p @ grid[:, :2].T + grid[:, 2]).mean(0)
          + torch.nn.functional.logsigmoid(-(x_q @ grid[:, :2].T + grid[:, 2])).mean(0))
    best = best_linear_critic(x_p, x_q)
    assert best >= (jg.max().item() + math.log(4)) / 2 - 1e-12
    assert best - (jg.max().item() + math.log(4)) / 2 < 2e-3


def test_conv_transpose_formula_matches_pytorch():
    from fdiv.course.exercises.bank.ch10 import convT_size

    for h, k, s, p, op, d in [(4, 4, 2, 1, 0, 1), (7, 3, 2, 1, 1, 1), (5, 3, 3, 0, 2, 1), (3, 5, 1, 2, 0, 2),
                              (2, 4, 2, 1, 1, 2)]:
        layer = torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d)
        assert layer(torch.zeros(1, 1, h, h)).shape[-1] == convT_size(h, k, s, p, op, d)
    assert sum(p.numel() for p in torch.nn.ConvTranspose2d(128, 64, 4, 2, 1).parameters()) == SOLUTIONS["10.3"]()


def test_fdiv_grade_command_line(tmp_path, capsys):
    """`fdiv grade` through the package's command line (fdiv.cli.main wires it to fdiv.cli.grade)."""
    from fdiv import cli

    assert cli.main(["grade", "--list"]) == 0
    out = capsys.readouterr().out
    assert "3.2" in out and "pearson_conjugate(t)" in out
    f = tmp_path / "answers.py"
    f.write_text(PARTLY_WRONG)
    assert cli.main(["grade", str(f), "-q"]) == 1
    assert "score: 1/4 exercises passed" in capsys.readouterr().out


def test_grade_a_broken_notebook_names_the_file(tmp_path, capsys):
    bad = tmp_path / "broken.ipynb"
    bad.write_text('{"cells": [1,')
    code, cap = _grade([str(bad)], capsys)
    assert code == 2
    lines = [line for line in cap.err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "invalid JSON at line 1, column 14" in lines[0]
    assert "Traceback" not in cap.err + cap.out
