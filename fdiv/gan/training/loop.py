"""The f-GAN / VDM training loop (chapters 5-7, 10, 11), in the style of the PyTorch DC-GAN example.

One iteration ("step") of :func:`train`:

1. ``critic_steps`` times: draw real x_1..x_B ~ P and noise z_1..z_B ~ N(0, I), x_hat_i = g_theta(z_i);
   take an Adam step of the critic w on -J (+ an optional gradient penalty),
   J = mean sigma_f(V_w(x_i)) - mean f*(sigma_f(V_w(x_hat_i)))  (:func:`~.steps.critic_step`);
2. one Adam step of the generator theta on the generator loss, re-using the last fake batch
   (:func:`~.steps.generator_step`); then the learning-rate schedules, the weight average (EMA), the
   history, snapshots and checkpoints.

Usage::

    import fdiv
    res = fdiv.train(divergence="gan", dataset="ring8", seed=0)   # = fdiv.gan.training.train
    res.metrics      # {'modes': 8, 'high_quality': 0.97, 'reverse_kl': 0.004, 'seconds': ...}
    res.history      # {'step': [...], 'loss_d': [...], 'loss_g': [...], 'divergence_estimate': [...]}
    x = res.sample(500)

Reproducibility: data and noise come from two CPU ``torch.Generator`` objects seeded from ``seed`` (the
models' initialisation from ``seed_everything(seed)``), so the same seed gives the same run on the CPU,
and a run resumed from its checkpoint (``resume=``) reproduces the uninterrupted run bit for bit
(:mod:`.checkpoint` saves every state).  With ``out``, a checkpoint is written every
``checkpoint_every`` steps and at the end; SIGINT/SIGTERM finish the current step, save one and raise
:class:`TrainingInterrupted`.  A non-finite loss stops training with :class:`TrainingDiverged` naming
the step; the last good checkpoint is left untouched.

Several processes (``torchrun --nproc_per_node=W -m fdiv train ...``, :mod:`.distributed`): each rank
computes the step on its B / W examples of the global batch, DistributedDataParallel averages the
gradients, the history is the mean over the ranks, every rank agrees on a signal at the end of each
step, and rank 0 alone writes.  The checkpoint does not depend on W; a collective call that fails
(a rank died or hung) raises :class:`~.distributed.ProcessLost`.
"""
from __future__ import annotations

import contextlib
import copy
import math
import platform
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import nn

from fdiv.core.runtime import check_memory, default_device, seed_everything, show_progress
from fdiv.gan.models import evaluate_generator, generate
from fdiv.gan.training.checkpoint import (CHECKPOINT_NAME, build_models, dataset_spec, load_checkpoint, rng_state,
                                          save_checkpoint, set_rng_state)
from fdiv.gan.training.config import TrainConfig, TrainSetup, prepare
from fdiv.gan.training.distributed import ProcessLost, World, lost_peer, per_rank_batch, session, under_torchrun
from fdiv.gan.training.steps import Amp, critic_step, generator_step, update_ema

__all__ = ["train", "TrainResult", "TrainingDiverged", "TrainingInterrupted", "ProcessLost", "check_fits",
           "derived_seed", "describe_environment"]

