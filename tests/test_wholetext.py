"""Tests for the "Whole texts" tab: lm.textstats on hand-made token lists (exact values), the measures of a
generation, the bundled model copying more when cold than when hot, and the /whole_texts endpoint on a real
local server through gradio_client (a plot, highlighted HTML, readable errors), as tests/test_app.py does."""

import math
import sys
from pathlib import Path

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gradio as gr  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from page_helpers import call, serve  # noqa: E402

import app  # noqa: E402
import lm  # noqa: E402
import page_wholetext  # noqa: E402
import page_wholetext_view as view  # noqa: E402
from lm import textstats  # noqa: E402
from lm.ngrams import NgramIndex  # noqa: E402

BUNDLED = ROOT / "assets" / "oz-lstm"
TIMEOUT = 120
PROMPT = "The owl said"
LINES = ["the owl said , where is the red gate ?", "a small fox ran to the red gate .",
         "the owl sat on the gate and the fox ran home .", "where is the small fox ? said the owl ."]


# ------------------------------------------------------------------------------------ textstats
def test_distinct():
    tokens = "a b a b a b".split()
    assert textstats.distinct(tokens, 2) == pytest.approx(2 / 5)  # ab, ba
    assert textstats.distinct(tokens, 3) == pytest.approx(2 / 4)  # aba, bab
    assert textstats.distinct("a b c d".split(), 2) == 1.0
    assert math.isnan(textstats.distinct(["a"], 2))


def test_repeated_share():
    assert textstats.repeated_share("a b c d a b c d".split(), 4) == pytest.approx(1 / 5)
    assert textstats.repeated_share("a b a b a b".split(), 4) == pytest.approx(1 / 3)  # abab, baba, abab
    assert textstats.repeated_share("a b c d e".split(), 4) == 0.0
    assert math.isnan(textstats.repeated_share("a b c".split(), 4))


def test_perplexity():
    assert textstats.perplexity([0.5, 0.5]) == pytest.approx(2.0)
    assert textstats.perplexity([1.0, 0.25]) == pytest.approx(2.0)  # exp((0 + ln 4) / 2)
    assert math.isfinite(textstats.perplexity([0.0, 1.0]))  # float32's 0 is not infinite surprise
    assert math.isnan(textstats.perplexity([]))


def test_copy_share_and_copied_tokens():
    assert textstats.copy_share([True, False, False, True]) == 0.5
    assert math.isnan(textstats.copy_share([]))
    assert textstats.copied_tokens([False, True], 5) == [False, True, True, True, True]
    assert textstats.copied_tokens([True, False, False], 6) == [True, True, True, True, False, False]
    assert textstats.copied_tokens([], 3) == [False, False, False]
    with pytest.raises(ValueError, match="one answer per 4-gram"):
        textstats.copied_tokens([True], 6)


# ------------------------------------------------------------------------------------ one generation
def tiny_model():
    vocab = lm.Vocab.build([lm.tokenize(line) for line in LINES], min_freq=1)
    with torch.random.fork_rng(devices=[]):  # the same random model every run, the global RNG left alone
        torch.manual_seed(0)
        model = lm.LSTMLanguageModel(lm.LMConfig(vocab_size=len(vocab), emb_dim=16, hid_dim=16, num_layers=1,
                                                 dropout_rate=0.0)).eval()
    ids = []
    for line in LINES:
        ids += vocab.encode(lm.tokenize(line)) + [vocab.eos_index]
    return model, vocab, NgramIndex.build(ids, vocab=vocab)


def test_measure_counts_only_the_new_tokens():
    _, vocab, index = tiny_model()
    gen = lm.Generation("The owl said", ["the", "owl", "said"], tokens=", where is the moon".split(),
                        probs=[0.5] * 5, printing=vocab.printing)
    sample = view.measure(gen, vocab, index)
    # New 4-grams: ", where is the" (in LINES) and "where is the moon" (not: "moon" is <unk>); the 4-grams
    # spanning the prompt's end ("owl said , where") are not counted.
    assert sample.copy_share == 0.5 and sample.copied == [True, True, True, True, False]
    assert sample.distinct2 == 1.0 and sample.repeated == 0.0
    html = view.sample_html(sample)
    assert "<mark" in html and ">, where is the</mark> moon" in html.replace("\n", "")


def test_an_index_of_another_vocabulary_is_refused():
    model, vocab, _ = tiny_model()
    other = NgramIndex.build([1, 2, 3, 4, 5], vocab=lm.Vocab(vocab.itos + ["zebra"]))
    with pytest.raises(ValueError, match="another vocabulary"):
        page_wholetext.WholeTexts(model, vocab, other)


def test_without_an_index_the_copy_measure_is_left_out():
    model, vocab, _ = tiny_model()
    fig, phone, rows, html, seed = page_wholetext.WholeTexts(model, vocab).run(PROMPT, [0.5, 1.0], 8, "3")
    assert len(fig.axes) == 4 and sum(ax.get_visible() for ax in fig.axes) == 3  # no copy panel
    assert len(phone.axes) == 3 and all(ax.get_visible() for ax in phone.axes)
    assert [len(r) for r in rows] == [5, 5] and "no n-gram index" in html and "<mark" not in html
    assert seed == "3"
    demo = app.build_demo(model, vocab)
    assert any("no n-gram index" in (getattr(b, "value", "") or "") for b in demo.blocks.values()
               if isinstance(b, gr.Markdown))


