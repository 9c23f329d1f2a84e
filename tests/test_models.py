"""Tests of fdiv.gan.models: the model contract, conditioning, default models, generate()."""
from __future__ import annotations

import pytest
import torch

from fdiv.datasets import get_dataset
from fdiv.gan.models import GaussianGenerator, MLPCritic, MLPGenerator, default_models, generate


def test_shapes_and_contract():
    G = MLPGenerator(latent_dim=3, out_dim=2, hidden=16, depth=2)
    D = MLPCritic(in_dim=2, hidden=16, depth=2)
    z = torch.randn(7, 3)
    x = G(z)
    assert x.shape == (7, 2) and G.latent_dim == 3 and G.num_classes == 0 and G.out_shape == (2,)
    assert D(x).shape == (7,) and D.num_classes == 0
    (D(x).sum()).backward()  # gradients flow back into the generator
    assert all(p.grad is not None for p in G.parameters())


def test_linear_critic_with_depth_zero():
    D = MLPCritic(2, hidden=16, depth=0)
    x = torch.randn(5, 2)
    W, b = D.net[0].weight, D.net[0].bias
    assert torch.allclose(D(x), (x @ W.T + b).squeeze(-1))


def test_conditional_models_use_the_label():
    torch.manual_seed(0)
    G = MLPGenerator(2, 2, 16, 2, num_classes=3)
    D = MLPCritic(2, 16, 2, num_classes=3)
    z = torch.randn(4, 2)
    y0, y1 = torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long)
    assert not torch.allclose(G(z, y0), G(z, y1))
    x = G(z, y0)
    assert not torch.allclose(D(x, y0), D(x, y1))
    with pytest.raises(ValueError, match="labels"):
        G(z)
    with pytest.raises(ValueError, match="0..2"):
        D(x, torch.full((4,), 3))


def test_spectral_norm_bounds_the_layers():
    torch.manual_seed(0)
    D = MLPCritic(2, 32, 2, spectral_norm=True)
    for _ in range(20):  # power iterations run in training mode
        D(torch.randn(8, 2))
    D.eval()
    for m in D.modules():
        if isinstance(m, torch.nn.Linear):
            assert float(torch.linalg.matrix_norm(m.weight.detach(), 2)) == pytest.approx(1.0, abs=0.05)


def test_gaussian_generator():
    G = GaussianGenerator(1, mean=1.5, log_scale=float(torch.log(torch.tensor(2.0))))
    x = generate(G, 20000, seed=0)
    assert x.shape == (20000, 1)
    assert float(x.mean()) == pytest.approx(1.5, abs=0.05)
    assert float(x.std()) == pytest.approx(2.0, rel=0.03)
    q = G.distribution()
    assert float(q.mean) == pytest.approx(1.5) and float(q.stddev) == pytest.approx(2.0)


def test_default_models_for_toys():
    for name in ("ring8", "grid25", "x", "mixture1d"):
        ds = get_dataset(name)
        G, D = default_models(ds)
        x = generate(G, 10, seed=0)
        assert x.shape == (10, ds.dim) and D(x).shape == (10,)
    G, D = default_models("ring8", hidden=32, depth=1, d_depth=0)
    assert isinstance(D.net[0], torch.nn.Linear) and len(D.net) == 1
    with pytest.raises(ValueError, match="no labels"):
        default_models("ring8", conditional=True)
    G, D = default_models(get_dataset("ring8", labelled=True), conditional=True)
    assert G.num_classes == D.num_classes == 8
    with pytest.raises(ValueError, match="unknown model option"):
        default_models("ring8", widht=3)


def test_generate_is_reproducible_and_ignores_global_rng():
    torch.manual_seed(0)
    G = MLPGenerator(2, 2, 16, 2)
    a = generate(G, 50, seed=1)
    torch.manual_seed(99)
    assert torch.equal(a, generate(G, 50, seed=1))
    assert torch.allclose(a, generate(G, 50, rng=torch.Generator().manual_seed(1), batch_size=7), atol=1e-6)
    assert not torch.equal(a, generate(G, 50, seed=2))
    with pytest.raises(ValueError):
        generate(G, 0)
    with pytest.raises(ValueError, match="unconditional"):
        generate(G, 5, labels=1)


def test_generate_labels():
    torch.manual_seed(0)
    G = MLPGenerator(2, 2, 16, 2, num_classes=4)
    a = generate(G, 8, seed=0)  # balanced: labels 0,1,2,3,0,1,...
    z = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a, G(z, torch.arange(8) % 4))
    b = generate(G, 8, seed=0, labels=2)
    assert torch.allclose(b, G(z, torch.full((8,), 2)))
    with pytest.raises(ValueError, match="out of range"):
        generate(G, 8, labels=4)


