"""page_format and page_plots: what the page shows, as unit tests (the served page is in test_app and
test_browser). Known answers for the numbers a student reads; oracles for the plots (their data)."""

import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lm  # noqa: E402
import page_bars  # noqa: E402
import page_format as fmt  # noqa: E402
import page_plots  # noqa: E402
from lm import card  # noqa: E402


class _Spans(HTMLParser):
    """(tag attributes, text) of each element, and all the text."""

    def __init__(self, markup: str):
        super().__init__()
        self.spans, self.text, self._open = [], "", []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self._open.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        self.spans.append(tuple(self._open.pop()))

    def handle_data(self, data):
        self.text += data
        for item in self._open:
            item[1] += data


@pytest.mark.parametrize("prob, want", [(1.0, 0), (0.3, 0), (0.2999, 1), (0.1, 1), (0.05, 2), (0.01, 2),
                                        (0.0099, 3), (0.0, 3)])
def test_prob_bins_follow_the_settings_edges(prob, want):
    assert fmt.prob_bin(prob) == want
    assert fmt.prob_label(prob) == fmt.SETTINGS["prob_bins"][want]["label"]


@pytest.mark.parametrize("rank, want", [(1, 0), (2, 1), (10, 1), (11, 2), (100, 2), (101, 3), (7000, 3)])
def test_rank_bins_are_first_choice_top_10_top_100_rarer(rank, want):
    assert fmt.rank_bin(rank) == want


@pytest.mark.parametrize("n, want", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (112, "112th"), (1022, "1,022nd")])
def test_ordinal(n, want):
    assert fmt.ordinal(n) == want


@pytest.mark.parametrize("p, want", [(0.4567, "45.7%"), (1.0, "100.0%"), (0.001, "0.1%"), (0.00012, "0.012%"),
                                     (0.0, "0.0%")])
def test_percent(p, want):
    assert fmt.percent(p) == want


@pytest.mark.parametrize("n, want", [(1.0, "1"), (1.0004, "1"), (7.6, "about 8"), (2147.8, "about 2,150"),
                                     (59.49, "about 59"), (123.4, "about 123"), (98765.0, "about 98,800")])
def test_about_words_is_whole_and_rounded(n, want):
    assert fmt.about_words(n) == want


def test_greedy_entropy_is_zero_not_minus_zero():
    assert str(fmt.entropy_bits(-1e-7)) == "0.0" and fmt.entropy_bits(1.23456) == 1.235


def test_a_word_span_tells_probability_and_rank_and_keeps_its_space_outside():
    markup = fmt.word_html(" <lion>", 0.1234, 3)
    page = _Spans(markup)
    assert markup.startswith(" <span") and page.text == " <lion>"  # a line may break at the space, not inside
    (attrs, text), = page.spans
    assert text == "<lion>" and attrs["tabindex"] == "0"  # reachable by Tab: the tip shows on focus too
    assert attrs["data-tip"] == "12.3% likely · the model's 3rd choice"
    assert attrs["aria-label"] == "<lion>: 12.3% likely · the model's 3rd choice"
    assert attrs["class"].split() == ["w", "p1", "r1"]


def test_the_story_html_only_grows_at_its_end(model, vocab):
    """Gradio streams a string that grows at its end as an append: each update sends only the new words."""
    story = fmt.StoryText("The owl <b>")
    before = story.html
    tokens = list(lm.stream(model, vocab, "The owl <b>", max_new_tokens=20, temperature=1.5, seed=4,
                            stop_at_eos=False))
    for item in tokens:
        story.add(item)
        assert story.html.startswith(before)
        before = story.html
    page = _Spans(story.html)
    assert page.text == story.text  # the prompt, escaped, then every piece
    words = [(a, t) for a, t in page.spans if "w" in a.get("class", "").split()]
    assert [t for _, t in words] == [i.text.strip() for i in tokens if not i.text.isspace()]
    assert [a["class"].split()[2] for a, _ in words] == [f"r{fmt.rank_bin(i.rank)}" for i in tokens
                                                         if not i.text.isspace()]


