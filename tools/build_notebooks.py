#!/usr/bin/env python
"""Generate the book's chapter notebooks from their jupytext percent-format sources.

    book/src/NN_name.py      chapter N, read by jupytext (format "py:percent")
      + chapter N's exercises, rendered from the exercise registry (fdiv.course.exercises.book)
        with the reference solutions of instructor/solutions.py in closed dropdowns
      -> book/NN_name.ipynb  nbformat v4, kernel python3

Source format (jupytext's percent format)::

    # Comment lines before the first marker are a file header, not part of the notebook.
    # %% [markdown]
    # # Title
    # prose, $math$ ...
    # %%
    code
    # %% tags=["nbval-check-output"]
    print(...)        # output compared by nbval (must be deterministic)

Every notebook starts with a set-up code cell (see ``colab_cell_source``) that, where
``fdiv`` is not importable (Colab, Binder), ``%pip install``s it from the repository
named once in ``_config.yml`` (``repository.url``), then picks the device.

Usage::

    python tools/build_notebooks.py               # regenerate; keep outputs of unchanged cells
    python tools/build_notebooks.py --execute     # regenerate and execute (FDIV_FAST=1), store outputs
    python tools/build_notebooks.py --check       # exit 1 if a committed notebook is stale
    python tools/build_notebooks.py --only 03     # restrict to chapters whose name starts with 03
    python tools/build_notebooks.py --no-solutions --out DIR   # student notebooks, no solutions

Outputs of unchanged cells are carried over by jupytext (``combine_inputs_with_outputs``, what
``jupytext --update`` does); edited code cells may keep their previous outputs, so run ``--execute``
(``make notebooks``) before committing. Committed notebooks hold the outputs of a fast-profile run;
nbval compares the cells tagged ``nbval-check-output``; ``make book`` re-executes every chapter.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
SRC = BOOK / "src"
CONFIG = ROOT / "_config.yml"
SOLUTIONS = ROOT / "instructor" / "solutions.py"

#: Tag of the set-up cell: hidden in the HTML book, present in the notebook.
SETUP_TAGS = ["remove-cell", "fdiv-setup"]
NBVAL_CHECK_TAG = "nbval-check-output"

CHAPTER_RE = re.compile(r"^(\d\d)_\w+$")
#: Cell metadata that only records the layout of the text file (jupytext's own keys).
LAYOUT_METADATA = ("lines_to_next_cell", "lines_to_end_of_cell_marker", "cell_marker")

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class SourceError(ValueError):
    """A chapter source that does not follow the percent format."""


# --------------------------------------------------------------------------- config

def repository_url(config_path: Path | None = None) -> str:
    """``repository.url`` of ``_config.yml`` (the one place that names the repository)."""
    import yaml

    config_path = config_path or CONFIG
    url = ((yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}).get("repository") or {}).get("url")
    if not url or not str(url).startswith("https://"):
        raise SystemExit(f"{config_path}: repository.url must be an https URL, got {url!r}")
    return str(url).rstrip("/")


def version() -> str:
    """This release of fdiv (``project.version`` of pyproject.toml)."""
    import tomllib
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


def release_requirement(url: str) -> str:
    """What the set-up cell installs where fdiv is missing: this release, from its git tag, with
    no extras (a reader needs neither Jupyter Book nor Sphinx)."""
    return f"fdiv @ git+{url}@v{version()}"


def colab_cell_source(url: str, requirement: str | None = None) -> str:
    """Source of the set-up cell inserted first in every chapter (lines of at most 88 characters).

    ``requirement``: what ``%pip install`` installs where fdiv is missing (default:
    :func:`release_requirement`)."""
    requirement = requirement or release_requirement(url)
    return (
        f"# Set-up. On Colab this installs the course package `fdiv` {version()}\n"
        f"# from {url} (about a minute);\n"
        "# where fdiv is installed already it does nothing.\n"
        "try:\n"
        "    import fdiv\n"
        "except ImportError:\n"
        f'    %pip install --quiet "{requirement}"\n'
        "    import fdiv\n"
        "from fdiv.core.runtime import default_device, fast_profile\n"
        "\n"
        "# the GPU where there is one (Colab: Runtime > Change runtime type)\n"
        "device = default_device()\n"
        'print(f"device: {device}; fast profile: {fast_profile()}")'
    )


# --------------------------------------------------------------------------- reading sources

def _check_cell(cell, path: Path, index: int) -> None:
    where = f"{path}: cell {index} ({cell.source.splitlines()[0][:60] if cell.source else 'empty'!r})"
    meta = cell.metadata
    if "incorrectly_encoded_metadata" in meta:
        raise SourceError(f"{where}: cannot read the cell marker options "
                          f"{meta['incorrectly_encoded_metadata']!r} (allowed: tags=[\"a\", \"b\"])")
    if "title" in meta:
        raise SourceError(f"{where}: unknown cell kind {meta['title']!r} (allowed: [markdown], none for code)")


def read_source(path: Path) -> list[nbformat.NotebookNode]:
    """The cells of a percent-format source (jupytext), without the file header."""
    text = path.read_text(encoding="utf-8")
    try:
        cells = jupytext.reads(text, fmt="py:percent").cells
    except Exception as exc:  # jupytext and nbformat reject some malformed markers (tags="a", tags=["a", 3])
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise SourceError(f"{path}: jupytext cannot read it ({type(exc).__name__}: {reason}); cell markers are "
                          "'# %%', '# %% [markdown]', optionally followed by tags=[\"a\", \"b\"]") from exc
    first = next((line for line in text.splitlines() if line.strip()), "")
    if cells and not first.startswith("# %%"):  # text before the first marker: the header
        header = cells.pop(0)
        code = [line for line in header.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if code:
            raise SourceError(f"{path}: code before the first '# %%' cell marker: {code[0]!r} "
                              "(only comment lines may come first)")
    for i, cell in enumerate(cells):
        for key in LAYOUT_METADATA:
            cell.metadata.pop(key, None)
        _check_cell(cell, path, i)
    return cells


# --------------------------------------------------------------------------- notebooks

def chapter_sources(only: list[str] | None = None, src: Path | None = None) -> list[Path]:
    """The chapter sources book/src/NN_name.py, sorted."""
    paths = sorted(p for p in (src or SRC).glob("*.py") if CHAPTER_RE.match(p.stem))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
    return paths


def notebook_path(chapter: Path, book: Path | None = None) -> Path:
    return (book or BOOK) / f"{chapter.stem}.ipynb"


def exercise_cells(chapter: Path, solutions: bool = True) -> list[nbformat.NotebookNode]:
    """Chapter NN's exercise section from the registry (with reference solutions unless told not)."""
    from fdiv.course.exercises import book

    return book.exercise_cells(int(chapter.stem[:2]), SOLUTIONS if solutions else None)


