"""The committed chapter notebooks match their sources and are ready for nbval and Colab; the
notebook builder (tools/build_notebooks.py) on small synthetic sources.

Chapters are written in book/src/NN_name.py (jupytext percent format); tools/build_notebooks.py puts
the set-up cell first and appends the chapter's exercises, rendered from the exercise registry
(fdiv.course.exercises.book); `make notebooks` regenerates and executes them (fast profile).
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "tools" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("build_notebooks", build_notebooks)
_spec.loader.exec_module(build_notebooks)

CHAPTERS = [
    "01_f_divergences", "02_sampling", "03_fenchel_conjugate", "04_variational_representation",
    "05_vdm", "06_gan_special_case", "07_training_gan", "08_classifier_view",
    "09_classifier_limits", "10_dcgan", "11_conditional_gan", "12_inference", "13_summary",
]
NOTEBOOKS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    assert toc["format"] == "jb-book"
    files = [toc["root"]]
    for part in toc.get("parts", []):
        assert part.get("caption"), "every part has a caption"
        files += [ch["file"] for ch in part["chapters"]]
    return files


def _url() -> str:
    return build_notebooks.repository_url(ROOT / "_config.yml")


REFERENCE_PAGES = ["book/api", "book/build"]  # Markdown pages after the chapters (not notebooks)


def test_toc_lists_the_chapters_and_they_exist():
    files = _toc_files()
    assert files[0] == "book/intro"
    assert files[1:1 + len(CHAPTERS)] == [f"book/{c}" for c in CHAPTERS]
    assert files[1 + len(CHAPTERS):] == REFERENCE_PAGES
    for f in files:
        candidates = [ROOT / f"{f}{ext}" for ext in (".ipynb", ".md")]
        assert any(p.exists() for p in candidates), f"{f} is in _toc.yml but has no .ipynb/.md"


def test_every_notebook_has_a_source_and_is_in_the_toc():
    toc = set(_toc_files())
    for nb in NOTEBOOKS:
        assert (BOOK / "src" / f"{nb.stem}.py").exists(), f"{nb.name} has no source book/src/{nb.stem}.py"
        assert f"book/{nb.stem}" in toc, f"{nb.name} is not in _toc.yml"


def test_exercise_sections_are_rendered_not_committed():
    """Exercise sections come from the registry at build time: no generated NN_exercises.py in the tree."""
    from fdiv.course.exercises import book

    assert not sorted((BOOK / "src").glob("*_exercises.py")), "generated exercise sources are not committed"
    numbers = {int(c[:2]) for c in CHAPTERS}
    assert set(book.chapters()) <= numbers, f"exercises of chapters without a chapter: {book.chapters()}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_is_up_to_date_with_its_sources(chapter):
    source = BOOK / "src" / f"{chapter}.py"
    assert source.exists(), f"missing chapter source {source.relative_to(ROOT)}"
    reasons = build_notebooks.stale_reasons(source, _url())
    assert not reasons, "; ".join(reasons) + " -- run `make notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_first_cell_is_the_colab_setup(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    first = nb.cells[0]
    url = _url()
    assert first.cell_type == "code"
    assert first.source == build_notebooks.colab_cell_source(url)
    assert f"git+{url}" in first.source and "%pip install" in first.source
    assert "default_device()" in first.source
    assert "remove-cell" in first.metadata.get("tags", [])
    assert any(c.cell_type == "markdown" and c.source.lstrip().startswith("# ") for c in nb.cells[1:3]), \
        "the chapter title (a '# ' heading) comes right after the set-up cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_executed_with_checked_outputs(path):
    """Committed notebooks hold fast-profile outputs (`make notebooks`); nbval compares the tagged ones."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    removed = [c for c in code if "remove-output" in c.metadata.get("tags", [])]
    not_run = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count is None
               and c not in removed]
    assert not not_run, f"{path.name}: cells {not_run} were not executed -- run `make notebooks`"
    checked = [c for c in code if build_notebooks.NBVAL_CHECK_TAG in c.metadata.get("tags", [])]
    assert checked, f"{path.name}: no cell tagged {build_notebooks.NBVAL_CHECK_TAG!r}"
    assert any(c.outputs for c in checked), f"{path.name}: the checked cells have no stored output"
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.get("output_type") == "error"
              and "raises-exception" not in c.metadata.get("tags", [])]
    assert not errors, f"{path.name}: cells {errors} stored an error"
    assert all(not c.outputs for c in removed), f"{path.name}: a remove-output cell kept its output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_check_output_is_published(path):
    """The check(...) cells under the exercises are the reader's to run: the committed notebook (what
    Colab opens) and the HTML page (myst-nb's remove-output tag) show none of their FAIL lines."""
    from fdiv.course.exercises.book import CHECK_TAGS

    nb = nbformat.read(path, as_version=4)
    checks = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("check(")]
    assert all(set(CHECK_TAGS) <= set(c.metadata.get("tags", [])) for c in checks)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "not implemented yet" not in text and "  FAIL  " not in text, f"{path.name} shows a FAIL output"


