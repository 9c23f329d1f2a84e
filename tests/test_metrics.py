"""Tests of fdiv.evaluation.modes.mode_metrics (the PacGAN definitions) on hand-made point sets."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fdiv.datasets import get_dataset
from fdiv.core.estimate import kl_to_uniform
from fdiv.evaluation import evaluate
from fdiv.evaluation.modes import mode_metrics
from fdiv.gan.models import evaluate_generator


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_perfect_balanced_samples(name):
    ds = get_dataset(name)
    K = len(ds.centers)
    x = ds.centers.repeat(10, 1) + 0.5 * ds.std  # each point 0.7 std from its centre
    m = mode_metrics(x, ds)
    assert m == {"modes": K, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}


def test_collapsed_generator():
    ds = get_dataset("ring8")
    x = ds.centers[3].repeat(2500, 1)
    m = mode_metrics(x, ds)
    assert m["modes"] == 1 and m["high_quality"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(8))


def test_outliers_are_low_quality_but_count_in_the_histogram():
    ds = get_dataset("ring8")
    c = ds.centers
    good = torch.cat([c[0].repeat(30, 1), c[1].repeat(10, 1)])
    # 60 points at 5 std from centre 2 (beyond 3 std: low quality, yet nearest to centre 2)
    bad = c[2] + torch.tensor([5 * ds.std, 0.0])
    x = torch.cat([good, bad.repeat(60, 1)])
    m = mode_metrics(x, ds)
    assert m["modes"] == 2  # centre 2 has no high-quality point
    assert m["high_quality"] == pytest.approx(0.4)
    h = np.array([0.3, 0.1, 0.6])
    assert m["reverse_kl"] == pytest.approx(float((h * np.log(h * 8)).sum()))


def test_threshold_is_three_std():
    ds = get_dataset("grid25")
    c = ds.centers[0]
    inside = c + torch.tensor([2.99 * ds.std, 0.0])
    outside = c + torch.tensor([3.01 * ds.std, 0.0])
    assert mode_metrics(inside[None], ds)["high_quality"] == 1.0
    assert mode_metrics(outside[None], ds) == {"modes": 0, "high_quality": 0.0,
                                                "reverse_kl": pytest.approx(math.log(25))}


def test_real_data_scores_like_the_definition_says():
    ds = get_dataset("grid25")
    x = ds.sample(2500, torch.Generator().manual_seed(0))
    m = mode_metrics(x.numpy(), ds)  # numpy input accepted
    assert m["modes"] == 25
    assert m["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.006)
    assert m["reverse_kl"] < 0.01


def test_bad_input():
    ds = get_dataset("ring8")
    with pytest.raises(ValueError, match="shape"):
        mode_metrics(torch.zeros(10, 3), ds)
    with pytest.raises(ValueError, match="centres"):
        mode_metrics(torch.zeros(10, 2), get_dataset("x"))
    nan = torch.full((4, 2), float("nan"))
    m = mode_metrics(torch.cat([nan, ds.centers[:4]]), ds)
    assert m["modes"] == 4 and m["high_quality"] == 0.5


def test_evaluate_dispatch():
    from fdiv.gan.models import MLPGenerator

    class AtCentre(torch.nn.Module):
        latent_dim, num_classes = 2, 0

        def forward(self, z, y=None):
            return get_dataset("ring8").centers[torch.arange(len(z)) % 8] + 0.0 * z

    m = evaluate_generator("ring8", AtCentre(), n=800)
    assert m["modes"] == 8 and m["high_quality"] == 1.0 and m["num_modes"] == 8
    torch.manual_seed(0)
    m = evaluate_generator("x", MLPGenerator(2, 2, 8, 1), n=300)
    assert evaluate("x", torch.zeros(5, 2))["mean"] == [0.0, 0.0]
    assert {"mean_log_density", "data_mean_log_density", "mean", "std"} <= set(m)


def test_kl_to_uniform_matches_the_closed_form():
    assert kl_to_uniform([5, 5, 5, 5]) == 0.0
    assert math.isclose(kl_to_uniform([1, 0, 0, 0]), math.log(4), rel_tol=1e-12)
    h = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    assert math.isclose(kl_to_uniform(h), float((h * torch.log(3 * h)).sum()), rel_tol=1e-12)
