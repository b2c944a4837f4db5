"""Share a link: the page's settings in its address, and back (issue 12 §4).

    ?prompt=The%20lion%20was%20afraid%2C%20but&seed=7&tab=playground&t=0.8&k=0&p=1&n=60&eos=0

Opening such a link fills the page and runs the tab it names, as if its main button were pressed; a bare
address runs nothing. The settings travel in the query string, not on the server: a Space's disk is wiped
on restart, and a link must outlive that. `link_query` and `read_link` are pure (no Gradio); `link_events`
wires them to the page. Each parameter is one control (the page's own limits from page_actions):

    prompt  the prompt                        seed  a whole number (absent: a random seed)
    tab     playground | side-by-side | how | model
    t       the Playground's temperature      k, p  top-k, top-p (Playground; How draws their cut-off)
    n       the tab's New tokens              eos   1 = stop at the end of the paragraph, 0 = do not
    ts      four temperatures, comma-separated, one per Side by side column: ts=0,0.5,1,1.5
    pt      the temperatures How temperature works plots, comma-separated, among its choices: pt=0.25,1,2

A link only writes what its tab uses. A bad value in a link never stops the page: that parameter is left
at the page's default, and the user is told which one and why (gr.Warning). Unknown parameters are
ignored (Gradio's own, such as ?__theme=dark, included).
"""

import html
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from urllib.parse import quote, urlencode

import gradio as gr

import page_format as fmt
from page_actions import MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_TEMPERATURE, MAX_TOP_K, MIN_TOP_P
from page_input import cut_prompt, read_seed, shown_to_user

TABS = ("playground", "side-by-side", "sampler", "how", "whole-texts", "lessons", "model")  # the gr.Tab ids in app.py
MAIN_BUTTONS = {"playground": "#generate-button", "side-by-side": "#compare-button", "how": "#distribution-button",
                "sampler": "#sampler-start", "whole-texts": "#whole-button"}  # Lessons and Model: nothing to run
COLUMNS = len(fmt.SETTINGS["side_by_side_temperatures"])  # Side by side: one temperature per column
PLOT_TEMPERATURES = tuple(t for t in fmt.SETTINGS["plot_temperature_choices"] if t <= MAX_TEMPERATURE)
PARAMS = {"prompt": "prompt", "seed": "seed", "tab": "tab", "t": "temperature", "k": "top_k", "p": "top_p",
          "n": "new_tokens", "eos": "stop_at_eos", "ts": "temperatures", "pt": "plot_temperatures"}  # param: field
# What each tab's run reads, besides the prompt and the seed. Be the sampler and Whole texts keep their own
# sliders (a link starts them from its prompt and seed); Lessons and Model run nothing.
TAB_PARAMS = {"playground": ("t", "k", "p", "n", "eos"), "side-by-side": ("ts", "n"), "how": ("pt", "k", "p"),
              "sampler": (), "whole-texts": (), "lessons": (), "model": ()}


# ------------------------------------------------------------------------------------- checks
def _shown(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(name: str, value, low: float, high: float, whole: bool = False):
    """`value` as a float (an int if `whole`) in [low, high], else a ValueError naming `name`."""
    kind = "a whole number" if whole else "a number"
    try:
        if isinstance(value, bool):  # True == 1 to Python, not to a user
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high and (number.is_integer() or not whole)):
        raise ValueError(f"{name} must be {kind} from {low:g} to {high:g}; got {_shown(value)}.")
    return int(number) if whole else number


def _listed(values) -> str:
    """A list of values as a link writes it, for a message: ("0.3", "x") -> "'0.3,x'" (not a tuple's repr)."""
    return _shown(values if isinstance(values, str | bytes) else ",".join(map(str, values)))


def _temperature(name: str, value) -> float:
    return _number(name, value, 0, MAX_TEMPERATURE)


