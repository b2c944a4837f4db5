"""The static page's Lessons tab in real Chromium: each lesson as the Gradio page runs it, and the quiz.

The oracle is lm: a lesson's button fills the prompt, the seed and its tab's controls, opens the tab and
writes; what it writes equals `lm.generate` / `lm.sweep` with the lesson's settings (the page draws with
torch's random numbers), so every phrase its notice quotes is on the screen. The quiz's text equals
`lm.generate` at the temperature and seed that Reveal names. Skipped as tests/test_web.py is.
"""

import re

import pytest

import lm
import page_link
from lessons import LESSONS, QUIZ, QUIZ_CHOICES
from page_wholetext import WholeTexts
from tests.web_helpers import offline_context, open_page


@pytest.fixture(scope="module")
def page(browser, url):
    context = offline_context(browser, viewport={"width": 1280, "height": 800})
    yield open_page(context, url)
    context.close()


def _quotes(notice: str) -> list[str]:
    return re.findall(r"“([^”]+)”", notice)


def _has(text: str, quote: str) -> bool:
    words, needle = lm.tokenize(text), lm.tokenize(quote)
    return any(words[i:i + len(needle)] == needle for i in range(len(words) - len(needle) + 1))


def _shown(page, lesson) -> list[str]:
    """The text(s) the lesson's tab shows once its button has written them."""
    if lesson.tab == "playground":
        page.wait_for_selector("#story[data-done=true]")
        return [page.eval_on_selector("#story", "e => e.textContent")]
    if lesson.tab == "whole-texts":
        page.wait_for_function("window.lmPage.whole !== undefined")
        return page.evaluate("window.lmPage.whole.texts.map((t) => t.prompt + t.pieces.join(''))")
    page.wait_for_selector("#columns[data-done=true]")
    return [page.eval_on_selector(f"#column-text-{i}", "e => e.textContent") for i in range(4)]


def _press(page, selector: str) -> None:
    page.evaluate("for (const s of ['#story', '#columns']) document.querySelector(s).dataset.done = 'no'; "
                  "window.lmPage.whole = undefined")
    page.click(selector)


@pytest.mark.parametrize("number", range(1, len(LESSONS) + 1))
def test_a_lesson_fills_its_tab_and_writes_what_lm_writes(page, bundled, number):
    model, vocab = bundled
    lesson = LESSONS[number - 1]
    page.click("#tab-lessons")
    _press(page, f"#lesson-{number}")
    shown = _shown(page, lesson)
    assert page.get_attribute(f"#tab-{lesson.tab}", "aria-selected") == "true" and page.is_visible(f"#{lesson.tab}")
    assert page.input_value("#prompt") == lesson.prompt and page.input_value("#seed") == str(lesson.seed)
    notice = page.inner_text("#lesson-notice")
    assert notice.startswith(f"Lesson {number}: {lesson.title}.") and page.is_visible("#lesson-notice")
    assert notice == f"Lesson {number}: {lesson.title}. " + lesson.notice.replace("*", "")  # the Gradio page's, whole
    if lesson.tab == "side-by-side":  # each column headed by its temperature, as when typed in
        headings = [page.inner_text(f"#column-heading-{i}") for i in range(4)]
        assert [h.split(" · ")[0] for h in headings] == [f"T = {t:g}" for t in lesson.temperatures]
    if lesson.tab == "whole-texts":  # SAMPLES at each temperature, sample i seeded seed + i
        texts = WholeTexts(model, vocab)._write(lesson.prompt, list(lesson.temperatures), lesson.new_tokens,
                                                lesson.seed)
        same = sum(t == g.text for t, g in zip(shown, texts))
        assert len(shown) == len(texts) and same >= len(texts) - 2  # float32 in two engines: one may part
    else:
        texts = lm.sweep(model, vocab, lesson.prompt, list(lesson.temperatures), lesson.new_tokens,
                         top_p=lesson.top_p, seed=lesson.seed, stop_at_eos=False)
        assert [t.replace("\n", "") for t in shown] == [g.text.replace("\n", "") for g in texts]
    if lesson.try_next:  # the change the notice asks for, made as a student makes it
        for name, value in lesson.try_next.items():
            page.fill({"temperature": "#temperature", "top_p": "#top-p"}[name], str(value))
        _press(page, "#write")
        (tried,) = _shown(page, lesson)
        change = {"temperature": lesson.temperatures[0], "top_p": lesson.top_p, **lesson.try_next}
        assert tried == lm.generate(model, vocab, lesson.prompt, lesson.new_tokens, seed=lesson.seed,
                                    stop_at_eos=False, **change).text
        shown.append(tried)
    for quote in _quotes(lesson.notice):  # what the notice points at is on the screen
        assert any(_has(text, quote) for text in shown), (lesson.id, quote)


