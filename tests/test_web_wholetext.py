"""The static page's Whole texts tab in real Chromium, against the Gradio page's own functions.

The oracle is page_wholetext and page_wholetext_view: the texts are `lm.sweep`'s with one seed per row (seed + i,
as WholeTexts._write); each text's measures are `page_wholetext_view.measure`'s on the same tokens (its copy
answers lm.NgramIndex's); the table is `stats_table`'s and the texts and their headings read as `samples_html`'s.
Skipped as tests/test_web.py is.
"""

import json

import pytest

import lm
import page_wholetext
import page_wholetext_view as view
from page_link import share_link
from tests.web_helpers import BUNDLED, laid_out, offline_context, open_page

PROMPT = "The lion was afraid, but"
TEMPS, TOKENS, SEED = [0.0, 0.8, 1.5], 16, 11
SAMPLES = page_wholetext.SAMPLES


@pytest.fixture(scope="module")
def index(bundled):
    return lm.load_ngram_index(BUNDLED, bundled[1])


@pytest.fixture()
def context(browser):
    context = offline_context(browser, viewport={"width": 1280, "height": 800})
    yield context
    context.close()


def measure(page, temps=TEMPS, tokens=TOKENS, seed=SEED, prompt=PROMPT) -> list[dict]:
    """Press Write and measure with these settings; each text as the page wrote and measured it."""
    page.fill("#prompt", prompt)
    page.fill("#seed", str(seed))
    page.click("#tab-whole-texts")
    for box in page.query_selector_all("#whole-temperatures input"):
        box.set_checked(float(box.get_attribute("value")) in temps)
    page.fill("#whole-tokens", str(tokens))
    page.evaluate("window.lmPage.whole = undefined")
    page.click("#whole-button")
    page.wait_for_function("window.lmPage.whole !== undefined")
    return page.evaluate("window.lmPage.whole.texts")


def oracle_stats(texts, vocab, index, temps=TEMPS):
    """page_wholetext_view's stats of the page's own tokens and probabilities."""
    gens = [lm.Generation(PROMPT, lm.tokenize(PROMPT), t["tokens"], t["probs"], temperature=t["temperature"],
                          printing=vocab.printing) for t in texts]
    samples = [view.measure(g, vocab, index) for g in gens]
    return [view.TemperatureStats(t, samples[i * SAMPLES:(i + 1) * SAMPLES]) for i, t in enumerate(temps)]


def test_the_texts_are_lm_sweeps_and_every_measure_is_the_gradio_pages(context, url, bundled, index):
    model, vocab = bundled
    page = open_page(context, url)
    texts = measure(page)
    assert [(t["temperature"], t["seed"]) for t in texts] == [(t, SEED + j) for t in TEMPS for j in range(SAMPLES)]
    gens = lm.sweep(model, vocab, PROMPT, [t["temperature"] for t in texts], max_new_tokens=TOKENS,
                    seeds=[t["seed"] for t in texts], stop_at_eos=False)
    same = [t["tokens"] == g.tokens for t, g in zip(texts, gens)]
    assert sum(same) >= len(texts) - 2, f"{len(texts) - sum(same)} of {len(texts)} texts differ from lm.sweep's"
    for t, g, ok in zip(texts, gens, same):
        if ok:
            assert t["probs"] == pytest.approx(g.probs, rel=1e-4, abs=1e-7)  # the model's own chance, for perplexity
            assert "".join(t["pieces"]) == g.continuation
    stats = oracle_stats(texts, vocab, index)
    for t, s in zip(texts, (s for st in stats for s in st.samples)):
        assert [t["distinct2"], t["distinct3"], t["repeated"], t["copy_share"]] == \
            [s.distinct2, s.distinct3, s.repeated, s.copy_share]
        assert t["copied"] == s.copied  # which words are highlighted
    assert any(t["copy_share"] > 0 for t in texts) and any(t["copy_share"] < 1 for t in texts)  # a real test
    _, rows = view.stats_table(stats, True)
    body = page.inner_text("#whole-table tbody").split("\n")
    shown = [[float(c) if c else None for c in row.split("\t")] for row in body]
    assert shown == [pytest.approx(r, abs=0.051) for r in rows]  # JavaScript's log and Python's may part in a last bit
    assert page.inner_text("#whole-table thead").strip() == "\t".join(view.stats_table([], True)[0])
    expected = view.samples_html(stats, True)
    assert page.inner_text("#whole-texts-html") == laid_out(page, expected, "#whole-texts-html")
    marks = page.eval_on_selector_all("#whole-texts-html mark", "ms => ms.map((m) => m.textContent)")
    assert marks and marks == laid_out_marks(page, expected)
    assert page.input_value("#whole-seed") == str(SEED)


def laid_out_marks(page, html):
    return page.evaluate("""html => {
        const box = document.createElement("div");
        box.innerHTML = html;
        return [...box.querySelectorAll("mark")].map((m) => m.textContent);
    }""", html)


POINTS = "cs => cs.map((c) => [Number(c.dataset.t), Number(c.dataset.v), c.getAttribute('cy')])"


