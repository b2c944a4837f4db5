"""How the playground shows results: lm's generations, distributions and model facts turned into
what the page's components display (coloured text, bars, tables, markdown). No Gradio here."""

import html

import lm
from lm.text import EOS

# The colour of a generated word: how likely the model thought it was (before temperature).
PROB_BINS = [  # (lowest probability, label, colour), most likely first
    (0.30, "expected (30% or more)", "#4e9bd1"),
    (0.10, "plausible (10-30%)", "#8fd19e"),
    (0.01, "unusual (1-10%)", "#f6c453"),
    (0.00, "surprising (under 1%)", "#ef6f6c"),
]
COLOR_MAP = {label: colour for _, label, colour in PROB_BINS}


def prob_label(prob: float) -> str:
    """The colour-legend label of a probability: 0.5 -> 'expected (30% or more)'."""
    for low, label, _ in PROB_BINS:
        if prob >= low:
            return label
    return PROB_BINS[-1][1]


class StoryText:
    """The story as it streams: the prompt as typed, then each new token's piece of text (from lm),
    with the colour label of its probability."""

    def __init__(self, prompt: str):
        self.text = prompt
        self.spans: list[tuple[str, str | None]] = [(prompt, None)] if prompt else []

    def add(self, item: lm.StreamToken) -> None:
        self.text += item.text
        self.spans.append((item.text, None if item.text.isspace() else prob_label(item.prob)))


def token_label(token: str) -> str:
    return "↵ (new line)" if token == EOS else token


def format_number(x, digits: int = 2) -> str:
    if x is None:
        return "unknown"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{digits}f}"


# ----------------------------------------------------------------------------- next-word chances
def _plain(text: str) -> str:
    """Text for matplotlib, which would read `$...$` as a formula (and fail on a bad one)."""
    return text.replace("$", r"\$")


def _prompt_tail(prompt: str) -> str:
    """The prompt's last words as the tokenizer reads them, for a plot title."""
    words = lm.detokenize(lm.tokenize(prompt)).split()
    tail = " ".join(words[-8:])
    return ("... " if len(words) > 8 else "") + tail if tail else "(a new line)"


def distribution_figure(dists: list[lm.Distribution], prompt: str):
    """Grouped bars: the top next tokens (x) at each temperature (one colour per temperature)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # not pyplot: no global state shared between threads

    tokens = [_plain(token_label(t)) for t in dists[0].tokens]
    n, groups = len(tokens), len(dists)
    fig = Figure(figsize=(10, 4.4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / groups
    cmap = colormaps["coolwarm"]
    for g, d in enumerate(dists):
        xs = [i - 0.4 + width * (g + 0.5) for i in range(n)]
        name = "0 (greedy)" if d.temperature == 0 else f"{d.temperature:g}"
        ax.bar(xs, d.probs, width, color=cmap(min(d.temperature / 3.0, 1.0)), edgecolor="white", linewidth=0.5,
               label=f"T = {name}   (entropy {d.entropy:.2f} bits)")
    ax.set_xticks(range(n), tokens, rotation=35 if n > 8 else 0, ha="right" if n > 8 else "center", fontsize=11)
    ax.set_ylabel("probability of coming next")
    ax.set_ylim(0, min(1.0, max(max(d.probs) for d in dists) * 1.15 + 0.02))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"What might come after “{_plain(_prompt_tail(prompt))}”", fontsize=12, loc="left")
    ax.legend(frameon=False, fontsize=10)
    return fig


def distribution_tables(dists: list[lm.Distribution]):
    """The bars as numbers (a DataFrame: one column per temperature) and the entropy rows."""
    import pandas as pd  # gradio depends on it; a DataFrame carries the per-temperature headers

    headers = ["next word"] + [f"T = {d.temperature:g} (%)" for d in dists]
    rows = [[token_label(tok)] + [round(100 * d.probs[i], 2) for d in dists] for i, tok in enumerate(dists[0].tokens)]
    entropy = [[d.temperature, round(d.entropy, 3), round(2**d.entropy, 1)] for d in dists]
    return pd.DataFrame(rows, columns=headers), entropy


# ---------------------------------------------------------------------------------- model facts
def _safe(text) -> str:
    """A fact for markdown: HTML-safe, and no `|` to break a table row."""
    return html.escape(str(text), quote=False).replace("|", "&#124;")


def model_line(info: dict) -> str:
    """One line under the page title: which model is loaded."""
    dataset = f", trained on **{_safe(info['dataset'])}**" if info.get("dataset") else ""
    return f"Loaded model: **{_safe(info.get('name') or 'unnamed')}**{dataset}. Details in the *Model* tab."


def model_markdown(info: dict) -> str:
    """The Model tab: a table of facts (from lm.model_info; missing ones are 'unknown') and what perplexity means."""
    unknown = "unknown"
    ppl = info.get("test_ppl")
    rows = [
        ("Model", f"**{_safe(info['name'])}**" if info.get("name") else unknown),
        ("Trained on", _safe(info.get("dataset") or unknown)),
        ("Architecture", _safe(info.get("architecture") or unknown)),
        ("Parameters (numbers it learned)", format_number(info.get("parameters"))),
        ("Vocabulary (words it knows)", format_number(info.get("vocab_size"))),
        ("Test perplexity", format_number(ppl)),
        ("Best validation perplexity", format_number(info.get("best_valid_ppl"))),
    ]
    table = "| About the model | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    explain = (
        "\n\n**Perplexity** measures how surprised the model is by text it has never seen (the test "
        "book). A perplexity of {p} means that, on average, guessing the next word is as hard for it as "
        "picking among {p} equally likely words. Lower is better; guessing blindly among all the words it "
        "knows would score {v}.\n\n"
        "Words outside the vocabulary are read as `<unk>` (unknown). The model writes lower-case tokens; "
        "the page capitalises sentences for reading."
    ).format(p=f"about {ppl:,.0f}" if isinstance(ppl, (int, float)) else "N",
             v=format_number(info.get("vocab_size")))
    return table + explain