# --------------------------------------------------------------------------- the builder, on synthetic sources

DEMO = (
    "# Demo chapter: a file header, not part of the notebook.\n"
    "# %% [markdown]\n# # Title\n#\n# text $x$\n\n"
    "# %%\nx = 1\n\n"
    '# %% tags=["nbval-check-output", "hide-input"]\nprint(x)\n'
)


def test_reader_drops_the_header_and_reads_markers_and_tags(tmp_path):
    src = tmp_path / "99_demo.py"
    src.write_text(DEMO, encoding="utf-8")
    cells = build_notebooks.read_source(src)
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[0].source == "# Title\n\ntext $x$"
    assert cells[1].source == "x = 1"
    assert cells[1].metadata == {}, "jupytext's layout keys (lines_to_next_cell) are not kept"
    assert cells[2].metadata == {"tags": ["nbval-check-output", "hide-input"]}


@pytest.mark.parametrize("text, match", [
    ("x = 1\n# %%\ny = 2\n", "code before the first '# %%' cell marker"),
    ("# %% tags=oops\ny = 2\n", "cannot read the cell marker options 'tags=oops'"),
    ('# %% tags=["a", 3]\ny = 2\n', "98_bad.py: jupytext cannot read it .*tags=\\[\"a\", \"b\"\\]$"),
    ('# %% tags="a"\ny = 2\n', "98_bad.py: jupytext cannot read it .*'a' is not of type 'array'"),
    ("# %% [foo]\ny = 2\n", "unknown cell kind '\\[foo\\]'"),
])
def test_reader_rejects_malformed_sources_with_one_clear_reason(tmp_path, text, match):
    bad = tmp_path / "98_bad.py"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(build_notebooks.SourceError, match=match):
        build_notebooks.read_source(bad)


def _kinds(cells) -> list[str]:
    return [c.cell_type for c in cells]


def test_notebook_is_setup_source_then_the_chapters_exercises(tmp_path):
    from fdiv.course.exercises import all_exercises, book

    src = tmp_path / "01_demo.py"
    src.write_text(DEMO, encoding="utf-8")
    url = _url()
    nb = build_notebooks.build_notebook(src, url)
    nbformat.validate(nb)
    exs = all_exercises(1)
    assert exs, "chapter 1 has exercises"
    assert nb.cells[0].source == build_notebooks.colab_cell_source(url)
    assert nb.cells[1].source == "# Title\n\ntext $x$"
    section = nb.cells[4:]
    assert _kinds(section) == ["markdown", "code"] + ["markdown", "code", "code", "markdown"] * len(exs)
    assert section[0].source.startswith("## Exercises") and "dropdowns" in section[0].source
    assert section[1].source == book.PREAMBLE
    for i, e in enumerate(exs):
        directive, skel, chk, sol = section[2 + 4 * i: 6 + 4 * i]
        assert directive.source.startswith("````{exercise}") and f":label: {e.label}" in directive.source
        assert skel.source == book.skeleton(e) and f'raise NotImplementedError("Exercise {e.id}")' in skel.source
        assert chk.source == f'check("{e.id}", {e.name})'
        assert sol.source.startswith(f"````{{solution}} {e.label}\n:class: dropdown\n")
        assert book.solution_source(e) in sol.source
    assert len({c.id for c in nb.cells}) == len(nb.cells) and nb.cells[5].id == "01-005"


