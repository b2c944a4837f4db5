"""Be the sampler: the student writes one word at a time, rolling the dice or taking a word by hand.

Each step shows the next word's tickets (the likeliest words, each a bar as wide as its chance at the
chosen temperature, then "all other words"); Roll shows the ticket strip, where the random number lands
on it and the word it picks, exactly as `lm`'s sampler drew it (lm.stepping replays generate's own
steps). Back takes the last word away; the temperature may change between steps; "Continue
automatically" hands over to the sampler from where the student is. Only rolling, with seed s, writes
what the Playground (and `lm.generate`) writes with seed s at that temperature.

The text so far lives in a gr.State (server-side, per visitor): the prompt and seed it started from and
the tokens taken, each with how it was taken.
"""

import html

import gradio as gr

from lm.generation import Generation
from lm.stepping import continue_text, next_step, take_step
from lm.text import is_break, tokenize
from lm.vocab import Vocab
from page_actions import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_TEMPERATURE, MAX_TOP_K, MIN_TOP_P, MODEL_QUEUE
from page_input import notice_prompt, read_prompt, read_seed, shown_to_user
from page_strip import clicked, strip_html, tickets_html
from space_gpu import gpu, gpu_seconds

MAX_STEPS = MAX_NEW_TOKENS  # words one text may have here, as in the Playground
HOW = {"roll": "rolled", "mine": "your pick", "auto": "sampler"}


def text_html(state: dict, vocab: Vocab) -> str:
    """The text so far: the prompt, then each word taken, marked by how (rolled, your pick, sampler)."""
    gen = _generation(state, vocab)
    parts = [f'<span class="prompt">{html.escape(state["prompt"])}</span>'] if state["prompt"] else []
    for piece, how in zip(gen.pieces(), state["how"]):
        if is_break(piece):  # a paragraph break (after its colon): no word to mark
            parts.append(html.escape(piece))
            continue
        lead = piece[: len(piece) - len(piece.lstrip())]
        word = html.escape(piece[len(lead):])
        parts.append(html.escape(lead) + (f'<span class="taken {how}" title="{HOW[how]}">{word}</span>' if word
                                          else ""))
    if not state["how"]:
        parts.append(' <span class="next-hint">… (roll the dice or click a word)</span>')
    return '<div class="sampler-story">' + "".join(parts) + "</div>"


def _generation(state: dict, vocab: Vocab) -> Generation:
    return Generation(state["prompt"], tokenize(state["prompt"]), tokens=list(state["tokens"]),
                      printing=vocab.printing)


# --------------------------------------------------------------------------------------- actions
class Sampler:
    """What the tab's buttons do, for one model. Every action returns (text, last draw, tickets, seed, state)."""

    def __init__(self, model, vocab):
        self.model, self.vocab = model, vocab

    def __getstate__(self):  # ZeroGPU pickles `self` into its worker: the model and vocab are all there is
        return {"model": self.model, "vocab": self.vocab}

    def __setstate__(self, state):
        self.__init__(state["model"], state["vocab"])

    def _start(self, prompt, seed) -> dict:
        prompt, seed = read_prompt(prompt, MAX_PROMPT_CHARS), read_seed(seed)
        notice_prompt(prompt, self.vocab)
        return {"prompt": prompt, "seed": seed, "tokens": [], "how": []}

    def _show(self, state, t, top_k, top_p, last: str = ""):
        step = next_step(self.model, self.vocab, state["prompt"], state["tokens"], state["seed"], t, top_k, top_p)
        return text_html(state, self.vocab), last, tickets_html(step), str(state["seed"]), state

    @gpu(duration=gpu_seconds(2 * MAX_STEPS))
    @shown_to_user
    def start(self, prompt, seed, t, top_k, top_p):
        """Start a text from the prompt: no words yet, and the first word's tickets."""
        return self._show(self._start(prompt, seed), t, top_k, top_p)

    @gpu(duration=gpu_seconds(2 * MAX_STEPS))
    @shown_to_user
    def roll(self, state, prompt, seed, t, top_k, top_p):
        """Roll the dice for the next word: the strip, where the number landed, the word it picked."""
        return self._take(state, prompt, seed, t, top_k, top_p, None)

    @gpu(duration=gpu_seconds(2 * MAX_STEPS))
    @shown_to_user
    def take(self, state, prompt, seed, t, top_k, top_p, token):
        """Take `token` as the next word by hand (the dice still roll, so later rolls are unchanged)."""
        if token not in self.vocab.stoi or token == self.vocab.itos[self.vocab.unk_index]:
            raise ValueError(f"The model does not know the word {token!r}: click one of its words.")
        return self._take(state, prompt, seed, t, top_k, top_p, token)

    def _take(self, state, prompt, seed, t, top_k, top_p, token):
        state = state or self._start(prompt, seed)
        if len(state["tokens"]) >= MAX_STEPS:
            raise ValueError(f"The text has {MAX_STEPS} words, as many as this page writes: press Back or Start over.")
        # One replay gives this word's draw and the next word's tickets
        step, after = take_step(self.model, self.vocab, state["prompt"], state["tokens"], state["seed"], t, top_k,
                                top_p, token)
        state = {**state, "tokens": [*state["tokens"], token or step.drawn.token],
                 "how": [*state["how"], "mine" if token else "roll"]}
        return text_html(state, self.vocab), strip_html(step, token), tickets_html(after), \
            str(state["seed"]), state

    @gpu(duration=gpu_seconds(MAX_STEPS))
    @shown_to_user
    def refresh(self, state, t, top_k, top_p):
        """The current step's tickets again, at a new temperature or cut-off (no word is added)."""
        if not state:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return self._show(state, t, top_k, top_p, gr.skip())  # the last draw stays as it was drawn

    @gpu(duration=gpu_seconds(2 * MAX_STEPS))
    @shown_to_user
    def back(self, state, prompt, seed, t, top_k, top_p):
        """Take the last word away."""
        state = self._start(prompt, seed) if not state else {**state, "tokens": state["tokens"][:-1],
                                                              "how": state["how"][:-1]}
        return self._show(state, t, top_k, top_p)

    @gpu(duration=gpu_seconds(3 * MAX_STEPS))
    @shown_to_user
    def auto(self, state, prompt, seed, t, top_k, top_p, words):
        """Hand over to the sampler: `words` more words drawn from here, on the same dice."""
        state = self._start(prompt, seed) if not state else dict(state)
        words = min(int(words), MAX_STEPS - len(state["tokens"]))
        gen = continue_text(self.model, self.vocab, state["prompt"], state["tokens"], state["seed"], t, words,
                            top_k, top_p)
        state = {**state, "tokens": gen.tokens, "how": state["how"] + ["auto"] * words}
        return self._show(state, t, top_k, top_p)


