"""Training on GPUs (marked ``cuda``: ``pytest -m cuda``); skipped where torch sees no CUDA device.

* ``fdiv train`` on one GPU in fp32 and in automatic mixed precision (``--precision bf16``), resumed;
* the CUDA benchmark's measurement (``python -m bench --only cuda``) on a few steps;
* with two GPUs, ``torchrun --nproc_per_node=2 -m fdiv train --device cuda`` (NCCL).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fdiv.cli import main
from fdiv.gan.training.checkpoint import load_checkpoint
from fdiv.gan.training.rundir import read_run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
DIGITS = ["--dataset", "digits", "--conditional", "--eval-samples", "200", "--no-progress"]


def _main(*argv) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return main(list(argv))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fdiv_train_on_one_gpu(tmp_path, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    out = tmp_path / "run"
    assert _main("train", *DIGITS, "--steps", "20", "--device", "cuda", "--precision", precision,
                 "--out", str(out)) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["device"].startswith("cuda") and m["config"]["precision"] == precision
    (entry,) = read_run(out)["ran_on"]
    assert entry["device"].startswith("cuda") and entry["precision"] == precision and entry["world_size"] == 1
    assert entry["device_name"] == torch.cuda.get_device_name(0)
    assert _main("train", "--resume", str(out), "--steps", "25") == 0
    ck = load_checkpoint(out)
    assert ck["step"] == 25 and all(torch.isfinite(v).all() for v in ck["generator"].values() if v.is_floating_point())


def test_the_cuda_benchmark_measures_both_loops(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is beside the package, not installed
    from bench import cuda
    assert cuda.unavailable() is None or not torch.cuda.is_bf16_supported()
    f, h, cfg = cuda.measure("fp32", steps=5, repeats=1)
    assert f > 0 and h > 0 and cfg.device == "cuda"


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_torchrun_on_two_gpus_uses_nccl(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, FDIV_DIST_TIMEOUT="60",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    torchrun = Path(sys.executable).with_name("torchrun")
    job = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "fdiv", "train", *DIGITS,
                          "--steps", "10", "--device", "cuda", "--out", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert job.returncode == 0, job.stderr[-3000:]
    (entry,) = read_run(out)["ran_on"]
    assert entry["world_size"] == 2 and entry["backend"] == "nccl" and entry["device"] == "cuda:0"
