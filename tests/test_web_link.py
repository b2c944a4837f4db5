"""The static page's shared links in real Chromium: the Gradio page's link format, both ways.

The oracle is page_link: a link that the Gradio page's `share_link` makes opens the static page on the same
settings and writes `lm.generate` / `lm.sweep`'s text; Copy link on the static page makes the link
`share_link` makes for its settings, byte for byte; a bad value is named in `read_link`'s words and left at
the page's default. Skipped as tests/test_web.py is.
"""

from urllib.parse import urlencode

import pytest

import lm
from page_input import cut_prompt
from page_link import read_link, share_link
from tests.test_link import BAD
from tests.web_helpers import offline_context, open_page

PROMPT = "The lion was afraid, but"



@pytest.fixture(scope="module")
def context(browser):
    context = offline_context(browser, viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def _open(context, url, query=""):
    page = open_page(context, url + query)
    page.wait_for_function("!document.querySelector('#write').disabled")  # the link's run, if any, is done
    return page


def test_a_gradio_link_writes_what_lm_writes(context, url, bundled):
    model, vocab = bundled
    page = _open(context, url, share_link(PROMPT, "5", "playground", 1.2, 20, 1.0, 30))
    assert page.eval_on_selector("#story", "e => e.textContent") == lm.generate(
        model, vocab, PROMPT, 30, 1.2, top_k=20, seed=5, stop_at_eos=False).text
    page = _open(context, url, share_link(PROMPT, "3", "side-by-side", new_tokens=20, temperatures=[0, 0.5, 1, 2]))
    assert page.get_attribute("#tab-side-by-side", "aria-selected") == "true"
    texts = [page.eval_on_selector(f"#column-text-{i}", "e => e.textContent") for i in range(4)]
    assert texts == [g.text for g in lm.sweep(model, vocab, PROMPT, [0, 0.5, 1, 2], 20, seed=3, stop_at_eos=False)]
    page = _open(context, url, share_link("Dorothy said", "", "how", plot_temperatures=[0.25, 2.0]))
    assert page.eval_on_selector_all("#plot-temperatures input:checked", "bs => bs.map(b => b.value)") == ["0.25", "2"]
    assert "T = 0.25" in page.inner_text("#bars") and "T = 2" in page.inner_text("#bars")
    page = _open(context, url, share_link("Dorothy said", "7", "sampler"))
    assert page.is_visible("#sampler") and page.inner_text("#sampler-text").startswith("Dorothy said")
    assert page.input_value("#sampler-seed") == "7" and page.locator("#sampler-tickets button.ticket").count() == 10
    page = _open(context, url)  # a bare address: nothing runs
    assert page.eval_on_selector("#story", "e => e.textContent") == "" and not page.is_visible("#message")


def test_copy_link_makes_the_gradio_pages_link(context, url):
    page = _open(context, url)
    page.fill("#prompt", "Dorothy said, 'Oh (dear)!' & ran")
    page.fill("#seed", "11")
    page.fill("#temperature", "0.35")
    page.fill("#new-tokens", "25")
    page.eval_on_selector("#playground details", "d => { d.open = true; }")
    page.fill("#top-p", "0.9")
    page.click("#copy-link")
    copied = page.input_value("#share-link")
    assert copied == url + share_link("Dorothy said, 'Oh (dear)!' & ran", "11", "playground", 0.35, 0, 0.9, 25)
    page.click("#tab-side-by-side")
    page.fill("#column-temperature-2", "1.25")
    page.click("#copy-link")
    assert page.input_value("#share-link") == url + share_link(
        "Dorothy said, 'Oh (dear)!' & ran", "11", "side-by-side", new_tokens=40, temperatures=[0, 0.5, 1.25, 1.5])
    page.fill("#seed", "")  # blank: the link carries the seed that wrote the columns
    page.click("#compare")
    page.wait_for_selector("#columns[data-done=true]")
    page.click("#copy-link")
    link, problems = read_link(dict(p.split("=", 1) for p in page.input_value("#share-link").split("?")[1].split("&")))
    assert not problems and link.seed == page.input_value("#compare-seed")
    page.click("#tab-how")
    page.click("#copy-link")
    assert page.input_value("#share-link") == url + share_link(
        "Dorothy said, 'Oh (dear)!' & ran", "", "how", top_k=0, top_p=0.9, plot_temperatures=[0.25, 1, 2])
    reopened = _open(context, copied)  # and the copied Playground link opens where it was made
    assert reopened.input_value("#temperature") == "0.35" and reopened.input_value("#top-p") == "0.9"


def test_a_bad_link_is_named_in_the_gradio_pages_words(context, url):
    long_prompt = "the lion ran " * 100  # 1,300 characters
    query = {"t": "9", "k": "lots", "seed": "x7", "pt": "0.3", "n": "12", "tab": "quiz", "eos": "maybe",
             "prompt": long_prompt}
    page = _open(context, url, "?" + "&".join(f"{k}={v.replace(' ', '%20')}" for k, v in query.items()) + "&zzz=1")
    message = page.inner_text("#message")
    _, expected = read_link(query)
    assert len(expected) == 7 and all(problem in message for problem in expected), message
    assert "zzz" not in message
    assert page.input_value("#prompt") == cut_prompt(long_prompt, 1000)
    assert page.input_value("#temperature") == "0.8" and page.input_value("#new-tokens") == "12"  # n was good
    assert len(lm.tokenize(page.eval_on_selector("#story", "e => e.textContent"))) > 12  # it wrote, on the defaults


def test_each_bad_value_reads_as_on_the_gradio_page(context, url):
    """tests/test_link.py's bad values through the page's own reader: read_link's message, word for word."""
    page = _open(context, url)
    shared = [(param, raw) for param, raw, _ in BAD]
    got = page.evaluate("""async (queries) => {
        const { readLink } = await import("./js/link.js");
        return queries.map((q) => readLink(q, window.lmPage.settings).problems);
    }""", ["?" + urlencode({"prompt": "kept", param: raw}) for param, raw in shared])
    assert got == [read_link({"prompt": "kept", param: raw})[1] for param, raw in shared]
