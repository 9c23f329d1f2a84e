"""What a reader of the book sees: chapter code short enough to read without scrolling."""
from __future__ import annotations

from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "book" / "src"
CHAPTERS = sorted(p for p in SRC.glob("[0-9][0-9]_*.py") if not p.stem.endswith("_exercises"))
MAX_CODE_LINE = 88


def code_lines(path: Path):
    """(line number, text) of the lines of code cells; markdown cells and comments are prose."""
    in_markdown = False
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("# %%"):
            in_markdown = "[markdown]" in line
            continue
        if not in_markdown and not line.lstrip().startswith("#"):
            yield i, line


def test_there_are_chapters():
    assert len(CHAPTERS) >= 13


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    long = [f"{path.name}:{i}: {len(line)} characters" for i, line in code_lines(path)
            if len(line) > MAX_CODE_LINE]
    assert not long, "\n".join(long)
