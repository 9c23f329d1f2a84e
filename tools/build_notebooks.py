#!/usr/bin/env python
"""Generate the book's chapter notebooks from their percent-format sources.

    book/src/NN_name.py            chapter N (written by the book authors)
    book/src/NN_exercises.py       optional: chapter N's exercises, appended at the end
        -> book/NN_name.ipynb      nbformat v4, kernel python3

Source format (a subset of jupytext's "percent" format)::

    # header comments before the first marker are ignored
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

Committed notebooks hold the outputs of a fast-profile run (``make notebooks``); nbval
compares the cells tagged ``nbval-check-output``; ``make book`` re-executes every chapter.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
SRC = BOOK / "src"
CONFIG = ROOT / "_config.yml"

#: The extra installed by the set-up cell where fdiv is missing (Colab, Binder).
COLAB_EXTRA = "book"
#: Tag of the set-up cell: hidden in the HTML book, present in the notebook.
SETUP_TAGS = ["remove-cell", "fdiv-setup"]
NBVAL_CHECK_TAG = "nbval-check-output"

CHAPTER_RE = re.compile(r"^(\d\d)_(?!exercises$)\w+$")
MARKER_RE = re.compile(r"^# %%(?P<rest>.*)$")
KIND_RE = re.compile(r"^\s*\[(?P<kind>\w+)\]")
META_RE = re.compile(r"\s*(?P<key>[A-Za-z_][\w-]*)=(?P<value>\[[^\]]*\]|\"[^\"]*\"|\S+)")

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class SourceError(ValueError):
    """A chapter source that does not follow the percent format."""


# --------------------------------------------------------------------------- config

def repository_url(config_path: Path = CONFIG) -> str:
    """``repository.url`` of ``_config.yml`` (the one place that names the repository)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - pyyaml comes with jupyter-book
        yaml = None
    text = config_path.read_text(encoding="utf-8")
    if yaml is not None:
        url = ((yaml.safe_load(text) or {}).get("repository") or {}).get("url")
    else:  # minimal fallback: the first `url:` line inside the repository block
        m = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", text, re.M)
        url = m.group(1) if m else None
    if not url or not str(url).startswith("https://"):
        raise SystemExit(f"{config_path}: repository.url must be an https URL, got {url!r}")
    return str(url).rstrip("/")


def colab_cell_source(url: str) -> str:
    """Source of the set-up cell inserted first in every chapter."""
    return (
        "# Set-up. On Colab or Binder this installs the course package `fdiv` from\n"
        f"# {url} (takes a minute); locally (`make book`, `pip install -e .`) it does nothing.\n"
        "try:\n"
        "    import fdiv\n"
        "except ImportError:\n"
        f'    %pip install --quiet "fdiv[{COLAB_EXTRA}] @ git+{url}"\n'
        "    import fdiv\n"
        "from fdiv.core.runtime import default_device, fast_profile\n"
        "\n"
        "device = default_device()  # the GPU where there is one (Colab: Runtime > Change runtime type)\n"
        'print(f"device: {device}; fast profile: {fast_profile()}")'
    )


# --------------------------------------------------------------------------- parsing

@dataclass
class Cell:
    kind: str  # "code" or "markdown"
    lines: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    lineno: int = 0

    def source(self) -> str:
        lines = list(self.lines)
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)


def _parse_marker(rest: str, path: Path, lineno: int) -> tuple[str, dict]:
    kind = "code"
    m = KIND_RE.match(rest)
    if m:
        kind = m.group("kind")
        if kind not in ("markdown", "md", "code"):
            raise SourceError(f"{path}:{lineno}: unknown cell kind [{kind}] (allowed: [markdown], none for code)")
        kind = "markdown" if kind in ("markdown", "md") else "code"
        rest = rest[m.end():]
    metadata: dict = {}
    pos = 0
    rest = rest.rstrip()
    while pos < len(rest):
        m = META_RE.match(rest, pos)
        if not m:
            raise SourceError(
                f"{path}:{lineno}: cannot read cell marker options {rest[pos:]!r} "
                '(allowed: tags=["a", "b"])'
            )
        key, value = m.group("key"), m.group("value")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        if key == "tags":
            if not (isinstance(parsed, list) and all(isinstance(t, str) for t in parsed)):
                raise SourceError(f"{path}:{lineno}: tags must be a JSON list of strings, got {value!r}")
        metadata[key] = parsed
        pos = m.end()
    return kind, metadata


