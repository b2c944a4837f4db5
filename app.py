"""The Gradio playground: see, hands-on, how sampling temperature changes generated text.

    python app.py                              # the bundled model in assets/oz-lstm
    python app.py --model runs/mine --port 8000
    LM_MODEL=user/oz-lstm python app.py        # a model on the Hugging Face Hub

This file lays out the page and formats results; all model work goes through `lm`. The model is
loaded only in `main()`; `build_demo(model, vocab)` builds the page, so tests can pass a tiny model.
"""

import argparse
import html
import json
import math
import os
import re
import sys
import unicodedata
from pathlib import Path

import gradio as gr

import lm
from lm.sampling import NOTEBOOK_TEMPERATURES, random_seed

DESCRIPTION = """\
# The temperature playground

A small language model (a word-level LSTM) has read some books and learned one thing: to guess the
next word. Type the start of a story and watch it carry on, one word at a time.
**Temperature** sets how adventurous its guesses are: low is safe and repetitive, high is
surprising, and very high is nonsense. The same **seed** with the same settings always gives the
same text, so a result can be shared and repeated.
"""

EXPLANATION = """\
### What the bars show

At every step the model gives **every word it knows a score**. The scores become probabilities
(they add up to 100%), and the next word is **drawn at random** with those chances, like pulling
a ticket from a hat in which the likely words have many tickets.

**Temperature divides every score before the draw** (probability ∝ e<sup>score / T</sup>):

- **Below 1 (cold):** the favourites get even more tickets. The text is safe and predictable, and
  often goes round in circles.
- **0 (greedy):** no draw at all: the model always takes its top word, so the same prompt always
  gives the same text.
- **Exactly 1:** the model's own probabilities, as it learned them.
- **Above 1 (hot):** the tickets are shared out more evenly, so rare words get a real chance.
  The text gets surprising, then turns into word salad.

**Entropy** measures how open the choice is, in bits: 0 bits means only one word can come next;
3 bits is as open as picking evenly among 8 words. Raising the temperature raises the entropy.

**Top-k** and **top-p** (in the Playground) throw away the long tail of unlikely words before the
draw, which keeps some variety without the nonsense.

**Try this:** pick a prompt, tick 0.25 and 2, and compare the bars. Then, in *Side by side*, run
the same prompt and seed at both temperatures and read the results aloud.
"""


# ------------------------------------------------------------------------------------- limits
def _env_number(name: str, default, kind=int):
    """A limit from the environment variable `name`, or `default`; a bad value stops at import."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise ValueError(f"environment variable {name} must be a positive {kind.__name__}, got {raw!r}")
    return value


MAX_PROMPT_CHARS = _env_number("MAX_PROMPT_CHARS", 1000)  # a few paragraphs; the prompt is read once
MAX_NEW_TOKENS = _env_number("MAX_NEW_TOKENS", 300)  # a page of text, a second or two on 2 CPU cores
MAX_TEMPERATURE = _env_number("MAX_TEMPERATURE", 3.0, float)  # above 3 every model writes word salad
MAX_TOP_K = _env_number("MAX_TOP_K", 200)
MAX_TOP_WORDS = _env_number("MAX_TOP_WORDS", 20)  # bars per temperature in the plot
MAX_PLOT_TEMPERATURES = 8  # groups of bars that stay readable
CONCURRENCY_LIMIT = _env_number("CONCURRENCY_LIMIT", 2)  # model calls at once: one per CPU core here
MAX_QUEUE_SIZE = _env_number("MAX_QUEUE_SIZE", 100)  # beyond this, new requests are told the queue is full
MAX_SEED = 2**32 - 1  # plenty for a classroom (lm takes up to 2**63 - 1); seeds travel as text anyway

DEFAULT_MODEL = Path(__file__).resolve().parent / "assets" / "oz-lstm"
PROMPTS_FILE = Path(__file__).resolve().parent / "assets" / "prompts.txt"
DEFAULT_PROMPT = "The lion was afraid, but"
DEFAULT_NEW_TOKENS = 60
SIDE_BY_SIDE_TEMPERATURES = (0.0, 0.5, 1.0, 1.5)  # greedy, cold, as learned, hot
PLOT_TEMPERATURE_CHOICES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
DEFAULT_PLOT_TEMPERATURES = [0.25, 1.0, 2.0]

# The colour of a generated word: how likely the model thought it was (before temperature).
PROB_BINS = [  # (lowest probability, label, colour), most likely first
    (0.30, "expected (30% or more)", "#4e9bd1"),
    (0.10, "plausible (10-30%)", "#8fd19e"),
    (0.01, "unusual (1-10%)", "#f6c453"),
    (0.00, "surprising (under 1%)", "#ef6f6c"),
]
COLOR_MAP = {label: colour for _, label, colour in PROB_BINS}

THEME = gr.themes.Default(primary_hue="orange", secondary_hue="blue")
CSS = """
.story textarea { font-size: 1.08rem !important; line-height: 1.55 !important; }
.story-colours { font-size: 1.05rem; line-height: 1.7; }
.column-text textarea { font-size: 0.98rem !important; line-height: 1.45 !important; }
#preset-table, #entropy-table, #probability-table { --font-mono: var(--font); }
#story-colours .token { padding: 0 2px !important; margin: 1px 1px !important; border-radius: 4px !important; }
#story-colours .legend-item { font-size: 0.85rem !important; }
"""


# ------------------------------------------------------------------------------ checking input
def user_error(message: str) -> gr.Error:
    """A message for the user; a mistake in the input is not worth a traceback in the server log."""
    return gr.Error(message, print_exception=False)


def _shown(value, limit: int = 40) -> str:
    """A user's value, short and HTML-safe, for an error message."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return html.escape(text, quote=False)


