"""Chapter 10: the DC-GAN."""
from __future__ import annotations

import itertools

from ..answers import step
from ..core import Exercise, ExerciseList
from ..helpers import as_tensor, assert_number, call, describe, fmt
from ..lazy import torch, nn

EXERCISES = ExerciseList()

# --------------------------------------------------------------------------- 10.1


def convT_size(h, k, s=1, p=0, op=0, d=1):
    return (h - 1) * s - 2 * p + d * (k - 1) + op + 1


ex = EXERCISES.add(Exercise(
    id="10.1", kind="function", name="conv_transpose_output_size",
    signature="(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1)",
    title="Output size of a transposed convolution",
    task=r"""A DC-GAN generator grows a $2 \times 2$ feature map to image size with transposed convolutions.
Write `conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1)`
returning (as a Python `int`) the output height of `torch.nn.ConvTranspose2d` for an input of height `size`.
Derive it from the fact that a transposed convolution is the gradient of a convolution with the same
parameters (it maps the convolution's output size back to its input size), then check it against PyTorch.""",
    doc="Height of the output of nn.ConvTranspose2d(kernel_size, stride, padding, output_padding, dilation).",
    hint="Start from the convolution's size formula out = floor((in + 2p - d(k-1) - 1)/s) + 1 and solve it "
         "for in: the floor merges several input sizes, and output_padding says which one to return.",
))


def _size_call(fn, *args, **kwargs):
    out = call(fn, *args, context="calling with keyword arguments" if kwargs else "", **kwargs)
    shown = args + tuple(f"{k}={v}" for k, v in kwargs.items())
    if isinstance(out, torch.Tensor) and out.numel() == 1 and not out.is_floating_point() and out.dtype != torch.bool:
        out = int(out.item())
    if isinstance(out, bool) or not isinstance(out, int):
        if isinstance(out, float) and out.is_integer():
            raise AssertionError(f"conv_transpose_output_size{shown} returned the float {out}; return an int")
        raise AssertionError(f"conv_transpose_output_size{shown} should return an int, got {describe(out)}")
    return out


@ex.check("the DC-GAN block (kernel 4, stride 2, padding 1) doubles the size")
def _(fn):
    for h in (1, 4, 8, 16):
        got = _size_call(fn, h, 4, 2, 1)
        if got != 2 * h:
            raise AssertionError(f"size {h}, kernel 4, stride 2, padding 1: expected {2 * h}, got {got}")


@ex.check("matches nn.ConvTranspose2d over a grid of settings")
def _(fn):
    for h, k, s, p, d in itertools.product((1, 3, 7), (1, 3, 4, 5), (1, 2, 3), (0, 1, 2), (1, 2)):
        if p > d * (k - 1):  # nn.ConvTranspose2d needs padding <= dilation * (kernel_size - 1)
            continue
        for op in range(0, max(s, d)):
            if op >= s and op >= d:
                continue
            exp = convT_size(h, k, s, p, op, d)
            if exp < 1:
                continue
            got = _size_call(fn, h, k, s, p, op, d)
            if got != exp:
                raise AssertionError(f"size={h}, kernel_size={k}, stride={s}, padding={p}, output_padding={op}, "
                                     f"dilation={d}: expected {exp}, got {got}")


@ex.check("keyword arguments and defaults")
def _(fn):
    got = _size_call(fn, 5, 3)
    if got != 7:
        raise AssertionError(f"conv_transpose_output_size(5, 3) (stride 1, padding 0): expected 7, got {got}")
    out = _size_call(fn, size=7, kernel_size=3, stride=2, padding=1, output_padding=1)
    if out != 14:
        raise AssertionError(f"size=7, kernel_size=3, stride=2, padding=1, output_padding=1: expected 14, got {out!r}")


# --------------------------------------------------------------------------- 10.2

ex = EXERCISES.add(Exercise(
    id="10.2", kind="function", name="make_generator", signature="(latent_dim)",
    title="A DC-GAN generator for 8x8 digits",
    task=r"""Write `make_generator(latent_dim)` returning an `nn.Module` that maps a batch of latent vectors
of shape `(B, latent_dim)` to images of shape `(B, 1, 8, 8)` (scikit-learn's digits) with values in
$[-1, 1]$ *whatever its weights* (end with `tanh`). Use the DC-GAN recipe: a linear layer to a small
feature map with many channels (e.g. $64 \times 2 \times 2$), then `nn.ConvTranspose2d` layers that double
the resolution and halve the channels. At most $2 \cdot 10^6$ parameters; it must work for $B = 1$ in
`eval()` mode.""",
    doc="An nn.Module: (B, latent_dim) -> (B, 1, 8, 8) in [-1, 1], built with nn.ConvTranspose2d.",
    hint="nn.Unflatten turns the linear layer's output into a C x 2 x 2 feature map; Exercise 10.1 tells "
         "which ConvTranspose2d settings double a size; the images live in [-1, 1].",
    time_limit=20.0,
))


def _z(*shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))


# The probes below run next to the answer (in the grading process of the student's code): they build the
# model, run it on the grader's inputs and return only plain facts, which the checks then judge.