_LOSSES = ("the critic loss", "the generator loss", "the divergence estimate J")


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite.  ``step`` is the first bad step, ``checkpoint`` the last good one.

    The message names the divergence's recipe (critic steps, gradient penalty, learning rates): resuming
    the same configuration from the checkpoint would diverge at the same step again.
    """

    def __init__(self, step: int, what: str, checkpoint: Optional[str] = None, config: Optional[TrainConfig] = None):
        self.step, self.what, self.checkpoint = step, what, checkpoint
        where = f"the last good checkpoint {checkpoint} is intact" if checkpoint else "no checkpoint was written"
        hint = "Try a smaller learning rate, another divergence, or a gradient penalty."
        if config is not None:
            hint = (f"This configuration diverges again from any of its checkpoints; change the recipe of "
                    f"{config.divergence} on {config.dataset} (critic_steps={config.critic_steps}, "
                    f"gradient_penalty={config.gradient_penalty:g}, lr_d={config.lr_d:g}, lr_g={config.lr_g:g}), "
                    f"e.g. --critic-steps {config.critic_steps + 1} --gradient-penalty "
                    f"{max(1.0, 10 * config.gradient_penalty):g} --lr-d {config.lr_d / 2:g} --lr-g {config.lr_g / 2:g}, "
                    f"or RECIPES in fdiv/gan/training/recipes.py.")
        super().__init__(f"training diverged at step {step}: {what} is not finite; {where}. {hint}")


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training after ``step``; ``checkpoint`` holds that step (or is None)."""

    def __init__(self, step: int, signame: str, checkpoint: Optional[str]):
        self.step, self.signame, self.checkpoint = step, signame, checkpoint
        super().__init__(f"{signame} after step {step}" + (f"; checkpoint {checkpoint}" if checkpoint else ""))


@dataclass
class TrainResult:
    """What :func:`train` returns.  ``history`` lists are aligned (one entry per ``log_every`` steps)."""

    generator: nn.Module
    critic: nn.Module
    history: Dict[str, List[float]]
    metrics: Dict[str, Any]
    config: TrainConfig
    divergence: Any = None
    dataset: Any = None
    snapshots: List[Tuple[int, torch.Tensor]] = field(default_factory=list)
    checkpoint: Optional[str] = None
    environment: Dict[str, Any] = field(default_factory=dict)  # where it ran: describe_environment()

    def sample(self, n: int = 2500, seed: int = 0, labels=None) -> torch.Tensor:
        """n generated samples as a CPU tensor (see :func:`fdiv.gan.models.generate`)."""
        return generate(self.generator, n, seed=seed, labels=labels)


@dataclass
class Run:
    """The state of a training run: the models, optimisers, schedules, random streams and logs."""

    cfg: TrainConfig
    d: Any
    ds: Any
    device: torch.device
    G: nn.Module
    D: nn.Module
    G_ema: Optional[nn.Module]
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: Any
    sched_d: Any
    amp: Amp
    data_rng: torch.Generator
    noise_rng: torch.Generator
    world: World = field(default_factory=World)
    G_step: Optional[nn.Module] = None  # the modules the steps call: DistributedDataParallel wrappers or G, D
    D_step: Optional[nn.Module] = None
    custom: bool = False
    g_params: List[torch.Tensor] = field(default_factory=list)  # the generator's trainable parameters
    step: int = 0
    seconds: float = 0.0       # training time before this process (from the checkpoint)
    t0: float = 0.0
    history: Dict[str, List[float]] = field(default_factory=lambda: {k: [] for k in ("step", "loss_d", "loss_g",
                                                                                     "divergence_estimate")})
    pending: List[torch.Tensor] = field(default_factory=list)   # (loss_d, loss_g, J) per step, on the device
    pending_first: int = 1
    snapshots: List[Tuple[int, torch.Tensor]] = field(default_factory=list)
    checkpoint: Optional[Path] = None
    last_good: Optional[str] = None
    callback: Optional[Callable[[int, Dict[str, float]], None]] = None
    bar: Any = None
    stop: Optional[str] = None  # the name of a signal asking this process to stop
    stopping: Optional[str] = None  # the stop every process agreed on at the end of the step

    @property
    def G_out(self) -> nn.Module:
        """The generator that is evaluated, sampled, returned and saved (the EMA one when ema > 0)."""
        return self.G_ema if self.G_ema is not None else self.G

    def elapsed(self) -> float:
        return self.seconds + time.perf_counter() - self.t0


def derived_seed(seed: int, stream: int) -> int:
    """The seed of random stream ``stream`` (1 data, 2 noise, 3 snapshots) of a run seeded ``seed``."""
    return int(np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0] % (2**63))


