"""How the "Whole texts" tab shows its results: the measures against temperature as a matplotlib figure,
the table of the same numbers, and sample texts as HTML with the copied words highlighted. No Gradio here.

Sizes follow page_plots (a 640-px-wide image, 15-17 pt text, readable on a phone)."""

import html
import math
from dataclasses import dataclass

import lm
from lm import textstats
from page_plots import FONT, temperature_colour

COPIED_STYLE = "background:#fde68a;color:#1f2937;border-radius:3px;padding:0 1px"  # inline: no style.css change
SHOWN_SAMPLES = 3  # texts shown open per temperature; the rest behind "more"
# One text per bar-edged block: a text's own paragraph breaks stay inside it, so where one ends is plain.
TEXT_STYLE = "white-space:normal;border-left:3px solid #d1d5db;padding-left:10px;margin:16px 0"


@dataclass
class Sample:
    """One text and what was measured on it (copy share and copied mask: None without an index)."""
    generation: lm.Generation
    distinct2: float
    distinct3: float
    repeated: float
    copied: list[bool] | None  # per new token: in a 4-gram found in the training text
    copy_share: float | None


@dataclass
class TemperatureStats:
    temperature: float
    samples: list[Sample]

    def values(self, name: str) -> list[float]:
        return [v for v in (getattr(s, name) for s in self.samples) if v is not None and not math.isnan(v)]

    def mean(self, name: str) -> float:
        values = self.values(name)
        return sum(values) / len(values) if values else math.nan

    @property
    def perplexity(self) -> float:
        """Over all the samples' tokens together (exp of the mean -log p), so a short sample weighs less."""
        return textstats.perplexity([p for s in self.samples for p in s.generation.probs])


def measure(gen: lm.Generation, vocab, index) -> Sample:
    """The measures of one generation, on its new tokens only (lm.textstats says why)."""
    tokens = gen.tokens
    copied = share = None
    if index is not None:
        grams = index.copied(vocab.encode(tokens)).tolist()  # one bool per 4-gram of the new tokens
        copied, share = textstats.copied_tokens(grams, len(tokens), index.n), textstats.copy_share(grams)
    return Sample(gen, textstats.distinct(tokens, 2), textstats.distinct(tokens, 3),
                  textstats.repeated_share(tokens, 4), copied, share)


# ------------------------------------------------------------------------------------ the figure
# (title, what the y axis means, the Sample fields drawn with their labels)
PANELS = [
    ("Variety", "new word pairs, triples", [("distinct2", "pairs"), ("distinct3", "triples")]),
    ("Repetition (loops)", "phrases it already wrote", [("repeated", None)]),
    ("Surprise", "perplexity (log scale)", [("perplexity", None)]),
    ("Copied from the books", "phrases found in the books", [("copy_share", None)]),
]


def _band(stats: list[TemperatureStats], name: str) -> tuple[list[float], list[float]]:
    """The middle half of the samples (25th to 75th percentile) at each temperature."""
    lows, highs = [], []
    for s in stats:
        values = sorted(s.values(name)) or [math.nan]
        lows.append(values[round(0.25 * (len(values) - 1))])
        highs.append(values[round(0.75 * (len(values) - 1))])
    return lows, highs


def _panel(ax, stats, title, ylabel, series, percent: bool) -> None:
    temps = [s.temperature for s in stats]
    for name, label in series:
        if name == "perplexity":
            ys = [s.perplexity for s in stats]
            ax.set_yscale("log")
        else:
            ys = [s.mean(name) for s in stats]
            lows, highs = _band(stats, name)
            ax.fill_between(temps, lows, highs, alpha=0.15, color="#6b7280", linewidth=0)
        ax.plot(temps, ys, color="#374151", linewidth=2, label=label, linestyle="--" if label == "pairs" else "-")
        ax.scatter(temps, ys, c=[temperature_colour(t) for t in temps], s=70, edgecolors="#1f2937", zorder=3)
    if percent:
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_title(title, fontsize=FONT, loc="left")
    ax.set_ylabel(ylabel, fontsize=FONT - 3)
    ax.set_xlabel("temperature", fontsize=FONT - 2)
    ax.tick_params(labelsize=FONT - 4)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    if any(label for _, label in series):
        ax.legend(frameon=False, fontsize=FONT - 4, loc="lower right")  # variety is high at the right


def figure_title(samples: int) -> str:
    return (f"Cold: loops, and parrots the book.\nHot: invents, then word salad.\n"
            f"({samples} texts at each temperature; phrases = 4 words)")


