"""Training on several processes (fdiv.gan.training.distributed): torchrun with 2 CPU processes (gloo).

The torchrun tests start real jobs (``torchrun --standalone --nproc_per_node=2 -m fdiv train``) with
one torch thread per process, a process-group timeout of a few seconds (``FDIV_DIST_TIMEOUT``) and a
subprocess timeout, so that a fault never hangs the suite:

* equivalence: the first step of 2 processes equals the one-process step on the same global batch
  (the gradients in Adam's first moment, and the parameters), and the run writes what one process writes;
* faults: SIGTERM to torchrun saves one checkpoint (rank 0) and every rank exits; ``--resume`` continues
  under torchrun and with another number of processes; a rank killed with SIGKILL, or one that hangs,
  takes the job down with one clear line (the timeout), not a hang.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

from fdiv.cli import main
from fdiv.gan.training import distributed
from fdiv.gan.training.checkpoint import load_checkpoint
from fdiv.gan.training.rundir import RUN_FILES, read_run, write_status

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).with_name("torchrun")
TINY = ["--dataset", "ring8", "--divergence", "gan", "--batch-size", "64", "--eval-samples", "100",
        "--no-progress", "--device", "cpu"]
needs_torchrun = pytest.mark.skipif(not (TORCHRUN.exists() and torch.distributed.is_available()
                                         and torch.distributed.is_gloo_available()),
                                    reason="needs torchrun and the gloo backend")


# --------------------------------------------------------------------------- without processes
def test_the_global_batch_divides_among_the_processes():
    assert distributed.per_rank_batch(256, 2) == 128 and distributed.per_rank_batch(7, 1) == 7
    with pytest.raises(ValueError) as e:
        distributed.per_rank_batch(63, 2)
    msg = str(e.value)
    assert "\n" not in msg and "63" in msg and "multiple of 2" in msg and "62 or 64" in msg
    w = distributed.World(rank=1, size=3)
    assert w.shard(torch.arange(6)).tolist() == [2, 3] and distributed.World().shard(torch.arange(3)).shape == (3,)
    one = distributed.World()  # one process: no collective call, the values pass through
    assert one.agree([0, 1]) == [0, 1] and one.first_error("x") == "x" and one.from_rank0(lambda: 3) == 3


def test_environment_of_the_job_is_checked(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", distributed.ENV_TIMEOUT):
        monkeypatch.delenv(k, raising=False)
    assert distributed.env_world() == distributed.World() and distributed.start() == distributed.World()
    assert distributed.timeout().total_seconds() == distributed.DEFAULT_TIMEOUT_S
    monkeypatch.setenv(distributed.ENV_TIMEOUT, "7.5")
    assert distributed.timeout().total_seconds() == 7.5
    for bad in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv(distributed.ENV_TIMEOUT, bad)
        with pytest.raises(ValueError, match="FDIV_DIST_TIMEOUT"):
            distributed.timeout()
    monkeypatch.delenv(distributed.ENV_TIMEOUT)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK"):
        distributed.env_world()
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="integer"):
        distributed.env_world()
    monkeypatch.setenv("RANK", "1")
    assert distributed.env_world() == distributed.World(rank=1, size=2, local_rank=1)


def test_run_files_without_ran_on_still_read_and_a_new_status_keeps_the_entries(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "fdiv-run.json").write_text(json.dumps({"format": "fdiv-run", "version": 1, "status": "complete",
                                                   "pid": 1}))  # written before ran_on existed
    assert read_run(out)["status"] == "complete"
    write_status(out, "interrupted", step=5)
    assert read_run(out)["ran_on"] == []
    entry = {"world_size": 2, "backend": "gloo"}
    write_status(out, "running", ran_on=[entry])
    write_status(out, "complete", step=6)
    assert read_run(out)["ran_on"] == [entry] and read_run(out)["status"] == "complete"


def test_precision_bf16_trains_on_the_cpu_and_fp16_is_refused(tmp_path, capsys):
    from fdiv.gan.training import train
    res = train(dataset="ring8", steps=3, batch_size=32, eval_samples=100, progress=False, device="cpu",
                precision="bf16")
    assert all(torch.isfinite(torch.tensor(v)).all() for v in res.history.values())
    assert res.environment["precision"] == "bf16"
    out = tmp_path / "fp16"
    assert main(["train", *TINY, "--steps", "2", "--precision", "fp16", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "fp16" in err and "CUDA" in err and not out.exists()
    with pytest.raises(ValueError, match="precision alone"):
        train(dataset="ring8", steps=1, amp=True, precision="bf16", progress=False)


# --------------------------------------------------------------------------- torchrun jobs
def _main(*argv) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return main(list(argv))


def _env(mark: str, timeout_s: float = 20) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", FDIV_DIST_TIMEOUT=str(timeout_s), FDIV_TEST_JOB=mark,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    env.pop("WORLD_SIZE", None)
    return env


def _torchrun(*argv, mark: str = "", timeout_s: float = 20, popen: bool = False):
    """``torchrun --standalone --nproc_per_node=2 -m fdiv ARGV`` (a Popen, or the finished process)."""
    cmd = [str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "fdiv", *argv]
    kw = dict(cwd=ROOT, env=_env(mark or uuid.uuid4().hex, timeout_s), stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, text=True)
    if popen:
        return subprocess.Popen(cmd, **kw)
    return subprocess.run(cmd, timeout=120, **kw)


def _wait_for_step(out: Path, step: int, proc, limit_s: float = 60) -> int:
    """Wait until the checkpoint in ``out`` is past ``step`` (training is under way); its step."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        assert proc.poll() is None, proc.communicate()
        try:
            s = int(load_checkpoint(out)["step"])
            if s > step:
                return s
        except ValueError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no checkpoint past step {step} in {limit_s} s")


