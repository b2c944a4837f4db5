"""The Lessons tab: five one-click lessons and a "Guess the temperature" quiz.

A lesson (assets/page/lessons.json) fills the shared prompt and seed and its tab's controls, shows its
"what to notice" above the tabs, switches to that tab and presses its button (Write or Compare), so the
student sees what the notice talks about. The quiz writes ~40 words at a temperature it keeps to itself
(in a gr.State, which stays on the server: the browser never receives it) until the student guesses.

app.py calls `lesson_box` above the tabs and `lessons_tab` inside the Lessons tab; both lay out only.
"""

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

import lm
import page_format as fmt
from page_actions import (
    LIMITS,
    MAX_NEW_TOKENS,
    MAX_PROMPT_CHARS,
    MAX_TEMPERATURE,
    MODEL_QUEUE,
    WRITERS,
    Actions,
)
from page_input import MAX_SEED, notice_prompt, read_prompt, shown_to_user
from space_gpu import gpu, gpu_seconds

LESSONS_FILE = Path(__file__).resolve().parent / "assets" / "page" / "lessons.json"
TAB_TEMPERATURES = {"playground": 1, "side-by-side": 4}  # the tabs a lesson can run, and the temperatures each takes


@dataclass(frozen=True)
class Lesson:
    id: str  # "greedy-loops": what the `lesson` endpoint takes (or its number, from 1)
    title: str  # "Greedy goes round in circles": its button says "1. Greedy goes round in circles"
    tab: str  # a key of TAB_TEMPERATURES
    prompt: str
    seed: int
    new_tokens: int
    temperatures: tuple[float, ...]  # one for the Playground, four for Side by side
    notice: str  # "what to notice", markdown
    top_p: float = 1.0  # 1 = off
    try_next: dict = field(default_factory=dict)  # what the notice asks the student to change next ("try")

    def settings(self) -> dict:
        """What the lesson sets, as the `lesson` endpoint returns it (top-k always off, never stopping early)."""
        return {"id": self.id, "title": self.title, "tab": self.tab, "prompt": self.prompt, "seed": str(self.seed),
                "new_tokens": self.new_tokens, "temperatures": list(self.temperatures), "top_k": 0,
                "top_p": self.top_p, "stop_at_eos": False, "try": dict(self.try_next), "notice": self.notice}


@dataclass(frozen=True)
class QuizChoice:
    temperature: float
    name: str  # "cold"
    tell: str  # how to recognise it, one sentence

    @property
    def label(self) -> str:
        return f"{self.temperature:g} ({self.name})"


