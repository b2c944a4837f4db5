"""One draw as the page shows it: the ticket strip with the dice's landing point, the next word's bars,
and the card that "inspect a word" opens (from lm.stepping's Step), and the click on a word that opens it."""

import html

import gradio as gr

import page_format as fmt
from lm.stepping import Step
from page_format import percent


def _label(t) -> str:
    return fmt.token_label(t.token, t.word)


def strip_html(step: Step, taken: str | None = None) -> str:
    """The ticket strip of one step: a slice per named word as wide as its chance, "all other words", and
    where the random number landed. `taken`: the word the student took by hand instead, if any."""
    slices = "".join(
        f'<div class="slice{" hit" if t is step.drawn else ""}" style="width:{100 * t.prob:.3f}%" '
        f'title="{html.escape(_label(t))}: {percent(t.prob)}"><span>{html.escape(_label(t))}</span></div>'
        for t in step.tickets)
    if step.others > 0:
        hit = " hit" if step.drawn not in step.tickets else ""
        slices += (f'<div class="slice others{hit}" style="width:{100 * step.others:.3f}%" '
                   f'title="all other words: {percent(step.others)}"><span>all other words</span></div>')
    marker = f'<div class="landing" style="left:{100 * step.u:.3f}%" aria-hidden="true"></div>'
    d = step.drawn
    if step.greedy:
        said = (f"Temperature 0 is greedy: no dice. The likeliest word, <b>{html.escape(_label(d))}</b>, is taken "
                f"(the dice still rolled {step.u:.3f}, unused, so the next steps keep their numbers).")
    else:
        said = (f"The dice rolled <b>{step.u:.3f}</b>. It landed on <b>{html.escape(_label(d))}</b>, whose ticket "
                f"runs from {d.start:.3f} to {d.start + d.prob:.3f} ({percent(d.prob)} of the strip; the model's "
                f"{fmt.ordinal(d.rank)} choice).")
    if taken is not None and taken != d.token:
        said += f" You took <b>{html.escape(fmt.token_label(taken))}</b> instead."
    head = ('<p class="strip-head"><b>The last roll.</b> Each word\'s ticket is as wide as its chance; the dice '
            'landed at the black line.</p>')
    where = f"ticket strip; the dice landed on {html.escape(_label(d))}"
    return (f'{head}<div class="strip" role="img" aria-label="{where}">{slices}{marker}</div>'
            f'<p class="strip-note">{said}</p>')


def tickets_html(step: Step) -> str:
    """The next word's tickets as bars; each named word is a button that takes it (page.js sends the click)."""
    widest = max([t.prob for t in step.tickets] + [step.others]) or 1
    rows = "".join(
        f'<button class="ticket" data-token="{html.escape(t.token)}" aria-label="take {html.escape(_label(t))}, '
        f'{percent(t.prob)}"><span class="ticket-word">{html.escape(_label(t))}</span>'
        f'<span class="ticket-bar"><span style="width:{100 * t.prob / widest:.2f}%"></span></span>'
        f'<span class="ticket-pct">{percent(t.prob)}</span>'
        f'<span class="ticket-model">model: {percent(t.model_prob)}</span></button>'
        for t in step.tickets)
    if step.others > 0:
        rows += (f'<div class="ticket others"><span class="ticket-word">all other words '
                 f'({step.others_count:,})</span><span class="ticket-bar"><span style="width:'
                 f'{100 * step.others / widest:.2f}%"></span></span><span class="ticket-pct">{percent(step.others)}'
                 f'</span><span class="ticket-model"></span></div>')
    head = ("At temperature 0 only the likeliest word can be taken by the dice." if step.greedy else
            f'The chances at temperature {step.temperature:g}<span class="ticket-model-note">; the model\'s own '
            "chance (temperature 1) on the right</span>.")
    return f'<p class="tickets-head">{head} Click a word to take it yourself.</p><div class="tickets">{rows}</div>'



def inspector_html(step: Step, word: str) -> str:
    """What one written word was drawn from: its rank, its chance before and after temperature, the strip
    with where the dice fell, and the step's top words as a table."""
    d = step.drawn
    shown = step.tickets + ([] if d in step.tickets else [d])  # the word drawn, even from "all other words"
    rows = "".join(f'<tr{" class=hit" if t is d else ""}><td>{html.escape(_label(t))}</td>'
                   f'<td>{percent(t.prob)}</td><td>{percent(t.model_prob)}</td><td>{fmt.ordinal(t.rank)}</td></tr>'
                   for t in shown)
    if step.others > 0:
        rows += (f'<tr class=others><td>all other words ({step.others_count:,})</td><td>{percent(step.others)}</td>'
                 "<td></td><td></td></tr>")
    heat = "greedy (temperature 0)" if step.greedy else f"temperature {step.temperature:g}"
    head = (f'<p class="inspect-head"><b>{html.escape(word)}</b> (new word {step.position + 1}): the model\'s '
            f'{fmt.ordinal(d.rank)} choice; {percent(d.model_prob)} likely before temperature, {percent(d.prob)} at '
            f'{heat}.</p>')
    table = ('<table class="inspect-table"><thead><tr><th>word</th><th>chance drawn from</th><th>before '
             f'temperature</th><th>rank</th></tr></thead><tbody>{rows}</tbody></table>')
    return f'<div class="inspector" role="region" aria-label="how {html.escape(word)} was drawn">{head}' \
           f'{strip_html(step).replace("The last roll.", "The roll for this word.")}{table}</div>'


# A click, or Enter, on a word of a written text asks the server how that word was drawn (data-i: its place).
INSPECT_JS = """
const ask = (w) => { if (w) trigger('inspect', {i: Number(w.dataset.i), col: Number(w.dataset.col || 0)}); };
element.addEventListener('click', (e) => ask(e.target.closest('[data-i]')));
element.addEventListener('keydown', (e) => { if (e.key === 'Enter') ask(e.target.closest('[data-i]')); });
"""


def inspect_on_click(words: gr.HTML, inspect, written: gr.State, card: gr.HTML, **queue) -> None:
    """A click on a word of `words` shows in `card` how it was drawn: `inspect(written, "column:word")`
    (page_actions.Actions.inspect) on what was written; the word's place goes through a hidden box."""
    index = gr.Textbox(visible=False)
    words.inspect(clicked("col", "i"), None, index, queue=False, api_visibility="private").then(
        inspect, [written, index], card, api_visibility="private", scroll_to_output=True, **queue)


def clicked(*keys: str):
    """An event handler giving what a click sent from the page's JS (`trigger(name, {key: ...})`): the
    values of `keys`, joined by ":" (clicked("col", "i") -> "2:7", column 2, word 7); "" when absent."""
    def read(evt: gr.EventData) -> str:
        data = getattr(evt, "_data", None)
        data = data if isinstance(data, dict) else {}
        return ":".join(str(data.get(k, "")) for k in keys)
    return read
