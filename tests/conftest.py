"""Shared pytest set-up for the fdiv test suite.

* Exercise markers ``ex<chapter>_<number>`` (``pytest -m ex3_2`` runs exercise 3.2's tests)
  are registered here, so marking a test ``@pytest.mark.ex3_2`` needs no other set-up.
* Tests run with ``torch.set_num_threads(1)``-sized work in mind: the CI machine has 2 cores.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Chapters 1..13, up to 20 exercises each.
EXERCISE_MARKERS = [f"ex{c}_{n}" for c in range(1, 14) for n in range(1, 21)]


def pytest_configure(config: pytest.Config) -> None:
    for name in EXERCISE_MARKERS:
        config.addinivalue_line("markers", f"{name}: tests of exercise {name[2:].replace('_', '.')}")
    # Library tests train tiny networks: one thread is fastest, and two threads on a busy 2-core
    # machine were measured 10-15x slower. (Tests that need more set it themselves.)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where pyproject.toml, _config.yml and _toc.yml are)."""
    return ROOT
