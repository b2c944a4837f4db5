// The page's widgets: sliders with a number box (as Gradio's), the message line, the colour of a probability.

import { UserError, readNumber } from "./input.js";

export const $ = (selector) => document.querySelector(selector);

// A range and a text box kept in step; `read()` checks the box and words what is wrong (as page_input).
export class Slider {
  constructor(host, { label, min, max, step, value, whole = false, info = "" }) {
    Object.assign(this, { label, min, max, whole });
    const id = host.dataset.slider;
    host.classList.add("slider");
    host.innerHTML = `<div class="head"><label class="label" for="${id}">${label}</label>` +
      `<input id="${id}" inputmode="decimal" autocomplete="off"></div>` +
      `<input type="range" aria-label="${label}" min="${min}" max="${max}" step="${step}">` +
      (info ? `<p class="info">${info}</p>` : "");
    this.box = host.querySelector(`#${id}`);
    this.range = host.querySelector("input[type=range]");
    this.range.addEventListener("input", () => { this.box.value = this.range.value; });
    this.box.addEventListener("input", () => {
      const v = Number(this.box.value);
      if (this.box.value.trim() !== "" && Number.isFinite(v)) this.range.value = String(v);
    });
    this.set(value);
  }

  set(value) {
    this.range.value = String(value);
    this.box.value = String(value);
  }

  read() {
    return readNumber(this.label, this.box.value, this.min, this.max, this.whole);
  }
}

export function showMessage(text, kind = "error") {
  const box = $("#message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}

export function clearMessage() {
  showMessage("", "");
}

// The colour bin of a probability (page_format.prob_bin): its index in settings.prob_bins, most likely first.
export function probBin(bins, prob) {
  const i = bins.findIndex((b) => prob >= b.low);
  return i < 0 ? bins.length - 1 : i;
}

// The colour bin of a rank (page_format.rank_bin): 1st choice, top 10, top 100, rarer (max null: every rank).
export function rankBin(bins, rank) {
  const i = bins.findIndex((b) => b.max === null || rank <= b.max);
  return i < 0 ? bins.length - 1 : i;
}

export function percent(p) { // page_format.percent: 0.4567 -> "45.7%", 0.00012 -> "0.012%"
  if (p >= 0.001 || p === 0) return `${(100 * p).toFixed(1)}%`;
  return `${Number((100 * p).toPrecision(2))}%`;
}

export function ordinal(n) { // page_format.ordinal: 1 -> "1st", 13 -> "13th", 1022 -> "1,022nd"
  const suffix = n % 100 >= 10 && n % 100 <= 20 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] ?? "th";
  return n.toLocaleString("en-US") + suffix;
}

export function aboutWords(n) { // page_format.about_words: 1.0004 -> "1", 7.6 -> "about 8", 2147.8 -> "about 2,150"
  if (n < 100) return (Math.abs(n - Math.round(n)) < 0.05 ? "" : "about ") + Math.round(n).toLocaleString("en-US");
  const step = 10 ** (String(Math.trunc(n)).length - 3); // three significant figures
  return "about " + (Math.round(n / step) * step).toLocaleString("en-US");
}

export const entropyBits = (bits) => Math.max(0, Number(bits.toFixed(3))); // never "-0.000"

// What page_format.word_html writes: a word that never breaks inside, coloured by its bins, its tip on hover/focus.
export function wordSpan(settings, text, prob, rank) {
  const span = document.createElement("span");
  const tip = `${percent(prob)} likely · the model's ${ordinal(rank)} choice`;
  span.className = `word w p${probBin(settings.prob_bins, prob)} r${rankBin(settings.rank_bins, rank)}`;
  span.tabIndex = 0;
  span.textContent = text;
  span.dataset.tip = tip;
  span.setAttribute("aria-label", `${text}: ${tip}`);
  return span;
}

// page_format.legend_html and palette_css, from the same settings.json.
export function legendHtml(settings) {
  const one = (mode, bins, letter) => `<div class="colour-key key-${mode}"><p>${escape(settings.colour_modes[mode])}</p><ul>` +
    bins.map((b, i) => `<li><span class="swatch ${letter}${i}"></span>${escape(b.label)}</li>`).join("") + "</ul></div>";
  return one("probability", settings.prob_bins, "p") + one("rank", settings.rank_bins, "r");
}

export function paletteCss(settings) {
  return [`.w { color: ${settings.text_colour}; }`,
    ...settings.prob_bins.map((b, i) => `:root:not([data-colour-by=rank]) .w.p${i}, .swatch.p${i} { background: ${b.colour}; }`),
    ...settings.rank_bins.map((b, i) => `:root[data-colour-by=rank] .w.r${i}, .swatch.r${i} { background: ${b.colour}; }`)].join("\n");
}

// Run one action at a time: buttons off while it runs; a UserError becomes the message. An action asked for
// while another runs waits, and only the latest one asked for runs (Gradio's trigger_mode="always_last").
export function runner(buttons) {
  let busy = false;
  let pending = null;
  const run = async (action) => {
    if (busy) {
      pending = action;
      return;
    }
    busy = true;
    buttons.forEach((b) => { b.disabled = true; });
    try {
      clearMessage();
      await action();
    } catch (e) {
      showMessage(e instanceof UserError ? e.message : `Something went wrong: ${e.message ?? e}`);
      if (!(e instanceof UserError)) console.error(e);
    } finally {
      busy = false;
      buttons.forEach((b) => { b.disabled = false; });
    }
    if (pending) {
      const next = pending;
      pending = null;
      await run(next);
    }
  };
  return run;
}

// A macrotask break now and then (every ~frame), so the browser paints streamed words and stays responsive
// without paying a task switch for every token.
let lastBreak = 0;
export function breathe(everyMs = 16) {
  if (performance.now() - lastBreak < everyMs) return Promise.resolve();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      lastBreak = performance.now();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}

// A checkbox per temperature of `choices` in `box` (a fieldset), "0 (greedy)" for 0, those in `checked` ticked.
export function temperatureBoxes(box, choices, checked) {
  for (const t of choices) {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${t}"${checked.includes(t) ? " checked" : ""}> ${t === 0 ? "0 (greedy)" : String(t)}`;
    box.append(label);
  }
}

// The temperatures ticked in such a box, in its order; and ticking exactly `temps` (a lesson's, a link's).
export const checkedTemperatures = (box) => [...box.querySelectorAll("input:checked")].map((c) => Number(c.value));

export function checkTemperatures(box, temps) {
  for (const input of box.querySelectorAll("input")) input.checked = temps.includes(Number(input.value));
}

export function fill(table, headers, rows) {
  if (headers) table.tHead.innerHTML = "<tr>" + headers.map((h) => `<th>${escape(h)}</th>`).join("") + "</tr>";
  table.tBodies[0].innerHTML = rows.map((r) => "<tr>" + r.map((c) => `<td>${escape(String(c))}</td>`).join("") + "</tr>").join("");
}

export function escape(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
