"""The grader against a student who wants the points without the work (issue 12's list of attacks).

Each test writes the answers file such a student would write and runs `fdiv grade` (or the pytest
plugin, or check()) on it: the verdict must be FAIL and the exit status non-zero, and the grader must
finish within its limits. Where an answer is right, it may pass: the point is that nothing else does.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fdiv.course.exercises import check
from fdiv.course.exercises.registry import all_exercises

EXERCISES = all_exercises()

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "instructor" / "solutions.py"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def grade(tmp_path, source, *args, timeout=180, name="answers.py"):
    """Run `python -m fdiv grade answers.py ARGS` on ``source``; (exit status, stdout, stderr, seconds)."""
    f = tmp_path / name
    f.write_text(textwrap.dedent(source))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "fdiv", "grade", str(f), *args], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr, time.monotonic() - t0


WRONG_3_2 = """
import torch
def pearson_conjugate(t):
    return t + t ** 2 / 4          # the f-GAN paper's conjugate: wrong for t < -2
"""


# --------------------------------------------------------------------------- the solutions are not shipped

def test_solutions_are_not_in_the_package():
    """`from fdiv.exercises.solutions import *` scored 36/36: the reference solutions shipped in fdiv."""
    import setuptools

    packages = setuptools.find_packages(str(ROOT), include=["fdiv", "fdiv.*"])
    assert "fdiv.course.exercises" in packages and not any("instructor" in p for p in packages)
    shipped = [p.relative_to(ROOT) for p in (ROOT / "fdiv").rglob("*.py")]
    assert not [p for p in shipped if p.stem in ("solutions", "wrong", "wrong_answers")], shipped
    for module in ("fdiv.exercises.solutions", "fdiv.course.exercises.solutions", "fdiv.course.exercises.wrong"):
        with pytest.raises(ModuleNotFoundError):
            __import__(module)
    text = "\n".join((ROOT / "fdiv" / p.relative_to("fdiv")).read_text() for p in shipped)
    assert not re.search(r"^def (pearson_conjugate|js_divergence|make_generator)\(", text, re.M)
    assert "SOLUTIONS = {" not in text


def test_star_import_of_the_solutions_scores_nothing(tmp_path):
    for module in ("fdiv.exercises.solutions", "fdiv.course.exercises.solutions"):
        code, out, err, _ = grade(tmp_path, f"from {module} import *\n", "--all", "-q")
        assert code == 1, out + err
        assert f"score: 0/{len(EXERCISES)} exercises passed" in out


def test_instructor_solutions_file_scores_every_exercise():
    r = subprocess.run([sys.executable, "-m", "fdiv", "grade", str(SOLUTIONS), "--all", "--format", "json"],
                       env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    data = json.loads(r.stdout)
    assert data["passed"] and len(data["exercises"]) == len(EXERCISES) and all(e["passed"] for e in data["exercises"])


# --------------------------------------------------------------------------- the student's process decides nothing

@pytest.mark.parametrize("trick", [
    "import os\nos._exit(0)\n",
    "import atexit, os\natexit.register(os._exit, 0)\n",
    "import sys\nsys.exit(0)\n",
    "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n",
], ids=["os._exit at the top", "atexit os._exit", "sys.exit at the top", "SIGTERM ignored"])
def test_exiting_does_not_change_the_verdict(tmp_path, trick):
    code, out, err, _ = grade(tmp_path, WRONG_3_2 + trick, "-e", "3.2")
    assert code == 1, out + err
    assert "FAIL" in out or "MISSING" in out


def test_monkeypatching_the_grader_changes_nothing(tmp_path):
    source = WRONG_3_2 + """
import fdiv.course.exercises.core as core, fdiv.course.exercises.helpers as helpers, torch
core.Outcome.passed = property(lambda self: True)
core.CheckResult.passed = property(lambda self: True)
helpers.assert_close = lambda *a, **k: None
helpers.as_tensor = lambda out, *a, **k: out
torch.allclose = lambda *a, **k: True
def kl_bernoulli():
    return 0.5
"""
    code, out, err, _ = grade(tmp_path, source, "-e", "3.2", "-e", "1.1")
    assert code == 1, out + err
    assert "score: 0/2 exercises passed" in out


def test_a_thread_that_never_ends_does_not_hang_the_grader(tmp_path):
    source = WRONG_3_2 + """