# --------------------------------------------------------------------------- the loop
def train(config=None, out=None, resume=None, progress=None, *, generator: Optional[nn.Module] = None,
          critic: Optional[nn.Module] = None, callback: Optional[Callable[[int, Dict[str, float]], None]] = None,
          **kw) -> TrainResult:
    """Train an f-GAN; return a :class:`TrainResult`.

    ``config``: a :class:`TrainConfig`, a dict or a :class:`TrainSetup`; keyword arguments override its
    fields (``train(divergence="kl", dataset="grid25", steps=3000, seed=1)``).  ``out``: directory for
    ``checkpoint.pt``.  ``resume``: a checkpoint file or directory; training continues from its step to
    ``steps``.  ``progress``: override the config's progress bar.  ``generator``/``critic``: custom
    modules (the :mod:`fdiv.gan.models` contract).  ``callback(step, logs)`` runs at every history entry.

    Under torchrun (``WORLD_SIZE > 1``) every process calls ``train`` with the same arguments; they train
    one model together on shares of each global batch (:mod:`.distributed`).  Rank 0 alone reads
    ``resume``, writes ``out``, shows the bar, calls ``callback`` and evaluates: the other ranks' results
    hold the same trained networks and history, without evaluation metrics.
    """
    with session(_asked_device(config, kw)) as world:
        ck = world.from_rank0(lambda: load_checkpoint(resume)) if resume is not None else None
        reuse = isinstance(config, TrainSetup) and not kw and ck is None
        setup = config if reuse else prepare(config, ck, **kw)
        if progress is not None:
            setup.config.progress = bool(progress)
        with _cpu_threads(setup.config, setup.dataset):
            run = _start(setup, out, generator, critic, callback, world)
            try:
                with _progress_bar(run), _stop_on_signals(run):
                    _loop(run)
                return _finish(run)
            except RuntimeError as e:
                if world.distributed and lost_peer(e) and not isinstance(e, ProcessLost):
                    raise ProcessLost(world.rank, run.step + 1, e) from None
                raise


def _loop(run: Run) -> None:
    """Steps ``run.step + 1 .. cfg.steps`` (the module docstring's iteration); checkpoints, stops on a signal."""
    cfg = run.cfg
    shard = (run.world.rank, run.world.size) if run.world.distributed else None
    run.t0 = time.perf_counter()
    for step in range(run.step + 1, cfg.steps + 1):
        for k in range(cfg.critic_steps):
            x, y = _real_batch(run)
            J, loss_d, fake = critic_step(run.d, run.G_step, run.D_step, run.opt_d, x, _noise(run), y,
                                          penalty=_penalty(cfg, step), penalty_kind=cfg.penalty_kind,
                                          rng=run.noise_rng, amp=run.amp, keep_fake_graph=k == cfg.critic_steps - 1,
                                          shard=shard)
        # the critic's own module: the generator's loss sends no gradient to the critic's weights
        loss_g = generator_step(run.d, run.D, run.opt_g, fake, y, loss=cfg.generator_loss,
                                params=run.g_params, amp=run.amp, ranks_mean=run.world.mean)
        run.sched_d.step()
        run.sched_g.step()
        if run.G_ema is not None:
            update_ema(run.G_ema, run.G, step, cfg.ema)
        run.step = step
        _record(run, loss_d, loss_g, J)
        if cfg.snapshot_every and step % cfg.snapshot_every == 0:
            _snapshot(run)
        if run.checkpoint is not None and step % cfg.checkpoint_every == 0 and step != cfg.steps:
            _save(run)
        if run.stopping is not None:
            _save(run)
            raise TrainingInterrupted(step, run.stopping, run.last_good)
    _flush(run)


def _asked_device(config, kw):
    """The device a call of :func:`train` asks for, before its configuration is resolved (for the backend)."""
    if "device" in kw:
        return kw["device"]
    if isinstance(config, TrainSetup):
        config = config.config
    return config.get("device") if isinstance(config, dict) else getattr(config, "device", None)