def _empty_note() -> str:
    return '<p class="tickets-head">Press <b>Roll the dice</b> (or Start over) to see the first word\'s chances.</p>'


# ---------------------------------------------------------------------------------------- layout
def sampler_tab(model, vocab, prompt, seed) -> None:
    """The Be the sampler tab, under the page's shared prompt and seed."""
    sampler = Sampler(model, vocab)
    gr.Markdown("**Be the sampler.** Write the story one word at a time. The bars are the next word's "
                "chances; **Roll the dice** lets chance pick, as the Playground does, or click a word to "
                "take it yourself. Change the temperature between words and watch the bars change.",
                elem_id="sampler-intro")
    state = gr.State(None)
    temperature = gr.Slider(0, MAX_TEMPERATURE, value=min(0.8, MAX_TEMPERATURE), step=0.05, label="Temperature",
                            elem_id="sampler-temperature", info="for the next word; change it whenever you like")
    with gr.Row(elem_id="sampler-buttons"):
        start = gr.Button("Start over", scale=1, min_width=80, elem_id="sampler-start")
        roll = gr.Button("Roll the dice", variant="primary", scale=2, min_width=120, elem_id="sampler-roll")
        back = gr.Button("Back", scale=1, min_width=70, elem_id="sampler-back")
    text = gr.HTML(_empty_note(), elem_id="sampler-text", js_on_load=None)
    last = gr.HTML("", elem_id="sampler-draw", js_on_load=None)
    # A click on a word's bar sends its token (a <button>, so Enter and Space work too).
    tickets = gr.HTML("", elem_id="sampler-tickets", js_on_load=(
        "element.addEventListener('click', (e) => { const b = e.target.closest('button.ticket');"
        " if (b) trigger('take', {token: b.dataset.token}); });"))
    with gr.Row(equal_height=True):
        words = gr.Slider(1, MAX_STEPS, value=min(20, MAX_STEPS), step=1, precision=0, scale=3,
                          label="Words to hand over to the sampler", elem_id="sampler-words")
        auto = gr.Button("Continue automatically", scale=1, elem_id="sampler-auto")
        seed_used = gr.Textbox(label="Seed used", interactive=False, max_lines=1, scale=1, elem_id="sampler-seed")
    with gr.Accordion("Top-k and top-p", open=False):
        top_k = gr.Slider(0, MAX_TOP_K, value=0, step=1, precision=0, label="Top-k", elem_id="sampler-top-k",
                          info="0 = off")
        top_p = gr.Slider(MIN_TOP_P, 1.0, value=1.0, step=0.01, label="Top-p", elem_id="sampler-top-p",
                          info="1 = off")
    gr.Markdown("Only rolling, with the same seed and temperature, writes exactly what the Playground writes: "
                "the dice are the same. A word you take yourself still uses up its roll, so the later rolls "
                "do not change.", elem_id="sampler-note")
    settings = [temperature, top_k, top_p]
    outputs = [text, last, tickets, seed_used, state]
    start.click(sampler.start, [prompt, seed, *settings], outputs, api_name="sampler_start", **MODEL_QUEUE)
    roll.click(sampler.roll, [state, prompt, seed, *settings], outputs, api_name="sampler_roll", **MODEL_QUEUE)
    back.click(sampler.back, [state, prompt, seed, *settings], outputs, api_name="sampler_back", **MODEL_QUEUE)
    auto.click(sampler.auto, [state, prompt, seed, *settings, words], outputs, api_name="sampler_continue",
               **MODEL_QUEUE)
    # A click on a bar puts its token in a hidden box, then takes it: the API takes the same box as an input.
    token = gr.Textbox(visible=False, label="Word to take (a token the model knows)")
    tickets.take(clicked("token"), None, token, queue=False, api_visibility="private").then(
        sampler.take, [state, prompt, seed, *settings, token], outputs, api_name="sampler_take", **MODEL_QUEUE)
    gr.on([temperature.release, top_k.release, top_p.release], sampler.refresh, [state, *settings], outputs,
          api_visibility="private", trigger_mode="always_last", **MODEL_QUEUE)

