"""The run directory of ``fdiv train --out DIR``: trained into directly, marked by ``DIR/fdiv-run.json``.

``fdiv-run.json`` = ``{"format": "fdiv-run", "version": 1, "status": ..., "pid": ..., "command": ...,
"updated": ..., "ran_on": [...]}`` with status ``running`` (written before the first step; still there after
``kill -9``), ``interrupted`` (SIGINT/SIGTERM, or a lost process under torchrun: the checkpoint holds the
last saved step), ``diverged`` or ``complete``.  ``ran_on`` records where the run trained, one entry per
start (the first and each ``--resume``): ``{"started", "from_step", "fdiv", "torch", "python",
"platform", "device", "device_name", "threads", "seed", "precision", "world_size", "backend"}``
(``world_size`` processes under torchrun, ``backend`` gloo or nccl; 1 and null for one process).  Files
written before ``ran_on`` existed lack it and read as before.  Under torchrun only rank 0 writes here.  It is how
``--overwrite`` recognises a directory it may replace: only the files a run writes (:data:`RUN_FILES`)
are ever deleted, and a directory that is not a run is refused.  :func:`check_out` validates a
directory before anything is written; :func:`open_run` creates it (or continues it) and removes the
temporary files a killed process left behind.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from fdiv.core.files import atomic_write_json, remove_stale_temporaries

__all__ = ["RUN_FILE", "RUN_FILES", "read_run", "write_status", "check_out", "open_run"]

RUN_FILE = "fdiv-run.json"
RUN_FORMAT = "fdiv-run"
RUN_FILES = ("checkpoint.pt", "metrics.json", "samples.png", "curves.png", "samples.npy", RUN_FILE)
STATUSES = ("running", "interrupted", "diverged", "complete")


def read_run(directory) -> Optional[Dict[str, Any]]:
    """The metadata of the fdiv run in ``directory``, or None when it holds none (or a foreign file)."""
    p = Path(directory) / RUN_FILE
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == RUN_FORMAT else None


def write_status(directory, status: str, **extra) -> None:
    """Record ``status`` (one of :data:`STATUSES`) of the run in ``directory`` atomically; the ``ran_on``
    entries already there are kept unless ``extra`` gives them."""
    meta = {"format": RUN_FORMAT, "version": 1, "status": status, "pid": os.getpid(),
            "command": ["fdiv", *sys.argv[1:]], "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
    if "ran_on" not in meta:
        meta["ran_on"] = _ran_on(directory)
    atomic_write_json(Path(directory) / RUN_FILE, meta)


def _ran_on(directory) -> List[Dict[str, Any]]:
    """The ``ran_on`` entries of the run in ``directory`` (none for a new directory or an older file)."""
    entries = (read_run(directory) or {}).get("ran_on")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _some_files(d: Path, n: int = 4) -> str:
    names = sorted(p.name for p in d.iterdir())
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _check_path(out: Path) -> None:
    """Refuse the current directory and its parents, names too long, and paths under a regular file or a
    directory this process cannot write."""
    res, cwd = out.resolve(), Path.cwd().resolve()
    if res == cwd or res in cwd.parents:
        raise ValueError(f"--out {str(out)!r} is the current directory or one of its parents; name a new directory")
    for part in res.parts:
        if len(os.fsencode(part)) > 255:
            raise ValueError(f"--out {str(out)!r}: the name {part[:40]!r}... is longer than 255 bytes")
    up = res
    while not up.exists():
        up = up.parent
    if not up.is_dir():
        raise ValueError(f"--out {str(out)!r}: {str(up)!r} is a file, not a directory")
    if not os.access(up, os.W_OK | os.X_OK):
        raise ValueError(f"--out {str(out)!r}: cannot write in {str(up)!r} (permission denied or read-only)")


def check_out(out, *, overwrite: bool = False, resuming: bool = False) -> None:
    """Validate ``out`` before training (nothing is written).  ``resuming``: ``out`` is the run resumed."""
    out = Path(out)
    _check_path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a directory")
    meta = read_run(out)
    if meta is not None and meta.get("status") == "running" and _alive(meta.get("pid")):
        raise ValueError(f"--out {str(out)!r}: a run is in progress there (process {meta['pid']})")
    if resuming or not any(out.iterdir()):
        return
    if meta is None:
        raise ValueError(f"--out {str(out)!r} is not an fdiv run (it holds {_some_files(out)}); "
                         "nothing was changed: name a new directory")
    if not overwrite:
        what = "a finished" if meta.get("status") == "complete" else f"an {meta.get('status')}"
        raise ValueError(f"--out {str(out)!r} holds {what} fdiv run; continue it with `fdiv train --resume {out}` "
                         "or replace it with --overwrite")


def open_run(out, *, overwrite: bool = False, ran_on: Optional[Dict[str, Any]] = None) -> List[Path]:
    """Create (or reuse) the run directory and mark it ``running``; with ``overwrite``, first delete the
    files a previous run wrote there (:data:`RUN_FILES`; nothing else).  ``ran_on``: where this start
    trains, appended to the run's ``ran_on`` entries.  Returns the stale temporary files it removed.
    Raises ``ValueError`` if the directory cannot be created."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if overwrite and read_run(out) is not None:
            for name in RUN_FILES:
                if (out / name).is_file():
                    (out / name).unlink()
        stale = remove_stale_temporaries(out)
        write_status(out, "running", ran_on=_ran_on(out) + ([dict(ran_on)] if ran_on else []))
    except OSError as e:
        raise ValueError(f"--out {str(out)!r}: cannot write there ({e.strerror or e})") from None
    return stale


