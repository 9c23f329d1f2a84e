"""The training film (fdiv.viz.animation): frames recorded through train's callback, one shared colour
scale centred at f'(1), and an animation a notebook can embed (to_jshtml)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import fdiv
from fdiv.gan.models import default_models
from fdiv.viz.animation import TrainingRecorder


@pytest.fixture(scope="module")
def film():
    torch.manual_seed(0)
    G, D = default_models("ring8", hidden=16)
    rec = TrainingRecorder(G, D, fdiv.get("gan"), "ring8", every=10, n=64, grid=12)
    fdiv.train(divergence="gan", dataset="ring8", steps=30, batch_size=32, generator=G, critic=D,
               callback=rec, seed=0, device="cpu", ema=0.0)
    return rec


def test_frames_follow_the_training(film):
    assert [f.step for f in film.frames] == [0, 10, 20, 30]
    assert all(f.samples.shape == (64, 2) and f.witness.shape == (12, 12) for f in film.frames)
    assert all(np.isfinite(f.witness).all() and (f.witness < 0).all() for f in film.frames)  # GAN: T < 0
    # the same noise in every frame: the points move because the generator learns
    assert not np.allclose(film.frames[0].samples, film.frames[-1].samples)
    assert not np.allclose(film.frames[0].witness, film.frames[-1].witness)


def test_the_animation_embeds_every_frame(film):
    anim = film.animation()
    html = anim.to_jshtml()
    assert html.count("data:image/png;base64") == len(film.frames)   # one embedded picture per frame
    im = anim._fig.axes[0].images[0]
    assert im.norm.vcenter == pytest.approx(fdiv.get("gan").f_prime_one)   # white = the witness of P = Q


def test_only_two_dimensional_data():
    G, D = default_models("mixture1d")
    with pytest.raises(ValueError, match="2-D data"):
        TrainingRecorder(G, D, fdiv.get("gan"), "mixture1d")
