"""Tests of fdiv.gan.training: determinism, bit-for-bit resume, divergence handling, options."""
from __future__ import annotations

import math

import pytest
import torch

import fdiv
from fdiv.gan.training import steps as S
from fdiv.gan.training import (TrainConfig, TrainingDiverged, fit_gaussian_vdm, load_checkpoint,
                               models_from_checkpoint, train)


TINY = dict(dataset="ring8", batch_size=32, model=dict(hidden=16, depth=1), eval_samples=200,
            log_every=5, progress=False, device="cpu")


def _params(m):
    return torch.cat([p.detach().reshape(-1) for p in m.parameters()])


def test_same_seed_same_run_and_different_seed_differs():
    a = train(divergence="gan", steps=20, seed=3, **TINY)
    b = train(divergence="gan", steps=20, seed=3, **TINY)
    assert a.history == b.history
    assert torch.equal(_params(a.generator), _params(b.generator))
    assert a.metrics["modes"] == b.metrics["modes"]
    c = train(divergence="gan", steps=20, seed=4, **TINY)
    assert a.history["loss_d"] != c.history["loss_d"]
    assert a.history["step"] == [5, 10, 15, 20]
    assert set(a.history) == {"step", "loss_d", "loss_g", "divergence_estimate"}
    assert {"modes", "high_quality", "reverse_kl", "seconds", "steps"} <= set(a.metrics)


@pytest.mark.parametrize("extra", [dict(divergence="kl", critic_steps=2),
                                   dict(divergence="gan", gradient_penalty=1.0, spectral_norm=True,
                                        lr_schedule="cosine"),
                                   dict(divergence="pearson", conditional=True, generator_loss="minimax"),
                                   dict(divergence="js", gradient_penalty=1.0, penalty_end=0.0, critic_steps=2)])
def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(tmp_path, extra):
    full = train(steps=24, seed=1, **TINY, **extra)

    class Interrupt(Exception):
        pass

    def stop_at_15(step, logs):
        if step == 15:
            raise Interrupt

    # an interrupted run: its last checkpoint is at step 14, between two history entries (log_every=5)
    with pytest.raises(Interrupt):
        train(steps=24, seed=1, out=tmp_path / "a", checkpoint_every=7, callback=stop_at_15, **TINY, **extra)
    assert load_checkpoint(tmp_path / "a")["step"] == 14
    res = train(steps=24, seed=1, resume=tmp_path / "a" / "checkpoint.pt", out=tmp_path / "b", **TINY, **extra)
    assert res.history == full.history
    assert torch.equal(_params(res.generator), _params(full.generator))
    assert torch.equal(_params(res.critic), _params(full.critic))
    assert res.metrics["modes"] == full.metrics["modes"]
    # without a config: everything comes from the checkpoint
    res2 = train(resume=tmp_path / "a")
    assert res2.history == full.history
    # the finished run's checkpoint holds the final state and metrics
    ck = load_checkpoint(tmp_path / "b")
    assert ck["step"] == 24 and ck["metrics"]["modes"] == full.metrics["modes"]


def test_resume_validation(tmp_path):
    train(divergence="gan", steps=10, seed=0, out=tmp_path / "r", **TINY)
    with pytest.raises(ValueError, match="divergence"):
        train(divergence="kl", steps=20, seed=0, resume=tmp_path / "r", **TINY)
    with pytest.raises(ValueError, match="less than"):
        train(resume=tmp_path / "r", steps=5)
    with pytest.raises(ValueError, match="does not exist"):
        train(resume=tmp_path / "nope")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not an fdiv checkpoint"):
        train(resume=tmp_path / "junk.pt")
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an fdiv checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_nan_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real = S.critic_objective
    calls = {"n": 0}

    def poisoned(d, v_real, v_fake):
        calls["n"] += 1
        J = real(d, v_real, v_fake)
        return J * float("nan") if calls["n"] == 17 else J

    monkeypatch.setattr(S, "critic_objective", poisoned)
    with pytest.raises(TrainingDiverged) as e:
        train(divergence="gan", steps=40, seed=0, out=tmp_path, checkpoint_every=10, critic_steps=1, **TINY)
    assert e.value.step == 17 and "step 17" in str(e.value)
    assert str(tmp_path / "checkpoint.pt") in str(e.value)
    ck = load_checkpoint(tmp_path)
    assert ck["step"] == 10
    assert all(torch.isfinite(v).all() for v in ck["generator"].values())
    assert not list(tmp_path.glob(".fdiv-tmp-*"))  # no temporary files left behind
    # the kept checkpoint is the clean run's step-10 checkpoint: resuming it (unpoisoned) works
    monkeypatch.setattr(S, "critic_objective", real)
    res = train(resume=tmp_path, steps=12, progress=False)
    assert res.history["step"][-1] == 12


