"""A real browser on the real page: headless Debian Chromium driven by Playwright.

Types a prompt, runs the playground, the side-by-side view and the eleven-temperature preset, opens
the plot and the model facts, and saves screenshots:

- `LM_SCREENSHOT` (default `<tmp_path>/screenshot.png`): the playground after a run, for the README;
- `LM_SCREENSHOT_DIR` (default `tmp_path`): one picture per tab, to look at the layout.

By default the page runs on a tiny random model made here (its text is gibberish); set
`LM_BROWSER_MODEL=assets/oz-lstm` to take the README screenshot with a trained model.

Skipped when /usr/bin/chromium is missing, unless `CI` is set: then it fails.
"""

import os
import re
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
PROMPT = "The lion was afraid, but"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing, and CI is set: the browser test must run")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

if not os.environ.get("CI"):
    pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect, sync_playwright  # noqa: E402  (after the skip checks)

import app  # noqa: E402
import lm  # noqa: E402
import page_format  # noqa: E402
from lm.card import write_results  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny_model(folder: Path):
    lines = ["the lion was afraid , but he walked into the dark forest .",
             "the little dragon opened the door and looked at the garden .",
             "the wizard said , we must go home before the moon rises !"]
    vocab = lm.Vocab.build([lm.tokenize(line) for line in lines], min_freq=1)
    model = lm.LSTMLanguageModel(lm.LMConfig(vocab_size=len(vocab), emb_dim=16, hid_dim=16, num_layers=1,
                                             dropout_rate=0.0))
    lm.save_pretrained(model, vocab, folder)
    write_results(folder, {  # as train.py writes them: the Model tab draws the curve of its history
        "dataset_name": "Three invented lines", "parameters": model.num_parameters(), "vocab_size": len(vocab),
        "minutes": 0.1, "hardware": "CPU", "best_valid_ppl": 28.0, "test_ppl": 30.5, "tokens": None,
        "train_config": {"dataset": "tiny/invented-lines", "min_freq": 1, "epochs": 3, "batch_size": 4,
                         "eval_batch_size": 4, "seq_len": 8},
        "history": [{"epoch": e, "train_loss": 4.0 - e / 2, "valid_loss": 4.2 - e / 3, "lr": 1e-3} for e in (1, 2, 3)]})
    return folder


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return os.environ.get("LM_BROWSER_MODEL") or _tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="module")
def url(source):
    model, vocab = lm.load_pretrained(source)
    demo = app.build_demo(model, vocab, lm.model_info(source))
    port = _free_port()
    app.launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def page(url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(url)
        page.locator("#prompt textarea").wait_for()
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("LM_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open_tab(page, name: str):
    page.get_by_role("tab", name=name).click()


def _no_error_toast(page):
    assert page.locator(".toast-body.error").count() == 0, page.locator(".toast-body.error").all_inner_texts()


def test_playground_streams_and_colours(page, shots, tmp_path):
    page.locator("#prompt textarea").fill(PROMPT)
    page.locator("#seed textarea, #seed input").first.fill("7")
    page.locator("#generate-button").click()
    story = page.locator("#story textarea")
    expect(story).to_have_value(re.compile(r"^The lion was afraid, but\s*\S"))  # new words after the prompt
    expect(page.locator("#seed-used textarea, #seed-used input").first).to_have_value("7")
    colours = page.locator("#story-colours")
    expect(colours).to_contain_text("The lion was afraid, but")
    for _, label, _ in page_format.PROB_BINS:  # the legend explains every colour
        expect(page.locator("#colour-key")).to_contain_text(label)
    _no_error_toast(page)
    target = Path(os.environ.get("LM_SCREENSHOT") or tmp_path / "screenshot.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    page.screenshot(path=str(shots / "playground.png"), full_page=True)
    assert target.stat().st_size > 10_000


def _rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)))


def _backgrounds(page) -> list[str]:
    return page.locator("#story-colours .w").evaluate_all("ws => ws.map(w => getComputedStyle(w).backgroundColor)")


