"""Training on several processes: ``torch.distributed`` for :func:`~fdiv.gan.training.loop.train` under torchrun.

``torchrun --nproc_per_node=N -m fdiv train ...`` starts N processes ("ranks") with ``WORLD_SIZE``,
``RANK`` and ``LOCAL_RANK`` in their environment.  When ``WORLD_SIZE > 1``, :func:`start` joins them in a
process group (``gloo`` on the CPU; on CUDA ``cpu:gloo,cuda:nccl``: NCCL for the tensors on the GPUs and
gloo for the small control messages, so that agreeing on a signal never waits for the GPU) and the loop
wraps the generator and the critic in ``DistributedDataParallel``.

Data parallelism, with the batch the user asked for.  ``batch_size`` is the *global* batch B; each of the
W ranks computes the losses on its share of b = B / W examples (:func:`per_rank_batch`: an error when W
does not divide B).  Every rank draws the whole global batch from the run's data and noise streams (the
same seeded ``torch.Generator`` on every rank) and keeps its slice ``[r b, (r + 1) b)``
(:meth:`World.shard`).  The trainer samples with replacement from generators rather than iterating over
epochs, so there is no epoch to partition (what a ``DistributedSampler`` does); slicing one global draw
gives each rank a disjoint share of every batch, the same global batch as one process, and random
streams that do not depend on W (a checkpoint resumes with another number of processes).  DDP averages
the ranks' gradients, and the mean over ranks of the shard means is the mean over the global batch:

    grad (1/B) sum_{i<B} l_i = (1/W) sum_r grad (1/b) sum_{i in shard r} l_i,

so one step of W processes equals one step of one process on the same global batch, up to the order of
floating-point additions.  (Layers with batch statistics, ``BatchNorm`` in the DC-GAN, normalise over each
rank's share, as DDP does by default.)

Agreement.  Ranks must take the same collective calls in the same order, so every decision that one rank
could take alone is agreed on: the signal that stops training and a non-finite loss (:meth:`World.agree`,
one tiny all-reduce per step), set-up errors (:meth:`World.first_error`), and what only rank 0 reads
(the checkpoint, the run directory: :meth:`World.from_rank0`).  Only rank 0 writes files.

Faults.  A rank that dies breaks the collectives of the others: they raise :class:`ProcessLost` (within
the process group's timeout, ``FDIV_DIST_TIMEOUT`` seconds, default :data:`DEFAULT_TIMEOUT_S`, also the
longest wait for a rank that hangs) instead of waiting forever; torchrun then stops the job.
"""
from __future__ import annotations

import contextlib
import datetime
import inspect
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence

import torch
from torch import nn

from fdiv.core.checks import check_int

__all__ = ["World", "ProcessLost", "ENV_TIMEOUT", "DEFAULT_TIMEOUT_S", "env_world", "timeout", "per_rank_batch",
           "start", "stop", "session", "current", "under_torchrun", "lost_peer"]

ENV_TIMEOUT = "FDIV_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0
_LOST: List[bool] = []  # set once this process has lost a peer: its process group is then left alone


class ProcessLost(RuntimeError):
    """A collective call failed: another process of the job died, hung past the timeout, or left."""

    def __init__(self, rank: int, step: Optional[int], cause: BaseException):
        self.rank, self.step = rank, step
        _LOST.append(True)
        at = f" at step {step}" if step is not None else ""
        try:
            limit = f"{timeout().total_seconds():g}"
        except ValueError:
            limit = os.environ.get(ENV_TIMEOUT, "")
        super().__init__(f"rank {rank} lost another process of the job{at} ({_cause(cause)}); every rank stops "
                         f"(a process that dies, or hangs for {ENV_TIMEOUT}={limit} s, stops the job)")


def _cause(e: BaseException) -> str:
    """The first sentence of a backend's error, without its source location ("[.../pair.cc:537] ")."""
    text = (str(e).strip().splitlines() or [""])[0]
    text = re.sub(r"^\[[^\]]*\]\s*", "", text).split(". ")[0]
    return text[:160] or type(e).__name__