# --------------------------------------------------------------------------- set-up
def _start(setup: TrainSetup, out, generator, critic, callback, world: World = World()) -> Run:
    """Models, optimisers, schedules and random streams of ``setup``, restored from its checkpoint; under
    torchrun the networks the steps call are wrapped in DistributedDataParallel."""
    cfg, ds, ck = setup.config, setup.dataset, setup.checkpoint
    device = _device(cfg, world)
    amp = _amp(cfg, device)
    batch = per_rank_batch(cfg.batch_size, world.size)
    seed_everything(cfg.seed)  # model initialisation
    custom = generator is not None or critic is not None
    G, D = (generator, critic) if (generator is not None and critic is not None) else build_models(cfg, ds)
    G = (generator if generator is not None else G).to(device)
    D = (critic if critic is not None else D).to(device)
    check_fits(cfg, ds, G, D, device, batch_size=batch)
    G_ema = copy.deepcopy(G).requires_grad_(False).eval() if cfg.ema > 0 else None
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    run = Run(cfg, setup.divergence, ds, device, G, D, G_ema, opt_g, opt_d, _schedule(opt_g, cfg),
              _schedule(opt_d, cfg), amp, torch.Generator().manual_seed(derived_seed(cfg.seed, 1)),
              torch.Generator().manual_seed(derived_seed(cfg.seed, 2)), world=world, custom=custom,
              callback=callback if world.writer else None, g_params=[p for p in G.parameters() if p.requires_grad])
    if ck is not None:
        _restore(run, ck)
    run.G_step, run.D_step = world.wrap(G, device), world.wrap(D, device)
    if out is not None:
        run.checkpoint = Path(out) / CHECKPOINT_NAME
        if world.writer:
            run.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        run.last_good = str(run.checkpoint) if run.checkpoint.exists() else None
    if not run.pending:
        run.pending_first = run.step + 1
    if cfg.snapshot_every and run.step == 0:
        _snapshot(run)
    G.train()
    D.train()
    return run


def _device(cfg: TrainConfig, world: World) -> torch.device:
    """The device of ``cfg``; under torchrun on CUDA, this rank's GPU (``cuda:LOCAL_RANK``)."""
    device = default_device(cfg.device)
    if world.distributed and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def _amp(cfg: TrainConfig, device: torch.device) -> Amp:
    """The mixed precision of ``cfg`` on ``device``: ``amp`` and fp16 need CUDA; bf16 runs on CUDA or the CPU."""
    if cfg.amp and device.type != "cuda":
        raise ValueError(f"amp=True needs a CUDA device; the device is {device} (--precision bf16 also runs on "
                         "a CPU)")
    if cfg.precision == "fp16" and device.type != "cuda":
        raise ValueError(f"precision 'fp16' needs a CUDA device; the device is {device}; allowed here: fp32, bf16")
    if cfg.precision == "bf16" and device.type not in ("cuda", "cpu"):
        raise ValueError(f"precision 'bf16' runs on CUDA or the CPU; the device is {device}; allowed here: fp32")
    if cfg.precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"this GPU ({torch.cuda.get_device_name(device)}) has no bfloat16; allowed: fp32, fp16")
    if cfg.amp:
        return Amp(True, device_type=device.type)
    return Amp(precision=cfg.precision, device_type=device.type)


def describe_environment(cfg: TrainConfig, ds, world: World = World()) -> Dict[str, Any]:
    """Where a run trains: versions, device, torch threads, seed, precision, world size and backend.

    The entry of ``ran_on`` in ``fdiv-run.json`` (:mod:`.rundir`) and :attr:`TrainResult.environment`."""
    from importlib import metadata
    device = _device(cfg, world)
    try:
        version = metadata.version("fdiv")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        version = "unknown"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or
                                                                            platform.machine())
    threads = _threads_for(cfg, ds) if device.type == "cpu" else None
    return {"fdiv": version, "torch": str(torch.__version__), "python": platform.python_version(),
            "platform": platform.platform(terse=True), "device": str(device), "device_name": name,
            "threads": threads or torch.get_num_threads(), "seed": cfg.seed, "precision": _amp(cfg, device).precision,
            "world_size": world.size, "backend": world.backend}


def _cosine(t: int, steps: int) -> float:
    """(1 + cos(pi t / steps)) / 2: from 1 at t = 0 down to 0 at t = steps."""
    return 0.5 * (1.0 + math.cos(math.pi * t / steps))


