"""``fdiv train`` and ``fdiv sample``: the command line of the training engine.

::

    fdiv train --divergence NAME --dataset NAME [--conditional] [--steps N] [--seed S] [--device D] --out DIR
    fdiv train --resume DIR [--steps N]
    torchrun --nproc_per_node=W -m fdiv train ...     (W processes, one model: fdiv.gan.training.distributed)
    fdiv sample --checkpoint DIR/checkpoint.pt [--label Y] [--n N] [--seed S] --out FILE.png|FILE.npy

``fdiv train``'s options are generated from the fields of :class:`fdiv.gan.training.TrainConfig` (their
help, type and choices), and checked by it.  It trains into DIR itself, marked by ``DIR/fdiv-run.json``
(:mod:`fdiv.gan.training.rundir`): ``running`` until it finishes, then ``complete``; DIR/checkpoint.pt
is saved every ``--checkpoint-every`` steps, so after ``kill -9`` the run continues with
``fdiv train --resume DIR``, and SIGINT/SIGTERM save the current step and print that command.  At the
end: ``DIR/metrics.json`` (metrics + configuration), ``samples.png``, ``curves.png`` and, for 1-D/2-D
data, ``samples.npy`` (the 2,500 points the metrics were computed on).  Every file is written atomically.

Under torchrun every process runs ``fdiv train``; rank 0 alone reads the inputs, writes DIR and prints,
and records where the run trained (``ran_on`` in ``DIR/fdiv-run.json``: world size, backend, device,
threads, seed, versions).

Both ``run_*`` return the exit status: 0 ok, 1 training failure (or a lost process under torchrun),
2 bad input (one line on stderr; nothing is written), 128 + the signal's number when interrupted.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import signal
import sys
import time
from pathlib import Path

from fdiv.gan.training.config import TrainConfig

__all__ = ["add_train_arguments", "run_train", "add_sample_arguments", "run_sample"]


def _parse_int(s: str) -> int:
    """An integer, also written as an integral float such as 1e8."""
    try:
        return int(s)
    except ValueError:
        f = float(s)  # ValueError for text: argparse reports it
        if not (math.isfinite(f) and f == int(f)):
            raise ValueError(s) from None
        return int(f)


def _key_value(s: str):
    if "=" not in s:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {s!r}")
    k, v = s.split("=", 1)
    try:
        val = json.loads(v)
    except json.JSONDecodeError:
        val = v
    return k.strip(), val


_parse_int.__name__ = "integer"  # argparse says "invalid integer value: ..."
_PARSERS = {int: _parse_int, float: float, str: str}


def _add_field(p: argparse.ArgumentParser, f: dataclasses.Field) -> None:
    md = f.metadata
    flag = md.get("flag") or "--" + f.name.replace("_", "-")
    if md.get("per_dataset"):
        default = "per dataset, see fdiv/gan/training/recipes.py"
    elif f.default is not dataclasses.MISSING:
        default = f.default
    else:
        default = "none"
    kw = dict(dest=f.name, default=None, help=f"{md['help']} (default: {default})")
    typ = md.get("type")
    if typ is bool:
        kw["action"] = argparse.BooleanOptionalAction
    elif typ is dict:
        kw.update(action="append", type=_key_value, metavar=md.get("metavar"))
    elif typ is tuple:
        kw.update(nargs=2, type=float, metavar=md.get("metavar"))
    else:
        kw.update(type=_PARSERS[typ], metavar=md.get("metavar"), choices=md.get("choices"))
        if kw["choices"] is not None:
            kw.pop("metavar")
    p.add_argument(flag, **kw)


def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``fdiv train``'s options to ``p``: one per TrainConfig field, plus --out, --resume, --overwrite."""
    p.add_argument("--out", default=None, metavar="DIR",
                   help="the run's directory (new, or an fdiv run to --resume or --overwrite; default: --resume's)")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue the run saved in DIR (or DIR/checkpoint.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace the fdiv run in --out (never other files)")
    for f in dataclasses.fields(TrainConfig):
        if f.metadata.get("cli"):
            _add_field(p, f)
    p.add_argument("--latent-mixture", type=_parse_int, default=None, metavar="K",
                   help="shorthand for --model latent_mixture=K: the MLP generator's latent is a mixture of K "
                        "components, 0 = plain Gaussian (default: 50 for ring8/grid25, 0 otherwise; chapter 5)")
    return p


def add_sample_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``fdiv sample``'s options to ``p``."""
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="DIR/checkpoint.pt written by `fdiv train`")
    p.add_argument("--label", type=_parse_int, default=None, metavar="Y", help="class label (conditional models)")
    p.add_argument("--n", type=_parse_int, default=None, metavar="N", help="number of samples (default 2500; 64 for images)")
    p.add_argument("--seed", type=_parse_int, default=0, metavar="S", help="noise seed (default 0)")
    p.add_argument("--device", default=None, metavar="D")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.npy (raw samples) or FILE.png (picture)")
    p.add_argument("--refine", action="store_true",
                   help="discriminator rejection sampling (1-D/2-D data): fit a critic to the generator, "
                        "accept x with probability min(1, r(x)/M), r = (f')^-1(T(x)); prints raw and "
                        "refined metrics")
    p.add_argument("--refine-steps", type=_parse_int, default=1500, metavar="N",
                   help="Adam steps of the critic fitted for --refine (default 1500)")
    return p


