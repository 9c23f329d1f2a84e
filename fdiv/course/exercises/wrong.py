"""Plausible wrong answers to every exercise (for the tests and for instructors calibrating the checks).

``WRONG[id]`` is a list of ``(what is wrong, answer)``; every one must fail at least one check of
exercise ``id`` (tests/test_exercises.py verifies it). Each answer is what a student might really write:
a sign error, the f-GAN paper's conjugate over all of R where the answer over u > 0 is piecewise, a naive
formula that overflows, a forgotten activation, off-by-one labels, a number from the wrong formula...
"""
from __future__ import annotations

import math

import sympy
import torch
import torch.nn.functional as F
from torch import nn

from . import solutions as S

_u = sympy.Symbol("u", positive=True)
_t = sympy.Symbol("t")  # deliberately without assumptions: symbols are matched by name


def _js_f():
    return sympy.Rational(1, 2) * (_u * sympy.log(_u) - (_u + 1) * sympy.log((_u + 1) / 2))


# ---------------------------------------------------------------------------- chapter 1

def _js_naive(p, q):
    m = (p + q) / 2
    return 0.5 * (p * torch.log(p / m)).sum() + 0.5 * (q * torch.log(q / m)).sum()  # nan where p = 0


def _js_paper(p, q):
    return 2 * S.js_divergence(p, q)  # the f-GAN paper's normalisation


def _js_one_sided(p, q):
    m = (p + q) / 2
    return (torch.xlogy(p, p) - torch.xlogy(p, m)).sum()  # KL(P||M) only


# ---------------------------------------------------------------------------- chapter 2

def _lln_no_sqrt_n(h, x):
    v = h(x)
    return v.mean(), v.std()


def _lln_sum(h, x):
    v = h(x)
    return v.sum(), v.std() / math.sqrt(len(v))


def _lln_mean_of_x(h, x):
    v = h(x)
    return x.mean(), v.std() / math.sqrt(len(v))


def _lln_list(h, x):
    v = h(x)
    return [v.mean().item()]  # not a pair


def _mc_log_ratio(f, log_p, log_q, x_q):
    return f(log_p(x_q) - log_q(x_q)).mean()  # forgot exp


def _mc_flipped(f, log_p, log_q, x_q):
    return f(torch.exp(log_q(x_q) - log_p(x_q))).mean()  # ratio q/p


# ---------------------------------------------------------------------------- chapter 3

def _pearson_paper(t):
    return t + t ** 2 / 4  # conjugate over all real u (f-GAN paper), wrong for t < -2


def _pearson_sign(t):
    return torch.where(t <= -2, torch.full_like(t, -1.0), t - t ** 2 / 4)


def _pearson_returns_list(t):
    return [float(x) for x in S.pearson_conjugate(t).flatten()]


def _tv_paper(t):
    return torch.where(t.abs() <= 0.5, t, torch.full_like(t, math.inf))  # dom [-1/2, 1/2] (sup over all real u)


def _tv_no_inf(t):
    return torch.where(t < -0.5, torch.full_like(t, -0.5), t)  # finite everywhere


def _tv_clamp(t):
    return t.clamp(-0.5, 0.5)


# ---------------------------------------------------------------------------- chapter 4

def _witness_naive(log_p, log_q):
    return 1 + torch.log(torch.exp(log_p) / torch.exp(log_q))  # overflows / 0/0


def _witness_no_one(log_p, log_q):
    return log_p - log_q


def _witness_swapped(log_p, log_q):
    return 1 + log_q - log_p


# ---------------------------------------------------------------------------- chapter 5

def _vdm_sign(v_real, v_fake, activation, conjugate):
    return conjugate(activation(v_fake)).mean() - activation(v_real).mean()


def _vdm_no_activation(v_real, v_fake, activation, conjugate):
    return v_real.mean() - conjugate(v_fake).mean()


def _vdm_real_no_activation(v_real, v_fake, activation, conjugate):
    return v_real.mean() - conjugate(activation(v_fake)).mean()


def _vdm_detached(v_real, v_fake, activation, conjugate):
    return torch.tensor(S.vdm_objective(v_real, v_fake, activation, conjugate).item())  # breaks the graph


def _act_positive(v):
    return torch.exp(v)  # wrong sign: (0, inf)


def _act_identity(v):
    return v  # leaves dom f*


def _act_tanh(v):
    return torch.tanh(v) - 1  # in (-2, 0): does not sweep the domain


# ---------------------------------------------------------------------------- chapter 6

