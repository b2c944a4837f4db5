"""Write streams the story the model would write anyway, at a bounded cadence, into a real page.

The bundled model (assets/oz-lstm) is served on a local port by tests/test_browser.py's fixtures (its
`source` is overridden here): 300 new words take it about a second on 2 cores, long enough for many
updates. Oracles: `lm.generate` with the same seed (no batch engine, no chunks, no Gradio) for the
words, their probabilities and ranks; Gradio's own protocol (read raw, as the page reads it) for the
updates; Chromium for what the page shows at the end.
"""

import json
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_stream import RECORDER, sse_messages  # noqa: E402

import lm  # noqa: E402
import page_actions  # noqa: E402
import page_format  # noqa: E402
from tests.test_browser import page, url  # noqa: E402, F401  (the browser and server fixtures, reused)

PROMPT = "The lion was afraid, but"
WORDS, TEMPERATURE = 300, 1.0  # the page's most; as learned


@pytest.fixture(scope="module")
def source():
    return str(ROOT / "assets" / "oz-lstm")


@pytest.fixture(scope="module")
def bundled(source):
    return lm.load_pretrained(source)


def expected_story(bundled, seed: int) -> page_format.StoryText:
    """The story as the page shows it, built from a non-streamed `lm.generate` with the same seed."""
    model, vocab = bundled
    gen = lm.generate(model, vocab, PROMPT, max_new_tokens=WORDS, temperature=TEMPERATURE, seed=seed,
                      stop_at_eos=False)
    story = page_format.StoryText(PROMPT)
    for i, (token, prob, rank) in enumerate(zip(gen.tokens, gen.probs, gen.ranks)):
        story.add(lm.StreamToken(token, prob, gen.piece(i), rank))
    assert story.text == gen.text
    return story


def test_streamed_story_equals_the_result_and_lm_generate(url, bundled):  # noqa: F811
    job = Client(url, verbose=False).submit(PROMPT, TEMPERATURE, 0, 1.0, WORDS, "11", False, api_name="/generate")
    final = job.result(timeout=120)
    streamed = job.outputs()
    want = expected_story(bundled, 11)
    assert len(streamed) > 3  # it streamed, not one blob at the end
    assert tuple(streamed[-1]) == tuple(final) == (want.text, want.html, "11")
    for (text, html, _), (longer_text, longer_html, _) in zip(streamed, streamed[1:]):  # only ever appended to
        assert longer_text.startswith(text) and longer_html.startswith(html)


def test_updates_only_append_at_a_bounded_cadence(url, bundled):  # noqa: F811
    messages = sse_messages(url, [PROMPT, TEMPERATURE, 0, 1.0, WORDS, "12", False])
    updates = [(t, json.loads(m)) for t, m in messages if json.loads(m)["msg"] == "process_generating"]
    final = json.loads(messages[-1][1])
    assert final["msg"] == "process_completed" and final["success"]
    want = expected_story(bundled, 12)
    assert final["output"]["data"][:2] == [want.text, want.html]
    # After the first update (the prompt and the first word), each sends only the new words: Gradio's
    # "append" edits to the text and to the coloured story, so the stream is O(words) bytes, not O(words^2).
    edits = [edit for _, m in updates[1:] for output in m["output"]["data"][:2] for edit in output]
    assert edits and {edit[0] for edit in edits} == {"append"}
    sent = sum(len(m) for _, m in messages if json.loads(m)["msg"] == "process_generating")
    assert sent < 2 * len(messages[-1][1])  # the whole stream: less than twice the final result
    # At most one update per STREAM_INTERVAL (plus the first word, sent at once, and the last, sent when
    # drawn); the batch engine's pacing only ever stretches the interval.
    elapsed = updates[-1][0] - updates[0][0]
    assert 3 < len(updates) <= elapsed / page_actions.STREAM_INTERVAL + 2


def test_the_page_shows_the_streamed_story(page, bundled):  # noqa: F811
    page.reload()
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#seed textarea, #seed input").first.fill("13")
    for slider, value in (("#new-tokens", WORDS), ("#temperature", TEMPERATURE)):
        box = page.locator(f"{slider} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
        box.blur()
    page.evaluate(RECORDER)  # notes (time, text length, coloured words) on every frame that changed
    page.locator("#generate-button").click()
    want = expected_story(bundled, 13)
    page.wait_for_function("(n) => document.querySelector('#story textarea').value.length === n",
                           arg=len(want.text), timeout=60_000)
    assert page.locator("#story textarea").input_value() == want.text
    # The coloured story in the page is the expected HTML, as this browser parses it.
    same = page.evaluate("""(html) => {
        const shown = document.querySelector('#story-colours .prompt').parentElement;
        const parsed = document.createElement(shown.tagName);
        parsed.innerHTML = html;
        return shown.innerHTML === parsed.innerHTML;
    }""", want.html)
    assert same
    time.sleep(0.2)  # a frame or two after the last word: nothing changes any more
    frames = page.evaluate("() => { window.__stream.done = true; return window.__stream.frames; }")
    words = [f[2] for f in frames]
    assert words[-1] == want.html.count('class="w ')
    assert words == sorted(words) and len(set(words)) > 3  # words appeared bit by bit, never went away


def test_the_last_words_are_not_held_back_by_the_interval(model, vocab):
    """A stream's last list is sent when its last word is drawn, not at the end of the interval."""
    engine = lm.batching.BatchEngine(model, vocab)
    t0 = time.perf_counter()
    chunks = list(engine.chunks("the owl", 20, 1.0, seed=1, stop_at_eos=False, interval=5.0))
    elapsed = time.perf_counter() - t0
    assert sum(map(len, chunks)) == 20 and len(chunks) <= 2  # the first word(s) at once, the rest when done
    assert elapsed < 2.5  # half the interval: the tiny model draws 20 words in milliseconds