def test_mixture_latent_components_follow_the_last_noise_coordinate():
    """k = floor(K Phi(z_last)): uniform over the K components, a pure function of z."""
    from scipy.stats import norm
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=3, out_dim=2, hidden=16, depth=2, latent_mixture=4)
    z = torch.randn(8000, 3, generator=torch.Generator().manual_seed(1))
    k = G.component(z)
    expected = torch.as_tensor((4 * norm.cdf(z[:, -1].double().numpy())).astype("int64"))
    assert torch.equal(k, expected.clamp(max=3))
    counts = torch.bincount(k, minlength=4).double() / len(k)
    assert (counts - 0.25).abs().max() < 0.02, counts       # binomial sd ~0.005
    # the output is the MLP of mu_k + s * eps: moving z_last inside its component's interval changes nothing
    z2 = z.clone()
    z2[:, -1] = torch.as_tensor(norm.ppf((k.double().numpy() + 0.5) / 4), dtype=z.dtype)
    assert torch.equal(G.component(z2), k)
    assert torch.allclose(G(z), G(z2))
    assert torch.allclose(G(z), G.net(G.mixture_means[k] + 0.2 * z[:, :2]))


def test_mixture_latent_puts_each_component_on_its_own_gaussian():
    """With an identity 'network' the samples of component k are exactly N(mu_k, s^2 I): no bridges."""
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=3, out_dim=2, depth=0, latent_mixture=5, mixture_scale=0.1, mixture_spread=3.0)
    with torch.no_grad():
        G.net[0].weight.copy_(torch.eye(2))
        G.net[0].bias.zero_()
    z = torch.randn(50_000, 3, generator=torch.Generator().manual_seed(2))
    x, k = G(z).detach(), G.component(z)
    mu = G.mixture_means
    assert mu.shape == (5, 2) and 1.5 < mu.std() < 4.5          # drawn from N(0, 3^2)
    for j in range(5):
        xj = x[k == j]
        assert torch.allclose(xj.mean(0), mu[j], atol=0.01)
        assert torch.allclose(xj.std(0), torch.full((2,), 0.1), rtol=0.05)
    # every sample lies within 6 s of its own mean, i.e. nothing in between the components
    assert ((x - mu[k]).norm(dim=1) < 0.6).all()


def test_output_noise_adds_isotropic_gaussian_noise_read_from_z():
    """x = g(h) + s_out eps_out, eps_out = the out_dim coordinates of z before the component's."""
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=6, hidden=16, depth=2, latent_mixture=4, mixture_scale=0.1, output_noise=0.3)
    z = torch.randn(4000, 6, generator=torch.Generator().manual_seed(1))
    k = G.component(z)
    h = G.mixture_means[k] + 0.1 * z[:, :3]
    assert G.mixture_means.shape == (4, 3)                  # the network reads 6 - 1 - 2 coordinates
    assert torch.allclose(G(z), G.net(h) + 0.3 * z[:, 3:5], atol=1e-6)
    # moving eps_out by d moves the sample by exactly s_out d, in every direction alike
    z2 = z.clone()
    z2[:, 3:5] += torch.tensor([1.0, -2.0])
    assert torch.allclose(G(z2) - G(z), torch.tensor([0.3, -0.6]).expand(4000, 2), atol=1e-5)
    # a plain latent: the last out_dim coordinates are the noise
    P = MLPGenerator(latent_dim=4, hidden=8, depth=1, output_noise=0.5)
    zp = torch.randn(10, 4)
    assert torch.allclose(P(zp), P.net(zp[:, :2]) + 0.5 * zp[:, 2:], atol=1e-6)
    # 0 (the default) leaves the layout unchanged
    assert MLPGenerator(latent_dim=3, latent_mixture=4).mixture_means.shape == (4, 2)
    with pytest.raises(ValueError, match="output_noise must be"):
        MLPGenerator(latent_dim=6, output_noise=-0.1)
    with pytest.raises(ValueError, match=r"latent_dim must be >= 4 .*got 3"):
        MLPGenerator(latent_dim=3, latent_mixture=4, output_noise=0.1)


