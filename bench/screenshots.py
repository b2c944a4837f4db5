"""The README's screenshots, one per screen a class meets, each with a story written:

    python bench/screenshots.py                      # the bundled model, into docs/
    python bench/screenshots.py --model runs/mine --out /tmp/shots

- docs/screenshot-phone.png      375 x 800, the first screen of a phone;
- docs/screenshot.png            1280 x 800, a laptop;
- docs/screenshot-projector.png  1920 x 1080, presentation mode on;
- then the teaching modes (MODE_SHOTS), and the static page in web/ (STATIC_SHOTS: exported from the same
  model by export.py and served from 127.0.0.1, as a static Space serves it).

Starts `python app.py` as a user would (bench_app.start_server) and drives headless Chromium with
Playwright, as tests/test_browser.py does. The seed is fixed, so a re-made picture shows the same story.
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import ROOT, free_port, start_server, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = [  # file, viewport, presentation mode
    ("screenshot-phone.png", {"width": 375, "height": 800}, False),
    ("screenshot.png", {"width": 1280, "height": 800}, False),
    ("screenshot-projector.png", {"width": 1920, "height": 1080}, True),
]
PROMPT, SEED, TEMPERATURE = "The Scarecrow walked into the forest, and", "7", "0.8"


def write_story(page, presentation: bool) -> None:
    """The page as a student sees it after one Write: a fixed prompt and seed, at the top of the page."""
    from playwright.sync_api import expect

    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#seed textarea, #seed input").first.fill(SEED)
    page.locator("#temperature input[type=number]").fill(TEMPERATURE)
    if presentation:
        page.locator("#presentation input").check()
    page.locator("#generate-button").click()
    expect(page.locator("#seed-used textarea, #seed-used input").first).to_have_value(SEED, timeout=60_000)
    expect(page.locator("#story textarea")).to_have_value(re.compile(re.escape(PROMPT) + r"\s*\S"))
    page.wait_for_timeout(1500)  # the last streamed words, the colours and the status overlay settle
    page.evaluate("window.scrollTo(0, 0)")


def press_on_tab(page, tab: str, button: str) -> None:
    """The fixed prompt and seed, then `tab` opened and `button` pressed."""
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#seed textarea, #seed input").first.fill(SEED)
    page.get_by_role("tab", name=tab).click()
    page.locator(button).click()


def be_the_sampler(page) -> None:
    """Be the sampler after a few words: one taken by hand, then rolls, the last roll's strip in view."""
    from playwright.sync_api import expect

    press_on_tab(page, "Be the sampler", "#sampler-start")
    expect(page.locator("#sampler-tickets button.ticket").first).to_be_visible(timeout=60_000)
    page.locator("#sampler-tickets button.ticket").nth(1).click()
    expect(page.locator("#sampler-text .taken.mine")).to_have_count(1, timeout=60_000)
    for n in (1, 2, 3):
        page.locator("#sampler-roll").click()
        expect(page.locator("#sampler-text .taken.roll")).to_have_count(n, timeout=60_000)
    page.wait_for_timeout(800)
    page.locator("#sampler-intro").scroll_into_view_if_needed()


def whole_texts(page) -> None:
    """Whole texts after one run: the plot of the measures against temperature, then the texts."""
    from playwright.sync_api import expect

    press_on_tab(page, "Whole texts", "#whole-button")
    expect(page.locator("#whole-plot img")).to_be_visible(timeout=120_000)
    page.wait_for_timeout(1000)
    page.evaluate("document.querySelector('#whole-temperatures').scrollIntoView({block: 'start'})")