@dataclass(frozen=True)
class Link:
    """The settings a link carries, each checked here, once. None: not in the link (the page keeps its own)."""

    tab: str | None = None  # None: the Playground, which the page opens on
    prompt: str | None = None
    seed: str | None = None  # digits; None (or blank) = a random seed
    temperature: float | None = None  # the Playground's
    top_k: int | None = None
    top_p: float | None = None
    new_tokens: int | None = None  # the tab's own "New tokens" slider (Playground, or Side by side)
    stop_at_eos: bool | None = None
    temperatures: tuple[float, ...] | None = None  # Side by side: one per column
    plot_temperatures: tuple[float, ...] | None = None  # How temperature works

    def __post_init__(self):
        checked = {}
        if self.tab is not None and self.tab not in TABS:
            raise ValueError(f"tab must be one of {', '.join(TABS)}; got {_shown(self.tab)}.")
        if self.prompt is not None:
            if not isinstance(self.prompt, str) or len(self.prompt) > MAX_PROMPT_CHARS:
                raise ValueError(f"prompt must be a text of at most {MAX_PROMPT_CHARS:,} characters; "
                                 f"got {_shown(self.prompt)}.")
        if self.seed is not None:
            seed = str(self.seed).strip()
            checked["seed"] = str(read_seed(seed)) if seed else None  # read_seed names a bad one
        if self.temperature is not None:
            checked["temperature"] = _temperature("temperature", self.temperature)
        if self.top_k is not None:
            checked["top_k"] = _number("top-k", self.top_k, 0, MAX_TOP_K, whole=True)
        if self.top_p is not None:
            checked["top_p"] = _number("top-p", self.top_p, MIN_TOP_P, 1)
        if self.new_tokens is not None:
            checked["new_tokens"] = _number("new tokens", self.new_tokens, 0, MAX_NEW_TOKENS, whole=True)
        if self.stop_at_eos is not None and not isinstance(self.stop_at_eos, bool):
            raise ValueError(f"stop at the end of the paragraph must be true or false; got {_shown(self.stop_at_eos)}.")
        if self.temperatures is not None:
            if isinstance(self.temperatures, str | bytes) or len(self.temperatures) != COLUMNS:
                raise ValueError(f"the side-by-side temperatures must be {COLUMNS} numbers, one per column; "
                                 f"got {_listed(self.temperatures)}.")
            checked["temperatures"] = tuple(_temperature("each side-by-side temperature", t)
                                            for t in self.temperatures)
        if self.plot_temperatures is not None:
            among = ", ".join(f"{t:g}" for t in PLOT_TEMPERATURES)
            try:
                chosen = {float(t) for t in self.plot_temperatures if not isinstance(t, bool)}
            except (TypeError, ValueError):
                chosen = set()
            if isinstance(self.plot_temperatures, str | bytes) or not chosen or not chosen <= set(PLOT_TEMPERATURES):
                raise ValueError(f"the temperatures to plot must be one or more of {among}; "
                                 f"got {_listed(self.plot_temperatures)}.")
            checked["plot_temperatures"] = tuple(t for t in PLOT_TEMPERATURES if t in chosen)  # the boxes' order
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: normalised once, here


# ------------------------------------------------------------------------------------- to and from text
def _text(value) -> str:
    """A number as short as it reads: 1.0 -> "1", 0.35 -> "0.35"; True -> "1"."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def link_query(link: Link) -> str:
    """The query string for `link`: its prompt, seed and tab, and what that tab reads (TAB_PARAMS).
    Link(tab="side-by-side", seed="7", temperatures=(0, .5, 1, 1.5)) -> "?seed=7&tab=side-by-side&ts=0,0.5,1,1.5"."""
    values = asdict(link)
    tab = link.tab or "playground"
    wanted = ("prompt", "seed", "tab", *TAB_PARAMS[tab])
    pairs = [(param, _text(values[PARAMS[param]])) for param in PARAMS
             if param in wanted and values[PARAMS[param]] is not None]
    # %20 for a space, not "+"; the commas of a list stay readable. A lone surrogate (no UTF-8 for it) becomes "?".
    return "?" + urlencode(pairs, quote_via=quote, safe=",", errors="replace") if pairs else ""


def _bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"eos must be 1 (stop at the end of the paragraph) or 0; got {_shown(text)}.")


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(","))


PARSE = {"temperatures": _list, "plot_temperatures": _list, "stop_at_eos": _bool}  # the rest: Link takes text


def read_link(query_params: Mapping[str, str]) -> tuple[Link, list[str]]:
    """The settings in a page's query parameters (as decoded, e.g. gr.Request.query_params), and what was
    wrong with them: each bad value is left out (the page keeps its default) and named in a message.
    {"t": "0.5", "k": "lots"} -> (Link(temperature=0.5), ["Link parameter k: top-k must be ...; got 'lots'. ..."])."""
    values, problems = {}, []
    for param, raw in query_params.items():
        field = PARAMS.get(param)
        if field is None:  # Gradio's own (?__theme=dark, ?view=api), or a link from somewhere else
            continue
        raw = str(raw)
        if field == "prompt" and len(raw) > MAX_PROMPT_CHARS:
            problems.append(f"The link's prompt was {len(raw):,} characters long, over the limit of "
                            f"{MAX_PROMPT_CHARS:,}: only its start is used.")
            raw = cut_prompt(raw, MAX_PROMPT_CHARS)
        try:
            value = PARSE.get(field, lambda text: text)(raw)
            values[field] = getattr(Link(**{field: value}), field)  # Link's checks, one field at a time
        except ValueError as e:
            problems.append(f"Link parameter {param}: {e} The page's default is used instead.")
    return Link(**values), problems


# ------------------------------------------------------------------------------------- the page
DEFAULTS = fmt.SETTINGS["defaults"]  # the page's, for the API's optional arguments


def share_link(prompt: str = DEFAULTS["prompt"], seed: str = "", tab: str = "playground",
               temperature: float = DEFAULTS["temperature"], top_k: int = 0, top_p: float = 1.0,
               new_tokens: int = DEFAULTS["new_tokens"], stop_at_eos: bool = False,
               temperatures: list[float] | None = None, plot_temperatures: list[float] | None = None) -> str:
    """The query string ("?prompt=...&seed=...") that opens the page with these settings and runs `tab`
    (playground, side-by-side or how). `new_tokens` is that tab's; `temperatures` are Side by side's four,
    `plot_temperatures` How temperature works' choices. Only what `tab` uses goes into the link."""
    if len(prompt or "") > MAX_PROMPT_CHARS:  # as a run would: the start of it, and a word about it
        gr.Warning(f"The prompt is over the limit of {MAX_PROMPT_CHARS:,} characters: the link carries its start.")
        prompt = cut_prompt(prompt, MAX_PROMPT_CHARS)
    link = Link(tab=tab, prompt=prompt or "", seed=seed, temperature=temperature, top_k=top_k, top_p=top_p,
                new_tokens=new_tokens, stop_at_eos=stop_at_eos,
                temperatures=None if temperatures is None else tuple(temperatures),
                plot_temperatures=None if plot_temperatures is None else tuple(plot_temperatures))
    return link_query(link)


