"""The Gradio playground: see, hands-on, how sampling temperature changes generated text.

    python app.py                              # the bundled model in assets/oz-lstm
    python app.py --model runs/mine --port 8000
    LM_MODEL=user/oz-lstm python app.py        # a model on the Hugging Face Hub

This file lays out the page and wires its events. All model work and every model fact come from `lm`;
`page_input` reads what Gradio's components cannot check (the prompt, the seed) and words every error;
`page_format` turns results into what the components show; the long texts are in assets/page/. The
model is loaded only in `main()`, so tests can give `build_demo` a tiny one.
"""

import argparse
import os
import sys
from pathlib import Path

import gradio as gr

import lm
import page_format as fmt
from lm.batching import BatchEngine
from page_input import env_number, named_errors, notice_prompt, read_prompt, read_seed, shown_to_user

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "assets" / "oz-lstm"
PROMPTS_FILE = HERE / "assets" / "prompts.txt"
PAGE_TEXT = HERE / "assets" / "page"  # the page's long texts (markdown) and its style sheet


# ------------------------------------------------------------------------------------- limits
MAX_PROMPT_CHARS = env_number("MAX_PROMPT_CHARS", 1000)  # a few paragraphs; the prompt is read once
MAX_NEW_TOKENS = env_number("MAX_NEW_TOKENS", 300)  # a page of text, a second or two on 2 CPU cores
MAX_TEMPERATURE = env_number("MAX_TEMPERATURE", 3.0, float)  # above 3 every model writes word salad
MAX_TOP_K = env_number("MAX_TOP_K", 200)
MAX_TOP_WORDS = env_number("MAX_TOP_WORDS", 20)  # bars per temperature in the plot
CONCURRENCY_LIMIT = env_number("CONCURRENCY_LIMIT", 2)  # model calls at once: one per CPU core here
MAX_QUEUE_SIZE = env_number("MAX_QUEUE_SIZE", 100)  # beyond this, new requests are told the queue is full
MAX_SESSIONS = env_number("MAX_SESSIONS", 200)  # Gradio's per-visitor state kept in memory (its default: 10,000)
CACHE_MAX_AGE = env_number("CACHE_MAX_AGE", 600)  # seconds: older temporary files are deleted, as often
MODEL_QUEUE = {"concurrency_limit": CONCURRENCY_LIMIT, "concurrency_id": "model"}  # the events that run the model
WRITERS = env_number("WRITERS", 64)  # Write requests served at once, as rows of one batch (lm.batching)

DEFAULT_PROMPT = "The lion was afraid, but"
DEFAULT_NEW_TOKENS = 60
SIDE_BY_SIDE_TEMPERATURES = (0.0, 0.5, 1.0, 1.5)  # greedy, cold, as learned, hot
PLOT_TEMPERATURE_CHOICES = tuple(t for t in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0) if t <= MAX_TEMPERATURE)
DEFAULT_PLOT_TEMPERATURES = [t for t in (0.25, 1.0, 2.0) if t <= MAX_TEMPERATURE]

THEME = gr.themes.Default(primary_hue="orange", secondary_hue="blue")
CSS = (PAGE_TEXT / "style.css").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------- actions
class Actions:
    """What the page's buttons do, for one model: read the input, call lm, format the result."""

    def __init__(self, model, vocab):
        self.model, self.vocab = model, vocab
        # Every Write on the page is a row of one batched step (a class of 32 at once costs little more
        # than one student), and sends its words in chunks of at most one per 50 ms, not one per word.
        self.engine = BatchEngine(model, vocab, max_rows=WRITERS)

    def _read(self, prompt, seed) -> tuple[str, int]:
        prompt, seed = read_prompt(prompt, MAX_PROMPT_CHARS), read_seed(seed)
        notice_prompt(prompt, self.vocab)
        return prompt, seed

    @shown_to_user
    def generate(self, prompt, temperature, top_k, top_p, max_new_tokens, seed, stop_at_eos=False):
        """Stream a continuation of `prompt`. Yields (text so far, coloured tokens, seed used)."""
        prompt, seed = self._read(prompt, seed)
        story = fmt.StoryText(prompt)
        for chunk in self.engine.chunks(prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                                        top_p=top_p, seed=seed, stop_at_eos=stop_at_eos):
            for item in chunk:
                story.add(item)
            yield story.text, list(story.spans), str(seed)
        if max_new_tokens == 0:
            gr.Info("Max new tokens is 0, so only the prompt is shown.")
            yield story.text, story.spans, str(seed)

    @shown_to_user
    def compare(self, prompt, t1, t2, t3, t4, max_new_tokens, seed):
        """One batched sweep at four temperatures. Returns four texts and the seed used."""
        prompt, seed = self._read(prompt, seed)
        gens = lm.sweep(self.model, self.vocab, prompt, [t1, t2, t3, t4], max_new_tokens=max_new_tokens, seed=seed,
                        stop_at_eos=False)
        return (*[g.text for g in gens], str(seed))

    @shown_to_user
    def notebook_preset(self, prompt, max_new_tokens, seed):
        """The reference notebook's eleven temperatures in one sweep, as a table."""
        prompt, seed = self._read(prompt, seed)
        gens = lm.sweep(self.model, self.vocab, prompt, list(lm.NOTEBOOK_TEMPERATURES), max_new_tokens=max_new_tokens,
                        seed=seed, stop_at_eos=False)
        return [[g.temperature, g.text] for g in gens], str(seed)

    @shown_to_user
    def distribution(self, prompt, temperatures, top_words):
        """Bars of the most likely next tokens at each temperature, their table and the entropies."""
        if not temperatures:
            raise ValueError("Choose at least one temperature.")
        prompt = read_prompt(prompt, MAX_PROMPT_CHARS)
        notice_prompt(prompt, self.vocab)
        dists = lm.next_token_distribution(self.model, self.vocab, prompt, sorted(set(temperatures)), top=top_words)
        return (fmt.distribution_figure(dists, prompt), *fmt.distribution_tables(dists))


