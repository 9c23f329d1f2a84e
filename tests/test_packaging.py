"""Packaging checks: pyproject.toml, environment.yml, the Makefile, README, CI script, wheel contents,
and the files that make the repository speak for itself (LICENSE, CHANGELOG.md, CONTRIBUTING.md)."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]

# conda-forge names of PyPI distributions, where they differ.
CONDA_ALIASES = {
    "torch": {"torch", "pytorch", "pytorch-cpu", "pytorch-gpu"},
}
# import name -> distribution name, where they differ.
IMPORT_TO_DIST = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "PIL": "pillow",
    "IPython": "ipython",
    "google": "google-colab",
}
# Imported by fdiv only where available (inside a function or a try block): not a hard dependency.
OPTIONAL_IMPORTS = {"torchvision", "IPython", "google", "ipywidgets", "matplotlib_inline", "tomllib", "tomli"}


def _name(requirement: str) -> str:
    """Distribution name of a PEP 508 requirement, normalised (lower case, '-')."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert m, f"cannot read requirement {requirement!r}"
    return re.sub(r"[-_.]+", "-", m.group(1)).lower()


def _env_names(entries) -> set[str]:
    names = set()
    for entry in entries:
        if isinstance(entry, dict):
            names |= _env_names(entry.get("pip", []))
        elif isinstance(entry, str):
            if entry.startswith("-"):
                continue
            names.add(_name(re.split(r"[=<>!~ ]", entry.split("::")[-1], maxsplit=1)[0]))
    return names


def _env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def test_runtime_dependencies_are_named_in_environment_yml():
    env_names = _env_names(_env()["dependencies"])
    missing = []
    for req in PROJECT["dependencies"]:
        name = _name(req)
        aliases = CONDA_ALIASES.get(name, {name})
        if not aliases & env_names:
            missing.append(name)
    assert not missing, f"environment.yml lacks runtime dependencies of pyproject.toml: {missing}"


def test_environment_yml_python_and_channels():
    env = _env()
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pythons = [d for d in deps if _name(d) == "python"]
    assert pythons, "environment.yml must name python"
    assert ">=3.10" in pythons[0].replace(" ", ""), pythons
    assert "conda-forge" in env.get("channels", [])
    assert not [d for d in deps if "==" in d], "no exact pins in environment.yml"


def test_no_exact_pins_in_pyproject():
    reqs = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        reqs += extra
    pinned = [r for r in reqs if "==" in r or "===" in r]
    assert not pinned, f"use ranges, not pins: {pinned}"


def test_python_and_required_dependencies():
    assert PROJECT["requires-python"].replace(" ", "") == ">=3.10"
    names = {_name(r) for r in PROJECT["dependencies"]}
    for needed in ["torch", "numpy", "sympy", "scipy", "matplotlib", "seaborn", "tqdm", "scikit-learn", "nbformat"]:
        assert needed in names, f"runtime dependency {needed} missing"
    torch_req = next(r for r in PROJECT["dependencies"] if _name(r) == "torch")
    assert ">=2.3" in torch_req.replace(" ", "")


