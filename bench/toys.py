"""ring8 / grid25 with every divergence at the `fdiv train` defaults (PacGAN metrics)."""
from __future__ import annotations

import math
import time

import torch

import fdiv
from fdiv.gan.training import TrainConfig, TrainingDiverged, train

from . import Table

TARGETS = {"ring8": dict(modes=8, high_quality=0.98), "grid25": dict(modes=25, high_quality=0.95)}
RKL_TARGET, SECONDS_TARGET = 0.03, 60.0


def divergence_list():
    out = []
    for n in fdiv.names():
        out.append((n, {"alpha": 0.5} if n == "alpha" else {}))
    return out


def run_one(dataset: str, name: str, params: dict, seed: int = 0, steps=None, threads=None) -> dict:
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        cfg = TrainConfig(divergence=name, divergence_params=params, dataset=dataset, seed=seed, steps=steps,
                          device="cpu", progress=False)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            res = train(cfg)
        except TrainingDiverged as e:
            return dict(divergence=name, params=params, status=f"diverged at step {e.step}", modes=0,
                        high_quality=0.0, reverse_kl=math.inf, seconds=time.perf_counter() - t0,
                        cpu=time.process_time() - c0)
        m = res.metrics
        return dict(divergence=name, params=params, status="ok", modes=m["modes"], high_quality=m["high_quality"],
                    reverse_kl=m["reverse_kl"], seconds=time.perf_counter() - t0, cpu=time.process_time() - c0)
    finally:
        torch.set_num_threads(old)


def meets(dataset: str, r: dict) -> bool:
    t = TARGETS[dataset]
    return (r["status"] == "ok" and r["modes"] >= t["modes"] and r["high_quality"] >= t["high_quality"]
            and r["reverse_kl"] <= RKL_TARGET and r["seconds"] <= SECONDS_TARGET)


def table(dataset: str, divergences=None, seed: int = 0, steps=None, threads=None) -> Table:
    t = Table(f"{dataset}: every divergence at the `fdiv train --dataset {dataset}` defaults (seed {seed})",
              ["divergence", "status", "modes", "high quality", "reverse KL", "wall s", "CPU s", "meets targets"])
    for name, params in (divergences or divergence_list()):
        r = run_one(dataset, name, params, seed, steps, threads)
        label = name + (f"({', '.join(f'{k}={v}' for k, v in params.items())})" if params else "")
        t.rows.append([label, r["status"], f"{r['modes']}/{len(fdiv.datasets.get_dataset(dataset).centers)}",
                       r["high_quality"], r["reverse_kl"], r["seconds"], r["cpu"], meets(dataset, r)])
    tg = TARGETS[dataset]
    t.note = (f"Targets: {tg['modes']} modes, high quality >= {tg['high_quality']:.0%}, reverse KL <= {RKL_TARGET}, "
              f"<= {SECONDS_TARGET:.0f} s wall.  Wall time depends on the machine's load (CPU s is this process's time).")
    return t
