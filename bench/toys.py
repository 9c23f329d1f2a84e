"""ring8 / grid25 with every divergence at the `fdiv train` defaults, seeds 0-4: do the generators match the data?

Six figures per run (chapter 5; :mod:`fdiv.evaluation.twosample`), each beside its target:

* modes captured (all 8 / 25);
* the classifier two-sample accuracy of a 15-NN classifier telling 2,500 generated points from 2,500
  fresh data points (a second data sample scores 0.50 +- 0.007, the floor);
* spread, the RMS distance to the nearest centre over the data's own (perfect: 1);
* high quality, the fraction within 3 std of a centre (a perfect sampler has 1 - e^{-4.5} = 98.9%;
  more means the modes are too narrow);
* the mode-histogram KL ("reverse KL" in the metrics; a perfect sampler about 0.001);
* wall seconds (<= 60 on a 2-core CPU with one torch thread).

Two sets of targets, for **every** seed (:data:`TARGETS`): the strict ones for gan, js and squared
Hellinger (:data:`STRICT`), looser ones for the other divergences.  :func:`table` prints one row per
run (divergence x seed); :func:`summary` one row per divergence with mean (min to max) over the
seeds and how many seeds met the targets; :func:`peer_rows` adds WGAN-GP (:mod:`bench.wgan_gp`) with
the same seeds and figures.

Runs are independent processes (``jobs``), each with one torch thread; with two jobs on two cores the
wall times are pessimistic (CPU s is the run's own time).
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Sequence

import fdiv

from . import Table

#: divergences held to the strict targets
STRICT = ("gan", "js", "squared_hellinger")
#: targets per group: accuracy max, spread interval, high-quality interval, mode KL max, seconds max
TARGETS = {
    "strict": dict(two_sample_accuracy=0.55, spread=(0.9, 1.1), high_quality=(0.975, 0.995), reverse_kl=0.02,
                   seconds=60.0),
    "other": dict(two_sample_accuracy=0.60, spread=(0.85, 1.15), high_quality=(0.95, 1.0), reverse_kl=math.inf,
                  seconds=60.0),
}
SEEDS = (0, 1, 2, 3, 4)


def targets_for(divergence: str) -> dict:
    """The targets a run of ``divergence`` is held to (the strict ones for :data:`STRICT`)."""
    return TARGETS["strict" if divergence in STRICT else "other"]


def divergence_list():
    return [(n, {"alpha": 0.5} if n == "alpha" else {}) for n in fdiv.names()]


def run_one(dataset: str, name: str, params: dict, seed: int = 0, steps=None, threads=1) -> dict:
    """One `fdiv train` run at the defaults; its metrics (or the step it diverged at)."""
    import torch

    if name == "WGAN-GP":
        from . import wgan_gp
        return wgan_gp.train(dataset, seed=seed, steps=steps, threads=threads or 1)
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


def misses(r: dict, num_modes: int) -> List[str]:
    """The targets run ``r`` misses (``[]``: it meets them all); the wall-time target is judged on CPU s."""
    if r["status"] != "ok":
        return [r["status"]]
    t = targets_for(r["divergence"])
    # a figure that could not be computed (None: e.g. no point near any mode, so no spread) misses
    within = lambda key, lo, hi: r.get(key) is not None and lo <= r[key] <= hi  # noqa: E731
    out = []
    if not within("modes", num_modes, math.inf):
        out.append("modes")
    if not within("two_sample_accuracy", 0.0, t["two_sample_accuracy"]):
        out.append("accuracy")
    if not within("spread", *t["spread"]):
        out.append("spread")
    if not within("high_quality", *t["high_quality"]):
        out.append("high quality")
    if not within("reverse_kl", 0.0, t["reverse_kl"]):
        out.append("mode KL")
    if not within("cpu", 0.0, t["seconds"]):
        out.append("time")
    return out


def meets(r: dict, num_modes: int) -> bool:
    return not misses(r, num_modes)


def label(r: dict) -> str:
    return r["divergence"] + (f"({', '.join(f'{k}={v}' for k, v in r['params'].items())})" if r["params"] else "")


def _row(r: dict, num_modes: int) -> list:
    missed = ", ".join(misses(r, num_modes)) or "-"
    if r["status"] != "ok":
        return [label(r), r["seed"], r["status"], "", "", "", "", r["wall"], r["cpu"], missed]
    acc = f"{r['two_sample_accuracy']:.3f} +- {r['two_sample_stderr']:.3f}"
    spread = "-" if r["spread"] is None else r["spread"]
    return [label(r), r["seed"], f"{r['modes']}/{num_modes}", acc, spread, f"{100 * r['high_quality']:.1f}%",
            r["reverse_kl"], r["wall"], r["cpu"], missed]


def run_all(jobs_list, jobs: int = 1):
    """Run (dataset, name, params, seed, steps) jobs, ``jobs`` processes at a time, in order."""
    if jobs <= 1:
        return [run_one(*j) for j in jobs_list]
    with ProcessPoolExecutor(jobs) as ex:
        return list(ex.map(run_one, *zip(*jobs_list)))


def _note(num_modes: int, jobs: int) -> str:
    s, o = TARGETS["strict"], TARGETS["other"]
    return (f"Targets for every seed: all {num_modes} modes and <= {s['seconds']:.0f} CPU s; {', '.join(STRICT)}: "
            f"two-sample accuracy <= {s['two_sample_accuracy']} (perfect sampler 0.50 +- 0.007), spread in "
            f"[{s['spread'][0]}, {s['spread'][1]}], high quality in [{100 * s['high_quality'][0]:.1f}%, "
            f"{100 * s['high_quality'][1]:.1f}%] (perfect {100 * (1 - math.exp(-4.5)):.1f}%), mode KL <= "
            f"{s['reverse_kl']}; the others: accuracy <= {o['two_sample_accuracy']}, spread in "
            f"[{o['spread'][0]}, {o['spread'][1]}], high quality >= {100 * o['high_quality'][0]:.0f}%. "
            f"One torch thread per run, {jobs} run(s) at a time.")


def results(dataset: str, divergences=None, seeds: Sequence[int] = SEEDS, steps=None, jobs: int = 1,
            peer: bool = True, save=None) -> List[dict]:
    """Every divergence (and WGAN-GP when ``peer``) on ``dataset`` at every seed: the runs' metrics.
    ``save``: a JSON file the runs are written to (atomically) before anything is formatted."""
    divs = list(divergences or divergence_list())
    if peer:
        divs.append(("WGAN-GP", {}))
    todo = [(dataset, n, p, s, None if n == "WGAN-GP" else steps) for n, p in divs for s in seeds]
    runs = run_all(todo, jobs)
    if save is not None:
        from fdiv.core.files import atomic_write_json
        atomic_write_json(save, [{k: v for k, v in r.items() if isinstance(v, (int, float, str, dict, list,
                                                                              type(None)))} for r in runs])
    return runs


def table(dataset: str, runs: List[dict], jobs: int = 1) -> Table:
    """One row per run: the six figures and the targets it misses."""
    num_modes = len(fdiv.datasets.get_dataset(dataset).centers)
    t = Table(f"{dataset}: every divergence at the `fdiv train --dataset {dataset}` defaults, per seed",
              ["divergence", "seed", "modes", "two-sample acc.", "spread", "high quality", "mode KL", "wall s",
               "CPU s", "misses"])
    t.rows = [_row(r, num_modes) for r in runs]
    t.note = _note(num_modes, jobs) + " WGAN-GP is the peer row (bench/wgan_gp.py), not held to a target."
    return t


def _range(values: List[float], fmt: str) -> str:
    if not values:
        return "-"
    return f"{fmt.format(sum(values) / len(values))} ({fmt.format(min(values))} to {fmt.format(max(values))})"


def summary(dataset: str, runs: List[dict]) -> Table:
    """One row per divergence: mean (min to max) over its seeds of each figure, and the seeds that met
    every target."""
    num_modes = len(fdiv.datasets.get_dataset(dataset).centers)
    by: Dict[str, List[dict]] = {}
    for r in runs:
        by.setdefault(label(r), []).append(r)
    t = Table(f"{dataset}: mean (min to max) over the seeds",
              ["divergence", "seeds", "modes (min)", "two-sample acc.", "spread", "high quality", "mode KL",
               "CPU s", "seeds on target"])
    for name, rs in by.items():
        ok = [r for r in rs if r["status"] == "ok"]
        seeds = ",".join(str(r["seed"]) for r in rs)
        fig = lambda key, fmt, scale=1.0: _range([scale * r[key] for r in ok if r[key] is not None],  # noqa: E731
                                                 fmt)
        on = "-" if name == "WGAN-GP" else f"{sum(meets(r, num_modes) for r in rs)}/{len(rs)}"
        t.rows.append([name, seeds, f"{min((r['modes'] for r in ok), default=0)}/{num_modes}"
                       + ("" if len(ok) == len(rs) else f", {len(rs) - len(ok)} diverged"),
                       fig("two_sample_accuracy", "{:.3f}"), fig("spread", "{:.2f}"),
                       fig("high_quality", "{:.1f}%", 100.0), fig("reverse_kl", "{:.3f}"), fig("cpu", "{:.0f}"),
                       on])
    t.note = _note(num_modes, 1).rsplit(" One torch", 1)[0]
    return t