def test_a_break_after_its_colon_is_no_word_on_the_story_nor_in_a_column():
    """ "he said:" before a paragraph break: the colon and the break are shown, neither coloured nor inspectable."""
    story = fmt.StoryText("The owl")
    for item in [lm.StreamToken("said", 0.4, " said", 1), lm.StreamToken("<eos>", 0.5, ":\n\n", 1),
                 lm.StreamToken("go", 0.1, "Go", 3)]:
        story.add(item)
    page = _Spans(story.html)
    assert story.text == page.text == "The owl said:\n\nGo"
    assert [t for a, t in page.spans if "w" in a.get("class", "").split()] == ["said", "Go"]
    gen = lm.Generation("The owl", ["the", "owl"], tokens=["said", "<eos>", "go"], probs=[0.4, 0.5, 0.1],
                        ranks=[1, 1, 3], printing=lm.text.Printing(colons=frozenset({"said"})))
    column = _Spans(fmt.column_html(gen, 0))
    assert column.text == gen.text == "The owl said:\n\nGo"
    assert [t for a, t in column.spans if a.get("data-i")] == ["said", "Go"]


def test_palette_css_and_legend_use_every_colour_and_label_of_the_settings():
    css, legend = fmt.palette_css(), _Spans(fmt.legend_html())
    for key in ("prob_bins", "rank_bins"):
        for b in fmt.SETTINGS[key]:
            assert b["colour"] in css and b["label"] in legend.text
    for sentence in fmt.SETTINGS["colour_modes"].values():
        assert sentence in legend.text and "before temperature" in sentence
    assert fmt.SETTINGS["text_colour"] in css
    assert "opacity" not in css  # opaque colours, as the palette test measures them


def _dists(temps=(0.5, 2.0)):
    probs = {0.5: [0.6, 0.3, 0.015, 0.0], 2.0: [0.2, 0.15, 0.1, 0.05], 0.0: [1.0, 0.0, 0.0, 0.0]}
    words = ["the", "a", lm.text.EOS, "Fox"]  # as the vocabulary shows them
    return [lm.Distribution(t, ["the", "a", lm.text.EOS, "fox"], probs[t], 1.5 * t, words) for t in temps]


def test_the_tables_add_up_to_100_and_say_about_n_words():
    table, entropy = fmt.distribution_tables(_dists((0.0, 0.5, 2.0)))
    assert list(table["next word"]) == ["the", "a", "↵ (new line)", "Fox", "all other words"]
    assert list(table.iloc[-1, 1:]) == pytest.approx([0.0, 8.5, 50.0])
    assert table.iloc[:, 1:].sum().tolist() == pytest.approx([100, 100, 100])
    assert entropy == [[0.0, 0.0, "1"], [0.5, 0.75, "about 2"], [2.0, 3.0, "8"]]


def _rows(html: str) -> list[tuple[str, list[float | None], list[str]]]:
    """The bars' rows: (label, each lane's bar length as a share of the axis or None for no bar, the values)."""
    row = (r'<div class="word">(.*?)</div><div class="lanes"[^>]*>(.*?)</div></div>'
           r'(?=<div class="(?:word|line)|<div></div>)')  # up to the next row, line or the axis
    rows = re.findall(row, html)
    out = []
    for label, lanes in rows:
        lane = r'<div class="lane"(?: style="--w:([\d.]+)")?>(?:<div class="bar".*?<span class="value">(.*?)</span>)?'
        parts = re.findall(lane, lanes)
        out.append((label, [float(w) if w else None for w, _ in parts], [v for _, v in parts]))
    return out


def test_the_bars_hold_all_other_words_a_visible_hot_bar_and_the_cut_off():
    dists = _dists()
    html = page_bars.bars_html(dists, "the owl", top_k=3)
    rows = _rows(html)
    assert [r[0] for r in rows] == ["the", "a", "↵ (new line)", "Fox", "all other words"]  # display forms
    xmax = 0.6 * 1.05 + 0.01  # the longest bar (60%) nearly fills the axis; its value goes after it
    assert rows[0][1] == pytest.approx([0.6 / xmax, 0.2 / xmax], abs=1e-4) and rows[0][2] == ["60%", "20%"]
    assert rows[2][1][0] == pytest.approx(0.015 / xmax, abs=1e-4) and rows[2][2][0] == "2%"  # 1.5%, written
    assert rows[3][1][0] is None  # 0 (cut off by top-k 3 at T = 0.5): no bar
    assert rows[4][1] == pytest.approx([0.085 / xmax, 0.5 / xmax], abs=1e-4)  # all other words: each adds up to 100%
    assert html.count('class="line cut"') == 1 and html.index('class="line cut"') < html.index(">Fox<")
    assert "top-k 3: words below the line are never drawn" in html
    assert 'class="line cut"' not in page_bars.bars_html(dists, "the owl")  # no cut-off, no line
    tiny = [lm.Distribution(1.0, ["a", "b"], [0.995, 0.004], 0.05, ["a", "b"])]
    label, lengths, values = _rows(page_bars.bars_html(tiny, "x"))[1]
    assert label == "b" and lengths == [0.01] and values == [""]  # 0.4%: drawn at 1% of the axis, unlabelled
    assert "What might come after “... six words of a long prompt”" in page_bars.bars_html(
        dists, "here are many words: six words of a long prompt")