def _model(make_generator, k):
    with torch.random.fork_rng(devices=[]):  # the student's global random state is left alone
        torch.manual_seed(0)
        return step(f"calling make_generator({k})", make_generator, k)


def probe_structure(make_generator, k):
    """(is a module, what it is, has a ConvTranspose2d, number of parameters)."""
    m = _model(make_generator, k)
    if not isinstance(m, nn.Module):
        return False, m, False, 0
    return (True, type(m).__name__, any(isinstance(x, nn.ConvTranspose2d) for x in m.modules()),
            sum(p.numel() for p in m.parameters()))


def probe_outputs(make_generator, k, z, eval_mode=False, scale=1.0):
    """The model's output on z (in train mode, or in eval mode), the weights multiplied by ``scale``
    first. None when make_generator does not return a module."""
    m = _model(make_generator, k)
    if not isinstance(m, nn.Module):
        return None
    if eval_mode:
        m.eval()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(scale)
        return step(f"running the model on z of shape {tuple(z.shape)}", m, z)


def probe_gradients(make_generator, k, z):
    """The names of the trainable parameters that get no gradient from the mean squared output."""
    m = _model(make_generator, k)
    if not isinstance(m, nn.Module):
        return None
    out = step("running the model", m, z)
    step("backpropagating through the model", lambda: out.square().mean().backward())
    return [name for name, p in m.named_parameters() if p.requires_grad and p.grad is None]


def _structure(fn, k=16):
    is_module, what, has_convt, n_params = fn.probe(probe_structure, k)
    if not is_module:
        raise AssertionError(f"make_generator({k}) should return a torch.nn.Module, got {describe(what)}")
    return has_convt, n_params


@ex.check("returns an nn.Module built with nn.ConvTranspose2d, at most 2e6 parameters")
def _(fn):
    has_convt, n = _structure(fn)
    if not has_convt:
        raise AssertionError("no nn.ConvTranspose2d layer in your model: a DC-GAN generator upsamples with "
                             "transposed convolutions (not an MLP reshaped to an image)")
    if n > 2_000_000:
        raise AssertionError(f"{n} parameters; keep it under 2e6 for 8x8 images")


@ex.check("maps (B, latent_dim) to (B, 1, 8, 8)")
def _(fn):
    _structure(fn)
    for k, b in ((16, 3), (8, 2)):
        out = fn.probe(probe_outputs, k, _z(b, k))
        as_tensor(out, (b, 1, 8, 8), what=f"make_generator({k})(z) for z of shape {(b, k)}")
    out = fn.probe(probe_outputs, 8, _z(1, 8), eval_mode=True, context="running the model in eval() mode on one "
                   "latent vector")
    as_tensor(out, (1, 1, 8, 8), what="in eval() mode, the model on z of shape (1, 8)")


@ex.check("outputs in [-1, 1] whatever the weights (tanh at the end)")
def _(fn):
    _structure(fn)
    out = fn.probe(probe_outputs, 16, _z(4, 16) * 10, scale=30.0)
    out = as_tensor(out, (4, 1, 8, 8), what="the model with its weights multiplied by 30",
                    hint="images live in [-1, 1]: end with nn.Tanh()")
    if out.abs().max() > 1 + 1e-6:
        raise AssertionError(f"with larger weights the outputs reach {fmt(out.abs().max())}; images live in [-1, 1]: "
                             "end with nn.Tanh()")


@ex.check("gradients reach every parameter")
def _(fn):
    _structure(fn)
    as_tensor(fn.probe(probe_outputs, 16, _z(4, 16)), (4, 1, 8, 8), what="the model")
    missing = fn.probe(probe_gradients, 16, _z(4, 16))
    if not isinstance(missing, list) or not all(isinstance(n, str) for n in missing):
        raise AssertionError("the gradients of your model's parameters could not be read")
    if missing:
        raise AssertionError(f"parameter {missing[0]} gets no gradient (is it used in forward?)")


# --------------------------------------------------------------------------- 10.3

ex = EXERCISES.add(Exercise(
    id="10.3", kind="number", name="convT_parameters", tolerance=0.5,
    title="Counting the parameters of a transposed convolution",
    task=r"""How many trainable parameters does `nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1)`
have? Count by hand (weights of shape in-channels $\times$ out-channels $\times$ kernel, plus one bias per
output channel), then confirm with `sum(p.numel() for p in layer.parameters())`. Return the count.""",
    doc="Return the number of parameters of nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1).",
    hint="The weight has one k x k kernel per (input, output) channel pair; the bias one entry per OUTPUT channel; "
         "stride and padding add no parameters.",
))


@ex.check("equals the parameter count")
def _(value):
    assert_number(value, 128 * 64 * 16 + 64, 0.5, wrong=[
        (128 * 64 * 16, 0.5, "you forgot the bias (one per output channel)"),
        (128 * 64 * 16 + 128, 0.5, "the bias has one entry per OUTPUT channel (64), not per input channel"),
        (128 * 64 * 4 + 64, 0.5, "the kernel is 4 x 4 = 16 weights per channel pair"),
    ])
