"""The static page's Be the sampler in real Chromium: the Gradio page's tab, word for word.

The oracle is lm.stepping and the Gradio page's own HTML: after every action (roll, take a word, a new
temperature, top-k, Back, Continue automatically) the text reads as `page_sampler.text_html` of the words
taken, the last roll as `page_strip.strip_html` of `lm.stepping.next_step` (its slices and landing point
where that puts them), and the bars as `tickets_html` of the next word's step. Only rolling writes what
`lm.generate` writes with the seed. Skipped as tests/test_web.py is.
"""

import pytest

import lm
from lm.stepping import continue_text, next_step
from page_sampler import text_html
from page_strip import strip_html, tickets_html
from tests.web_helpers import geometry, laid_out, offline_context, open_page

PROMPT = "Dorothy said"
SEED = 7



@pytest.fixture()
def page(browser, url):
    context = offline_context(browser, viewport={"width": 1280, "height": 800})
    page = open_page(context, url)
    page.fill("#prompt", PROMPT)
    page.fill("#seed", str(SEED))
    page.click("#tab-sampler")
    yield page
    context.close()


class Oracle:
    """The Gradio page's tab for the same actions: the words taken, how, and the settings of the next word."""

    def __init__(self, page, model, vocab):
        self.page, self.model, self.vocab = page, model, vocab
        self.tokens, self.how, self.t, self.top_k = [], [], 0.8, None

    def step(self, tokens=None):
        return next_step(self.model, self.vocab, PROMPT, self.tokens if tokens is None else tokens, SEED, self.t,
                         self.top_k)

    def check(self, last=None, taken=None):
        page = self.page
        state = {"prompt": PROMPT, "tokens": self.tokens, "how": self.how}
        assert page.inner_text("#sampler-text") == laid_out(page, text_html(state, self.vocab), "#sampler-text")
        assert page.inner_text("#sampler-tickets") == laid_out(page, tickets_html(self.step()), "#sampler-tickets")
        if last is None:
            assert page.inner_text("#sampler-draw") == ""
        else:
            expected = strip_html(last, taken)
            assert page.inner_text("#sampler-draw") == laid_out(page, expected, "#sampler-draw")
            strip = geometry(page, "#sampler-draw")
            assert len(strip) >= 2 and strip == pytest.approx(geometry(page, expected), abs=2e-3)
        assert page.input_value("#sampler-seed") == str(SEED)

    def roll(self):
        last = self.step()
        self.page.click("#sampler-roll")
        self.tokens, self.how = [*self.tokens, last.drawn.token], [*self.how, "roll"]
        self.check(last)

    def take(self, n):
        button = self.page.locator("#sampler-tickets button.ticket").nth(n)
        token, last = button.get_attribute("data-token"), self.step()
        button.click()
        self.tokens, self.how = [*self.tokens, token], [*self.how, "mine"]
        self.check(last, token)
        return token, last


def _settle(page):
    page.wait_for_function("!document.querySelector('#sampler-roll').disabled")


def test_rolling_only_writes_what_write_writes(page, bundled):
    model, vocab = bundled
    oracle = Oracle(page, model, vocab)
    page.click("#sampler-start")
    _settle(page)
    oracle.check()
    for _ in range(12):
        oracle.roll()
        _settle(page)
    assert oracle.tokens == lm.generate(model, vocab, PROMPT, 12, 0.8, seed=SEED, stop_at_eos=False).tokens


def test_every_action_shows_what_the_gradio_page_shows(page, bundled):
    model, vocab = bundled
    oracle = Oracle(page, model, vocab)
    oracle.roll()  # Roll before Start over starts the text
    _settle(page)
    oracle.roll()
    _settle(page)
    token, last = oracle.take(3)  # a word by hand: its roll is used up all the same
    _settle(page)
    assert token != last.drawn.token
    page.fill("#sampler-temperature", "1.2")
    page.locator("#sampler-temperature").dispatch_event("change")  # the bars at the new temperature
    oracle.t = 1.2
    _settle(page)
    oracle.check(last, token)  # the last roll stays as it was drawn
    oracle.roll()
    _settle(page)
    page.fill("#sampler-temperature", "0")
    page.locator("#sampler-temperature").dispatch_event("change")
    oracle.t = 0.0
    _settle(page)
    oracle.roll()  # greedy: the dice roll, unused
    _settle(page)
    page.click("#sampler-back")
    _settle(page)
    oracle.tokens, oracle.how = oracle.tokens[:-1], oracle.how[:-1]
    oracle.check()
    page.eval_on_selector("#sampler details", "d => { d.open = true; }")
    page.fill("#sampler-temperature", "1")
    page.fill("#sampler-top-k", "5")
    page.locator("#sampler-top-k").dispatch_event("change")
    oracle.t, oracle.top_k = 1.0, 5
    _settle(page)
    page.fill("#sampler-words", "6")
    page.click("#sampler-auto")
    _settle(page)
    gen = continue_text(model, vocab, PROMPT, oracle.tokens, SEED, 1.0, 6, top_k=5)
    oracle.tokens, oracle.how = gen.tokens, oracle.how + ["auto"] * 6
    oracle.check()


def test_the_tab_stops_at_the_pages_length_and_says_so(page, bundled):
    page.fill("#sampler-words", "300")
    page.click("#sampler-auto")
    _settle(page)
    assert page.evaluate("window.lmPage.sampler.text.tokens.length") == 300
    page.click("#sampler-roll")
    _settle(page)
    assert page.inner_text("#message") == ("The text has 300 words, as many as this page writes: press Back or "
                                          "Start over.")
    page.click("#sampler-back")
    _settle(page)
    page.click("#sampler-roll")  # room for one word again
    _settle(page)
    assert not page.is_visible("#message") and page.is_visible("#sampler-draw .strip")


def test_the_tab_fits_a_phone(browser, url):
    context = offline_context(browser, viewport={"width": 375, "height": 800})
    page = open_page(context, url)
    page.click("#tab-sampler")
    page.click("#sampler-roll")
    page.wait_for_selector("#sampler-draw .strip")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the screen
    buttons = [page.locator(s).bounding_box() for s in ("#sampler-start", "#sampler-roll", "#sampler-back")]
    assert len({round(b["y"]) for b in buttons}) == 1  # Start over, Roll and Back on one line
    context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_words_above_the_bars_name_only_the_columns_shown(browser, url, bundled, width):
    """On a phone the model's own chances (a fourth column) have no room: the sentence about them goes too,
    on this page and in the Gradio page's HTML under the same styles."""
    context = offline_context(browser, viewport={"width": width, "height": 800})
    page = open_page(context, url)
    page.fill("#prompt", PROMPT)
    page.fill("#seed", str(SEED))
    page.click("#tab-sampler")
    page.click("#sampler-start")
    _settle(page)
    shown = page.locator("#sampler-tickets .ticket-model").first.is_visible()
    assert shown == (width > 640)
    gradio = laid_out(page, tickets_html(next_step(*bundled, PROMPT, [], SEED, 0.8)), "#sampler-tickets")
    for head in (page.inner_text("#sampler-tickets .tickets-head"), gradio.split("\n")[0]):
        assert head.startswith("The chances at temperature 0.8") and head.endswith("Click a word to take it yourself.")
        assert ("on the right" in head) == shown, head
    context.close()
