"""Plain data between an answer and its checks: what crosses from the student's code to the grader.

:func:`encode` turns a value computed by the student's code into JSON-compatible data, reading it only
through the base classes' own methods (``float.__float__``, ``Tensor.as_subclass(torch.Tensor)`` with
torch-function overrides disabled, ...), so that a subclass cannot lie about its value, and
:func:`decode` rebuilds *plain* values from that data: ``None``, ``bool``, exact ``int``/``float``/``str``,
tuples and lists of them, ``torch.Tensor`` (the base class, built from raw bytes), :class:`Opaque`
(anything else: only its description and, for a numpy or sympy number, its value) and
:class:`SympyValue` (an expression: its free symbols' names and text; its values at points are asked
separately). No pickle is involved: a tensor travels as dtype, shape and raw bytes.

The grader's inputs travel the other way with :func:`encode_input` / :func:`decode_input`: plain values,
tensors (with their ``requires_grad``), ``torch.Generator`` states, and references to the grader's own
module-level functions (or ``functools.partial`` of them), resolved by import in the answer's process.
"""
from __future__ import annotations

import base64
import functools
import importlib
import sys
from dataclasses import dataclass
from typing import Any

from .lazy import torch

__all__ = ["Opaque", "SympyValue", "encode", "decode", "encode_input", "decode_input", "ProtocolError"]

MAX_NUMEL = 1 << 22     # a tensor with more elements comes back as an Opaque description
MAX_ITEMS = 10_000      # tuples / lists
MAX_TEXT = 10_000       # characters of a string
MAX_DEPTH = 4

_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
           "complex64", "complex128")


class ProtocolError(ValueError):
    """Data that is not what :func:`encode` produces (a corrupted or forged message)."""


@dataclass(frozen=True)
class Opaque:
    """A value that is neither a number, a string, a tensor nor a sequence of them (a module, a function,
    a numpy array, a dict, ...): only ``desc`` (what it is) and, for numpy / sympy numbers, ``number``."""

    desc: str
    number: float | None = None
    kind: str = "object"


@dataclass(frozen=True)
class SympyValue:
    """A sympy object: ``is_expr`` (a sympy ``Expr``), the names of its free symbols, ``text`` (``str``,
    for messages only), ``number`` (its value when it is a real constant)."""

    text: str
    symbols: tuple[str, ...] = ()
    is_expr: bool = True
    number: float | None = None
    type_name: str = "Expr"


def _type_name(x: Any) -> str:
    name = type.__dict__["__name__"].__get__(type(x))
    return str.__str__(name)[:60] if isinstance(name, str) else "object"


# --------------------------------------------------------------------------- student value -> data

def _tensor_data(t) -> dict:
    with torch._C.DisableTorchFunctionSubclass():
        base = torch.Tensor.as_subclass(t, torch.Tensor)
        requires_grad = bool(base.requires_grad)
        dtype = str(base.dtype).replace("torch.", "")
        if dtype not in _DTYPES or base.layout != torch.strided:
            return {"t": "opaque", "desc": f"a torch.Tensor of dtype {dtype}", "kind": "tensor"}
        if base.numel() > MAX_NUMEL:
            return {"t": "opaque", "desc": f"a torch.Tensor of shape {tuple(base.shape)} (too large to check)",
                    "kind": "tensor"}
        flat = base.detach().to("cpu").contiguous().reshape(-1)
        raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
    return {"t": "tensor", "dtype": dtype, "shape": list(base.shape), "grad": requires_grad,
            "data": base64.b64encode(raw).decode("ascii"), "cls": _type_name(t)}


def _numpy_data(x) -> dict:
    import numpy as np

    arr = np.array(x, copy=True) if isinstance(x, np.ndarray) else np.asarray(x)
    kind = "numpy scalar" if isinstance(x, np.generic) else "numpy array"
    desc = f"numpy {_type_name(x)}" + (f" of shape {tuple(arr.shape)}" if arr.ndim else "")
    number = None
    if arr.size == 1 and arr.dtype.kind in "iuf":
        number = float(arr.reshape(()))
    return {"t": "opaque", "desc": desc, "number": number, "kind": kind}


def _sympy_data(x) -> dict:
    import sympy

    text = str.__str__(str(x))[:200]
    is_expr = isinstance(x, sympy.Expr)
    symbols = sorted({str.__str__(s.name) for s in x.free_symbols}) if is_expr else []
    number = None
    if is_expr and not symbols and x.is_real:
        try:
            number = float(sympy.N(x))
        except (TypeError, ValueError):
            number = None
    return {"t": "sympy", "text": text, "symbols": symbols, "expr": is_expr, "number": number,
            "type": _type_name(x)}


def encode(x: Any, depth: int = 0) -> Any:
    """JSON-compatible data for a value computed by the student's code (see the module docstring)."""
    tp = type(x)
    if x is None or tp is bool:
        return x
    if issubclass(tp, bool):  # pragma: no cover - bool cannot be subclassed
        return bool(x)
    if issubclass(tp, int):
        return int.__int__(x)
    if issubclass(tp, float):
        return float.__float__(x)
    if issubclass(tp, str):
        return str.__str__(x)[:MAX_TEXT]
    if issubclass(tp, (tuple, list)):
        base = tuple if issubclass(tp, tuple) else list
        n = base.__len__(x)
        if depth >= MAX_DEPTH or n > MAX_ITEMS:
            return {"t": "opaque", "desc": f"{base.__name__} of length {n}", "kind": base.__name__}
        items = [encode(base.__getitem__(x, i), depth + 1) for i in range(n)]
        return {"t": base.__name__, "items": items}
    if "torch" in sys.modules and issubclass(tp, sys.modules["torch"].Tensor):
        return _tensor_data(x)
    module = getattr(tp, "__module__", "") or ""
    if module.split(".")[0] == "numpy":
        return _numpy_data(x)
    if module.split(".")[0] == "sympy" and "sympy" in sys.modules and isinstance(x, sys.modules["sympy"].Basic):
        return _sympy_data(x)
    return {"t": "opaque", "desc": _describe_object(x), "kind": "callable" if callable(x) else "object"}


