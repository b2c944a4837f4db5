"""The training curve a student reads on the Model tab, drawn with matplotlib for page_format, and the
temperatures' colours (the next-word bars are HTML: page_bars.py). Text drawn at 15-16 pt (21-22 px) in a
640-px figure reads at about 10 px on a phone, where the image is scaled to ~310 px, so a phone gets its own
400-px figure; elsewhere the image is shown at its own size, never stretched (style.css)."""

import math

from lm.card import whole_epochs

FONT = 15  # tick labels and axis labels; the key a little smaller


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # not pyplot: no global state shared between threads

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def temperature_colour(t: float):
    """A temperature's bar colour: blue when cold, red when hot (export.py gives the static page the same)."""
    from matplotlib import colormaps

    return colormaps["coolwarm"](min(t / 3.0, 1.0))


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
