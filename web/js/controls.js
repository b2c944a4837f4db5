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

// The colour bin of a probability (page_format.prob_label): {label, colour}.
export function probBin(bins, prob) {
  return bins.find((b) => prob >= b.low) ?? bins[bins.length - 1];
}

export function percent(p) {
  if (p >= 0.001 || p === 0) return `${(100 * p).toFixed(1)}%`;
  return `${(100 * p).toPrecision(2)}%`;
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

export function fill(table, headers, rows) {
  if (headers) table.tHead.innerHTML = "<tr>" + headers.map((h) => `<th>${escape(h)}</th>`).join("") + "</tr>";
  table.tBodies[0].innerHTML = rows.map((r) => "<tr>" + r.map((c) => `<td>${escape(String(c))}</td>`).join("") + "</tr>").join("");
}

export function escape(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
