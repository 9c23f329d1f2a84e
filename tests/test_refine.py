"""Refinement by the critic (fdiv.gan.refine): the density ratio read off a witness, rejection sampling
with it, and a critic fitted to a finished generator (chapters 4, 5, 12)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import fdiv
from fdiv.gan import refine

STRICT = [d for d in fdiv.every(alphas=(0.5, 2.0)) if d.name != "total_variation"]


@pytest.mark.parametrize("d", STRICT, ids=lambda d: d.tag)
def test_the_ratio_inverts_the_optimal_witness(d):
    """T* = f'(u) gives back log u, for u from e^-6 to e^6 (f' strictly increasing)."""
    s = torch.linspace(-6, 6, 49, dtype=torch.float64)
    t = d.f_prime(torch.exp(s))
    assert torch.allclose(refine.log_ratio_of_witness(d, t), s, atol=1e-6)


def test_gan_closed_form_agrees_with_the_bisection_and_nan_passes_through():
    gan = fdiv.get("gan")
    v = torch.linspace(-20, 20, 41)
    assert torch.equal(refine.log_density_ratio(gan, v), v)
    assert torch.allclose(refine.log_ratio_of_witness(gan, gan.activation(v.double())).float(), v, atol=1e-4)
    for d in (gan, fdiv.get("kl"), fdiv.get("total_variation")):
        out = refine.log_density_ratio(d, torch.tensor([float("nan"), 0.0]))
        assert torch.isnan(out[0]) and torch.isfinite(out[1])


def test_witnesses_outside_the_range_of_f_prime_are_clamped():
    kl = fdiv.get("kl")  # f'(u) = 1 + log u
    out = refine.log_ratio_of_witness(kl, torch.tensor([-1e6, 1e6]))
    assert out.tolist() == pytest.approx(list(refine.LOG_RATIO_RANGE), abs=1e-9)


class _Identity(nn.Module):
    """x = z ~ N(0, 1): the generator of P_theta = N(0, 1)."""
    latent_dim, out_shape = 1, (1,)

    def forward(self, z, y=None):
        return z


class _ExactCritic(nn.Module):
    """A critic whose witness is exactly T* = f'(p / q) for p = N(mu, 1), q = N(0, 1): its raw output
    is ``v_of_log_r(log r)``."""

    def __init__(self, v_of_log_r, mu):
        super().__init__()
        self.v_of_log_r, self.mu = v_of_log_r, mu
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, y=None):
        log_r = self.mu * x.squeeze(-1) - self.mu ** 2 / 2   # log N(x; mu, 1) - log N(x; 0, 1)
        return self.v_of_log_r(log_r)


# gan: sigma_f(v) = -softplus(-v), f'(u) = log(u / (1 + u)), so v = log r;
# kl: sigma_f(v) = v, f'(u) = 1 + log u, so v = 1 + log r.
RAW_OUTPUT = {"gan": lambda s: s, "kl": lambda s: 1.0 + s}


@pytest.mark.parametrize("name", ["gan", "kl"])
def test_rejection_with_the_true_ratio_samples_the_data(name):
    """With r = p / q exact, the accepted points follow P = N(0.5, 1), not Q = N(0, 1)."""
    d = fdiv.get(name)
    critic = _ExactCritic(RAW_OUTPUT[name], 0.5)
    res = refine.rejection_sample(_Identity(), critic, d, 20_000, seed=0, quantile=1.0)
    x = res.samples.squeeze(-1)
    assert x.shape == (20_000,)
    assert x.mean().item() == pytest.approx(0.5, abs=0.04)   # raw: 0 (se 0.007)
    assert x.std().item() == pytest.approx(1.0, abs=0.03)
    assert 0.05 < res.acceptance < 0.6 and res.drawn >= 20_000
    again = refine.rejection_sample(_Identity(), critic, d, 20_000, seed=0, quantile=1.0)
    assert torch.equal(again.samples, res.samples)   # same seed, same samples


class _RingWithJunk(nn.Module):
    """ring8's modes, but a third of the points in a blob at the origin (no data there)."""
    latent_dim, out_shape = 3, (2,)

    def __init__(self):
        super().__init__()
        self.centers = fdiv.datasets.get_dataset("ring8").centers
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z, y=None):
        k = (z[:, 0].abs() * 1000).long() % 8
        on_ring = self.centers[k] + 0.01 * z[:, 1:]
        junk = 0.05 * z[:, 1:]
        return torch.where((z[:, 0] > 0.43).unsqueeze(-1), junk, on_ring)   # P(z > 0.43) = 1/3


def test_a_critic_fitted_to_the_finished_generator_rejects_its_junk():
    torch.set_num_threads(1)
    ds = fdiv.datasets.get_dataset("ring8")
    G = _RingWithJunk()
    raw = fdiv.gan.models.generate(G, 4000, seed=1)
    near_origin = lambda x: (x.norm(dim=1) < 0.5).float().mean().item()
    assert near_origin(raw) == pytest.approx(1 / 3, abs=0.03)
    D = refine.fit_critic(fdiv.get("gan"), G, ds, steps=300, batch_size=256, seed=0)
    assert not D.training and all(p.requires_grad for p in G.parameters())
    res = refine.rejection_sample(G, D, fdiv.get("gan"), 4000, seed=1, quantile=0.99)
    assert near_origin(res.samples) < 0.05 and 0.5 < res.acceptance < 0.8


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="quantile"):
        refine.rejection_sample(_Identity(), _ExactCritic(RAW_OUTPUT["gan"], 0.5), fdiv.get("gan"), 10,
                                quantile=1.5)
    with pytest.raises(ValueError, match="steps"):
        refine.fit_critic(fdiv.get("gan"), _Identity(), fdiv.datasets.get_dataset("ring8"), steps=0)
