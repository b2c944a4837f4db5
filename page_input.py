"""What the playground reads from its users, and how it tells them what was wrong.

Numbers come from sliders and the temperature list from checkboxes, and Gradio checks those
itself (range, choices) before a handler runs; `named_errors` only makes its refusals name the
field. What Gradio cannot check is read here: the prompt (cut to its length cap, with a notice) and the seed text. Every
message reaches the user through `user_error`, HTML-safe and without a traceback in the log.
"""

import contextlib
import functools
import html
import inspect
import math
import os
import unicodedata

import gradio as gr

import lm

MAX_SEED = 2**32 - 1  # plenty for a classroom (lm takes up to 2**63 - 1); seeds travel as text anyway


def user_error(message: str) -> gr.Error:
    """A message for the user, HTML-safe; a mistake in the input is not worth a traceback in the log."""
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def _shown(value, limit: int = 40) -> str:
    """A user's value, short, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextlib.contextmanager
def _as_user_errors():
    try:
        yield
    except gr.Error:  # already a message for the user
        raise
    except ValueError as e:
        raise user_error(str(e)) from None


def shown_to_user(fn):
    """The one place a ValueError (lm's, or this module's checks'; each names the bad value) becomes gr.Error."""
    if inspect.isgeneratorfunction(fn):  # Gradio streams what a generator yields: keep `fn` one
        @functools.wraps(fn)
        def wrapper(*args):
            with _as_user_errors():
                yield from fn(*args)
    elif inspect.isasyncgenfunction(fn):  # and an async one, on its event loop
        @functools.wraps(fn)
        async def wrapper(*args):
            with _as_user_errors():
                async for item in fn(*args):
                    yield item
    else:
        @functools.wraps(fn)
        def wrapper(*args):
            with _as_user_errors():
                return fn(*args)
    return wrapper


def named_errors(demo: gr.Blocks) -> gr.Blocks:
    """`demo` as it is, Gradio's checks of what its sliders and checkbox groups receive included (a
    range, rounding when precision=0; the choices), but every refusal worded as one message naming the
    field and what it takes. Without this, a value Gradio's check fails on (text, null, a list for a
    number) reaches the user as a bare "an exception was raised", and a refused one names neither the
    field nor the range. (Each component's preprocess is wrapped, rather than subclassed: Gradio writes
    a .pyi stub beside any module that defines a component class.)"""
    for component in demo.blocks.values():
        if isinstance(component, gr.CheckboxGroup):
            takes = "a list of values among " + ", ".join(f"{value:g}" for _, value in component.choices)
        elif isinstance(component, gr.Slider):
            kind = "a whole number" if component.precision == 0 else "a number"
            takes = f"{kind} from {component.minimum:g} to {component.maximum:g}"
        else:
            continue
        component.preprocess = _naming(component.label, takes, component.preprocess)
    demo.validate_inputs = _counting(demo.validate_inputs)
    return demo


def _counting(gradio_validate):
    """Gradio's check that a request holds a value for every input, its refusal worded for the caller
    (Gradio's own is a ValueError that reaches an API caller as an empty error and the log as a traceback)."""
    def validate_inputs(block_fn, inputs):
        try:
            gradio_validate(block_fn, inputs)  # too few
            if len(inputs) > len(block_fn.inputs):  # Gradio drops the rest silently
                raise ValueError(len(inputs))
        except ValueError:
            fields = ", ".join(getattr(block, "label", None) or type(block).__name__ for block in block_fn.inputs)
            raise user_error(f"/{block_fn.api_name} takes {len(block_fn.inputs)} values ({fields}); "
                             f"got {len(inputs)}.") from None

    return validate_inputs


def _naming(label: str, takes: str, gradio_preprocess):
    def preprocess(payload):
        try:
            if isinstance(payload, bool):  # JSON true/false: numbers to Python (True == 1), not to a user
                raise TypeError(payload)
            return gradio_preprocess(payload)
        except (TypeError, ValueError):  # gr.Error is a ValueError
            raise user_error(f"{label} must be {takes}; got {_shown(payload)}.") from None

    return preprocess


def cut_prompt(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars` characters, at the end of a word where one ends in the last
    fifth (a pasted page then ends in a whole word, not "the lio"): "the lion ran" at 10 -> "the lion"."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    if not text[max_chars].isspace():
        space = max(head.rfind(" "), head.rfind("\n"))
        if space >= max_chars * 4 // 5:
            head = head[:space]
    return head.rstrip()


def read_prompt(text: str | None, max_chars: int) -> str:
    """The prompt under the length cap, with control characters as spaces. Empty is allowed: the model
    then starts a new line of its own. A longer prompt is cut (cut_prompt), and the user is told where:
    the page sends it whole (no max_length on the Textbox, which would cut a paste silently)."""
    text = text or ""
    if len(text) > max_chars:
        cut = cut_prompt(text, max_chars)
        gr.Warning(f"The prompt was {len(text):,} characters long, over the limit of {max_chars:,} "
                   f"(MAX_PROMPT_CHARS): only its first {len(cut):,} characters were used.")
        text = cut
    # Control characters (and lone surrogates, which cannot be sent back as UTF-8) become spaces;
    # line breaks and tabs are whitespace to the tokenizer anyway.
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)


def read_seed(text: str | None) -> int:
    """Blank draws a fresh random seed; otherwise a whole number in [0, MAX_SEED]."""
    text = (text or "").strip()
    if not text:
        return lm.random_seed()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_SEED)) and int(text) <= MAX_SEED):
        raise ValueError(f"Seed must be a whole number from 0 to {MAX_SEED}, or blank for a random one; "
                         f"got {_shown(text)}.")
    return int(text)


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


def env_number(name: str, default, kind=int):
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
