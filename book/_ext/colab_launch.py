"""Sphinx extension of the book: the Colab and Binder launch buttons open colab/NN_name.ipynb.

The HTML book is built from book/NN_name.ipynb (MyST directives and roles); Colab and Jupyter show
MyST as raw text, so tools/colab.py writes plain-Markdown copies to colab/, and this extension points
sphinx-book-theme's launch buttons at them (it runs after the theme has made the buttons).
"""
from __future__ import annotations

import re

BOOK_NOTEBOOK = re.compile(r"(?<=/)book/(\d\d_\w+\.ipynb)")


def colab_url(url: str) -> str:
    """A launch URL of book/NN_name.ipynb turned into one of colab/NN_name.ipynb (others unchanged)."""
    return BOOK_NOTEBOOK.sub(r"colab/\1", url)


def retarget(app, pagename, templatename, context, doctree) -> None:
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if "url" in button:
                button["url"] = colab_url(button["url"])


def setup(app):
    app.connect("html-page-context", retarget, priority=600)  # after sphinx-book-theme's 501
    return {"parallel_read_safe": True, "parallel_write_safe": True}
