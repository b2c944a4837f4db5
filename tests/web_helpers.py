"""What the static page's browser tests share: a static Space folder exported from the bundled model, served
from 127.0.0.1, and headless Chromium that can reach nothing else (skipped when a tool is missing, unless CI).
The fixtures are tests/conftest.py's: the export (~5 s) once per run, Chromium (~1 s) once per file."""

import functools
import http.server
import os
import re
import threading
from pathlib import Path

import pytest

import export
import lm
from tests.node_helpers import need

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
BUNDLED = ROOT / "assets" / "oz-lstm"


@pytest.fixture(scope="session")
def space(tmp_path_factory):
    need((export.ORT_DIST / export.ORT_FILES[-1]).is_file(), "node_modules/onnxruntime-web is missing (run `npm ci`)")
    need(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed")
    folder = tmp_path_factory.mktemp("web") / "space"
    export.write_space(BUNDLED, folder, measure=False)
    return folder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def url(space):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(space)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")  # not longer: one sync Playwright at a time, and other files start their own
def browser():
    if not os.environ.get("CI"):
        pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def bundled():
    """The bundled model and vocabulary, the oracle's side of every comparison."""
    return lm.load_pretrained(BUNDLED)


def offline_context(browser, **options):
    """A fresh browser (no cache, no service worker) that can reach 127.0.0.1 only."""
    context = browser.new_context(**options)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1:")
                  else route.abort())
    return context


def open_page(context, url):
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("document.body.dataset.ready") == "true", page.inner_text("#message")
    return page


def laid_out(page, html: str, beside: str) -> str:
    """`html`'s text as the browser lays it out, placed just after `beside` (so under the same styles)."""
    return page.evaluate("""([html, beside]) => {
        const box = document.createElement("div");
        box.innerHTML = html;
        document.querySelector(beside).after(box);
        const text = box.innerText;
        box.remove();
        return text;
    }""", [html, beside])


def geometry(page, where: str) -> list[float]:
    """The ticket strip's slice widths and the landing point's left, in % of the strip: of the strip inside
    the element `where` ("#inspector"), or of the one in the HTML `where` (starting with "<")."""
    styles = page.evaluate("""where => {
        const box = document.createElement("div");
        if (where.startsWith("<")) box.innerHTML = where;
        const root = where.startsWith("<") ? box : document.querySelector(where);
        return [...root.querySelectorAll(".strip > div")].map((e) => e.getAttribute("style"));
    }""", where)
    return [float(re.search(r"(?:width|left):([\d.]+)%", s).group(1)) for s in styles]


def write(page, prompt, temperature, tokens, seed, top_k=0, top_p=1) -> str:
    """Press the Playground's Write with these settings: the story, once it is written."""
    page.eval_on_selector("#playground details", "d => { d.open = true; }")  # top-k and top-p
    for selector, value in [("#prompt", prompt), ("#temperature", temperature), ("#new-tokens", tokens),
                            ("#seed", seed), ("#top-k", top_k), ("#top-p", top_p)]:
        page.fill(selector, str(value))
    page.evaluate("document.querySelector('#story').dataset.done = 'no'")
    page.click("#write")
    page.wait_for_selector("#story[data-done=true]")
    return page.eval_on_selector("#story", "e => e.textContent")