def _gan_conj_naive(v):
    return -torch.log(1 - torch.sigmoid(v))  # inf at v = 1e4


def _gan_conj_naive2(v):
    return -torch.log(1 - torch.exp(F.logsigmoid(v)))


def _gan_conj_sign(v):
    return F.softplus(-v)


def _gan_act_naive(v):
    return torch.log(torch.sigmoid(v))  # -inf at v = -1e4


def _gan_act_log1p(v):
    return -torch.log1p(torch.exp(-v))  # exp overflows at v = -1e4


def _gan_act_no_log(v):
    return torch.sigmoid(v)


# ---------------------------------------------------------------------------- chapter 7

def _dloss_is_J(v_real, v_fake):
    return F.logsigmoid(v_real).mean() + F.logsigmoid(-v_fake).mean()  # J itself, to be maximised


def _dloss_naive(v_real, v_fake):
    return -torch.log(torch.sigmoid(v_real)).mean() - torch.log(1 - torch.sigmoid(v_fake)).mean()


def _dloss_swapped(v_real, v_fake):
    return F.softplus(v_real).mean() + F.softplus(-v_fake).mean()


def _gloss_saturating(v_fake):
    return -F.softplus(v_fake).mean()  # mean log(1 - D)


def _gloss_naive(v_fake):
    return -torch.log(torch.sigmoid(v_fake)).mean()  # inf at v = -1e4


# ---------------------------------------------------------------------------- chapter 8

def _dstar_naive(log_p, log_q):
    p, q = torch.exp(log_p), torch.exp(log_q)
    return p / (p + q)  # 0/0 for tiny densities


def _dstar_swapped(log_p, log_q):
    return torch.sigmoid(log_q - log_p)


def _dstar_ratio(log_p, log_q):
    return torch.exp(log_p - log_q)  # the density ratio, not D*


# ---------------------------------------------------------------------------- chapter 9

def _diag_same(n, generator):
    s = torch.rand(n, generator=generator) * 2 - 1
    r = torch.rand(n, generator=generator) * 2 - 1
    return torch.stack([s, s], 1), torch.stack([r, r], 1)  # both on y = x


def _diag_no_generator(n, generator):
    s = torch.rand(n) * 2 - 1
    r = torch.rand(n) * 2 - 1
    return torch.stack([s, s], 1), torch.stack([r, -r], 1)


def _diag_normal(n, generator):
    s = torch.randn(n, generator=generator)
    r = torch.randn(n, generator=generator)
    return torch.stack([s, s], 1), torch.stack([r, -r], 1)


def _diag_shared_s(n, generator):
    s = torch.rand(n, generator=generator) * 2 - 1
    return torch.stack([s, s], 1), torch.stack([s, -s], 1)


def _xc_linear(points):
    return points[:, 0] + points[:, 1]


def _xc_swapped(points):
    return -points[:, 0] * points[:, 1]


def _xc_column(points):
    return (points[:, 0] * points[:, 1])[:, None]  # shape (n, 1)


# ---------------------------------------------------------------------------- chapter 10

def _convT_conv_formula(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1  # the convolution's


def _convT_no_plus_one(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding


def _convT_float(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return float(S.conv_transpose_output_size(size, kernel_size, stride, padding, output_padding, dilation))


def _gen_mlp(latent_dim):
    return nn.Sequential(nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, 64), nn.Tanh(),
                         nn.Unflatten(1, (1, 8, 8)))


def _gen_7x7(latent_dim):
    return nn.Sequential(nn.Linear(latent_dim, 64 * 2 * 2), nn.ReLU(), nn.Unflatten(1, (64, 2, 2)),
                         nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1), nn.ReLU(),   # 3 x 3
                         nn.ConvTranspose2d(32, 1, 3, stride=2, padding=0), nn.Tanh())    # 7 x 7


def _gen_no_tanh(latent_dim):
    return nn.Sequential(nn.Linear(latent_dim, 64 * 2 * 2), nn.ReLU(), nn.Unflatten(1, (64, 2, 2)),
                         nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
                         nn.ConvTranspose2d(32, 1, 4, 2, 1))


# ---------------------------------------------------------------------------- chapter 11

def _oh_no_num_classes(labels, num_classes):
    return F.one_hot(labels).float()  # too few columns when the largest label is absent


def _oh_long(labels, num_classes):
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"bad label in {labels.tolist()}")
    return F.one_hot(labels, num_classes)  # integer dtype


