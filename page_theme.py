"""The Gradio page's look: its theme (colours and fonts), its style sheet and its script (assets/page/)."""

import gradio as gr

import page_format as fmt

PAGE = fmt.ASSETS / "page"  # the style sheet and script here; the page's long texts (markdown) too


def _font(name: str, *fallbacks: str) -> tuple:
    """One of Gradio's bundled fonts, at weights 400 and 700. Gradio's default asks for 600, but its SemiBold
    files of Source Sans Pro and IBM Plex Mono hold only a few letters ("A", "B", ...): bold text then took
    those from the SemiBold face and the rest from a faked bold of the regular one ("Be the sampler", "Baum"
    with a thin B). Their Bold files hold every letter, so 600 and 700 text is one true bold face."""
    return (gr.themes.LocalFont(name, weights=(400, 700)), *fallbacks)


THEME = gr.themes.Default(primary_hue="orange", secondary_hue="blue",
                          font=_font("Source Sans Pro", "ui-sans-serif", "system-ui", "sans-serif"),
                          font_mono=_font("IBM Plex Mono", "ui-monospace", "Consolas", "monospace"))
# The page's own look, then how a draw is shown (shared with the static page), then the word colours (settings.json)
CSS = "".join((PAGE / name).read_text(encoding="utf-8") for name in ("style.css", "draw.css")) + fmt.palette_css()
JS = (PAGE / "page.js").read_text(encoding="utf-8")  # keyboard, range notes, stale results, presentation