def _rank_pid(mark: str, rank: int) -> int:
    """The process id of rank ``rank`` of the job started with FDIV_TEST_JOB=mark (from /proc)."""
    want = {f"FDIV_TEST_JOB={mark}".encode(), f"RANK={rank}".encode()}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                env = set((p / "environ").read_bytes().split(b"\0"))
            except OSError:
                continue
            if want <= env and any(e.startswith(b"TORCHELASTIC_RUN_ID=") for e in env):
                return int(p.name)
    raise AssertionError(f"rank {rank} of job {mark} not found")


def _params(ck, key):
    return {k: v.double() for k, v in ck[key].items() if v.is_floating_point()}


@needs_torchrun
def test_two_processes_take_the_one_process_step_and_write_the_same_run(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    # one critic step: with two, the generator's gradient comes from critics that already differ by
    # round-off, and Adam's first step (g / |g|) magnifies that on near-zero gradients
    step = ("--steps", "1", "--critic-steps", "1")
    job = _torchrun("train", *TINY, *step, "--out", str(two))
    assert job.returncode == 0, job.stderr[-3000:]
    assert _main("train", *TINY, *step, "--out", str(one)) == 0
    a, b = load_checkpoint(one), load_checkpoint(two)
    # the averaged gradient of the first step: Adam's first moment is (1 - beta1) g
    for opt in ("opt_d", "opt_g"):
        for i, s in a[opt]["state"].items():
            g1, g2 = s["exp_avg"].double(), b[opt]["state"][i]["exp_avg"].double()
            assert torch.allclose(g1, g2, rtol=1e-4, atol=1e-4 * float(g1.abs().max())), (opt, i)
    # the update itself: Adam divides by |g| + eps, so it is compared to the learning rate
    for key in ("critic", "generator_raw", "generator"):
        pa, pb = _params(a, key), _params(b, key)
        assert max(float((pa[k] - pb[k]).abs().max()) for k in pa) < 0.01 * a["config"]["lr_d"], key
    assert a["history"]["loss_d"] == pytest.approx(b["history"]["loss_d"], rel=1e-5)
    assert sorted(p.name for p in two.iterdir()) == sorted(RUN_FILES) == sorted(p.name for p in one.iterdir())
    m1, m2 = (json.loads((d / "metrics.json").read_text()) for d in (one, two))
    assert set(m1) == set(m2) and m1["device"] == m2["device"] == "cpu"
    (entry,) = read_run(two)["ran_on"]
    assert entry["world_size"] == 2 and entry["backend"] == "gloo" and entry["threads"] == 1
    assert job.stdout.count("wrote ") == 1 and "error" not in job.stdout  # rank 0 alone reports


@needs_torchrun
def test_torchrun_resumes_a_run_sigterm_saves_once_and_one_process_continues(tmp_path):
    out, mark = tmp_path / "run", uuid.uuid4().hex
    assert _main("train", *TINY, "--steps", "2", "--seed", "5", "--out", str(out)) == 0  # one process
    (entry,) = read_run(out)["ran_on"]  # where it ran
    assert entry["world_size"] == 1 and entry["backend"] is None and entry["from_step"] == 0
    assert entry["device"] == "cpu" and entry["threads"] == 1 and entry["seed"] == 5
    assert entry["torch"] == str(torch.__version__) and entry["precision"] == "fp32"
    proc = _torchrun("train", "--resume", str(out), "--steps", "100000", "--checkpoint-every", "5",
                     "--log-every", "5", mark=mark, popen=True)  # two processes continue it
    _wait_for_step(out, 2, proc)
    pids = [_rank_pid(mark, r) for r in (0, 1)]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    meta, ck = read_run(out), load_checkpoint(out)
    assert meta["status"] == "interrupted" and meta["step"] == ck["step"] > 2
    assert err.count(f"interrupted by SIGTERM after step {ck['step']}") == 1 and "--resume" in err
    for pid in pids:  # every rank has exited
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert [(e["from_step"], e["world_size"]) for e in meta["ran_on"]] == [(0, 1), (2, 2)]
    # the checkpoint does not depend on the number of processes: one process continues it again
    step = int(ck["step"])
    assert _main("train", "--resume", str(out), "--steps", str(step + 3)) == 0
    meta = read_run(out)
    assert meta["status"] == "complete" and [e["world_size"] for e in meta["ran_on"]] == [1, 2, 1]
    assert load_checkpoint(out)["history"]["step"][-1] == step + 3


@needs_torchrun
@pytest.mark.parametrize("fault", ["dies", "hangs"])
def test_a_rank_that_dies_or_hangs_takes_the_job_down_with_one_clear_line(tmp_path, fault):
    out, mark = tmp_path / "run", uuid.uuid4().hex
    proc = _torchrun("train", *TINY, "--steps", "100000", "--checkpoint-every", "5", "--out", str(out),
                     mark=mark, timeout_s=5, popen=True)
    _wait_for_step(out, 0, proc)
    victim = _rank_pid(mark, 1)
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL if fault == "dies" else signal.SIGSTOP)
    try:
        if fault == "hangs":  # rank 0 gives up after the timeout; then let rank 1 see torchrun's SIGTERM
            while proc.poll() is None and "lost another process" not in _peek(out) and time.monotonic() - t0 < 30:
                time.sleep(0.2)
            os.kill(victim, signal.SIGCONT)
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        proc.kill()
    assert proc.returncode != 0 and time.monotonic() - t0 < 60
    lines = [ln for ln in err.splitlines() if ln.startswith("fdiv train: error: rank 0 lost another process of "
                                                            "the job at step")]
    assert len(lines) == 1 and "FDIV_DIST_TIMEOUT=5 s" in lines[0] and "--resume" in lines[0]
    if fault == "hangs":
        assert "timed out" in lines[0].lower()
    meta = read_run(out)
    assert meta["status"] == "interrupted" and "lost another process" in meta["lost"]
    assert load_checkpoint(out)["step"] > 0  # the last checkpoint is intact


def _peek(out: Path) -> str:
    meta = read_run(out) or {}
    return str(meta.get("lost", ""))


@needs_torchrun
def test_a_batch_that_does_not_divide_is_one_line_from_rank_0_and_nothing_is_written(tmp_path):
    out = tmp_path / "run"
    job = _torchrun("train", *TINY[:2], "--batch-size", "63", "--steps", "2", "--out", str(out))
    assert job.returncode != 0
    lines = [ln for ln in job.stderr.splitlines() if ln.startswith("fdiv train: error:")]
    assert len(lines) == 1 and "batch_size 63" in lines[0] and "multiple of 2" in lines[0]
    assert not out.exists()
