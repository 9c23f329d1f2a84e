"""Helpers that only the chapters need."""
from __future__ import annotations

__all__ = ["shared_folder"]


def shared_folder(name: str):
    """``<system temp>/fdiv-book-<user>/<name>``: a per-user folder where one chapter leaves work for another
    (chapter 11 saves the conditional digits model there, chapter 12 loads it).  Not created here."""
    import getpass
    import tempfile
    from pathlib import Path
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "user"
    return Path(tempfile.gettempdir()) / f"fdiv-book-{user}" / name