def test_huge_learning_rate_divergence_is_reported():
    with pytest.raises(FloatingPointError, match=r"step \d+"):
        train(divergence="kl", steps=200, seed=0, lr_d=1e6, lr_g=1e6, betas=(0.0, 0.0),
              **{**TINY, "model": dict(hidden=16, depth=1)})


def test_config_validation():
    with pytest.raises(ValueError) as e:
        train(divergence="klx", steps=5, **TINY)
    assert "kl" in str(e.value) and "gan" in str(e.value)
    with pytest.raises(ValueError, match="ring8"):
        train(divergence="gan", steps=5, **{**TINY, "dataset": "ring9"})
    for bad in (dict(steps=-1), dict(batch_size=0), dict(lr_g=0.0), dict(critic_steps=1.5),
                dict(generator_loss="x"), dict(lr_schedule="linear"), dict(gradient_penalty=-1.0), dict(penalty_end=1.5),
                dict(device="tpu"), dict(betas=(1.0, 0.5))):
        with pytest.raises(ValueError):
            train(divergence="gan", **{**TINY, "steps": 5, **bad})
    with pytest.raises(ValueError, match="unknown training option"):
        train(divergence="gan", stepz=3, **TINY)
    with pytest.raises(ValueError, match="no labels"):
        train(divergence="gan", steps=2, conditional=True, **{**TINY, "dataset": "x"})


@pytest.mark.parametrize("end", [None, 1.0, 0.25, 0.0])
def test_the_penalty_follows_a_cosine_from_gamma_down_to_its_end(monkeypatch, end):
    """penalty_end = e: the critic's penalty weight at step t is gamma (e + (1 - e)(1 + cos(pi t / T)) / 2),
    the same for every critic step of a generator step; None (the default) and 1 keep gamma."""
    import math
    from fdiv.gan.training import loop
    seen = []

    def recording(*a, penalty, **k):
        seen.append(penalty)
        return S.critic_step(*a, penalty=penalty, **k)

    monkeypatch.setattr(loop, "critic_step", recording)
    train(divergence="gan", steps=4, critic_steps=2, gradient_penalty=2.0, penalty_end=end, seed=0, **TINY)
    e = 1.0 if end is None else end
    want = [2.0 * (e + (1 - e) * (1 + math.cos(math.pi * t / 4)) / 2) for t in (1, 2, 3, 4) for _ in (0, 1)]
    assert seen == pytest.approx(want, rel=1e-12)
    assert seen[-1] == pytest.approx(2.0 * e) and seen[0] <= 2.0


