"""The Gradio playground: see, hands-on, how sampling temperature changes generated text.

    python app.py                              # the bundled model in assets/oz-lstm
    python app.py --model runs/mine --port 8000
    LM_MODEL=user/oz-lstm python app.py        # a model on the Hugging Face Hub

This file lays out the page and wires its events. What the buttons do, and the page's limits, are in
`page_actions`, which calls `lm` for all model work; `page_input` reads what Gradio's components cannot
check (the prompt, the seed) and words every error; `page_format` turns results into what the
components show; `page_link` puts the settings in the page's address; `page_theme` is its look; the long texts
are in assets/page/. The model is loaded only in `main()`, so tests can give `build_demo` a tiny one.
"""

import argparse
import os
import sys
from pathlib import Path

import gradio as gr

import lm
import page_format as fmt
from lm.batching import load_off_thread
from page_actions import (
    CACHE_MAX_AGE,
    CONCURRENCY_LIMIT,
    MAX_NEW_TOKENS,
    MAX_QUEUE_SIZE,
    MAX_SESSIONS,
    MAX_TEMPERATURE,
    MAX_TOP_K,
    MAX_TOP_WORDS,
    MIN_TOP_P,
    MODEL_QUEUE,
    TRIM_SECONDS,
    WRITERS,
    Actions,
)
from page_input import named_errors
from page_lessons import lesson_box, lessons_tab
from page_link import link_events
from page_sampler import sampler_tab
from page_server import steady_server
from page_strip import INSPECT_JS, inspect_on_click
from page_theme import CSS, JS, PAGE, THEME
from page_wholetext import WholeTexts, wholetext_tab
from space_gpu import device, on_zero_gpu

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "assets" / "oz-lstm"


# ------------------------------------------------------------------------------------- layout
# Defaults from assets/page/settings.json, which the static page (web/) reads too.
DEFAULT_PROMPT = fmt.SETTINGS["defaults"]["prompt"]
DEFAULT_NEW_TOKENS = fmt.SETTINGS["defaults"]["new_tokens"]
SIDE_BY_SIDE_TEMPERATURES = tuple(fmt.SETTINGS["side_by_side_temperatures"])  # greedy, cold, as learned, hot
PLOT_TEMPERATURE_CHOICES = tuple(t for t in fmt.SETTINGS["plot_temperature_choices"] if t <= MAX_TEMPERATURE)
DEFAULT_PLOT_TEMPERATURES = [t for t in fmt.SETTINGS["default_plot_temperatures"] if t <= MAX_TEMPERATURE]


# ------------------------------------------------------------------------------------- the page
def page_text(name: str) -> str:
    return (PAGE / f"{name}.md").read_text(encoding="utf-8")


