"""Share a link (page_link): the settings to a query string and back, then the real page in Chromium.

The pure part needs nothing. The browser part runs one server (test_browser's fixtures: a tiny random
model, so the texts are gibberish, but the same gibberish for the same seed) and opens each link in a
fresh page, as a friend who was sent it would. `LM_SCREENSHOT_DIR` keeps the pictures of the link box.
"""

import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from starlette.datastructures import QueryParams

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from page_helpers import CHROMIUM, chromium  # noqa: E402

import page_link  # noqa: E402
from page_actions import MAX_PROMPT_CHARS, MAX_TEMPERATURE  # noqa: E402
from page_link import Link, link_query, read_link  # noqa: E402

PROMPTS = ["", "The lion was afraid, but", "a & b = c #top ?x=1", "two  spaces\nand a new line\tand a tab",
           "é 日本語 🐉 “quoted”", "100% + 50% / 2; done", "%20 is not a space"]
LINKS = [Link(),
         Link(tab="playground", seed="7", temperature=1.3, top_k=5, top_p=0.9, new_tokens=25, stop_at_eos=True),
         Link(tab="side-by-side", seed="0", temperatures=(0, 0.5, 1.25, MAX_TEMPERATURE), new_tokens=40),
         Link(tab="how", plot_temperatures=(0.0, 3.0), top_k=3, top_p=0.5),
         Link(tab="model", seed="4294967295")]


def _params(query: str) -> dict:
    """What the server sees: the query string decoded as Starlette does (gr.Request.query_params)."""
    assert query == "" or query.startswith("?")
    return dict(QueryParams(query[1:]))


# ------------------------------------------------------------------------------------- pure
@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.tab or "bare")
def test_a_link_reads_back_as_it_was_made(link, prompt):
    link = Link(**{**link.__dict__, "prompt": prompt})
    query = link_query(link)
    assert "#" not in query and " " not in query and "\n" not in query  # nothing that would end or break a URL
    assert read_link(_params(query)) == (link, [])
    assert read_link(dict(parse_qsl(query[1:], keep_blank_values=True))) == (link, [])  # the standard library agrees


def test_a_link_carries_only_what_its_tab_reads():
    everything = dict(prompt="x", seed="3", temperature=0.5, top_k=2, top_p=0.8, new_tokens=9, stop_at_eos=False,
                      temperatures=(0, 1, 2, 3), plot_temperatures=(1.0,))
    assert link_query(Link(tab="playground", **everything)) \
        == "?prompt=x&seed=3&tab=playground&t=0.5&k=2&p=0.8&n=9&eos=0"
    assert link_query(Link(tab="side-by-side", **everything)) == "?prompt=x&seed=3&tab=side-by-side&n=9&ts=0,1,2,3"
    assert link_query(Link(tab="how", **everything)) == "?prompt=x&seed=3&tab=how&k=2&p=0.8&pt=1"
    assert link_query(Link()) == "" and link_query(Link(seed="")) == ""  # a blank seed is a random one: not written


def test_a_bare_address_and_unknown_parameters_are_no_settings():
    assert read_link({}) == (Link(), [])
    assert read_link({"__theme": "dark", "view": "api", "utm_source": "mail"}) == (Link(), [])
    link, problems = read_link({"__theme": "dark", "t": "0.35", "seed": " 007 "})
    assert link == Link(temperature=0.35, seed="7") and problems == []


def test_values_are_read_leniently_where_the_meaning_is_plain():
    link, problems = read_link({"eos": "TRUE", "ts": " 0 , 1.5,2,3 ", "pt": "3,0.25,3", "n": "60.0", "k": "0"})
    assert problems == []
    assert link == Link(stop_at_eos=True, temperatures=(0, 1.5, 2, 3), plot_temperatures=(0.25, 3.0), new_tokens=60,
                        top_k=0)  # the plotted temperatures in the boxes' order, once each


BAD = [("t", "9", "temperature must be a number from 0 to 3.5"), ("t", "nan", "temperature"),
       ("t", "hot", "temperature"), ("t", "", "temperature"),
       ("k", "lots", "top-k must be a whole number from 0 to 200"),
       ("k", "2.5", "top-k"), ("p", "0", "top-p must be a number from 0.01 to 1"), ("n", "-1", "new tokens"),
       ("n", "1e9", "new tokens must be a whole number from 0 to 300"), ("seed", "-1", "Seed must be a whole number"),
       ("seed", "٣", "Seed must be"), ("tab", "settings", "tab must be one of playground, side-by-side, sampler, how"),
       ("eos", "maybe", "eos must be 1"), ("ts", "1,2", "4 numbers, one per column; got '1,2'"),
       ("ts", "0,1,2,99", "each side-by-side temperature must be a number from 0 to 3.5"),
       ("pt", "0.3", "one or more of 0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3; got '0.3'"),
       ("pt", "", "the temperatures to plot")]