def test_the_bars_escape_what_they_show():
    d = lm.Distribution(1.0, ["<b>", "&"], [0.5, 0.25], 1.5, ['<b>"x"', "&"])
    html = page_bars.bars_html([d], "the <i>owl</i>")
    assert "<b>" not in html and "<i>" not in html
    assert '&lt;b&gt;&quot;x&quot;' in html and ">&amp;<" in html and "“the &lt;i&gt;owl&lt;/i&gt;”" in html  # as typed


def test_the_training_curve_is_perplexity_per_epoch_with_no_learning_rate_panel():
    history = [{"epoch": e, "train_loss": 6 - e, "valid_loss": 5.5 - e / 2, "lr": 0.1 / e} for e in (1, 2, 3)]
    fig = page_plots.training_figure(history)
    (ax,) = fig.axes
    train, valid = ax.lines
    assert list(train.get_xdata()) == [1, 2, 3]
    assert list(train.get_ydata()) == pytest.approx([math.exp(5), math.exp(4), math.exp(3)])
    assert list(valid.get_ydata()) == pytest.approx([math.exp(5), math.exp(4.5), math.exp(4)])
    assert "perplexity" in ax.get_ylabel() and "epoch" in ax.get_xlabel()


def test_the_training_curve_for_a_phone_reads_there_and_keeps_its_text_inside():
    """The 640-px curve, ~310 px wide on a phone, showed its key and numbers at 9-10 px there."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    history = [{"epoch": e, "train_loss": 6 - e / 3, "valid_loss": 5.5 - e / 4, "lr": 0.1} for e in range(1, 16)]
    wide, phone = page_plots.training_figure(history), page_plots.training_figure(history, phone=True)
    assert [line.get_ydata().tolist() for line in phone.axes[0].lines] == [
        line.get_ydata().tolist() for line in wide.axes[0].lines]  # the same curve
    width = phone.get_size_inches()[0] * phone.dpi
    shown = 310 / width  # its scale in a phone's column
    ax = phone.axes[0]
    renderer = FigureCanvasAgg(phone).get_renderer()
    phone.draw_without_rendering()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    texts = [t for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1]  # the ticks drawn
    texts += [t for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1]
    texts += [ax.xaxis.label, ax.yaxis.label, ax.title, *phone.legends[0].get_texts()]
    for text in texts:
        if text.get_text():
            assert text.get_fontsize() * phone.dpi / 72 * shown >= 13.5, text.get_text()  # px on the phone
            box = text.get_window_extent(renderer)
            assert 0 <= box.x0 and box.x1 <= width, text.get_text()  # none cut at the picture's edge


def test_an_epoch_the_time_budget_cut_short_has_no_train_point():
    """Its train loss is the mean of its first steps (one batch, for the bundled model), not of a pass: drawn,
    it made the curve turn up at the end. Its validation loss is a real score of the weights and stays."""
    history = [{"epoch": e, "train_loss": 6 - e, "valid_loss": 5.5 - e / 2, "lr": 0.1, "steps": 20,
                "partial": False} for e in (1, 2)]
    history.append({"epoch": 3, "train_loss": 5.9, "valid_loss": 4.4, "lr": 0.0, "steps": 1, "partial": True})
    for fig in (page_plots.training_figure(history), card.curves_figure(history)):
        train, valid = fig.axes[0].lines
        assert list(train.get_xdata()) == [1, 2] and list(valid.get_xdata()) == [1, 2, 3]
    assert card.epochs_run(history, 30) == "2 of 30, then 1 step of epoch 3 before the time budget ran out"
    assert card.epochs_run(history[:2], 2) == "2 of 2"



def test_the_model_tab_names_the_model_not_its_path():
    info = {"name": "runs/experiments/oz-lstm/", "test_ppl": 59.49, "vocab_size": 7081}
    text = fmt.model_markdown(info)
    assert "**oz-lstm**" in text and "runs/" not in text
    assert "as unsure as choosing among about 59 words" in text
    assert "Loaded model: **oz-lstm**" in fmt.model_line(info)