def playground_tab(actions: Actions, prompt, seed) -> dict:
    # Write first, then Temperature: on a phone both and the story's start fit the first screen, and Write is
    # three Tab presses from the prompt (prompt -> seed -> this tab -> Write).
    with gr.Row(equal_height=True, elem_id="write-row"):
        go = gr.Button("Write", variant="primary", scale=1, min_width=120, elem_id="generate-button")
        temperature = gr.Slider(0, MAX_TEMPERATURE, value=min(0.8, MAX_TEMPERATURE), step=0.05, scale=4,
                                label="Temperature", elem_id="temperature",
                                info="0 = greedy (always the most likely word); higher = more surprising")
    with gr.Row(elem_id="playground-row"):  # the story before the other settings: on a phone it comes first
        with gr.Column(scale=3, elem_id="story-column"):
            story = gr.Textbox(label="The story, as the model writes it", lines=9, max_lines=20, interactive=False,
                               autoscroll=True, elem_id="story", elem_classes=["story"], buttons=["copy"])
            # Words as spans (page_format.word_html): each shows its probability and rank on hover and on
            # focus, never breaks inside, and is coloured by probability or rank with no server call.
            colours = gr.HTML(label="The story's words, coloured", show_label=False, js_on_load=INSPECT_JS,
                              elem_id="story-colours", elem_classes=["story-colours"])
            inspector = gr.HTML("", elem_id="story-inspector", js_on_load=None)
            colour_by = gr.Radio(list(fmt.COLOUR_MODES), value="probability", label="Colour by", elem_id="colour-by")
            gr.HTML(fmt.legend_html(), js_on_load=None, elem_id="colour-key")
            colour_by.change(None, inputs=colour_by, js="(mode) => { document.documentElement.dataset.colourBy = "
                             "{probability: 'prob', rank: 'rank'}[mode]; return []; }")
        with gr.Column(scale=1, min_width=260, elem_id="playground-settings"):
            max_tokens = gr.Slider(0, MAX_NEW_TOKENS, value=min(DEFAULT_NEW_TOKENS, MAX_NEW_TOKENS), step=1,
                                   precision=0, label="New tokens", info="words and punctuation marks to write",
                                   elem_id="new-tokens")
            with gr.Accordion("Top-k and top-p: cut off unlikely words", open=False) as cut:
                top_k = gr.Slider(0, MAX_TOP_K, value=0, step=1, precision=0, label="Top-k", elem_id="top-k",
                                  info="0 = off; else draw only from the k most likely words")
                top_p = gr.Slider(MIN_TOP_P, 1.0, value=1.0, step=0.01, label="Top-p", elem_id="top-p",
                                  info="1 = off; else draw only from the likeliest words that together have this "
                                       f"much probability ({MIN_TOP_P:g}: usually only the likeliest word, as greedy)")
            stop_at_eos = gr.Checkbox(False, label="Stop at the end of the paragraph", elem_id="stop-at-eos")
            seed_used = gr.Textbox(label="Seed used: type it into Seed to get this text again", interactive=False,
                                   max_lines=1, elem_id="seed-used")
    written = gr.State(None)  # what the last Write wrote, for "inspect a word" (kept on the server)
    inputs = [prompt, temperature, top_k, top_p, max_tokens, seed, stop_at_eos]
    outputs = [story, colours, seed_used, written]
    write = actions.generate if on_zero_gpu() else actions.write  # in a thread on ZeroGPU, else on the event loop
    # postprocess=False: its outputs are strings already (and the State), and Gradio would hand each of them to
    # a thread to be "postprocessed" (str() them, scan the HTML for <script>) at every update of every stream.
    go.click(write, inputs=inputs, outputs=outputs, api_name="generate", show_progress="minimal",
             concurrency_limit=WRITERS, concurrency_id="write", postprocess=False)
    inspect_on_click(colours, actions.inspect, written, inspector, **MODEL_QUEUE)

    def inspect_word(prompt: str, temperature: float, top_k: int, top_p: float, seed: str, word: int) -> str:
        """How new word `word` (1 = the first) of the text Write makes with these settings was drawn (HTML)."""
        return actions.inspect_word(prompt, temperature, top_k, top_p, seed, word)

    gr.api(inspect_word, api_name="inspect_word", **MODEL_QUEUE)
    # How temperature works draws top-k's and top-p's cut-off on its bars; a link (page_link) and a lesson
    # (page_lessons) set them all, and a lesson presses Write with write_inputs and write_outputs.
    return {"temperature": temperature, "top_k": top_k, "top_p": top_p, "new_tokens": max_tokens, "cut": cut,
            "stop_at_eos": stop_at_eos, "seed_used": seed_used, "write_inputs": inputs, "write_outputs": outputs}


def side_by_side_tab(actions: Actions, prompt, seed) -> dict:
    gr.Markdown("The same prompt and the same seed at four temperatures, all written in one go. **Same dice, "
                "different temperature:** at every word all four columns roll the same random number, so where "
                "they differ, the temperature alone made the difference (top-k and top-p are off). Click a word "
                "to see how it was drawn.", elem_id="same-dice")
    temperatures, texts = [], []
    with gr.Row(elem_id="columns"):  # style.css keeps two columns a row on a phone
        for i, t in enumerate(SIDE_BY_SIDE_TEMPERATURES):
            with gr.Column(min_width=200):
                temperatures.append(gr.Slider(0, MAX_TEMPERATURE, value=min(t, MAX_TEMPERATURE), step=0.05,
                                              label="Temperature", elem_id=f"column-temperature-{i}"))
                texts.append(gr.HTML("", label=f"Text {i + 1}", js_on_load=INSPECT_JS, elem_id=f"column-text-{i}",
                                     elem_classes=["column-text"], padding=False))
    with gr.Row(equal_height=True):
        tokens = gr.Slider(0, MAX_NEW_TOKENS, value=min(40, MAX_NEW_TOKENS), step=1, precision=0, scale=3,
                           label="New tokens per column", elem_id="compare-tokens")
        compare = gr.Button("Compare temperatures", variant="primary", scale=1, elem_id="compare-button")
        compare_seed = gr.Textbox(label="Seed used", interactive=False, max_lines=1, scale=1, elem_id="compare-seed")
    written = gr.State(None)  # the four texts as written, for "inspect a word"
    inspector = gr.HTML("", elem_id="columns-inspector", js_on_load=None)
    inputs, outputs = [prompt, *temperatures, tokens, seed], [*texts, compare_seed, written]
    compare.click(actions.compare, inputs=inputs, outputs=outputs, api_name="compare", **MODEL_QUEUE)
    for words in texts:
        inspect_on_click(words, actions.inspect, written, inspector, **MODEL_QUEUE)

    gr.Markdown("#### A classic sweep: eleven temperatures\nThe same prompt and seed at eleven temperatures, "
                "from very cold to beyond hot: "
                + ", ".join(f"{t:g}" for t in lm.NOTEBOOK_TEMPERATURES) + ".")
    preset = gr.Button("Run all eleven", elem_id="preset-button")
    table = gr.Dataframe(headers=["temperature", "text"], datatype=["number", "str"], interactive=False, wrap=True,
                         column_widths=["12%", "88%"], max_height=1200, elem_id="preset-table",
                         elem_classes=["page-table"], label="Eleven temperatures, same prompt, same seed")
    preset_seed = gr.Textbox(label="Seed used", interactive=False, max_lines=1, elem_id="preset-seed")
    preset.click(actions.notebook_preset, inputs=[prompt, tokens, seed], outputs=[table, preset_seed],
                 api_name="notebook_preset", **MODEL_QUEUE)
    return {"temperatures": temperatures, "compare_tokens": tokens, "compare_seed": compare_seed,  # for a link
            "compare_inputs": inputs, "compare_outputs": outputs}  # and a lesson