def test_resolved_defaults():
    from fdiv.datasets import Grid25
    from fdiv.gan.training.recipes import RECIPES
    c = TrainConfig(dataset="grid25").resolved()
    assert c.steps == Grid25.train_defaults["steps"] == 5000
    assert c.batch_size == Grid25.train_defaults["batch_size"] == 256
    assert c.ema == 0.999 and TrainConfig(dataset="ring8").resolved().ema == 0.99
    # ring8's pearson takes grid25's longer average (the recipe docstring)
    assert TrainConfig(dataset="ring8", divergence="pearson").resolved().ema == 0.999
    # grid25's per-divergence entries (the recipe docstring's measured tables): output noise, R1, steps
    for name, noise, gamma, steps in (("js", 0.0425, 0.1, 6000), ("squared_hellinger", 0.0425, 0.1, 7000),
                                      ("kl", 0.035, 1.0, 5000), ("neyman", 0.035, 1.0, 6000),
                                      ("jeffrey", 0.035, 1.0, 4000), ("triangular", 0.035, 0.1, 5000),
                                      ("pearson", 0.04, 1.0, 5000), ("total_variation", 0.04, 1.0, 4000),
                                      ("ag", 0.0375, 0.25, 4000)):
        d = TrainConfig(dataset="grid25", divergence=name).resolved()
        assert (d.model["output_noise"], d.gradient_penalty, d.steps) == (noise, gamma, steps), name
        assert d.model["mixture_scale"] == 0.03 and d.model["latent_mixture"] == 200, name
        assert d.critic_steps == (2 if name == "total_variation" else 1), name
        assert d.penalty_end == (0.0 if name in ("js", "squared_hellinger", "neyman") else None), name
    assert c.model["latent_mixture"] == 200 and c.model["learn_weights"]
    assert c.lr_g == RECIPES[("grid25", "*")]["lr_g"] and c.gradient_penalty == 0.1
    assert TrainConfig.from_dict(c.to_dict()) == c


def test_recipes_name_registered_divergences_and_stack_under_the_user():
    """The recipe table: (dataset, "*") for every divergence, (dataset, name) on top, the user last."""
    from fdiv.gan.training.recipes import RECIPE_FIELDS, RECIPES
    for (ds, name), entry in RECIPES.items():
        assert ds in fdiv.datasets.dataset_names() and (name == "*" or name in fdiv.names()), (ds, name)
        assert set(entry) <= set(RECIPE_FIELDS)
    kl = TrainConfig(divergence="kl", dataset="ring8").resolved()
    assert (kl.gradient_penalty, kl.steps, kl.lr_d, kl.lr_g) == (1.0, 3000, 4e-3, 1e-3)
    assert kl.model["latent_mixture"] == 50
    gan = TrainConfig(divergence="gan", dataset="ring8").resolved()
    assert (gan.gradient_penalty, gan.steps, gan.lr_d, gan.critic_steps) == (0.0, 4000, 4e-3, 1)
    mine = TrainConfig(divergence="kl", dataset="ring8", gradient_penalty=0.0, steps=10).resolved()
    assert (mine.gradient_penalty, mine.steps, mine.lr_d) == (0.0, 10, 4e-3)


def test_fdiv_train_convenience_snapshots_and_callback():
    seen = []
    res = fdiv.train(divergence="js", steps=10, seed=0, snapshot_every=5, snapshot_n=50,
                     callback=lambda step, logs: seen.append((step, logs["divergence_estimate"])), **TINY)
    assert [s for s, _ in res.snapshots] == [0, 5, 10]
    assert res.snapshots[0][1].shape == (50, 2)
    assert [s for s, _ in seen] == [5, 10]
    assert [v for _, v in seen] == res.history["divergence_estimate"]
    x = res.sample(30, seed=1)
    assert x.shape == (30, 2) and torch.equal(x, res.sample(30, seed=1))


def test_custom_linear_critic():
    D = fdiv.gan.models.MLPCritic(2, 8, depth=0)
    res = train(divergence="gan", steps=5, seed=0, critic=D, **{**TINY, "dataset": "x"})
    assert res.critic is D and "mean_log_density" in res.metrics


def test_training_learns_the_ring():
    """A short real run: the samples move from the origin onto the unit circle."""
    def ring_error(x):
        return float((x.norm(dim=1) - 1).abs().mean())

    res = train(divergence="gan", dataset="ring8", steps=400, seed=0, eval_samples=1000,
                snapshot_every=400, snapshot_n=1000, progress=False, device="cpu")  # ring8 defaults otherwise
    before, after = ring_error(res.snapshots[0][1]), ring_error(res.snapshots[-1][1])
    assert before > 0.5 and after < 0.15, (before, after)
    assert res.metrics["modes"] >= 4
    assert res.history["divergence_estimate"][-1] > -2 * math.log(2) - 0.5  # near -log 4 at equilibrium


