"""Reference solutions of the exercises (for instructors; not part of the installed package).

Each solution is a function named as in the notebook skeleton (``pearson_conjugate``, ...); exercises
that ask for a number or a sympy expression have a function of no arguments computing it. The book shows
the source of these functions in each exercise's solution dropdown, so they only use the names the
exercise section imports: ``math``, ``torch``, ``nn``, ``F`` (``torch.nn.functional``) and ``sympy``.

This module is itself a valid answers file: ``fdiv grade instructor/solutions.py`` passes every exercise
(the functions carry the skeletons' names, and ``ex1_1``, ``ex1_2``, ... are bound below too), and
``SOLUTIONS`` maps ids to solutions. ``make student`` builds the chapter notebooks without them.
"""
from __future__ import annotations

import math

import sympy
import torch
import torch.nn.functional as F
from torch import nn

# --------------------------------------------------------------------------- chapter 1


def kl_bernoulli():
    p, q = 0.9, 0.6
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def js_divergence(p, q):
    m = (p + q) / 2
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum()  # xlogy: 0 * log 0 = 0
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum()
    return 0.5 * kl_pm + 0.5 * kl_qm


def js_second_derivative():
    u = sympy.Symbol("u", positive=True)
    f = sympy.Rational(1, 2) * (u * sympy.log(u) - (u + 1) * sympy.log((u + 1) / 2))
    return sympy.simplify(sympy.diff(f, u, 2))  # 1/(2u(u+1)) > 0: f is convex


# --------------------------------------------------------------------------- chapter 2


def lln_estimate(h, x):
    values = h(x)
    return values.mean(), values.std() / math.sqrt(values.shape[0])


def second_moment_mc(mu, sigma, n, generator):
    x = mu + sigma * torch.randn(n, generator=generator, dtype=torch.float64)
    return (x ** 2).mean().item()  # close to Var + mean^2 = sigma^2 + mu^2


def mc_f_divergence(f, log_p, log_q, x_q):
    ratio = torch.exp(log_p(x_q) - log_q(x_q))
    return f(ratio).mean()


# --------------------------------------------------------------------------- chapter 3


def neyman_conjugate():
    u = sympy.Symbol("u", positive=True)
    t = sympy.Symbol("t", real=True)
    s = sympy.Symbol("s", positive=True)                # s = sqrt(1 - t) > 0 for t < 1
    f = (1 - u) ** 2 / u
    bracket = t * u - f
    roots = sympy.solve(sympy.diff(bracket, u), u)      # +-1/sqrt(1 - t)
    u_star = [r for r in roots if r.subs(t, 0) > 0][0]  # the admissible one, u* > 0 (for t < 1)
    value = sympy.simplify(bracket.subs(u, u_star).subs(t, 1 - s ** 2))  # 2 - 2 s
    return value.subs(s, sympy.sqrt(1 - t))             # 2 - 2 sqrt(1 - t), also its limit 2 at t = 1


def pearson_conjugate(t):
    # u* = 1 + t/2 is admissible only for t > -2; below, the sup is the limit u -> 0: -f(0) = -1
    return torch.where(t <= -2, torch.full_like(t, -1.0), t + t ** 2 / 4)


def tv_conjugate(t):
    out = torch.where(t < -0.5, torch.full_like(t, -0.5), t)
    return torch.where(t > 0.5, torch.full_like(t, math.inf), out)


# --------------------------------------------------------------------------- chapter 4


def optimal_witness_kl(log_p, log_q):
    return 1 + (log_p - log_q)  # f'(u) = 1 + log u at u = p/q


def bound_linear_witness():
    # E_P[x] - E_Q[exp(x - 1)] = 1 - e^{-1} E[e^x] = 1 - e^{-1/2}   (x ~ N(0, 1): E[e^x] = e^{1/2})
    return 1 - math.exp(-0.5)


def js_optimal_witness():
    u = sympy.Symbol("u", positive=True)
    f = sympy.Rational(1, 2) * (u * sympy.log(u) - (u + 1) * sympy.log((u + 1) / 2))
    return sympy.simplify(sympy.diff(f, u))  # log(2u/(u+1)) / 2 -> log(2)/2 as u -> oo


# --------------------------------------------------------------------------- chapter 5


def vdm_objective(v_real, v_fake, activation, conjugate):
    return activation(v_real).mean() - conjugate(activation(v_fake)).mean()


def activation_reverse_kl(v):
    return -F.softplus(-v)  # (-inf, 0), increasing; -torch.exp(-v) works too