def _schedule(opt: torch.optim.Optimizer, cfg: TrainConfig):
    """The learning-rate schedule: factor 1 ("constant") or (1 + cos(pi t / steps)) / 2 at step t + 1 ("cosine")."""
    steps = cfg.steps
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: _cosine(t, steps))
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0)


def _penalty(cfg: TrainConfig, step: int) -> float:
    """The gradient penalty's weight at step t: gamma, or with ``penalty_end`` = e a cosine from gamma down to
    e gamma, gamma (e + (1 - e)(1 + cos(pi t / steps)) / 2) (chapter 7's stabilisers; the recipes of chapter 5)."""
    e = cfg.penalty_end
    if e is None:
        return cfg.gradient_penalty
    return cfg.gradient_penalty * (e + (1.0 - e) * _cosine(step, cfg.steps))


def _restore(run: Run, ck: Dict[str, Any]) -> None:
    """Load every state of checkpoint ``ck`` into ``run``."""
    if bool(ck.get("custom_models")) != run.custom:
        raise ValueError("cannot resume: the checkpoint was trained with " + (
            "custom models (pass generator=/critic=)" if ck.get("custom_models") else "the default models"))
    try:
        run.G.load_state_dict(ck["generator_raw"] if run.G_ema is not None else ck["generator"])
        if run.G_ema is not None:
            run.G_ema.load_state_dict(ck["generator"])
        run.D.load_state_dict(ck["critic"])
        run.opt_g.load_state_dict(ck["opt_g"])
        run.opt_d.load_state_dict(ck["opt_d"])
    except (RuntimeError, ValueError, KeyError) as e:
        raise ValueError(f"cannot resume from {ck['path']!r}: {str(e).splitlines()[0][:300]}") from None
    step = int(ck["step"])
    for sched, key in ((run.sched_g, "sched_g"), (run.sched_d, "sched_d")):
        if ck.get(key) is not None:
            sched.load_state_dict(ck[key])
        else:  # version 1: the optimiser holds the learning rate of the next step
            sched.last_epoch = step
    run.amp.load_state_dict(ck.get("amp"))
    set_rng_state(ck["rng"], run.data_rng, run.noise_rng, run.device)
    run.history = {k: list(v) for k, v in ck["history"].items()}
    run.snapshots = [(int(s), x) for s, x in ck.get("snapshots", [])]
    run.step, run.seconds = step, float(ck.get("seconds", 0.0))
    if ck.get("pending") is not None:  # the steps since the last history entry
        run.pending = [r.float().to(run.device) for r in ck["pending"]]
        run.pending_first = int(ck["pending_first"])


def check_fits(cfg: TrainConfig, ds, G: Optional[nn.Module] = None, D: Optional[nn.Module] = None,
               device=None, batch_size: Optional[int] = None) -> None:
    """Raise ``ValueError`` if a batch of ``batch_size`` (default ``cfg.batch_size``; under torchrun each
    process's share) cannot fit in the device's memory.

    Estimate per sample: the outputs of every layer of G and D on one sample (float32), kept for the
    backward pass of the critic (real and fake) and of the generator, twice over for the gradients.
    Without ``G``/``D`` the default models of ``cfg`` are built (on the CPU) for the estimate.
    """
    if G is None or D is None:
        G, D = build_models(cfg, ds)
        device = torch.device("cpu")
    device = default_device(cfg.device) if device is None else device
    acts = [0]

    def count(_m, _inp, out):
        if torch.is_tensor(out):
            acts[0] += out[0].numel()

    handles = [m.register_forward_hook(count) for m in list(G.modules()) + list(D.modules()) if not list(m.children())]
    try:
        with torch.no_grad():
            y = torch.zeros(2, dtype=torch.long, device=device) if cfg.conditional else None
            was = G.training, D.training
            G.eval(), D.eval()
            x = G(torch.zeros(2, G.latent_dim, device=device), y)
            D(x, y)
            G.train(was[0]), D.train(was[1])
    finally:
        for h in handles:
            h.remove()
    check_memory("batch_size", cfg.batch_size if batch_size is None else batch_size,
                 4 * (3 * acts[0] + 2 * int(np.prod(ds.shape))) * 2, default_device(cfg.device))


