"""The "Whole texts" tab: what temperature does to a whole text, measured on many samples at once.

For one prompt it writes SAMPLES texts at each chosen temperature, all rows of one batched `lm.sweep`
(sample i uses seed + i at every temperature: the texts differ, and the same seed gives them again),
then measures each (lm.textstats) and shows the measures against temperature, their table, and the
texts with the words copied from the training books highlighted (lm.ngrams). Without an index in the
model folder the copy measure is left out, and the page says so.

app.py calls `wholetext_tab(WholeTexts(model, vocab, index), prompt, seed)` inside its tab.
"""

import gradio as gr

import lm
import page_wholetext_view as view
from page_actions import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_TEMPERATURE, MODEL_QUEUE
from page_input import env_number, notice_prompt, read_prompt, read_seed, shown_to_user
from space_gpu import gpu, gpu_seconds

SAMPLES = env_number("WHOLE_TEXT_SAMPLES", 20)  # per temperature: enough for an average, 120 rows in one batch
# 100 tokens x 6 temperatures x 20 samples is ~1.5 s of batched steps on 2 CPUs for the bundled model.
MAX_TOKENS = env_number("WHOLE_TEXT_MAX_TOKENS", min(100, MAX_NEW_TOKENS))
DEFAULT_TOKENS = min(60, MAX_TOKENS)  # long enough for cold texts to start looping
TEMPERATURE_CHOICES = tuple(t for t in (0.0, 0.25, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0) if t <= MAX_TEMPERATURE)
DEFAULT_TEMPERATURES = [t for t in (0.25, 0.5, 0.8, 1.0, 1.5, 2.0) if t <= MAX_TEMPERATURE]
INTRO = (f"The same prompt, **{SAMPLES} texts at each temperature**, measured. Cold texts go round in loops and "
         "recite the books the model read; hot ones invent, then fall apart into word salad. Sample *i* uses "
         "seed + *i* at every temperature, so the same seed gives the same texts.")  # both pages (export.py)
NO_INDEX = "*This model has no n-gram index of its training text, so how much it copies is not shown.*"


def page_settings(render) -> dict:
    """The tab as the static page builds it (web/js/wholetext.js): its limits and choices, and its texts (the
    Markdown ones through `render`) and the figure's panels, from this page's own. With and without the copy
    measure: the page knows from its manifest whether the model has an n-gram index."""
    panels = [{"title": t, "ylabel": y, "series": [{"name": n, "label": label} for n, label in series]}
              for t, y, series in view.PANELS]
    return {"samples": SAMPLES, "max_tokens": MAX_TOKENS, "default_tokens": DEFAULT_TOKENS,
            "temperature_choices": list(TEMPERATURE_CHOICES), "default_temperatures": DEFAULT_TEMPERATURES,
            "intro": render(INTRO), "no_index": render(NO_INDEX), "legend": view.legend(True),
            "legend_no_index": view.legend(False), "title": view.figure_title(SAMPLES), "panels": panels,
            "headers": view.stats_table([], True)[0], "shown_samples": view.SHOWN_SAMPLES,
            "copied_style": view.COPIED_STYLE, "text_style": view.TEXT_STYLE}


class WholeTexts:
    """The tab's action for one model and its n-gram index (None: no copy measure)."""

    def __init__(self, model, vocab, index=None):
        if index is not None:
            index.check_vocab(vocab)  # an index of other ids would count nonsense: refuse it at start-up
        self.model, self.vocab, self.index = model, vocab, index

    @property
    def with_copies(self) -> bool:
        return self.index is not None

    @shown_to_user
    def run(self, prompt, temperatures, max_new_tokens, seed):
        """SAMPLES texts at each temperature: (figure, the figure for a phone, table rows, texts as HTML, seed)."""
        if not temperatures:
            raise ValueError("Choose at least one temperature.")
        prompt, seed = read_prompt(prompt, MAX_PROMPT_CHARS), read_seed(seed)
        notice_prompt(prompt, self.vocab)
        temps = sorted(set(temperatures))
        gens = self._write(prompt, temps, max_new_tokens, seed)
        stats = [view.TemperatureStats(t, [view.measure(g, self.vocab, self.index)
                                           for g in gens[i * SAMPLES:(i + 1) * SAMPLES]])
                 for i, t in enumerate(temps)]
        _, rows = view.stats_table(stats, self.with_copies)
        return (view.wholetext_figure(stats, self.with_copies, SAMPLES),
                view.wholetext_figure(stats, self.with_copies, SAMPLES, columns=1), rows,
                view.samples_html(stats, self.with_copies), str(seed))

    # Only the model's part runs in ZeroGPU's worker: generations pickle, a matplotlib figure does not.
    @gpu(duration=gpu_seconds(MAX_TOKENS))
    @shown_to_user
    def _write(self, prompt, temps, max_new_tokens, seed) -> list[lm.Generation]:
        rows = [t for t in temps for _ in range(SAMPLES)]  # temperature-major: row i * SAMPLES + j
        seeds = [seed + j for _ in temps for j in range(SAMPLES)]
        return lm.sweep(self.model, self.vocab, prompt, rows, max_new_tokens=max_new_tokens, seeds=seeds,
                        stop_at_eos=False)


def wholetext_tab(whole: WholeTexts, prompt, seed) -> dict:
    """The tab's controls and results, wired to `whole.run` as the API endpoint /whole_texts; returns what a
    lesson sets and runs (page_lessons)."""
    gr.Markdown(INTRO)
    with gr.Row(equal_height=True):
        choices = [("0 (greedy)" if t == 0 else f"{t:g}", t) for t in TEMPERATURE_CHOICES]
        temperatures = gr.CheckboxGroup(choices=choices, value=DEFAULT_TEMPERATURES, scale=3,
                                        label="Temperatures to measure", elem_id="whole-temperatures")
        tokens = gr.Slider(4, MAX_TOKENS, value=DEFAULT_TOKENS, step=1, precision=0, scale=2,
                           label="New tokens per text", elem_id="whole-tokens")
        go = gr.Button("Write and measure", variant="primary", scale=1, elem_id="whole-button")
    if not whole.with_copies:
        gr.Markdown(NO_INDEX, elem_id="whole-no-index")
    # The same figure twice, as a <picture> offers art for each screen: style.css shows the one for the screen.
    plot = gr.Plot(label="Measures against temperature", show_label=False, elem_id="whole-plot")
    phone_plot = gr.Plot(label="Measures against temperature", show_label=False, elem_id="whole-plot-phone")
    headers, _ = view.stats_table([], whole.with_copies)
    table = gr.Dataframe(headers=headers, interactive=False, wrap=True, label="The plot as numbers (averages)",
                         elem_id="whole-table", elem_classes=["page-table"])
    seed_used = gr.Textbox(label="Seed used", interactive=False, max_lines=1, elem_id="whole-seed")
    texts = gr.HTML(label="The texts", show_label=False, elem_id="whole-texts-html")
    inputs, outputs = [prompt, temperatures, tokens, seed], [plot, phone_plot, table, texts, seed_used]
    go.click(whole.run, inputs=inputs, outputs=outputs, api_name="whole_texts", **MODEL_QUEUE)
    return {"whole_temperatures": temperatures, "whole_tokens": tokens, "run": whole.run, "inputs": inputs,
            "outputs": outputs}