import threading, time
threading.Thread(target=lambda: time.sleep(10_000), daemon=False).start()   # blocks interpreter exit
"""
    code, out, err, seconds = grade(tmp_path, source, "-e", "3.2", timeout=120)
    assert code == 1 and seconds < 60, (out + err, seconds)


def test_a_float_whose_conversion_loops_does_not_hang_the_grader(tmp_path):
    source = """
class Sneaky(float):
    def __float__(self):
        while True:
            pass
    def __sub__(self, other):
        return 0.0
    __rsub__ = __sub__
    def __abs__(self):
        return 0.0
ex1_1 = Sneaky(0.3)          # wrong (D_KL = 0.2263) and trying to compare equal to anything
"""
    code, out, err, seconds = grade(tmp_path, source, "--time-limit", "2", timeout=120)
    assert code == 1 and "FAIL" in out and seconds < 60, (out + err, seconds)


def test_an_answer_that_hangs_or_kills_its_process_fails_alone(tmp_path):
    source = """
import os, signal, torch
def pearson_conjugate(t):
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass
def tv_conjugate(t):
    os._exit(0)
def one_hot(labels, num_classes):
    return input()            # a blocking read: stdin is empty
def interpolate(z0, z1, steps):
    if steps < 2:
        raise ValueError("steps")
    w = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]
    out = (1 - w) * z0 + w * z1
    out[-1] = z1
    return out
"""
    code, out, err, seconds = grade(tmp_path, source, "--time-limit", "2", timeout=180)
    assert code == 1, out + err
    assert "time limit" in out and "exited with status 0" in out and "EOFError" in out
    rows = {line.split()[0]: line.split()[-1] for line in out.splitlines() if line[:2] == "  " and
            line.split() and line.split()[0] in ("3.2", "3.3", "11.1", "12.1")}
    assert rows == {"3.2": "FAIL", "3.3": "FAIL", "11.1": "FAIL", "12.1": "PASS"}, out
    assert seconds < 120


# --------------------------------------------------------------------------- answers are plain values

def test_tensor_subclass_that_lies_fails_3_2(tmp_path):
    source = """
import torch
class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ == "all":
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def pearson_conjugate(t):
    return torch.zeros_like(t).as_subclass(Liar)
"""
    code, out, err, _ = grade(tmp_path, source, "-e", "3.2")
    assert code == 1 and "FAIL" in out, out + err
    exec(textwrap.dedent(source), ns := {})
    assert not check("3.2", ns["pearson_conjugate"], quiet=True)  # in a notebook too


def test_int_subclass_that_lies_fails_10_1_and_12_3(tmp_path):
    source = """
class Yes(int):
    def __ne__(self, other):
        return False
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return Yes(0)
def modes_captured(samples, centres, std):
    return Yes(0)
"""
    code, out, err, _ = grade(tmp_path, source)
    assert code == 1 and "score: 0/2 exercises passed" in out, out + err


def test_nan_is_rejected_before_any_threshold(tmp_path):
    source = """
import torch
def two_diagonals(n, generator):
    s = torch.rand(n, generator=generator) * 2 - 1
    r = torch.rand(n, generator=generator) * 2 - 1
    if n >= 1000:                      # the statistical checks: nan makes every `if x > thr` false
        return torch.full((n, 2), float("nan")), torch.full((n, 2), float("nan"))
    return torch.stack([s, s], 1), torch.stack([r, r], 1)
ex9_3 = lambda points: torch.full((points.shape[0],), float("nan"))
"""
    code, out, err, _ = grade(tmp_path, source)
    assert code == 1 and "score: 0/2 exercises passed" in out and "got nan" in out, out + err
    for answer in (float("nan"), float("inf")):
        assert not check("4.2", answer, quiet=True)


# --------------------------------------------------------------------------- a notebook's check() survives the answer

def test_exit_inside_an_answer_is_a_fail_in_a_notebook():
    def pearson_conjugate(t):
        os._exit(3)

    def tv_conjugate(t):
        raise SystemExit(0)

    for eid, fn in (("3.2", pearson_conjugate), ("3.3", tv_conjugate)):
        buf = io.StringIO()
        res = check(eid, fn, file=buf)
        assert not res and "your code called exit()" in buf.getvalue(), buf.getvalue()
    assert os._exit.__name__ == "_exit"  # restored


# --------------------------------------------------------------------------- what an autograder needs

def test_skeleton_names_are_graded_and_unknown_functions_warned(tmp_path):
    source = WRONG_3_2.replace("t + t ** 2 / 4", "torch.where(t <= -2, torch.full_like(t, -1.0), t + t ** 2 / 4)") + """
def kl_bernouli():        # a typo of 1.1's skeleton name
    return 0.2263