# --------------------------------------------------------------------------- small pieces
def _real_batch(run: Run):
    """This process's share of a global batch of ``batch_size`` real examples (all of it for one process)."""
    real = run.ds.sample(run.cfg.batch_size, run.data_rng)
    nonblock, shard = run.device.type == "cuda", run.world.shard
    if run.ds.num_classes > 0:
        x, y = real
        y = shard(y).to(run.device, non_blocking=nonblock) if run.cfg.conditional else None
    else:
        x, y = real, None
    return shard(x).to(run.device, non_blocking=nonblock), y


def _noise(run: Run) -> torch.Tensor:
    z = run.world.shard(torch.randn(run.cfg.batch_size, run.G.latent_dim, generator=run.noise_rng))
    return z.to(run.device, non_blocking=run.device.type == "cuda")


def _record(run: Run, loss_d, loss_g, J) -> None:
    """Keep the step's losses; on a history step (or a non-finite loss on the CPU) write the history entry.

    Every process agrees here on whether to stop (a signal reached any of them) and on a non-finite loss."""
    row = torch.stack([loss_d.detach().float(), loss_g.detach().float(), J.detach().float()])
    run.pending.append(row)
    bad = run.device.type == "cpu" and not bool(torch.isfinite(row).all())
    signum, bad = run.world.agree([int(signal.Signals[run.stop]) if run.stop else 0, bad])
    run.stopping = signal.Signals(signum).name if signum else None
    if bad:
        _flush(run)  # raises with the exact step
    if run.step % run.cfg.log_every == 0 or run.step == run.cfg.steps:
        _flush(run)
    if run.bar is not None:
        run.bar.update(1)


def _pending_rows(run: Run) -> Optional[torch.Tensor]:
    """The pending rows (CPU, float64; under torchrun the mean over the processes, i.e. over the global
    batch); raises TrainingDiverged at the first non-finite value."""
    if not run.pending:
        return None
    rows = run.world.mean(torch.stack(run.pending)).double().cpu()
    bad = ~torch.isfinite(rows)
    if bad.any():
        i, j = (int(t) for t in bad.nonzero()[0])
        raise TrainingDiverged(run.pending_first + i, _LOSSES[j], run.last_good, run.cfg)
    return rows


def _flush(run: Run) -> None:
    """Append the mean of the pending rows to the history; show it and call the callback."""
    rows = _pending_rows(run)
    if rows is None:
        return
    m = rows.mean(0).tolist()
    logs = dict(zip(("loss_d", "loss_g", "divergence_estimate"), m))
    run.history["step"].append(run.step)
    for k, v in logs.items():
        run.history[k].append(v)
    run.pending, run.pending_first = [], run.step + 1
    if run.bar is not None:
        run.bar.set_postfix(loss_d=f"{m[0]:.3f}", loss_g=f"{m[1]:.3f}", D_f=f"{m[2]:.3f}")
    if run.callback is not None:
        run.callback(run.step, logs)


def _snapshot(run: Run) -> None:
    if not run.world.writer:
        return
    run.snapshots.append((run.step, generate(run.G_out, run.cfg.snapshot_n, seed=derived_seed(run.cfg.seed, 3))))


