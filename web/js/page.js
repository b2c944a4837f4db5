// The static page: load the exported model (model/), build the controls from model/settings.json, wire the tabs.

import { $, Slider, clearMessage, legendHtml, paletteCss, runner, showMessage, temperatureBoxes } from "./controls.js";
import { StepModel } from "./model.js";
import { Tokenizer } from "./tokenizer.js";
import { setupLessons } from "./lessons.js";
import { copyLink, openLink } from "./link.js";
import { setupSampler } from "./sampler-tab.js";
import { setupWholeTexts, wholeTexts } from "./wholetext.js";
import { Words } from "./text.js";
import { compare, explainWord, inspectWord, preset, showDistribution, sliders, write } from "./views.js";

const MODEL = new URL("../model/", import.meta.url);
const app = { ready: false };
window.lmPage = app; // for the tests and the bench

async function getJSON(name) {
  const response = await fetch(new URL(name, MODEL));
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  return response.json();
}

async function getBytes(name, size) {
  const response = await fetch(new URL(name, MODEL));
  if (!response.ok || !response.body) throw new Error(`${name}: HTTP ${response.status}`);
  const bytes = new Uint8Array(size);
  let got = 0;
  for (const reader = response.body.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > bytes.length) throw new Error(`${name} is larger than its manifest says`);
    bytes.set(value, got);
    got += value.length;
    $("#model-line").textContent = `Loading the model: ${(got / 1e6).toFixed(1)} of ${(size / 1e6).toFixed(1)} MB…`;
  }
  if (got !== size) throw new Error(`${name} is ${got} bytes; its manifest says ${size}`);
  return bytes;
}

// The model as the page downloads it: gzipped (export.py's `packed`), unpacked here. A server that sent it
// already unpacked (Content-Encoding: gzip) gives the plain bytes; a browser without DecompressionStream
// fetches the plain file.
async function getModel(manifest, which) {
  const packed = manifest.packed?.[which];
  if (!packed || typeof DecompressionStream === "undefined") return getBytes(manifest.files[which], manifest.sizes[which]);
  let bytes;
  try {
    bytes = await getBytes(packed, manifest.packed_sizes[which]);
  } catch (e) {
    if (!/larger than|bytes; its manifest/.test(e.message)) throw e;
    return getBytes(manifest.files[which], manifest.sizes[which]);  // unpacked on the way: fetch it plainly
  }
  const plain = new Uint8Array(await new Response(new Blob([bytes]).stream()
    .pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  if (plain.length !== manifest.sizes[which]) throw new Error(`${packed} unpacks to ${plain.length} bytes`);
  return plain;
}

// Offline after the first visit: the service worker keeps every file the page fetches. Wait (briefly) until
// it controls the page, so the model and onnxruntime's wasm go through it and are downloaded once.
async function serviceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  try {
    await navigator.serviceWorker.register(new URL("../sw.js", import.meta.url), { scope: new URL("../", import.meta.url).pathname });
    if (navigator.serviceWorker.controller) return;
    await Promise.race([new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r, { once: true })),
      new Promise((r) => setTimeout(r, 4000))]);
  } catch (e) {
    console.warn("no service worker: the page will not work offline", e);
  }
}

function setupShared(settings) {
  const prompt = $("#prompt");
  prompt.value = settings.defaults.prompt;
  prompt.maxLength = settings.limits.max_prompt_chars;
  const examples = $("#examples");
  for (const p of settings.prompts) examples.append(new Option(p, p));
  examples.addEventListener("change", () => { if (examples.value) prompt.value = examples.value; });
  $("#description").innerHTML = settings.texts.description;
  $("#explanation").innerHTML = settings.texts.explanation;
  $("#model-info").innerHTML = settings.texts.model;
  // The word colours, their legends and the "Colour by" choice, as the Gradio page (page_format) draws them.
  document.head.append(Object.assign(document.createElement("style"), { textContent: paletteCss(settings) }));
  $("#colour-key").innerHTML = legendHtml(settings);
  $("#colour-by").addEventListener("change", (e) => { document.documentElement.dataset.colourBy = e.target.value; });
  $("#preset-line").textContent = "The same prompt and seed at eleven temperatures, from very cold to beyond hot: " +
    settings.notebook_temperatures.join(", ") + ".";
  temperatureBoxes($("#plot-temperatures"), settings.plot_temperature_choices.filter((t) => t <= settings.limits.max_temperature),
    settings.default_plot_temperatures);
}

