"""What a reader of the book sees: chapter code short enough to read without scrolling."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "book" / "src"
NOTEBOOKS = sorted(ROOT.glob("book/[0-9][0-9]_*.ipynb")) + sorted(ROOT.glob("colab/[0-9][0-9]_*.ipynb"))
CHAPTERS = sorted(p for p in SRC.glob("[0-9][0-9]_*.py") if not p.stem.endswith("_exercises"))
MAX_CODE_LINE = 88


def code_lines(path: Path):
    """(line number, text) of the lines of code cells, comments included (the reader sees them)."""
    in_markdown = None  # the file's header comment, before the first cell, is not shown
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line
            continue
        if in_markdown is False:
            yield i, line


def test_there_are_chapters():
    assert len(CHAPTERS) >= 13


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    long = [f"{path.name}:{i}: {len(line)} characters" for i, line in code_lines(path)
            if len(line) > MAX_CODE_LINE]
    assert not long, "\n".join(long)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_notebook_code_cells_fit_the_page(path):
    """What the notebooks show, generated cells included: the set-up cell, the exercise
    skeletons (signature and docstring) and the reference solutions."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    long = [f"{path.name}: cell {k}: {len(line)} characters: {line[:60]}..."
            for k, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, "\n".join(long)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_runs_of_blank_lines_in_code(path):
    """At most two blank lines in a row (PEP 8 between functions); more is a leftover gap."""
    text = path.read_text()
    gaps = [text[:m.start()].count("\n") + 2 for m in re.finditer(r"\n(?:[ \t]*\n){3,}", text)]
    assert not gaps, f"{path.name}: runs of three or more blank lines at lines {gaps}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_prose_inside_code_cells(path):
    """A Markdown heading in a code cell is a missing ``# %% [markdown]`` marker: the section
    would show as comments in a code block."""
    headings = [f"{path.name}:{i}: {line}" for i, line in code_lines(path)
                if re.match(r"# #{1,6} ", line)]
    assert not headings, "\n".join(headings)
