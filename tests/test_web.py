"""The static page in web/: its JavaScript against lm's Python, and the page itself in real Chromium.

- With node: the sampler's random numbers and `expm` are pinned (the same seed gives the same text
  everywhere), and top-k/top-p keep what lm.sampling keeps. (The JS tokenizer and detokenizer are
  tested against lm in test_export.py, with the tables export.py writes for them.)
- With node_modules (`npm ci`) and /usr/bin/chromium: a static Space folder built by export.py from the
  bundled model, served from 127.0.0.1 with every other request blocked: greedy text equals
  `lm.generate(temperature=0)` for three prompts, seeded text is stable across reloads and fresh
  browsers, the page works offline after the first load, the phone viewport shows prompt, Write and
  story on the first screen, and bad input gets a message.

Skipped when node, node_modules or Chromium is missing, unless `CI` is set: then they must run.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lm  # noqa: E402
from tests.node_helpers import js, node  # noqa: E402
from tests.page_helpers import BARS_LAYOUT, small_text  # noqa: E402
from tests.web_helpers import offline_context as _offline_context  # noqa: E402
from tests.web_helpers import open_page as _open  # noqa: E402
from tests.web_helpers import write as _write  # noqa: E402

PROMPTS = ["The lion was afraid, but", "Once upon a time, in a castle made of glass,",
           "The wizard looked at the map and said "]  # the last ends in a space: the page adds none








# ------------------------------------------------------------------------------ the sampler, in node
SAMPLER_JS = """
const s = await import(process.argv[1]);
const rng0 = new s.Rng(0), u0 = [rng0.next32(), rng0.next32()];
const u = Object.fromEntries([0, 1, 42, 1234, 2 ** 31, 2 ** 32 - 1].map((seed) => {
  const rng = new s.Rng(seed);
  return [seed, Array.from({ length: 700 }, () => rng.uniform())]; // past mt19937's first 624 numbers
}));
let worst = 0;
for (let i = 0; i <= 20000; i++) {
  const x = -745 * (i / 20000) ** 2;
  const e = s.expm(x), m = Math.exp(x);
  if (m > 1e-300) worst = Math.max(worst, Math.abs(e - m) / m);
}
const logits = Float32Array.from([2, 1, 0.5, 0.5, -1, 3, -Infinity]);
const kept = (x) => Array.from(x).map((v, i) => (v > -Infinity ? i : -1)).filter((i) => i >= 0);
process.stdout.write(JSON.stringify({ u, u0, worst, greedy: s.sampleNext(logits, 0, new s.Rng(42), 0, 1),
  topk: kept(s.filterLogits(logits, 1, 3, 1)), topp: kept(s.filterLogits(logits, 0.7, 0, 0.8)),
  draws: [0, 0.5, 0.999999].map((v) => s.draw(s.softmax(s.filterLogits(logits, 1, 0, 1)), v)) }));
