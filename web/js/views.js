// What the page's buttons do, tab by tab, over the model in the browser (as app.py's Actions).

import { $, Slider, aboutWords, breathe, checkedTemperatures, entropyBits, fill, percent, showMessage,
  wordSpan } from "./controls.js";
import { OTHERS, barsHtml, g, othersShare, tokenLabel } from "./bars.js";
import { nextTokenDistribution, readPrompt as feedPrompt, stream, sweep } from "./generate.js";
import { UserError, promptNotice, readPrompt, readSeed } from "./input.js";
import { inspectorHtml } from "./inspect.js";
import { checkTemperature } from "./sampler.js";

// The shared prompt, checked, with its notice (an empty prompt, unknown words) shown.
export function readSharedPrompt(app) {
  const prompt = readPrompt($("#prompt").value, app.settings.limits.max_prompt_chars);
  const notice = promptNotice(app.tokenizer.tokenize(prompt), app.words);
  if (notice) showMessage(notice.message, notice.kind);
  return prompt;
}

export function readShared(app) {
  const prompt = readSharedPrompt(app);
  return { prompt, seed: readSeed($("#seed").value, app.settings.limits.max_seed) };
}

// "T = 0 · greedy" over a Side by side column, as the Gradio page heads its columns (assets/page/page.js)
export function columnHeading(value) {
  const t = Number(value);
  if (String(value).trim() === "" || !Number.isFinite(t)) return "";
  const name = t === 0 ? "greedy" : t < 0.75 ? "cold" : t <= 1.25 ? "as learned" : t <= 2 ? "hot" : "very hot";
  return `T = ${t} · ${name}`;
}

export function sliders(settings) {
  const { limits: L, defaults: D } = settings;
  const make = (id, options) => new Slider(document.querySelector(`[data-slider="${id}"]`), options);
  return {
    temperature: make("temperature", { label: "Temperature", min: 0, max: L.max_temperature, step: 0.05,
      value: Math.min(D.temperature, L.max_temperature), info: "0 = greedy (always the most likely word); higher = more surprising" }),
    newTokens: make("new-tokens", { label: "New tokens", min: 0, max: L.max_new_tokens, step: 1, whole: true,
      value: Math.min(D.new_tokens, L.max_new_tokens), info: "words and punctuation marks to write" }),
    topK: make("top-k", { label: "Top-k", min: 0, max: L.max_top_k, step: 1, whole: true, value: 0,
      info: "0 = off; else draw only from the k most likely words" }),
    topP: make("top-p", { label: "Top-p", min: L.min_top_p, max: 1, step: 0.01, value: 1,
      info: "1 = off; else draw only from the likeliest words that together have this much probability " +
        `(${L.min_top_p}: usually only the likeliest word, as greedy)` }),
    compareTokens: make("compare-tokens", { label: "New tokens per column", min: 0, max: L.max_new_tokens, step: 1,
      whole: true, value: Math.min(D.side_by_side_new_tokens, L.max_new_tokens) }),
    topWords: make("top-words", { label: "Words to show", min: 1, max: L.max_top_words, step: 1, whole: true,
      value: Math.min(D.top_words, L.max_top_words) }),
    columns: settings.side_by_side_temperatures.map((t, i) => {
      const host = document.createElement("div");
      host.innerHTML = `<h3 class="column-heading" id="column-heading-${i}"></h3>` +
        `<div data-slider="column-temperature-${i}"></div><div id="column-text-${i}" class="story"></div>`;
      $("#columns").append(host);
      const slider = make(`column-temperature-${i}`, { label: "Temperature", min: 0, max: L.max_temperature, step: 0.05,
        value: Math.min(t, L.max_temperature) });
      const heading = () => { $(`#column-heading-${i}`).textContent = columnHeading(slider.box.value); };
      for (const input of [slider.box, slider.range]) input.addEventListener("input", heading);
      heading();
      return slider;
    }),
  };
}

// Playground: stream a continuation, each word coloured by its probability, hover for probability and rank.
export async function write(app, ui) {
  const { prompt, seed } = readShared(app);
  const temperature = checkTemperature(ui.temperature.read());
  const [maxNewTokens, topK, topP] = [ui.newTokens.read(), ui.topK.read(), ui.topP.read()];
  const stopAtEos = $("#stop-at-eos").checked;
  const story = $("#story");
  story.dataset.done = "false";
  story.textContent = prompt;
  app.steps = []; // each new word's draw, for "inspect a word"
  $("#inspector").hidden = true;
  $("#seed-used").value = String(seed);
  const run = { tokens: 0, start: performance.now(), firstWordMs: null };
  for await (const item of stream(app.model, app.words, app.tokenizer, prompt, { maxNewTokens, temperature, topK, topP, seed,
    stopAtEos })) {
    addPiece(story, item.text, item.step, app.settings, app.steps.push(item.step) - 1);
    run.tokens += 1;
    if (run.firstWordMs === null) run.firstWordMs = performance.now() - run.start;
    await breathe();
  }
  run.totalMs = performance.now() - run.start;
  app.lastRun = run;
  if (run.tokens === 0) showMessage(app.settings.messages[maxNewTokens === 0 ? "no_tokens" : "paragraph_ended"], "info");
  story.dataset.done = "true";
}

