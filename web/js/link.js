// Share a link (as page_link.py): the page's settings in its address, and back. The same parameters as the
// Gradio page's, so a teacher's link opens either page the same way:
//
//   ?prompt=The%20lion%20was%20afraid%2C%20but&seed=7&tab=playground&t=0.8&k=0&p=1&n=60
//
// Opening a link fills the page and presses the main button of the tab it names; a bare address runs
// nothing. A bad value never stops the page: it is left at the page's default and named in a message, in
// page_link.read_link's words. Unknown parameters are ignored.

import { $, checkTemperatures, checkedTemperatures, showMessage } from "./controls.js";
import { readSeed } from "./input.js";

export const TABS = ["playground", "side-by-side", "sampler", "how", "whole-texts", "lessons", "model"]; // page_link.TABS
const TAB_PARAMS = { playground: ["t", "k", "p", "n", "eos"], "side-by-side": ["ts", "n"], how: ["pt", "k", "p"],
  sampler: [], "whole-texts": [], lessons: [], model: [] }; // what a tab's run reads, besides the prompt and the seed
const PARAMS = ["prompt", "seed", "tab", "t", "k", "p", "n", "eos", "ts", "pt"];

const shown = (text, limit = 40) => { // page_link._shown: Python's repr of a text, cut short
  const r = text.includes("'") && !text.includes('"') ? `"${text}"` : `'${text.replace(/'/g, "\\'")}'`;
  return r.length <= limit ? r : r.slice(0, limit - 3) + "...";
};

function number(name, text, low, high, whole = false) { // page_link._number
  const n = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(text) ? Number(text) : NaN; // as Python's float()
  if (!(Number.isFinite(n) && low <= n && n <= high && (!whole || Number.isInteger(n)))) {
    throw new Error(`${name} must be ${whole ? "a whole number" : "a number"} from ${low} to ${high}; got ${shown(text)}.`);
  }
  return n;
}

// Each parameter's check (page_link.Link), from its text to the value the page's control takes.
function checks(settings) {
  const L = settings.limits;
  const columns = settings.side_by_side_temperatures.length;
  const plot = settings.plot_temperature_choices.filter((t) => t <= L.max_temperature);
  return {
    prompt: (text) => text,
    seed: (text) => (text.trim() ? String(readSeed(text, L.max_seed)) : ""),
    tab: (text) => {
      if (TABS.includes(text)) return text;
      throw new Error(`tab must be one of ${TABS.join(", ")}; got ${shown(text)}.`);
    },
    t: (text) => number("temperature", text, 0, L.max_temperature),
    k: (text) => number("top-k", text, 0, L.max_top_k, true),
    p: (text) => number("top-p", text, L.min_top_p, 1),
    n: (text) => number("new tokens", text, 0, L.max_new_tokens, true),
    eos: (text) => { // page_link._bool
      const word = text.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(word)) return true;
      if (["0", "false", "no", "off"].includes(word)) return false;
      throw new Error(`eos must be 1 (stop at the end of the paragraph) or 0; got ${shown(text)}.`);
    },
    ts: (text) => {
      const parts = text.split(",").map((s) => s.trim());
      if (parts.length !== columns) {
        throw new Error(`the side-by-side temperatures must be ${columns} numbers, one per column; got ${shown(text)}.`);
      }
      return parts.map((t) => number("each side-by-side temperature", t, 0, L.max_temperature));
    },
    pt: (text) => {
      const chosen = new Set(text.split(",").map((s) => (s.trim() === "" ? NaN : Number(s))));
      if (![...chosen].every((t) => plot.includes(t))) {
        throw new Error(`the temperatures to plot must be one or more of ${plot.join(", ")}; got ${shown(text)}.`);
      }
      return plot.filter((t) => chosen.has(t));
    },
  };
}

// page_input.cut_prompt: at most `max` characters, ending in a whole word if one ends in the last fifth.
export function cutPrompt(text, max) {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  let head = chars.slice(0, max);
  if (!/\s/.test(chars[max])) {
    const space = Math.max(head.lastIndexOf(" "), head.lastIndexOf("\n"));
    if (space >= Math.floor(max * 4 / 5)) head = head.slice(0, space);
  }
  return head.join("").trimEnd();
}

