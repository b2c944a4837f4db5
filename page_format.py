"""How the playground shows results: lm's generations, distributions and model facts turned into
what the page's components display (coloured text, bars, tables, markdown). No Gradio here.

Colours, bins, limits and example settings come from assets/page/settings.json, which the static page
(web/, through export.py) reads too, so the two pages never disagree; tests/test_palette.py checks them."""

import html
import json
from pathlib import Path

import lm
from lm.text import is_break
from page_bars import bars_html, others_share, token_label  # noqa: F401 (app.py's fmt.*)
from page_plots import training_figure  # noqa: F401

ASSETS = Path(__file__).resolve().parent / "assets"
SETTINGS = json.loads((ASSETS / "page" / "settings.json").read_text("utf-8"))
LIMITS = SETTINGS["limits"]


def load_prompts(path=ASSETS / "prompts.txt") -> list[str]:
    """Example prompts (both pages show them), one a line; blank lines and lines starting with # are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")][:50]

# The colour of a generated word: how likely the model thought it was (before temperature), or its rank.
PROB_BINS = [(b["low"], b["label"], b["colour"]) for b in SETTINGS["prob_bins"]]  # most likely first
RANK_BINS = [(b["max"], b["label"], b["colour"]) for b in SETTINGS["rank_bins"]]  # max None: every rank
COLOR_MAP = {label: colour for _, label, colour in PROB_BINS}
COLOUR_MODES = {"probability": "prob", "rank": "rank"}  # the "Colour by" choices -> the page's data-colour-by


def prob_bin(prob: float) -> int:
    """The bin of a probability: 0.5 -> 0 (expected), 0.001 -> 3 (surprising)."""
    return next((i for i, (low, _, _) in enumerate(PROB_BINS) if prob >= low), len(PROB_BINS) - 1)


def rank_bin(rank: int) -> int:
    """The bin of a rank: 1 -> 0 (its 1st choice), 7 -> 1 (top 10), 5000 -> 3 (rarer)."""
    return next((i for i, (top, _, _) in enumerate(RANK_BINS) if top is None or rank <= top), len(RANK_BINS) - 1)


def prob_label(prob: float) -> str:
    """The colour-legend label of a probability: 0.5 -> 'expected (30% or more)'."""
    return PROB_BINS[prob_bin(prob)][1]


def percent(p: float) -> str:
    """A probability for a reader: 0.4567 -> '45.7%', 0.00012 -> '0.012%' (two significant figures below 0.1%)."""
    return f"{100 * p:.1f}%" if p >= 0.001 or p == 0 else f"{100 * p:.2g}%"


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 13 -> '13th', 1022 -> '1,022nd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def word_html(text: str, prob: float, rank: int, i: int | None = None) -> str:
    """One new word as the story shows it: a span that never breaks inside (style.css), coloured by its
    probability or rank bin (p*/r* classes, palette_css), and telling both on hover and on keyboard focus.
    `i`, the word's place among the new tokens, is what a click (or Enter) on it asks to inspect."""
    lead = text[: len(text) - len(text.lstrip())]  # the space before a word stays outside: lines break there
    word = html.escape(text[len(lead):])
    tip = f"{percent(prob)} likely · the model's {ordinal(rank)} choice"
    index = "" if i is None else f' data-i="{i}" role="button"'
    return (f'{html.escape(lead)}<span class="w p{prob_bin(prob)} r{rank_bin(rank)}" tabindex="0" data-tip="{tip}"'
            f'{index} aria-label="{word}: {tip}">{word}</span>')


class StoryText:
    """The story as it streams: the prompt as typed, then each new token's piece of text (from lm).
    `html` only ever grows at its end, so Gradio streams each update as an append of the new words.
    `written` is what "inspect a word" needs of it: the settings it was written with, and its tokens."""

    def __init__(self, prompt: str, settings: dict | None = None):
        self.text = prompt
        self.spans: list[tuple[str, str | None]] = [(prompt, None)] if prompt else []
        self.parts = [f'<span class="prompt">{html.escape(prompt)}</span>'] if prompt else []
        self.tokens: list[str] = []  # the new tokens, for "inspect a word"
        self.written = {**(settings or {}), "tokens": self.tokens}

    def add(self, item: lm.StreamToken) -> None:
        self.text += item.text
        blank = is_break(item.text)  # a paragraph break (after its colon): not coloured, not a word to hover
        self.spans.append((item.text, None if blank else prob_label(item.prob)))
        i = len(self.tokens)
        self.parts.append(html.escape(item.text) if blank else word_html(item.text, item.prob, item.rank, i))
        self.tokens.append(item.token)

    def update(self, items) -> tuple[str, str, str, dict]:
        """The page's Write outputs after `items` are added: the text, its coloured words, the seed, `written`."""
        for item in items:
            self.add(item)
        return self.text, self.html, str(self.written.get("seed", "")), self.written

    @property
    def html(self) -> str:
        return "".join(self.parts)


def column_html(gen: lm.Generation, col: int) -> str:
    """One Side by side column: the prompt, then each new word as a span a click (or Enter) inspects. Not
    coloured: the columns are read side by side; each word tells its chance and rank on hover and focus."""
    parts = [f'<span class="prompt">{html.escape(gen.prompt)}</span>'] if gen.prompt else []
    for i, (piece, p, rank) in enumerate(zip(gen.pieces(), gen.probs, gen.ranks)):
        if is_break(piece):
            parts.append(html.escape(piece))
            continue
        parts.append(word_html(piece, p, rank, i).replace('class="w ', 'class="w plain ', 1)
                     .replace(' data-i=', f' data-col="{col}" data-i=', 1))
    return '<div class="column-words">' + "".join(parts) + "</div>"


