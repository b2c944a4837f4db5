"""The page in a classroom: a phone, a laptop and a projector, and a keyboard, in real Chromium.

One server and one browser for the module (test_browser's fixtures); each test sets the viewport it is
about. Geometry is read from the page (getBoundingClientRect), so a test fails when a box is out of sight,
off its frame or too small, not when a pixel moves.
"""

import re
import time

import pytest
import test_browser
from page_helpers import BARS_LAYOUT, small_text
from playwright.sync_api import expect

import app
import page_actions

source, url, page = test_browser.source, test_browser.url, test_browser.page  # one server, one browser

PHONE, LAPTOP = {"width": 375, "height": 800}, {"width": 1280, "height": 800}
PROJECTOR = {"width": 1920, "height": 1080}
VIEWPORTS = {"phone": PHONE, "laptop": LAPTOP, "projector": PROJECTOR}
SEED = "#seed textarea, #seed input"


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def _fresh(page, viewport: dict):
    """The page as a student opens it at `viewport`: reloaded, at the top, presentation mode off."""
    page.set_viewport_size(viewport)
    page.reload()
    page.locator("#prompt textarea").wait_for()
    page.wait_for_function("document.querySelector('[role=tab][tabindex=\"-1\"]') !== null")  # page.js runs


def _write(page, seed: str):
    page.locator(SEED).first.fill(seed)
    page.locator("#generate-button").click()
    expect(page.locator("#seed-used input, #seed-used textarea").first).to_have_value(seed)
    expect(page.locator("#story textarea")).to_have_value(re.compile(r"^The lion was afraid, but\s*\S"))


def test_the_phone_first_screen_holds_the_prompt_write_and_the_story(page):
    _fresh(page, PHONE)
    _write(page, "7")
    page.evaluate("window.scrollTo(0, 0)")
    for selector in ("#prompt textarea", SEED, "#generate-button"):
        box = _box(page, selector)
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (selector, box)
    story = _box(page, "#story textarea")
    assert story["y"] + 4 * 24 <= PHONE["height"], story  # at least four lines of the story on the first screen
    tabs = page.get_by_role("tab")
    assert tabs.count() >= 5 and page.get_by_label("More tabs").count() == 0
    for i in range(tabs.count()):  # every tab in sight, none behind "..."
        expect(tabs.nth(i)).to_be_visible()
        box = tabs.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.get_by_role("tab", name="Side by side").click()
    first, second = _settled_boxes(page, "#column-text-0", "#column-text-1")
    assert second["x"] >= first["x"] + first["width"] - 1  # side by side: the second to the right of the first,
    assert second["y"] < first["y"] + first["height"] and first["y"] < second["y"] + second["height"]  # level with it


def _settled_boxes(page, *selectors: str, timeout: float = 5.0) -> list[dict]:
    """The boxes of `selectors` once the layout has settled (the same over three looks, ~0.1 s), not mid-way
    through the tab's first render: measured at once after a click, a column could still be 20 px high."""
    deadline, seen = time.monotonic() + timeout, []
    while True:
        page.wait_for_timeout(30)
        seen = [*seen[-2:], [_box(page, selector) for selector in selectors]]
        if (len(seen) == 3 and seen[0] == seen[1] == seen[2]) or time.monotonic() > deadline:
            return seen[-1]


def _outside(page, selector: str) -> list[str]:
    """What inside `selector` pokes out of its own frame or the window: [] when everything fits."""
    return page.evaluate("""(selector) => {
        const frame = document.querySelector(selector).getBoundingClientRect(), out = [];
        const limit = Math.min(frame.right, document.documentElement.clientWidth) + 1;
        const boxes = ["table", "th", "img", ".body-cell"].map((s) => `${selector} ${s}`).join(", ");
        for (const el of document.querySelectorAll(boxes)) {  // what a student sees: cells, tables, pictures
            const r = el.getBoundingClientRect();
            if (r.width > 0 && (r.right > limit || r.left < frame.left - 1)) out.push(`${el.tagName} ${r.right}`);
        }
        for (const el of document.querySelectorAll(`${selector} th *, ${selector} .body-cell *`)) {  // cut text
            if (el.scrollWidth > el.clientWidth + 2 && getComputedStyle(el).overflowX !== "visible") out.push(
                `${el.tagName}.${el.className} "${el.innerText}" ${el.scrollWidth} > ${el.clientWidth}`);
        }
        return out;
    }""", selector)


