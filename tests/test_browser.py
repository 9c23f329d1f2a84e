"""Open every page of the built book in headless Chromium, as a reader would.

The book is built from the committed notebooks without re-executing them (a temporary
config with ``execute_notebooks: off``; warnings are errors), MathJax is pointed to a
local bundle (npm package ``mathjax@3``, installed by ``make test`` / ``.ci/run`` into
``.cache/node``), the HTML is served on 127.0.0.1, and each page is checked:

* the math was typeset by MathJax (``mjx-container`` elements, no MathJax errors, no raw
  ``\\(``, ``\\[`` or ``$$`` left in the text);
* every ``<img>`` loaded (``naturalWidth > 0``, checked by a small script injected in the page);
* in a window 1280 pixels wide, no code cell or display equation is wider than the article
  column (it would need a horizontal scrollbar, or be clipped);
* no cell output shows an error or a traceback.

A screenshot of each page is kept in ``_build/browser/`` (or ``$FDIV_SCREENSHOTS``), and the first
chapter of each part is opened a second time with the reader's system in dark mode
(``prefers-color-scheme: dark``): the theme must follow it, the checks above must still pass, and
its screenshot is kept as ``*_dark.png``.
Skipped where Chromium or the MathJax bundle is missing, except in CI (``CI`` set), where
that is a failure: ``.ci/run`` installs both.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MATHJAX_DIR = ROOT / ".cache" / "node" / "node_modules" / "mathjax" / "es5"
SCREENSHOTS = Path(os.environ.get("FDIV_SCREENSHOTS", ROOT / "_build" / "browser"))
IN_CI = bool(os.environ.get("CI"))

pytestmark = pytest.mark.browser


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (required in CI: .ci/run installs it)")
        pytest.skip(reason)


CHECK_SCRIPT = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                   .map(function (i) { return i.getAttribute('src'); });
  document.body.setAttribute('data-fdiv-images', String(imgs.length));
  document.body.setAttribute('data-fdiv-broken', JSON.stringify(broken));
  function overflowing() {  // code blocks and display math wider than the article column
    var found = [];
    document.querySelectorAll('div.cell_input pre, div.cell_output pre').forEach(function (p) {
      if (p.scrollWidth > p.clientWidth + 1) {
        var longest = p.textContent.split('\\n').sort(function (a, b) { return b.length - a.length; })[0];
        found.push('code (' + longest.length + ' characters): ' + longest.slice(0, 70));
      }
    });
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (c) {
      var math = c.firstElementChild;
      if (math && math.getBoundingClientRect().width > c.getBoundingClientRect().width + 1) {
        found.push('display math: ' + (c.textContent || '').slice(0, 70));
      }
    });
    return found;
  }
  function done(state) {
    document.body.setAttribute('data-fdiv-overflow', JSON.stringify(overflowing()));
    document.body.setAttribute('data-fdiv-mathjax', state);
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(function () { done('done'); },
                                 function (e) { done('error: ' + e); });
  } else { done(window.MathJax ? 'no-startup' : 'absent'); }
});
</script>
"""


