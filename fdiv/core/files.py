"""Atomic file writes: a file is either absent, its old version, or complete -- never half-written.

:func:`atomic_write` writes through a temporary file in the target's own directory (same file system,
so :func:`os.replace` is an atomic rename) and removes the temporary file on any error.  Temporary
names are short (``.fdiv-tmp-<pid>-<random><suffix>``) whatever the target's name, so a legal long name
stays legal, and they share the prefix :data:`TEMP_PREFIX`, so :func:`remove_stale_temporaries` can
clear what a killed process left behind.  Used by checkpoints, pictures, samples and run metadata.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Callable, List, Union

__all__ = ["TEMP_PREFIX", "atomic_write", "atomic_write_text", "atomic_write_json", "remove_stale_temporaries"]

TEMP_PREFIX = ".fdiv-tmp-"


def _temp_name(path: Path) -> Path:
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")


def atomic_write(path: Union[str, Path], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` to create a temporary file beside ``path``, then rename it to ``path``.

    ``tmp`` ends in ``path``'s suffix (``np.save`` and ``savefig`` choose their format from it).  If
    ``write`` raises, or ``path`` is a directory, the temporary file is removed and the error re-raised
    (``IsADirectoryError`` for a directory) with nothing changed at ``path``.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory")
    tmp = _temp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path: Union[str, Path], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Union[str, Path], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def remove_stale_temporaries(directory: Union[str, Path]) -> List[Path]:
    """Delete the temporary files of :func:`atomic_write` in ``directory`` (left by a killed process).

    Only plain files whose name starts with :data:`TEMP_PREFIX` are removed; returns them.
    """
    d = Path(directory)
    removed = []
    if d.is_dir():
        for p in d.iterdir():
            if p.name.startswith(TEMP_PREFIX) and p.is_file() and not p.is_symlink():
                p.unlink()
                removed.append(p)
    return removed
