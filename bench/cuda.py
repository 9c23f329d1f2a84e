"""CUDA benchmark (``python -m bench --only cuda``): the conditional DC-GAN on one GPU.

Steps/s of ``fdiv.gan.training.train`` (``fdiv train --dataset digits --conditional --device cuda``)
against the same loop hand-written in PyTorch (:func:`bench.images.hand_written_loop` on the GPU: the
same networks, optimisers, batch and data/noise streams), each in fp32 and with automatic mixed
precision in bf16 (``--precision bf16``); at the digits batch and at a larger one, where the GPU has
more to do than launching kernels.  Runs are interleaved, the best of ``repeats`` is kept, and the
times are synchronised with the GPU.  A machine without CUDA prints one line saying so and measures
nothing (:func:`unavailable`).
"""
from __future__ import annotations

import math
import sys
from typing import List, Optional

import torch

from fdiv.evaluation import images as image_metrics
from fdiv.gan.training import train

from . import Table, markdown

__all__ = ["unavailable", "measure", "table", "main"]

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def unavailable() -> Optional[str]:
    """Why the CUDA benchmark cannot run here (None when it can)."""
    if not torch.cuda.is_available():
        return (f"cuda: skipped, no CUDA device on this machine (torch {torch.__version__}: "
                "torch.cuda.is_available() is False); nothing was measured")
    if not torch.cuda.is_bf16_supported():
        return f"cuda: skipped, {torch.cuda.get_device_name(0)} has no bfloat16; nothing was measured"
    return None


def measure(precision: str = "fp32", batch_size: Optional[int] = None, steps: int = 300, repeats: int = 3,
            seed: int = 0, device: str = "cuda"):
    """(fdiv steps/s, hand-written steps/s, config) on ``device``: best of ``repeats`` interleaved runs."""
    from .images import hand_written_loop, loop_config
    cfg = loop_config(steps, seed, device, precision=precision, batch_size=batch_size)
    image_metrics.get_classifier("digits")  # the final evaluation's classifier: outside the timings
    hand_written_loop(min(steps, 20), cfg, seed, device, PRECISIONS[precision])  # warm-up: kernels, cuDNN
    best_f = best_h = math.inf
    for _ in range(repeats):
        best_f = min(best_f, train(cfg).metrics["seconds"])
        best_h = min(best_h, hand_written_loop(steps, cfg, seed, device, PRECISIONS[precision]))
    return steps / best_f, steps / best_h, cfg


def table(quick: bool = False) -> Table:
    """One row per (batch, precision): steps/s of the trainer and of the hand-written loop, their ratio,
    and the speed-up of bf16 over fp32 (of the trainer)."""
    name = torch.cuda.get_device_name(0)
    t = Table(f"Conditional DC-GAN on digits, one GPU ({name}): fdiv train vs the hand-written loop",
              ["batch", "precision", "fdiv steps/s", "hand-written steps/s", "ratio", "bf16 / fp32 (fdiv)"])
    steps, repeats = (100, 2) if quick else (400, 3)
    for batch in (None, 1024):
        fp32 = None
        for precision in PRECISIONS:
            f, h, cfg = measure(precision, batch, steps, repeats)
            fp32 = f if precision == "fp32" else fp32
            t.rows.append([cfg.batch_size, precision, f, h, f / h, f / fp32 if precision != "fp32" else "-"])
    t.note = (f"torch {torch.__version__}; {steps} steps, best of {repeats} interleaved runs, loop time only "
              "(synchronised); batches are drawn on the CPU and copied to the GPU, as the trainer does.")
    return t


def tables(quick: bool = False) -> List[Table]:
    return [table(quick)]


def main(argv=None) -> int:
    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    why = unavailable()
    if why is not None:
        print(why)
        return 0
    print(markdown(table(quick)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