// The tabs; returns select(id), which opens a tab as a lesson does (without the How tab's own action).
function setupTabs(onHow) {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const select = (id) => {
    for (const t of tabs) {
      t.setAttribute("aria-selected", String(t.id === id));
      document.getElementById(t.getAttribute("aria-controls")).hidden = t.id !== id;
    }
    clearMessage();
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      select(tab.id);
      if (tab.id === "tab-how") onHow();
    });
  }
  return select;
}

async function boot() {
  // Presentation mode: the page is sized in rem, so a larger root font enlarges all of it (style.css).
  $("#presentation input").addEventListener("change", (e) => document.documentElement.classList.toggle("presenting", e.target.checked));
  await serviceWorker();
  const manifest = await getJSON("manifest.json");
  const [settings, words, tables] = await Promise.all(["settings", "words", "tokenizer"].map((k) => getJSON(manifest.files[k])));
  Object.assign(app, { manifest, settings, words: new Words(words), tokenizer: new Tokenizer(tables), Slider });
  setupShared(settings);
  const ui = sliders(settings);
  const which = new URLSearchParams(location.search).get("model") === "small" && manifest.files.small ? "small" : "model";
  const started = performance.now();
  const bytes = await getModel(manifest, which);
  app.model = await StepModel.load(bytes, manifest);
  app.loadMs = performance.now() - started;
  app.variant = which;
  const buttons = ["#write", "#compare", "#preset", "#show"].map((s) => $(s));
  const run = runner(buttons);
  $("#write").addEventListener("click", () => run(() => write(app, ui)));
  $("#compare").addEventListener("click", () => run(() => compare(app, ui)));
  $("#preset").addEventListener("click", () => run(() => preset(app, ui)));
  $("#show").addEventListener("click", () => run(() => showDistribution(app, ui)));
  $("#plot-temperatures").addEventListener("change", () => run(() => showDistribution(app, ui)));
  const select = setupTabs(() => run(() => showDistribution(app, ui)));
  // the other tabs' buttons: the runner turns these off too while anything runs
  buttons.push(...setupSampler(app, run), ...setupWholeTexts(app, run), ...setupLessons(app, ui, run, select));
  for (const e of ["mouseover", "click"]) $("#story").addEventListener(e, explainWord);
  for (const e of ["click", "keydown"]) {
    for (const box of ["#story", "#columns"]) $(box).addEventListener(e, (event) => inspectWord(app, event));
  }
  if (manifest.files.curve) {
    $("#curve").src = new URL(manifest.files.curve, MODEL).href;
    if (manifest.files.curve_phone) $("#curve-phone").srcset = new URL(manifest.files.curve_phone, MODEL).href; // 400 px, for a phone
    $("#curve").hidden = false;
  }
  $("#model-line").innerHTML = settings.texts.model_line + (which === "small" ? ` (${manifest.small_kind} weights)` : "");
  $("#copy-link").addEventListener("click", () => {
    try {
      copyLink(app, ui);
    } catch (e) {
      showMessage(e.message); // a slider's box holds something it cannot take: its message names it
    }
  });
  buttons.push($("#copy-link"));
  buttons.forEach((b) => { b.disabled = false; });
  app.ui = ui;
  app.ready = true;
  document.body.dataset.ready = "true";
  await openLink(app, ui, select, run, { playground: () => write(app, ui), "side-by-side": () => compare(app, ui),
    sampler: () => app.sampler.start(), how: () => showDistribution(app, ui), "whole-texts": () => wholeTexts(app) });
}

boot().catch((e) => {
  console.error(e);
  $("#model-line").textContent = "The model could not be loaded.";
  showMessage(`The model could not be loaded (${e.message ?? e}). Reload the page to try again.`);
  document.body.dataset.ready = "failed";
});