def test_student_notebook_has_no_solutions(tmp_path):
    from fdiv.course.exercises import all_exercises, book

    src = tmp_path / "01_demo.py"
    src.write_text(DEMO, encoding="utf-8")
    nb = build_notebooks.build_notebook(src, _url(), solutions=False)
    exs = all_exercises(1)
    section = nb.cells[4:]
    assert _kinds(section) == ["markdown", "code"] + ["markdown", "code", "code"] * len(exs)
    text = "\n".join(c.source for c in nb.cells)
    assert "{solution}" not in text and "dropdown" not in text
    for e in exs:
        body = book.solution_source(e).split(":", 1)[1]  # the solution's body, without its def line
        assert body.strip() not in text, f"the reference solution of {e.id} leaked into the student notebook"


def test_chapter_without_exercises_gets_no_section(tmp_path):
    src = tmp_path / "99_demo.py"
    src.write_text(DEMO, encoding="utf-8")
    nb = build_notebooks.build_notebook(src, _url())
    assert _kinds(nb.cells) == ["code", "markdown", "code", "code"]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A repository of one synthetic chapter (no exercises) for main()."""
    (tmp_path / "book" / "src").mkdir(parents=True)
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.org/demo\n", encoding="utf-8")
    (tmp_path / "book" / "src" / "99_demo.py").write_text(DEMO, encoding="utf-8")
    for name, value in [("ROOT", tmp_path), ("BOOK", tmp_path / "book"), ("SRC", tmp_path / "book" / "src"),
                        ("CONFIG", tmp_path / "_config.yml")]:
        monkeypatch.setattr(build_notebooks, name, value)
    return tmp_path


def test_check_reports_missing_stale_and_orphan_notebooks(tree, capsys):
    src, target = tree / "book" / "src" / "99_demo.py", tree / "book" / "99_demo.ipynb"
    assert build_notebooks.main(["--check"]) == 1
    assert "book/99_demo.ipynb is missing" in capsys.readouterr().err
    assert build_notebooks.main([]) == 0 and target.exists()
    assert build_notebooks.main(["--check"]) == 0
    assert "1 notebooks up to date" in capsys.readouterr().out
    src.write_text(DEMO.replace("x = 1", "x = 2"), encoding="utf-8")
    assert build_notebooks.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "book/99_demo.ipynb: cell 2 (from 99_demo.py) differs: line 1: sources 'x = 2', notebook 'x = 1'" in err
    assert "run `make notebooks`" in err
    src.write_text(DEMO.replace('"hide-input"', '"remove-input"'), encoding="utf-8")
    assert build_notebooks.main(["--check"]) == 1
    assert "cell 3 (from 99_demo.py) differs: sources give a code cell with tags ['nbval-check-output', " \
           "'remove-input']" in capsys.readouterr().err
    src.write_text(DEMO, encoding="utf-8")
    (tree / "book" / "98_orphan.ipynb").write_text("{}", encoding="utf-8")
    assert build_notebooks.main(["--check"]) == 1
    assert "98_orphan.ipynb in book/ has no source in src/" in capsys.readouterr().err


def test_regenerating_keeps_the_outputs_of_unchanged_cells(tree, capsys):
    target = tree / "book" / "99_demo.ipynb"
    assert build_notebooks.main([]) == 0
    nb = nbformat.read(target, as_version=4)
    out = nbformat.v4.new_output("stream", name="stdout", text="1\n")
    nb.cells[3].outputs, nb.cells[3].execution_count = [out], 3
    nbformat.write(nb, target)
    src = tree / "book" / "src" / "99_demo.py"
    src.write_text(DEMO.replace("text $x$", "other text"), encoding="utf-8")  # edit the prose only
    assert build_notebooks.main([]) == 0
    again = nbformat.read(target, as_version=4)
    assert again.cells[1].source == "# Title\n\nother text"
    assert again.cells[3].outputs == [out] and again.cells[3].execution_count == 3
    assert [c.id for c in again.cells] == [f"99-{i:03d}" for i in range(4)]
    assert again.metadata["fdiv"]["generated_from"] == ["book/src/99_demo.py"]
    assert json.loads(target.read_text(encoding="utf-8"))["nbformat_minor"] >= 5


def test_student_build_writes_elsewhere_and_refuses_book(tree, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        build_notebooks.main(["--no-solutions"])
    assert exc.value.code == 2 and "give --out DIR" in capsys.readouterr().err
    assert build_notebooks.main(["--no-solutions", "--out", str(tmp_path / "student")]) == 0
    assert (tmp_path / "student" / "99_demo.ipynb").exists()
    assert not (tree / "book" / "99_demo.ipynb").exists()