def _err(cmd: str, msg: str) -> None:
    print(f"fdiv {cmd}: error: {msg}", file=sys.stderr)


def _given(args) -> dict:
    """The TrainConfig fields given on the command line."""
    given = {}
    for f in dataclasses.fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None:
            given[f.name] = dict(v) if f.metadata.get("type") is dict else (tuple(v) if isinstance(v, list) else v)
    if args.latent_mixture is not None:
        given["model"] = {**given.get("model", {}), "latent_mixture": args.latent_mixture}
    return given


def _prepare(args, world_size: int = 1):
    """(setup, out directory): everything validated, nothing written.  ``world_size``: the processes that
    share each batch (the global batch must divide among them)."""
    from fdiv.gan.training import load_checkpoint, prepare
    from fdiv.gan.training.distributed import per_rank_batch
    from fdiv.gan.training.loop import check_fits
    from fdiv.gan.training.rundir import check_out
    resume = Path(args.resume) if args.resume else None
    ck = load_checkpoint(resume) if resume is not None else None
    given = _given(args)
    if ck is not None and "model" in given:
        raise ValueError("--model / --latent-mixture cannot change on --resume (the checkpoint fixes the models)")
    if ck is None and "dataset" not in given:
        raise ValueError("--dataset is required (unless --resume is given)")
    setup = prepare(None, ck, **given)
    if args.out is None and resume is None:
        raise ValueError("--out is required (unless --resume is given: the run continues in its directory)")
    run_dir = Path(ck["path"]).parent if ck is not None else None
    out = Path(args.out) if args.out is not None else run_dir
    resuming = run_dir is not None and out.resolve() == run_dir.resolve()
    if resuming and args.overwrite:
        raise ValueError("--overwrite would delete the run that --resume continues; drop one of them")
    check_out(out, overwrite=args.overwrite, resuming=resuming)
    batch = per_rank_batch(setup.config.batch_size, world_size)
    check_fits(setup.config, setup.dataset, batch_size=batch)
    return setup, out


def _prepare_everywhere(args, world):
    """(setup, out) on every process of the job.  Rank 0 reads and checks the inputs (the checkpoint, the
    run directory) and sends what it read; every rank then resolves the same configuration.  Nothing is
    written; a ``ValueError`` on any rank is raised on every rank (``ProcessLost`` if one is gone)."""
    from fdiv.gan.training import prepare
    mine = {}

    def read():
        mine["setup"], out = _prepare(args, world.size)
        return mine["setup"].checkpoint, _given(args), out

    ck, given, out = world.from_rank0(read)
    error, setup = None, mine.get("setup")
    if setup is None:
        try:
            setup = prepare(None, ck, **given)
        except ValueError as e:
            error = str(e)
    error = world.first_error(error)
    if error is not None:
        raise ValueError(error)
    return setup, out