// A new word, as a span that tells its chance and rank (hover, focus) and opens its draw (click, Enter);
// coloured in the Playground, plain in a Side by side column `col` (page_format.column_html).
function addPiece(box, text, step, settings, i, col = null) {
  if (/^:?\s*$/.test(text)) return box.append(text); // a paragraph break (after its colon): no word
  const lead = text.slice(0, text.length - text.trimStart().length); // outside the word: lines break there
  const { modelProb: prob, rank } = step.drawn;
  const span = wordSpan(settings, text.slice(lead.length), prob, rank);
  Object.assign(span.dataset, { prob: String(prob), rank: String(rank), i: String(i) });
  if (col !== null) {
    span.className = "word w plain";
    span.dataset.col = String(col);
  }
  box.append(lead, span);
}

// Inspect a word: a click on a written word (or Enter on it) shows the draw that picked it (inspect.js), under
// the story or under the columns.
export function inspectWord(app, event) {
  if (event.type === "keydown" && event.key !== "Enter") return;
  const span = event.target.closest?.("span.word");
  const col = span?.dataset.col;
  const step = span && (col === undefined ? app.steps : app.columnSteps?.[col])?.[Number(span.dataset.i)];
  if (!step) return;
  const card = $(col === undefined ? "#inspector" : "#columns-inspector");
  card.innerHTML = inspectorHtml(step);
  card.hidden = false;
  card.scrollIntoView({ block: "nearest" });
}

export function explainWord(event) {
  const span = event.target.closest?.("span.word");
  if (!span) return;
  const p = Number(span.dataset.prob);
  $("#word-info").textContent = `“${span.textContent}”: the model gave it ${percent(p)} (before temperature); ` +
    `it was its choice number ${span.dataset.rank}.`;
}

// Side by side: one batched sweep, a column per temperature, the same random numbers in every column.
export async function compare(app, ui) {
  const { prompt, seed } = readShared(app);
  const temps = ui.columns.map((s) => checkTemperature(s.read()));
  const maxNewTokens = ui.compareTokens.read();
  $("#compare-seed").value = String(seed);
  $("#columns").dataset.done = "false";
  $("#columns-inspector").hidden = true;
  const boxes = temps.map((_, i) => $(`#column-text-${i}`));
  app.columnSteps = temps.map(() => []); // each column's draws, for "inspect a word"
  for await (const { texts, pieces, steps } of sweep(app.model, app.words, app.tokenizer, prompt, temps, { maxNewTokens, seed })) {
    if (!steps) texts.forEach((t, i) => { boxes[i].textContent = t; });
    else pieces.forEach((p, i) => addPiece(boxes[i], p, steps[i], app.settings, app.columnSteps[i].push(steps[i]) - 1, i));
    await breathe();
  }
  $("#columns").dataset.done = "true";
}

export async function preset(app, ui) {
  const { prompt, seed } = readShared(app);
  const temps = app.settings.notebook_temperatures;
  const maxNewTokens = ui.compareTokens.read();
  $("#preset-seed").value = String(seed);
  const table = $("#preset-table");
  for await (const { texts } of sweep(app.model, app.words, app.tokenizer, prompt, temps, { maxNewTokens, seed })) {
    fill(table, null, temps.map((t, i) => [g(t), texts[i]]));
    await breathe();
  }
}

// How temperature works: the next-word bars at several temperatures, their entropies, the numbers.
export async function showDistribution(app, ui) {
  const prompt = readSharedPrompt(app);
  const temps = checkedTemperatures($("#plot-temperatures"));
  if (temps.length === 0) throw new UserError("Choose at least one temperature.");
  const top = ui.topWords.read();
  const cut = { topK: ui.topK.read(), topP: ui.topP.read() }; // the Playground's top-k / top-p, drawn as a line
  const dists = await nextTokenDistribution(app.model, app.words, app.tokenizer, prompt, [...new Set(temps)].sort((a, b) => a - b),
    top, cut);
  drawBars(app, dists, prompt, cut);
  fill($("#entropy-table"), null, dists.map((d) => [g(d.temperature), entropyBits(d.entropy).toFixed(3),
    aboutWords(2 ** entropyBits(d.entropy))]));
  fill($("#probability-table"), ["next word", ...dists.map((d) => `T = ${g(d.temperature)} (%)`)],
    [...dists[0].tokens.map((t, i) => [tokenLabel(t, dists[0].words[i]), ...dists.map((d) => (100 * d.probs[i]).toFixed(2))]),
      [OTHERS, ...dists.map((d) => (100 * othersShare(d)).toFixed(2))]]);
}

// The next-word bars (bars.js) into `box`: the How tab's, or the quiz's.
export function drawBars(app, dists, prompt, cut = {}, box = $("#bars")) {
  box.innerHTML = barsHtml(dists, prompt, app.settings.temperature_colours, cut);
}

export async function feedOnly(app, prompt) { // for the bench: read a prompt, nothing shown
  return feedPrompt(app.model, app.words, app.tokenizer, prompt);
}