def test_the_figure_for_a_phone_is_one_column_whose_numbers_read_there():
    """The two-column figure is 640 px wide: on a phone (~310 px for it) its tick numbers were ~7 px high."""
    model, vocab, index = tiny_model()
    fig, phone, *_ = page_wholetext.WholeTexts(model, vocab, index).run(PROMPT, [0.5, 1.0], 8, "3")
    for figure in (fig, phone):
        figure.draw_without_rendering()  # the constrained layout places the panels
    assert len({round(ax.get_position().x0, 2) for ax in fig.axes}) == 2
    assert len({round(ax.get_position().x0, 2) for ax in phone.axes}) == 1 and len(phone.axes) == 4
    for figure in (fig, phone):  # the heading inside the picture (at 400 px wide its last line was cut)
        renderer = FigureCanvasAgg(figure).get_renderer()
        (heading,) = figure.texts
        box = heading.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= figure.get_size_inches()[0] * figure.dpi, heading.get_text()
    shown = 310 / (phone.get_size_inches()[0] * phone.dpi)  # its scale in a phone's column
    for ax in phone.axes:
        for label in ax.get_xticklabels() + ax.get_yticklabels():
            assert label.get_fontsize() * phone.dpi / 72 * shown >= 11  # px on the phone's screen


def test_the_action_pickles_as_zerogpu_sends_it():
    """On ZeroGPU `_write` runs in a worker that gets `self` pickled: the index and all must come back whole."""
    import pickle

    model, vocab, index = tiny_model()
    whole = page_wholetext.WholeTexts(model, vocab, index)
    again = pickle.loads(pickle.dumps(whole))
    assert torch.equal(again.index.bits, index.bits)
    assert again.run(PROMPT, [1.0], 6, "2")[2] == whole.run(PROMPT, [1.0], 6, "2")[2]  # the table's rows


# ------------------------------------------------------------------------------------ the bundled model
def test_the_bundled_model_copies_more_when_cold_than_when_hot():
    model, vocab = lm.load_pretrained(BUNDLED)
    index = lm.load_ngram_index(BUNDLED, vocab)
    assert index is not None and index.n == 4 and index.k == 7
    temps = [0.25] * 20 + [2.0] * 20
    gens = lm.sweep(model, vocab, "The lion was afraid, but", temps, max_new_tokens=40,
                    seeds=[1 + i for i in range(20)] * 2, stop_at_eos=False)
    share = {t: sum(view.measure(g, vocab, index).copy_share for g in gens if g.temperature == t) / 20
             for t in (0.25, 2.0)}
    # Measured at seed 1: about 0.65 against 0.01 (a 1% false-positive floor): far apart, not by chance.
    assert share[0.25] > 0.3 > 0.1 > share[2.0], share


# ------------------------------------------------------------------------------------ the endpoint
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    model, vocab, index = tiny_model()
    folder = tmp_path_factory.mktemp("model")
    lm.save_pretrained(model, vocab, folder)
    index.save(folder)
    model, vocab = lm.load_pretrained(folder)
    demo = app.build_demo(model, vocab, lm.model_info(folder), lm.load_ngram_index(folder, vocab))
    yield Client(serve(demo), verbose=False), model, vocab, index
    demo.close()


def _call(client, *args):
    return call(client, *args, api_name="/whole_texts", timeout=TIMEOUT)


def test_whole_texts_endpoint_gives_a_plot_and_highlighted_texts(served):
    client, model, vocab, index = served
    plot, phone, table, texts, seed = _call(client, PROMPT, [0.25, 2.0], 12, "5")
    assert seed == "5"
    for figure in (plot, phone):
        assert isinstance(figure, dict) and figure.get("type") == "matplotlib" and figure.get("plot")
    assert [row[0] for row in table["data"]] == [0.25, 2.0] and len(table["headers"]) == 6
    assert "Highlighted" in texts and texts.count('class="whole-text"') == 2 * 20
    assert texts.count("<mark") > 1  # the legend's, and at least one run of copied words
    # What the page shows is what the action computes in-process from the same seeds.
    _, _, rows, html, _ = page_wholetext.WholeTexts(model, vocab, index).run(PROMPT, [0.25, 2.0], 12, "5")
    assert table["data"] == rows and texts == html


@pytest.mark.parametrize("args, message", [
    ((PROMPT, [], 12, "5"), "Choose at least one temperature"),
    ((PROMPT, [0.25], 12, "x"), "Seed must be a whole number"),
    ((PROMPT, [0.33], 12, "5"), "Temperatures to measure must be a list of values among"),
    ((PROMPT, [0.25], 1000, "5"), "New tokens per text must be a whole number from 4 to"),
])
def test_bad_input_is_a_readable_error(served, args, message):
    client = served[0]
    with pytest.raises(AppError) as caught:
        _call(client, *args)
    assert message in str(caught.value) and "Traceback" not in str(caught.value)
    assert _call(client, PROMPT, [1.0], 5, "1")[-1] == "1"  # still serving (the seed is the last output)