# ------------------------------------------------------------------------------------- the page
def load_prompts(path=PROMPTS_FILE) -> list[str]:
    """Example prompts, one a line; blank lines and lines starting with # are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")][:50]


def page_text(name: str) -> str:
    return (PAGE_TEXT / f"{name}.md").read_text(encoding="utf-8")


def playground_tab(actions: Actions, prompt, seed) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            temperature = gr.Slider(0, MAX_TEMPERATURE, value=min(0.8, MAX_TEMPERATURE), step=0.05,
                                    label="Temperature", elem_id="temperature",
                                    info="0 = greedy (always the most likely word); higher = more surprising")
            max_tokens = gr.Slider(0, MAX_NEW_TOKENS, value=min(DEFAULT_NEW_TOKENS, MAX_NEW_TOKENS), step=1,
                                   precision=0, label="New tokens", info="words and punctuation marks to write")
            with gr.Accordion("Top-k and top-p: cut off unlikely words", open=False):
                top_k = gr.Slider(0, MAX_TOP_K, value=0, step=1, precision=0, label="Top-k",
                                  info="0 = off; else draw only from the k most likely words")
                top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p",
                                  info="1 = off; else draw only from the likeliest words that together have this "
                                       "much probability")
            stop_at_eos = gr.Checkbox(False, label="Stop at the end of the paragraph", elem_id="stop-at-eos")
            go = gr.Button("Write", variant="primary", elem_id="generate-button")
            seed_used = gr.Textbox(label="Seed used: type it into Seed to get this text again", interactive=False,
                                   max_lines=1, elem_id="seed-used")
        with gr.Column(scale=3):
            story = gr.Textbox(label="The story, as the model writes it", lines=9, max_lines=20, interactive=False,
                               autoscroll=True, elem_id="story", elem_classes=["story"], buttons=["copy"])
            colours = gr.HighlightedText(
                label="Each new word coloured by how likely the model thought it was (before temperature)",
                color_map=fmt.COLOR_MAP, show_legend=True, combine_adjacent=False, elem_id="story-colours",
                elem_classes=["story-colours"])
    go.click(actions.generate, inputs=[prompt, temperature, top_k, top_p, max_tokens, seed, stop_at_eos],
             outputs=[story, colours, seed_used], api_name="generate", show_progress="minimal",
             concurrency_limit=WRITERS, concurrency_id="write")


def side_by_side_tab(actions: Actions, prompt, seed) -> None:
    gr.Markdown("The same prompt and the same seed at four temperatures, all written in one go. "
                "Only the temperature differs between the columns (top-k and top-p are off).")
    temperatures, texts = [], []
    with gr.Row():
        for i, t in enumerate(SIDE_BY_SIDE_TEMPERATURES):
            with gr.Column(min_width=200):
                temperatures.append(gr.Slider(0, MAX_TEMPERATURE, value=min(t, MAX_TEMPERATURE), step=0.05,
                                              label="Temperature", elem_id=f"column-temperature-{i}"))
                texts.append(gr.Textbox(label=f"Text {i + 1}", show_label=False, lines=10, max_lines=16,
                                        interactive=False, elem_id=f"column-text-{i}", elem_classes=["column-text"]))
    with gr.Row(equal_height=True):
        tokens = gr.Slider(0, MAX_NEW_TOKENS, value=min(40, MAX_NEW_TOKENS), step=1, precision=0, scale=3,
                           label="New tokens per column")
        compare = gr.Button("Compare temperatures", variant="primary", scale=1, elem_id="compare-button")
        compare_seed = gr.Textbox(label="Seed used", interactive=False, max_lines=1, scale=1, elem_id="compare-seed")
    compare.click(actions.compare, inputs=[prompt, *temperatures, tokens, seed], outputs=[*texts, compare_seed],
                  api_name="compare", **MODEL_QUEUE)

    gr.Markdown("#### The notebook's eleven temperatures\nThe reference notebook tried these temperatures: "
                + ", ".join(f"{t:g}" for t in lm.NOTEBOOK_TEMPERATURES) + ".")
    preset = gr.Button("Run all eleven", elem_id="preset-button")
    table = gr.Dataframe(headers=["temperature", "text"], datatype=["number", "str"], interactive=False, wrap=True,
                         column_widths=["12%", "88%"], max_height=1200, elem_id="preset-table",
                         label="Eleven temperatures, same prompt, same seed")
    preset_seed = gr.Textbox(label="Seed used", interactive=False, max_lines=1, elem_id="preset-seed")
    preset.click(actions.notebook_preset, inputs=[prompt, tokens, seed], outputs=[table, preset_seed],
                 api_name="notebook_preset", **MODEL_QUEUE)


def how_tab(actions: Actions, prompt, tab: gr.Tab) -> None:
    with gr.Row(equal_height=True):
        choices = [("0 (greedy)" if t == 0 else f"{t:g}", t) for t in PLOT_TEMPERATURE_CHOICES]
        temperatures = gr.CheckboxGroup(choices=choices, value=DEFAULT_PLOT_TEMPERATURES, scale=3,
                                        label="Temperatures to compare", elem_id="plot-temperatures")
        top_words = gr.Slider(1, MAX_TOP_WORDS, value=min(10, MAX_TOP_WORDS), step=1, precision=0, scale=1,
                              label="Words to show")
        show = gr.Button("Show the next-word chances", variant="primary", scale=1, elem_id="distribution-button")
    plot = gr.Plot(label="The model's chances for the next word", show_label=False, elem_id="distribution-plot")
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown(page_text("explanation"))
        with gr.Column(scale=2):
            entropy = gr.Dataframe(headers=["temperature", "entropy (bits)", "like picking evenly among N words"],
                                   datatype=["number", "number", "number"], interactive=False, wrap=True,
                                   column_widths=["28%", "28%", "44%"], label="Entropy: how open the choice is",
                                   elem_id="entropy-table")
            probabilities = gr.Dataframe(interactive=False, label="The bars as numbers", elem_id="probability-table")
    gr.on([show.click, tab.select, temperatures.input, top_words.release], actions.distribution,
          inputs=[prompt, temperatures, top_words], outputs=[plot, probabilities, entropy], api_name="distribution",
          trigger_mode="always_last", **MODEL_QUEUE)


def model_tab(info: dict) -> None:
    gr.Markdown(fmt.model_markdown(info), elem_id="model-info")
    if info.get("training_curve"):
        gr.Image(value=info["training_curve"], label="Training curve", interactive=False, height=380)
    facts = {k: v for k, v in info.items() if k not in ("history", "training_curve")}

    def model_info() -> dict:
        """Which model is loaded: name, dataset, parameters, vocabulary size, perplexities, architecture."""
        return facts

    gr.api(model_info, api_name="model_info")


def build_demo(model, vocab, info: dict | None = None) -> gr.Blocks:
    """The whole page for `model` and `vocab`; `info` is `lm.model_info(source)` (facts left out: unknown)."""
    info = info or {}
    actions = Actions(model, vocab)
    with gr.Blocks(title="Temperature playground", delete_cache=(CACHE_MAX_AGE, CACHE_MAX_AGE)) as demo:
        gr.Markdown(page_text("description") + "\n" + fmt.model_line(info))
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
                playground_tab(actions, prompt, seed)
            with gr.Tab("Side by side", id="side-by-side"):
                side_by_side_tab(actions, prompt, seed)
            with gr.Tab("How temperature works", id="how") as how:
                how_tab(actions, prompt, how)
            with gr.Tab("Model", id="model"):
                model_tab(info)
    return named_errors(demo)


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, share: bool = False, **kwargs):
    """Queue on, with this app's limits and look, then start the server."""
    demo.queue(max_size=MAX_QUEUE_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    options = {"state_session_capacity": MAX_SESSIONS, "max_file_size": 0, **kwargs}  # the page takes no uploads
    return demo.launch(server_name=host, server_port=port, share=share, theme=THEME, css=CSS, **options)


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
        info = lm.model_info(args.model)
    except (OSError, ValueError) as e:  # FileNotFoundError is an OSError
        message = " ".join(str(e).split())  # one line, whatever the underlying error printed
        sys.exit(f"app.py: error: cannot load the model {args.model!r}: {message} "
                 "(pass --model with a folder made by train.py, or a Hub repo id)")
    launch(build_demo(model, vocab, info), host=args.host, port=args.port, share=args.share)


if __name__ == "__main__":
    main()
