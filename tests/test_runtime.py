"""Tests of fdiv.core.runtime helpers not covered elsewhere."""
from __future__ import annotations

import getpass
import sys
import tempfile
from pathlib import Path

import pytest

from fdiv.course.chapters import shared_folder


def test_shared_folder_is_per_user_under_the_temp_dir():
    p = shared_folder("conditional-digits")
    assert p.parent.parent == Path(tempfile.gettempdir())
    assert p.parent.name == f"fdiv-book-{getpass.getuser()}" and p.name == "conditional-digits"


# --------------------------------------------------------------------------- progress bars by default

class _Stderr:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, s):
        return len(s)

    def flush(self):
        pass


def test_progress_bar_is_shown_in_a_terminal_and_not_in_a_plain_pipe(monkeypatch):
    from fdiv.core.runtime import show_progress
    monkeypatch.setattr(sys, "stderr", _Stderr(True))
    assert show_progress() is True
    monkeypatch.setattr(sys, "stderr", _Stderr(False))
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert show_progress() is False


@pytest.mark.parametrize("widgets", [True, False])
def test_progress_bar_in_a_notebook_only_where_widgets_draw_it(monkeypatch, widgets):
    """Colab / JupyterLab (a kernel with ipywidgets) get tqdm.auto's bar; the book's build (a kernel
    without widgets) does not, so no stray bar text lands in the pages."""
    import importlib.util
    import types

    import IPython
    from fdiv.core.runtime import show_progress
    monkeypatch.setattr(sys, "stderr", _Stderr(False))
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object()))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (object() if widgets else None) if name == "ipywidgets" else real(name, *a))
    assert show_progress() is widgets