def _oh_off_by_one(labels, num_classes):
    return F.one_hot(labels.clamp(max=num_classes - 2) + 1, num_classes).float()


def _oh_no_check(labels, num_classes):
    return F.one_hot(labels, num_classes).float()  # RuntimeError, not ValueError


def _cond_raw_label(z, labels, num_classes):
    return torch.cat([z, labels[:, None].to(z.dtype)], dim=1)  # (B, k + 1)


def _cond_label_first(z, labels, num_classes):
    return torch.cat([F.one_hot(labels, num_classes).to(z.dtype), z], dim=1)


def _cond_float64(z, labels, num_classes):
    return torch.cat([z.double(), F.one_hot(labels, num_classes).double()], dim=1)


# ---------------------------------------------------------------------------- chapter 12

def _lerp_no_endpoint(z0, z1, steps):
    if steps < 2:
        raise ValueError("steps")
    w = (torch.arange(steps, dtype=z0.dtype) / steps)[:, None]  # never reaches z1
    return (1 - w) * z0 + w * z1


def _lerp_reversed(z0, z1, steps):
    return S.interpolate(z1, z0, steps)


def _lerp_no_check(z0, z1, steps):
    w = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]
    return (1 - w) * z0 + w * z1  # steps = 1 returns z0 instead of raising


def _slerp_linear(z0, z1, t):
    t = t[:, None].to(z0.dtype)
    return (1 - t) * z0 + t * z1


def _slerp_unguarded(z0, z1, t):
    t = t[:, None].to(z0.dtype)
    omega = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _modes_no_quality(samples, centres, std):
    return int(torch.cdist(samples, centres).argmin(dim=1).unique().numel())


def _modes_count_points(samples, centres, std):
    dist, _ = torch.cdist(samples, centres).min(dim=1)
    return int((dist < 3 * std).sum())


def _modes_var_threshold(samples, centres, std):
    dist, nearest = torch.cdist(samples, centres).min(dim=1)
    return int(nearest[dist < 3 * std ** 2].unique().numel())


def _modes_float(samples, centres, std):
    return float(S.modes_captured(samples, centres, std))


# ---------------------------------------------------------------------------- the table

KL_REV = 0.6 * math.log(0.6 / 0.9) + 0.4 * math.log(0.4 / 0.1)