def tightened_bound(x_p, x_q):
    a = torch.zeros((), dtype=torch.float64, requires_grad=True)  # T(x) = a x + b
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)

    def objective():
        return (a * x_p + b).mean() - torch.exp(a * x_q + b - 1).mean()

    opt = torch.optim.LBFGS([a, b], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -objective()  # the optimiser minimises: ascend J by descending -J
        loss.backward()
        return loss

    opt.step(closure)
    return objective().item()  # ~0.5 = D_KL for N(1,1) against N(0,1): the optimal witness x + 1/2 is linear


# --------------------------------------------------------------------------- chapter 6


def js_conjugate():
    u = sympy.Symbol("u", positive=True)
    t = sympy.Symbol("t", real=True)
    f = sympy.Rational(1, 2) * (u * sympy.log(u) - (u + 1) * sympy.log((u + 1) / 2))
    u_star = sympy.exp(2 * t) / (2 - sympy.exp(2 * t))  # solves f'(u) = t; positive for t < log(2)/2
    assert sympy.simplify(sympy.diff(f, u).subs(u, u_star) - t) == 0
    return sympy.simplify(t * u_star - f.subs(u, u_star))  # -log(2 - e^{2t}) / 2


def gan_conjugate_activation(v):
    return F.softplus(v)  # -log(1 - sigmoid(v)) = -log sigmoid(-v) = log(1 + e^v)


def gan_activation(v):
    return F.logsigmoid(v)  # = -softplus(-v)


# --------------------------------------------------------------------------- chapter 7


def discriminator_loss(v_real, v_fake):
    return F.softplus(-v_real).mean() + F.softplus(v_fake).mean()


def generator_loss_nonsaturating(v_fake):
    return F.softplus(-v_fake).mean()


def gradient_ratio():
    v = torch.logit(torch.tensor(0.01, dtype=torch.float64)).requires_grad_(True)
    (g_ns,) = torch.autograd.grad(-F.logsigmoid(v), v)   # d/dV (-log D) = -(1 - D)
    (g_s,) = torch.autograd.grad(-F.softplus(v), v)      # d/dV log(1 - D) = -D
    return (g_ns.abs() / g_s.abs()).item()               # (1 - D)/D = 99


# --------------------------------------------------------------------------- chapter 8


def optimal_discriminator(log_p, log_q):
    return torch.sigmoid(log_p - log_q)


def gan_value_at_optimum():
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    q = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    d = p / (p + q)
    return (p * torch.log(d) + q * torch.log(1 - d)).sum().item()


def tv_from_accuracy():
    acc = 0.5 * (1 + math.erf(1 / math.sqrt(2)))  # P(X > 0), X ~ N(1, 1): the rule "real iff x > 0"
    return 2 * acc - 1


# --------------------------------------------------------------------------- chapter 9


def two_diagonals(n, generator):
    s = torch.rand(n, generator=generator) * 2 - 1
    r = torch.rand(n, generator=generator) * 2 - 1
    return torch.stack([s, s], dim=1), torch.stack([r, -r], dim=1)


def linear_critic_js(x_p, x_q):
    w = torch.zeros(2, dtype=x_p.dtype, requires_grad=True)  # D(x) = sigmoid(w.x + b)
    b = torch.zeros((), dtype=x_p.dtype, requires_grad=True)

    def j_gan():
        return F.logsigmoid(x_p @ w + b).mean() + F.logsigmoid(-(x_q @ w + b)).mean()

    opt = torch.optim.LBFGS([w, b], max_iter=200, tolerance_grad=1e-12, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -j_gan()
        loss.backward()
        return loss

    opt.step(closure)
    return ((j_gan() + math.log(4)) / 2).item()  # ~0 on the X, while its true D_JS is log 2


def x_critic(points):
    return 100.0 * points[:, 0] * points[:, 1]  # x*y = s^2 > 0 on y = x, -s^2 < 0 on y = -x


# --------------------------------------------------------------------------- chapter 10


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def make_generator(latent_dim):
    return nn.Sequential(
        nn.Linear(latent_dim, 64 * 2 * 2), nn.ReLU(),
        nn.Unflatten(1, (64, 2, 2)),                                     # (B, 64, 2, 2)
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),   # 4 x 4
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),               # (B, 1, 8, 8)
        nn.Tanh(),
    )


def convT_parameters():
    layer = nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1)
    return sum(p.numel() for p in layer.parameters())  # 128*64*4*4 + 64 = 131136


# --------------------------------------------------------------------------- chapter 11


def one_hot(labels, num_classes):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0].item()
        raise ValueError(f"label {bad} is outside 0..{num_classes - 1}")
    return F.one_hot(labels.long(), num_classes).float()