def _continue_hint(out, world) -> str:
    from fdiv.gan.training.distributed import under_torchrun
    if world.distributed or under_torchrun():
        return (f"Continue with: torchrun --nproc_per_node=N -m fdiv train --resume {out} "
                f"(any number of processes N, or fdiv train --resume {out})")
    return f"Continue with: fdiv train --resume {out}"


def run_train(args) -> int:
    """Run ``fdiv train`` with parsed ``args`` (in each process under torchrun); returns the exit status."""
    from fdiv.gan.training import distributed
    try:
        world = distributed.start(args.device)
    except ValueError as e:
        _err("train", str(e))
        return 2
    except RuntimeError as e:  # the process group could not form (rendezvous, network)
        _err("train", f"cannot join the other processes: {str(e).strip().splitlines()[0][:300]}")
        return 1
    try:
        return _train_everywhere(args, world)
    finally:
        distributed.stop(world)


def _train_everywhere(args, world) -> int:
    """``fdiv train`` in one process of the job: only rank 0 writes the run directory and prints."""
    from fdiv.gan.training import TrainingDiverged, TrainingInterrupted, train
    from fdiv.gan.training.distributed import ProcessLost
    from fdiv.gan.training.loop import describe_environment
    from fdiv.gan.training.rundir import open_run, write_status
    say = _err if world.writer else (lambda cmd, msg: None)
    status = write_status if world.writer else (lambda *a, **k: None)
    try:
        setup, out = _prepare_everywhere(args, world)
    except ValueError as e:
        say("train", str(e))
        return 2
    except ProcessLost as e:
        _err("train", str(e))
        return 1
    try:
        error = None
        if world.writer:
            try:
                ran_on = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "from_step": _start_step(setup),
                          **describe_environment(setup.config, setup.dataset, world)}
                open_run(out, overwrite=args.overwrite, ran_on=ran_on)
            except ValueError as e:
                error = str(e)
        error = world.first_error(error)
        if error is not None:
            raise ValueError(error)
        res = train(setup, out=out)
    except ValueError as e:
        say("train", str(e))
        return 2
    except TrainingDiverged as e:
        status(out, "diverged", step=e.step)
        say("train", str(e))
        return 1
    except TrainingInterrupted as e:
        status(out, "interrupted", step=e.step)
        say("train", f"interrupted by {e.signame} after step {e.step}; the checkpoint is {out}/checkpoint.pt. "
                     + _continue_hint(out, world))
        return 128 + int(getattr(signal, e.signame))
    except ProcessLost as e:
        status(out, "interrupted", lost=str(e))
        _err("train", f"{e}. The last checkpoint (if any) is {out}/checkpoint.pt. " + _continue_hint(out, world))
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C, or one during set-up
        status(out, "interrupted")
        say("train", f"interrupted; the last checkpoint (if any) is in {out}. " + _continue_hint(out, world))
        return 130
    return _report(res, out, world)


def _start_step(setup) -> int:
    return int(setup.checkpoint["step"]) if setup.checkpoint is not None else 0


def _report(res, out: Path, world) -> int:
    """Rank 0: metrics.json, the pictures, the status ``complete`` and the summary; the other ranks: nothing."""
    from fdiv.gan.training.rundir import write_status
    if not world.writer:
        return 0
    try:
        _write_outputs(res, out)
    except KeyboardInterrupt:  # the checkpoint of the last step is complete: resuming writes the rest
        write_status(out, "interrupted", step=res.config.steps)
        _err("train", "interrupted while writing the pictures; " + _continue_hint(out, world))
        return 130
    write_status(out, "complete", step=res.config.steps)
    from fdiv.evaluation import twosample
    table = twosample.report(res.metrics)
    shown = {k: v for k, v in res.metrics.items() if not (table and k in _IN_REPORT)}
    summary = ", ".join(f"{k}={_show(v)}" for k, v in shown.items() if not k.endswith("_per_mode"))
    print(f"{res.config.divergence} on {res.config.dataset}: {summary}")
    if table:
        print(table)
    print(f"wrote {out}/metrics.json, checkpoint.pt, samples.png, curves.png"
          + (", samples.npy" if res.dataset.kind != "image" else ""))
    return 0


