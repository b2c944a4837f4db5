// The Whole texts tab (page_wholetext.py): for one prompt, `samples` texts at each chosen temperature, all rows
// of one batched sweep (sample i uses seed + i at every temperature, as lm.sweep with `seeds`: the same seed gives
// the same texts), each measured on its new tokens (textstats.js, ngrams.js), then shown (wholetext-view.js).

import { $, Slider, breathe, checkedTemperatures, escape, showMessage, temperatureBoxes } from "./controls.js";
import { readPrompt as feedPrompt, masked } from "./generate.js";
import { UserError } from "./input.js";
import { NgramIndex } from "./ngrams.js";
import { Rng, argmax, distribution, draw } from "./sampler.js";
import { Story } from "./text.js";
import { copiedTokens, copyShare, distinct, repeatedShare } from "./textstats.js";
import { TemperatureStats, showResults } from "./wholetext-view.js";
import { readShared } from "./views.js";

// The tab's controls from settings.whole_texts (the Gradio tab's own); returns its button, for the runner.
export function setupWholeTexts(app, run) {
  const S = app.settings.whole_texts;
  $("#whole-intro").innerHTML = S.intro;
  if (!app.manifest.files.ngrams) Object.assign($("#whole-no-index"), { innerHTML: S.no_index, hidden: false });
  temperatureBoxes($("#whole-temperatures"), S.temperature_choices, S.default_temperatures);
  app.wholeTokens = new Slider($('[data-slider="whole-tokens"]'), { label: "New tokens per text", min: 4,
    max: S.max_tokens, step: 1, whole: true, value: S.default_tokens });
  $("#whole-button").addEventListener("click", () => run(() => wholeTexts(app)));
  return [$("#whole-button")];
}

// WholeTexts.run: check, write every row, measure each text, show it all.
export async function wholeTexts(app) {
  const S = app.settings.whole_texts;
  const temps = [...new Set(checkedTemperatures($("#whole-temperatures")))].sort((a, b) => a - b);
  if (temps.length === 0) throw new UserError("Choose at least one temperature.");
  const { prompt, seed } = readShared(app);
  const maxNewTokens = app.wholeTokens.read();
  const rows = temps.flatMap((t) => Array.from({ length: S.samples }, (_, j) => ({ temperature: t, seed: seed + j })));
  const status = $("#whole-status");
  const started = performance.now();
  $("#whole-results").classList.add("stale"); // the last run's results, faded until these replace them
  let texts;
  try {
    texts = await writeTexts(app, prompt, rows, maxNewTokens, (n) => {
      status.textContent = `Writing ${rows.length} texts in this browser: word ${n} of ${maxNewTokens}…`;
    });
  } finally {
    $("#whole-results").classList.remove("stale");
  }
  const { index, missing } = await ngramIndex(app);
  const samples = texts.map((text) => measure(text, app.words, index));
  const stats = temps.map((t, i) => new TemperatureStats(t, samples.slice(i * S.samples, (i + 1) * S.samples)));
  showResults(app, stats, index !== null, missing && `<p><em>${escape(missing)}</em></p>`);
  if (missing) showMessage(missing, "warning");
  $("#whole-seed").value = String(seed);
  const seconds = (performance.now() - started) / 1000;
  status.textContent = `${rows.length} texts of ${maxNewTokens} new tokens, written in this browser in ${seconds.toFixed(1)} s.`;
  app.whole = { prompt, seed, maxNewTokens, texts: samples, ms: 1000 * seconds }; // for the tests and the bench
}

// lm.sweep(..., seeds, stop_at_eos=False): the prompt read once, then one batched step per token for all rows,
// each drawing with its own generator (a roll at every step, greedy rows too, as in lm). Not generate.js's
// sweep: that keeps each word's whole draw for "inspect a word", about a second more over 120 rows.
async function writeTexts(app, prompt, rows, maxNewTokens, progress) {
  const { model, words, tokenizer } = app;
  const start = await feedPrompt(model, words, tokenizer, prompt);
  const texts = rows.map((r) => ({ ...r, prompt, rng: new Rng(r.seed), tokens: [], probs: [], pieces: [],
    story: new Story(prompt, start.tokens, words, tokenizer) }));
  let logits = rows.map(() => start.logits);
  let state = model.repeatState(start.state, rows.length);
  for (let step = 0; step < maxNewTokens; step++) {
    const ids = texts.map((text, r) => {
      const x = masked(logits[r], words.unk);
      const u = text.rng.uniform();
      const id = text.temperature === 0 ? argmax(x) : draw(distribution(x, text.temperature), u);
      text.tokens.push(words.itos[id]);
      text.probs.push(modelProb(logits[r], id));
      text.pieces.push(text.story.add(words.itos[id]));
      return id;
    });
    progress(step + 1);
    await breathe();
    if (step < maxNewTokens - 1) ({ logits, state } = await model.step(ids, state));
  }
  return texts.map(({ rng, story, ...text }) => text);
}

// The model's own chance of `id` (before temperature, <unk> in the normaliser), for the perplexity.
function modelProb(logits, id) {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let total = 0;
  for (const v of logits) total += Math.exp(v - max);
  return Math.exp(logits[id] - max) / total;
}

// page_wholetext_view.measure: the Sample of one text (copies: null without an index).
function measure(text, words, index) {
  const grams = index ? index.copied(words.encode(text.tokens)) : null;
  return { ...text, distinct2: distinct(text.tokens, 2), distinct3: distinct(text.tokens, 3),
    repeated: repeatedShare(text.tokens, 4), copied: grams && copiedTokens(grams, text.tokens.length, index.n),
    copy_share: grams && copyShare(grams) };
}

// The books' n-gram index, fetched the first time the tab runs (it is not part of the first visit; the service
// worker keeps it from then on): {index} (null when the model has none), or, when it cannot be had (offline
// before the tab ever ran), {index: null, missing: why}: the other measures are shown all the same.
async function ngramIndex(app) {
  const name = app.manifest.files.ngrams;
  if (!name) return { index: null };
  app.ngrams ??= fetch(new URL(`../model/${name}`, import.meta.url)).then(async (response) => {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return NgramIndex.parse(new Uint8Array(await response.arrayBuffer()), app.words.size);
  });
  try {
    return { index: await app.ngrams };
  } catch (e) {
    app.ngrams = undefined; // the next run tries again
    return { index: null, missing: `The books' n-gram index (${name}, downloaded the first time this tab runs) ` +
      `could not be loaded (${e.message}), so copied phrases are not measured this time; the rest is.` };
  }
}
