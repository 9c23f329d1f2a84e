"""ring8 / grid25 with every divergence at the `fdiv train` defaults: do the generators match the data?

Six figures per run, each beside its target (issue "f-GANs that match the data"):

* modes captured (all 8 / 25);
* the classifier two-sample accuracy of a 15-NN classifier telling 2,500 generated points from 2,500
  fresh data points (<= 0.55; a second data sample scores 0.50 +- 0.007, the floor);
* spread, the RMS distance to the nearest centre over the data's own (within [0.9, 1.1]);
* high quality, the fraction within 3 std of a centre (within [97.5%, 99.5%]: a perfect sampler has
  1 - e^{-4.5} = 98.9%, more means the modes are too narrow);
* the mode-histogram KL ("reverse KL" in the metrics, <= 0.02);
* wall seconds (<= 60 on a 2-core CPU with one torch thread).

Runs are independent processes (``jobs``), each with one torch thread; with two jobs on two cores the
wall times are pessimistic (CPU s is the run's own time).
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor

import fdiv

from . import Table

TARGETS = dict(two_sample_accuracy=0.55, spread=(0.9, 1.1), high_quality=(0.975, 0.995), reverse_kl=0.02,
               seconds=60.0)
#: the divergences with per-seed rows
HEADLINE = ("gan", "js", "kl", "reverse_kl", "squared_hellinger")  # per-seed rows (`--headline`)


def divergence_list():
    return [(n, {"alpha": 0.5} if n == "alpha" else {}) for n in fdiv.names()]


def run_one(dataset: str, name: str, params: dict, seed: int = 0, steps=None, threads=1) -> dict:
    """One `fdiv train` run at the defaults; its metrics (or the step it diverged at)."""
    import torch

    from fdiv.gan.training import TrainConfig, TrainingDiverged, train
    torch.set_num_threads(threads or 1)
    cfg = TrainConfig(divergence=name, divergence_params=params, dataset=dataset, seed=seed, steps=steps,
                      device="cpu", progress=False, threads=threads or 1)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        m = dict(train(cfg).metrics, status="ok")
    except TrainingDiverged as e:
        m = dict(status=f"diverged at step {e.step}", modes=0)
    m.update(divergence=name, params=params, seed=seed, dataset=dataset, wall=time.perf_counter() - t0,
             cpu=time.process_time() - c0)
    return m


def meets(r: dict, num_modes: int) -> bool:
    t = TARGETS
    return (r["status"] == "ok" and r["modes"] >= num_modes
            and r["two_sample_accuracy"] <= t["two_sample_accuracy"]
            and t["spread"][0] <= r["spread"] <= t["spread"][1]
            and t["high_quality"][0] <= r["high_quality"] <= t["high_quality"][1]
            and r["reverse_kl"] <= t["reverse_kl"] and r["wall"] <= t["seconds"])


def _row(r: dict, num_modes: int) -> list:
    label = r["divergence"] + (f"({', '.join(f'{k}={v}' for k, v in r['params'].items())})" if r["params"] else "")
    if r["status"] != "ok":
        return [label, r["seed"], r["status"], "", "", "", "", r["wall"], r["cpu"], False]
    acc = f"{r['two_sample_accuracy']:.3f} +- {r['two_sample_stderr']:.3f}"
    return [label, r["seed"], f"{r['modes']}/{num_modes}", acc, r["spread"], f"{100 * r['high_quality']:.1f}%",
            r["reverse_kl"], r["wall"], r["cpu"], meets(r, num_modes)]


def run_all(jobs_list, jobs: int = 1):
    """Run (dataset, name, params, seed, steps) jobs, ``jobs`` processes at a time, in order."""
    if jobs <= 1:
        return [run_one(*j) for j in jobs_list]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(run_one, *zip(*jobs_list)))


def table(dataset: str, divergences=None, seeds=(0,), steps=None, jobs: int = 1, headline=HEADLINE) -> Table:
    """Every divergence on ``dataset`` at seed ``seeds[0]``, then the ``headline`` ones at the other seeds."""
    num_modes = len(fdiv.datasets.get_dataset(dataset).centers)
    divs = list(divergences or divergence_list())
    todo = [(dataset, n, p, seeds[0], steps) for n, p in divs]
    todo += [(dataset, n, p, s, steps) for s in seeds[1:] for n, p in divs if n in headline]
    t = Table(f"{dataset}: every divergence at the `fdiv train --dataset {dataset}` defaults",
              ["divergence", "seed", "modes", "two-sample acc.", "spread", "high quality", "mode KL", "wall s",
               "CPU s", "meets targets"])
    t.rows = [_row(r, num_modes) for r in run_all(todo, jobs)]
    tg = TARGETS
    t.note = (f"Targets: all {num_modes} modes; two-sample accuracy <= {tg['two_sample_accuracy']} (perfect "
              f"sampler 0.50 +- 0.007); spread in [{tg['spread'][0]}, {tg['spread'][1]}]; high quality in "
              f"[{100 * tg['high_quality'][0]:.1f}%, {100 * tg['high_quality'][1]:.1f}%] (perfect "
              f"{100 * (1 - math.exp(-4.5)):.1f}%); mode KL <= {tg['reverse_kl']}; <= {tg['seconds']:.0f} s wall. "
              f"One torch thread per run, {jobs} run(s) at a time.")
    return t
