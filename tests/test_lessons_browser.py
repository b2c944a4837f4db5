"""The Lessons tab in a real browser (headless Debian Chromium, Playwright), on the bundled model.

Clicks a lesson and sees its tab open, its notice above the tabs and its text written; plays one quiz
round; saves the Lessons tab at phone, laptop and projector sizes in `LM_SCREENSHOT_DIR` (default
tmp_path), to look at. Skipped when /usr/bin/chromium is missing, unless `CI` is set: then it fails.
"""

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from page_helpers import CHROMIUM, chromium, serve  # noqa: E402

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing, and CI is set: the browser test must run")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402  (after the skip checks)

import app  # noqa: E402
import lm  # noqa: E402
from page_lessons import LESSONS  # noqa: E402

BUNDLED = ROOT / "assets" / "oz-lstm"
SIZES = {"phone": (390, 844), "laptop": (1366, 768), "projector": (1920, 1080)}


@pytest.fixture(scope="module")
def bundled():
    return lm.load_pretrained(BUNDLED)


@pytest.fixture(scope="module")
def url(bundled):
    demo = app.build_demo(*bundled, lm.model_info(BUNDLED))
    yield serve(demo)
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = chromium(p)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("LM_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _page(browser, url, size):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(30_000)
    page.goto(url)
    page.locator("#prompt textarea").wait_for()
    return page


def _no_error_toast(page):
    assert page.locator(".toast-body.error").count() == 0, page.locator(".toast-body.error").all_inner_texts()


def test_a_lesson_opens_its_tab_shows_its_notice_and_writes(browser, url, bundled, shots):
    page = _page(browser, url, SIZES["laptop"])
    page.get_by_role("tab", name="Lessons").click()
    for lesson in LESSONS:
        expect(page.get_by_role("button", name=lesson.title)).to_be_visible()  # "1. " + its title
    greedy = LESSONS[0]
    page.get_by_role("button", name=greedy.title).click()
    expect(page.get_by_role("tab", name="Playground")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#lesson-notice")).to_contain_text("At temperature 0 the model always takes")
    expected = lm.generate(*bundled, greedy.prompt, greedy.new_tokens, temperature=0, seed=greedy.seed,
                           stop_at_eos=False).text
    expect(page.locator("#story textarea")).to_have_value(expected)
    expect(page.locator("#prompt textarea")).to_have_value(greedy.prompt)
    page.screenshot(path=str(shots / "lesson-greedy-laptop.png"))

    page.get_by_role("tab", name="Lessons").click()
    dice = next(lesson for lesson in LESSONS if lesson.id == "same-dice")
    page.get_by_role("button", name=dice.title).click()
    expect(page.get_by_role("tab", name="Side by side")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#lesson-notice")).to_contain_text("Every column uses the same seed")
    columns = lm.sweep(*bundled, dice.prompt, list(dice.temperatures), dice.new_tokens, seed=dice.seed,
                       stop_at_eos=False)
    for i, g in enumerate(columns):
        expect(page.locator(f"#column-text-{i} .column-words")).to_have_text(g.text)
    page.screenshot(path=str(shots / "lesson-same-dice-laptop.png"), full_page=True)
    page.locator("#lesson-close").click()
    expect(page.locator("#lesson-notice")).to_be_hidden()
    _no_error_toast(page)
    page.close()


def test_quiz_round_and_the_lessons_tab_at_three_sizes(browser, url, shots):
    for name, size in SIZES.items():
        page = _page(browser, url, size)
        page.get_by_role("tab", name="Lessons").click()
        page.locator("#quiz-new").click()
        # The prompt, then the new words (the quiz's dice are random: the first may be a comma that hugs "but").
        expect(page.locator("#quiz-text textarea")).to_have_value(re.compile(r"^The lion was afraid, but\S*\s+\S"))
        page.locator("#quiz-guess label").first.click()
        page.locator("#quiz-reveal").click()
        expect(page.locator("#quiz-verdict")).to_contain_text(re.compile(r"Right!|Not this time"))
        expect(page.locator("#quiz-bars .bars .lanes").first).to_be_visible()
        _no_error_toast(page)
        page.screenshot(path=str(shots / f"lessons-{name}.png"), full_page=True)
        page.close()