def test_the_plot_draws_each_measure_at_each_temperature(context, url, bundled, index):
    page = open_page(context, url)
    stats = oracle_stats(measure(page), bundled[1], index)
    panels = page.query_selector_all("#whole-plot svg")
    assert [p.get_attribute("aria-label").split(".")[0] for p in panels] == [title for title, _, _ in view.PANELS]
    for panel, (_, _, series) in zip(panels, view.PANELS):
        for name, _ in series:
            points = panel.eval_on_selector_all(f"circle[data-series={name}]", POINTS)
            expected = [s.perplexity if name == "perplexity" else s.mean(name) for s in stats]
            assert [(t, v) for t, v, _ in points] == [(t, pytest.approx(e, rel=1e-9)) for t, e in zip(TEMPS, expected)]
            heights = [float(cy) for *_, cy in points]  # higher on the page (smaller y) for a larger value
            order = sorted(range(len(expected)), key=lambda i: expected[i])
            assert [heights[i] for i in order] == sorted(heights, reverse=True) or len(set(expected)) < len(expected)
    assert page.inner_text("#whole-title") == view.figure_title(SAMPLES)


def test_the_books_index_is_fetched_when_the_tab_runs_and_answers_as_lm(context, url, bundled, index):
    vocab = bundled[1]
    fetched = []
    context.on("request", lambda r: fetched.append(r.url.rsplit("/", 1)[-1]))
    page = open_page(context, url)
    assert "ngrams.safetensors" not in fetched  # not part of the first visit
    ids = vocab.encode(lm.tokenize("the lion said to the girl that the scarecrow was not afraid of the dark . " * 3))
    ids += [(i * 7919 + 13) % len(vocab) for i in range(400)]  # and 4-grams the books surely lack
    got = page.evaluate("""async ([name, ids, size]) => {
        const { NgramIndex } = await import("./js/ngrams.js");
        const bytes = new Uint8Array(await (await fetch("model/" + name)).arrayBuffer());
        return NgramIndex.parse(bytes, size).copied(ids);
    }""", ["ngrams.safetensors", ids, len(vocab)])
    expected = index.copied(ids).tolist()
    assert got == expected and 3 <= sum(expected) < len(expected) - 300


def test_without_an_index_the_copy_measure_is_left_out(context, url, bundled):
    def no_index(route):
        manifest = json.loads(route.fetch().text())
        del manifest["files"]["ngrams"]
        route.fulfill(body=json.dumps(manifest), content_type="application/json")

    context.route("**/model/manifest.json", no_index)
    page = open_page(context, url)
    texts = measure(page, temps=[1.0], tokens=8)
    assert all(t["copied"] is None and t["copy_share"] is None for t in texts)
    assert page.is_visible("#whole-no-index") and "no n-gram index" in page.inner_text("#whole-no-index")
    assert len(page.query_selector_all("#whole-plot svg")) == 3
    assert page.inner_text("#whole-table thead").strip() == "\t".join(view.stats_table([], False)[0])
    stats = oracle_stats(texts, bundled[1], None, temps=[1.0])
    assert page.inner_text("#whole-texts-html") == laid_out(page, view.samples_html(stats, False), "#whole-texts-html")
    assert not page.query_selector_all("#whole-texts-html mark")


def test_an_index_that_cannot_be_fetched_leaves_out_the_copy_measure_this_time(context, url):
    """Offline before the tab ever ran (the index is fetched then, not on the first visit): the other measures,
    and a word on why; the next run fetches the index again."""
    context.route("**/model/ngrams.safetensors", lambda route: route.abort())
    page = open_page(context, url)
    texts = measure(page, temps=[1.0], tokens=8)
    assert all(t["copied"] is None and all(t[k] is not None for k in ("distinct2", "repeated")) for t in texts)
    message = page.inner_text("#message")
    assert "n-gram index (ngrams.safetensors" in message and "not measured this time" in message
    assert len(page.query_selector_all("#whole-plot svg")) == 3
    assert "not measured this time" in page.inner_text("#whole-texts-html")
    context.unroute("**/model/ngrams.safetensors")
    texts = measure(page, temps=[1.0], tokens=8)
    assert all(t["copied"] is not None for t in texts) and page.is_hidden("#message")
    assert len(page.query_selector_all("#whole-plot svg")) == 4


def test_bad_input_is_named_and_a_link_opens_and_runs_the_tab(context, url):
    page = open_page(context, url)
    page.click("#tab-whole-texts")
    for box in page.query_selector_all("#whole-temperatures input"):
        box.set_checked(False)
    page.click("#whole-button")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == "Choose at least one temperature."  # WholeTexts.run's words
    page.query_selector("#whole-temperatures input").set_checked(True)
    page.fill("#whole-tokens", "lots")
    page.click("#whole-button")
    page.wait_for_function("document.querySelector('#message').textContent.includes('New tokens per text')")
    page.fill("#whole-tokens", "5")
    page.fill("#seed", "")  # a blank seed draws one: the link carries it
    page.fill("#prompt", "Dorothy said")
    texts = measure(page, temps=[0.5], tokens=5, seed="", prompt="Dorothy said")
    seed = page.input_value("#whole-seed")
    assert seed.isdigit() and texts[0]["seed"] == int(seed) and page.is_hidden("#message")
    page.click("#copy-link")
    link = page.input_value("#share-link")
    assert link == url + share_link("Dorothy said", seed, "whole-texts")
    again = context.new_page()  # the Gradio page's link for this tab carries the prompt and the seed alone
    again.goto(link)
    again.wait_for_function("window.lmPage?.whole !== undefined", timeout=60_000)
    assert again.get_attribute("#tab-whole-texts", "aria-selected") == "true"
    assert again.input_value("#prompt") == "Dorothy said" and again.input_value("#whole-seed") == seed
    ran = again.evaluate("window.lmPage.whole.texts.map((t) => [t.temperature, t.seed, t.tokens.length])")
    assert ran == [[t, int(seed) + j, 60] for t in page_wholetext.DEFAULT_TEMPERATURES for j in range(SAMPLES)]