def inspect_a_word(page) -> None:
    """The Playground after Write, with one word clicked: how it was drawn."""
    from playwright.sync_api import expect

    write_story(page, False)
    page.locator("#story-colours [data-i='6']").click()
    expect(page.locator("#story-inspector .inspector")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(500)
    page.evaluate("document.querySelector('#story-colours').scrollIntoView({block: 'start'})")


def how_temperature_works(page) -> None:
    """How temperature works on its defaults: the next-word bars at three temperatures, then their numbers."""
    from playwright.sync_api import expect

    page.locator("#prompt textarea").fill(PROMPT)
    page.get_by_role("tab", name="How temperature works").click()
    expect(page.locator("#distribution-plot .bars")).to_contain_text("forest, and", timeout=60_000)
    page.wait_for_timeout(800)
    page.evaluate("document.querySelector('#distribution-plot').scrollIntoView({block: 'start'})")


def lesson(page) -> None:
    """Lesson 4 (same dice, different temperature) clicked: its notice above Side by side, the columns written."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Lessons").click()
    page.locator("#lesson-4").click()
    expect(page.locator("#lesson-notice")).to_be_visible(timeout=60_000)
    expect(page.locator("#column-text-3 .column-words")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(800)
    page.locator("#lesson-box").scroll_into_view_if_needed()


def shared_link(page) -> None:
    """Side by side written, then Copy link: the link box filled."""
    from playwright.sync_api import expect

    press_on_tab(page, "Side by side", "#compare-button")
    expect(page.locator("#column-text-3 .column-words")).to_be_visible(timeout=60_000)
    page.locator("#copy-link-button").click()
    expect(page.locator("#share-link textarea")).to_have_value(re.compile(r"tab=side-by-side"), timeout=30_000)
    page.evaluate("document.querySelector('#link-row').scrollIntoView({block: 'end'})")


MODE_SHOTS = [  # file, viewport, what to do: the teaching modes, each as a student meets it
    ("screenshot-sampler.png", {"width": 1280, "height": 1000}, be_the_sampler),
    ("screenshot-sampler-phone.png", {"width": 375, "height": 800}, be_the_sampler),
    ("screenshot-whole-texts.png", {"width": 1280, "height": 1500}, whole_texts),
    ("screenshot-inspect.png", {"width": 1280, "height": 1000}, inspect_a_word),
    ("screenshot-how-phone.png", {"width": 375, "height": 800}, how_temperature_works),
    ("screenshot-lessons.png", {"width": 1280, "height": 900}, lesson),
    ("screenshot-link.png", {"width": 1280, "height": 900}, shared_link),
]


def static_start(page, tab: str | None = None) -> None:
    """The shots' prompt and seed on the static page, and `tab` opened."""
    page.fill("#prompt", PROMPT)
    page.fill("#seed", SEED)
    if tab:
        page.click(f"#tab-{tab}")


def static_inspect(page) -> None:
    """The static page's Playground after one Write, a word clicked: the draw that picked it."""
    static_start(page)
    page.fill("#temperature", TEMPERATURE)
    page.click("#write")
    page.wait_for_selector("#story[data-done=true]")
    page.click("#story span.word[data-i='6']")
    page.evaluate("document.querySelector('#write').scrollIntoView({block: 'start'})")


def static_sampler(page) -> None:
    """The static page's Be the sampler after a few rolls and a word taken by hand."""
    static_start(page, "sampler")
    for selector in ["#sampler-roll", "#sampler-roll", "#sampler-tickets button.ticket >> nth=1", "#sampler-roll"]:
        page.click(selector)
        page.wait_for_function("!document.querySelector('#sampler-roll').disabled")
    page.evaluate("document.querySelector('#sampler-buttons').scrollIntoView({block: 'start'})")


def static_whole_texts(page) -> None:
    """The static page's Whole texts tab on its defaults: 120 texts written in the browser, measured."""
    static_start(page, "whole-texts")
    page.click("#whole-button")
    page.wait_for_function("window.lmPage.whole !== undefined", timeout=120_000)
    page.evaluate("document.querySelector('#whole-status').scrollIntoView({block: 'start'})")


STATIC_SHOTS = [  # file, viewport, what to do: the free static page (web/)
    ("screenshot-static.png", {"width": 1280, "height": 900}, static_inspect),
    ("screenshot-static-phone.png", {"width": 375, "height": 800}, static_sampler),
    ("screenshot-static-whole-texts.png", {"width": 1280, "height": 1100}, static_whole_texts),
]


def static_space(model: str, folder: Path):
    """The static page for `model`, exported into `folder` and served from 127.0.0.1: (its address, server)."""
    import functools
    import http.server
    import threading

    sys.path.insert(0, str(ROOT))
    import export

    export.write_space(model, folder, measure=False)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


def shoot(browser, url: str, shots: list, out: Path, ready: str | None = None) -> None:
    """Each of `shots` (file, viewport, what to do) in a fresh page of `url`, into `out`."""
    for name, viewport, show in shots:
        page = browser.new_page(viewport=viewport)
        page.set_default_timeout(30_000)
        page.goto(url)
        if ready:
            page.wait_for_selector(ready)
        show(page)
        page.screenshot(path=str(out / name))
        print(f"{out / name}: {viewport['width']}x{viewport['height']}")
        page.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "oz-lstm"), help="model folder or Hub repo id")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the pictures (default: docs/)")
    parser.add_argument("--start-timeout", type=float, default=120, help="seconds to wait for the server")
    parser.add_argument("--static-only", action="store_true", help="only the static page's pictures")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    proc, url, _ = (None, None, None) if args.static_only else start_server(args.model, free_port(), args.start_timeout)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            stories = [(name, viewport, lambda page, on=presentation: write_story(page, on))
                       for name, viewport, presentation in SHOTS]
            if proc:
                shoot(browser, url, stories + MODE_SHOTS, args.out)
            with tempfile.TemporaryDirectory() as folder:
                static_url, server = static_space(args.model, Path(folder) / "space")
                try:
                    shoot(browser, static_url, STATIC_SHOTS, args.out, ready="body[data-ready=true]")
                finally:
                    server.shutdown()
            browser.close()
    finally:
        if proc:
            stop_server(proc, 30)


if __name__ == "__main__":
    main()
