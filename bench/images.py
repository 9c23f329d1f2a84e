"""Image benchmarks (DC-GAN on scikit-learn's 8x8 digits; chapters 10-11). Not timed tests.

* :func:`tables` -- the conditional DC-GAN trained by ``fdiv.gan.training.train`` at the digits defaults
  (``fdiv train --dataset digits --conditional``), one row per divergence: the accuracy of the
  independent real-data classifier on generated samples ("class accuracy", labels balanced),
  its ratio to the classifier's held-out real accuracy (target >= 0.95), the Frechet distance in
  the classifier's feature space (with the real-vs-real floor) and the wall time of the whole
  experiment (training + the classifier + evaluation; target <= 180 s on a 2-core CPU). Plus an
  unconditional row (classes covered, KL of the predicted class histogram to uniform).
* :func:`overhead_rows` -- steps/s of ``fdiv.gan.training.train`` over a hand-written PyTorch loop with
  the same DC-GAN networks, optimisers, batch and data/noise streams (target >= 0.95), for the
  overhead table of :mod:`bench.overhead`.

``python -m bench --only images [--quick]`` prints them; ``python -m bench.images`` too.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

import fdiv
from fdiv.evaluation import images as image_metrics
from fdiv.datasets import get_dataset
from fdiv.gan.models import default_models
from fdiv.gan.training import TrainConfig, TrainingDiverged, derived_seed, train

from . import Table, markdown

RATIO_TARGET, SECONDS_TARGET = 0.95, 180.0
QUICK_DIVERGENCES = ("gan",)
DIVERGENCES = ("gan", "js", "kl", "reverse_kl", "squared_hellinger", "pearson")


class _threads:
    def __init__(self, n: Optional[int]):
        self.n = n

    def __enter__(self):
        self.old = torch.get_num_threads()
        if self.n:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.old)


def run_digits(divergence: str = "gan", conditional: bool = True, seed: int = 0, steps: Optional[int] = None,
               threads: Optional[int] = 1, **overrides) -> dict:
    """Train at the digits defaults and evaluate (2,500 samples). Wall time includes the classifier
    (trained on first use, memoized; it is dropped first so every row pays for it) and evaluation."""
    image_metrics._CACHE.clear()
    with _threads(threads):
        t0 = time.perf_counter()
        cfg = TrainConfig(divergence=divergence, dataset="digits", conditional=conditional, seed=seed, steps=steps,
                          device="cpu", progress=False, **overrides)
        try:
            res = train(cfg)
        except TrainingDiverged as e:
            return dict(divergence=divergence, status=f"diverged at step {e.step}", seconds=time.perf_counter() - t0)
        out = dict(res.metrics)
        out.update(divergence=divergence, status="ok", total_seconds=time.perf_counter() - t0,
                   classifier_seconds=image_metrics.get_classifier("digits").train_seconds)
        return out


def conditional_table(divergences: Sequence[str] = DIVERGENCES, seed: int = 0, steps: Optional[int] = None) -> Table:
    t = Table(f"Conditional DC-GAN on digits (`fdiv train --dataset digits --conditional`, seed {seed})",
              ["divergence", "status", "class accuracy", "real accuracy", "ratio (target >= 0.95)",
               "Frechet (real floor)", "train s", "total s (target <= 180)", "meets targets"])
    for name in divergences:
        r = run_digits(name, True, seed, steps)
        if r["status"] != "ok":
            t.rows.append([name, r["status"], math.nan, math.nan, math.nan, "-", math.nan, r["seconds"], False])
            continue
        ok = r["accuracy_ratio"] >= RATIO_TARGET and r["total_seconds"] <= SECONDS_TARGET
        t.rows.append([name, "ok", r["class_accuracy"], r["real_accuracy"], r["accuracy_ratio"],
                       f"{r['frechet_distance']:.1f} ({r['frechet_distance_real']:.1f})", r["seconds"],
                       r["total_seconds"], ok])
    t.note = ("Class accuracy: the independent CNN (trained on the real training digits) labels generated "
              "samples g(z, y), 2,500 with balanced y; ratio = class accuracy / the classifier's accuracy on "
              "held-out real digits. Total seconds include training the classifier and the evaluation. "
              "Timings depend on the machine's load (shared 2-core CPU: pessimistic).")
    return t


def unconditional_table(seed: int = 0, steps: Optional[int] = None) -> Table:
    t = Table(f"Unconditional DC-GAN on digits (`fdiv train --dataset digits`, GAN, seed {seed})",
              ["divergence", "status", "classes covered", "class-histogram KL", "mean confidence",
               "Frechet (real floor)", "train s", "total s"])
    r = run_digits("gan", False, seed, steps)
    if r["status"] != "ok":
        t.rows.append(["gan", r["status"], "-", "-", "-", "-", "-", r["seconds"]])
    else:
        t.rows.append(["gan", "ok", f"{r['classes_covered']}/10", r["class_kl"], r["mean_confidence"],
                       f"{r['frechet_distance']:.1f} ({r['frechet_distance_real']:.1f})", r["seconds"],
                       r["total_seconds"]])
    t.note = ("Classes covered: classes predicted for at least 1% of 2,500 samples; class-histogram KL: "
              "KL(predicted label histogram || uniform), 0 = no mode collapse.")
    return t


def tables(quick: bool = False, seed: int = 0) -> List[Table]:
    """The image tables for ``python -m bench`` (quick: the GAN only)."""
    out = [conditional_table(QUICK_DIVERGENCES if quick else DIVERGENCES, seed)]
    if not quick:
        out.append(unconditional_table(seed))
    return out


# --------------------------------------------------------------------------- trainer overhead
def hand_written_loop(steps: int, cfg: TrainConfig, seed: int = 0, device: str = "cpu",
                      dtype: Optional[torch.dtype] = None) -> float:
    """The PyTorch DC-GAN-example loop for the conditional GAN on digits, the same networks,
    optimisers, batch and data/noise streams as ``fdiv.gan.training.train``; returns the loop's seconds.
    ``device``: where it runs (the batches are drawn on the CPU and copied, as the trainer does);
    ``dtype``: autocast the forward passes to it (``torch.bfloat16``: ``--precision bf16``)."""
    ds = get_dataset("digits")
    fdiv.core.runtime.seed_everything(seed)
    G, D = default_models(ds, True, **cfg.model)
    G, D = G.to(device), D.to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    g_data = torch.Generator().manual_seed(derived_seed(seed, 1))
    g_noise = torch.Generator().manual_seed(derived_seed(seed, 2))
    g_params = list(G.parameters())
    B, cuda = cfg.batch_size, torch.device(device).type == "cuda"
    cast = torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None)
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = ds.sample(B, g_data)
        z = torch.randn(B, G.latent_dim, generator=g_noise)
        x, y, z = (t.to(device, non_blocking=cuda) for t in (x, y, z))
        with cast:
            fake = G(z, y)
            v_real, v_fake = D(x, y), D(fake.detach(), y)
        loss_d = -(F.logsigmoid(v_real.float()).mean() - F.softplus(v_fake.float()).mean())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        with cast:
            v_gen = D(fake, y)
        loss_g = -F.logsigmoid(v_gen.float()).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward(inputs=g_params)
        opt_g.step()
    if cuda:
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0


def loop_config(steps: int, seed: int = 0, device: str = "cpu", **kw) -> TrainConfig:
    """The trainer's configuration that :func:`hand_written_loop` reproduces: the conditional GAN at the
    digits defaults, without the generator's moving average (the DC-GAN example's loop keeps none)."""
    return TrainConfig(divergence="gan", dataset="digits", conditional=True, steps=steps, seed=seed,
                       device=device, progress=False, eval_samples=10, ema=0.0, **kw).resolved()


def measure_overhead(steps: int = 300, repeats: int = 3, threads: int = 1, seed: int = 0):
    """(fdiv steps/s, hand-written steps/s, config): best of ``repeats`` interleaved runs each."""
    with _threads(threads):
        cfg = loop_config(steps, seed)
        image_metrics.get_classifier("digits")  # the final evaluation's classifier: outside the timings
        best_f = best_h = math.inf
        for _ in range(repeats):
            best_f = min(best_f, train(cfg).metrics["seconds"])
            best_h = min(best_h, hand_written_loop(steps, cfg, seed))
    return steps / best_f, steps / best_h, cfg


def overhead_rows(quick: bool = False) -> List[list]:
    """Rows [setting, device, fdiv steps/s, hand-written steps/s, ratio] for bench.overhead's table."""
    f, h, cfg = measure_overhead(steps=100 if quick else 300, repeats=3 if quick else 5)
    return [[f"conditional DC-GAN, digits 8x8, batch {cfg.batch_size}, GAN", "cpu (1 thread)", f, h, f / h]]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.images", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="overhead,digits", help="comma-separated: overhead, digits")
    p.add_argument("--divergences", default=None, help="comma-separated names (default: a selection)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None)
    a = p.parse_args(argv)
    parts = set(a.only.split(","))
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}, torch {torch.__version__}\n", flush=True)
    if "overhead" in parts:
        t = Table("Trainer overhead, DC-GAN (fdiv loop vs hand-written loop, same process)",
                  ["setting", "device", "fdiv steps/s", "hand-written steps/s", "ratio (target >= 0.95)"],
                  overhead_rows(a.quick), "Best of several interleaved runs; loop time only.")
        print(markdown(t), flush=True)
    if "digits" in parts:
        divs = a.divergences.split(",") if a.divergences else (QUICK_DIVERGENCES if a.quick else DIVERGENCES)
        print(markdown(conditional_table(divs, a.seed, a.steps)), flush=True)
        if not a.quick and not a.divergences:
            print(markdown(unconditional_table(a.seed, a.steps)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