def parse_source(path: Path) -> list[Cell]:
    """Cells of a percent-format source file."""
    cells: list[Cell] = []
    current: Cell | None = None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = MARKER_RE.match(line)
        if m and (not m.group("rest") or m.group("rest")[0] in " \t"):
            kind, metadata = _parse_marker(m.group("rest"), path, lineno)
            current = Cell(kind, [], metadata, lineno)
            cells.append(current)
            continue
        if current is None:
            if line.strip() and not line.lstrip().startswith("#"):
                raise SourceError(f"{path}:{lineno}: code before the first '# %%' cell marker: {line!r}")
            continue  # a header comment: not part of the notebook
        if current.kind == "markdown":
            if line.startswith("# "):
                line = line[2:]
            elif line.rstrip() == "#":
                line = ""
            elif line.strip():
                raise SourceError(
                    f"{path}:{lineno}: a markdown cell's lines must start with '# ' (got {line!r})"
                )
            else:
                line = ""
        current.lines.append(line)
    return [c for c in cells if c.source() or c.metadata]


# --------------------------------------------------------------------------- notebooks

def chapter_sources(only: list[str] | None = None) -> list[Path]:
    """The chapter sources book/src/NN_name.py (exercise files excluded), sorted."""
    paths = sorted(p for p in SRC.glob("*.py") if CHAPTER_RE.match(p.stem))
    if only:
        paths = [p for p in paths if any(p.stem.startswith(o) for o in only)]
    return paths


def exercises_source(chapter: Path) -> Path:
    return chapter.with_name(f"{chapter.stem[:2]}_exercises.py")


def notebook_path(chapter: Path) -> Path:
    return BOOK / f"{chapter.stem}.ipynb"


def build_notebook(chapter: Path, url: str) -> nbformat.NotebookNode:
    """The notebook for one chapter source (no outputs)."""
    cells = parse_source(chapter)
    ex = exercises_source(chapter)
    if ex.exists():
        cells += parse_source(ex)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "colab": {"provenance": [], "toc_visible": True},
        "fdiv": {"generated_from": [str(p.relative_to(ROOT)) for p in (chapter, ex) if p.exists()],
                 "generator": "tools/build_notebooks.py"},
    }
    setup = nbformat.v4.new_code_cell(colab_cell_source(url), metadata={"tags": list(SETUP_TAGS)})
    nb.cells.append(setup)
    for c in cells:
        if c.kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(c.source())
        else:
            cell = nbformat.v4.new_code_cell(c.source())
        if c.metadata:
            cell.metadata.update(c.metadata)
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{chapter.stem[:2]}-{i:03d}"
    nbformat.validate(nb)
    return nb


def cell_signature(cell) -> tuple:
    """What must agree between a source and its committed notebook."""
    tags = tuple(cell.get("metadata", {}).get("tags", []))
    return (cell.cell_type, cell.source, tags)


def carry_outputs(new: nbformat.NotebookNode, old: nbformat.NotebookNode) -> int:
    """Copy outputs of unchanged code cells (same source, in order) from ``old``; return how many."""
    pool: dict[str, list] = {}
    for cell in old.cells:
        if cell.cell_type == "code":
            pool.setdefault(cell.source, []).append(cell)
    n = 0
    for cell in new.cells:
        if cell.cell_type == "code" and pool.get(cell.source):
            prev = pool[cell.source].pop(0)
            cell.outputs = prev.get("outputs", [])
            cell.execution_count = prev.get("execution_count")
            n += 1
    return n