def helper(x):
    return x
"""
    code, out, err, _ = grade(tmp_path, source)
    assert code == 0, out + err
    assert "1 answer found" in out and "3.2 " in out
    assert "kl_bernouli is not graded: did you mean kl_bernoulli (exercise 1.1" in out
    assert "helper" not in out


def test_a_later_check_overriding_a_pass_says_so(tmp_path):
    source = """
import torch
from fdiv.exercises import check
def good(t):
    return torch.where(t <= -2, torch.full_like(t, -1.0), t + t ** 2 / 4)
def worse(t):
    return t + t ** 2 / 4
check("3.2", good)
check("3.2", worse)
"""
    code, out, err, _ = grade(tmp_path, source)
    assert code == 1, out + err
    assert "an earlier answer, check() call (answers.py, line 8), passed; the last one given" in out, out


@pytest.mark.parametrize("option", ["--time-limit", "--file-time-limit"])
@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "soon"])
def test_time_limits_are_validated(tmp_path, capsys, option, value):
    """`--time-limit nan` aborted in C++, `inf` raised OverflowError: now one line and exit status 2."""
    from fdiv.cli.main import main

    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(tmp_path / "a.py"), option, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    assert "Traceback" not in err and value in err and option in err


def test_json_and_gradescope_formats(tmp_path):
    source = WRONG_3_2 + "ex1_1 = 0.22631\n"
    code, out, err, _ = grade(tmp_path, source, "-e", "1.1", "-e", "3.2", "-e", "3.3", "--format", "json")
    assert code == 1, err
    data = json.loads(out)
    entries = {e["id"]: e for e in data["exercises"]}
    assert set(entries) == {"1.1", "3.2", "3.3"} and not data["passed"]
    assert entries["1.1"] == {"id": "1.1", "passed": True, "score": 1.0, "messages": []}
    assert not entries["3.2"]["passed"] and 0 < entries["3.2"]["score"] < 1 and entries["3.2"]["messages"]
    assert entries["3.3"]["messages"] == ["no answer to exercise 3.3 in " + str(tmp_path / "answers.py")]
    results = tmp_path / "results.json"
    code, out, err, _ = grade(tmp_path, source, "-e", "1.1", "-e", "3.2", "--format", "gradescope",
                              "--output", str(results))
    assert code == 1 and out == "", out + err
    gs = json.loads(results.read_text())
    assert gs["score"] == 1.0 and [t["status"] for t in gs["tests"]] == ["passed", "failed"]
    assert all(t["max_score"] == 1.0 and t["name"].startswith("Exercise ") for t in gs["tests"])


def test_classroom_workflow_commands(tmp_path):
    """The documented GitHub Classroom workflow: CPU torch first, then one command-grader step per exercise;
    its commands pass the reference solutions and fail a wrong answer."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "classroom" / "autograding.yml").read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    install = next(i for i, s in enumerate(steps) if "pip install torch" in s.get("run", ""))
    graders = [s for s in steps if "autograding-command-grader" in s.get("uses", "")]
    assert graders and install < steps.index(graders[0])
    assert "download.pytorch.org/whl/cpu" in steps[install]["run"]
    commands = [s["with"]["command"] for s in graders]
    assert len(set(commands)) == len(commands) and all(c.startswith("fdiv grade answers.py -e ") for c in commands)
    bindir = str(Path(sys.executable).parent)
    env = dict(_env(), PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    for answers, expected in ((SOLUTIONS.read_text(), 0), (WRONG_3_2, None)):
        (tmp_path / "answers.py").write_text(textwrap.dedent(answers))
        for cmd in commands:
            r = subprocess.run(cmd, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
            want = expected if expected is not None else 1
            assert r.returncode == want, (cmd, r.stdout[-2000:], r.stderr[-2000:])


def test_student_notebooks_have_no_solutions(tmp_path):
    """`make student` (tools/build_notebooks.py --no-solutions): skeletons and checks, no solution dropdowns."""
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "build_notebooks.py"), "--no-solutions", "--only", "03",
                        "--out", str(tmp_path)], env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (nb,) = tmp_path.glob("03_*.ipynb")
    cells = json.loads(nb.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    assert "{solution}" not in text and "t + t ** 2 / 4)" not in text
    assert 'raise NotImplementedError("Exercise 3.2")' in text and 'check("3.2", pearson_conjugate)' in text
    assert "student:" in (ROOT / "Makefile").read_text() and "--no-solutions" in (ROOT / "Makefile").read_text()