def _describe_object(x: Any) -> str:
    if "torch" in sys.modules and isinstance(x, sys.modules["torch"].nn.Module):
        return f"a torch.nn.Module ({_type_name(x)})"
    if callable(x):
        return f"a function ({_type_name(x)})"
    if isinstance(x, complex):
        return f"the complex number {complex.__repr__(x)}"
    return _type_name(x)


# --------------------------------------------------------------------------- data -> plain value

def _tensor(d: dict):
    dtype = d.get("dtype")
    if dtype not in _DTYPES:
        raise ProtocolError(f"bad dtype {dtype!r}")
    shape = d.get("shape")
    if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise ProtocolError("bad shape")
    raw = base64.b64decode(d.get("data", ""), validate=True)
    dt = getattr(torch, dtype)
    numel = 1
    for s in shape:
        numel *= s
    if numel > MAX_NUMEL or len(raw) != numel * torch.empty((), dtype=dt).element_size():
        raise ProtocolError("tensor size does not match its shape")
    if numel == 0:
        return torch.empty(shape, dtype=dt)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dt).reshape(shape)


def decode(data: Any) -> Any:
    """Plain values from :func:`encode`'s data; anything else raises :class:`ProtocolError`."""
    if data is None or type(data) in (bool, int, str):
        return data
    if type(data) is float:
        return data
    if type(data) is not dict:
        raise ProtocolError(f"unexpected {type(data).__name__}")
    tag = data.get("t")
    if tag in ("tuple", "list"):
        items = data.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ProtocolError("bad items")
        seq = [decode(v) for v in items]
        return tuple(seq) if tag == "tuple" else seq
    if tag == "tensor":
        t = _tensor(data)
        return t.requires_grad_(True) if data.get("grad") is True and t.is_floating_point() else t
    if tag == "opaque":
        num = data.get("number")
        return Opaque(str(data.get("desc", "object"))[:200], None if num is None else float(num),
                      str(data.get("kind", "object"))[:40])
    if tag == "sympy":
        syms = data.get("symbols") or []
        if not isinstance(syms, list) or not all(isinstance(s, str) for s in syms):
            raise ProtocolError("bad symbols")
        num = data.get("number")
        return SympyValue(str(data.get("text", ""))[:200], tuple(syms), bool(data.get("expr")),
                          None if num is None else float(num), str(data.get("type", "Expr"))[:40])
    raise ProtocolError(f"unexpected tag {tag!r}")


# --------------------------------------------------------------------------- the grader's inputs

def encode_input(x: Any) -> Any:
    """Data for one of the grader's inputs to the answer (see the module docstring)."""
    if x is None or type(x) in (bool, int, float, str):
        return x
    if type(x) in (tuple, list):
        return {"t": type(x).__name__, "items": [encode_input(v) for v in x]}
    if type(x) is dict:
        return {"t": "dict", "items": {str(k): encode_input(v) for k, v in x.items()}}
    if isinstance(x, torch.Tensor):
        return _tensor_data(x)
    if isinstance(x, torch.Generator):
        return {"t": "generator", "state": base64.b64encode(x.get_state().numpy().tobytes()).decode("ascii")}
    if isinstance(x, functools.partial):
        return {"t": "fn", **_reference(x.func), "args": [encode_input(a) for a in x.args],
                "kwargs": {k: encode_input(v) for k, v in x.keywords.items()}}
    if callable(x):
        return {"t": "fn", **_reference(x), "args": [], "kwargs": {}}
    raise TypeError(f"cannot send {type(x).__name__} to an answer")


def _reference(fn) -> dict:
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or "." in name or "<" in name or getattr(importlib.import_module(module), name, None) is not fn:
        raise TypeError(f"{fn!r}: only module-level functions of the grader can be sent to an answer")
    return {"module": module, "name": name}


def decode_input(data: Any) -> Any:
    """The grader's input rebuilt in the answer's process (fresh tensors, generators, functions)."""
    if type(data) is not dict:
        return data
    tag = data["t"]
    if tag in ("tuple", "list"):
        seq = [decode_input(v) for v in data["items"]]
        return tuple(seq) if tag == "tuple" else seq
    if tag == "dict":
        return {k: decode_input(v) for k, v in data["items"].items()}
    if tag == "tensor":
        t = _tensor(data).clone()
        return t.requires_grad_(True) if data.get("grad") else t
    if tag == "generator":
        g = torch.Generator()
        state = base64.b64decode(data["state"])
        g.set_state(torch.frombuffer(bytearray(state), dtype=torch.uint8).clone())
        return g
    if tag == "fn":
        fn = getattr(importlib.import_module(data["module"]), data["name"])
        args = [decode_input(a) for a in data["args"]]
        kwargs = {k: decode_input(v) for k, v in data["kwargs"].items()}
        return functools.partial(fn, *args, **kwargs) if args or kwargs else fn
    raise ProtocolError(f"unexpected tag {tag!r}")