def wholetext_figure(stats: list[TemperatureStats], with_copies: bool, samples: int, columns: int = 2):
    """One panel per measure against temperature (the copy panel only with an index), the line through
    the average of the samples, the grey band their middle half. Two columns, 640 px wide, for a laptop; one,
    400 px wide, for a phone, where the two-column image shrinks to half and its numbers to ~7 px."""
    from matplotlib.figure import Figure  # not pyplot: no global state shared between threads

    panels = PANELS if with_copies else PANELS[:3]
    rows = math.ceil(len(panels) / columns)
    size = (6.4, 1.4 + 3.2 * rows) if columns == 2 else (4.0, 1.7 + 2.8 * rows)
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).reshape(-1)
    for ax, (title, ylabel, series) in zip(axes, panels):
        _panel(ax, stats, title, ylabel, series, percent=series[0][0] != "perplexity")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    title = figure_title(samples)
    fig.suptitle(title if columns == 2 else title.replace("; ", ";\n"), fontsize=FONT)  # 400 px: one more line
    return fig


def stats_table(stats: list[TemperatureStats], with_copies: bool) -> tuple[list[str], list[list]]:
    """The plot as numbers: one row per temperature, percentages and perplexity rounded for reading."""
    headers = ["temperature", "new word pairs (%)", "new word triples (%)", "repeated 4-word phrases (%)",
               "perplexity"] + (["copied 4-word phrases (%)"] if with_copies else [])
    pct = lambda x: None if math.isnan(x) else round(100 * x, 1)  # noqa: E731
    rows = []
    for s in stats:
        row = [s.temperature, pct(s.mean("distinct2")), pct(s.mean("distinct3")), pct(s.mean("repeated")),
               None if math.isnan(s.perplexity) else round(s.perplexity, 1)]
        rows.append(row + ([pct(s.mean("copy_share"))] if with_copies else []))
    return headers, rows


# ------------------------------------------------------------------------------------ the texts
def _runs(pieces: list[str], copied: list[bool]) -> str:
    """The new tokens' text, each run of copied tokens in one <mark> (its leading space left outside)."""
    out, run = [], []

    def close():
        if run:
            text = "".join(run)
            lead = text[: len(text) - len(text.lstrip())]
            out.append(f'{html.escape(lead)}<mark style="{COPIED_STYLE}">{html.escape(text[len(lead):])}</mark>')
            run.clear()

    for piece, hit in zip(pieces, copied):
        if hit and not lm.text.is_break(piece):
            run.append(piece)
        else:
            close()
            out.append(html.escape(piece))
    close()
    return "".join(out)


def sample_html(sample: Sample) -> str:
    gen = sample.generation
    pieces = gen.pieces()
    copied = sample.copied or [False] * len(pieces)
    body = _runs(pieces, copied).replace("\n", "<br>")
    return (f'<p class="whole-text" style="{TEXT_STYLE}"><span style="opacity:.7">{html.escape(gen.prompt)}'
            f"</span>{body}</p>")


def _heading(s: TemperatureStats, with_copies: bool) -> str:
    facts = [f"{100 * s.mean('distinct2'):.0f}% new word pairs", f"{100 * s.mean('repeated'):.0f}% repeated phrases",
             f"perplexity {s.perplexity:.1f}"]
    if with_copies:
        facts.append(f"{100 * s.mean('copy_share'):.0f}% copied phrases")
    name = "0 (greedy)" if s.temperature == 0 else f"{s.temperature:g}"
    return f"<h4>T = {name}: {html.escape(' · '.join(facts))}</h4>"


def legend(with_copies: bool) -> str:
    if not with_copies:
        return ("<p><em>This model has no n-gram index of its training text (ngrams.safetensors), so copied "
                "phrases are neither measured nor highlighted; the other measures are shown.</em></p>")
    return (f'<p><mark style="{COPIED_STYLE}">Highlighted</mark> words lie in a 4-word phrase (words and '
            "punctuation) that also occurs in the books the model read. The check is a Bloom filter: about 1 "
            "phrase in 100 is highlighted by chance. The prompt, in grey, is not counted.</p>")


def samples_html(stats: list[TemperatureStats], with_copies: bool) -> str:
    """Each temperature's first texts open, the others behind a "more" fold; the legend first."""
    parts = [legend(with_copies)]
    for s in stats:
        texts = [sample_html(x) for x in s.samples]
        parts.append(f'<section class="whole-texts-at">{_heading(s, with_copies)}{"".join(texts[:SHOWN_SAMPLES])}')
        if len(texts) > SHOWN_SAMPLES:
            parts.append(f"<details><summary>{len(texts) - SHOWN_SAMPLES} more texts at this temperature</summary>"
                         f'{"".join(texts[SHOWN_SAMPLES:])}</details>')
        parts.append("</section>")
    return "".join(parts)
