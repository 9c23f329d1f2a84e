#!/usr/bin/env python
"""Colab-ready copies of the chapter notebooks: plain Jupyter Markdown, a pinned install.

    book/NN_name.ipynb   the HTML book's notebook (MyST: directives, roles, the set-up cell)
      -> colab/NN_name.ipynb   what the Colab and Binder buttons open

Colab and Jupyter render CommonMark, not MyST, so each Markdown cell is rewritten:

* admonitions (note, warning, caution, tip, admonition) become block quotes with a bold title;
* ``{exercise}`` becomes a heading "Exercise N.k: title"; ``{solution}`` a closed ``<details>`` block;
* ``{only} html`` blocks are left out (they speak about the web page);
* ``{cite:p}`key``` becomes "(Author et al., Year)", ``{cite:t}`` "Author et al. (Year)" (from
  book/references.bib); ``{bibliography}`` the list of references; other roles their plain text.

The set-up cell is the book notebook's own (tools/build_notebooks.py): it installs the release
the notebook belongs to, ``fdiv @ git+URL@vVERSION`` (the git tag of pyproject.toml's version), with
no extra: a reader needs neither Jupyter Book nor Sphinx.
Outputs are the book notebook's (fast profile).  The HTML book keeps its directives, and its launch
buttons point here (book/_ext/colab_launch.py).

Usage::

    python tools/colab.py            # regenerate colab/ from book/
    python tools/colab.py --check    # exit 1 if colab/ is stale
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
COLAB = ROOT / "colab"
BIB = BOOK / "references.bib"

FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
ADMONITIONS = {"note": "Note", "warning": "Warning", "caution": "Caution", "tip": "Tip",
               "important": "Important", "hint": "Hint", "attention": "Attention", "danger": "Danger",
               "seealso": "See also"}


# --------------------------------------------------------------------------- references

def read_bib(path: Path = BIB) -> dict[str, dict[str, str]]:
    """{key: {field: value}} of a small BibTeX file (one level of braces inside values)."""
    text = path.read_text(encoding="utf-8")
    entries = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, flags=re.S):
        fields = {k.lower(): re.sub(r"[{}]", "", v).strip()
                  for k, v in re.findall(r"(\w+)\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", m.group(2))}
        entries[m.group(1)] = fields
    return entries


def _surnames(authors: str) -> list[str]:
    out = []
    for a in authors.split(" and "):
        a = a.strip()
        out.append(a.split(",")[0].strip() if "," in a else a.split()[-1])
    return out


def author_year(entry: dict[str, str]) -> tuple[str, str]:
    names = _surnames(entry.get("author", entry.get("editor", "Anonymous")))
    who = names[0] if len(names) == 1 else (" and ".join(names) if len(names) == 2 else f"{names[0]} et al.")
    return who, entry.get("year", "n.d.")


def cite(keys: str, bib: dict, textual: bool) -> str:
    parts = []
    for key in [k.strip() for k in keys.split(",") if k.strip()]:
        if key not in bib:
            raise KeyError(f"citation key {key!r} is not in {BIB.name}")
        who, year = author_year(bib[key])
        parts.append(f"{who} ({year})" if textual else f"{who}, {year}")
    return "; ".join(parts) if textual else "(" + "; ".join(parts) + ")"


def bibliography(bib: dict) -> str:
    lines = []
    for key in sorted(bib, key=lambda k: author_year(bib[k])):
        e = bib[key]
        who, year = author_year(e)
        venue = e.get("booktitle") or e.get("journal") or e.get("publisher") or e.get("howpublished", "")
        lines.append(f"- {e.get('author', who)} ({year}). *{e.get('title', key)}*." + (f" {venue}." if venue else ""))
    return "\n".join(lines)


# --------------------------------------------------------------------------- Markdown

def _roles(text: str, bib: dict) -> str:
    def sub(m: re.Match) -> str:
        role, body = m.group("role"), m.group("text")
        if role in ("cite", "cite:p", "cite:ps"):
            return cite(body, bib, textual=False)
        if role in ("cite:t", "cite:ts"):
            return cite(body, bib, textual=True)
        if role in ("exercise", "solution", "ref", "numref", "doc", "eq"):
            label = re.sub(r"^.*<(.+)>$", r"\1", body)
            m2 = re.fullmatch(r"ex-(\d+)-(\d+)", label)
            if m2:
                return f"Exercise {int(m2.group(1))}.{int(m2.group(2))}"
            return re.sub(r"\s*<.+>$", "", body)
        if role == "math":
            return f"${body}$"
        return f"`{body}`"
    return ROLE.sub(sub, text)


def _directive(name: str, arg: str, options: dict, body: str, bib: dict) -> str:
    body = to_markdown(body, bib).strip("\n")
    if name in ADMONITIONS or name == "admonition":
        kind = options.get("class", "").split()[0] if name == "admonition" and options.get("class") else name
        title = arg.strip() or ADMONITIONS.get(kind, kind.capitalize())
        title = _roles(title, bib)
        quoted = "\n".join(">" + (" " + line if line else "") for line in body.splitlines())
        return f"> **{title}.**\n>\n{quoted}"
    if name == "exercise":
        m = re.fullmatch(r"ex-(\d+)-(\d+)", options.get("label", ""))
        number = f" {int(m.group(1))}.{int(m.group(2))}" if m else ""
        return f"### Exercise{number}: {_roles(arg.strip(), bib)}\n\n{body}"
    if name == "solution":
        return f"<details>\n<summary>Solution</summary>\n\n{body}\n\n</details>"
    if name == "only":  # `{only} html`: the notebook is not the HTML book
        return "" if "html" in arg.split() else body
    if name == "bibliography":
        return "## References\n\n" + bibliography(bib)
    return f"**{arg.strip() or name}**\n\n{body}"


def to_markdown(text: str, bib: dict | None = None) -> str:
    """MyST Markdown -> CommonMark (+ HTML ``<details>``): directives and roles rendered."""
    bib = read_bib() if bib is None else bib
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence, j = m.group("fence"), i + 1
        options = {}
        while j < len(lines) and OPTION.match(lines[j]):
            o = OPTION.match(lines[j])
            options[o.group("key")] = o.group("value")
            j += 1
        body = []
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j])
            j += 1
        out.append(_directive(m.group("name"), m.group("arg"), options, "\n".join(body), bib))
        i = j + 1
    return _roles("\n".join(out), bib)


# --------------------------------------------------------------------------- notebooks

def colab_notebook(nb: nbformat.NotebookNode, bib: dict | None = None) -> nbformat.NotebookNode:
    """The Colab copy of a book notebook: Markdown rendered (the set-up cell, which installs the
    pinned release, is the book's own)."""
    bib = read_bib() if bib is None else bib
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":  # the set-up cell already installs the pinned release
            cell.source = to_markdown(cell.source, bib)
    out.metadata.setdefault("fdiv", {})["colab_copy_of"] = "book/" + nb.metadata.get("fdiv", {}).get(
        "generated_from", ["?"])[0].split("/")[-1].replace(".py", ".ipynb")
    return out


def expected() -> dict[Path, str]:
    """{colab/NN.ipynb: its text} for every committed book notebook."""
    bib = read_bib()
    return {COLAB / p.name: nbformat.writes(colab_notebook(nbformat.read(p, as_version=4), bib)) + "\n"
            for p in sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if colab/ is stale")
    args = ap.parse_args(argv)
    want = expected()
    if args.check:
        stale = [p.name for p, text in want.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        orphans = [p.name for p in COLAB.glob("*.ipynb") if p not in want]
        for name in stale:
            print(f"colab/{name} is stale: run `python tools/colab.py`", file=sys.stderr)
        for name in orphans:
            print(f"colab/{name} has no book notebook", file=sys.stderr)
        return 1 if stale or orphans else 0
    COLAB.mkdir(exist_ok=True)
    for p, text in want.items():
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