def _words_broken(page, selector: str) -> list[str]:
    """Header cells whose words wrap inside a word ("te/m/pe/ra/tu/re"): each word must lie on one line."""
    return page.evaluate("""(selector) => {
        const broken = [];
        for (const th of document.querySelectorAll(`${selector} th`)) {
            const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (const m of node.textContent.matchAll(/\\S+/g)) {
                    const range = document.createRange();
                    range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
                    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                    if (lines.size > 1) broken.push(m[0]);
                }
            }
        }
        return broken;
    }""", selector)


@pytest.mark.parametrize("name", VIEWPORTS)
def test_no_table_or_plot_overflows(page, name):
    _fresh(page, VIEWPORTS[name])
    page.get_by_role("tab", name="How temperature works").click()
    expect(page.locator("#distribution-plot .bars")).to_be_visible()
    for value in ("0 (greedy)", "3"):  # five temperatures: the widest "bars as numbers" table
        page.locator("#plot-temperatures").get_by_label(value, exact=True).check()
    expect(page.locator("#probability-table")).to_contain_text("T = 3 (%)")
    expect(page.locator("#probability-table")).to_contain_text("T = 0 (%)")
    page.wait_for_timeout(500)
    for selector in ("#probability-table", "#entropy-table", "#distribution-plot"):
        assert _outside(page, selector) == [], selector
    bars = page.eval_on_selector("#distribution-plot .bars", BARS_LAYOUT)  # five lanes a word, at every width
    assert all(w["whole"] and w["inside"] for w in bars["words"]) and bars["overlaps"] == 0, bars["words"]
    assert not bars["scrolls"] and all(len(lanes) == 5 for lanes in bars["lanes"])
    assert "T = 3" in page.locator("#probability-table th").all_inner_texts()[-1]  # the last column is there
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#preset-button").click()
    expect(page.locator("#preset-table")).to_contain_text("3.1415")
    assert _outside(page, "#preset-table") == []
    assert _words_broken(page, "#preset-table") == [] and _words_broken(page, "#entropy-table") == []


def test_whole_texts_on_a_phone_one_column_figure_and_a_table_that_breaks_no_word(page):
    _fresh(page, PHONE)
    page.get_by_role("tab", name="Whole texts").click()
    page.locator("#whole-temperatures").get_by_label("1.5", exact=True).uncheck()  # fewer rows: a quicker run
    page.locator("#whole-temperatures").get_by_label("2", exact=True).uncheck()
    page.locator("#whole-button").click()
    expect(page.locator("#whole-plot-phone img")).to_be_visible(timeout=60_000)  # the one-column figure
    expect(page.locator("#whole-plot")).to_be_hidden()
    img = _box(page, "#whole-plot-phone img")
    assert img["x"] >= 0 and img["x"] + img["width"] <= PHONE["width"]
    expect(page.locator("#whole-table")).to_contain_text("0.25")
    page.wait_for_timeout(300)
    assert _words_broken(page, "#whole-table") == []  # "tempe/rature", "perplexi/ty" before
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # the page does not scroll
    page.set_viewport_size(LAPTOP)  # the same results on a wider screen: the two-column figure
    expect(page.locator("#whole-plot img")).to_be_visible()
    expect(page.locator("#whole-plot-phone")).to_be_hidden()


def test_a_lessons_notice_takes_a_phones_whole_width(page):
    """Close above the notice, not beside it: beside it, the notice had 200 of the box's 310 px and was 500 px tall."""
    _fresh(page, PHONE)
    page.get_by_role("tab", name="Lessons").click()
    page.locator("#lesson-2").click()
    expect(page.locator("#lesson-notice")).to_contain_text("Lesson 2")
    notice, box, close = _settled_boxes(page, "#lesson-notice", "#lesson-box", "#lesson-close")
    assert notice["width"] >= 0.85 * box["width"], (notice, box)
    assert close["y"] + close["height"] <= notice["y"] + 2  # Close above the notice's first line