def _number(value, what: str, low: float, high: float, *, integer: bool = False, low_open: bool = False,
            hint: str = "") -> float | int:
    """A number in [low, high] (or (low, high]) from a raw payload: a JSON number or numeric text."""
    kind = "a whole number" if integer else "a number"
    bounds = f"more than {low:g} and at most {high:g}" if low_open else f"from {low:g} to {high:g}"
    message = f"{what} must be {kind} {bounds}{hint}; got {{}}."
    x = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        x = float(value)
    elif isinstance(value, str) and len(value) < 40:
        try:
            x = float(value.strip())
        except ValueError:
            pass
    if x is None or not math.isfinite(x) or (integer and not x.is_integer()):
        raise user_error(message.format(_shown(value)))
    if x < low or x > high or (low_open and x == low):
        raise user_error(message.format(_shown(value)))
    return int(x) if integer else x


def check_temperature(value) -> float:
    return _number(value, "Temperature", 0.0, MAX_TEMPERATURE, hint=" (0 = greedy)")


def check_top_k(value) -> int:
    return _number(value, "Top-k", 0, MAX_TOP_K, integer=True, hint=" (0 = off)")


def check_top_p(value) -> float:
    return _number(value, "Top-p", 0.0, 1.0, low_open=True, hint=" (1 = off)")


def check_max_new_tokens(value) -> int:
    return _number(value, "Max new tokens", 0, MAX_NEW_TOKENS, integer=True)


def check_seed(value) -> int:
    """Blank (or None) draws a fresh random seed; otherwise a whole number in [0, MAX_SEED]."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return random_seed()
    seed = None
    if isinstance(value, int) and not isinstance(value, bool):
        seed = value
    elif isinstance(value, float) and value.is_integer():
        seed = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,12}\s*", value):
        seed = int(value)
    if seed is None or not 0 <= seed <= MAX_SEED:
        raise user_error(f"Seed must be a whole number from 0 to {MAX_SEED}, or blank for a random one; "
                       f"got {_shown(value)}.")
    return seed


def check_prompt(value) -> str:
    """The prompt as text, under the length cap, with control characters turned into spaces.

    An empty prompt is allowed: the model then starts a new line of its own (lm feeds `<eos>`
    before every prompt, as every line in training started after one).
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise user_error(f"The prompt must be text; got {_shown(value)}.")
    if len(value) > MAX_PROMPT_CHARS:
        raise user_error(f"The prompt is {len(value):,} characters long; the limit is {MAX_PROMPT_CHARS:,} "
                       "characters (MAX_PROMPT_CHARS). Please shorten it.")
    # Control characters (and lone surrogates, which cannot be sent back as UTF-8) become spaces;
    # line breaks and tabs are whitespace to the tokenizer anyway.
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in value)


def check_temperature_list(value) -> list[float]:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise user_error("Choose at least one temperature.")
    if len(value) > MAX_PLOT_TEMPERATURES:
        raise user_error(f"Choose at most {MAX_PLOT_TEMPERATURES} temperatures; got {len(value)}.")
    return sorted({check_temperature(t) for t in value})


