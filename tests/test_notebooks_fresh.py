"""The committed chapter notebooks match their sources and are ready for nbval and Colab.

Chapters are written in book/src/NN_name.py (+ NN_exercises.py) and converted by
tools/build_notebooks.py; `make notebooks` regenerates and executes them (fast profile).
"""
from __future__ import annotations

import importlib.util
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


def test_toc_lists_the_chapters_and_they_exist():
    files = _toc_files()
    assert files[0] == "book/intro"
    assert files[1:] == [f"book/{c}" for c in CHAPTERS]
    for f in files:
        candidates = [ROOT / f"{f}{ext}" for ext in (".ipynb", ".md")]
        assert any(p.exists() for p in candidates), f"{f} is in _toc.yml but has no .ipynb/.md"


def test_every_notebook_has_a_source_and_is_in_the_toc():
    toc = set(_toc_files())
    for nb in NOTEBOOKS:
        assert (BOOK / "src" / f"{nb.stem}.py").exists(), f"{nb.name} has no source book/src/{nb.stem}.py"
        assert f"book/{nb.stem}" in toc, f"{nb.name} is not in _toc.yml"


def test_exercise_sources_belong_to_a_chapter():
    numbers = {c[:2] for c in CHAPTERS}
    for ex in (BOOK / "src").glob("*_exercises.py"):
        assert ex.stem[:2] in numbers, f"{ex.name} does not match a chapter number"


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
    not_run = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count is None]
    assert not not_run, f"{path.name}: cells {not_run} were not executed -- run `make notebooks`"
    checked = [c for c in code if build_notebooks.NBVAL_CHECK_TAG in c.metadata.get("tags", [])]
    assert checked, f"{path.name}: no cell tagged {build_notebooks.NBVAL_CHECK_TAG!r}"
    assert any(c.outputs for c in checked), f"{path.name}: the checked cells have no stored output"
    errors = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.get("output_type") == "error"
              and "raises-exception" not in c.metadata.get("tags", [])]
    assert not errors, f"{path.name}: cells {errors} stored an error"


def test_parser_reads_markers_and_tags(tmp_path):
    src = tmp_path / "99_demo.py"
    src.write_text(
        "# header comment, ignored\n"
        "# %% [markdown]\n# # Title\n#\n# text $x$\n\n"
        "# %%\nx = 1\n\n"
        '# %% tags=["nbval-check-output", "hide-input"]\nprint(x)\n',
        encoding="utf-8",
    )
    cells = build_notebooks.parse_source(src)
    assert [c.kind for c in cells] == ["markdown", "code", "code"]
    assert cells[0].source() == "# Title\n\ntext $x$"
    assert cells[1].source() == "x = 1"
    assert cells[2].metadata == {"tags": ["nbval-check-output", "hide-input"]}
    bad = tmp_path / "98_bad.py"
    bad.write_text("x = 1\n# %%\ny = 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="before the first"):
        build_notebooks.parse_source(bad)
    bad.write_text("# %% tags=oops\ny = 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tags"):
        build_notebooks.parse_source(bad)