def build_notebook(chapter: Path, url: str, solutions: bool = True,
                   requirement: str | None = None) -> nbformat.NotebookNode:
    """The notebook for one chapter source (no outputs): set-up cell, the source's cells, exercises.

    ``solutions=False`` leaves the reference solutions out (student notebooks); ``requirement`` is
    what the set-up cell installs where fdiv is missing (see :func:`colab_cell_source`)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "colab": {"provenance": [], "toc_visible": True},
        "fdiv": {"generated_from": [chapter.relative_to(ROOT).as_posix() if chapter.is_relative_to(ROOT)
                                    else chapter.name],
                 "generator": "tools/build_notebooks.py"},
    }
    setup = nbformat.v4.new_code_cell(colab_cell_source(url, requirement), metadata={"tags": list(SETUP_TAGS)})
    nb.cells = [setup, *read_source(chapter), *exercise_cells(chapter, solutions)]
    for i, cell in enumerate(nb.cells):
        cell.id = f"{chapter.stem[:2]}-{i:03d}"
    nbformat.validate(nb)
    return nb


def cell_signature(cell) -> tuple:
    """What must agree between a source and its committed notebook."""
    tags = tuple(cell.get("metadata", {}).get("tags", []))
    return (cell.cell_type, cell.source, tags)


def carry_outputs(new: nbformat.NotebookNode, old: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``new`` with the outputs of ``old`` where jupytext matches the cells (``jupytext --update``)."""
    merged = combine_inputs_with_outputs(new, old)
    merged.metadata = new.metadata
    for cell, fresh in zip(merged.cells, new.cells):
        cell.id = fresh.id
    return merged


