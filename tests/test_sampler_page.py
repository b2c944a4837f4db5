"""Be the sampler, through a real Gradio server (gradio_client) and a real browser.

Oracle: a student who only rolls, with seed s, gets the text `lm.generate(..., seed=s)` writes; a word
taken by hand, Back, a temperature changed between steps and "Continue automatically" give what
lm.stepping computes in-process from the same choices.
"""

import html
import os
import re
import sys
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from page_helpers import CHROMIUM, TIMEOUT, chromium, serve  # noqa: E402
from page_helpers import call as _call  # noqa: E402

import app  # noqa: E402
import lm  # noqa: E402
from lm.stepping import continue_text, next_step  # noqa: E402

PROMPT = "The lion was afraid, but"
LINES = ["the lion was afraid , but he walked into the dark forest with the girl .",
         "the little dragon opened the door and looked out at the garden .",
         "the wizard looked at the map and said , we must go north before the moon rises !"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    vocab = lm.Vocab.build([lm.tokenize(line) for line in LINES], min_freq=1)
    model = lm.LSTMLanguageModel(lm.LMConfig(vocab_size=len(vocab), emb_dim=24, hid_dim=24, num_layers=2,
                                             dropout_rate=0.0))
    demo = app.build_demo(model, vocab, {})
    yield model, vocab, serve(demo)
    demo.close()


def _client(served) -> Client:
    return Client(served[2], verbose=False)  # a session of its own: its own text so far


def _text(text_html: str) -> str:
    body = re.sub(r'<span class="next-hint">.*?</span>', "", text_html)
    return html.unescape(re.sub(r"<[^>]+>", "", body)).removeprefix(" ")


def test_every_sampler_action_has_a_named_endpoint(served):
    names = set(_client(served).view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/sampler_start", "/sampler_roll", "/sampler_take", "/sampler_back", "/sampler_continue"} <= names


@pytest.mark.parametrize("t", [0.8, 0.0, 2.0])
def test_only_rolling_writes_what_generate_writes(served, t):
    model, vocab, _ = served
    client = _client(served)
    text, last, tickets, seed, *_ = _call(client, PROMPT, "7", t, 0, 1.0, api_name="/sampler_start")
    assert seed == "7" and last == "" and 'class="ticket"' in tickets
    made = lm.generate(model, vocab, PROMPT, 10, t, seed=7, stop_at_eos=False)
    for i in range(10):
        text, last, *_ = _call(client, PROMPT, "7", t, 0, 1.0, api_name="/sampler_roll")
        assert f"{made.uniforms[i]:.3f}" in last  # the number the strip shows is the step's own
    assert _text(text) == made.text


def test_taking_a_word_back_and_a_new_temperature_follow_lm(served):
    model, vocab, _ = served
    client = _client(served)
    _call(client, PROMPT, "3", 1.0, 0, 1.0, api_name="/sampler_start")
    _call(client, PROMPT, "3", 1.0, 0, 1.0, api_name="/sampler_roll")
    _, last, *_ = _call(client, PROMPT, "3", 1.0, 0, 1.0, "dragon", api_name="/sampler_take")
    assert "dragon" in last.lower()
    _call(client, PROMPT, "3", 0.3, 0, 1.0, api_name="/sampler_roll")  # colder for this word
    _call(client, PROMPT, "3", 0.3, 0, 1.0, api_name="/sampler_roll")
    text, *_ = _call(client, PROMPT, "3", 0.3, 0, 1.0, api_name="/sampler_back")
    first = next_step(model, vocab, PROMPT, [], 3, 1.0).drawn.token
    third = next_step(model, vocab, PROMPT, [first, "dragon"], 3, 0.3).drawn.token
    expected = lm.Generation(PROMPT, lm.tokenize(PROMPT), [first, "dragon", third], printing=vocab.printing)
    assert _text(text) == expected.text
    text, *_ = _call(client, PROMPT, "3", 0.3, 0, 1.0, 5, api_name="/sampler_continue")
    cont = continue_text(model, vocab, PROMPT, [first, "dragon", third], 3, 0.3, 5)
    assert _text(text) == cont.text and len(cont.tokens) == 8


def test_continue_after_rolls_is_generate(served):
    model, vocab, _ = served
    client = _client(served)
    for _ in range(3):
        _call(client, PROMPT, "11", 1.2, 0, 1.0, api_name="/sampler_roll")  # the first roll starts the text
    text, *_ = _call(client, PROMPT, "11", 1.2, 0, 1.0, 9, api_name="/sampler_continue")
    assert _text(text) == lm.generate(model, vocab, PROMPT, 12, 1.2, seed=11, stop_at_eos=False).text


@pytest.mark.parametrize("args, api_name, message", [
    ((PROMPT, "1", 1.0, 0, 1.0, "zzz-not-a-word"), "/sampler_take", "does not know the word"),
    ((PROMPT, "1", 1.0, 0, 1.0, "<unk>"), "/sampler_take", "does not know the word"),
    ((PROMPT, "x1", 1.0, 0, 1.0), "/sampler_roll", "Seed must be a whole number"),
    ((PROMPT, "1", 99, 0, 1.0), "/sampler_roll", "Temperature must be a number from 0 to"),
])
def test_bad_input_is_named(served, args, api_name, message):
    client = _client(served)
    with pytest.raises(AppError, match=message):
        _call(client, *args, api_name=api_name)
    _call(client, PROMPT, "1", 1.0, 0, 1.0, api_name="/sampler_roll")  # and the page still serves


# ------------------------------------------------------------------------------------------ browser

@pytest.fixture(scope="module")
def browser_page(served):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing, and CI is set: the browser test must run")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium(p)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(served[2])
        yield page
        browser.close()


def test_in_the_browser_a_click_on_a_bar_takes_the_word_and_roll_shows_the_strip(served, browser_page):
    from playwright.sync_api import expect

    model, vocab, _ = served
    page = browser_page
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#seed input, #seed textarea").first.fill("5")
    page.get_by_role("tab", name="Be the sampler").click()
    page.locator("#sampler-start").click()
    bars = page.locator("#sampler-tickets button.ticket")
    expect(bars.first).to_be_visible(timeout=TIMEOUT * 1000)
    word = bars.nth(2).get_attribute("data-token")
    bars.nth(2).click()
    expect(page.locator("#sampler-text .taken.mine")).to_have_count(1, timeout=TIMEOUT * 1000)
    page.locator("#sampler-roll").click()
    expect(page.locator("#sampler-text .taken.roll")).to_have_count(1, timeout=TIMEOUT * 1000)
    expect(page.locator("#sampler-draw .strip .landing")).to_have_count(1)
    rolled = next_step(model, vocab, PROMPT, [word], 5, 0.8).drawn
    expect(page.locator("#sampler-draw .slice.hit")).to_have_count(1)
    expected = lm.Generation(PROMPT, lm.tokenize(PROMPT), [word, rolled.token], printing=vocab.printing).text
    assert _text(page.locator("#sampler-text").inner_html()).strip() == expected
    left = float(re.search(r"left:\s*([\d.]+)%", page.locator("#sampler-draw .landing").get_attribute("style"))[1])
    assert left == pytest.approx(100 * next_step(model, vocab, PROMPT, [word], 5, 0.8).u, abs=1e-3)


# ------------------------------------------------------------------------------------ inspect a word
def test_inspect_word_shows_the_draw_behind_it(served):
    model, vocab, _ = served
    made = lm.generate(model, vocab, PROMPT, 6, 1.1, seed=8, stop_at_eos=False)
    for word in (1, 4, 6):
        card = _call(_client(served), PROMPT, 1.1, 0, 1.0, "8", word, api_name="/inspect_word")
        token = made.tokens[word - 1]
        assert f"(new word {word})" in card and f"{made.uniforms[word - 1]:.3f}" in card
        assert f"model's {lm_ordinal(made.ranks[word - 1])} choice" in card
        assert html.escape(vocab.display.get(token, token)) in card or token == "<eos>"
    with pytest.raises(AppError, match="Word must be from 1 to"):
        _call(_client(served), PROMPT, 1.1, 0, 1.0, "8", 0, api_name="/inspect_word")


def lm_ordinal(n: int) -> str:
    import page_format

    return page_format.ordinal(n)


def test_in_the_browser_clicking_a_word_shows_how_it_was_drawn(served, browser_page):
    from playwright.sync_api import expect

    model, vocab, _ = served
    page = browser_page
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#seed input, #seed textarea").first.fill("4")
    page.get_by_role("tab", name="Playground").click()
    page.locator("#generate-button").click()
    expect(page.locator("#seed-used input, #seed-used textarea").first).to_have_value("4", timeout=TIMEOUT * 1000)
    word = page.locator("#story-colours [data-i='2']")
    expect(word).to_be_visible(timeout=TIMEOUT * 1000)
    word.focus()
    page.keyboard.press("Enter")  # the keyboard's way; a click does the same
    card = page.locator("#story-inspector .inspector")
    expect(card).to_contain_text("(new word 3)", timeout=TIMEOUT * 1000)
    made = lm.generate(model, vocab, PROMPT, 3, 0.8, seed=4, stop_at_eos=False)
    expect(card).to_contain_text(f"{made.uniforms[2]:.3f}")

    # Side by side: the same word place in two columns was drawn with the same dice.
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#compare-button").click()
    expect(page.locator("#column-text-3 [data-i='1']")).to_be_visible(timeout=TIMEOUT * 1000)
    rolls = []
    for col in (0, 3):
        page.locator(f"#column-text-{col} [data-i='1']").click()
        card = page.locator("#columns-inspector .inspector")
        expect(card).to_contain_text("(new word 2)", timeout=TIMEOUT * 1000)
        heat = "greedy" if col == 0 else "temperature 1.5"
        expect(card).to_contain_text(heat)
        rolls.append(re.search(r"rolled (?:<b>)?([\d.]+)", card.inner_html())[1])
    assert rolls[0] == rolls[1] == f"{made.uniforms[1]:.3f}"
