"""The static page's "inspect a word" in real Chromium: a clicked word shows the draw that picked it.

The oracle is the Gradio page's card: for the same word of the same text, the static page's card reads as
`page_strip.inspector_html` of `lm.stepping.inspect` (its text as the browser lays it out), and its strip's
slices and landing point sit where that card puts them. Skipped as tests/test_web.py is.
"""

import pytest

import lm
import lm.stepping
from lm.text import EOS
from page_format import token_label
from page_strip import inspector_html
from tests.web_helpers import geometry, laid_out, offline_context, open_page, write

PROMPT = "The lion was afraid, but"
TOKENS = 40



@pytest.fixture(scope="module")
def page(browser, url):
    context = offline_context(browser, viewport={"width": 1280, "height": 800})
    yield open_page(context, url)
    context.close()


def _write(page, temperature, seed, top_k=0, top_p=1):
    return write(page, PROMPT, temperature, TOKENS, seed, top_k, top_p)


def _positions(gen) -> list[int]:
    """Words to click: the first, the last, and one drawn from "all other words" (beyond the named ten)."""
    words = [i for i, t in enumerate(gen.tokens) if t != EOS]
    far = [i for i in words if gen.ranks[i] > 10]
    return sorted({words[0], words[len(words) // 2], words[-1], *far[:1]})


@pytest.mark.parametrize("temperature, seed, top_k, top_p", [(0.8, 7, 0, 1), (1.5, 3, 0, 1), (1.2, 11, 20, 1),
                                                             (1.0, 5, 0, 0.9), (0, 1, 0, 1)])
def test_a_clicked_word_shows_the_card_the_gradio_page_shows(page, bundled, temperature, seed, top_k, top_p):
    model, vocab = bundled
    gen = lm.generate(model, vocab, PROMPT, TOKENS, temperature, top_k or None, top_p if top_p < 1 else None,
                      seed=seed, stop_at_eos=False)
    assert _write(page, temperature, seed, top_k, top_p) == gen.text
    step_of = lambda i: lm.stepping.inspect(model, vocab, gen, i, top_k or None, top_p if top_p < 1 else None)  # noqa: E731
    positions = _positions(gen)
    if temperature == 1.5:
        assert any(gen.ranks[i] > 10 for i in positions)  # a word from "all other words" is among them
    for i in positions:
        page.click(f"#story span.word[data-i='{i}']")
        step = step_of(i)
        expected = inspector_html(step, token_label(step.drawn.token, step.drawn.word))
        assert page.inner_text("#inspector") == laid_out(page, expected, "#inspector"), i
        strip = geometry(page, "#inspector")  # the slices' widths, then where the dice landed
        assert len(strip) >= 2 and strip == pytest.approx(geometry(page, expected), abs=2e-3), i


def test_enter_on_a_word_opens_its_card_and_a_new_text_closes_it(page, bundled):
    model, vocab = bundled
    _write(page, 0.8, 2)
    assert not page.is_visible("#inspector")
    page.click("#story", position={"x": 5, "y": 5})  # not on a word: nothing opens
    assert not page.is_visible("#inspector")
    page.focus("#story span.word[data-i='3']")
    page.keyboard.press("Enter")
    assert page.is_visible("#inspector")
    word = page.inner_text("#story span.word[data-i='3']")
    assert page.inner_text("#inspector .inspect-head").startswith(f"{word} (new word 4)")
    _write(page, 0.8, 3)
    assert not page.is_visible("#inspector")  # its text is gone: so is its card


def test_the_card_fits_a_phone(browser, url):
    """(On a projector, tests/test_web.py's presentation test reads the card too: no text under 18 px.)"""
    context = offline_context(browser, viewport={"width": 375, "height": 800})
    page = open_page(context, url)
    _write(page, 1.0, 4)
    page.click("#story span.word[data-i='0']")
    assert page.locator("#inspector .strip").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the screen
    context.close()


def test_the_same_place_in_two_columns_was_drawn_with_the_same_roll(page, bundled):
    """Lesson 4's "click a word in two columns": each column's card is the Gradio page's, and one roll."""
    model, vocab = bundled
    page.click("#tab-side-by-side")
    page.fill("#prompt", PROMPT)
    page.fill("#seed", "4")
    page.fill("#compare-tokens", "20")
    temperatures = [0, 0.5, 1, 1.5]
    for col, t in enumerate(temperatures):
        page.fill(f"#column-temperature-{col}", str(t))
    page.evaluate("document.querySelector('#columns').dataset.done = 'no'")
    page.click("#compare")
    page.wait_for_selector("#columns[data-done=true]")
    gens = lm.sweep(model, vocab, PROMPT, temperatures, 20, seed=4, stop_at_eos=False)
    i = next(i for i in range(20) if EOS not in (gens[0].tokens[i], gens[3].tokens[i]) and i > 0)
    rolls = []
    for col in (0, 3):
        page.click(f"#column-text-{col} span.word[data-i='{i}']")
        step = lm.stepping.inspect(model, vocab, gens[col], i)
        expected = inspector_html(step, token_label(step.drawn.token, step.drawn.word))
        assert page.inner_text("#columns-inspector") == laid_out(page, expected, "#columns-inspector"), col
        rolls.append(step.u)
    assert rolls[0] == rolls[1] and f"{rolls[0]:.3f}" in page.inner_text("#columns-inspector")
    assert not page.is_visible("#inspector")  # the Playground's card stays where it is
    page.click("#tab-playground")