"""


def test_js_sampler_is_pinned_and_matches_lm_sampling():
    import torch

    got = json.loads(node(SAMPLER_JS, js("sampler.js")))
    # torch's generator, number for number (integer arithmetic: the same in every engine), so a seed rolls the
    # same dice here as lm.sampling.make_generator on the server.
    assert got["u0"] == [2357136044, 2546248239]  # mt19937 seeded with 0
    for seed, u in got["u"].items():
        g = lm.sampling.make_generator(int(seed))
        assert u == [torch.rand((), generator=g, dtype=torch.float64).item() for _ in range(700)], seed
    assert got["worst"] < 1e-15
    logits = torch.tensor([[2, 1, 0.5, 0.5, -1, 3, -float("inf")]])
    kept = lambda x: [i for i, v in enumerate(x[0].tolist()) if v > -float("inf")]
    assert got["topk"] == kept(lm.sampling.filter_logits(logits, torch.tensor([1.0]), top_k=3))
    assert got["topp"] == kept(lm.sampling.filter_logits(logits, torch.tensor([0.7]), top_p=0.8))
    assert got["greedy"] == 5
    # The draw walks the ticket strip as lm's does (the likeliest first): the same u, the same word.
    probs = logits.softmax(dim=-1)
    assert got["draws"] == [lm.sampling.draw(probs, torch.tensor([u], dtype=torch.float64)).item()
                            for u in (0, 0.5, 0.999999)] == [5, 5, 4]


# ------------------------------------------------------------------------------------- the page


def test_greedy_equals_python_and_works_offline(browser, url, bundled):
    model, vocab = bundled
    expected = [lm.generate(model, vocab, p, 100, temperature=0, stop_at_eos=False).text for p in PROMPTS]
    context = _offline_context(browser)
    fetched = []
    context.on("requestfinished", lambda r: fetched.append((r.url.rsplit("/", 1)[-1], r.sizes()["responseBodySize"])))
    page = _open(context, url)
    assert [_write(page, p, 0, 100, 1) for p in PROMPTS] == expected
    # The model and onnxruntime's wasm come gzipped and are unpacked in the page; the first visit stays
    # under the 25 MB target.
    names = {name for name, _ in fetched}
    assert {"model.onnx.gz", "ort-wasm-simd-threaded.wasm.gz"} <= names
    assert not {"model.onnx", "ort-wasm-simd-threaded.wasm"} & names
    assert sum(size for _, size in fetched) <= 25e6
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    context.set_offline(True)  # now from the service worker's cache only
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert _write(page, PROMPTS[0], 0, 100, 1) == expected[0]
    # Top-p 0.01 keeps only the likeliest word while it holds 1% or more (here up to temperature 1), as in Python.
    assert page.get_attribute("[aria-label=Top-p][type=range]", "min") == "0.01"
    assert _write(page, PROMPTS[1], 1.0, 100, 7, top_p=0.01) == expected[1]
    context.close()


def test_a_seed_writes_what_it_writes_in_lm_in_every_browser(browser, url, bundled):
    model, vocab = bundled
    context = _offline_context(browser)
    page = _open(context, url)
    args = ("The scarecrow sat on the fence and", 1.0, 80, 1234)
    first = _write(page, *args)
    again = _write(page, *args, top_k=40, top_p=0.9), _write(page, *args)
    assert first == again[1] and again[0] != first and len(first) > len(args[0]) + 50
    # The same random numbers as the server's (torch's generator), so the same text as lm and the Gradio page.
    python = lambda **kw: lm.generate(model, vocab, args[0], 80, temperature=1.0, seed=1234, stop_at_eos=False, **kw)
    assert first == python().text and again[0] == python(top_k=40, top_p=0.9).text
    for seed, temperature in [(0, 0.8), (7, 0.5), (99, 1.5)]:
        expected = lm.generate(model, vocab, PROMPTS[0], 60, temperature=temperature, seed=seed, stop_at_eos=False)
        assert _write(page, PROMPTS[0], temperature, 60, seed) == expected.text, (seed, temperature)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert _write(page, *args) == first
    other = _offline_context(browser)
    assert _write(_open(other, url), *args) == first
    other.close()
    # Side by side: every column draws with the same random numbers, and temperature 0 is greedy.
    page.click("#tab-side-by-side")
    for i, t in enumerate([1.0, 1.0, 0, 0.7]):
        page.fill(f"#column-temperature-{i}", str(t))
    page.fill("#compare-tokens", "30")
    page.click("#compare")
    page.wait_for_function("document.querySelector('#compare-seed').value !== '' && "
                           "!document.querySelector('#compare').disabled")
    texts = [page.inner_text(f"#column-text-{i}") for i in range(4)]
    assert texts[0] == texts[1] != texts[3]
    sweep = lm.sweep(model, vocab, args[0], [1.0, 1.0, 0, 0.7], max_new_tokens=30, seed=1234, stop_at_eos=False)
    assert [t.replace("\n", "") for t in texts] == [g.text.replace("\n", "") for g in sweep]
    context.close()


def test_phone_first_screen_and_bad_input(browser, url):
    context = _offline_context(browser, viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True)
    page = _open(context, url)
    for selector in ("#prompt", "#write"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["y"] + box["height"] <= 800, selector
    story = page.locator("#story").bounding_box()
    assert story["y"] + 60 <= 800 and story["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for tab in page.get_by_role("tab").all():  # every tab in sight: none scrolled out of the bar
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (tab.inner_text(), box)
    assert not page.locator("#presentation").is_visible()  # a phone is not a projector
    for field, value, message in [("#seed", "abc", "Seed must be a whole number from 0 to 4294967295"),
                                  ("#temperature", "9", "Temperature must be a number from 0 to 3.5; got '9'."),
                                  ("#new-tokens", "x", "New tokens must be a whole number from 0 to 300")]:
        page.fill(field, value)
        page.click("#write")
        page.wait_for_selector("#message:not([hidden])")
        assert message in page.inner_text("#message")
        page.fill(field, {"#seed": "", "#temperature": "0.8", "#new-tokens": "5"}[field])
    page.eval_on_selector("#prompt", "e => { e.maxLength = 5000; e.value = 'a'.repeat(1001); }")
    page.click("#write")
    assert "The prompt is 1,001 characters long; the limit is 1,000" in page.inner_text("#message")
    _write(page, "The zzyzx and the qwghlm", 0.8, 5, 3)
    assert "does not know 2 word(s) of the prompt" in page.inner_text("#message")
    context.close()


def test_presentation_mode_makes_all_of_the_page_large(browser, url):
    context = _offline_context(browser, viewport={"width": 1920, "height": 1080})
    page = _open(context, url)
    _write(page, PROMPTS[0], 0.8, 20, 3)
    size = lambda: float(page.eval_on_selector("#story", "e => getComputedStyle(e).fontSize")[:-2])  # noqa: E731
    before = size()
    assert small_text(page, 18, "body") != []  # the laptop page's notes and labels are 12-14 px: the probe sees them
    page.check("#presentation input")
    page.click("#story span.word >> nth=2")  # its draw's card too
    assert size() >= 1.4 * before
    assert small_text(page, 18, "body") == []
    assert page.locator("#story").bounding_box()["width"] > 1600  # the whole width of the screen
    for tab in ("Side by side", "Be the sampler", "How temperature works", "Whole texts", "Lessons"):
        page.get_by_role("tab", name=tab).click()
        if tab == "Be the sampler":  # its last roll and the next word's bars
            page.click("#sampler-roll")
            page.wait_for_selector("#sampler-draw .strip")
        if tab == "Whole texts":  # its plot, table and texts, on a short run
            for box in page.query_selector_all("#whole-temperatures input"):
                box.set_checked(box.get_attribute("value") in ("0.25", "2"))
            page.fill("#whole-tokens", "6")
            page.click("#whole-button")
            page.wait_for_function("window.lmPage.whole !== undefined")
        page.wait_for_timeout(300)
        assert small_text(page, 18, "body") == [], (tab, small_text(page, 18, "body"))
    page.uncheck("#presentation input")
    assert size() == before
    context.close()


def test_side_by_side_columns_are_headed_as_on_the_gradio_page(browser, url):
    context = _offline_context(browser, viewport={"width": 1280, "height": 800})
    page = _open(context, url)
    page.click("#tab-side-by-side")
    headings = [page.inner_text(f"#column-heading-{i}") for i in range(4)]
    assert headings == ["T = 0 · greedy", "T = 0.5 · cold", "T = 1 · as learned", "T = 1.5 · hot"]  # test_classroom's
    typed_and_shown = [("2.5", "T = 2.5 · very hot"), ("0.74", "T = 0.74 · cold"), ("x", ""),
                       ("1.25", "T = 1.25 · as learned")]
    for typed, heading in typed_and_shown:
        page.fill("#column-temperature-3", typed)
        assert page.inner_text("#column-heading-3") == heading, typed
    context.close()


def test_words_are_coloured_and_told_as_on_the_gradio_page(browser, url, bundled):
    """Greedy: every word is the model's 1st choice (rank bin r0); its probability bin and tip as page_format's."""
    import page_format

    model, vocab = bundled
    g = lm.generate(model, vocab, PROMPTS[1], 30, temperature=0, stop_at_eos=False)
    context = _offline_context(browser)
    page = _open(context, url)
    _write(page, PROMPTS[1], 0, 30, 1)
    spans = page.eval_on_selector_all("#story .w", "ws => ws.map(w => [w.className, w.dataset.tip, w.tabIndex, "
                                      "getComputedStyle(w).whiteSpace, getComputedStyle(w).backgroundColor])")
    new = [p for t, p in zip(g.tokens, g.probs) if t != "<eos>"]
    assert len(spans) == len(new)
    rgb = {c: "rgb({}, {}, {})".format(*(int(c[i:i + 2], 16) for i in (1, 3, 5)))
           for c in [b["colour"] for b in page_format.SETTINGS["prob_bins"] + page_format.SETTINGS["rank_bins"]]}
    for (classes, tip, tabindex, wrap, background), p in zip(spans, new):
        bin_ = page_format.prob_bin(p)
        assert classes.split()[-3:] == ["w", f"p{bin_}", "r0"] and tip.endswith("likely · the model's 1st choice")
        assert tabindex == 0 and wrap == "nowrap" and background == rgb[page_format.PROB_BINS[bin_][2]]
    page.check("#colour-by input[value=rank]")
    first_choice = rgb[page_format.RANK_BINS[0][2]]
    assert page.eval_on_selector_all("#story .w", "ws => ws.map(w => getComputedStyle(w).backgroundColor)") == [
        first_choice] * len(new)
    assert page.is_visible("#colour-key .key-rank") and not page.is_visible("#colour-key .key-probability")
    context.close()


BARS_JS = """
import { barsHtml } from "%s";
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map((c) => barsHtml(c.dists, c.prompt, c.colours, c.cut))));
"""
BARS_CASES = [  # (temperatures and probabilities of the shown words, words, top-k, top-p)
    ([(0.25, [0.67, 0.29, 0.0358, 0.0009]), (1.0, [0.17, 0.14, 0.08, 0.03]), (2.0, [0.0137, 0.0124, 0.0095, 0.006])],
     ["he", "the", "<eos>", "Dorothy"], 0, 1),
    ([(0.0, [1.0, 0.0, 0.0]), (0.5, [0.6, 0.3, 0.0]), (1.5, [0.5, 0.25, 0.125])], ["<b>", '"x"', "&"], 2, 1),
    ([(0.8, [0.45, 0.35, 0.0, 0.0]), (3.0, [0.004, 0.003, 0.002, 0.001])], ["a", "b", "c", "d"], 0, 0.9),
]


def test_the_bars_are_the_same_html_on_both_pages():
    """bars.js (the static page) and page_bars.bars_html (the Gradio page) write the same chart; draw.css draws it."""
    import page_bars

    cases, expected = [], []
    prompts = ["The Scarecrow walked into the forest, and", "  one two\tthree\nfour five six seven <i>  ", ""]
    for (dists, words, top_k, top_p), prompt in zip(BARS_CASES, prompts):
        # tokens as the vocabulary has them ("<eos>" too), words as shown; greedy's entropy a float's -0.001
        ds = [lm.Distribution(t, [w.lower() for w in words], probs, 1.7 * t - 0.001, words) for t, probs in dists]
        colours = {f"{d.temperature:g}": page_bars.colour(d.temperature) for d in ds}
        cases.append({"dists": [vars(d) for d in ds], "prompt": prompt, "colours": colours,
                      "cut": {"topK": top_k, "topP": top_p}})
        expected.append(page_bars.bars_html(ds, prompt, top_k or None, top_p if top_p < 1 else None))
    got = json.loads(node(BARS_JS % js("bars.js"), json.dumps(cases)))
    assert got == expected
    assert "↵ (new line)" in got[0] and "top-k 2" in got[1] and "top-p 0.9" in got[2]  # each case says its own
    assert "“... Scarecrow walked into the forest, and”" in got[0]  # the last six words, as typed
    assert "“... three four five six seven &lt;i&gt;”" in got[1] and "“(a new line)”" in got[2]


@pytest.mark.parametrize("width", [375, 1280])
def test_the_bars_lie_down_and_every_word_and_value_reads_at_phone_and_laptop_width(browser, url, bundled, width):
    """On a phone the old standing bars cut "they" to "t..." and piled their rotated values on each other."""
    model, vocab = bundled
    context = _offline_context(browser, viewport={"width": width, "height": 800})
    page = _open(context, url)
    _write(page, PROMPTS[0], 1.0, 3, 1, top_k=4)  # the Playground's top-k: the How tab draws its cut-off
    page.click("#tab-how")
    page.wait_for_selector("#bars .lanes")
    got = page.eval_on_selector("#bars", BARS_LAYOUT)
    dists = lm.next_token_distribution(model, vocab, PROMPTS[0], [0.25, 1.0, 2.0], top=10, top_k=4)
    shown = ["↵ (new line)" if t == "<eos>" else w for t, w in zip(dists[0].tokens, dists[0].words)]
    assert [w["text"] for w in got["words"]] == shown + ["all other words"]
    assert all(w["whole"] and w["inside"] for w in got["words"]), got["words"]
    assert got["overlaps"] == 0 and not got["scrolls"]
    assert got["cutBefore"] == shown[4]  # top-k 4 keeps four words: the line is above the fifth
    values = [d.probs + [1 - sum(d.probs) if 1 - sum(d.probs) > 1e-6 else 0.0] for d in dists]  # as others_share
    xmax = min(1.0, max(max(v) for v in values) * 1.05 + 0.01)
    for i, lane in enumerate(got["lanes"]):  # word i: a lane per temperature, as long as its chance
        for k, length in enumerate(lane):
            p = values[k][i]
            assert length == pytest.approx(max(p / xmax, 0.01) if p > 0 else 0, abs=0.01), (shown + ["others"])[i]
    context.close()


def test_the_model_tab_shows_a_phone_its_own_training_curve(browser, url):
    context = _offline_context(browser, viewport={"width": 375, "height": 800})
    page = _open(context, url)
    page.click("#tab-model")
    curve = "e => e.complete && e.naturalWidth ? e.currentSrc.split('/').pop() : null"
    page.wait_for_function(f"({curve})(document.querySelector('#curve'))")
    assert page.eval_on_selector("#curve", curve) == "training_curve_phone.png"
    assert page.eval_on_selector("#curve", "e => e.getBoundingClientRect().right") <= 375
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_function(f"({curve})(document.querySelector('#curve')) === 'training_curve.png'")
    context.close()


def test_next_word_bars_match_python(browser, url, bundled):
    model, vocab = bundled
    context = _offline_context(browser)
    page = _open(context, url)
    page.fill("#prompt", PROMPTS[0])
    page.click("#tab-how")
    page.wait_for_selector("#entropy-table tbody tr")
    dists = lm.next_token_distribution(model, vocab, PROMPTS[0], [0.25, 1.0, 2.0], top=10)
    rows = page.eval_on_selector_all("#entropy-table tbody tr", "rs => rs.map(r => r.innerText.split('\\t'))")
    assert [float(r[1]) for r in rows] == pytest.approx([d.entropy for d in dists], abs=2e-3)
    header = page.eval_on_selector_all("#probability-table tbody tr td:first-child", "cs => cs.map(c => c.innerText)")
    shown = ["↵ (new line)" if t == "<eos>" else w for t, w in zip(dists[0].tokens, dists[0].words)]
    assert header == shown + ["all other words"] and "Dorothy" in header  # display forms; the bars add up to 100%
    for box in page.locator("#plot-temperatures input").all():
        box.uncheck()
    page.wait_for_selector("#message:not([hidden])")
    assert "Choose at least one temperature." in page.inner_text("#message")
    context.close()