def test_the_model_tab_shows_a_phone_its_own_training_curve(page):
    _fresh(page, PHONE)
    page.get_by_role("tab", name="Model").click()
    expect(page.locator("#training-curve-phone img")).to_be_visible(timeout=30_000)
    expect(page.locator("#training-curve")).to_be_hidden()
    img = _box(page, "#training-curve-phone img")
    assert img["x"] >= 0 and img["x"] + img["width"] <= PHONE["width"]
    page.set_viewport_size(LAPTOP)
    expect(page.locator("#training-curve img")).to_be_visible()
    expect(page.locator("#training-curve-phone")).to_be_hidden()


def _wrapped(page, selector: str) -> bool:
    """Whether any text of `selector` breaks over two lines."""
    return page.evaluate("""(selector) => {
        const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const range = document.createRange();
            range.selectNodeContents(node);
            const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
            if (lines.size > 1) return true;
        }
        return false;
    }""", selector)


def test_be_the_samplers_buttons_fit_a_phone_on_one_line_each(page):
    _fresh(page, PHONE)
    page.get_by_role("tab", name="Be the sampler").click()
    buttons = ("#sampler-start", "#sampler-roll", "#sampler-back")
    expect(page.locator(buttons[0])).to_be_visible()
    boxes = _settled_boxes(page, *buttons)
    assert len({round(b["y"]) for b in boxes}) == 1 and boxes[-1]["x"] + boxes[-1]["width"] <= PHONE["width"]
    assert [b for b in buttons if _wrapped(page, b)] == []  # "Start over" once wrapped into two lines


