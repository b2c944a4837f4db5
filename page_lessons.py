"""The Lessons tab: six one-click lessons and a "Guess the temperature" quiz.

A lesson (assets/page/lessons.json, loaded and checked by lessons.py) fills the shared prompt and seed and
its tab's controls, shows its "what to notice" above the tabs, switches to that tab and presses its button
(Write, Compare, or Write and measure), so the student sees what the notice talks about. The quiz writes
~40 words at a temperature it keeps to itself (in a gr.State, which stays on the server: the browser never
receives it) until the student guesses.

app.py calls `lesson_box` above the tabs and `lessons_tab` inside the Lessons tab; both lay out only.
"""

import random

import gradio as gr

import lm
import page_format as fmt
from lessons import LESSONS, QUIZ, QUIZ_CHOICES, Lesson, find_lesson
from page_actions import (
    MAX_NEW_TOKENS,
    MAX_PROMPT_CHARS,
    MAX_TEMPERATURE,
    MODEL_QUEUE,
    WRITERS,
    Actions,
)
from page_input import notice_prompt, read_prompt, shown_to_user
from page_wholetext import MAX_TOKENS as WHOLE_MAX_TOKENS
from space_gpu import gpu, gpu_seconds


@shown_to_user
def lesson(which: str) -> dict:
    """One lesson's settings (prompt, seed, temperatures, top-k, top-p, new tokens, tab) and its notice."""
    return find_lesson(which).settings()


# ------------------------------------------------------------------------------------------ quiz
class Quiz:
    """Guess the temperature: a text at a hidden temperature, then the answer and the next-word bars."""

    def __init__(self, model, vocab):
        self.model, self.vocab = model, vocab
        self.random = random.SystemRandom()  # the order of the choices: nothing a student can predict

    def __getstate__(self):  # ZeroGPU pickles `self` into its worker (see page_actions.Actions)
        return {"model": self.model, "vocab": self.vocab}

    def __setstate__(self, state):
        self.__init__(state["model"], state["vocab"])

    @gpu(duration=gpu_seconds(QUIZ["new_tokens"]))
    def _write(self, prompt: str, temperature: float, seed: int) -> str:
        return lm.generate(self.model, self.vocab, prompt, QUIZ["new_tokens"], temperature=temperature, seed=seed,
                           stop_at_eos=False).text

    @gpu(duration=gpu_seconds(0))
    def _bars(self, prompt: str) -> list[lm.Distribution]:
        return lm.next_token_distribution(self.model, self.vocab, prompt, [c.temperature for c in QUIZ_CHOICES],
                                          top=QUIZ["top_words"])

    @shown_to_user
    def new(self, prompt):
        """A puzzle from the prompt: the text, the choices in a new order, and the hidden answer (a gr.State)."""
        prompt = read_prompt(prompt, MAX_PROMPT_CHARS)
        notice_prompt(prompt, self.vocab)
        answer, seed = self.random.choice(QUIZ_CHOICES), lm.random_seed()
        order = self.random.sample(QUIZ_CHOICES, len(QUIZ_CHOICES))
        hidden = {"temperature": answer.temperature, "seed": seed, "prompt": prompt, "revealed": False}
        return (self._write(prompt, answer.temperature, seed),
                gr.Radio(choices=[(c.label, c.temperature) for c in order], value=None),
                "Which temperature wrote this? Pick one, then press *Reveal*.", None, hidden)

    @shown_to_user
    def reveal(self, guess, hidden):
        """Right or wrong, the temperature, how to tell, and the next-word bars at every choice."""
        if not hidden:
            raise ValueError("There is no puzzle yet: press New puzzle first.")
        if hidden["revealed"]:
            raise ValueError("This puzzle is already revealed: press New puzzle for another one.")
        if guess is None or guess == "":
            raise ValueError("Pick a temperature first, then press Reveal.")
        answer = next(c for c in QUIZ_CHOICES if c.temperature == hidden["temperature"])
        verdict = ("**Right!**" if float(guess) == answer.temperature else
                   f"**Not this time:** you picked {float(guess):g}.")
        text = (f"{verdict} This text was written at temperature **{answer.temperature:g}** ({answer.name}), "
                f"seed {hidden['seed']}. "
                f"{answer.tell}\n\n{QUIZ['how_to_tell']} The bars show the model's chances for the word right "
                "after the prompt at each of the three temperatures.")
        bars = fmt.bars_html(self._bars(hidden["prompt"]), hidden["prompt"])
        return text, bars, {**hidden, "revealed": True}


# ---------------------------------------------------------------------------------------- layout
def lesson_box() -> dict:
    """The chosen lesson's "what to notice", above the tabs (so it stays in sight on the lesson's tab)."""
    with gr.Column(visible=False, elem_id="lesson-box") as box:
        with gr.Row(elem_id="lesson-row"):
            text = gr.Markdown(elem_id="lesson-notice")
            close = gr.Button("Close", size="sm", scale=0, min_width=70, elem_id="lesson-close")
    close.click(lambda: gr.Column(visible=False), outputs=box, api_visibility="private", queue=False)
    return {"box": box, "text": text}


