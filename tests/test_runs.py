"""Runs that lose nothing (issue 10, items 1-3): real `fdiv train` processes interrupted by SIGINT, SIGTERM
and SIGKILL resume from their directory to the uninterrupted result; --overwrite replaces only fdiv runs;
bad input is one line, exit status 2, nothing written."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from fdiv.cli import main
from fdiv.gan.training import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
FDIV = [sys.executable, "-m", "fdiv"]
# ring8 at small steps: 300 steps, a checkpoint every 20
ARGS = ["train", "--divergence", "gan", "--dataset", "ring8", "--steps", "300", "--batch-size", "64", "--seed", "0",
        "--checkpoint-every", "20", "--device", "cpu", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _status(d: Path) -> dict:
    return json.loads((d / "fdiv-run.json").read_text())


def _metrics(d: Path) -> dict:
    m = json.loads((d / "metrics.json").read_text())
    m.pop("seconds")
    return m


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("runs") / "ref"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def _start_and_wait_for_a_checkpoint(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([*FDIV, *ARGS, "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "checkpoint.pt").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "no checkpoint within 2 minutes"
        time.sleep(0.02)
    return proc


def _same_run(a: Path, b: Path) -> None:
    assert _metrics(a) == _metrics(b)
    assert np.array_equal(np.load(a / "samples.npy"), np.load(b / "samples.npy"))
    ca, cb = load_checkpoint(a), load_checkpoint(b)
    assert ca["history"] == cb["history"]
    for k in ("generator", "critic"):
        assert all(torch.equal(ca[k][n], cb[k][n]) for n in ca[k])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_a_checkpoint_and_prints_the_command_to_continue(tmp_path, reference, sig, capsys):
    out = tmp_path / "run"
    proc = _start_and_wait_for_a_checkpoint(out)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"fdiv train --resume {out}" in err and signal.Signals(sig).name in err
    meta = _status(out)
    assert meta["status"] == "interrupted" and 20 <= meta["step"] < 300
    assert load_checkpoint(out)["step"] == meta["step"]   # the step it stopped after, not only the last periodic one
    assert not list(out.glob(".*")) and not list(tmp_path.glob(".*"))  # no hidden directory or temporary file
    code, _, err = _run(capsys, "train", "--resume", str(out))  # --out defaults to the resumed run's directory
    assert code == 0, err
    assert _status(out)["status"] == "complete"
    _same_run(out, reference)


def test_after_kill_9_the_last_periodic_checkpoint_is_in_the_directory(tmp_path, reference, capsys):
    out = tmp_path / "run"
    proc = _start_and_wait_for_a_checkpoint(out)
    proc.kill()
    proc.communicate(timeout=60)
    assert _status(out)["status"] == "running"          # marked incomplete
    step = load_checkpoint(out)["step"]
    assert step % 20 == 0 and 20 <= step < 300
    stale = out / ".fdiv-tmp-99999-0badf00d.pt"          # what a kill during a checkpoint write leaves
    stale.write_bytes(b"")
    code, _, err = _run(capsys, "train", "--resume", str(out))
    assert code == 0, err
    assert not stale.exists() and not list(out.glob(".*"))
    _same_run(out, reference)


def test_resume_refuses_a_run_that_is_still_going(tmp_path, capsys):
    out = tmp_path / "run"
    proc = _start_and_wait_for_a_checkpoint(out)
    try:
        code, _, err = _run(capsys, "train", "--resume", str(out))
        assert code == 2 and f"a run is in progress there (process {proc.pid})" in err
    finally:
        proc.kill()
        proc.communicate(timeout=60)


# --------------------------------------------------------------------------- --overwrite and --out
TINY = ["train", "--dataset", "ring8", "--steps", "3", "--batch-size", "16", "--device", "cpu", "--no-progress",
        "--eval-samples", "50"]


def test_overwrite_never_deletes_a_users_files(tmp_path, capsys):
    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    (mine / ".git").mkdir()
    for extra in ([], ["--overwrite"]):
        code, _, err = _run(capsys, *TINY, "--out", str(mine), *extra)
        assert code == 2 and err.count("\n") == 1
        assert "not an fdiv run" in err and "thesis.tex" in err and ".git" in err
    assert sorted(p.name for p in mine.iterdir()) == [".git", "thesis.tex"]
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_overwrite_replaces_an_fdiv_run_and_only_its_files(tmp_path, capsys):
    run = tmp_path / "run"
    assert _run(capsys, *TINY, "--out", str(run))[0] == 0
    first = (run / "checkpoint.pt").read_bytes()
    (run / "notes.txt").write_text("mine")
    code, _, err = _run(capsys, *TINY, "--out", str(run))
    assert code == 2 and "holds a finished fdiv run" in err and "--overwrite" in err
    code, _, err = _run(capsys, *TINY, "--seed", "1", "--out", str(run), "--overwrite")
    assert code == 0, err
    assert (run / "notes.txt").read_text() == "mine" and (run / "checkpoint.pt").read_bytes() != first
    assert load_checkpoint(run)["config"]["seed"] == 1


@pytest.mark.parametrize("where", [".", "..", "parent"])
def test_the_current_directory_and_its_parents_are_refused_before_training(tmp_path, monkeypatch, capsys, where):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    target = str(tmp_path / "a") if where == "parent" else where
    code, _, err = _run(capsys, *TINY, "--out", target, "--overwrite")
    assert code == 2 and "current directory or one of its parents" in err
    assert list(work.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_out_paths_that_cannot_hold_a_run(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    code, _, err = _run(capsys, *TINY, "--out", str(f / "run"))
    assert code == 2 and "is a file, not a directory" in err and err.count("\n") == 1
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        target = ro / "run"
        if os.access(ro, os.W_OK):  # root may write anywhere: use a read-only file system instead
            target = Path("/sys/fdiv-run")
        code, _, err = _run(capsys, *TINY, "--out", str(target))
        assert code == 2 and "cannot write" in err and err.count("\n") == 1
        assert not target.exists()
    finally:
        ro.chmod(0o755)
    code, _, err = _run(capsys, *TINY, "--out", str(tmp_path / ("n" * 256)))
    assert code == 2 and "longer than 255 bytes" in err
    long = tmp_path / ("r" * 250)                      # a legal name: trains there
    code, _, err = _run(capsys, *TINY, "--out", str(long))
    assert code == 0, err
    assert (long / "metrics.json").exists() and _status(long)["status"] == "complete"


# --------------------------------------------------------------------------- bad input: one line, exit 2
@pytest.mark.parametrize("argv, message", [
    (["--lr-g", "1e39"], "lr_g must be a number > 0 and <= "),
    (["--lr-d", "nan"], "lr_d must be a finite number > 0, got nan"),
    (["--batch-size", "1e8"], "batch_size 100000000 needs about"),
    (["--seed", str(2**64)], f"seed must be an integer in 0..{2**64 - 1}, got {2**64}"),
    (["--divergence", "klx"], "did you mean 'kl'?"),
    (["--divergence", "Gan"], "did you mean 'gan'?"),
    (["--dataset", "ring9"], "did you mean 'ring8'?"),
    (["--ema", "1"], "ema must be a finite number >= 0 and < 1, got 1.0"),
    (["--betas", "0.5", "1.5"], "betas must be two numbers in [0, 1)"),
])
def test_bad_training_input_is_one_line_before_anything_is_written(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    code, _, err = _run(capsys, *TINY, *argv, "--out", str(out))
    assert code == 2 and message in err, err
    assert err.count("\n") == 1 and err.startswith("fdiv train: error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "run"
    assert main([*TINY, "--out", str(out)]) == 0
    return out


def _bad_checkpoints(tmp_path: Path, run: Path):
    ck = torch.load(run / "checkpoint.pt", weights_only=True)
    text = tmp_path / "notes.txt"
    text.write_text("every good boy")
    no_config = tmp_path / "no_config.pt"
    torch.save({k: v for k, v in ck.items() if k != "config"}, no_config)
    unsafe = tmp_path / "pickled.pt"
    torch.save({"x": Path("a")}, unsafe)  # a pickled Python object: torch refuses it with weights_only
    return [(text, "not an fdiv checkpoint (not a file written by torch.save)"),
            (run / "metrics.json", "not an fdiv checkpoint (not a file written by torch.save)"),
            (no_config, "incomplete fdiv checkpoint: it lacks config"),
            (unsafe, "not an fdiv checkpoint (it holds Python objects besides tensors)")]


@pytest.mark.parametrize("command", ["train", "sample"])
def test_foreign_files_as_checkpoints(tmp_path, tiny_run, capsys, command):
    for path, message in _bad_checkpoints(tmp_path, tiny_run):
        if command == "train":
            code, _, err = _run(capsys, "train", "--resume", str(path), "--out", str(tmp_path / "r"))
        else:
            code, _, err = _run(capsys, "sample", "--checkpoint", str(path), "--out", str(tmp_path / "s.npy"))
        assert code == 2 and message in err, err
        assert err.count("\n") == 1 and "weights_only" not in err and "KeyError" not in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "s.npy").exists()


def test_bad_sample_input(tmp_path, tiny_run, capsys, monkeypatch):
    ck = str(tiny_run / "checkpoint.pt")
    (tmp_path / "d.npy").mkdir()
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--out", str(tmp_path / "d.npy"))
    assert code == 2 and "is a directory" in err and err.count("\n") == 1
    assert list((tmp_path / "d.npy").iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["d.npy"]
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--n", "1e13", "--out", str(tmp_path / "s.npy"))
    assert code == 2 and "n 10000000000000 needs about" in err and "allowed: up to about" in err
    # 1e9 samples (52 GB) on a machine with 16 GiB free
    from fdiv.core import runtime
    monkeypatch.setattr(runtime, "available_memory", lambda device=None: 16 * 2**30)
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--n", "1e9", "--out", str(tmp_path / "s.npy"))
    assert code == 2 and "n 1000000000 needs about" in err
    monkeypatch.undo()
    code, _, err = _run(capsys, "sample", "--checkpoint", ck, "--n", "100", "--out", str(tmp_path / "s.npy"))
    assert code == 0 and np.load(tmp_path / "s.npy").shape == (100, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npy", "s.npy"]  # no temporary file left


def test_help_imports_neither_torch_nor_sympy():
    code = ("import sys\nfrom fdiv.cli.main import build_parser\n"
            "for argv in (['--help'], ['train', '--help'], ['sample', '--help']):\n"
            "    try:\n        build_parser().parse_args(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'sympy', 'numpy') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_train_help_lists_every_option_with_its_default():
    import dataclasses
    from fdiv.gan.training import TrainConfig
    r = subprocess.run([*FDIV, "train", "--help"], env={**ENV, "COLUMNS": "200"}, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0
    text = r.stdout.split("options:")[1]
    blocks = {b.split()[0].rstrip(","): " ".join(b.split()) for b in ("\n" + text).split("\n  -")[1:]}
    for f in dataclasses.fields(TrainConfig):
        if f.metadata["cli"]:
            flag = (f.metadata["flag"] or "--" + f.name.replace("_", "-"))[1:]
            assert "(default: " in blocks[flag], blocks[flag]