// page_link.read_link: the settings in `search` ("?t=0.5&k=lots") and what was wrong with them.
export function readLink(search, settings) {
  const check = checks(settings);
  const max = settings.limits.max_prompt_chars;
  const link = {};
  const problems = [];
  for (const [param, raw] of new URLSearchParams(search)) {
    if (!PARAMS.includes(param)) continue;
    let text = raw;
    if (param === "prompt" && Array.from(text).length > max) {
      problems.push(`The link's prompt was ${Array.from(text).length.toLocaleString("en-US")} characters long, over ` +
        `the limit of ${max.toLocaleString("en-US")}: only its start is used.`);
      text = cutPrompt(text, max);
    }
    try {
      link[param] = check[param](text);
    } catch (e) {
      problems.push(`Link parameter ${param}: ${e.message} The page's default is used instead.`);
    }
  }
  return { link, problems };
}

// page_link.link_query: the prompt, the seed, the tab, and what that tab reads; %20 for a space, commas kept.
export function linkQuery(values) {
  const tab = values.tab ?? "playground";
  const wanted = ["prompt", "seed", "tab", ...TAB_PARAMS[tab]];
  const pairs = PARAMS.filter((p) => wanted.includes(p) && values[p] !== undefined && values[p] !== null)
    .map((p) => `${p}=${[values[p]].flat().map(quote).join(",")}`);
  return pairs.length ? `?${pairs.join("&")}` : "";
}

// Python's urllib.parse.quote(text, safe=","), as link_query writes each value: the same link, byte for byte.
const quote = (v) => encodeURIComponent(String(v)).replace(/%2C/g, ",")
  .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// Open the page's own address: fill what the link names, open its tab and run it (`actions`: tab -> action).
export function openLink(app, ui, selectTab, run, actions) {
  const { link, problems } = readLink(location.search, app.settings);
  const tell = () => { // after the run, which clears the message line first
    if (!problems.length) return;
    const box = $("#message");
    const before = box.hidden ? [] : [box.textContent]; // the run's own message (an unknown word) stays
    showMessage([...before, ...problems].join(" "), box.hidden ? "warning" : box.className);
  };
  if (Object.keys(link).length === 0) return tell();
  const tab = link.tab ?? "playground";
  if (link.prompt !== undefined) $("#prompt").value = link.prompt;
  if (link.seed !== undefined) $("#seed").value = link.seed;
  if (link.tab) selectTab(`tab-${tab}`);
  const set = (slider, v) => { if (v !== undefined) slider.set(v); };
  set(ui.temperature, link.t);
  set(ui.topK, link.k);
  set(ui.topP, link.p);
  set(tab === "side-by-side" ? ui.compareTokens : ui.newTokens, link.n);
  link.ts?.forEach((t, i) => { ui.columns[i].set(t); ui.columns[i].box.dispatchEvent(new Event("input")); });
  if (link.pt) checkTemperatures($("#plot-temperatures"), link.pt);
  if (link.eos !== undefined) $("#stop-at-eos").checked = link.eos;
  if (link.k > 0 || link.p < 1) $("#playground details").open = true;
  return run(async () => { await actions[tab]?.(); tell(); });
}

// Copy link: this tab's settings as a link, in the box and on the clipboard (which may be refused: the
// link is in the box either way). A blank seed drew one: the link carries the seed that made what is shown.
export function copyLink(app, ui) {
  const tab = document.querySelector("[role=tab][aria-selected=true]").id.replace(/^tab-/, "");
  const used = { playground: "#seed-used", "side-by-side": "#compare-seed", sampler: "#sampler-seed",
    "whole-texts": "#whole-seed" }[tab];
  const seed = $("#seed").value.trim() || (used ? $(used).value : "");
  const values = { prompt: cutPrompt($("#prompt").value, app.settings.limits.max_prompt_chars), seed: seed || null, tab };
  if (tab === "playground") {
    Object.assign(values, { t: ui.temperature.read(), n: ui.newTokens.read(), eos: $("#stop-at-eos").checked ? 1 : 0 });
  }
  if (tab === "side-by-side") Object.assign(values, { ts: ui.columns.map((s) => s.read()), n: ui.compareTokens.read() });
  if (tab === "how") values.pt = checkedTemperatures($("#plot-temperatures"));
  if (tab === "playground" || tab === "how") Object.assign(values, { k: ui.topK.read(), p: ui.topP.read() });
  const url = location.origin + location.pathname + linkQuery(values);
  $("#share-link").value = url;
  navigator.clipboard?.writeText(url).catch(() => {});
  return url;
}
