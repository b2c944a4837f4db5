"""The next-word bars ("How temperature works", and the quiz's answer) as HTML: web/js/bars.js's twin, so both
pages draw the same chart from the same markup (tests/test_web.py holds the two equal) with assets/page/draw.css.

Lying down: a row per word (the likeliest on top, then "all other words"), a lane per temperature with its bar
and its value after it, so every word reads whole on a phone; a bar over 0 is never under 1% of the axis (a hot
1.5% on a 70% axis stays visible); the top-k / top-p cut-off is a dashed line above the first word it removes.
HTML, not a picture: it fits any screen, and it takes ~0.5 ms to write where the matplotlib figure it replaced
took ~0.2 s to draw."""

import html
import math

import lm
from lm.text import EOS
from page_plots import temperature_colour

OTHERS = "all other words"
STEPS = (0.05, 0.1, 0.2, 0.25)  # the axis's grid: the first of these that gives at most 4.5 lines


def others_share(d: lm.Distribution) -> float:
    """The probability of every word not among the bars: what makes the bars add up to 100%. Under 1e-6 is
    float rounding (the bars already hold every word top-k / top-p keeps): 0."""
    rest = 1.0 - sum(d.probs)
    return rest if rest > 1e-6 else 0.0


def colour(t: float) -> str:
    """A temperature's bar colour as #rrggbb: blue when cold, red when hot (the static page's settings too)."""
    from matplotlib.colors import to_hex

    return to_hex(temperature_colour(t))


def prompt_tail(prompt: str) -> str:
    """The heading's words: the prompt's last six, as the student typed them ("Scarecrow", not "scarecrow")."""
    words = prompt.split()
    return ("... " if len(words) > 6 else "") + " ".join(words[-6:]) if words else "(a new line)"


def token_label(token: str, word: str | None = None) -> str:
    """A next-word label: the word as shown ("Dorothy"), or "↵ (new line)" for the end of a paragraph."""
    return "↵ (new line)" if token == EOS else word or token


def _escape(text: str) -> str:
    return html.escape(text, quote=False).replace('"', "&quot;")  # as bars.js's escape (controls.js)


def _kept(d: lm.Distribution) -> int:
    """How many of the shown words top-k / top-p leave drawable (they keep a prefix of the ranking)."""
    return next((i for i, p in enumerate(d.probs) if p == 0), len(d.probs))


def _lane(p: float, xmax: float, fill: str) -> str:
    if p == 0:
        return '<div class="lane"></div>'  # cut off: no bar (the cut-off line says why)
    value = f"{math.floor(100 * p + 0.5)}%" if p >= 0.01 else ""  # under 1%: a sliver; the table holds it
    return (f'<div class="lane" style="--w:{max(p / xmax, 0.01):.4f}"><div class="bar" style="background:{fill}">'
            f'</div><span class="value">{value}</span></div>')


def bars_html(dists: list[lm.Distribution], prompt: str, top_k: int | None = None, top_p: float | None = None) -> str:
    """The chart for `dists` (one per temperature, the same words) after `prompt`, with the Playground's cut-off."""
    values = [d.probs + [others_share(d)] for d in dists]
    fills = [colour(d.temperature) for d in dists]
    xmax = min(1.0, max(max(v) for v in values) * 1.05 + 0.01)
    step = next((s for s in STEPS if xmax / s <= 4.5), STEPS[-1])
    cuts = {_kept(d) for d in dists if d.temperature > 0 and _kept(d) < len(d.probs)}
    named = ([f"top-k {top_k}"] if top_k else []) + ([f"top-p {top_p:g}"] if top_p and top_p < 1 else [])
    cut_name = " and ".join(named)
    labels = [token_label(t, w) for t, w in zip(dists[0].tokens, dists[0].words or dists[0].tokens)] + [OTHERS]
    rows = []
    for i, label in enumerate(labels):
        line = ('<div class="line others"></div>' if i == len(labels) - 1 else
                '<div class="line cut"></div>' if cut_name and i in cuts else "")
        lanes = "".join(_lane(v[i], xmax, fill) for fill, v in zip(fills, values))
        rows.append(f'{line}<div class="word">{_escape(label)}</div><div class="lanes" title="{_escape(label)}">'
                    f"{lanes}</div>")
    ticks = "".join(f'<span style="left:{100 * k * step / xmax:.2f}%">{round(100 * k * step)}%</span>'
                    for k in range(math.floor(xmax / step + 1e-9) + 1))
    key = "".join(f'<span><span class="swatch" style="background:{fill}"></span>'
                  f'T = {"0 (greedy)" if d.temperature == 0 else f"{d.temperature:g}"} '
                  f"(entropy {max(0.0, d.entropy):.2f} bits)</span>" for d, fill in zip(dists, fills))
    if cut_name and cuts:
        key += f'<span><span class="cut-key"></span>{cut_name}: words below the line are never drawn</span>'
    return (f'<div class="bars" style="--grid:{100 * step / xmax:.3f}%">'
            f"<p class=\"title\">What might come after “{_escape(prompt_tail(prompt))}”</p>"
            f'<div class="plot">{"".join(rows)}<div></div><div class="axis">{ticks}</div></div>'
            f'<p class="scale">chance of coming next</p><div class="key">{key}</div></div>')