def lost_peer(e: BaseException) -> bool:
    """Whether ``e`` is the failure of a collective call (a dead, hung or departed peer)."""
    if isinstance(e, ProcessLost):
        return True
    dist_error = getattr(torch.distributed, "DistError", None)
    if dist_error is not None and isinstance(e, dist_error):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and any(w in text for w in ("gloo", "Gloo", "NCCL", "Connection closed",
                                                                    "Connection reset", "Timed out", "timed out"))


@contextlib.contextmanager
def _set_up_call(rank: int):
    """A collective call of the set-up: its failure is a :class:`ProcessLost` (before any step)."""
    try:
        yield
    except RuntimeError as e:
        if lost_peer(e) and not isinstance(e, ProcessLost):
            raise ProcessLost(rank, None, e) from None
        raise


@dataclass(frozen=True)
class World:
    """This process's place in the job: ``rank`` of ``size`` processes (``local_rank`` on its node) and the
    ``backend`` of the process group (None for one process)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: Optional[str] = None

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def writer(self) -> bool:
        """Rank 0: the only process that writes files, prints results and shows a progress bar."""
        return self.rank == 0

    def shard(self, t: torch.Tensor) -> torch.Tensor:
        """This rank's slice ``[r b, (r + 1) b)`` of a global batch ``t`` (b = len(t) / size)."""
        if not self.distributed:
            return t
        b = per_rank_batch(t.shape[0], self.size)
        return t[self.rank * b:(self.rank + 1) * b]

    def agree(self, flags: Sequence[int]) -> List[int]:
        """The element-wise maximum of the integer ``flags`` over every rank (one all-reduce on the CPU)."""
        if not self.distributed:
            return [int(f) for f in flags]
        t = torch.tensor([int(f) for f in flags], dtype=torch.int64)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return t.tolist()

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """The mean of ``t`` over every rank (the global-batch value of per-rank batch means)."""
        if not self.distributed:
            return t
        t = t.clone()
        torch.distributed.all_reduce(t)  # SUM: gloo has no AVG
        return t / self.size

    def first_error(self, error: Optional[str]) -> Optional[str]:
        """Every rank's ``error`` (None: it succeeded) gathered; the first one, naming its rank, or None.
        (:class:`ProcessLost` if another rank is gone.)"""
        if not self.distributed:
            return error
        errors: List[Optional[str]] = [None] * self.size
        with _set_up_call(self.rank):
            torch.distributed.all_gather_object(errors, error)
        for r, e in enumerate(errors):
            if e is not None:
                return e if r == 0 else f"(rank {r}) {e}"
        return None

    def from_rank0(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` computed on rank 0 and sent to every rank; a ``ValueError`` there is raised everywhere.
        (:class:`ProcessLost` if rank 0 is gone.)"""
        if not self.distributed:
            return fn()
        box: List[Any] = [None]
        if self.writer:
            try:
                box[0] = ("ok", fn())
            except ValueError as e:
                box[0] = ("error", str(e))
        with _set_up_call(self.rank):
            torch.distributed.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise ValueError(value)
        return value

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """``module`` in ``DistributedDataParallel`` (rank 0's weights are copied to every rank), or itself.

        Buffers are not re-sent at every forward pass: the spectral-norm vectors and the mixture means
        stay equal on every rank by themselves, and only rank 0's batch-norm statistics are saved."""
        if not self.distributed or not any(p.requires_grad for p in module.parameters()):
            return module
        ids = [device.index] if device.type == "cuda" and device.index is not None else None
        params = inspect.signature(nn.parallel.DistributedDataParallel).parameters
        no_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in params else {"broadcast_buffers": False}
        return nn.parallel.DistributedDataParallel(module, device_ids=ids, **no_sync)


def under_torchrun() -> bool:
    """Whether torchrun (torch.distributed.elastic) started this process."""
    return "TORCHELASTIC_RUN_ID" in os.environ


def env_world() -> World:
    """This process's rank, world size and local rank from ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``
    (what torchrun and ``srun`` wrappers set); one process when ``WORLD_SIZE`` is unset.  The backend is
    left unset (the process group does not exist yet)."""
    env = os.environ
    if "WORLD_SIZE" not in env:
        return World()
    try:
        size = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError(f"WORLD_SIZE={env.get('WORLD_SIZE')!r}, RANK={env.get('RANK')!r}, "
                         f"LOCAL_RANK={env.get('LOCAL_RANK')!r}: each must be an integer (torchrun sets them)") from None
    check_int("WORLD_SIZE", size, 1)
    check_int("RANK", rank, 0, size - 1)
    check_int("LOCAL_RANK", local, 0)
    return World(rank, size, local)


def timeout() -> datetime.timedelta:
    """The process group's timeout: ``FDIV_DIST_TIMEOUT`` seconds (> 0), default :data:`DEFAULT_TIMEOUT_S`."""
    raw = os.environ.get(ENV_TIMEOUT)
    if raw is None or not raw.strip():
        return datetime.timedelta(seconds=DEFAULT_TIMEOUT_S)
    try:
        s = float(raw)
    except ValueError:
        s = float("nan")
    if not (s > 0 and s < 1e7):
        raise ValueError(f"{ENV_TIMEOUT}={raw!r}: expected a number of seconds > 0 (default {DEFAULT_TIMEOUT_S:g})")
    return datetime.timedelta(seconds=s)


def per_rank_batch(batch_size: int, world_size: int) -> int:
    """b = B / W, the examples each of W processes computes per step; a one-line error when W does not divide B."""
    if batch_size % world_size:
        lo, hi = (batch_size // world_size) * world_size, (batch_size // world_size + 1) * world_size
        near = f"{lo} or {hi}" if lo > 0 else f"{hi}"
        raise ValueError(f"batch_size {batch_size} is the global batch and must divide evenly among the "
                         f"{world_size} processes (each computes batch_size / {world_size}); allowed: a multiple "
                         f"of {world_size}, e.g. {near}")
    return batch_size // world_size


def _wants_cuda(device) -> bool:
    if device is None or str(device).lower() == "auto":
        return torch.cuda.is_available()
    return str(device).startswith("cuda")


def current() -> World:
    """The :class:`World` of the initialised default process group, or one process."""
    d = torch.distributed
    if not (d.is_available() and d.is_initialized()) or d.get_world_size() == 1:
        return World()
    backend = str(d.get_backend())
    name = "nccl" if "nccl" in backend else backend
    return World(d.get_rank(), d.get_world_size(), env_world().local_rank, name)


def start(device=None) -> World:
    """Join the process group of a torchrun job (``WORLD_SIZE > 1``) and return this process's :class:`World`.

    ``device``: the training device asked for (a name, None for the default) chooses the backend: gloo on
    the CPU, ``cpu:gloo,cuda:nccl`` on CUDA (this rank then uses ``cuda:LOCAL_RANK``).  A group that already
    exists is used as it is.  One process (``WORLD_SIZE`` unset or 1): nothing is initialised.
    Raises ``ValueError`` (one line) for a malformed environment or a backend that is missing.
    """
    d = torch.distributed
    if d.is_available() and d.is_initialized():
        return current()
    world = env_world()
    if not world.distributed:
        return world
    limit = timeout()
    if not d.is_available():
        raise ValueError(f"WORLD_SIZE={world.size} but this torch ({torch.__version__}) has no torch.distributed")
    cuda = _wants_cuda(device)
    if cuda and not d.is_nccl_available():
        raise ValueError("training on CUDA with several processes needs NCCL, which this torch lacks")
    if not d.is_gloo_available():
        raise ValueError("training with several processes needs the gloo backend, which this torch lacks")
    if cuda:
        torch.cuda.set_device(world.local_rank % max(1, torch.cuda.device_count()))
    d.init_process_group("cpu:gloo,cuda:nccl" if cuda else "gloo", timeout=limit)
    return current()


def stop(world: World) -> None:
    """Leave the process group (when this process is in one).  After a :class:`ProcessLost` the group is
    left to end with the process: tearing down a group whose peers are gone can block."""
    d = torch.distributed
    if world.distributed and d.is_available() and d.is_initialized() and not _LOST:
        d.destroy_process_group()


@contextlib.contextmanager
def session(device=None):
    """:func:`start` on entry; on exit leave the process group if this call created it."""
    made = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    world = start(device)
    try:
        yield world
    finally:
        if made:
            stop(world)