class _Page(HTMLParser):
    """What the checks need from a dumped DOM."""

    SKIP_TEXT = {"script", "style", "pre", "code", "textarea", "mjx-container", "mjx-assistive-mml", "svg"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.body: dict[str, str] = {}
        self.tags: dict[str, int] = {}
        self.stack: list[tuple[str, bool, bool]] = []
        self.skip = 0
        self.text: list[str] = []
        self.error_outputs: list[str] = []
        self._in_error = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "body":
            self.body = {k: v or "" for k, v in attrs.items()}
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr"):
            return
        classes = (attrs.get("class") or "").split()
        is_error = "traceback" in classes or ("output" in classes and "error" in classes)
        self.stack.append((tag, tag in self.SKIP_TEXT, is_error))
        if tag in self.SKIP_TEXT:
            self.skip += 1
        if is_error:
            self._in_error += 1
            self.error_outputs.append("")

    def handle_endtag(self, tag):
        if not any(entry[0] == tag for entry in self.stack):
            return  # a void or stray end tag
        while self.stack:
            name, skipped, is_error = self.stack.pop()
            if skipped:
                self.skip -= 1
            if is_error:
                self._in_error -= 1
            if name == tag:
                break

    def handle_data(self, data):
        if self._in_error:
            self.error_outputs[-1] += data
        if not self.skip:
            self.text.append(data)


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    chromium = _chromium()
    _need(chromium is not None, "chromium is not installed (apt-get install chromium)")
    _need((MATHJAX_DIR / "tex-mml-chtml.js").exists(), f"no offline MathJax bundle in {MATHJAX_DIR} (make mathjax)")
    out = tmp_path_factory.mktemp("book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config.setdefault("sphinx", {}).setdefault("config", {})["mathjax_path"] = "_mathjax/tex-mml-chtml.js"
    # local extensions are found relative to the config file, which now lives in a temporary folder
    local = config["sphinx"].get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {k: str(ROOT / v) for k, v in local.items()}
    cfg = out / "_config.yml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT), "--path-output", str(out),
           "--config", str(cfg), "--toc", str(ROOT / "_toc.yml"), "--all", "-W", "--keep-going", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    html = out / "_build" / "html"
    # a relative mathjax_path is relative to _static/ of this temporary build
    (html / "_static" / "_mathjax").symlink_to(MATHJAX_DIR, target_is_directory=True)
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = text.replace('loading="lazy"', 'loading="eager"')
        text = text.replace("</body>", CHECK_SCRIPT + "</body>", 1)
        page.write_text(text, encoding="utf-8")
    return chromium, html


@pytest.fixture(scope="module")
def server(built_book):
    _, html = built_book
    handler = functools.partial(_QuietHandler, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]] + [ch["file"] for part in toc.get("parts", []) for ch in part["chapters"]]
    return [f"{f}.html" for f in files]


def _first_of_each_part() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{part['chapters'][0]['file']}.html" for part in toc.get("parts", []) if part.get("numbered")]


def _open(chromium: str, url: str, shot: Path, dark: bool = False) -> str:
    with tempfile.TemporaryDirectory(prefix="fdiv-chromium-") as profile:
        cmd = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            *(["--force-dark-mode"] if dark else []),  # prefers-color-scheme: dark
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-extensions", "--hide-scrollbars", "--mute-audio",
            f"--user-data-dir={profile}", "--window-size=1280,1600", "--virtual-time-budget=10000",
            f"--screenshot={shot}", "--dump-dom", url,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"chromium failed on {url}: {proc.stderr[-2000:]}"
    return proc.stdout


@pytest.mark.parametrize("page", _pages())
def test_page_renders(built_book, server, page):
    _check_page(built_book, server, page)


@pytest.mark.parametrize("page", _first_of_each_part())
def test_page_renders_in_dark_mode(built_book, server, page):
    dom = _check_page(built_book, server, page, dark=True)
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    assert 'data-theme="dark"' in html_tag, f"{page}: the theme did not follow dark mode: {html_tag}"


def _check_page(built_book, server, page: str, dark: bool = False) -> str:
    chromium, html = built_book
    assert (html / page).exists(), f"{page} was not built"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / (page.replace("/", "_").removesuffix(".html") + ("_dark" if dark else "") + ".png")
    dom = _open(chromium, f"{server}/{page}", shot, dark=dark)
    if not dark:
        assert 'data-theme="light"' in re.search(r"<html[^>]*>", dom).group(0), f"{page}: not light"
    parsed = _Page()
    parsed.feed(dom)
    body = parsed.body

    assert body.get("data-fdiv-images") is not None, f"{page}: the page did not finish loading"
    broken = json.loads(body.get("data-fdiv-broken", "[]"))
    assert not broken, f"{page}: images that did not load: {broken}"

    # the window is 1280 pixels wide: 88-column code and the display math must fit (_static/fdiv.css)
    overflow = json.loads(body.get("data-fdiv-overflow", "null"))
    assert overflow == [], f"{page}: wider than the page, with a scrollbar or clipped: {overflow}"

    source = (html / page).read_text(encoding="utf-8")
    has_math = 'class="math' in source
    if has_math:
        assert body.get("data-fdiv-mathjax") == "done", f"{page}: MathJax state {body.get('data-fdiv-mathjax')!r}"
        assert parsed.tags.get("mjx-container", 0) > 0, f"{page}: math was not rendered"
        assert not parsed.tags.get("mjx-merror"), f"{page}: MathJax reported a TeX error"
    text = "".join(parsed.text)
    raw = [m.group(0) for m in re.finditer(r"\\\(|\\\[|\$\$", text)]
    assert not raw, f"{page}: raw TeX left on the page: {raw[:5]} ... {text[text.find(raw[0]) - 80:][:200]!r}"

    if re.match(r"book/\d\d_", page):
        # the launch buttons open the plain-Markdown copy (colab/), not the MyST notebook
        launch = re.findall(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)/[^"]+)"', source)
        assert len(launch) >= 2 and all("colab/" + page.split("/")[1].replace(".html", ".ipynb") in u
                                        for u in launch), f"{page}: launch links {launch}"
        assert "not implemented yet" not in text and "  FAIL  " not in text, f"{page}: a FAIL output is shown"

    assert not parsed.error_outputs, f"{page}: error output: {parsed.error_outputs[0][:500]}"
    assert "Traceback (most recent call last)" not in dom, f"{page}: a traceback is shown"
    assert shot.exists() and shot.stat().st_size > 10_000, f"{page}: no screenshot"
    return dom
