"""The lessons and the quiz of assets/page/lessons.json, loaded and checked: what both pages teach.

page_lessons.py lays them out on the Gradio page; export.py writes them into the static page's
settings.json (web/js/lessons.js). Both pages show every lesson's notice whole.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from page_format import LIMITS

LESSONS_FILE = Path(__file__).resolve().parent / "assets" / "page" / "lessons.json"
# The tabs a lesson can run, and how many temperatures each takes (fewest, most): Whole texts, any of its choices.
TAB_TEMPERATURES = {"playground": (1, 1), "side-by-side": (4, 4), "whole-texts": (1, 8)}


@dataclass(frozen=True)
class Lesson:
    id: str  # "greedy-loops": what the `lesson` endpoint takes (or its number, from 1)
    title: str  # "Greedy goes round in circles": its button says "1. Greedy goes round in circles"
    tab: str  # a key of TAB_TEMPERATURES
    prompt: str
    seed: int
    new_tokens: int
    temperatures: tuple[float, ...]  # one for the Playground, four for Side by side, those to measure in Whole texts
    notice: str  # "what to notice", markdown: what both pages show
    top_p: float = 1.0  # 1 = off
    try_next: dict = field(default_factory=dict)  # what the notice asks the student to change next ("try")

    def headed(self, n: int, notice: str) -> str:
        """A notice as the box above the tabs shows it (markdown): "**Lesson 4: Same dice, ...** Every column..."."""
        return f"**Lesson {n}: {self.title}.** {notice}"

    def settings(self, notice: str | None = None) -> dict:
        """What the lesson sets, as the `lesson` endpoint returns it (top-k always off, never stopping early),
        with the Gradio page's notice unless `notice` is given."""
        return {"id": self.id, "title": self.title, "tab": self.tab, "prompt": self.prompt, "seed": str(self.seed),
                "new_tokens": self.new_tokens, "temperatures": list(self.temperatures), "top_k": 0,
                "top_p": self.top_p, "stop_at_eos": False, "try": dict(self.try_next),
                "notice": self.notice if notice is None else notice}


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
    low, high = TAB_TEMPERATURES[raw["tab"]]
    _check(isinstance(temps, list) and low <= len(temps) <= high, where,
           f"the {raw['tab']} tab takes {low if low == high else f'{low} to {high}'} temperature(s)")
    _check(all(isinstance(t, (int, float)) and 0 <= t <= LIMITS["max_temperature"] for t in temps), where,
           f"temperatures must be from 0 to {LIMITS['max_temperature']:g}")
    _check(isinstance(raw.get("seed"), int) and 0 <= raw["seed"] <= LIMITS["max_seed"], where,
           "seed must be a whole number")
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
