"""The install path a reader takes on Colab, rehearsed offline.

Colab starts with torch, ipykernel and the scientific stack but without `fdiv`. The first cell of
every chapter then runs `%pip install "fdiv @ git+<repository>@v<release>"`. Here: a fresh virtual
environment with only torch and a kernel (as Colab has), a clone of this repository standing in
for the remote one (`git+file://`), and chapter 2 executed top to bottom with its set-up cell
pointing at that clone. The test passes only if the set-up cell really installed `fdiv` into the
fresh environment (not from this checkout) and every cell ran.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "colab" / "02_sampling.ipynb"  # what the Colab button opens
TORCH = os.environ.get("FDIV_TEST_TORCH", "torch==2.13.0")

pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def test_fresh_environment_installs_fdiv_from_the_repository_and_runs_a_chapter(tmp_path):
    if shutil.which("git") is None:
        pytest.fail("git is needed to rehearse the Colab install (pip installs from git+URL)")
    clone = tmp_path / "repo"
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)])  # what is committed, as the remote has it
    venv = tmp_path / "colab"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    try:  # Colab brings its own torch and kernel; the CPU wheel that lies on this disk plays that part
        _run([str(py), "-m", "pip", "install", "--quiet", TORCH, "ipykernel", "nbclient", "nbformat"])
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"could not prepare the Colab stand-in environment ({TORCH}): {exc.stderr[-2000:]}")
    probe = subprocess.run([str(py), "-c", "import fdiv"], capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode != 0, "the fresh environment must not see fdiv before the set-up cell"

    nb = nbformat.read(CHAPTER, as_version=4)
    setup = nb.cells[0]
    assert "%pip install" in setup.source and "git+https://" in setup.source
    url = setup.source.split("git+", 1)[1].split('"', 1)[0]  # the repository and @v<release>
    # pip wants a host in a git+file URL: git+file://localhost/abs/path
    setup.source = setup.source.replace(f"git+{url}", f"git+file://localhost{clone}")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    work = tmp_path / "work"
    work.mkdir()
    nb_in, nb_out = work / "chapter.ipynb", work / "executed.ipynb"
    nbformat.write(nb, nb_in)
    runner = (
        "import nbformat, nbclient, sys\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=900, kernel_name='python3', resources={'metadata': {'path': '.'}}).execute()\n"
        "nbformat.write(nb, sys.argv[2])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(FDIV_FAST="1", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run([str(py), "-c", runner, str(nb_in), str(nb_out)], cwd=work, env=env,
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, f"chapter failed in the fresh environment:\n{result.stderr[-4000:]}"

    executed = nbformat.read(nb_out, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    where = _run([str(py), "-c", "import fdiv, sys; print(fdiv.__file__)"], cwd=tmp_path).stdout.strip()
    assert where.startswith(str(venv)), f"fdiv was not installed into the fresh environment: {where}"
    setup_text = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    assert "device: cpu" in setup_text or "device: cuda" in setup_text