def notice_prompt(prompt: str, vocab) -> list[str]:
    """Tell the user about an empty prompt or words the model does not know; return those words."""
    words = lm.tokenize(prompt)
    if not words:
        gr.Info("The prompt is empty, so the model starts a new line of its own.")
        return []
    unknown = list(dict.fromkeys(w for w in words if w not in vocab))
    if unknown:
        shown = ", ".join(f"“{html.escape(w if len(w) <= 30 else w[:27] + '...')}”" for w in unknown[:8])
        shown += " ..." if len(unknown) > 8 else ""
        if len(unknown) == len(set(words)):
            gr.Warning(f"The model knows none of the words in the prompt ({shown}). It reads each one as "
                       "&lt;unk&gt; (unknown), so it is writing almost from scratch.")
        else:
            gr.Warning(f"The model does not know {len(unknown)} word(s) of the prompt: {shown}. "
                       "It reads them as &lt;unk&gt; (unknown).")
    return unknown


# ---------------------------------------------------------------------------------- formatting
def prob_label(prob: float) -> str:
    """The colour-legend label of a probability: 0.5 -> 'expected (30% or more)'."""
    for low, label, _ in PROB_BINS:
        if prob >= low:
            return label
    return PROB_BINS[-1][1]


class StoryText:
    """Readable text grown one token at a time, and each token's piece of it for colouring.

    detokenize(t[:i]) is always a prefix of detokenize(t[:i + 1]) (spacing and capitals depend
    only on earlier tokens), so a token's piece is what it adds:
    ['the', 'lion'] + [','] -> 'The lion' + ','.
    """

    def __init__(self, prompt_tokens: list[str]):
        self.tokens = list(prompt_tokens)
        self.text = lm.detokenize(self.tokens)
        self.spans: list[tuple[str, str | None]] = [(self.text, None)] if self.text else []

    def add(self, token: str, prob: float) -> None:
        self.tokens.append(token)
        new = lm.detokenize(self.tokens)
        piece = new[len(self.text):] if new.startswith(self.text) else " " + token
        self.text = new if new.startswith(self.text) else self.text + piece
        self.spans.append((piece, None if piece.isspace() else prob_label(prob)))


def seed_text(seed: int) -> str:
    return str(seed)


def format_number(x, digits: int = 2) -> str:
    if x is None:
        return "unknown"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:,.{digits}f}"


def token_label(token: str) -> str:
    return "↵ (new line)" if token == lm.sampling.EOS else token


def _plain(text: str) -> str:
    """Text for matplotlib, which would read `$...$` as a formula (and fail on a bad one)."""
    return text.replace("$", r"\$")


def distribution_figure(dists, prompt: str):
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
    words = prompt.split()
    tail = " ".join(words[-8:])
    shown = ("... " if len(words) > 8 else "") + tail if tail else "(a new line)"
    ax.set_title(f"What might come after “{_plain(shown)}”", fontsize=12, loc="left")
    ax.legend(frameon=False, fontsize=10)
    return fig


# ---------------------------------------------------------------------------------- model facts
def _model_files(source) -> dict[str, Path]:
    """Paths of the optional files of a model folder (or a Hub repo's cached copy); missing ones left out."""
    names = ("training_results.json", "README.md", "config.json", "training_curve.png")
    if source is None:
        return {}
    folder = Path(str(source)).expanduser()
    if folder.is_dir():
        return {n: folder / n for n in names if (folder / n).is_file()}
    found = {}
    try:  # a Hub repo: lm downloaded the weights; the facts are extra files, fetched if reachable
        from huggingface_hub import hf_hub_download

        for n in names:
            try:
                found[n] = Path(hf_hub_download(str(source), n))
            except Exception:  # offline, or the repo has no such file
                pass
    except ImportError:
        pass
    return found


