"""The shared value checkers (fdiv.core.checks) and atomic writes (fdiv.core.files), and that every
entry point accepts NumPy integers alike."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fdiv.core.checks import check_choice, check_int, check_number
from fdiv.core.files import atomic_write, atomic_write_text, remove_stale_temporaries


def test_check_int_accepts_numpy_integers_and_rejects_bools_and_floats():
    assert check_int("n", np.int64(3), 1) == 3 and type(check_int("n", np.uint8(3), 1)) is int
    for bad in (True, 2.0, "3", 0, None):
        with pytest.raises(ValueError, match="n must be an integer >= 1, got"):
            check_int("n", bad, 1)
    with pytest.raises(ValueError, match=r"seed must be an integer in 0\.\.9, got 10"):
        check_int("seed", 10, 0, 9)


def test_check_number_bounds_and_non_finite():
    assert check_number("lr", np.float32(0.5), 0.0, open_min=True) == 0.5
    for bad in (0.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            check_number("lr", bad, 0.0, open_min=True)
    with pytest.raises(ValueError, match=r"ema must be a finite number >= 0 and < 1, got 1"):
        check_number("ema", 1, 0.0, 1.0, open_max=True)


def test_check_choice_suggests_the_closest_name():
    assert check_choice("dataset", "ring8", ("ring8", "grid25")) == "ring8"
    with pytest.raises(ValueError, match=r"unknown dataset 'grid52'; did you mean 'grid25'\? \(allowed: ring8, grid25\)"):
        check_choice("dataset", "grid52", ("ring8", "grid25"))
    with pytest.raises(ValueError) as e:
        check_choice("dataset", "zzz", ("ring8", "grid25"))
    assert "did you mean" not in str(e.value)


def test_numpy_integers_are_accepted_everywhere():
    from fdiv.datasets import get_dataset
    from fdiv.gan.models import MLPGenerator, generate
    from fdiv.gan.training import TrainConfig
    from fdiv.core.runtime import seed_everything
    c = TrainConfig(dataset="ring8", steps=np.int64(5), batch_size=np.int32(8), seed=np.uint64(2)).resolved()
    assert (c.steps, c.batch_size, c.seed) == (5, 8, 2) and type(c.steps) is int
    assert get_dataset("ring8").sample(np.int64(4)).shape == (4, 2)
    assert generate(MLPGenerator(hidden=np.int64(8), depth=1), np.int64(6)).shape == (6, 2)
    seed_everything(np.int64(3))
    G = MLPGenerator(hidden=8, depth=1, num_classes=3)
    assert generate(G, 4, labels=np.int64(2)).shape == (4, 2)


def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path):
    p = tmp_path / ("x" * 250 + ".txt")  # a legal long name stays legal: the temporary name is short
    atomic_write_text(p, "old")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(p, fail)
    assert p.read_text() == "old" and sorted(q.name for q in tmp_path.iterdir()) == [p.name]
    (tmp_path / "d.npy").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "d.npy", lambda tmp: np.save(tmp, np.zeros(2)))
    assert sorted(q.name for q in tmp_path.iterdir()) == ["d.npy", p.name]
    stale = tmp_path / ".fdiv-tmp-1-abcd.pt"
    stale.write_bytes(b"")
    (tmp_path / ".hidden-but-mine").write_text("keep")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert (tmp_path / ".hidden-but-mine").exists()


def test_checkpoint_files_are_written_atomically_and_checked_on_load(tmp_path):
    from fdiv.gan.training.checkpoint import load_checkpoint, save_checkpoint
    save_checkpoint({"x": torch.zeros(1)}, tmp_path / "c.pt")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["c.pt"]  # no temporary file left
    with pytest.raises(ValueError, match="incomplete fdiv checkpoint: it lacks config, dataset_spec"):
        load_checkpoint(tmp_path / "c.pt")