def legend_html() -> str:
    """The legend of both colourings and the plain sentence saying what the colour means; style.css shows the
    one matching the "Colour by" choice (data-colour-by on the page)."""
    def one(mode: str, bins) -> str:
        items = "".join(f'<li><span class="swatch {mode[0]}{i}"></span>{html.escape(label)}</li>'
                        for i, (_, label, _) in enumerate(bins))
        return (f'<div class="colour-key key-{mode}"><p>{html.escape(SETTINGS["colour_modes"][mode])}</p>'
                f'<ul>{items}</ul></div>')

    return one("probability", PROB_BINS) + one("rank", RANK_BINS)


def palette_css() -> str:
    """The colour rules of the story and its legend, from settings.json: probability bins by default, rank bins
    when the page's data-colour-by is "rank". Opaque colours with the dark text colour the palette test checks."""
    ink = SETTINGS["text_colour"]
    rules = [f".w {{ color: {ink}; }}"]  # the dark text every bin is checked against (the key keeps the theme's)
    rules += [f":root:not([data-colour-by=rank]) .w.p{i}, .swatch.p{i} {{ background: {c}; }}"
              for i, (_, _, c) in enumerate(PROB_BINS)]
    rules += [f":root[data-colour-by=rank] .w.r{i}, .swatch.r{i} {{ background: {c}; }}"
              for i, (_, _, c) in enumerate(RANK_BINS)]
    return "\n".join(rules) + "\n"


def format_number(x, digits: int = 2) -> str:
    if x is None:
        return "unknown"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{digits}f}"


def about_words(n: float) -> str:
    """A count of equally likely words for a reader, whole and rounded: 1.0004 -> '1', 7.6 -> '8',
    2147.8 -> 'about 2,150' (three significant figures from 1,000 up)."""
    if n < 100:
        return f"{round(n):,}" if abs(n - round(n)) < 0.05 else f"about {round(n):,}"
    digits = len(str(int(n))) - 3  # keep three significant figures
    return f"about {round(n, -digits):,.0f}"


def entropy_bits(bits: float) -> float:
    """Entropy for a table: never -0 (greedy's rounding error shown as "-0.00"), three decimals."""
    return max(0.0, round(bits, 3)) + 0.0


# ----------------------------------------------------------------------------- next-word chances
def distribution_tables(dists: list[lm.Distribution]):
    """The bars as numbers (a DataFrame: one column per temperature, last row "all other words", so each
    column adds up to 100) and the entropy rows (temperature, bits, "like picking evenly among N words")."""
    import pandas as pd  # gradio depends on it; a DataFrame carries the per-temperature headers

    headers = ["next word"] + [f"T = {d.temperature:g} (%)" for d in dists]
    labels = [token_label(t, w) for t, w in zip(dists[0].tokens, dists[0].words or dists[0].tokens)]
    rows = [[label] + [round(100 * d.probs[i], 2) for d in dists] for i, label in enumerate(labels)]
    rows.append(["all other words"] + [round(100 * others_share(d), 2) for d in dists])
    entropy = [[d.temperature, entropy_bits(d.entropy), about_words(2 ** entropy_bits(d.entropy))] for d in dists]
    return pd.DataFrame(rows, columns=headers), entropy


# ---------------------------------------------------------------------------------- model facts
def _safe(text) -> str:
    """A fact for markdown: HTML-safe, and no `|` to break a table row."""
    return html.escape(str(text), quote=False).replace("|", "&#124;")


def model_name(info: dict) -> str:
    """The model's name for a reader: a folder or repo id's last part ("runs/mine/" -> "mine")."""
    name = str(info.get("name") or "").strip().rstrip("/\\")
    return name.replace("\\", "/").rsplit("/", 1)[-1] or "unnamed"


def model_line(info: dict) -> str:
    """One line under the page title: which model is loaded."""
    dataset = f", trained on **{_safe(info['dataset'])}**" if info.get("dataset") else ""
    return f"Loaded model: **{_safe(model_name(info))}**{dataset}. Details in the *Model* tab."


def model_markdown(info: dict) -> str:
    """The Model tab in plain words: a table of facts (from lm.model_info; missing ones are 'unknown') and what
    perplexity means."""
    unknown = "unknown"
    ppl = info.get("test_ppl")
    known = isinstance(ppl, (int, float))
    ppl_text = (f"{format_number(ppl)}: on average as unsure as choosing among {about_words(ppl)} words" if known
                else unknown)
    rows = [
        ("Name", f"**{_safe(model_name(info))}**" if info.get("name") else unknown),
        ("Read while learning", _safe(info.get("dataset") or unknown)),
        ("Kind of model", _safe(info.get("architecture") or unknown)),
        ("Numbers it learned (parameters)", format_number(info.get("parameters"))),
        ("Words it knows (vocabulary)", format_number(info.get("vocab_size"))),
        ("On a book it never trained on (perplexity)", ppl_text),
    ]
    table = "| About the model | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    explain = (
        "\n\n**Perplexity** says how unsure the model is when it guesses the next word of a book it has never "
        "read. A perplexity of {p} means that, on average, it is as unsure as if it had to choose among {p} "
        "equally likely words. Lower is better; guessing blindly among all {v} words it knows would score {v}.\n\n"
        "The curve below shows the perplexity after each pass through the books (an *epoch*): on the books it "
        "practised on, and on a book kept aside to check that it learned English, not the books by heart.\n\n"
        "Words it never saw are read as `<unk>` (unknown). The model writes lower-case words; the page "
        "capitalises them for reading."
    ).format(p=about_words(ppl) if known else "N", v=format_number(info.get("vocab_size")))
    return table + explain
