"""The static page's "Stop at the end of the paragraph" in real Chromium: the Playground writes what
`lm.generate(..., stop_at_eos=True)` writes, says why when the paragraph ended at once (in the Gradio page's
words, page_actions.NOTHING_WRITTEN), and a link carries it both ways as the Gradio page's does. Skipped as
tests/test_web.py is.
"""

import pytest

import lm
from page_actions import NOTHING_WRITTEN
from page_link import share_link
from tests.web_helpers import offline_context, open_page, write

PROMPT = "Dorothy said"  # after "said" the books often end the paragraph (said: and the words in quotes below)


@pytest.fixture()
def context(browser):
    context = offline_context(browser, viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def test_it_writes_what_lm_writes_and_says_why_when_nothing_is_written(context, url, bundled):
    model, vocab = bundled
    page = open_page(context, url)
    page.check("#stop-at-eos")
    lengths = []
    for seed in range(4):
        expected = lm.generate(model, vocab, PROMPT, 60, temperature=1.0, seed=seed, stop_at_eos=True)
        assert write(page, PROMPT, 1.0, 60, seed) == expected.text
        lengths.append(len(expected.tokens))
        message = page.inner_text("#message") if page.is_visible("#message") else ""
        assert message == (NOTHING_WRITTEN["paragraph_ended"] if not expected.tokens else "")
    assert 0 in lengths and any(0 < n < 60 for n in lengths)  # ended at once, and mid-way
    page.uncheck("#stop-at-eos")
    assert write(page, PROMPT, 1.0, 60, 1) == lm.generate(model, vocab, PROMPT, 60, temperature=1.0, seed=1,
                                                          stop_at_eos=False).text
    write(page, PROMPT, 1.0, 0, 1)
    assert page.inner_text("#message") == NOTHING_WRITTEN["no_tokens"]


def test_a_link_carries_it_both_ways(context, url, bundled):
    model, vocab = bundled
    link = share_link(PROMPT, "2", "playground", temperature=1.0, new_tokens=60, stop_at_eos=True)
    page = context.new_page()
    page.goto(url + link)
    page.wait_for_selector("#story[data-done=true]", timeout=60_000)
    assert page.is_checked("#stop-at-eos")
    expected = lm.generate(model, vocab, PROMPT, 60, temperature=1.0, seed=2, stop_at_eos=True)
    assert page.eval_on_selector("#story", "e => e.textContent") == expected.text and len(expected.tokens) < 60
    page.click("#copy-link")
    assert page.input_value("#share-link") == url + link  # byte for byte the Gradio page's
    page.uncheck("#stop-at-eos")
    page.click("#copy-link")
    assert page.input_value("#share-link") == url + share_link(PROMPT, "2", "playground", temperature=1.0,
                                                               new_tokens=60, stop_at_eos=False)
