"""Tests of fdiv.evaluation.twosample on hand-made point sets.

Thresholds.  With 2,500 generated and 2,500 data points the classifier test's accuracy has standard
error sqrt(0.25 / 5000) = 0.0071 under the null (equal distributions), so

* a sampler of the true mixture must score <= 0.5 + 4 se = 0.528 (a false alarm is a 4-sigma event);
* a wrong sampler is "caught" at >= 0.535 (5 se above chance); the wrong samplers below score
  0.546-0.61, at least 1.5 se above their threshold (too narrow: ring8 0.573, grid25 0.546; a
  missing ring8 mode: 0.542; weights 3:1: 0.61 / 0.60).
* spread: for the true mixture the pooled spread has relative noise about 1/sqrt(n) in r^2, i.e. 0.01
  in the spread; 25% too narrow gives 0.74, so < 0.85 and [0.95, 1.05] are > 5 sd from either.
* mode-histogram KL: for K equal modes 2n KL is about chi^2_{K-1} (mean (K-1)/2n = 0.0048 for grid25,
  sd 0.0014); a missing grid25 mode gives log(25/24) = 0.041, weights 3:1 give 0.13, so > 0.02 is safe.
A missing grid25 mode (4% of the mass) is below what the classifier can see at this n (Bayes accuracy
0.52); it is caught by the mode count and the histogram KL instead.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from fdiv.datasets import get_dataset
from fdiv.evaluation import evaluate
from fdiv.evaluation.twosample import (HIGH_QUALITY_IDEAL, caption, classifier_two_sample_test, mode_shape, report,
                                       two_sample_metrics)

N = 2500
SE = math.sqrt(0.25 / (2 * N))
FLOOR_MAX = 0.5 + 4 * SE
CAUGHT = 0.5 + 5 * SE


def mixture(name, n=N, seed=7, scale=1.0, weights=None):
    """n points of the dataset's mixture with std scaled by ``scale`` and component ``weights``."""
    ds = get_dataset(name)
    g = torch.Generator().manual_seed(seed)
    w = torch.ones(len(ds.centers)) if weights is None else torch.as_tensor(weights, dtype=torch.float)
    k = torch.multinomial(w, n, replacement=True, generator=g)
    return ds.centers[k] + scale * ds.std * torch.randn(n, 2, generator=g)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_true_mixture_scores_at_the_floor(name):
    m = evaluate(name, mixture(name), seed=0)
    assert abs(m["two_sample_accuracy"] - 0.5) < 4 * SE
    assert abs(m["two_sample_floor"] - 0.5) < 4 * SE
    assert m["two_sample_stderr"] == pytest.approx(SE, rel=0.01)
    assert 0.97 < m["spread"] < 1.03 and m["spread_min"] > 0.8 and m["spread_max"] < 1.2
    assert m["mean_offset"] < 3 * m["data_mean_offset"] + 0.1
    assert m["high_quality_ideal"] == pytest.approx(1 - math.exp(-4.5)) == HIGH_QUALITY_IDEAL
    assert abs(m["high_quality"] - HIGH_QUALITY_IDEAL) < 0.006


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_too_narrow_is_caught(name):
    m = evaluate(name, mixture(name, scale=0.75), seed=0)
    assert m["two_sample_accuracy"] > CAUGHT
    assert m["spread"] == pytest.approx(0.75, abs=0.03) and m["spread_max"] < 0.85
    assert m["high_quality"] > 0.999 > HIGH_QUALITY_IDEAL  # "better than perfect" = too narrow
    assert m["modes"] == len(get_dataset(name).centers)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_missing_mode_is_caught(name):
    K = len(get_dataset(name).centers)
    m = evaluate(name, mixture(name, weights=[0.0] + [1.0] * (K - 1)), seed=0)
    assert m["modes"] == K - 1 and m["reverse_kl"] > 0.02
    assert m["offset_per_mode"][0] is None and m["spread_per_mode"][0] is None
    if name == "ring8":  # 1/8 of the mass: the classifier sees it too
        assert m["two_sample_accuracy"] > CAUGHT


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_unequal_weights_are_caught(name):
    K = len(get_dataset(name).centers)
    w = [3.0, 1.0] * (K // 2) + [1.0] * (K % 2)
    m = evaluate(name, mixture(name, weights=w), seed=0)
    assert m["two_sample_accuracy"] > 0.55 > CAUGHT
    assert m["reverse_kl"] > 0.05
    assert 0.95 < m["spread"] < 1.05  # the shape of each mode is right; only the weights are wrong


def test_collapsed_to_centres_is_caught():
    ds = get_dataset("ring8")
    x = ds.centers[torch.arange(N) % 8]
    m = evaluate("ring8", x, seed=0)
    assert m["modes"] == 8 and m["high_quality"] == 1.0  # the PacGAN metrics cannot tell
    assert m["two_sample_accuracy"] > 0.9 and m["spread"] == 0.0 and m["mean_offset"] == 0.0


def test_shifted_modes_show_their_offset():
    ds = get_dataset("grid25")
    x = mixture("grid25", n=25 * 400) + torch.tensor([0.5 * ds.std, 0.0])
    m = mode_shape(x, ds.centers, ds.std)
    offsets = np.array(m["offset_per_mode"])
    assert np.all(np.abs(offsets - 0.5) < 0.2) and m["mean_offset"] == offsets.max()


def test_spread_and_offset_of_exact_points():
    ds = get_dataset("ring8")
    s = ds.std
    ring = torch.tensor([[s, 0.0], [-s, 0.0], [0.0, s], [0.0, -s]], dtype=torch.float64)
    x = (ds.centers.double()[:, None, :] + ring).reshape(-1, 2)
    m = mode_shape(x, ds.centers, s)
    # every point at distance std; the data's RMS distance is sqrt(2) std (truncation at 6 std: 3e-7)
    assert m["spread"] == pytest.approx(1 / math.sqrt(2), rel=1e-6)
    assert m["spread_min"] == pytest.approx(m["spread_max"], rel=1e-9)
    assert m["mean_offset"] == pytest.approx(0.0, abs=1e-9)
    far = torch.cat([x, ds.centers[:1].double() + torch.tensor([[7 * s, 0.0]], dtype=torch.float64)])  # beyond 6 std: left out
    assert mode_shape(far, ds.centers, s)["spread"] == pytest.approx(m["spread"], rel=1e-12)


def test_classifier_test_on_separated_and_non_finite_points():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(300, 2, generator=g), torch.randn(300, 2, generator=g) + 10.0
    assert classifier_two_sample_test(a, b)["accuracy"] == 1.0
    bad = torch.cat([torch.full((100, 2), float("nan")), a[:200]])
    r = classifier_two_sample_test(bad, a[100:] + 0.0)
    assert r["n"] == 500 and r["accuracy"] >= 100 / 500  # non-finite points count as told apart
    assert classifier_two_sample_test(torch.full((5, 2), float("inf")), a)["accuracy"] is None
    # 1-D input of shape (n,) is accepted
    assert 0.4 < classifier_two_sample_test(a[:, 0], torch.randn(300, generator=g))["accuracy"] < 0.6


def test_bad_input_names_the_problem():
    a = torch.zeros(10, 2)
    with pytest.raises(ValueError, match="dimension 3"):
        classifier_two_sample_test(torch.zeros(10, 3), a)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        classifier_two_sample_test(a, a, k=0)
    with pytest.raises(ValueError, match="folds"):
        classifier_two_sample_test(a, a, folds=1)
    with pytest.raises(ValueError, match="shape"):
        classifier_two_sample_test(torch.zeros(0, 2), a)


def test_deterministic_fast_and_on_every_toy_set():
    x = mixture("ring8", seed=3, scale=0.9)
    evaluate("ring8", x, seed=0)  # warm the imports
    t = time.process_time()
    m1 = two_sample_metrics("ring8", x, seed=0)
    assert time.process_time() - t < 2.0
    assert two_sample_metrics("ring8", x, seed=0) == m1
    assert two_sample_metrics("ring8", x, seed=1)["two_sample_floor"] != m1["two_sample_floor"]
    for name in ("x", "mixture1d"):
        ds = get_dataset(name)
        real = ds.sample(1000, torch.Generator().manual_seed(11))
        m = evaluate(name, real, seed=0)
        assert abs(m["two_sample_accuracy"] - 0.5) < 4 * math.sqrt(0.25 / 2000)
        assert "spread" not in m
        m = evaluate(name, real + 0.5, seed=0)  # shifted by 0.5 (one std of mixture1d's components)
        assert m["two_sample_accuracy"] > 0.6


def test_report_and_caption_show_each_figure_beside_the_perfect_sampler():
    ds = get_dataset("ring8")
    x = ds.sample(2500, torch.Generator().manual_seed(11))
    m = evaluate(ds, x)
    text = report(m)
    lines = text.splitlines()
    assert lines[0] == "two-sample metrics (2500 generated vs 2500 fresh data points)"
    for label in ("classifier accuracy", "spread", "mean offset (worst)", "high quality", "modes",
                  "mode-histogram KL"):
        assert any(line.strip().startswith(label) for line in lines), label
    acc_line = next(line for line in lines if "classifier accuracy" in line)
    assert f"{m['two_sample_accuracy']:.3f} +- {m['two_sample_stderr']:.3f}" in acc_line
    assert f"{m['two_sample_floor']:.3f}" in acc_line
    assert "98.9%" in next(line for line in lines if "high quality" in line)
    cap = caption(m)
    assert cap.startswith(f"two-sample acc. {m['two_sample_accuracy']:.3f}") and "ideal 98.9%" in cap
    # no two-sample figures (images), or too few points to test: nothing to show
    assert report({"modes": 8}) == "" and caption({}) == ""
    assert report({"two_sample_accuracy": None}) == ""
