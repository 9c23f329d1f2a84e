"""``fdiv train`` and ``fdiv sample``: the command line of the training engine.

::

    fdiv train --divergence NAME --dataset NAME [--conditional] [--steps N] [--seed S]
               [--device D] --out DIR [--resume DIR]
    fdiv sample --checkpoint DIR/checkpoint.pt [--label Y] [--n N] [--seed S] --out FILE.png|FILE.npy

``fdiv train`` writes ``DIR/metrics.json`` (final metrics + the full configuration),
``DIR/checkpoint.pt``, ``DIR/samples.png`` (samples over the data density for 1-D/2-D data, an image
grid -- one row per label for conditional models -- for images), ``DIR/curves.png`` (losses and the
D_f estimate) and, for 1-D/2-D data, ``DIR/samples.npy`` (2,500 generated points, shape (N, d); the
points the metrics were computed on).  Everything is validated before training starts and written into
a temporary directory beside DIR that is renamed to DIR at the end, so DIR is never half-written.  If
training diverges, the last good checkpoint is kept in ``DIR.partial/`` (resume with ``--resume``).

The lead's ``fdiv/cli.py`` calls :func:`add_train_arguments`/:func:`run_train` and
:func:`add_sample_arguments`/:func:`run_sample`; both ``run_*`` return the exit status
(0 ok, 1 training failure, 2 bad arguments).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["add_train_arguments", "run_train", "add_sample_arguments", "run_sample", "main"]


def _checked(convert, ok, expected: str):
    """An argparse ``type``: ``convert(s)``, accepted only if ``ok(value)``; else 'expected EXPECTED, got S'."""
    def parse(s: str):
        try:
            v = convert(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {s!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {s!r}")
        return v
    return parse


_positive_int = _checked(int, lambda v: v >= 1, "a positive integer")
_nonneg_int = _checked(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _checked(float, lambda v: 0 < v < math.inf, "a positive number")
_nonneg_float = _checked(float, lambda v: 0 <= v < math.inf, "a number >= 0")
_unit_float = _checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def _key_value(s: str):
    if "=" not in s:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {s!r}")
    k, v = s.split("=", 1)
    try:
        val = json.loads(v)
    except json.JSONDecodeError:
        val = v
    return k.strip(), val


def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``fdiv train``'s options to ``p``."""
    p.add_argument("--divergence", default=None, metavar="NAME",
                   help="f-divergence to minimise (see `fdiv list`; default gan)")
    p.add_argument("--param", dest="divergence_params", action="append", type=_key_value, default=[],
                   metavar="KEY=VALUE", help="divergence parameter, e.g. --param alpha=0.5 (repeatable)")
    p.add_argument("--dataset", default=None, metavar="NAME",
                   help="ring8, grid25, x, mixture1d, digits, mnist, ...")
    p.add_argument("--conditional", action="store_true", default=None, help="conditional GAN (labels to both networks)")
    p.add_argument("--steps", type=_positive_int, default=None, metavar="N", help="generator steps (default: per dataset)")
    p.add_argument("--seed", type=_nonneg_int, default=None, metavar="S", help="random seed (default 0)")
    p.add_argument("--device", default=None, metavar="D", help="cpu, cuda, cuda:0, ... (default: cuda if available)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (must not exist, unless it is --resume's)")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue the run saved in DIR (or DIR/checkpoint.pt)")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="B")
    p.add_argument("--critic-steps", type=_positive_int, default=None, metavar="K", help="critic updates per generator update")
    p.add_argument("--lr-g", type=_positive_float, default=None, metavar="LR")
    p.add_argument("--lr-d", type=_positive_float, default=None, metavar="LR")
    p.add_argument("--generator-loss", choices=("nonsaturating", "minimax"), default=None)
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default=None)
    p.add_argument("--ema", type=_unit_float, default=None, metavar="DECAY",
                   help="moving average of the generator's weights (0 = off)")
    p.add_argument("--gradient-penalty", type=_nonneg_float, default=None, metavar="GAMMA",
                   help="R1 gradient penalty weight (0 = off)")
    p.add_argument("--latent-mixture", type=_nonneg_int, default=None, metavar="K",
                   help="MLP generator's latent: a mixture of K components, 0 = plain Gaussian "
                        "(default: 50 for ring8/grid25, 0 otherwise; chapter 5)")
    p.add_argument("--spectral-norm", action="store_true", default=None, help="spectral normalisation in the critic")
    p.add_argument("--amp", action="store_true", default=None, help="mixed precision (CUDA only)")
    p.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="N",
                   help="steps between checkpoints (default 500)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out directory")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show a progress bar")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    return p


