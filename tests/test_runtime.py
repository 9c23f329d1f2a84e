"""Tests of fdiv.core.runtime helpers not covered elsewhere."""
from __future__ import annotations

import getpass
import tempfile
from pathlib import Path

from fdiv.course.chapters import shared_folder


def test_shared_folder_is_per_user_under_the_temp_dir():
    p = shared_folder("conditional-digits")
    assert p.parent.parent == Path(tempfile.gettempdir())
    assert p.parent.name == f"fdiv-book-{getpass.getuser()}" and p.name == "conditional-digits"
