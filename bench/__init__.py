"""fdiv benchmarks (not tests): ``python -m bench [--quick]`` prints markdown tables.

* :mod:`bench.overhead` -- steps/s of ``fdiv.gan.training.train`` divided by a hand-written PyTorch loop with
  the same networks, optimisers and batch, in the same process (target >= 0.95);
* :mod:`bench.toys`     -- ring8 / grid25 with every divergence at the ``fdiv train`` defaults:
  modes / high quality / reverse KL / seconds (targets 8/8 and 25/25, >= 98% and >= 95%, <= 0.03, <= 60 s);
* :mod:`bench.gaussian` -- the f-GAN paper's single-Gaussian fit: VDM training vs the exact minimiser;
* :mod:`bench.images`   -- the conditional DC-GAN on digits: ``overhead_rows(quick)`` for the overhead
  table and ``tables(quick)`` (class accuracy, Frechet distance, seconds);
* :mod:`bench.cuda`     -- the conditional DC-GAN on one GPU: ``fdiv train`` against the hand-written loop,
  fp32 and bf16 (``--precision bf16``); one line saying so on a machine without CUDA.

Timings depend on the machine's load: report them with the machine and its load.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

__all__ = ["Table", "markdown", "fmt"]


@dataclass
class Table:
    title: str
    columns: List[str]
    rows: List[Sequence] = field(default_factory=list)
    note: str = ""


def fmt(v, digits: int = 3) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 1000 or (abs(v) < 1e-3 and v != 0):
            return f"{v:.3g}"
        return f"{v:.{digits}f}"
    return str(v)


def markdown(t: Table) -> str:
    lines = [f"### {t.title}", "", "| " + " | ".join(t.columns) + " |",
             "|" + "|".join("---" for _ in t.columns) + "|"]
    for r in t.rows:
        lines.append("| " + " | ".join(fmt(v) for v in r) + " |")
    if t.note:
        lines += ["", t.note]
    return "\n".join(lines) + "\n"