def add_sample_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``fdiv sample``'s options to ``p``."""
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="DIR/checkpoint.pt written by `fdiv train`")
    p.add_argument("--label", type=_nonneg_int, default=None, metavar="Y", help="class label (conditional models)")
    p.add_argument("--n", type=_positive_int, default=None, metavar="N", help="number of samples (default 2500; 64 for images)")
    p.add_argument("--seed", type=_nonneg_int, default=0, metavar="S")
    p.add_argument("--device", default=None, metavar="D")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.npy (raw samples) or FILE.png (picture)")
    return p


def _err(cmd: str, msg: str) -> None:
    print(f"fdiv {cmd}: error: {msg}", file=sys.stderr)


_OPTION_FIELDS = {
    "divergence": "divergence", "dataset": "dataset", "conditional": "conditional", "steps": "steps",
    "seed": "seed", "device": "device", "batch_size": "batch_size", "critic_steps": "critic_steps",
    "lr_g": "lr_g", "lr_d": "lr_d", "generator_loss": "generator_loss", "gradient_penalty": "gradient_penalty",
    "spectral_norm": "spectral_norm", "amp": "amp", "checkpoint_every": "checkpoint_every",
    "lr_schedule": "lr_schedule", "ema": "ema",
}


def _config_from_args(args, ck):
    from fdiv.gan.training import TrainConfig
    given = {field: getattr(args, a) for a, field in _OPTION_FIELDS.items() if getattr(args, a, None) is not None}
    if args.divergence_params:
        given["divergence_params"] = dict(args.divergence_params)
    if getattr(args, "latent_mixture", None) is not None:
        if ck is not None:
            raise ValueError("--latent-mixture cannot change on --resume (the checkpoint fixes the models)")
        given["model"] = {"latent_mixture": args.latent_mixture}
    if ck is None:
        if given.get("dataset") is None:
            raise ValueError("--dataset is required (unless --resume is given)")
        cfg = TrainConfig(**given)
    else:
        cfg = TrainConfig.from_dict(ck["config"]).replace(**given)
    return cfg


def _write_pictures(res, out: Path, n: int = 2500) -> None:
    import numpy as np
    from fdiv.viz import plots
    plt = plots._plt()
    ds = res.dataset
    G = res.generator
    if ds.kind == "image":
        nc = getattr(G, "num_classes", 0)
        if nc:
            import torch
            per = 8
            labels = torch.arange(nc).repeat_interleave(per)
            x = res.sample(len(labels), seed=res.config.seed, labels=labels)
            ax = plots.plot_image_grid(x, nrow=per, labels=labels, title=f"{res.config.divergence} on {ds.name}")
        else:
            x = res.sample(64, seed=res.config.seed)
            ax = plots.plot_image_grid(x, nrow=8, title=f"{res.config.divergence} on {ds.name}")
        plots.save_figure(ax, out / "samples.png")
        plt.close(ax.figure)
    else:
        x = res.sample(n, seed=res.config.seed)
        np.save(out / "samples.npy", x.numpy().astype(np.float32))
        if ds.kind == "2d":
            ax = plots.plot_samples_2d(x, ds, title=f"{res.config.divergence} on {ds.name}")
        else:
            ax = plots.plot_density_1d(ds, samples=x, title=f"{res.config.divergence} on {ds.name}")
        plots.save_figure(ax, out / "samples.png")
        plt.close(ax.figure)
    fig = plots.plot_curves(res.history, title=f"{res.config.divergence} on {ds.name}")
    plots.save_figure(fig, out / "curves.png")
    plt.close(fig)