WRONG: dict[str, list[tuple[str, object]]] = {
    "1.1": [("arguments swapped, KL(Q||P)", KL_REV),
            ("in bits", S.kl_bernoulli() / math.log(2)),
            ("only the x = 1 term", 0.9 * math.log(0.9 / 0.6)),
            ("a string", "0.2263")],
    "1.2": [("naive p*log(p/m): nan at zeros", _js_naive),
            ("the f-GAN paper's JS (twice)", _js_paper),
            ("KL(P||M) only", _js_one_sided)],
    "1.3": [("f' instead of f''", lambda: sympy.diff(_js_f(), _u)),
            ("forgot the factor 1/2", 1 / (_u * (_u + 1))),
            ("expression in x", 1 / (2 * sympy.Symbol("x") * (sympy.Symbol("x") + 1)))],
    "2.1": [("stderr without 1/sqrt(n)", _lln_no_sqrt_n),
            ("sum instead of mean", _lln_sum),
            ("mean of x instead of h(x)", _lln_mean_of_x),
            ("returns a list of one value", _lln_list)],
    "2.2": [("variance 2 used (std sqrt 2)", 3.0), ("std 4 passed to torch.normal", 17.0), ("E[X]", 1.0)],
    "2.3": [("f applied to the log-ratio", _mc_log_ratio), ("ratio q/p", _mc_flipped)],
    "3.1": [("sign error", lambda: 2 + 2 * sympy.sqrt(1 - _t)),
            ("constant missing", -2 * sympy.sqrt(1 - _t)),
            ("Pearson's conjugate", _t + _t ** 2 / 4)],
    "3.2": [("f-GAN paper's conjugate over all of R", _pearson_paper),
            ("sign error", _pearson_sign),
            ("returns a list", _pearson_returns_list)],
    "3.3": [("f-GAN paper's domain [-1/2, 1/2]", _tv_paper),
            ("no +inf outside the domain", _tv_no_inf),
            ("clamped to [-1/2, 1/2]", _tv_clamp)],
    "4.1": [("naive exp ratio", _witness_naive), ("forgot the +1", _witness_no_one), ("swapped", _witness_swapped)],
    "4.2": [("the KL itself", 0.5), ("forgot E_P[T]", math.exp(-0.5)), ("sign in the exponent", 1 - math.exp(0.5))],
    "4.3": [("the paper's JS (no 1/2)", lambda: sympy.log(2 * _u / (_u + 1))),
            ("the GAN generator's f'", sympy.log(_u / (_u + 1))),
            ("f''", 1 / (2 * _u * (_u + 1)))],
    "5.1": [("sign swapped", _vdm_sign), ("no activation at all", _vdm_no_activation),
            ("no activation on the real term", _vdm_real_no_activation), ("detached result", _vdm_detached)],
    "5.2": [("exp(v): positive", _act_positive), ("identity", _act_identity), ("tanh(v) - 1: bounded", _act_tanh)],
    "5.3": [("T(x) = x, not optimised", 1 - math.exp(-0.5)), ("sign", -0.5)],
    "6.1": [("the f-GAN paper's JS conjugate", -sympy.log(2 - sympy.exp(_t))),
            ("the GAN conjugate", lambda: -sympy.log(1 - sympy.exp(_t))),
            ("sign error", sympy.log(2 - sympy.exp(2 * _t)) / 2)],
    "6.2": [("naive -log(1 - sigmoid(v))", _gan_conj_naive), ("naive via exp(logsigmoid)", _gan_conj_naive2),
            ("softplus(-v): sign", _gan_conj_sign)],
    "6.3": [("naive log(sigmoid(v))", _gan_act_naive), ("-log1p(exp(-v)) overflows", _gan_act_log1p),
            ("sigmoid without log", _gan_act_no_log)],
    "7.1": [("returns J (to maximise) instead of -J", _dloss_is_J), ("naive log(sigmoid)", _dloss_naive),
            ("labels swapped", _dloss_swapped)],
    "7.2": [("saturating loss", _gloss_saturating), ("naive -log(sigmoid)", _gloss_naive)],
    "7.3": [("inverse ratio", 1 / 99), ("1/D", 100.0), ("D", 0.01)],
    "8.1": [("naive exp", _dstar_naive), ("q/(p+q)", _dstar_swapped), ("the ratio p/q", _dstar_ratio)],
    "8.2": [("D_JS", (S.gan_value_at_optimum() + math.log(4)) / 2),
            ("2 D_JS without -log 4", S.gan_value_at_optimum() + math.log(4)), ("-log 4", -math.log(4))],
    "8.3": [("the accuracy", 0.5 * (1 + math.erf(1 / math.sqrt(2)))), ("no 1/2 in TV", 2 * S.tv_from_accuracy()),
            ("chance", 0.5)],
    "9.1": [("both on y = x", _diag_same), ("ignores the generator", _diag_no_generator),
            ("normal instead of uniform", _diag_normal), ("same s for both sets", _diag_shared_s)],
    "9.2": [("the true D_JS", math.log(2)), ("J itself", -math.log(4))],
    "9.3": [("linear x + y", _xc_linear), ("sign swapped", _xc_swapped), ("shape (n, 1)", _xc_column)],
    "10.1": [("the convolution's formula", _convT_conv_formula), ("missing + 1", _convT_no_plus_one),
             ("returns a float", _convT_float)],
    "10.2": [("MLP reshaped (no transposed conv)", _gen_mlp), ("7 x 7 output", _gen_7x7), ("no tanh", _gen_no_tanh)],
    "10.3": [("no bias", 128 * 64 * 16), ("bias per input channel", 128 * 64 * 16 + 128)],
    "11.1": [("F.one_hot without num_classes", _oh_no_num_classes), ("integer dtype", _oh_long),
             ("off by one", _oh_off_by_one), ("no ValueError", _oh_no_check)],
    "11.2": [("raw label column", _cond_raw_label), ("label first", _cond_label_first),
             ("always float64", _cond_float64)],
    "11.3": [("the marginals' JS", 0.0), ("the paper's JS (twice)", 1.5 * math.log(4 / 3)), ("log 2", math.log(2))],
    "12.1": [("endpoint excluded", _lerp_no_endpoint), ("reversed", _lerp_reversed), ("no ValueError", _lerp_no_check)],
    "12.2": [("linear interpolation", _slerp_linear), ("no guard for parallel latents", _slerp_unguarded)],
    "12.3": [("no quality threshold", _modes_no_quality), ("counts points, not modes", _modes_count_points),
             ("3 std^2 threshold", _modes_var_threshold), ("returns a float", _modes_float)],
}
