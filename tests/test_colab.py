"""The Colab copies of the chapters (tools/colab.py): plain Jupyter Markdown, a pinned install, fresh;
and the book's launch buttons pointing at them (book/_ext/colab_launch.py)."""
from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


colab = _load("colab_tool", ROOT / "tools" / "colab.py")
launch = _load("colab_launch", ROOT / "book" / "_ext" / "colab_launch.py")
NOTEBOOKS = sorted((ROOT / "colab").glob("[0-9][0-9]_*.ipynb"))
MYST = re.compile(r"`{3,}\{|:{3,}\{|\{cite[:\w]*\}`|\{\w+\}`|^:(label|class):", re.M)


def test_every_chapter_has_a_fresh_colab_copy():
    book = sorted(p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert [p.name for p in NOTEBOOKS] == book
    assert colab.main(["--check"]) == 0, "colab/ is stale: run `python tools/colab.py` (make notebooks)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_copy_is_plain_markdown_with_a_pinned_install(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            m = MYST.search(cell.source)
            assert not m, f"{path.name} cell {i}: MyST left for Colab: {cell.source[m.start():][:80]!r}"
    setup = nb.cells[0].source
    release = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert f'"fdiv @ git+https://github.com/fdiv-course/fdiv@v{release}"' in setup
    assert "[book]" not in setup   # no Jupyter Book or Sphinx for a reader
    book = nbformat.read(ROOT / "book" / path.name, as_version=4)
    # the notebook the book's download button gives installs the same release
    assert book.cells[0].source == setup
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in book.cells]
    assert [c.get("outputs") for c in nb.cells] == [c.get("outputs") for c in book.cells]


BIB = {"nowozin2016fgan": {"author": "Nowozin, Sebastian and Cseke, Botond and Tomioka, Ryota", "year": "2016",
                           "title": "f-GAN"},
       "goodfellow2014gan": {"author": "Goodfellow, Ian", "year": "2014", "title": "GANs"},
       "two": {"author": "Lopez-Paz, David and Oquab, Maxime", "year": "2017", "title": "C2ST"}}


def test_directives_and_roles_become_markdown():
    text = ("Intro {cite:p}`nowozin2016fgan,goodfellow2014gan` and {cite:t}`two`.\n\n"
            "```{note}\nA note with $x$.\n```\n\n"
            "```{admonition} Minimising a bound\n:class: caution\nBody line.\n```\n\n"
            "````{exercise} The title\n:label: ex-5-2\n\nDo it.\n````\n\n"
            "````{solution} ex-5-2\n:class: dropdown\n\n```python\nx = 1\n```\n````\n\n"
            "```{only} html\nWeb only.\n```\nEnd, see {exercise}`ex-5-2`.")
    md = colab.to_markdown(text, BIB)
    assert "(Nowozin et al., 2016; Goodfellow, 2014)" in md and "Lopez-Paz and Oquab (2017)" in md
    assert "> **Note.**\n>\n> A note with $x$." in md
    assert "> **Minimising a bound.**\n>\n> Body line." in md
    assert "### Exercise 5.2: The title\n\nDo it." in md
    assert "<details>\n<summary>Solution</summary>\n\n```python\nx = 1\n```\n\n</details>" in md
    assert "Web only" not in md and md.endswith("End, see Exercise 5.2.")
    assert not MYST.search(md)
    with pytest.raises(KeyError, match="nokey"):
        colab.to_markdown("{cite:p}`nokey`", BIB)


def test_launch_buttons_open_the_colab_copy():
    c = "https://colab.research.google.com/github/fdiv-course/fdiv/blob/main/book/05_vdm.ipynb"
    b = "https://mybinder.org/v2/gh/fdiv-course/fdiv/main?urlpath=tree/book/05_vdm.ipynb"
    assert launch.colab_url(c).endswith("/blob/main/colab/05_vdm.ipynb")
    assert launch.colab_url(b).endswith("urlpath=tree/colab/05_vdm.ipynb")
    assert launch.colab_url("https://github.com/fdiv-course/fdiv") == "https://github.com/fdiv-course/fdiv"
    context = {"header_buttons": [{"label": "launch-buttons", "buttons": [{"url": c}, {"url": b}]},
                                  {"label": "download-buttons", "buttons": [{"url": "book/05_vdm.ipynb"}]}]}
    launch.retarget(None, "book/05_vdm", None, context, None)
    urls = [x["url"] for x in context["header_buttons"][0]["buttons"]]
    assert all("/colab/05_vdm.ipynb" in u for u in urls)
    assert context["header_buttons"][1]["buttons"][0]["url"] == "book/05_vdm.ipynb"