def conditional_input(z, labels, num_classes):
    return torch.cat([z, F.one_hot(labels.long(), num_classes).to(z.dtype)], dim=1)


def conditional_js():
    def js(p, q):
        p, q = torch.tensor(p, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)
        m = (p + q) / 2
        kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum()
        kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum()
        return 0.5 * kl_pm + 0.5 * kl_qm

    lazy = [0.5, 0.5]  # the generator ignores y
    return (0.5 * js([1.0, 0.0], lazy) + 0.5 * js([0.0, 1.0], lazy)).item()  # 3/4 log(4/3)


# --------------------------------------------------------------------------- chapter 12


def interpolate(z0, z1, steps):
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (both endpoints), got {steps}")
    w = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]
    out = (1 - w) * z0 + w * z1
    out[-1] = z1  # exactly z1, no rounding
    return out


def slerp(z0, z1, t):
    t = t[:, None].to(z0.dtype)
    cos = torch.clamp(torch.dot(z0, z1) / (z0.norm() * z1.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:  # (nearly) parallel: the great circle is the straight line
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def modes_captured(samples, centres, std):
    dist, nearest = torch.cdist(samples, centres).min(dim=1)
    return int(nearest[dist < 3 * std].unique().numel())


# --------------------------------------------------------------------------- derivations (1.4, 4.4, 7.4, 8.4, 11.4)


def reverse_generator():
    u = sympy.Symbol("u", positive=True)
    f = u * sympy.log(u)
    return sympy.simplify(u * f.subs(u, 1 / u))  # -log u: reverse KL, D_KL(Q || P)


def tv_optimal_witness():
    u = sympy.Symbol("u", positive=True)
    return sympy.sign(u - 1) / 2  # -1/2 where p < q, +1/2 where p > q: a step, flat elsewhere


def nonsaturating_generator():
    u = sympy.Symbol("u", positive=True)
    g = -sympy.log(u / (1 + u))  # -log D* with D* = u / (1 + u)
    return sympy.simplify(g - g.subs(u, 1))  # log((1 + u) / (2u)): h(1) = 0, h'' = 1/u^2 - 1/(1+u)^2 > 0


def optimal_discriminator_ratio():
    D, p, q = sympy.symbols("D p q", positive=True)
    best = sympy.solve(sympy.diff(p * sympy.log(D) + q * sympy.log(1 - D), D), D)[0]  # p / (p + q)
    u = sympy.Symbol("u", positive=True)
    return sympy.simplify(best.subs(p, u * q))


def conditional_optimal_discriminator(log_p_x_given_y, log_q_x_given_y, log_p_y, log_q_y):
    # D* = p(y) p(x|y) / (p(y) p(x|y) + q(y) q(x|y)): chapter 8's D* of the two joint densities
    return torch.sigmoid((log_p_y + log_p_x_given_y) - (log_q_y + log_q_x_given_y))


# --------------------------------------------------------------------------- the answer names

SOLUTIONS = {
    "1.1": kl_bernoulli, "1.2": js_divergence, "1.3": js_second_derivative, "1.4": reverse_generator,
    "2.1": lln_estimate, "2.2": second_moment_mc, "2.3": mc_f_divergence,
    "3.1": neyman_conjugate, "3.2": pearson_conjugate, "3.3": tv_conjugate,
    "4.1": optimal_witness_kl, "4.2": bound_linear_witness, "4.3": js_optimal_witness,
    "4.4": tv_optimal_witness,
    "5.1": vdm_objective, "5.2": activation_reverse_kl, "5.3": tightened_bound,
    "6.1": js_conjugate, "6.2": gan_conjugate_activation, "6.3": gan_activation,
    "7.1": discriminator_loss, "7.2": generator_loss_nonsaturating, "7.3": gradient_ratio,
    "7.4": nonsaturating_generator,
    "8.1": optimal_discriminator, "8.2": gan_value_at_optimum, "8.3": tv_from_accuracy,
    "8.4": optimal_discriminator_ratio,
    "9.1": two_diagonals, "9.2": linear_critic_js, "9.3": x_critic,
    "10.1": conv_transpose_output_size, "10.2": make_generator, "10.3": convT_parameters,
    "11.1": one_hot, "11.2": conditional_input, "11.3": conditional_js,
    "11.4": conditional_optimal_discriminator,
    "12.1": interpolate, "12.2": slerp, "12.3": modes_captured,
}

# Helper functions a solution calls besides itself (shown together in the book's solution).
DEPENDS: dict[str, list[str]] = {}

for _id, _fn in SOLUTIONS.items():
    globals()["ex" + _id.replace(".", "_")] = _fn
del _id, _fn