def test_learned_mixture_weights_start_uniform_and_pick_components_by_their_cdf():
    from scipy.stats import norm
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=3, hidden=16, depth=1, latent_mixture=4, learn_weights=True)
    z = torch.randn(8000, 3, generator=torch.Generator().manual_seed(1))
    u = norm.cdf(z[:, -1].double().numpy())
    # logits 0: the same components as the fixed uniform weights (floor(K Phi), away from round-off)
    inner = torch.as_tensor(abs(4 * u - (4 * u).round()) > 1e-9)
    assert torch.equal(G.component(z)[inner], torch.as_tensor((4 * u).astype("int64"))[inner])
    assert torch.allclose(G.mixture_weights, torch.full((4,), 0.25))
    with torch.no_grad():
        G.mixture_logits.copy_(torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4])))
    expected = torch.as_tensor((u[:, None] >= torch.tensor([0.1, 0.3, 0.6]).double().numpy()).sum(1))
    assert torch.equal(G.component(z), expected)
    counts = torch.bincount(G.component(z), minlength=4).double() / len(z)
    assert torch.allclose(counts, torch.tensor([0.1, 0.2, 0.3, 0.4]).double(), atol=0.02)
    # the output carries log pi_k while gradients are on, nothing under no_grad
    x = G(z[:10])
    assert torch.allclose(x.log_weight, G.mixture_weights.log()[G.component(z[:10])])
    with torch.no_grad():
        assert not hasattr(G(z[:10]), "log_weight")
    with pytest.raises(ValueError, match="learn_weights must be True or False, got 1"):
        MLPGenerator(latent_dim=3, latent_mixture=4, learn_weights=1)
    with pytest.raises(ValueError, match="learn_weights needs a mixture latent"):
        MLPGenerator(latent_dim=3, learn_weights=True)


def test_generator_step_gives_the_mixture_logits_the_exact_score_function_gradient():
    """grad_a of mean_i (l_i - mean l) log pi_{k_i}, l_i = -sigma_f(V(x_i)): checked by hand, and it
    moves mass towards the component the critic likes."""
    import fdiv
    from fdiv.gan.training.steps import generator_step
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=3, hidden=8, depth=1, latent_mixture=3, learn_weights=True)
    D = torch.nn.Linear(2, 1)
    critic = lambda x, y=None: D(x).squeeze(-1)  # noqa: E731
    d = fdiv.get("gan")
    z = torch.randn(256, 3, generator=torch.Generator().manual_seed(3))
    k = G.component(z)
    fake = G(z)
    opt = torch.optim.SGD([G.mixture_logits], lr=0.0)
    generator_step(d, critic, opt, fake)
    with torch.no_grad():
        ell = -d.activation(critic(fake))
        pi = G.mixture_weights
        onehot = torch.nn.functional.one_hot(k, 3).float()
        expected = ((ell - ell.mean())[:, None] * (onehot - pi)).mean(0)
    assert torch.allclose(G.mixture_logits.grad, expected, atol=1e-6)
    # descending it: the component whose samples have the lowest loss gains weight
    opt = torch.optim.SGD([G.mixture_logits], lr=1.0)
    best = int(torch.stack([ell[k == j].mean() for j in range(3)]).argmin())
    before = G.mixture_weights[best].item()
    for _ in range(20):
        generator_step(d, critic, opt, G(z))
    assert G.mixture_weights[best].item() > before + 0.05


def test_mixture_latent_is_saved_with_the_weights_and_validated():
    torch.manual_seed(0)
    G = MLPGenerator(latent_dim=5, hidden=16, depth=1, latent_mixture=50)
    torch.manual_seed(1)
    H = MLPGenerator(latent_dim=5, hidden=16, depth=1, latent_mixture=50)
    assert not torch.equal(G.mixture_means, H.mixture_means)
    H.load_state_dict(G.state_dict())                         # the means travel with the state dict
    z = torch.randn(100, 5)
    assert torch.equal(G(z), H(z))
    assert "mixture_means" in G.state_dict()
    with pytest.raises(ValueError, match="latent_mixture must be 0 .* got 1"):
        MLPGenerator(latent_dim=3, latent_mixture=1)
    with pytest.raises(ValueError, match="latent_dim >= 2"):
        MLPGenerator(latent_dim=1, latent_mixture=4)
    with pytest.raises(ValueError, match="mixture_scale must be a finite number > 0, got 0"):
        MLPGenerator(latent_dim=3, latent_mixture=4, mixture_scale=0)
    with pytest.raises(ValueError, match="latent_mixture must be an integer >= 0"):
        MLPGenerator(latent_dim=3, latent_mixture=2.5)
    with pytest.raises(ValueError, match="plain Gaussian latent"):
        MLPGenerator(latent_dim=3).component(z[:, :3])
    # the option reaches default_models, conditional models too
    G, _ = default_models("ring8", latent_dim=3, latent_mixture=6, hidden=8, depth=1)
    assert G.latent_mixture == 6 and G.mixture_means.shape == (6, 2)
    Gc, _ = default_models(get_dataset("ring8", labelled=True), conditional=True, latent_dim=3, latent_mixture=6)
    assert Gc(torch.randn(4, 3), torch.arange(4)).shape == (4, 2)