def how_tab(actions: Actions, prompt, tab: gr.Tab, cut: tuple) -> dict:
    with gr.Row(equal_height=True):
        choices = [("0 (greedy)" if t == 0 else f"{t:g}", t) for t in PLOT_TEMPERATURE_CHOICES]
        temperatures = gr.CheckboxGroup(choices=choices, value=DEFAULT_PLOT_TEMPERATURES, scale=3,
                                        label="Temperatures to compare", elem_id="plot-temperatures")
        top_words = gr.Slider(1, MAX_TOP_WORDS, value=min(10, MAX_TOP_WORDS), step=1, precision=0, scale=1,
                              label="Words to show")
        show = gr.Button("Show the next-word chances", variant="primary", scale=1, elem_id="distribution-button")
    plot = gr.HTML(label="The model's chances for the next word", elem_id="distribution-plot")
    with gr.Row():  # the wide table (a column per temperature) gets the wide column
        with gr.Column(scale=3):
            probabilities = gr.Dataframe(interactive=False, label="The bars as numbers", elem_id="probability-table",
                                         elem_classes=["page-table"])
        with gr.Column(scale=2):
            entropy = gr.Dataframe(headers=["temperature", "entropy (bits)", "like picking evenly among N words"],
                                   datatype=["number", "number", "str"], interactive=False, wrap=True,
                                   column_widths=["28%", "28%", "44%"], label="Entropy: how open the choice is",
                                   elem_id="entropy-table", elem_classes=["page-table"])
            gr.Markdown(page_text("explanation"), elem_id="explanation")
    gr.on([show.click, tab.select, temperatures.input, top_words.release], actions.distribution,
          inputs=[prompt, temperatures, top_words, *cut], outputs=[plot, probabilities, entropy],
          api_name="distribution", trigger_mode="always_last", **MODEL_QUEUE)
    return {"plot_temperatures": temperatures}  # for a link


def model_tab(info: dict) -> None:
    gr.Markdown(fmt.model_markdown(info), elem_id="model-info")
    if info.get("history"):  # a student's curve: perplexity per epoch (the card's curve adds the learning rate)
        for phone, name in [(False, "training-curve"), (True, "training-curve-phone")]:  # style.css shows one
            gr.Plot(fmt.training_figure(info["history"], phone), label="Training curve", show_label=False, elem_id=name)
    elif info.get("training_curve"):
        gr.Image(value=info["training_curve"], label="Training curve", interactive=False, height=380)
    facts = {k: v for k, v in info.items() if k not in ("history", "training_curve")}

    def model_info() -> dict:
        """Which model is loaded: name, dataset, parameters, vocabulary size, perplexities, architecture."""
        return facts

    gr.api(model_info, api_name="model_info")