def _json_safe(o):
    if isinstance(o, dict):
        return {str(k): _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if hasattr(o, "item") and callable(o.item):
        try:
            return _json_safe(o.item())
        except Exception:
            return str(o)
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return str(o)


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    i = 1
    while Path(f"{path}{i}").exists():
        i += 1
    return Path(f"{path}{i}")


def run_train(args) -> int:
    """Run ``fdiv train`` with parsed ``args``; returns the exit status."""
    from fdiv.gan.training import TrainingDiverged, load_checkpoint, train
    out = Path(args.out)
    resume = Path(args.resume) if getattr(args, "resume", None) else None
    # ---------------- validate everything before any file is touched ----------------
    try:
        ck = load_checkpoint(resume) if resume is not None else None
        cfg = _config_from_args(args, ck)
        if ck is not None:
            from fdiv.gan.training.loop import _make_config
            cfg = _make_config(cfg, {}, ck)
        else:
            cfg = cfg.resolved()
        if cfg.amp:
            from fdiv.core.runtime import default_device
            if default_device(cfg.device).type != "cuda":
                raise ValueError("--amp needs a CUDA device")
        same_as_resume = resume is not None and out.resolve() == (resume if resume.is_dir() else resume.parent).resolve()
        if out.exists() and not (same_as_resume or getattr(args, "overwrite", False)):
            if not (out.is_dir() and not any(out.iterdir())):
                raise ValueError(f"--out {str(out)!r} already exists (use --overwrite, or a new directory)")
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {str(out)!r} exists and is not a directory")
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        if not os.access(parent, os.W_OK):
            raise ValueError(f"cannot write in {str(parent)!r}")
    except ValueError as e:
        _err("train", str(e))
        return 2
    # ---------------- train into a temporary directory beside --out ----------------
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    try:
        try:
            res = train(cfg, out=tmp, resume=ck["path"] if ck is not None else None, progress=args.progress)
        except TrainingDiverged as e:
            msg = str(e).split("; ")[0]
            if (tmp / "checkpoint.pt").exists():
                keep = _free_name(Path(f"{out}.partial"))
                os.replace(tmp, keep)
                msg += f"; the last good checkpoint is kept in {keep}/checkpoint.pt (continue with --resume {keep})"
            else:
                msg += "; no checkpoint had been written"
            _err("train", msg)
            return 1
        metrics = dict(res.metrics)
        metrics.update(divergence=cfg.divergence, dataset=cfg.dataset, seed=cfg.seed, conditional=cfg.conditional,
                       device=str(next(res.generator.parameters()).device), config=cfg.to_dict())
        with open(tmp / "metrics.json", "w") as fh:
            json.dump(_json_safe(metrics), fh, indent=2)
        _write_pictures(res, tmp)
        # ---------------- publish: rename the finished directory into place ----------------
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except KeyboardInterrupt:
        _err("train", "interrupted; nothing was written to --out")
        return 130
    except ValueError as e:
        _err("train", str(e))
        return 2
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    m = res.metrics
    def show(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return str(v)

    summary = ", ".join(f"{k}={show(v)}" for k, v in m.items())
    print(f"{cfg.divergence} on {cfg.dataset}: {summary}")
    print(f"wrote {out}/metrics.json, checkpoint.pt, samples.png, curves.png"
          + (", samples.npy" if res.dataset.kind != "image" else ""))
    return 0


def run_sample(args) -> int:
    """Run ``fdiv sample`` with parsed ``args``; returns the exit status."""
    import numpy as np
    import torch
    from fdiv.gan.models import generate
    from fdiv.gan.training import load_checkpoint, models_from_checkpoint
    from fdiv.core.runtime import default_device
    out = Path(args.out)
    try:
        if out.suffix.lower() not in (".npy", ".png"):
            raise ValueError(f"--out must end in .npy or .png, got {str(out)!r}")
        device = default_device(args.device) if args.device else torch.device("cpu")
        ck = load_checkpoint(args.checkpoint)
        G, _, cfg = models_from_checkpoint(ck, device)
        spec = ck["dataset_spec"]
        nc = getattr(G, "num_classes", 0)
        if args.label is not None and not nc:
            raise ValueError("--label given but the checkpoint's generator is unconditional")
        if args.label is not None and args.label >= nc:
            raise ValueError(f"--label {args.label} out of range; allowed 0..{nc - 1}")
        n = args.n or (64 if spec["kind"] == "image" else 2500)
        if not out.parent.exists():
            raise ValueError(f"directory {str(out.parent)!r} does not exist")
    except ValueError as e:
        _err("sample", str(e))
        return 2
    x = generate(G, n, seed=args.seed, labels=args.label)
    if out.suffix.lower() == ".npy":
        tmp = out.with_name(f".{out.name}.tmp{os.getpid()}.npy")
        np.save(tmp, x.numpy().astype(np.float32))
        os.replace(tmp, out)
    else:
        from fdiv.viz import plots
        plt = plots._plt()
        title = f"{cfg.divergence} on {spec['name']}" + (f", label {args.label}" if args.label is not None else "")
        if spec["kind"] == "image":
            ax = plots.plot_image_grid(x, nrow=min(8, n), title=title)
        elif spec["kind"] == "2d":
            from fdiv.datasets import get_dataset
            try:
                ds = get_dataset(cfg.dataset, **cfg.dataset_params)
            except ValueError:
                ds = None
            ax = plots.plot_samples_2d(x, ds, title=title)
        else:
            from fdiv.datasets import get_dataset
            ax = plots.plot_density_1d(get_dataset(cfg.dataset, **cfg.dataset_params), samples=x, title=title)
        plots.save_figure(ax, out)
        plt.close(ax.figure)
    print(f"wrote {n} samples to {out}")
    return 0


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m fdiv.cli.train train|sample ...``) for testing."""
    p = argparse.ArgumentParser(prog="fdiv")
    sub = p.add_subparsers(dest="command", required=True)
    add_train_arguments(sub.add_parser("train", help="train an f-GAN"))
    add_sample_arguments(sub.add_parser("sample", help="sample from a checkpoint"))
    args = p.parse_args(argv)
    return run_train(args) if args.command == "train" else run_sample(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
