"""The Lessons tab: its file, each lesson through the real server, each lesson's promise, and the quiz.

The lessons are written for the bundled model (assets/oz-lstm): their notices quote what it writes with
their settings. So the promise checks run that model, in-process, and test what each notice claims with a
measure, not a snapshot: the greedy text loops, the columns' perplexity climbs with temperature, top-p cuts
the rare words, the same seed gives a shared start, cold text is copied from the books and hot is not; and
every phrase a notice quotes (in “curly quotes”) is really in the text. The server runs the same model.
"""

import html
import json
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from page_helpers import call as _call  # noqa: E402
from page_helpers import serve  # noqa: E402

import app  # noqa: E402
import lessons  # noqa: E402
import lm  # noqa: E402
import page_actions  # noqa: E402
import page_lessons  # noqa: E402
import page_wholetext  # noqa: E402
import page_wholetext_view as view  # noqa: E402
from page_lessons import LESSONS, QUIZ, QUIZ_CHOICES  # noqa: E402

BUNDLED = ROOT / "assets" / "oz-lstm"
BOOKS = ROOT.parent / "shared" / "corpora" / "oz" / "train"  # the bundled model's training books
TIMEOUT = 60
RARE = 100  # a word outside the model's top 100 guesses is a rare one


@pytest.fixture(scope="module")
def bundled():
    return lm.load_pretrained(BUNDLED)


def _lesson(lesson_id: str):
    return next(lesson for lesson in LESSONS if lesson.id == lesson_id)


def _texts(model, vocab, lesson, **change) -> list[lm.Generation]:
    """What the lesson's tab writes (Write: one text; Compare: four; Write and measure: SAMPLES at each
    temperature, sample i seeded seed + i), optionally with the notice's `try`."""
    if lesson.tab == "whole-texts":
        return page_wholetext.WholeTexts(model, vocab)._write(lesson.prompt, list(lesson.temperatures),
                                                               lesson.new_tokens, lesson.seed)
    temps = [change.get("temperature", t) for t in lesson.temperatures]
    return lm.sweep(model, vocab, lesson.prompt, temps, lesson.new_tokens, top_p=change.get("top_p", lesson.top_p),
                    seed=lesson.seed, stop_at_eos=False)


def _perplexity(g: lm.Generation) -> float:
    """How surprised the model is by its own words (their probabilities before temperature): exp of the mean
    negative log-probability."""
    return math.exp(-sum(math.log(p) for p in g.probs) / len(g.probs))


def _rare(g: lm.Generation) -> int:
    return sum(rank > RARE for rank in g.ranks)


def _quotes(notice: str) -> list[str]:
    return re.findall(r"“([^”]+)”", notice)


def _words(text: str) -> list[str]:
    return lm.tokenize(text)