def build_demo(model, vocab, info: dict | None = None, ngrams=None) -> gr.Blocks:
    """The whole page for `model` and `vocab`; `info` is `lm.model_info(source)` (facts left out: unknown);
    `ngrams` its training text's n-gram index (lm.load_ngram_index; None: the copy measure is left out)."""
    info = info or {}
    actions = Actions(model, vocab)
    with gr.Blocks(title="Temperature playground", delete_cache=(CACHE_MAX_AGE, CACHE_MAX_AGE)) as demo:
        gr.Markdown(page_text("description") + "\n" + fmt.model_line(info), elem_id="description")
        gr.Checkbox(False, label="Presentation mode: large type for a projector", container=False,
                    elem_id="presentation")  # page.js and style.css do the rest; no server call
        with gr.Row(equal_height=True, elem_id="prompt-row"):
            # No max_length: the browser would cut a pasted text silently; read_prompt cuts it and says so.
            prompt = gr.Textbox(label="Prompt: the start of a story", value=DEFAULT_PROMPT, lines=2, max_lines=6,
                                scale=4, elem_id="prompt",
                                placeholder="Type the start of a story (empty = the model starts a new line)")
            seed = gr.Textbox(label="Seed (blank = random)", value="", max_lines=1, scale=1, min_width=110,
                              elem_id="seed", placeholder="e.g. 42")
        box = lesson_box()  # a lesson's "what to notice", in sight on the tab it opens
        controls = {"prompt": prompt, "seed": seed}  # what a link sets (page_link)
        with gr.Tabs(overflow_behavior="wrap", elem_id="tabs") as tabs:  # every tab in sight on a phone
            with gr.Tab("Playground", id="playground"):
                playground = playground_tab(actions, prompt, seed)
            with gr.Tab("Side by side", id="side-by-side"):
                side_by_side = side_by_side_tab(actions, prompt, seed)
            controls |= playground | side_by_side
            with gr.Tab("Be the sampler", id="sampler"):
                sampler_tab(model, vocab, prompt, seed)
            with gr.Tab("How temperature works", id="how") as how:
                controls |= how_tab(actions, prompt, how, (controls["top_k"], controls["top_p"]))
            with gr.Tab("Whole texts", id="whole-texts"):
                whole_texts = wholetext_tab(WholeTexts(model, vocab, ngrams), prompt, seed)
            with gr.Tab("Lessons", id="lessons"):
                lessons_tab(actions, {"prompt": prompt, "seed": seed, "tabs": tabs, "lesson_box": box,
                                      "playground": playground, "side_by_side": side_by_side,
                                      "whole_texts": whole_texts})
            with gr.Tab("Model", id="model"):
                model_tab(info)
        with gr.Row(equal_height=True, elem_id="link-row"):  # after the tabs: on a phone, Write comes first
            copy = gr.Button("Copy link", scale=0, min_width=120, elem_id="copy-link-button")
            link_box = gr.Textbox(label="Link to these settings", interactive=False, lines=1, max_lines=3, scale=5,
                                  elem_id="share-link", buttons=["copy"],
                                  placeholder="Copy link puts this tab's settings here: opening the link runs them")
        examples = fmt.load_prompts()
        if examples:  # after the output: on a phone, the prompt, Write and the story come first
            with gr.Column(elem_id="examples"):
                gr.Examples(examples=[[p] for p in examples], inputs=[prompt], label="Example prompts (click one)",
                            cache_examples=False, examples_per_page=len(examples))
        link_events(demo, tabs, controls, copy, link_box)  # a link opens the page with its settings, and runs
    return named_errors(demo)


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, share: bool = False, **kwargs):
    """Queue on, with this app's limits and look, then start the server."""
    steady_server(TRIM_SECONDS)  # before demo.queue(), which reads Gradio's analytics settings
    demo.queue(max_size=MAX_QUEUE_SIZE, default_concurrency_limit=CONCURRENCY_LIMIT)
    options = {"state_session_capacity": MAX_SESSIONS, "max_file_size": 0, **kwargs}  # the page takes no uploads
    return demo.launch(server_name=host, server_port=port, share=share, theme=THEME, css=CSS, js=JS, **options)


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
        model, vocab = load_off_thread(lm.load_pretrained, args.model)  # not in this thread: see load_off_thread
        info = lm.model_info(args.model)
        ngrams = load_off_thread(lm.load_ngram_index, args.model, vocab)  # None when the folder has none
    except (OSError, ValueError) as e:  # FileNotFoundError is an OSError
        message = " ".join(str(e).split())  # one line, whatever the underlying error printed
        sys.exit(f"app.py: error: cannot load the model {args.model!r}: {message} "
                 "(pass --model with a folder made by train.py, or a Hub repo id)")
    model = model.to(device())  # "cuda" on ZeroGPU, at start-up as it expects (outside any GPU call); else "cpu"
    launch(build_demo(model, vocab, info, ngrams), host=args.host, port=args.port, share=args.share)


if __name__ == "__main__":
    main()
