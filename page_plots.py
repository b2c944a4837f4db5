"""The playground's two plots, drawn with matplotlib for page_format: the next-word bars ("How temperature
works") and the training curve a student reads on the Model tab. Sizes and fonts are chosen for a phone:
a 640-px-wide image is scaled to about 310 px there, so text drawn at 15-17 pt (21-24 px) reads at 10-11 px;
elsewhere the image is shown at its own size, never stretched (style.css)."""

import math

import lm
from lm.card import whole_epochs
from lm.text import EOS

FONT = 15  # tick labels and axis labels; the legend and the bar values are a little smaller
OTHERS = "all other words"
INK = "#1f2937"  # bar outlines: pale bars (T = 1 is a light grey in coolwarm) keep a visible edge


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # not pyplot: no global state shared between threads

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _plain(text: str) -> str:
    """Text for matplotlib, which would read `$...$` as a formula (and fail on a bad one)."""
    return text.replace("$", r"\$")


def _prompt_tail(prompt: str) -> str:
    """The prompt's last words as the tokenizer reads them, for a plot title."""
    words = lm.detokenize(lm.tokenize(prompt)).split()
    tail = " ".join(words[-6:])
    return ("... " if len(words) > 6 else "") + tail if tail else "(a new line)"


def temperature_colour(t: float):
    """A temperature's bar colour: blue when cold, red when hot (export.py gives the static page the same)."""
    from matplotlib import colormaps

    return colormaps["coolwarm"](min(t / 3.0, 1.0))


def others_share(d: lm.Distribution) -> float:
    """The probability of every word not among the bars: what makes the bars add up to 100%. Under 1e-6 is
    float rounding (the bars already hold every word top-k / top-p keeps): 0."""
    rest = 1.0 - sum(d.probs)
    return rest if rest > 1e-6 else 0.0


def _kept(d: lm.Distribution) -> int:
    """How many of the shown words top-k / top-p leave drawable (they keep a prefix of the ranking)."""
    return next((i for i, p in enumerate(d.probs) if p == 0), len(d.probs))


def _cut_label(top_k, top_p) -> str:
    parts = ([f"top-k {top_k}"] if top_k else []) + ([f"top-p {top_p:g}"] if top_p is not None and top_p < 1 else [])
    return " and ".join(parts)


def _draw_cuts(ax, dists, top_k, top_p) -> None:
    """A dashed line after the last word top-k / top-p keeps at each temperature (greedy keeps one anyway)."""
    label = _cut_label(top_k, top_p)
    if not label:
        return
    cuts = {}
    for d in dists:
        if d.temperature > 0 and _kept(d) < len(d.probs):
            cuts.setdefault(_kept(d), []).append(d)
    for k, (kept, ds) in enumerate(sorted(cuts.items())):
        colour = INK if len(cuts) == 1 else temperature_colour(ds[0].temperature)
        ax.axhline(kept - 0.5, color=colour, linestyle="--", linewidth=2,
                   label=f"{label}: words below the line are never drawn" if k == 0 else None)


def distribution_figure(dists: list[lm.Distribution], prompt: str, top_k: int | None = None,
                        top_p: float | None = None):
    """Grouped bars lying down: the top next words down the side (the likeliest on top), then "all other
    words", one colour per temperature, each bar labelled with its value, and the top-k / top-p cut-off as a
    dashed line. Lying down, the words read left to right at full size, also on a phone."""
    words = dists[0].words or dists[0].tokens
    labels = [_plain("↵ (new line)" if t == EOS else w) for t, w in zip(dists[0].tokens, words)] + [OTHERS]
    n, groups = len(labels), len(dists)
    fig = _figure(6.4, 1.9 + n * (0.25 + 0.16 * groups))
    ax = fig.add_subplot()
    height = 0.8 / groups
    xmax = min(1.0, max(max(d.probs + [others_share(d)]) for d in dists))
    for g, d in enumerate(dists):
        ys = [i - 0.4 + height * (g + 0.5) for i in range(n)]
        values = d.probs + [others_share(d)]
        # A bar of 1.5% on a 70% axis is a few pixels: never draw a non-zero one under 1% of the axis.
        widths = [max(p, xmax / 100) if p > 0 else 0 for p in values]
        name = "0 (greedy)" if d.temperature == 0 else f"{d.temperature:g}"
        entropy = max(0.0, d.entropy)  # never "-0.00"
        bars = ax.barh(ys, widths, height, color=temperature_colour(d.temperature), edgecolor=INK, linewidth=0.8,
                       label=f"T = {name}  (entropy {entropy:.2f} bits)")
        # Each bar's value in %, after it; none on a word cut off (0), which the cut-off line explains.
        # Under 1% goes unlabelled: the bar is a sliver, and "the bars as numbers" holds every value.
        ax.bar_label(bars, [f"{100 * p:.0f}%" if p >= 0.01 else "" for p in values], padding=3, fontsize=FONT - 2,
                     color=INK)
    ax.axhline(n - 1.5, color="#9ca3af", linewidth=1, linestyle=":")  # the words shown | the rest
    _draw_cuts(ax, dists, top_k, top_p)
    ax.set_yticks(range(n), labels, fontsize=FONT + 2)
    ax.invert_yaxis()  # the likeliest word on top, "all other words" at the bottom
    ax.tick_params(axis="x", labelsize=FONT - 2)
    ax.set_xlabel("chance of coming next", fontsize=FONT)
    ax.set_xlim(0, xmax * 1.25 + 0.02)  # room for the values after the bars
    ax.set_xticks([v for v in ax.get_xticks() if 0 <= v <= 1.0])  # no "120%" tick
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"What might come after\n“{_plain(_prompt_tail(prompt))}”", fontsize=FONT + 1, loc="left")
    fig.legend(frameon=False, fontsize=FONT - 2, loc="outside lower center", ncols=1)  # under the plot: no
    return fig  # bar or value hidden behind it


def training_figure(history: list[dict], phone: bool = False):
    """Perplexity after each pass through the books (lm's training history), on the books it practised on
    and on a book kept aside; no learning-rate panel (that is for the model card). `phone`: 400 px wide, the
    heading on two lines and the key under the plot, so that a phone (~310 px for it) shows the text at
    14-17 px, not the 9-10 px the 640-px figure shrinks to there; the page shows one or the other by width."""
    whole = whole_epochs(history)  # an epoch the time budget cut short has no pass to show on the train line
    fig = _figure(4.0, 4.6) if phone else _figure(6.4, 4.4)
    ax = fig.add_subplot()
    ax.plot([h["epoch"] for h in whole], [math.exp(h["train_loss"]) for h in whole], "o-", color="#2563eb",
            linewidth=2.5, label="the books it practised on")
    ax.plot([h["epoch"] for h in history], [math.exp(h["valid_loss"]) for h in history], "s-", color="#c2410c",
            linewidth=2.5, label="a book kept aside (never trained on)")
    label_size = FONT - 1 if phone else FONT  # at FONT the phone's x label ran 3 px past the picture's edge
    ax.set_xlabel("pass through the books (epoch)", fontsize=label_size)
    ax.set_ylabel("perplexity (lower = better)", fontsize=label_size)
    ax.tick_params(labelsize=FONT - 1)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    title = "How unsure the model was,\npass after pass" if phone else "How unsure the model was, pass after pass"
    ax.set_title(title, fontsize=FONT + 1, loc="left")
    if phone:
        fig.legend(frameon=False, fontsize=FONT - 2, loc="outside lower center", ncols=1)
    else:
        ax.legend(frameon=False, fontsize=FONT - 1)
    return fig