def _contains(haystack: list[str], needle: list[str]) -> int:
    """How many times the token list `needle` occurs in `haystack`."""
    n = len(needle)
    return sum(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


# ------------------------------------------------------------------------------------- the file
def test_the_lessons_file_holds_six_lessons_the_page_can_run():
    assert len(LESSONS) == 6 and len({lesson.id for lesson in LESSONS}) == 6
    for lesson in LESSONS:
        low, high = lessons.TAB_TEMPERATURES[lesson.tab]
        assert low <= len(lesson.temperatures) <= high
        if lesson.tab == "whole-texts":  # among the tab's choices, and as long as it lets texts be
            assert set(lesson.temperatures) <= set(page_wholetext.TEMPERATURE_CHOICES)
            assert lesson.new_tokens <= page_wholetext.MAX_TOKENS
        assert all(0 <= t <= page_actions.MAX_TEMPERATURE for t in lesson.temperatures)
        assert 1 <= lesson.new_tokens <= page_actions.MAX_NEW_TOKENS
        assert page_actions.MIN_TOP_P <= lesson.top_p <= 1
        assert 0 <= lesson.seed <= lessons.LIMITS["max_seed"] and len(lesson.prompt) <= page_actions.MAX_PROMPT_CHARS
        sentences = len(re.findall(r"[.!?](?:\s|$)", lesson.notice))
        assert 2 <= sentences <= 4, (lesson.id, sentences)  # a few plain sentences
        assert lesson.title and _quotes(lesson.notice), lesson.id  # each points at words in the text
    assert len(QUIZ_CHOICES) == 3 and all(c.tell for c in QUIZ_CHOICES) and QUIZ["how_to_tell"]
    assert 20 <= QUIZ["new_tokens"] <= page_actions.MAX_NEW_TOKENS


@pytest.mark.parametrize("change, message", [
    ({"tab": "nowhere"}, "tab must be one of"),
    ({"temperatures": [0.5, 1.0]}, "the playground tab takes 1 temperature(s)"),
    ({"temperatures": [9.0]}, "temperatures must be from 0 to 3.5"),
    ({"new_tokens": 0}, "new_tokens must be from 1 to 300"),
    ({"top_p": 0}, "top_p must be from 0.01 to 1"),
    ({"notice": ""}, "needs a non-empty id, title, prompt and notice"),
    ({"try": {"seed": 3}}, "try may change temperature and top_p"),
])
def test_a_bad_lesson_is_refused_by_name(tmp_path, change, message):
    raw = json.loads(lessons.LESSONS_FILE.read_text(encoding="utf-8"))
    raw["lessons"][0].update(change)
    path = tmp_path / "lessons.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        lessons.load_lessons(path)
    assert "lesson 1 (greedy-loops)" in str(caught.value)


def test_find_lesson_by_id_or_number():
    assert lessons.find_lesson("3") is lessons.find_lesson("top-p-rescue") is LESSONS[2]
    assert lessons.find_lesson(5) is LESSONS[4]
    with pytest.raises(ValueError, match="There is no lesson '7': choose 1 to 6"):
        lessons.find_lesson("7")


def test_the_lesson_tabs_exist_on_the_page(bundled):
    import gradio as gr

    demo = app.build_demo(*bundled)
    ids = {block.id for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert {lesson.tab for lesson in LESSONS} | {"lessons"} <= ids


# ------------------------------------------------------------------------------ each lesson's promise
def test_every_quoted_phrase_is_in_the_text(bundled):
    """A notice quotes only what the model really writes with the lesson's settings (or with its `try`)."""
    for lesson in LESSONS:
        texts = _texts(*bundled, lesson) + (_texts(*bundled, lesson, **lesson.try_next) if lesson.try_next else [])
        written = [_words(g.text) for g in texts]
        for quote in _quotes(lesson.notice):
            assert any(_contains(w, _words(quote)) for w in written), (lesson.id, quote)


def test_greedy_goes_round_in_a_loop_whatever_the_seed(bundled):
    lesson = _lesson("greedy-loops")
    assert lesson.temperatures == (0.0,)
    (g,) = _texts(*bundled, lesson)
    sentence = _words(_quotes(lesson.notice)[0])
    assert len(sentence) >= 10 and _contains(g.tokens, sentence) >= 3  # the same long sentence, three times
    # From its first repeat on, the text is one stretch copied over and over: a loop, not a coincidence.
    first = next(i for i in range(len(g.tokens)) if g.tokens[i:i + len(sentence)] == sentence)
    period = next(p for p in range(1, len(g.tokens)) if g.tokens[first + p:first + p + len(sentence)] == sentence)
    assert all(g.tokens[i] == g.tokens[i + period] for i in range(first, len(g.tokens) - period))
    other = lm.generate(*bundled, lesson.prompt, lesson.new_tokens, temperature=0, seed=lesson.seed + 99,
                        stop_at_eos=False)
    assert other.tokens == g.tokens  # the notice: greedy ignores the seed


def test_cold_to_hot_the_text_gets_more_surprising(bundled):
    lesson = _lesson("cold-vs-hot")
    gens = _texts(*bundled, lesson)
    assert list(lesson.temperatures) == sorted(lesson.temperatures)
    perplexities = [_perplexity(g) for g in gens]
    assert perplexities == sorted(perplexities)  # each hotter column surprises the model more
    assert perplexities[0] < 10 < 1000 < perplexities[-1]  # plain words; a jumble (the test book: about 40)
    assert _rare(gens[0]) == 0 and _rare(gens[-1]) >= len(gens[-1].tokens) // 2  # none rare; half or more


def test_top_p_rescues_hot_text(bundled):
    lesson = _lesson("top-p-rescue")
    (cut,) = _texts(*bundled, lesson)
    (uncut,) = _texts(*bundled, lesson, **lesson.try_next)
    assert lesson.temperatures[0] > 1 and lesson.top_p < 1 and lesson.try_next == {"top_p": 1.0}
    assert _perplexity(cut) < _perplexity(uncut) / 10  # far less surprising to the model
    assert _rare(cut) <= 3 < 10 <= _rare(uncut)  # the odd words are gone


def test_same_dice_columns_share_their_start_until_the_temperature_tips_a_choice(bundled):
    lesson = _lesson("same-dice")
    gens = _texts(*bundled, lesson)
    split = next(i for i in range(lesson.new_tokens) if len({g.tokens[i] for g in gens}) > 1)
    assert split >= 5  # "said", a new line, "I'm": the same dice, the same words
    assert len({g.tokens[split] for g in gens}) == 4  # then each column takes its own word
    before = _words(_quotes(lesson.notice)[1])
    assert before == gens[0].tokens[split - len(before):split]  # “I'm”, just before the split
    # With a different seed per column, the dice differ and so do the columns, almost at once.
    dice = lm.sweep(*bundled, lesson.prompt, list(lesson.temperatures), lesson.new_tokens,
                    seeds=[lesson.seed + i for i in range(4)], stop_at_eos=False)
    assert next(i for i in range(lesson.new_tokens) if len({g.tokens[i] for g in dice}) > 1) < split


@pytest.fixture(scope="module")
def books() -> list[str]:
    """The training books as one stream of tokens, each line ending in <eos>, as the model read them."""
    if not BOOKS.is_dir():
        pytest.skip(f"the training books are not at {BOOKS}")
    tokens = []
    for book in sorted(BOOKS.glob("*.txt")):
        for line in book.read_text(encoding="utf-8").splitlines():
            words = lm.tokenize(line)
            if words:
                tokens += words + ["<eos>"]
    return tokens


def test_cold_text_parrots_the_books_and_hot_text_invents(bundled, books):
    lesson = _lesson("parrot-or-invent")
    grams = {tuple(books[i:i + 5]) for i in range(len(books) - 4)}

    def copied(g) -> float:  # the share of the text's five-word runs found in the books
        runs = [tuple(g.tokens[i:i + 5]) for i in range(len(g.tokens) - 4)]
        return sum(run in grams for run in runs) / len(runs)

    (cold,) = _texts(*bundled, lesson)
    (hot,) = _texts(*bundled, lesson, **lesson.try_next)
    assert lesson.temperatures[0] < 0.5 < 1 < lesson.try_next["temperature"]
    assert copied(cold) >= 0.6 and copied(hot) <= 0.05  # most of it copied; next to none
    stream = " " + " ".join(books) + " "
    *parroted, invented = (" ".join(_words(q)) for q in _quotes(lesson.notice))
    assert all(stream.count(f" {phrase} ") >= 2 for phrase in parroted)  # "read again and again"
    assert f" {invented} " not in stream  # "nowhere in the books"


def test_measured_cold_text_parrots_and_loops_and_hot_text_is_word_salad(bundled):
    """Lesson 6's numbers, from the Whole texts tab's own measures of its texts."""
    model, vocab = bundled
    lesson = _lesson("measure-it")
    index = lm.load_ngram_index(BUNDLED, vocab)
    gens, n = _texts(*bundled, lesson), page_wholetext.SAMPLES
    cold, *_, hot = [view.TemperatureStats(t, [view.measure(g, vocab, index) for g in gens[i * n:(i + 1) * n]])
                     for i, t in enumerate(lesson.temperatures)]
    assert (cold.temperature, hot.temperature) == (0.25, 2.0)  # "at 0.25", "at 2"
    assert 0.7 <= cold.mean("copy_share") <= 0.9 and cold.mean("repeated") >= 0.05  # four in five; some repeat
    assert hot.mean("copy_share") <= 0.02  # almost none
    assert 4 <= cold.perplexity <= 6 and hot.perplexity > 10_000  # "from about 5 to over 10,000"
    assert lesson.prompt == _lesson("parrot-or-invent").prompt  # "Lesson 5's prompt"


# --------------------------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def served(bundled):
    demo = app.build_demo(*bundled, lm.model_info(BUNDLED))
    url = serve(demo)
    yield Client(url, verbose=False), url
    demo.close()


def _error(client, *args, api_name) -> str:
    with pytest.raises(AppError) as caught:
        _call(client, *args, api_name=api_name)
    return str(caught.value)


@pytest.mark.parametrize("number", range(1, len(LESSONS) + 1))
def test_each_lesson_through_the_server_and_the_action_it_runs(served, bundled, number):
    client, _ = served
    lesson = LESSONS[number - 1]
    settings = _call(client, str(number), api_name="/lesson")
    assert settings == _call(client, lesson.id, api_name="/lesson") == json.loads(json.dumps(lesson.settings()))
    assert settings["notice"] == lesson.notice and settings["top_k"] == 0 and settings["stop_at_eos"] is False
    expected = _texts(*bundled, lesson)
    if settings["tab"] == "playground":  # what the lesson's button chains: Write, as the Playground sends it
        text, _, seed = _call(client, settings["prompt"], settings["temperatures"][0], settings["top_k"],
                              settings["top_p"], settings["new_tokens"], settings["seed"], settings["stop_at_eos"],
                              api_name="/generate")
        assert (text, seed) == (expected[0].text, str(lesson.seed))
    elif settings["tab"] == "side-by-side":  # Compare, with the lesson's four temperatures
        *texts, seed = _call(client, settings["prompt"], *settings["temperatures"], settings["new_tokens"],
                             settings["seed"], api_name="/compare")
        shown = [html.unescape(re.sub(r"<[^>]+>", "", t)) for t in texts]  # the columns' words, as read
        assert shown == [g.text for g in expected] and seed == str(lesson.seed)
    else:  # Write and measure, on the lesson's temperatures
        _, _, rows, texts, seed = _call(client, settings["prompt"], settings["temperatures"], settings["new_tokens"],
                                     settings["seed"], api_name="/whole_texts")
        n = page_wholetext.SAMPLES  # (this server was built without the n-gram index: no copy measure)
        stats = [view.TemperatureStats(t, [view.measure(g, bundled[1], None) for g in expected[i * n:(i + 1) * n]])
                 for i, t in enumerate(lesson.temperatures)]
        assert rows["data"] == view.stats_table(stats, False)[1] and seed == str(lesson.seed)
        assert texts == view.samples_html(stats, False)


def test_an_unknown_lesson_is_a_clear_error(served):
    client, _ = served
    assert "There is no lesson 'seven': choose 1 to 6" in _error(client, "seven", api_name="/lesson")


def test_the_lesson_buttons_fill_the_controls(bundled):
    """What a lesson's button sets, in-process: the shared prompt and seed, the tab, its controls (the Playground's
    top-p fold opens only for a lesson about top-p), and no other tab's."""
    import gradio as gr

    demo = app.build_demo(*bundled)
    fills = [fn for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "fill"]
    assert len(fills) == len(LESSONS)
    for fill, lesson in zip(fills, LESSONS):
        values = fill.fn()
        prompt, seed, box, notice, tabs = values[:5]
        assert (prompt, seed) == (lesson.prompt, str(lesson.seed)) and box.visible and lesson.notice in notice
        assert tabs.selected == lesson.tab
        assert len(fill.outputs) == len(values)
        if lesson.tab == "playground":
            assert list(values[5:10]) == [lesson.temperatures[0], 0, lesson.top_p, lesson.new_tokens, False]
        elif lesson.tab == "side-by-side":
            assert list(values[11:15]) == list(lesson.temperatures) and values[15] == lesson.new_tokens
        else:
            assert list(values[16:]) == [list(lesson.temperatures), lesson.new_tokens]
        touched = {i for i, v in enumerate(values[5:], 5) if not (isinstance(v, dict) and v == gr.skip())}
        mine = {"playground": range(5, 11), "side-by-side": range(11, 16), "whole-texts": range(16, 18)}[lesson.tab]
        assert set(range(mine.start, mine.stop - (lesson.tab == "playground"))) <= touched <= set(mine)  # others alone


def test_a_lesson_keeps_to_the_limits_a_class_set(bundled, monkeypatch):
    """WHOLE_TEXT_MAX_TOKENS and MAX_TEMPERATURE can be lowered for a class: a lesson's button then sets its tab's
    controls within them (a value past a slider's end would be refused), as the Playground's and the columns' do."""
    import page_lessons

    monkeypatch.setattr(page_lessons, "WHOLE_MAX_TOKENS", 40)
    monkeypatch.setattr(page_lessons, "MAX_TEMPERATURE", 1.5)
    n, lesson = next((n, x) for n, x in enumerate(LESSONS, 1) if x.tab == "whole-texts")
    assert lesson.new_tokens > 40 and max(lesson.temperatures) > 1.5
    temperatures, tokens = page_lessons._fill(n, lesson, {"temperatures": [None] * 4})()[-2:]
    assert tokens == 40 and temperatures == [t for t in lesson.temperatures if t <= 1.5]


# ----------------------------------------------------------------------------------------- the quiz
def _raw_quiz_new(url: str, prompt: str) -> str:
    """The new-puzzle answer exactly as the browser receives it (the event stream of /quiz_new)."""
    import httpx

    with httpx.Client(timeout=TIMEOUT) as http:
        event = http.post(f"{url}gradio_api/call/quiz_new", json={"data": [prompt]}).json()["event_id"]
        return http.get(f"{url}gradio_api/call/quiz_new/{event}").text


def test_a_new_puzzle_does_not_send_its_answer(served):
    _, url = served
    stream = _raw_quiz_new(url, "The lion was afraid, but")
    assert "event: complete" in stream
    text, choices, intro, bars, hidden = json.loads(stream.split("event: complete")[1].split("data:", 1)[1])
    assert text.startswith("The lion was afraid, but ") and len(lm.tokenize(text)) >= QUIZ["new_tokens"]
    assert sorted(value for _, value in choices["choices"]) == sorted(c.temperature for c in QUIZ_CHOICES)
    assert choices["value"] is None and bars is None and "Reveal" in intro
    assert hidden is None  # the gr.State's value stays on the server
    assert "seed" not in stream and "revealed" not in stream


def _answer(verdict: str) -> tuple[float, int]:
    m = re.search(r"temperature \*\*([\d.]+)\*\* \(.*?\), seed (\d+)\.", verdict)
    assert m, verdict
    return float(m.group(1)), int(m.group(2))


def test_quiz_reveals_right_and_wrong_answers_truthfully(served, bundled):
    client, _ = served
    prompt, seen = "The wizard looked at the map and said", set()
    for _ in range(40):  # guess 0.3 each time until it has been right and wrong ((2/3)**40 + (1/3)**40: never)
        text, _, intro, bars = _call(client, prompt, api_name="/quiz_new")
        verdict, bars = _call(client, 0.3, api_name="/quiz_reveal")
        temperature, seed = _answer(verdict)
        assert temperature in {c.temperature for c in QUIZ_CHOICES}
        assert all(f"T = {c.temperature:g} (entropy" in bars for c in QUIZ_CHOICES)  # the next-word bars at all three
        # The reveal tells the truth: that temperature and seed write exactly the puzzle's text.
        assert text == lm.generate(*bundled, prompt, QUIZ["new_tokens"], temperature=temperature, seed=seed,
                                   stop_at_eos=False).text
        right = temperature == 0.3
        assert verdict.startswith("**Right!**") == right
        assert verdict.startswith("**Not this time:** you picked 0.3.") == (not right)
        choice = next(c for c in QUIZ_CHOICES if c.temperature == temperature)
        assert choice.tell in verdict and QUIZ["how_to_tell"] in verdict
        seen.add(right)
        if seen == {True, False}:
            break
    assert seen == {True, False}


def test_quiz_mistakes_are_clear_messages(served):
    client, url = served
    fresh = Client(url, verbose=False)  # a new session: no puzzle yet
    assert "There is no puzzle yet: press New puzzle first." in _error(fresh, 1.0, api_name="/quiz_reveal")
    _call(client, "Dorothy said", api_name="/quiz_new")
    assert "Pick a temperature first, then press Reveal." in _error(client, None, api_name="/quiz_reveal")
    _call(client, 2.0, api_name="/quiz_reveal")
    assert "already revealed: press New puzzle" in _error(client, 2.0, api_name="/quiz_reveal")
    assert "is not in the list of choices" in _error(client, 7, api_name="/quiz_reveal")  # Gradio's own check


def test_quiz_choices_come_in_a_new_order(bundled):
    """The order of the choices is no hint: over 30 puzzles it changes (all-the-same has chance 6 * 6**-30)."""
    quiz = page_lessons.Quiz(*bundled)
    quiz._write = lambda prompt, temperature, seed: prompt  # no model work needed for the order
    orders = {tuple(v for _, v in quiz.new("Dorothy said")[1].choices) for _ in range(30)}
    answers = {quiz.new("Dorothy said")[4]["temperature"] for _ in range(30)}
    assert len(orders) > 1 and len(answers) > 1