def test_fit_gaussian_vdm_moves_towards_the_data():
    from fdiv.core.estimate import GaussianFit
    fit = fit_gaussian_vdm("kl", steps=150, seed=0, batch_size=256)
    P = fdiv.datasets.get_dataset("mixture1d").distribution
    # KL(P||Q) is minimised by moment matching: the fit starts there and must stay close
    assert isinstance(fit, GaussianFit)  # the one Gaussian-fit result type (also fit_gaussian_exact's)
    assert fit.mu == pytest.approx(float(P.mean), abs=0.4)
    assert fit.sigma == pytest.approx(float(P.stddev), rel=0.25)
    assert math.isfinite(fit.value)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_and_amp(tmp_path):
    res = train(divergence="gan", steps=20, seed=0, out=tmp_path, **{**TINY, "device": "cuda"})
    assert next(res.generator.parameters()).is_cuda
    res2 = train(divergence="gan", steps=20, seed=0, **{**TINY, "device": "cuda"})
    for k in res.history:  # same seed on the GPU: the same run up to floating-point reassociation
        assert res.history[k] == pytest.approx(res2.history[k], rel=1e-4, abs=1e-5)
    res3 = train(divergence="gan", steps=20, seed=0, amp=True, **{**TINY, "device": "cuda"})
    assert all(math.isfinite(v) for v in res3.history["loss_d"])
    G, D, cfg = models_from_checkpoint(tmp_path / "checkpoint.pt", device="cuda")
    assert next(G.parameters()).is_cuda


def test_the_recipes_mixture_options_are_the_generators():
    """recipes.MIXTURE_OPTIONS (torch-free) = latent_dim + the generator's mixture-latent arguments."""
    from fdiv.gan.training import recipes
    assert recipes.MIXTURE_OPTIONS == ("latent_dim", *fdiv.gan.models.MIXTURE_OPTIONS)


def test_toy_mixtures_default_to_a_mixture_latent_and_checkpoints_keep_the_choice(tmp_path):
    grid = TrainConfig(dataset="grid25").resolved().model
    assert grid["latent_mixture"] == 200 and grid["latent_dim"] == 19 and grid["learn_weights"] is True
    assert grid["output_noise"] == 0.04 and grid["mixture_scale"] == 0.03
    ring = TrainConfig(dataset="ring8").resolved().model
    assert ring["latent_mixture"] == 50 and ring["latent_dim"] == 19 and ring["learn_weights"] is True
    assert ring["output_noise"] == 0.009 and ring["mixture_scale"] == 0.03
    # a plain latent drops the whole mixture latent, its learned weights included
    assert TrainConfig(dataset="ring8", model=dict(latent_mixture=0)).resolved().model == dict(latent_mixture=0)
    assert "latent_mixture" not in TrainConfig(dataset="x").resolved().model
    # a user's choice wins over the default (a plain Gaussian latent, as in chapter 5's comparison)
    plain = TrainConfig(dataset="ring8", model=dict(latent_mixture=0, latent_dim=2)).resolved()
    assert plain.model["latent_mixture"] == 0 and plain.model["latent_dim"] == 2
    only_k = TrainConfig(dataset="grid25", model=dict(latent_mixture=0, hidden=32)).resolved().model
    assert only_k == dict(latent_mixture=0, hidden=32)          # the plain latent keeps the 2-D default
    assert TrainConfig(dataset="grid25", model=dict(latent_mixture=20)).resolved().model["latent_dim"] == 19
    res = train(divergence="gan", steps=3, seed=0, out=tmp_path / "m", **TINY)
    assert res.generator.latent_mixture == 50
    G, _, cfg = models_from_checkpoint(tmp_path / "m" / "checkpoint.pt")
    assert G.latent_mixture == 50 and torch.equal(G.mixture_means, res.generator.mixture_means)
    assert torch.equal(G.mixture_weights, res.generator.mixture_weights)   # learned: saved with the weights
    assert torch.equal(fdiv.gan.models.generate(G, 50, seed=3), res.sample(50, seed=3))
    res = train(divergence="gan", steps=3, seed=0, out=tmp_path / "p",
                **{**TINY, "model": dict(hidden=16, depth=1, latent_mixture=0, latent_dim=2)})
    G, _, _ = models_from_checkpoint(tmp_path / "p")
    assert G.latent_mixture == 0 and G.latent_dim == 2