# figures that the two-sample table prints (the per-mode lists stay in metrics.json only)
_IN_REPORT = {"two_sample_accuracy", "two_sample_stderr", "two_sample_floor", "two_sample_floor_stderr",
              "two_sample_n", "spread", "spread_min", "spread_max", "mean_offset", "data_mean_offset",
              "high_quality", "high_quality_ideal", "modes", "num_modes", "reverse_kl"}


def _show(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)


def _json_safe(o):
    if isinstance(o, dict):
        return {str(k): _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    if hasattr(o, "item") and callable(o.item):
        return _json_safe(o.item())
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    return str(o)


def _write_outputs(res, out: Path) -> None:
    """metrics.json and the pictures (and samples.npy for 1-D/2-D data), each written atomically."""
    from fdiv.core.files import atomic_write_json
    cfg = res.config
    metrics = dict(res.metrics)
    metrics.update(divergence=cfg.divergence, dataset=cfg.dataset, seed=cfg.seed, conditional=cfg.conditional,
                   device=str(next(res.generator.parameters()).device), config=cfg.to_dict())
    atomic_write_json(out / "metrics.json", _json_safe(metrics))
    _write_pictures(res, out)


def _write_pictures(res, out: Path, n: int = 2500) -> None:
    from fdiv.viz import plots
    plt = plots._plt()
    ds, G, title = res.dataset, res.generator, f"{res.config.divergence} on {res.dataset.name}"
    if ds.kind == "image":
        nc = getattr(G, "num_classes", 0)
        if nc:
            import torch
            labels = torch.arange(nc).repeat_interleave(8)
            ax = plots.plot_image_grid(res.sample(len(labels), seed=res.config.seed, labels=labels), nrow=8,
                                       labels=labels, title=title)
        else:
            ax = plots.plot_image_grid(res.sample(64, seed=res.config.seed), nrow=8, title=title)
    else:
        x = res.sample(n, seed=res.config.seed)
        _save_npy(out / "samples.npy", x)
        if ds.kind == "2d":
            from fdiv.evaluation import twosample
            note = twosample.caption(res.metrics)
            ax = plots.plot_samples_2d(x, ds, title=title + (f"\n{note}" if note else ""))
        else:
            ax = plots.plot_density_1d(ds, samples=x, title=title)
    plots.save_figure(ax, out / "samples.png")
    plt.close(ax.figure)
    fig = plots.plot_curves(res.history, title=title, divergence=res.divergence)
    plots.save_figure(fig, out / "curves.png")
    plt.close(fig)


def _save_npy(path: Path, x) -> None:
    import numpy as np
    from fdiv.core.files import atomic_write
    atomic_write(path, lambda tmp: np.save(tmp, x.numpy().astype(np.float32)))


def _sample_inputs(args):
    """(generator, config, spec, n, out): everything validated, nothing written."""
    import torch
    from fdiv.core.checks import check_int
    from fdiv.core.runtime import default_device
    from fdiv.gan.training import load_checkpoint, models_from_checkpoint
    out = Path(args.out)
    if out.suffix.lower() not in (".npy", ".png"):
        raise ValueError(f"--out must end in .npy or .png, got {str(out)!r}")
    if out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a directory; name a file FILE.npy or FILE.png")
    if not out.parent.is_dir():
        raise ValueError(f"directory {str(out.parent)!r} does not exist")
    device = default_device(args.device) if args.device else torch.device("cpu")
    ck = load_checkpoint(args.checkpoint)
    G, _, cfg = models_from_checkpoint(ck, device)
    spec = ck["dataset_spec"]
    nc = getattr(G, "num_classes", 0)
    if args.label is not None and not nc:
        raise ValueError("--label given but the checkpoint's generator is unconditional")
    if args.label is not None:
        check_int("--label", args.label, 0, nc - 1)
    n = check_int("--n", args.n, 1) if args.n is not None else (64 if spec["kind"] == "image" else 2500)
    return G, cfg, spec, n, out


def run_sample(args) -> int:
    """Run ``fdiv sample`` with parsed ``args``; returns the exit status."""
    from fdiv.gan.models import generate
    try:
        G, cfg, spec, n, out = _sample_inputs(args)
        if args.refine:
            x = _refined(G, cfg, spec, n, args)
        else:
            x = generate(G, n, seed=args.seed, labels=args.label)
    except (ValueError, FloatingPointError) as e:
        _err("sample", str(e))
        return 2
    if out.suffix.lower() == ".npy":
        _save_npy(out, x)
    else:
        _sample_picture(x, cfg, spec, args.label, n, out)
    print(f"wrote {n} samples to {out}")
    return 0


def _refined(G, cfg, spec, n: int, args):
    """``fdiv sample --refine``: n samples of the generator refined by a critic fitted to it
    (:mod:`fdiv.gan.refine`); prints the raw and the refined metrics side by side."""
    import torch
    from fdiv.core.checks import check_int
    from fdiv.datasets import get_dataset
    from fdiv.evaluation import evaluate
    from fdiv.gan.models import generate
    from fdiv.gan.refine import fit_critic, rejection_sample
    from fdiv.gan.training.config import get_divergence
    if spec["kind"] not in ("1d", "2d") or getattr(G, "num_classes", 0):
        raise ValueError(f"--refine is for unconditional 1-D/2-D models; this checkpoint's is a "
                         f"{'conditional ' if getattr(G, 'num_classes', 0) else ''}{spec['kind']} model")
    steps = check_int("--refine-steps", args.refine_steps, 1)
    torch.set_num_threads(1)  # tiny networks: one thread is fastest
    d = get_divergence(cfg.divergence, cfg.divergence_params)
    ds = get_dataset(cfg.dataset, **cfg.dataset_params)
    print(f"fitting a {cfg.divergence} critic to the generator ({steps} steps) ...", flush=True)
    D = fit_critic(d, G, ds, steps=steps, seed=args.seed)
    res = rejection_sample(G, D, d, n, seed=args.seed)
    raw = generate(G, n, seed=args.seed)
    print(f"refined: acceptance {res.acceptance:.1%} of {res.drawn} candidates (log M = {res.log_m:.3g})")
    try:
        before, after = evaluate(ds, raw), evaluate(ds, res.samples)
    except (NotImplementedError, ValueError):
        return res.samples
    rows = [(k, before.get(k), after.get(k)) for k in ("two_sample_accuracy", "spread", "high_quality",
                                                        "reverse_kl", "modes")
            if isinstance(before.get(k), (int, float)) and isinstance(after.get(k), (int, float))]
    if rows:
        print(f"{'metric':<22}{'raw':>10}{'refined':>10}")
        for k, a, b in rows:
            print(f"{k:<22}{_metric(k, a):>10}{_metric(k, b):>10}")
    return res.samples


def _metric(name: str, v) -> str:
    if name == "high_quality":
        return f"{100 * v:.1f}%"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _sample_picture(x, cfg, spec, label, n: int, out: Path) -> None:
    from fdiv.datasets import get_dataset
    from fdiv.viz import plots
    plt = plots._plt()
    title = f"{cfg.divergence} on {spec['name']}" + (f", label {label}" if label is not None else "")
    if spec["kind"] == "image":
        ax = plots.plot_image_grid(x, nrow=min(8, n), title=title)
    else:
        try:
            ds = get_dataset(cfg.dataset, **cfg.dataset_params)
        except ValueError:
            ds = None
        ax = plots.plot_samples_2d(x, ds, title=title) if spec["kind"] == "2d" else \
            plots.plot_density_1d(ds, samples=x, title=title)
    plots.save_figure(ax, out)
    plt.close(ax.figure)