def test_words_tell_probability_and_rank_and_recolour_by_rank(page):
    """After test_playground_streams_and_colours: the story's words, as a student meets them."""
    words = page.locator("#story-colours .w")
    expect(words.first).to_be_visible()
    tip = "getComputedStyle(document.querySelector('#story-colours .w:%s'), '::after').content"
    words.nth(1).focus()  # keyboard: Tab reaches a word (tabindex 0) and its tip shows
    shown = page.evaluate(tip % "focus")
    assert shown == f'"{words.nth(1).get_attribute("data-tip")}"' and "likely" in shown and "choice" in shown
    words.nth(1).blur()
    words.nth(2).hover()
    assert page.evaluate(tip % "hover") == f'"{words.nth(2).get_attribute("data-tip")}"'
    spans = page.evaluate("[...document.querySelectorAll('#story-colours .w')].map(e => "
                          "[getComputedStyle(e).whiteSpace, e.getClientRects().length])")
    assert all(space == "nowrap" and rects == 1 for space, rects in spans), spans  # never "yello w"
    classes = [c.split() for c in words.evaluate_all("ws => ws.map(w => w.className)")]
    prob = {f"p{i}": _rgb(c) for i, (_, _, c) in enumerate(page_format.PROB_BINS)}
    rank = {f"r{i}": _rgb(c) for i, (_, _, c) in enumerate(page_format.RANK_BINS)}
    assert _backgrounds(page) == [prob[c[1]] for c in classes]  # opaque rgb(), not rgba(..., 0.5)
    page.locator("#colour-by label", has_text="rank").click()
    expect(page.locator("#colour-key .key-rank")).to_be_visible()
    expect(page.locator("#colour-key .key-probability")).to_be_hidden()
    assert _backgrounds(page) == [rank[c[2]] for c in classes]
    page.locator("#colour-by label", has_text="probability").click()
    expect(page.locator("#colour-key .key-probability")).to_be_visible()


def test_side_by_side_fills_every_column(page, shots):
    _open_tab(page, "Side by side")
    page.locator("#compare-button").click()
    for i in range(len(app.SIDE_BY_SIDE_TEMPERATURES)):
        expect(page.locator(f"#column-text-{i} .column-words")).to_have_text(re.compile(r"^The lion was afraid, but"))
    page.locator("#preset-button").click()
    table = page.locator("#preset-table")
    expect(table).to_contain_text("3.1415")
    expect(table).to_contain_text("The lion was afraid, but")
    _no_error_toast(page)
    page.screenshot(path=str(shots / "side-by-side.png"), full_page=True)


def _wait_idle(page, *elem_ids):
    """Until the outputs' progress overlays are hidden again (no request running for them)."""
    page.wait_for_timeout(300)
    for elem_id in elem_ids:
        expect(page.locator(f"#{elem_id} [data-testid='status-tracker']").first).to_have_class(re.compile(r"\bhide\b"))


def test_temperature_plot_appears(page, shots):
    _open_tab(page, "How temperature works")  # opening the tab draws the plot for the current prompt
    expect(page.locator("#distribution-plot .bars")).to_be_visible()
    expect(page.locator("#entropy-table")).to_contain_text("0.25")
    page.get_by_label("3", exact=True).check()  # one more temperature: the plot follows at once
    expect(page.locator("#probability-table")).to_contain_text("T = 3 (%)")
    page.locator("#distribution-button").click()
    _wait_idle(page, "distribution-plot", "entropy-table", "probability-table")
    expect(page.locator("#distribution-plot .bars")).to_be_visible()
    _no_error_toast(page)
    page.screenshot(path=str(shots / "how-temperature-works.png"), full_page=True)


def test_model_tab_shows_facts(page, shots, source):
    _open_tab(page, "Model")
    info = page.locator("#model-info")
    expect(info).to_contain_text(lm.model_info(source)["name"])  # the model's name, not a file path
    expect(info).to_contain_text("Numbers it learned (parameters)")
    expect(info).to_contain_text("Words it knows (vocabulary)")
    page.screenshot(path=str(shots / "model.png"), full_page=True)


def test_empty_prompt_and_bad_seed_in_the_page(page):
    _open_tab(page, "Playground")
    page.locator("#seed textarea, #seed input").first.fill("not a number")
    page.locator("#generate-button").click()
    expect(page.locator(".toast-body.error")).to_contain_text("Seed must be a whole number")
    page.locator("#seed textarea, #seed input").first.fill("")
    page.locator("#prompt textarea").fill("")
    page.locator("#generate-button").click()
    # a fresh random seed replaces the 7 of the first test: the empty prompt was accepted
    expect(page.locator("#seed-used textarea, #seed-used input").first).to_have_value(re.compile(r"^(?!7$)\d+$"))


def test_unknown_words_get_a_warning(page, shots):
    _open_tab(page, "Playground")
    page.locator("#prompt textarea").fill("Zorblax quifflewump")
    page.locator("#generate-button").click()
    expect(page.locator(".toast-body.warning")).to_contain_text("knows none of the words")
    expect(page.locator("#story textarea")).to_have_value(re.compile(r"^Zorblax quifflewump\s*\S"))
    page.screenshot(path=str(shots / "warning.png"))