# After the link's settings are in the page: press the main button of the tab it names, once that button is
# in sight (the tab's content may still be drawing); "" = a bare address, nothing to run.
RUN_JS = """(tab) => {
  const selector = MAIN_BUTTONS[tab];
  let tries = 0;
  const press = () => {
    const button = selector && document.querySelector(selector);
    if (button && button.offsetParent !== null) button.click();
    else if (selector && ++tries < 100) setTimeout(press, 100);
  };
  press();
  return [];
}""".replace("MAIN_BUTTONS", json.dumps(MAIN_BUTTONS))

# The server gives the query string; the page's own address goes in front. The clipboard needs a secure
# page (https or localhost) and may be refused: the link is in the box either way, to copy by hand.
COPY_JS = """(query) => {
  const url = location.origin + location.pathname + (query || "");
  navigator.clipboard?.writeText(url).catch(() => {});
  return url;
}"""


def link_events(demo: gr.Blocks, tabs: gr.Tabs, controls: dict, copy: gr.Button, link_box: gr.Textbox) -> None:
    """Open a link (`demo.load`) and make one (`copy`). `controls` holds the page's components by name: prompt,
    seed, temperature, top_k, top_p, new_tokens, stop_at_eos, seed_used (Playground); temperatures (a list),
    compare_tokens, compare_seed (Side by side); plot_temperatures (How temperature works). Call inside `demo`."""
    c = controls
    current_tab = gr.State("playground")  # which tab Copy link describes
    run = gr.Textbox("", visible="hidden", elem_id="link-run")  # the tab a link runs; a hidden one is still read
    for tab in tabs.children:
        tab.select(lambda tab_id=tab.id: tab_id, None, current_tab, queue=False, api_visibility="private")

    filled = [c["prompt"], c["seed"], tabs, current_tab, c["temperature"], c["top_k"], c["top_p"], c["new_tokens"],
              c["stop_at_eos"], *c["temperatures"], c["compare_tokens"], c["plot_temperatures"], run]

    def open_link(request: gr.Request):
        link, problems = read_link(request.query_params)
        for problem in problems:
            gr.Warning(html.escape(problem, quote=False))
        if link == Link() and not problems:  # a bare address: the page as it is, nothing runs
            return [gr.skip()] * len(filled)
        tab = link.tab or "playground"
        keep = lambda value: gr.skip() if value is None else value
        temperatures = link.temperatures or [None] * COLUMNS
        return [keep(link.prompt), keep(link.seed), gr.Tabs(selected=tab) if link.tab else gr.skip(), tab,
                keep(link.temperature), keep(link.top_k), keep(link.top_p),
                keep(link.new_tokens if tab != "side-by-side" else None), keep(link.stop_at_eos),
                *map(keep, temperatures), keep(link.new_tokens if tab == "side-by-side" else None),
                keep(link.plot_temperatures and list(link.plot_temperatures)), tab]

    demo.load(open_link, None, filled, api_visibility="private", concurrency_limit=None, show_progress="hidden"
              ).then(None, run, None, js=RUN_JS, api_visibility="private")

    @shown_to_user
    def from_page(tab, prompt, seed, temperature, top_k, top_p, new_tokens, stop_at_eos, *rest):
        *temperatures, compare_tokens, plot_temperatures, seed_used, compare_seed = rest
        side = tab == "side-by-side"
        # A blank seed drew a random one: the link carries the seed that made what is on the page, if any
        seed = (seed or "").strip() or (compare_seed if side else seed_used) or ""
        return share_link(prompt, seed, tab, temperature, top_k, top_p, compare_tokens if side else new_tokens,
                          stop_at_eos, temperatures, plot_temperatures)

    copy.click(from_page, [current_tab, c["prompt"], c["seed"], c["temperature"], c["top_k"], c["top_p"],
                           c["new_tokens"], c["stop_at_eos"], *c["temperatures"], c["compare_tokens"],
                           c["plot_temperatures"], c["seed_used"], c["compare_seed"]],
               link_box, api_visibility="private", concurrency_limit=None, show_progress="hidden"
               ).then(None, link_box, link_box, js=COPY_JS, api_visibility="private")
    gr.api(shown_to_user(share_link), api_name="share_link", concurrency_limit=None)