def test_the_page_promises_only_what_it_has(page):
    """The description (assets/page/description.md) as the Gradio page has it: both pages inspect a word
    (tests/test_web_inspect.py); and every tab a lesson or a link can open is here, in the Gradio page's order."""
    description = page.eval_on_selector("#description", "e => e.textContent")  # folded away in "What is this?"
    assert "point at a word (or Tab to it)" in description and "to see the draw that picked it" in description
    tabs = page.eval_on_selector_all("[role=tab]", "ts => ts.map((t) => t.id.replace('tab-', ''))")
    assert tabs == list(page_link.TABS) and {lesson.tab for lesson in LESSONS} <= set(tabs)


def test_close_hides_the_notice(page):
    page.click("#tab-lessons")
    _press(page, "#lesson-1")
    _shown(page, LESSONS[0])
    page.click("#lesson-close")
    assert not page.is_visible("#lesson-notice")


def test_the_quiz_writes_at_the_temperature_it_reveals(page, bundled):
    model, vocab = bundled
    page.click("#tab-lessons")
    page.fill("#prompt", "The lion was afraid, but")
    page.click("#quiz-reveal")
    page.wait_for_selector("#message:not([hidden])")
    assert "There is no puzzle yet: press New puzzle first." in page.inner_text("#message")
    labels = sorted(c.label for c in QUIZ_CHOICES)
    for round_ in range(3):
        page.evaluate("document.querySelector('#quiz-text').dataset.done = 'no'")
        page.click("#quiz-new")
        page.wait_for_selector("#quiz-text[data-done=true]")
        assert sorted(t.strip() for t in page.locator("#quiz-guess label").all_inner_texts()) == labels
        assert not page.is_visible("#quiz-bars")
        page.click("#quiz-reveal")
        assert "Pick a temperature first, then press Reveal." in page.inner_text("#message")
        guess = page.locator("#quiz-guess input").nth(round_)
        guess.check()
        page.click("#quiz-reveal")
        page.wait_for_selector("#quiz-bars:not([hidden]) .lanes")
        verdict = page.inner_text("#quiz-verdict")
        temperature, seed = re.search(r"written at temperature ([\d.]+) \(.+?\), seed (\d+)\.", verdict).groups()
        assert float(temperature) in {c.temperature for c in QUIZ_CHOICES} and QUIZ["how_to_tell"] in verdict
        assert verdict.startswith("Right!") == (float(guess.get_attribute("value")) == float(temperature))
        expected = lm.generate(model, vocab, "The lion was afraid, but", QUIZ["new_tokens"],
                               temperature=float(temperature), seed=int(seed), stop_at_eos=False)
        assert page.eval_on_selector("#quiz-text", "e => e.textContent") == expected.text
        # The bars: the three temperatures, the model's top words after the prompt.
        assert page.locator("#quiz-bars .key > span").count() == len(QUIZ_CHOICES)
        assert page.locator("#quiz-bars .word").count() == QUIZ["top_words"] + 1  # and "all other words"
        page.click("#quiz-reveal")
        assert "This puzzle is already revealed" in page.inner_text("#message")


def test_lessons_on_a_phone_fit_the_screen(browser, url):
    context = offline_context(browser, viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    phone = open_page(context, url)
    phone.click("#tab-lessons")
    for n in range(1, len(LESSONS) + 1):
        box = phone.locator(f"#lesson-{n}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    _press(phone, "#lesson-2")
    _shown(phone, LESSONS[1])
    notice = phone.locator("#lesson-notice").bounding_box()
    assert notice["x"] >= 0 and notice["x"] + notice["width"] <= 375
    box, close = phone.locator("#lesson-box").bounding_box(), phone.locator("#lesson-close").bounding_box()
    assert notice["width"] >= 0.85 * box["width"] and close["y"] + close["height"] <= notice["y"] + 2  # Close above
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