def _save(run: Run, metrics: Optional[Dict[str, Any]] = None, seconds: Optional[float] = None,
          pending: Any = ...) -> None:
    """Write the checkpoint of ``run`` at its step (atomically), after checking that the weights are finite.

    Every process calls it at the same steps (the pending losses are averaged over them, unless ``pending``
    gives the rows of :func:`_pending_rows` already); rank 0 writes."""
    if run.checkpoint is None:
        return
    for name, m in (("generator", run.G), ("critic", run.D)):
        if not all(bool(torch.isfinite(p).all()) for p in m.parameters()):
            raise TrainingDiverged(run.step, f"the {name}'s parameters", run.last_good, run.cfg)
    pending = _pending_rows(run) if pending is ... else pending
    if not run.world.writer:
        return
    save_checkpoint({
        "config": run.cfg.to_dict(), "dataset_spec": dataset_spec(run.ds), "custom_models": run.custom,
        "step": run.step, "seconds": run.elapsed() if seconds is None else seconds,
        "generator": run.G_out.state_dict(), "critic": run.D.state_dict(),
        "generator_raw": run.G.state_dict() if run.G_ema is not None else None,
        "opt_g": run.opt_g.state_dict(), "opt_d": run.opt_d.state_dict(),
        "sched_g": run.sched_g.state_dict(), "sched_d": run.sched_d.state_dict(), "amp": run.amp.state_dict(),
        "rng": rng_state(run.data_rng, run.noise_rng, run.device),
        "history": run.history, "snapshots": run.snapshots, "metrics": metrics,
        "pending": pending, "pending_first": run.pending_first,
    }, run.checkpoint)
    run.last_good = str(run.checkpoint)


def _finish(run: Run) -> TrainResult:
    """The final metrics (on ``eval_samples`` samples, by rank 0) and checkpoint; the result."""
    seconds = run.elapsed()
    pending = _pending_rows(run)  # (every process, before rank 0 alone evaluates)
    metrics: Dict[str, Any] = {}
    try:
        if run.world.writer:
            metrics.update(evaluate_generator(run.ds, run.G_out, n=run.cfg.eval_samples, seed=run.cfg.seed))
    except NotImplementedError:  # pragma: no cover - a dataset without metrics
        pass
    metrics["seconds"] = round(seconds, 3)
    metrics["steps"] = run.cfg.steps
    est = run.history["divergence_estimate"]
    if est:
        metrics["divergence_estimate"] = float(np.mean(est[-max(1, len(est) // 10):]))
    _save(run, metrics, seconds, pending)
    run.G_out.eval()
    run.D.eval()
    return TrainResult(run.G_out, run.D, run.history, metrics, run.cfg, run.d, run.ds, run.snapshots,
                       str(run.checkpoint) if run.checkpoint and run.world.writer else None,
                       describe_environment(run.cfg, run.ds, run.world))


@contextlib.contextmanager
def _cpu_threads(cfg: TrainConfig, ds):
    """torch's CPU threads while training: ``cfg.threads``, or 1 for 1-D/2-D data; restored afterwards."""
    n = _threads_for(cfg, ds)
    old = torch.get_num_threads()
    if n and default_device(cfg.device).type == "cpu":
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _threads_for(cfg: TrainConfig, ds) -> Optional[int]:
    """The CPU threads a run sets: ``cfg.threads``, 1 for 1-D/2-D data, None (torch's own) for images."""
    return cfg.threads if cfg.threads is not None else (1 if ds.kind != "image" else None)


@contextlib.contextmanager
def _progress_bar(run: Run):
    """A tqdm bar (``cfg.progress``; None = :func:`~fdiv.core.runtime.show_progress`: a terminal, or a
    notebook that draws widgets) kept in ``run.bar``."""
    cfg = run.cfg
    show = cfg.progress if cfg.progress is not None else show_progress()
    if show and cfg.steps > run.step and run.world.writer:
        from tqdm.auto import tqdm
        run.bar = tqdm(total=cfg.steps, initial=run.step, desc=f"{cfg.divergence} on {cfg.dataset}", leave=False,
                       dynamic_ncols=True)
    try:
        yield run.bar
    finally:
        if run.bar is not None:
            run.bar.close()
            run.bar = None


@contextlib.contextmanager
def _stop_on_signals(run: Run):
    """With a checkpoint to write: SIGINT/SIGTERM ask the loop to stop after the current step (a second
    one interrupts at once, except under torchrun, which sends its own signal after a Ctrl-C and kills
    what is left when its grace period ends)."""
    if run.checkpoint is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum, _frame):
        if run.stop is not None:
            if under_torchrun():
                return
            raise KeyboardInterrupt
        run.stop = signal.Signals(signum).name

    old = {s: signal.signal(s, ask) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