def _parse_card(text: str) -> dict:
    """Facts from a model card written by lm.card: its results table and dataset line."""
    facts = {}
    m = re.search(r"trained with `train\.py`.*?on\s+\*\*(.+?)\*\*", text, re.S)
    if m:
        facts["dataset"] = m.group(1).strip()
    rows = dict(re.findall(r"^\|\s*([^|`]+?)\s*\|\s*([^|]+?)\s*\|\s*$", text, re.M))

    def num(key, kind):
        value = rows.get(key, "")
        m = re.match(r"[0-9][0-9,]*(\.[0-9]+)?", value)
        return kind(m.group(0).replace(",", "")) if m else None

    facts["parameters"] = num("parameters", int)
    facts["vocab_size"] = num("vocabulary", int)
    facts["test_ppl"] = num("test perplexity (best weights)", float)
    facts["best_valid_ppl"] = num("best validation perplexity", float)
    return {k: v for k, v in facts.items() if v is not None}


def read_model_info(source=None, model=None, vocab=None) -> dict:
    """What the Model tab shows. Each fact from training_results.json if the folder has one, else
    from the model card (README.md), else from config.json or the loaded model, else None."""
    files = _model_files(source)
    info = {"model": None, "dataset": None, "parameters": None, "vocab_size": None, "test_ppl": None,
            "best_valid_ppl": None, "architecture": None}
    if source is not None:
        path = Path(str(source)).resolve()
        try:
            info["model"] = str(path.relative_to(Path(__file__).resolve().parent))
        except ValueError:
            info["model"] = str(source)
    sources = []
    if "training_results.json" in files:
        try:
            results = json.loads(files["training_results.json"].read_text())
            if isinstance(results, dict):
                train_config = results.get("train_config") or {}
                sources.append({"parameters": results.get("parameters"), "vocab_size": results.get("vocab_size"),
                                "test_ppl": results.get("test_ppl"), "best_valid_ppl": results.get("best_valid_ppl"),
                                "dataset": results.get("dataset_name") or (
                                    train_config.get("dataset") if isinstance(train_config, dict) else None)})
        except (OSError, ValueError):
            pass
    if "README.md" in files:
        try:
            sources.append(_parse_card(files["README.md"].read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            pass
    if "config.json" in files:
        try:
            config = json.loads(files["config.json"].read_text())
            if isinstance(config, dict):
                sources.append({"vocab_size": config.get("vocab_size")})
        except (OSError, ValueError):
            pass
    if model is not None:
        sources.append({"parameters": model.num_parameters()})
        config = model.config_dict()
        layers = config.get("num_layers")
        info["architecture"] = (f"{layers}-layer LSTM, {config.get('emb_dim')}-wide word vectors, "
                                f"{config.get('hid_dim')} hidden units"
                                + (", tied input/output weights" if config.get("tie_weights") else ""))
    if vocab is not None:
        sources.append({"vocab_size": len(vocab)})
    for key in ("dataset", "parameters", "vocab_size", "test_ppl", "best_valid_ppl"):
        for facts in sources:
            if facts.get(key) is not None:
                info[key] = facts[key]
                break
    if "training_curve.png" in files:
        info["training_curve"] = str(files["training_curve.png"])
    return info


def model_markdown(info: dict) -> str:
    unknown = "unknown"
    ppl = info.get("test_ppl")
    rows = [
        ("Model", f"`{info['model']}`" if info.get("model") else unknown),
        ("Trained on", f"`{info['dataset']}`" if info.get("dataset") else unknown),
        ("Architecture", info.get("architecture") or unknown),
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


def load_prompts(path=PROMPTS_FILE) -> list[str]:
    """Example prompts, one a line; blank lines and lines starting with # are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")][:50]


# ------------------------------------------------------------------------------------- the page
def build_demo(model, vocab, model_info: dict | None = None) -> gr.Blocks:
    """The whole page for `model` and `vocab`; nothing is loaded here."""
    info = model_info or read_model_info(None, model, vocab)
    # lm's sampling saves and restores model.training around each call; if the shared model started
    # in training mode, concurrent calls could restore it mid-way through another's. Eval once here.
    model.eval()

    def model_call(fn, *args, **kwargs):
        try:
            return fn(model, vocab, *args, **kwargs)
        except ValueError as e:  # lm names the bad argument
            raise user_error(html.escape(str(e), quote=False)) from None

    # ------------------------------------------------------------------------------ handlers
    def generate(prompt, temperature, top_k, top_p, max_new_tokens, seed):
        """Stream a continuation of `prompt`. Yields (text so far, coloured tokens, seed used)."""
        prompt = check_prompt(prompt)
        temperature, top_k, top_p = check_temperature(temperature), check_top_k(top_k), check_top_p(top_p)
        max_new_tokens, seed = check_max_new_tokens(max_new_tokens), check_seed(seed)
        notice_prompt(prompt, vocab)
        story = StoryText(lm.tokenize(prompt))
        tokens = model_call(lm.stream, prompt, max_new_tokens=max_new_tokens, temperature=temperature,
                            top_k=top_k or None, top_p=top_p if top_p < 1 else None, seed=seed, stop_at_eos=False)
        try:
            for item in tokens:
                story.add(item.token, item.prob)
                yield story.text, list(story.spans), seed_text(seed)
        except ValueError as e:
            raise user_error(html.escape(str(e), quote=False)) from None
        if max_new_tokens == 0:
            gr.Info("Max new tokens is 0, so only the prompt is shown.")
            yield story.text, story.spans, seed_text(seed)

    def compare(prompt, t1, t2, t3, t4, max_new_tokens, seed):
        """One batched sweep at four temperatures. Returns four texts and the seed used."""
        prompt = check_prompt(prompt)
        temps = [check_temperature(t) for t in (t1, t2, t3, t4)]
        max_new_tokens, seed = check_max_new_tokens(max_new_tokens), check_seed(seed)
        notice_prompt(prompt, vocab)
        gens = model_call(lm.sweep, prompt, temps, max_new_tokens=max_new_tokens, seed=seed, stop_at_eos=False)
        return (*[g.text for g in gens], seed_text(seed))

    def notebook_preset(prompt, max_new_tokens, seed):
        """The reference notebook's eleven temperatures in one sweep, as a table."""
        prompt = check_prompt(prompt)
        max_new_tokens, seed = check_max_new_tokens(max_new_tokens), check_seed(seed)
        notice_prompt(prompt, vocab)
        gens = model_call(lm.sweep, prompt, list(NOTEBOOK_TEMPERATURES), max_new_tokens=max_new_tokens, seed=seed,
                          stop_at_eos=False)
        return [[g.temperature, g.text] for g in gens], seed_text(seed)

    def distribution(prompt, temperatures, top_words):
        """Bars of the most likely next tokens at each temperature, their table and the entropies."""
        prompt = check_prompt(prompt)
        temps = check_temperature_list(temperatures)
        top_words = _number(top_words, "Number of words", 1, MAX_TOP_WORDS, integer=True)
        notice_prompt(prompt, vocab)
        dists = model_call(lm.next_token_distribution, prompt, temps, top=top_words)
        headers = ["next word"] + [f"T = {d.temperature:g} (%)" for d in dists]
        rows = [[token_label(tok)] + [round(100 * d.probs[i], 2) for d in dists]
                for i, tok in enumerate(dists[0].tokens)]
        entropy = [[d.temperature, round(d.entropy, 3), round(2 ** d.entropy, 1)] for d in dists]
        shown_prompt = " ".join(lm.detokenize(lm.tokenize(prompt)).split())
        import pandas as pd  # gradio depends on it; a DataFrame carries the per-temperature headers

        return distribution_figure(dists, shown_prompt), pd.DataFrame(rows, columns=headers), entropy

    def model_facts() -> dict:
        """Which model is loaded: source, dataset, parameter count, vocabulary size, perplexities."""
        return {k: v for k, v in info.items() if k != "training_curve"}

    # -------------------------------------------------------------------------------- layout
    model_line = (f"Loaded model: **{html.escape(str(info.get('model') or 'unnamed'))}**"
                  + (f", trained on **{html.escape(str(info['dataset']))}**" if info.get("dataset") else "")
                  + ". Details in the *Model* tab.")
    with gr.Blocks(title="Temperature playground") as demo:
        gr.Markdown(DESCRIPTION + "\n" + model_line)
        with gr.Row(equal_height=True):
            prompt = gr.Textbox(label="Prompt: the start of a story", value=DEFAULT_PROMPT, lines=2, max_lines=6,
                                max_length=MAX_PROMPT_CHARS, scale=4, elem_id="prompt",
                                placeholder="Type the start of a story (empty = the model starts a new line)")
            seed = gr.Textbox(label="Seed (blank = random)", value="", max_lines=1, scale=1, min_width=150,
                              elem_id="seed", placeholder="e.g. 42")
        examples = load_prompts()
        if examples:
            gr.Examples(examples=[[p] for p in examples], inputs=[prompt], label="Example prompts (click one)",
                        cache_examples=False, examples_per_page=len(examples))

        with gr.Tabs():
            with gr.Tab("Playground", id="playground"):
                with gr.Row():
                    with gr.Column(scale=1, min_width=260):
                        temperature = gr.Slider(0, MAX_TEMPERATURE, value=min(0.8, MAX_TEMPERATURE), step=0.05,
                                                label="Temperature",
                                                info="0 = greedy (always the most likely word); "
                                                     "higher = more surprising", elem_id="temperature")
                        max_tokens = gr.Slider(0, MAX_NEW_TOKENS, value=min(DEFAULT_NEW_TOKENS, MAX_NEW_TOKENS), step=1,
                                               label="New tokens", info="words and punctuation marks to write")
                        with gr.Accordion("Top-k and top-p: cut off unlikely words", open=False):
                            top_k = gr.Slider(0, MAX_TOP_K, value=0, step=1, label="Top-k",
                                              info="0 = off; else draw only from the k most likely words")
                            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p",
                                              info="1 = off; else draw only from the likeliest words that "
                                                   "together have this much probability")
                        go = gr.Button("Write", variant="primary", elem_id="generate-button")
                        seed_used = gr.Textbox(label="Seed used: type it into Seed to get this text again",
                                               interactive=False, max_lines=1, elem_id="seed-used")
                    with gr.Column(scale=3):
                        story = gr.Textbox(label="The story, as the model writes it", lines=9, max_lines=20,
                                           interactive=False, autoscroll=True, elem_id="story",
                                           elem_classes=["story"], buttons=["copy"])
                        colours = gr.HighlightedText(
                            label="Each new word coloured by how likely the model thought it was (before temperature)",
                            color_map=COLOR_MAP, show_legend=True, combine_adjacent=False, elem_id="story-colours",
                            elem_classes=["story-colours"])
                gr.on([go.click], generate, inputs=[prompt, temperature, top_k, top_p, max_tokens, seed],
                      outputs=[story, colours, seed_used], api_name="generate", preprocess=False,
                      concurrency_limit=CONCURRENCY_LIMIT, concurrency_id="model", show_progress="minimal")

            with gr.Tab("Side by side", id="side-by-side"):
                gr.Markdown("The same prompt and the same seed at four temperatures, all written in one go. "
                            "Only the temperature differs between the columns (top-k and top-p are off).")
                with gr.Row():
                    column_temps, column_texts = [], []
                    for i, t in enumerate(SIDE_BY_SIDE_TEMPERATURES):
                        with gr.Column(min_width=200):
                            column_temps.append(gr.Slider(0, MAX_TEMPERATURE, value=min(t, MAX_TEMPERATURE), step=0.05,
                                                          label="Temperature", elem_id=f"column-temperature-{i}"))
                            column_texts.append(gr.Textbox(label=f"Text {i + 1}", show_label=False, lines=10,
                                                           max_lines=16,
                                                           interactive=False, elem_id=f"column-text-{i}",
                                                           elem_classes=["column-text"]))
                with gr.Row(equal_height=True):
                    compare_tokens = gr.Slider(0, MAX_NEW_TOKENS, value=min(40, MAX_NEW_TOKENS), step=1, scale=3,
                                               label="New tokens per column")
                    compare_button = gr.Button("Compare temperatures", variant="primary", scale=1,
                                               elem_id="compare-button")
                    compare_seed = gr.Textbox(label="Seed used", interactive=False, max_lines=1, scale=1,
                                              elem_id="compare-seed")
                gr.on([compare_button.click], compare,
                      inputs=[prompt, *column_temps, compare_tokens, seed], outputs=[*column_texts, compare_seed],
                      api_name="compare", preprocess=False, concurrency_limit=CONCURRENCY_LIMIT,
                      concurrency_id="model")
                gr.Markdown("#### The notebook's eleven temperatures\nThe reference notebook tried these "
                            "temperatures: " + ", ".join(f"{t:g}" for t in NOTEBOOK_TEMPERATURES) + ".")
                preset_button = gr.Button("Run all eleven", elem_id="preset-button")
                preset_table = gr.Dataframe(headers=["temperature", "text"], datatype=["number", "str"],
                                            interactive=False, wrap=True, column_widths=["12%", "88%"], max_height=1200,
                                            elem_id="preset-table", label="Eleven temperatures, same prompt, same seed")
                preset_seed = gr.Textbox(label="Seed used", interactive=False, max_lines=1, elem_id="preset-seed")
                gr.on([preset_button.click], notebook_preset, inputs=[prompt, compare_tokens, seed],
                      outputs=[preset_table, preset_seed], api_name="notebook_preset", preprocess=False,
                      concurrency_limit=CONCURRENCY_LIMIT, concurrency_id="model")

            with gr.Tab("How temperature works", id="how") as how_tab:
                with gr.Row(equal_height=True):
                    plot_temps = gr.CheckboxGroup(
                        choices=[("0 (greedy)" if t == 0 else f"{t:g}", t) for t in PLOT_TEMPERATURE_CHOICES
                                 if t <= MAX_TEMPERATURE],
                        value=[t for t in DEFAULT_PLOT_TEMPERATURES if t <= MAX_TEMPERATURE],
                        label="Temperatures to compare", scale=3, elem_id="plot-temperatures")
                    top_words = gr.Slider(1, MAX_TOP_WORDS, value=min(10, MAX_TOP_WORDS), step=1, label="Words to show",
                                          scale=1)
                    show_button = gr.Button("Show the next-word chances", variant="primary", scale=1,
                                            elem_id="distribution-button")
                plot = gr.Plot(label="The model's chances for the next word", show_label=False,
                               elem_id="distribution-plot")
                with gr.Row():
                    with gr.Column(scale=3):
                        gr.Markdown(EXPLANATION)
                    with gr.Column(scale=2):
                        entropy_table = gr.Dataframe(
                            headers=["temperature", "entropy (bits)", "like picking evenly among N words"],
                            datatype=["number", "number", "number"], interactive=False, wrap=True,
                            column_widths=["28%", "28%", "44%"],
                            label="Entropy: how open the choice is", elem_id="entropy-table")
                        prob_table = gr.Dataframe(interactive=False, label="The bars as numbers",
                                                  elem_id="probability-table")
                gr.on([show_button.click, how_tab.select, plot_temps.input, top_words.release], distribution,
                      inputs=[prompt, plot_temps, top_words], outputs=[plot, prob_table, entropy_table],
                      api_name="distribution", preprocess=False, concurrency_limit=CONCURRENCY_LIMIT,
                      concurrency_id="model", trigger_mode="always_last")

            with gr.Tab("Model", id="model"):
                gr.Markdown(model_markdown(info), elem_id="model-info")
                curve = info.get("training_curve")
                if curve:
                    try:
                        from PIL import Image

                        with Image.open(curve) as im:
                            gr.Image(value=im.copy(), label="Training curve", interactive=False, height=380)
                    except Exception:  # a damaged or unreadable picture: the facts are enough
                        pass

        gr.api(model_facts, api_name="model_info")
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, share: bool = False, **kwargs):
    """Queue on, with this app's limits and look, then start the server."""
    demo.queue(max_size=MAX_QUEUE_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    return demo.launch(server_name=host, server_port=port, share=share, theme=THEME, css=CSS, **kwargs)


# ------------------------------------------------------------------------------------------ CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The temperature playground: a Gradio page for a word-level "
                                                 "LSTM language model.")
    parser.add_argument("--model", default=os.environ.get("LM_MODEL") or str(DEFAULT_MODEL),
                        help="local model folder (made by train.py) or Hugging Face Hub repo id; "
                             "default: $LM_MODEL, else the bundled assets/oz-lstm")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                        help="address to listen on; 0.0.0.0 for every network interface "
                             "(default: $GRADIO_SERVER_NAME, else 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT") or 7860),
                        help="port to listen on (default: $GRADIO_SERVER_PORT, else 7860)")
    parser.add_argument("--share", action="store_true",
                        help="also publish a temporary public *.gradio.live link (needs internet)")
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be in 0..65535, got {args.port}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        model, vocab = lm.load_pretrained(args.model)
    except (OSError, ValueError) as e:  # FileNotFoundError is an OSError
        message = " ".join(str(e).split())  # one line, whatever the underlying error printed
        sys.exit(f"app.py: error: cannot load the model {args.model!r}: {message} "
                 "(pass --model with a folder made by train.py, or a Hub repo id)")
    demo = build_demo(model, vocab, read_model_info(args.model, model, vocab))
    launch(demo, host=args.host, port=args.port, share=args.share)


if __name__ == "__main__":
    main()