@pytest.mark.parametrize("param, raw, message", BAD, ids=[f"{p}={r}" for p, r, _ in BAD])
def test_a_bad_value_is_named_and_the_rest_is_kept(param, raw, message):
    link, problems = read_link({"prompt": "kept", param: raw})
    assert link == Link(prompt="kept")  # the bad one left at the page's default, the good one used
    assert len(problems) == 1 and problems[0].startswith(f"Link parameter {param}: ") and message in problems[0]
    assert "default is used" in problems[0] and len(problems[0]) < 300


def test_an_overlong_prompt_in_a_link_is_cut_and_said():
    link, problems = read_link({"prompt": "word " * MAX_PROMPT_CHARS})
    assert 0 < len(link.prompt) <= MAX_PROMPT_CHARS and link.prompt.endswith("word")
    assert len(problems) == 1 and "over the limit" in problems[0]


def test_settings_are_checked_where_they_are_made():
    for bad in ({"temperature": -0.1}, {"top_k": True}, {"temperatures": (1, 2)}, {"plot_temperatures": ()},
                {"tab": "Playground"}, {"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, {"stop_at_eos": "yes"}):
        with pytest.raises(ValueError):
            Link(**bad)
    assert page_link.share_link("x", "", "side-by-side", temperatures=[0, 1, 2, 3], new_tokens=5) \
        == "?prompt=x&tab=side-by-side&n=5&ts=0,1,2,3"


# ------------------------------------------------------------------------------------- the page
browser_ready = Path(CHROMIUM).exists() and (os.environ.get("CI") or __import__("importlib").util.find_spec(
    "playwright") is not None)
needs_browser = pytest.mark.skipif(not browser_ready, reason=f"{CHROMIUM} or playwright is missing")

if browser_ready:
    import test_browser
    from playwright.sync_api import expect, sync_playwright

    source, url = test_browser.source, test_browser.url  # one server for the module


@pytest.fixture(scope="module")
def browser(url):
    with sync_playwright() as p:
        browser = chromium(p)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """A fresh page (its own context: no shared session) at an address; the clipboard allowed, as a click grants."""
    contexts = []

    def open_at(address: str, viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900},
                                      permissions=["clipboard-read", "clipboard-write"])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(address)
        page.locator("#prompt textarea").wait_for()
        return page

    yield open_at
    for context in contexts:
        context.close()


def _box(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea, #{elem_id} input").first


def _idle(page, *elem_ids):
    """Until the outputs' progress overlays are hidden again: the run (a stream too) is over."""
    page.wait_for_timeout(300)
    for elem_id in elem_ids:
        expect(page.locator(f"#{elem_id} [data-testid='status-tracker']").first).to_have_class(re.compile(r"\bhide\b"))


def _set_slider(page, elem_id: str, value: str):
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(value)
    box.press("Enter")
    box.blur()


def _copy_link(page, url: str) -> str:
    page.locator("#copy-link-button").click()
    expect(_box(page, "share-link")).to_have_value(re.compile("^" + re.escape(url) + r"\?"))
    return _box(page, "share-link").input_value()


def _no_error_toast(page):
    assert page.locator(".toast-body.error").count() == 0, page.locator(".toast-body.error").all_inner_texts()


@needs_browser
def test_a_copied_playground_link_writes_the_same_story(open_page, url):
    first = open_page(url)
    first.locator("#prompt textarea").fill("The wizard said, & #1 ?\nthe lion")
    _box(first, "seed").fill("11")
    _set_slider(first, "temperature", "1.3")
    first.locator("#generate-button").click()
    expect(_box(first, "seed-used")).to_have_value("11")
    _idle(first, "story")
    story = _box(first, "story").input_value()
    assert story.startswith("The wizard said, & #1 ?") and len(story) > len("The wizard said, & #1 ? the lion")
    link = _copy_link(first, url)
    assert "t=1.3" in link and "seed=11" in link and "tab=playground" in link
    assert first.evaluate("navigator.clipboard.readText()") == link  # and on the clipboard

    second = open_page(link)  # a friend opens it: the page fills itself and writes
    expect(_box(second, "seed-used")).to_have_value("11")
    _idle(second, "story")
    expect(_box(second, "story")).to_have_value(story)
    expect(_box(second, "seed")).to_have_value("11")
    expect(second.locator("#temperature input[type=number]")).to_have_value("1.3")
    _no_error_toast(second)


@needs_browser
def test_a_blank_seed_links_the_seed_that_made_the_story(open_page, url):
    first = open_page(url)
    first.locator("#generate-button").click()  # the default prompt, a random seed
    expect(_box(first, "seed-used")).to_have_value(re.compile(r"^\d+$"))
    _idle(first, "story")
    seed, story = _box(first, "seed-used").input_value(), _box(first, "story").input_value()
    link = _copy_link(first, url)
    assert f"seed={seed}" in link
    second = open_page(link)
    _idle(second, "story")
    expect(_box(second, "story")).to_have_value(story)


def _column(page, i: int):
    """A Side by side column's words (an HTML block, its words clickable)."""
    return page.locator(f"#column-text-{i} .column-words")


@needs_browser
def test_a_copied_side_by_side_link_writes_the_same_four_texts(open_page, url, shots):
    first = open_page(url)
    first.get_by_role("tab", name="Side by side").click()
    _box(first, "seed").fill("5")
    _set_slider(first, "column-temperature-2", "2.5")
    first.locator("#compare-button").click()
    expect(_box(first, "compare-seed")).to_have_value("5")
    texts = [_column(first, i).inner_text() for i in range(4)]
    assert all(text.startswith("The lion was afraid, but") for text in texts)
    link = _copy_link(first, url)
    assert "tab=side-by-side" in link and "ts=0,0.5,2.5,1.5" in link
    for size, viewport in {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}.items():
        first.set_viewport_size(viewport)
        first.locator("#link-row").scroll_into_view_if_needed()
        first.screenshot(path=str(shots / f"link-{size}.png"))

    second = open_page(link)
    expect(second.get_by_role("tab", name="Side by side")).to_have_attribute("aria-selected", "true")
    expect(_box(second, "compare-seed")).to_have_value("5")
    for i, text in enumerate(texts):
        expect(_column(second, i)).to_have_text(text)
    _no_error_toast(second)


@needs_browser
def test_a_how_link_draws_its_temperatures(open_page, url):
    page = open_page(url + "?tab=how&pt=0,3&prompt=the%20dragon")
    expect(page.get_by_role("tab", name="How temperature works")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#probability-table")).to_contain_text("T = 3 (%)")
    expect(page.locator("#probability-table")).to_contain_text("T = 0 (%)")
    expect(page.locator("#distribution-plot .bars")).to_be_visible()
    assert page.locator("#probability-table").inner_text().count("T = ") == 2  # only the link's two


@needs_browser
def test_a_bare_address_runs_nothing(open_page, url):
    page = open_page(url)
    page.wait_for_timeout(2000)  # time enough for a load event's run to have started
    for elem_id in ("story", "seed-used", "share-link"):
        expect(_box(page, elem_id)).to_have_value("")
    assert page.locator(".toast-body").count() == 0
    expect(page.get_by_role("tab", name="Playground")).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="Side by side").click()  # Gradio draws a tab when it is first opened
    expect(_box(page, "compare-seed")).to_have_value("")
    expect(_column(page, 0)).to_have_count(0)  # no column of words written


@needs_browser
def test_a_bad_temperature_in_a_link_is_named_and_the_page_still_works(open_page, url):
    page = open_page(url + "?t=9&seed=3&n=12")
    expect(page.locator(".toast-body.warning")).to_contain_text("Link parameter t: temperature must be a number")
    expect(page.locator(".toast-body.warning")).to_contain_text("got '9'")
    expect(_box(page, "seed-used")).to_have_value("3")  # the rest of the link was used, and it ran
    expect(_box(page, "story")).to_have_value(re.compile(r"^The lion was afraid, but\s*\S"))
    expect(page.locator("#temperature input[type=number]")).to_have_value("0.8")  # the page's default
    _no_error_toast(page)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("LM_SCREENSHOT_DIR") or tmp_path_factory.mktemp("link-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@needs_browser
def test_share_link_is_an_api_endpoint(url):
    from gradio_client import Client

    client = Client(url, verbose=False)
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert "/share_link" in names
    assert not any("lambda" in name or "open_link" in name or "from_page" in name for name in names), names
    query = client.predict("a & b #c", "7", "playground", 1.3, 5, 0.9, 20, True, [0, 0.5, 1, 1.5], [1.0],
                           api_name="/share_link")
    assert query == link_query(Link(tab="playground", prompt="a & b #c", seed="7", temperature=1.3, top_k=5,
                                    top_p=0.9, new_tokens=20, stop_at_eos=True))
    with pytest.raises(Exception, match="temperature must be a number from 0 to 3.5"):
        client.predict("x", "", "playground", 9, 0, 1, 20, False, [0, 0.5, 1, 1.5], [1.0], api_name="/share_link")


@needs_browser
def test_a_model_tab_link_opens_it_and_runs_nothing(open_page, url):
    page = open_page(url + "?tab=model&seed=4")
    expect(page.get_by_role("tab", name="Model")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#model-info")).to_contain_text("Words it knows (vocabulary)")
    page.locator("#copy-link-button").click()  # the tab opened by the link is the one a new link names
    expect(_box(page, "share-link")).to_have_value(url + "?prompt=The%20lion%20was%20afraid,%20but&seed=4&tab=model")
    page.get_by_role("tab", name="Playground").click()
    expect(_box(page, "story")).to_have_value("")


@needs_browser
def test_a_sampler_link_starts_be_the_sampler_from_its_prompt_and_seed(open_page, url):
    page = open_page(url + "?tab=sampler&prompt=the%20dragon&seed=4")
    expect(page.get_by_role("tab", name="Be the sampler")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#sampler-tickets button.ticket").first).to_be_visible()
    expect(_box(page, "sampler-seed")).to_have_value("4")
    assert link_query(Link(tab="sampler", prompt="the dragon", seed="4", temperature=2.0)) == \
        "?prompt=the%20dragon&seed=4&tab=sampler"  # the tab's own sliders stay out of the link