def test_keyboard_writes_and_reaches_write(page):
    _fresh(page, LAPTOP)
    page.locator("#prompt textarea").click()
    for _ in range(3):  # prompt -> seed -> the tab bar -> Write
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "generate-button":
            break
    assert page.evaluate("document.activeElement.id") == "generate-button"
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }""")
    assert ring[0] == "solid" and float(ring[1][:-2]) >= 2 and ring[2] == "rgb(29, 78, 216)", ring  # blue, not orange
    page.locator(SEED).first.fill("31")
    page.locator("#prompt textarea").press("Control+Enter")  # writes; no new line in the prompt
    expect(page.locator("#seed-used input, #seed-used textarea").first).to_have_value("31")
    expect(page.locator("#prompt textarea")).to_have_value(app.DEFAULT_PROMPT)
    test_browser._wait_idle(page, "story")  # the first story written to its end
    page.locator(SEED).first.fill("32")
    page.locator(SEED).first.press("Enter")
    expect(page.locator("#seed-used input, #seed-used textarea").first).to_have_value("32")


def _sent(page, action):
    """The values the page sends for the request that `action` starts."""
    with page.expect_request(lambda r: "/queue/join" in r.url and r.method == "POST") as request:
        action()
    return request.value.post_data_json["data"]


def test_a_typed_value_out_of_range_is_named_and_the_box_shows_what_is_used(page):
    _fresh(page, LAPTOP)
    box = page.locator("#temperature input[type=number]")
    box.fill("5")
    note = page.locator("#temperature .range-note")
    expect(note).to_have_text(f"Temperature goes from 0 to {app.MAX_TEMPERATURE:g}: 5 is outside, so "
                              f"{app.MAX_TEMPERATURE:g} is used.")
    sent = _sent(page, lambda: page.locator("#generate-button").click())
    assert sent[1] == app.MAX_TEMPERATURE
    expect(box).to_have_value(f"{app.MAX_TEMPERATURE:g}")  # the box shows the value used
    test_browser._wait_idle(page, "story")  # Write ignores a click while its story is being written
    box.fill("1.2")
    expect(note).to_have_count(0)
    page.get_by_text("Top-k and top-p").click()
    top_p = page.locator("#top-p input[type=number]")
    top_p.fill("0.01")  # the smallest top-p: greedy
    # The slider's own range follows once the page has taken the value (the accordion has just opened: under a
    # busy machine a click straight after the fill could send the value from before it).
    expect(page.locator("#top-p input[type=range]")).to_have_value("0.01")
    sent = _sent(page, lambda: page.locator("#generate-button").click())
    assert sent[3] == 0.01 and page.locator("#top-p .range-note").count() == 0
    expect(top_p).to_have_value("0.01")


def test_a_long_prompt_is_cut_with_a_message_that_covers_nothing(page):
    _fresh(page, LAPTOP)
    page.locator("#prompt textarea").fill("The lion was afraid, but " * 60)  # 1,500 characters
    page.locator("#generate-button").click()
    toast = page.locator(".toast-body.warning")
    expect(toast).to_contain_text(f"over the limit of {page_actions.MAX_PROMPT_CHARS:,}")
    expect(toast).to_contain_text("only its first 999 characters were used")
    shown = toast.bounding_box()
    for selector in ("#story", "#seed", "#prompt", "#generate-button"):
        box = _box(page, selector)
        apart = (shown["x"] + shown["width"] <= box["x"] or box["x"] + box["width"] <= shown["x"]
                 or shown["y"] + shown["height"] <= box["y"] or box["y"] + box["height"] <= shown["y"])
        assert apart, (selector, box, shown)


def test_a_result_made_with_old_settings_is_marked(page):
    _fresh(page, LAPTOP)
    _write(page, "9")
    note = page.locator(".stale-note")
    expect(note).to_have_count(0)
    page.locator("#temperature input[type=number]").fill("1.5")
    expect(page.locator(".stale-note:visible")).to_have_text("Made with T = 0.8; settings changed: press Write.")
    expect(page.locator("#story")).to_have_class(re.compile(r"\bstale\b"))
    _write(page, "9")
    expect(page.locator(".stale-note:visible")).to_have_count(0)
    page.get_by_role("tab", name="How temperature works").click()
    expect(page.locator("#distribution-plot .bars")).to_be_visible()
    test_browser._wait_idle(page, "distribution-plot")
    page.wait_for_timeout(500)  # page.js has seen the plot (it looks four times a second)
    page.locator("#examples button").filter(has_text="Once upon a time").first.click()  # a new prompt
    expect(page.locator("#distribution-plot")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator(".stale-note:visible")).to_contain_text("an earlier prompt")
    page.locator("#distribution-button").click()
    expect(page.locator("#distribution-plot")).not_to_have_class(re.compile(r"\bstale\b"))


def test_presentation_mode_enlarges_the_story(page):
    _fresh(page, PROJECTOR)
    _write(page, "5")
    size = lambda: float(page.locator("#story textarea").evaluate("e => getComputedStyle(e).fontSize")[:-2])  # noqa: E731
    before = size()
    assert small_text(page, 18) != []  # the laptop page's notes and inputs are 12-14 px: the probe sees them
    page.locator("#presentation input").check()
    expect(page.locator(".gradio-container .contain > *").first).to_have_class(re.compile(r"\bpresenting\b"))
    assert size() >= 1.5 * before
    expect(page.locator("#examples")).to_be_hidden()
    # the rest of what the room reads (the prompt, the seed, the temperature's value and its notes, the colour
    # key) is large too: 18 px at least, where the page's laptop text is 12-14 px
    assert small_text(page, 18) == []
    page.locator("#temperature input[type=number]").fill("9")  # a range note, sized by the page's own style
    expect(page.locator("#temperature .range-note")).to_be_visible()
    assert small_text(page, 18) == []
    page.locator("#temperature input[type=number]").fill("0.8")
    page.get_by_role("tab", name="Side by side").click()
    headings = page.locator(".column-heading")
    expect(headings.first).to_have_text("T = 0 · greedy")
    expect(headings.nth(3)).to_have_text("T = 1.5 · hot")
    assert float(headings.first.evaluate("e => getComputedStyle(e).fontSize")[:-2]) >= 28
    assert small_text(page, 18) == []
    page.locator("#presentation input").uncheck()
