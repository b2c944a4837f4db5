"""What the page's buttons do: read the input (page_input), call `lm`, format the result (page_format).

The page's limits are here too, read once from assets/page/settings.json (which the static page in web/
reads as well) and from environment variables of the same names. app.py lays the page out around these.
"""

import gradio as gr

import lm
import lm.stepping
import page_format as fmt
from lm.batching import BatchEngine
from lm.stepping import next_step
from page_input import env_number, notice_prompt, read_prompt, read_seed, shown_to_user
from page_strip import inspector_html
from space_gpu import gpu, gpu_seconds

# ------------------------------------------------------------------------------------- limits
LIMITS = fmt.LIMITS  # from assets/page/settings.json, which the static page (web/) reads too
MAX_PROMPT_CHARS = env_number("MAX_PROMPT_CHARS", LIMITS["max_prompt_chars"])  # a few paragraphs; read once
MAX_NEW_TOKENS = env_number("MAX_NEW_TOKENS", LIMITS["max_new_tokens"])  # a page of text, a second or two on 2 CPUs
MAX_TEMPERATURE = env_number("MAX_TEMPERATURE", LIMITS["max_temperature"], float)  # past the classic sweep's 3.1415
MAX_TOP_K = env_number("MAX_TOP_K", LIMITS["max_top_k"])
MIN_TOP_P = LIMITS["min_top_p"]  # 0.01 keeps only the likeliest word: "top-p 0.01 equals greedy" can be shown
MAX_TOP_WORDS = env_number("MAX_TOP_WORDS", LIMITS["max_top_words"])  # bars per temperature in the plot
CONCURRENCY_LIMIT = env_number("CONCURRENCY_LIMIT", 2)  # model calls at once: one per CPU core here
MAX_QUEUE_SIZE = env_number("MAX_QUEUE_SIZE", 100)  # beyond this, new requests are told the queue is full
MAX_SESSIONS = env_number("MAX_SESSIONS", 200)  # Gradio's per-visitor state kept in memory (its default: 10,000)
CACHE_MAX_AGE = env_number("CACHE_MAX_AGE", 600)  # seconds: older temporary files are deleted, as often
TRIM_SECONDS = env_number("TRIM_SECONDS", 10)  # how often freed memory goes back to the system (page_server)
MODEL_QUEUE = {"concurrency_limit": CONCURRENCY_LIMIT, "concurrency_id": "model"}  # the events that run the model
WRITERS = env_number("WRITERS", 64)  # Write requests served at once, as rows of one batch (lm.batching)
# Seconds between a Write's streamed updates. Each update redraws the whole story in the browser (Gradio's HTML
# re-parses and compares all of it), so the page's work grows as words x updates: at 0.05 s, 300 words kept
# Chromium's main thread busy for most of the stream, and on a loaded machine the page fell behind the server.
# 0.1 s halves that and still shows words at 10 updates a second (bench/bench_stream.py).
STREAM_INTERVAL = env_number("STREAM_INTERVAL", 0.1, float)
NOTHING_WRITTEN = {  # why a Write shows only the prompt (both pages: export.py)
    "no_tokens": "Max new tokens is 0, so only the prompt is shown.",
    "paragraph_ended": "The first word drawn was the end of the paragraph, and Stop at the end of the paragraph is "
                       "on, so only the prompt is shown. Try another seed, or turn it off."}
GPU_SECONDS = gpu_seconds(MAX_NEW_TOKENS)  # ZeroGPU only: what one call may take, at most MAX_NEW_TOKENS steps

def read_word_index(word, count: int) -> int:
    """A clicked word's place (0-based) among `count` new words, checked."""
    try:
        i = int(word)
    except (TypeError, ValueError):
        raise ValueError(f"Word must be a whole number, got {word!r}.") from None
    if not 0 <= i < count:
        raise ValueError(f"Word must be from 1 to {count}, got {i + 1}.")
    return i


def _card(step) -> str:
    """The "inspect a word" card of one step (page_strip)."""
    return inspector_html(step, fmt.token_label(step.drawn.token, step.drawn.word))


def _top_p(p):
    return None if p is None or p >= 1.0 else p