def _fill(n: int, lesson: Lesson, side: dict):
    """What a lesson's button sets: the shared prompt and seed, the notice, the tab and that tab's controls
    (the Playground's six, Side by side's five, Whole texts' two: the other tabs' are left alone)."""

    def fill():
        notice = lesson.headed(n, lesson.notice)
        shared = [lesson.prompt, str(lesson.seed), gr.Column(visible=True), notice, gr.Tabs(selected=lesson.tab)]
        playground, columns, whole = [gr.skip()] * 6, [gr.skip()] * (len(side["temperatures"]) + 1), [gr.skip()] * 2
        if lesson.tab == "playground":
            playground = [min(lesson.temperatures[0], MAX_TEMPERATURE), 0, lesson.top_p,
                          min(lesson.new_tokens, MAX_NEW_TOKENS), False,
                          gr.Accordion(open=True) if lesson.top_p < 1 or "top_p" in lesson.try_next else gr.skip()]
        elif lesson.tab == "side-by-side":
            columns = [min(t, MAX_TEMPERATURE) for t in lesson.temperatures] + [min(lesson.new_tokens, MAX_NEW_TOKENS)]
        else:  # whole-texts (lessons.py checks the tab)
            whole = [[t for t in lesson.temperatures if t <= MAX_TEMPERATURE], min(lesson.new_tokens, WHOLE_MAX_TOKENS)]
        return *shared, *playground, *columns, *whole

    return fill


def lessons_tab(actions: Actions, page: dict) -> None:
    """The Lessons tab. `page` holds the shared prompt, seed, tabs and lesson box, and the Playground's, Side by
    side's and Whole texts' components (app.py's playground_tab, side_by_side_tab and wholetext_tab return them)."""
    playground, side, whole, box = page["playground"], page["side_by_side"], page["whole_texts"], page["lesson_box"]
    gr.Markdown("Each lesson sets the prompt, the seed and the sliders, opens the right tab and writes. "
                "Read what to notice above the tabs, then try changing one thing yourself.")
    outputs = [page["prompt"], page["seed"], box["box"], box["text"], page["tabs"],
               playground["temperature"], playground["top_k"], playground["top_p"], playground["new_tokens"],
               playground["stop_at_eos"], playground["cut"], *side["temperatures"], side["compare_tokens"],
               whole["whole_temperatures"], whole["whole_tokens"]]
    with gr.Row(equal_height=True, elem_id="lesson-list"):  # three a row on a laptop; on a phone, one under the other
        for n, item in enumerate(LESSONS, 1):
            button = gr.Button(f"{n}. {item.title}", min_width=350, elem_id=f"lesson-{n}")
            chosen = button.click(_fill(n, item, side), outputs=outputs, api_visibility="private",
                                  queue=False)
            if item.tab == "playground":
                chosen.then(actions.generate, inputs=playground["write_inputs"], outputs=playground["write_outputs"],
                            api_visibility="private", show_progress="minimal", concurrency_limit=WRITERS,
                            concurrency_id="write")
            elif item.tab == "side-by-side":
                chosen.then(actions.compare, inputs=side["compare_inputs"], outputs=side["compare_outputs"],
                            api_visibility="private", **MODEL_QUEUE)
            else:
                chosen.then(whole["run"], inputs=whole["inputs"], outputs=whole["outputs"], api_visibility="private",
                            **MODEL_QUEUE)
    gr.api(lesson, api_name="lesson")
    quiz_section(Quiz(actions.model, actions.vocab), page["prompt"])


def quiz_section(quiz: Quiz, prompt) -> None:
    gr.Markdown("### Guess the temperature\nPress *New puzzle*: the model continues the prompt at a temperature "
                "it keeps secret. Read the text, pick the temperature you think it used, then press *Reveal*.",
                elem_id="quiz-intro")
    new = gr.Button("New puzzle", variant="primary", elem_id="quiz-new")
    text = gr.Textbox(label="Which temperature wrote this?", lines=5, max_lines=10, interactive=False,
                      elem_id="quiz-text")
    with gr.Row():  # on a phone, Reveal goes under the choices
        guess = gr.Radio([(c.label, c.temperature) for c in QUIZ_CHOICES], value=None, label="Your guess", scale=3,
                         min_width=320, elem_id="quiz-guess")
        reveal = gr.Button("Reveal", variant="primary", scale=1, min_width=160, elem_id="quiz-reveal")
    verdict = gr.Markdown(elem_id="quiz-verdict")
    bars = gr.HTML(label="The model's chances for the next word", elem_id="quiz-bars")
    hidden = gr.State(None)  # the answer: kept on the server, per session, never sent to the browser
    new.click(quiz.new, inputs=prompt, outputs=[text, guess, verdict, bars, hidden], api_name="quiz_new",
              **MODEL_QUEUE)
    reveal.click(quiz.reveal, inputs=[guess, hidden], outputs=[verdict, bars, hidden], api_name="quiz_reveal",
                 **MODEL_QUEUE)