def execute_notebook(nb: nbformat.NotebookNode, timeout: int = 900) -> nbformat.NotebookNode:
    """Run every cell in book/ with FDIV_FAST=1; outputs are stored in ``nb``."""
    from nbclient import NotebookClient

    os.environ["FDIV_FAST"] = "1"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}}, record_timing=False)
    client.execute()
    for cell in nb.cells:  # keep diffs small: no per-run execution metadata
        cell.metadata.pop("execution", None)
        if "remove-output" in cell.metadata.get("tags", []):  # e.g. check(...) on the skeleton: the reader's
            cell.outputs = []
            cell.execution_count = None
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    text = nbformat.writes(nb) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _first_difference(want: tuple, have: tuple) -> str:
    if want[0] != have[0] or want[2] != have[2]:
        return f"sources give a {want[0]} cell with tags {list(want[2])}, notebook has {have[0]} with {list(have[2])}"
    want_lines, have_lines = want[1].splitlines(), have[1].splitlines()
    j = next((k for k, (p, q) in enumerate(zip(want_lines, have_lines)) if p != q),
             min(len(want_lines), len(have_lines)))

    def line(ls: list[str]) -> str:
        return repr(ls[j][:80]) if j < len(ls) else "(end of cell)"

    return f"line {j + 1}: sources {line(want_lines)}, notebook {line(have_lines)}"


def stale_reasons(chapter: Path, url: str, target: Path | None = None) -> list[str]:
    """Why the committed notebook of ``chapter`` does not match its sources (empty: up to date)."""
    target = target or notebook_path(chapter)
    name = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
    if not target.exists():
        return [f"{name} is missing"]
    want = build_notebook(chapter, url)
    have = nbformat.read(target, as_version=4)
    a = [cell_signature(c) for c in want.cells]
    b = [cell_signature(c) for c in have.cells]
    if a == b:
        return []
    n_source = 1 + len(read_source(chapter))
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            part = (f"exercise section, rendered from fdiv.course.exercises (chapter {chapter.stem[:2]})"
                    if i >= n_source else f"from {chapter.name}" if i else "the set-up cell")
            return [f"{name}: cell {i} ({part}) differs: {_first_difference(x, y)}"]
    return [f"{name}: {len(b)} cells, the sources give {len(a)}"]


def check(chapters: list[Path], url: str, book: Path) -> int:
    """``--check``: print every stale notebook with the reason; 1 if any, else 0."""
    problems = [r for ch in chapters for r in stale_reasons(ch, url, notebook_path(ch, book))]
    known = {notebook_path(ch).name for ch in chapter_sources(src=chapters[0].parent)}
    problems += [f"{p.name} in {book.name}/ has no source in {chapters[0].parent.name}/"
                 for p in sorted(book.glob("[0-9][0-9]_*.ipynb")) if p.name not in known]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("stale notebooks: run `make notebooks`", file=sys.stderr)
        return 1
    print(f"{len(chapters)} notebooks up to date")
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--execute", action="store_true", help="execute with FDIV_FAST=1 and store outputs")
    mode.add_argument("--check", action="store_true", help="fail if a committed notebook is stale")
    ap.add_argument("--only", nargs="*", help="chapter prefixes, e.g. 03 07")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell when executing")
    ap.add_argument("--no-solutions", action="store_true",
                    help="leave the reference solutions out (student notebooks; needs --out)")
    ap.add_argument("--out", type=Path, help="write the notebooks into this folder instead of book/")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    out = (args.out or BOOK).resolve()
    if args.no_solutions and (out == BOOK.resolve() or args.check):
        ap.error("--no-solutions writes student notebooks: give --out DIR (not book/), without --check")
    url = repository_url()
    chapters = chapter_sources(args.only)
    if not chapters:
        print(f"no chapter sources found in {SRC}", file=sys.stderr)
        return 1
    if args.check:
        return check(chapters, url, out)

    failed = []
    for ch in chapters:
        target = notebook_path(ch, out)
        nb = build_notebook(ch, url, solutions=not args.no_solutions)
        if args.execute:
            t0 = time.perf_counter()
            try:
                execute_notebook(nb, timeout=args.timeout)
            except Exception as exc:  # report every chapter, fail at the end
                failed.append(target.name)
                print(f"FAILED {target}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            print(f"executed {target} in {time.perf_counter() - t0:.1f} s")
        elif target.exists() and not args.no_solutions:
            nb = carry_outputs(nb, nbformat.read(target, as_version=4))
            print(f"wrote {target} (outputs carried over; run --execute to refresh edited cells)")
        else:
            print(f"wrote {target} (no outputs)")
        write(nb, target)
    if failed:
        print(f"execution failed for: {', '.join(failed)} (left unchanged)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