def execute_notebook(nb: nbformat.NotebookNode, timeout: int = 900) -> nbformat.NotebookNode:
    """Run every cell in book/ with FDIV_FAST=1; outputs are stored in ``nb``."""
    from nbclient import NotebookClient

    os.environ["FDIV_FAST"] = "1"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(BOOK)}},
        record_timing=False,
    )
    client.execute()
    for cell in nb.cells:  # keep diffs small: no per-run execution metadata
        cell.metadata.pop("execution", None)
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    text = nbformat.writes(nb) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def stale_reasons(chapter: Path, url: str) -> list[str]:
    """Why the committed notebook of ``chapter`` does not match its sources (empty: up to date)."""
    target = notebook_path(chapter)
    if not target.exists():
        return [f"{target.relative_to(ROOT)} is missing"]
    want = build_notebook(chapter, url)
    have = nbformat.read(target, as_version=4)
    a = [cell_signature(c) for c in want.cells]
    b = [cell_signature(c) for c in have.cells]
    if a == b:
        return []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            if x[0] != y[0] or x[2] != y[2]:
                what = f"sources give a {x[0]} cell with tags {list(x[2])}, notebook has {y[0]} with {list(y[2])}"
            else:
                want_lines, have_lines = x[1].splitlines(), y[1].splitlines()
                j = next((k for k, (p, q) in enumerate(zip(want_lines, have_lines)) if p != q),
                         min(len(want_lines), len(have_lines)))
                def line(ls: list[str]) -> str:
                    return repr(ls[j][:80]) if j < len(ls) else "(end of cell)"

                what = f"line {j + 1}: sources {line(want_lines)}, notebook {line(have_lines)}"
            return [f"{target.relative_to(ROOT)}: cell {i} differs from the sources ({what})"]
    return [f"{target.relative_to(ROOT)}: {len(b)} cells, the sources give {len(a)}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--execute", action="store_true", help="execute with FDIV_FAST=1 and store outputs")
    mode.add_argument("--check", action="store_true", help="fail if a committed notebook is stale")
    ap.add_argument("--only", nargs="*", help="chapter prefixes, e.g. 03 07")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell when executing")
    args = ap.parse_args(argv)

    url = repository_url()
    chapters = chapter_sources(args.only)
    if not chapters:
        print(f"no chapter sources found in {SRC}", file=sys.stderr)
        return 1
    if args.check:
        problems = [r for ch in chapters for r in stale_reasons(ch, url)]
        known = {notebook_path(ch).name for ch in chapter_sources()}
        problems += [f"book/{p.name} has no source in book/src/"
                     for p in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")) if p.name not in known]
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            print("stale notebooks: run `make notebooks`", file=sys.stderr)
            return 1
        print(f"{len(chapters)} notebooks up to date")
        return 0

    failed = []
    for ch in chapters:
        target = notebook_path(ch)
        nb = build_notebook(ch, url)
        if args.execute:
            t0 = time.perf_counter()
            try:
                execute_notebook(nb, timeout=args.timeout)
            except Exception as exc:  # report every chapter, fail at the end
                failed.append(target.name)
                print(f"FAILED {target.relative_to(ROOT)}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            print(f"executed {target.relative_to(ROOT)} in {time.perf_counter() - t0:.1f} s")
        elif target.exists():
            kept = carry_outputs(nb, nbformat.read(target, as_version=4))
            print(f"wrote {target.relative_to(ROOT)} (outputs kept for {kept} unchanged code cells)")
        else:
            print(f"wrote {target.relative_to(ROOT)} (no outputs: run with --execute)")
        write(nb, target)
    if failed:
        print(f"execution failed for: {', '.join(failed)} (left unchanged)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