# ------------------------------------------------------------------------------------- actions
class Actions:
    """What the page's buttons do, for one model: read the input, call lm, format the result."""

    def __init__(self, model, vocab):
        self.model, self.vocab = model, vocab
        # Every Write on the page is a row of one batched step (a class of 32 at once costs little more
        # than one student), and sends its words in chunks of at most one per STREAM_INTERVAL, not one per word.
        self.engine = BatchEngine(model, vocab, max_rows=WRITERS)

    # ZeroGPU (space_gpu.gpu; the identity everywhere else): each decorated call runs in a worker process
    # that ZeroGPU forks and lends a GPU for that call alone, and the call's arguments, `self` included,
    # are pickled into it. So there is no batch shared across requests there: the engine's thread would
    # step in this process, which has no GPU, and a thread started in a worker ends with its call. `self`
    # goes over as (model, vocab) and is rebuilt with an engine of its own, which steps this one request's
    # rows in the worker, on CUDA; ZeroGPU's queue shares the GPU between requests. A generator stays one:
    # what it yields in the worker is streamed to the page. `gpu` is outside `shown_to_user`, so a bad
    # value is already a gr.Error in the worker (ZeroGPU passes gr.Error through, and hides other errors).
    def __getstate__(self):  # a thread and a lock cannot be pickled
        return {"model": self.model, "vocab": self.vocab}

    def __setstate__(self, state):
        self.__init__(state["model"], state["vocab"])

    def _read(self, prompt, seed) -> tuple[str, int]:
        prompt, seed = read_prompt(prompt, MAX_PROMPT_CHARS), read_seed(seed)
        notice_prompt(prompt, self.vocab)
        return prompt, seed

    @gpu(duration=GPU_SECONDS)
    @shown_to_user
    def generate(self, prompt, temperature, top_k, top_p, max_new_tokens, seed, stop_at_eos=False):
        """Stream a continuation of `prompt`. Yields (text so far, its coloured words as HTML, seed used, and what
        was written, for "inspect a word": a gr.State, kept on the server). In a thread, as ZeroGPU runs it."""
        story, settings = self._begin_write(prompt, temperature, top_k, top_p, max_new_tokens, seed, stop_at_eos)
        for chunk in self.engine.chunks(**settings):
            yield story.update(chunk)
        if not story.tokens:  # no list came (a list is never empty)
            yield self._nothing_to_write(story, max_new_tokens)

    @shown_to_user
    async def write(self, prompt, temperature, top_k, top_p, max_new_tokens, seed, stop_at_eos=False):
        """`generate` on the server's event loop (lm.batching's achunks): the same updates, with no thread
        between the batch and the page. What the page's Write runs, but on ZeroGPU."""
        story, settings = self._begin_write(prompt, temperature, top_k, top_p, max_new_tokens, seed, stop_at_eos)
        async for chunk in self.engine.achunks(**settings):
            yield story.update(chunk)
        if not story.tokens:  # no list came (a list is never empty)
            yield self._nothing_to_write(story, max_new_tokens)

    def _begin_write(self, prompt, temperature, top_k, top_p, max_new_tokens, seed, stop_at_eos):
        """A Write's story (what the page shows and keeps of it) and its settings for the batch."""
        prompt, seed = self._read(prompt, seed)
        written = {"prompt": prompt, "seed": seed, "temperature": temperature, "top_k": top_k, "top_p": top_p}
        return fmt.StoryText(prompt, written), {**written, "max_new_tokens": max_new_tokens,
                                                "stop_at_eos": stop_at_eos, "interval": STREAM_INTERVAL}

    @staticmethod
    def _nothing_to_write(story, max_new_tokens):
        """The prompt alone, and why: a Write that drew no word still shows what was typed (a generator that
        yields nothing would leave the page's story as Gradio's None)."""
        # (else: stop_at_eos, and the first word drawn was the end of the paragraph)
        gr.Info(NOTHING_WRITTEN["no_tokens" if max_new_tokens == 0 else "paragraph_ended"])
        return story.update([])

    @gpu(duration=GPU_SECONDS)  # four rows, one batched step each
    @shown_to_user
    def compare(self, prompt, t1, t2, t3, t4, max_new_tokens, seed):
        """One batched sweep at four temperatures, on the same dice. Returns the four texts (as HTML whose words
        a click inspects), the seed used, and what was written (a gr.State, for "inspect a word")."""
        prompt, seed = self._read(prompt, seed)
        gens = lm.sweep(self.model, self.vocab, prompt, [t1, t2, t3, t4], max_new_tokens=max_new_tokens, seed=seed,
                        stop_at_eos=False)
        written = [{"prompt": prompt, "seed": seed, "temperature": g.temperature, "top_k": 0, "top_p": 1.0,
                    "tokens": g.tokens} for g in gens]
        return (*[fmt.column_html(g, i) for i, g in enumerate(gens)], str(seed), written)

    @gpu(duration=GPU_SECONDS)  # eleven rows, one batched step each
    @shown_to_user
    def notebook_preset(self, prompt, max_new_tokens, seed):
        """A classic sweep of eleven temperatures (lm.NOTEBOOK_TEMPERATURES) in one go, as a table."""
        prompt, seed = self._read(prompt, seed)
        gens = lm.sweep(self.model, self.vocab, prompt, list(lm.NOTEBOOK_TEMPERATURES), max_new_tokens=max_new_tokens,
                        seed=seed, stop_at_eos=False)
        return [[g.temperature, g.text] for g in gens], str(seed)

    @gpu(duration=gpu_seconds(MAX_NEW_TOKENS))
    @shown_to_user
    def inspect(self, written, where):
        """The draw behind a word of a text the page wrote. `written` is what generate kept of it (prompt, seed,
        temperature, top-k, top-p, tokens), or compare a list of those, one per column; `where` is "column:word",
        word 0 the first new word (or a plain word number for one text)."""
        col, _, word = str(where).rpartition(":")
        if isinstance(written, list):
            written = written[read_word_index(col or 0, len(written))] if written else None
        if not written or not written.get("tokens"):
            raise ValueError("Write a text first, then click one of its words.")
        i = read_word_index(word, len(written["tokens"]))
        return _card(next_step(self.model, self.vocab, written["prompt"], written["tokens"][:i], written["seed"],
                               written["temperature"], written.get("top_k") or None, _top_p(written.get("top_p"))))

    @gpu(duration=gpu_seconds(2 * MAX_NEW_TOKENS))
    @shown_to_user
    def inspect_word(self, prompt, temperature, top_k, top_p, seed, word):
        """The draw behind new word `word` (1 = the first) of the text Write makes with these settings: the
        distribution it was drawn from, its rank, its chance before and after temperature, where the dice fell."""
        prompt, seed = self._read(prompt, seed)
        i = read_word_index(word - 1 if isinstance(word, (int, float)) else word, MAX_NEW_TOKENS)
        gen = lm.generate(self.model, self.vocab, prompt, i + 1, temperature, top_k or None, _top_p(top_p), seed=seed,
                          stop_at_eos=False)
        return _card(lm.stepping.inspect(self.model, self.vocab, gen, i, top_k or None, _top_p(top_p)))

    @shown_to_user
    def distribution(self, prompt, temperatures, top_words, top_k=0, top_p=1.0):
        """Bars of the most likely next tokens at each temperature, their table and the entropies."""
        if not temperatures:
            raise ValueError("Choose at least one temperature.")
        prompt = read_prompt(prompt, MAX_PROMPT_CHARS)
        notice_prompt(prompt, self.vocab)
        dists = self._next_words(prompt, sorted(set(temperatures)), top_words, top_k, top_p)
        return (fmt.bars_html(dists, prompt, top_k, top_p), *fmt.distribution_tables(dists))

    # Only the model's part runs in ZeroGPU's worker (its results, lists of words and numbers, pickle); the
    # chart and the tables are made here. The prompt is read once: no words are written.
    @gpu(duration=gpu_seconds(0))
    @shown_to_user
    def _next_words(self, prompt, temperatures, top_words, top_k, top_p):
        return lm.next_token_distribution(self.model, self.vocab, prompt, temperatures, top=top_words, top_k=top_k,
                                          top_p=top_p)