def test_extras():
    extras = {k: {_name(r) for r in v} for k, v in PROJECT["optional-dependencies"].items()}
    assert {"jupyter-book", "ipykernel", "sphinx-exercise", "sphinxcontrib-bibtex", "nbclient", "nbformat"} <= extras["book"]
    assert {"pytest", "hypothesis", "nbval"} <= extras["test"]
    # README's local path: `pip install -e ".[jupyter]"`, then `jupyter lab book/`
    assert {"jupyterlab", "ipykernel", "ipywidgets"} <= extras["jupyter"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e ".[jupyter]"' in readme and "jupyter lab book/" in readme
    jb = next(r for r in PROJECT["optional-dependencies"]["book"] if _name(r) == "jupyter-book")
    assert ">=1" in jb and "<2" in jb, jb


def test_console_script_and_entry_point():
    assert PROJECT["scripts"] == {"fdiv": "fdiv.cli:main"}
    import importlib

    cli = importlib.import_module("fdiv.cli")
    assert callable(getattr(cli, "main", None)), "fdiv.cli.main must exist"


def test_packages_found_include_exercises():
    from setuptools import find_packages

    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    found = set(find_packages(where=str(ROOT), include=include))
    assert "fdiv" in found
    assert "fdiv.course.exercises" in found, "fdiv/exercises/__init__.py is missing"
    assert not {p for p in found if p.split(".")[0] in {"tests", "book", "tools", "bench", "instructor"}}


def _imports(path: Path):
    """(top-level module, is_optional) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Try, ast.FunctionDef, ast.AsyncFunctionDef)) or (
            isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        ):
            for child in ast.walk(node):
                if child is not node:
                    guarded.add(id(child))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], id(node) in guarded
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], id(node) in guarded


def test_third_party_imports_of_fdiv_are_declared():
    declared = {_name(r) for r in PROJECT["dependencies"]}
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    undeclared = {}
    for path in sorted((ROOT / "fdiv").rglob("*.py")):
        for module, guarded in _imports(path):
            if module in stdlib or module == "fdiv":
                continue
            if guarded and module in OPTIONAL_IMPORTS:
                continue
            if module in {"pytest", "_pytest"} and path.name.startswith("pytest_"):
                continue  # a pytest plugin module: only pytest itself loads it
            dist = _name(IMPORT_TO_DIST.get(module, module))
            if dist not in declared:
                undeclared.setdefault(dist, []).append(str(path.relative_to(ROOT)))
    assert not undeclared, f"fdiv imports packages pyproject.toml does not declare: {undeclared}"


def test_makefile_targets_and_install():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ["book", "test", "notebooks", "bench", "install"]:
        assert re.search(rf"^{target}:", text, re.M), f"Makefile lacks target {target}"
    assert "--upgrade-strategy eager" not in text
    assert "torch==2.13.0" in text
    assert 'pip install -e ".[book,test]"' in text
    assert "jupyter-book build . --all -W" in text
    assert "--nbval-lax" in text and "tools/nbval_sanitize.cfg" in text
    assert (ROOT / "tools" / "nbval_sanitize.cfg").is_file()


def test_make_test_checks_the_import_layers_first():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*?\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "Makefile lacks a test recipe"
    body = recipe.group(1)
    assert "$(VENV)/bin/lint-imports" in body, "make test must run lint-imports from the venv"
    assert body.index("lint-imports") < body.index("-m pytest tests"), "lint-imports runs before pytest"
    assert re.search(r"^lint:", text, re.M)
    assert "import-linter" in {_name(r) for r in PROJECT["optional-dependencies"]["test"]}
    assert PYPROJECT["tool"]["importlinter"]["root_package"] == "fdiv"


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:\w+)?\n(.*?)```", text, re.S)
    assert block, "README.md needs a code block with the two commands"
    commands = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make book", "make test"], commands
    assert text.index("```") < 400, "the two commands come first"


def test_ci_script():
    path = ROOT / ".ci" / "run"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/bash")
    assert "set -euo pipefail" in text
    assert re.search(r"^\s*make test\b", text, re.M), ".ci/run must run the README's test command"
    assert os.access(path, os.X_OK), ".ci/run must be executable (chmod +x)"
    assert "chromium" in text and "mathjax" in text.lower()


def test_wheel_contents(tmp_path):
    """Build the wheel (no dependencies, no isolation): it ships fdiv and fdiv.course.exercises, no tests/book."""
    src = tmp_path / "src"  # build from a copy: setuptools leaves build/ and *.egg-info behind
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copy(ROOT / "LICENSE", src / "LICENSE")
    shutil.copytree(ROOT / "fdiv", src / "fdiv", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0 and "No module named" in proc.stderr:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheels = list(out.glob("fdiv-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        names = zf.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "fdiv = fdiv.cli:main" in zf.read(entry_points).decode()
    assert "fdiv/__init__.py" in names
    assert "fdiv/exercises/__init__.py" in names
    assert "fdiv/py.typed" in names, "the typing marker declared in package-data ships"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert not [n for n in names if n.startswith(("tests/", "book/", "tools/", "bench/", "instructor/"))]


# --------------------------------------------------------------------------- a repository that speaks for itself

def test_license_is_mit_and_readme_names_the_licences():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "fdiv contributors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    licence = readme[readme.index("## Licence"):]
    assert "MIT" in licence and "CC BY 4.0" in licence, "README says the code's and the prose's licences"


def test_py_typed_marker_is_there_and_declared():
    assert (ROOT / "fdiv" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["fdiv"]


def test_version_comes_from_the_package_metadata():
    from importlib import metadata

    import fdiv

    assert fdiv.__version__ == metadata.version("fdiv") == PROJECT["version"]
    out = subprocess.run([sys.executable, "-m", "fdiv", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"fdiv {PROJECT['version']}", out.stdout + out.stderr


def test_changelog_has_unreleased_and_the_current_release():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog") and "keepachangelog.com" in text
    headings = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert headings[0] == "Unreleased", headings
    assert PROJECT["version"] in headings, f"CHANGELOG.md has no section for version {PROJECT['version']}"
    assert re.search(rf"^## \[{re.escape(PROJECT['version'])}\] - \d{{4}}-\d\d-\d\d$", text, re.M)


def test_contributing_documents_every_layer_and_how_to_extend():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for heading in ["## Architecture", "## Maths conventions", "## Adding a divergence", "## Adding a data set",
                    "## Adding a chapter", "## Adding an exercise"]:
        assert heading in text, f"CONTRIBUTING.md lacks {heading!r}"
    layers = PYPROJECT["tool"]["importlinter"]["contracts"][0]["layers"]
    missing = [layer for layer in layers if f"`{layer}`" not in text]
    assert not missing, f"CONTRIBUTING.md does not describe the layers {missing}"
    assert "lint-imports" in text and "f^*(t) = \\sup_{u > 0}" in text


def _repository_text_files() -> list[Path]:
    if shutil.which("git") is None:
        pytest.fail("git is needed to list the repository's files")
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    paths = [ROOT / p for p in out.split("\0") if p]
    return [p for p in paths if p.is_file() and p.suffix not in {".png", ".jpg", ".npy", ".pt", ".gz", ".zip"}]


# Words about who wrote what, and files outside the repository (the patterns never match themselves).
FORBIDDEN = {
    "a citation of a design file outside the repository": r"DESIGN\.md",
    "a path outside the repository": r"\.\./shared\b",
    "who owns a file": r"\bowned\s+by\b",
    "an author's code name": r"\bBOOK-[A-Z]\b",
    "a report outside the repository": r"\bproject\s+report\b",
    "who integrates": r"\b(the\s+lead|lead['\u2019]s)\b",
    "who wrote a part": r"\b(image|tooling|grading|training|core|book|match)\s+helper\b|\bwritten\s+by\s+helper\b",
}


def test_no_words_about_who_wrote_what():
    found = []
    for path in _repository_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for what, pattern in FORBIDDEN.items():
            for m in re.finditer(pattern, text, re.I):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what} ({m.group(0)!r})")
    assert not found, "\n".join(found)