def _check(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{LESSONS_FILE.name}: {where}: {what}")


def _lesson(raw: dict, n: int) -> Lesson:
    where = f"lesson {n} ({raw.get('id', 'no id')})"
    _check(all(isinstance(raw.get(k), str) and raw[k].strip() for k in ("id", "title", "prompt", "notice")),
           where, "needs a non-empty id, title, prompt and notice")
    _check(raw.get("tab") in TAB_TEMPERATURES, where, f"tab must be one of {sorted(TAB_TEMPERATURES)}")
    temps = raw.get("temperatures")
    _check(isinstance(temps, list) and len(temps) == TAB_TEMPERATURES[raw["tab"]], where,
           f"the {raw['tab']} tab takes {TAB_TEMPERATURES[raw['tab']]} temperature(s)")
    _check(all(isinstance(t, (int, float)) and 0 <= t <= LIMITS["max_temperature"] for t in temps), where,
           f"temperatures must be from 0 to {LIMITS['max_temperature']:g}")
    _check(isinstance(raw.get("seed"), int) and 0 <= raw["seed"] <= MAX_SEED, where, "seed must be a whole number")
    _check(isinstance(raw.get("new_tokens"), int) and 1 <= raw["new_tokens"] <= LIMITS["max_new_tokens"], where,
           f"new_tokens must be from 1 to {LIMITS['max_new_tokens']}")
    _check(isinstance(raw.get("top_p", 1.0), (int, float)) and LIMITS["min_top_p"] <= raw.get("top_p", 1.0) <= 1,
           where, f"top_p must be from {LIMITS['min_top_p']:g} to 1")
    _check(len(raw["prompt"]) <= LIMITS["max_prompt_chars"], where, "the prompt is too long")
    _check(set(raw.get("try", {})) <= {"temperature", "top_p"}, where, "try may change temperature and top_p")
    return Lesson(raw["id"], raw["title"], raw["tab"], raw["prompt"], raw["seed"], raw["new_tokens"],
                  tuple(float(t) for t in temps), raw["notice"], float(raw.get("top_p", 1.0)), raw.get("try", {}))


def load_lessons(path: Path = LESSONS_FILE) -> tuple[list[Lesson], list[QuizChoice], dict]:
    """The lessons, the quiz's three temperatures and the quiz's settings, checked: a bad file is a ValueError."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    lessons = [_lesson(item, n) for n, item in enumerate(raw["lessons"], 1)]
    _check(len({lesson.id for lesson in lessons}) == len(lessons), "lessons", "ids must differ")
    quiz = raw["quiz"]
    choices = [QuizChoice(float(c["temperature"]), c["name"], c["tell"]) for c in quiz["choices"]]
    _check(len({c.temperature for c in choices}) == len(choices) >= 2, "quiz", "needs two or more temperatures")
    _check(all(0 < c.temperature <= LIMITS["max_temperature"] for c in choices), "quiz", "temperatures out of range")
    return lessons, choices, quiz


LESSONS, QUIZ_CHOICES, QUIZ = load_lessons()


def find_lesson(which) -> Lesson:
    """A lesson by id ("same-dice") or number ("4", 4)."""
    text = str(which).strip()
    for n, lesson in enumerate(LESSONS, 1):
        if text in (lesson.id, str(n)):
            return lesson
    raise ValueError(f"There is no lesson {which!r}: choose 1 to {len(LESSONS)}, or one of "
                     + ", ".join(lesson.id for lesson in LESSONS) + ".")


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
        figure = fmt.distribution_figure(self._bars(hidden["prompt"]), hidden["prompt"])
        return text, figure, {**hidden, "revealed": True}


# ---------------------------------------------------------------------------------------- layout
def lesson_box() -> dict:
    """The chosen lesson's "what to notice", above the tabs (so it stays in sight on the lesson's tab)."""
    with gr.Column(visible=False, elem_id="lesson-box") as box:
        with gr.Row():
            text = gr.Markdown(elem_id="lesson-notice")
            close = gr.Button("Close", size="sm", scale=0, min_width=70, elem_id="lesson-close")
    close.click(lambda: gr.Column(visible=False), outputs=box, api_visibility="private", queue=False)
    return {"box": box, "text": text}


def _fill(n: int, lesson: Lesson, playground: dict, side: dict):
    """What a lesson's button sets: the shared prompt and seed, the notice, the tab and that tab's controls
    (the other tab's are left alone)."""
    here = lesson.tab == "playground"

    def fill():
        notice = f"**Lesson {n}: {lesson.title}.** {lesson.notice}"
        shared = [lesson.prompt, str(lesson.seed), gr.Column(visible=True), notice, gr.Tabs(selected=lesson.tab)]
        if here:
            tab = [min(lesson.temperatures[0], MAX_TEMPERATURE), 0, lesson.top_p,
                   min(lesson.new_tokens, MAX_NEW_TOKENS), False,
                   gr.Accordion(open=True) if lesson.top_p < 1 or "top_p" in lesson.try_next else gr.skip()]
            return *shared, *tab, *[gr.skip()] * (len(side["temperatures"]) + 1)
        other = [gr.skip()] * 6
        tab = [min(t, MAX_TEMPERATURE) for t in lesson.temperatures] + [min(lesson.new_tokens, MAX_NEW_TOKENS)]
        return *shared, *other, *tab

    return fill


def lessons_tab(actions: Actions, page: dict) -> None:
    """The Lessons tab. `page` holds the shared prompt, seed, tabs and lesson box, and the Playground's and
    Side by side's components (app.py's playground_tab and side_by_side_tab return them)."""
    playground, side, box = page["playground"], page["side_by_side"], page["lesson_box"]
    gr.Markdown("Each lesson sets the prompt, the seed and the sliders, opens the right tab and writes. "
                "Read what to notice above the tabs, then try changing one thing yourself.")
    outputs = [page["prompt"], page["seed"], box["box"], box["text"], page["tabs"],
               playground["temperature"], playground["top_k"], playground["top_p"], playground["new_tokens"],
               playground["stop_at_eos"], playground["cut"], *side["temperatures"], side["compare_tokens"]]
    with gr.Row(equal_height=True, elem_id="lesson-list"):  # five in a row on a laptop; on a phone, one under the other
        for n, item in enumerate(LESSONS, 1):
            button = gr.Button(f"{n}. {item.title}", min_width=220, elem_id=f"lesson-{n}")
            chosen = button.click(_fill(n, item, playground, side), outputs=outputs, api_visibility="private",
                                  queue=False)
            if item.tab == "playground":
                chosen.then(actions.generate, inputs=playground["write_inputs"], outputs=playground["write_outputs"],
                            api_visibility="private", show_progress="minimal", concurrency_limit=WRITERS,
                            concurrency_id="write")
            else:
                chosen.then(actions.compare, inputs=side["compare_inputs"], outputs=side["compare_outputs"],
                            api_visibility="private", **MODEL_QUEUE)
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
    bars = gr.Plot(label="The model's chances for the next word", show_label=False, elem_id="quiz-bars")
    hidden = gr.State(None)  # the answer: kept on the server, per session, never sent to the browser
    new.click(quiz.new, inputs=prompt, outputs=[text, guess, verdict, bars, hidden], api_name="quiz_new",
              **MODEL_QUEUE)
    reveal.click(quiz.reveal, inputs=[guess, hidden], outputs=[verdict, bars, hidden], api_name="quiz_reveal",
                 **MODEL_QUEUE)
