// Be the sampler (as page_sampler.py): the student writes one word at a time, rolling the dice or taking a
// word by hand. The dice are the row's generator, rolled once per word whatever word is taken (the k-th
// word's number is the seed's k-th), so only rolling writes what Write writes with that seed, and a word
// taken by hand does not shift the rolls after it. The model's output after each word is kept, so Back
// is a step back and a new temperature redraws the bars without a replay.

import { $, Slider, escape, percent } from "./controls.js";
import { drawStep, readPrompt as feedPrompt } from "./generate.js";
import { UserError, readSeed } from "./input.js";
import { label, stripHtml } from "./inspect.js";
import { Rng, checkTemperature } from "./sampler.js";
import { Story } from "./text.js";
import { readSharedPrompt } from "./views.js";

const HOW = { roll: "rolled", mine: "your pick", auto: "sampler" };
const EMPTY = '<p class="tickets-head">Press <b>Roll the dice</b> (or Start over) to see the first word\'s chances.</p>';

// page_sampler.text_html: the prompt, then each word taken, marked by how (rolled, your pick, sampler).
function textHtml(text, app) {
  const story = new Story(text.prompt, text.promptTokens, app.words, app.tokenizer);
  const parts = text.prompt ? [`<span class="prompt">${escape(text.prompt)}</span>`] : [];
  text.tokens.forEach((token, k) => {
    const piece = story.add(token);
    if (/^:*\s+$/.test(piece)) return parts.push(escape(piece)); // a paragraph break (its colon included)
    const lead = piece.slice(0, piece.length - piece.trimStart().length);
    const word = escape(piece.slice(lead.length));
    const how = text.how[k];
    parts.push(escape(lead) + (word ? `<span class="taken ${how}" title="${HOW[how]}">${word}</span>` : ""));
  });
  if (text.tokens.length === 0) parts.push(' <span class="next-hint">… (roll the dice or click a word)</span>');
  return `<div class="sampler-story">${parts.join("")}</div>`;
}

// page_strip.tickets_html: the next word's tickets as bars; each named word is a button that takes it.
function ticketsHtml(step) {
  const widest = Math.max(...step.tickets.map((t) => t.prob), step.others) || 1;
  const bar = (p) => `<span class="ticket-bar"><span style="width:${(100 * p / widest).toFixed(2)}%"></span></span>`;
  let rows = step.tickets.map((t) => `<button class="ticket" data-token="${escape(t.token)}" aria-label="take ` +
    `${escape(label(t))}, ${percent(t.prob)}"><span class="ticket-word">${escape(label(t))}</span>${bar(t.prob)}` +
    `<span class="ticket-pct">${percent(t.prob)}</span><span class="ticket-model">model: ${percent(t.modelProb)}` +
    "</span></button>").join("");
  if (step.others > 0) {
    rows += `<div class="ticket others"><span class="ticket-word">all other words (${step.othersCount.toLocaleString("en-US")})` +
      `</span>${bar(step.others)}<span class="ticket-pct">${percent(step.others)}</span><span class="ticket-model"></span></div>`;
  }
  const head = step.temperature === 0 ? "At temperature 0 only the likeliest word can be taken by the dice."
    : `The chances at temperature ${step.temperature}<span class="ticket-model-note">; the model's own chance ` +
      "(temperature 1) on the right</span>.";
  return `<p class="tickets-head">${head} Click a word to take it yourself.</p><div class="tickets">${rows}</div>`;
}

export class SamplerTab {
  constructor(app) {
    this.app = app;
    // The text so far: {prompt, promptTokens, seed, tokens, how (roll, mine, auto), after (the model's {logits,
    // state} after the prompt and after each word), rng and dice (the seed's numbers, one per word)}
    this.text = null;
    const L = app.settings.limits;
    const make = (id, options) => new Slider(document.querySelector(`[data-slider="${id}"]`), options);
    this.temperature = make("sampler-temperature", { label: "Temperature", min: 0, max: L.max_temperature, step: 0.05,
      value: Math.min(0.8, L.max_temperature), info: "for the next word; change it whenever you like" });
    this.words = make("sampler-words", { label: "Words to hand over to the sampler", min: 1, max: L.max_new_tokens,
      step: 1, whole: true, value: Math.min(20, L.max_new_tokens) });
    this.topK = make("sampler-top-k", { label: "Top-k", min: 0, max: L.max_top_k, step: 1, whole: true, value: 0, info: "0 = off" });
    this.topP = make("sampler-top-p", { label: "Top-p", min: L.min_top_p, max: 1, step: 0.01, value: 1, info: "1 = off" });
    $("#sampler-tickets").innerHTML = EMPTY;
  }

  async start() {
    const prompt = readSharedPrompt(this.app);
    const seed = readSeed($("#seed").value, this.app.settings.limits.max_seed);
    const { model, words, tokenizer } = this.app;
    const read = await feedPrompt(model, words, tokenizer, prompt);
    const rng = new Rng(seed);
    this.text = { prompt, promptTokens: read.tokens, seed, tokens: [], how: [], after: [read], rng, dice: [] };
    $("#sampler-draw").innerHTML = "";
    this.show();
  }

  // The draw of the next word at the tab's settings, as lm.stepping.next_step makes it.
  next() {
    const text = this.text;
    const k = text.tokens.length;
    while (text.dice.length <= k) text.dice.push(text.rng.uniform()); // the k-th word's roll, whatever was taken
    const t = checkTemperature(this.temperature.read());
    return drawStep(this.app.words, text.after[k].logits, text.dice[k], t, this.topK.read(), this.topP.read(), k);
  }

  show() {
    $("#sampler-text").innerHTML = textHtml(this.text, this.app);
    $("#sampler-tickets").innerHTML = ticketsHtml(this.next());
    $("#sampler-seed").value = String(this.text.seed);
  }

  // Roll (token null) or take `token` by hand: the word is added, the strip shows the roll, the bars the next word.
  async take(token = null, how = token === null ? "roll" : "mine") {
    if (!this.text) await this.start();
    const { words, model } = this.app;
    if (token !== null && (!words.has(token) || token === words.itos[words.unk])) {
      throw new UserError(`The model does not know the word '${token}': click one of its words.`);
    }
    const max = this.app.settings.limits.max_new_tokens;
    if (this.text.tokens.length >= max) {
      throw new UserError(`The text has ${max} words, as many as this page writes: press Back or Start over.`);
    }
    const step = this.next();
    const chosen = token ?? step.drawn.token;
    const { state } = this.text.after[this.text.tokens.length];
    const { logits: [logits], state: after } = await model.step([words.encode([chosen])[0]], state);
    this.text.tokens.push(chosen);
    this.text.how.push(how);
    this.text.after.push({ logits, state: after });
    if (how !== "auto") $("#sampler-draw").innerHTML = stripHtml(step, token);
    return step;
  }

  async back() {
    if (!this.text) return this.start();
    if (this.text.tokens.length > 0) {
      this.text.tokens.pop();
      this.text.how.pop();
      this.text.after.pop();
    }
    $("#sampler-draw").innerHTML = "";
    this.show();
  }

  // Hand over to the sampler: more words drawn from here on the same dice (lm.stepping.continue_text).
  async auto() {
    if (!this.text) await this.start();
    const n = Math.min(this.words.read(), this.app.settings.limits.max_new_tokens - this.text.tokens.length);
    for (let i = 0; i < n; i++) await this.take(null, "auto");
    $("#sampler-draw").innerHTML = "";
    this.show();
  }

  // A new temperature or cut-off: the bars again for the same next word (the last roll stays as it was).
  refresh() {
    if (this.text) $("#sampler-tickets").innerHTML = ticketsHtml(this.next());
  }
}

export function setupSampler(app, run) {
  const tab = new SamplerTab(app);
  const buttons = ["#sampler-start", "#sampler-roll", "#sampler-back", "#sampler-auto"].map((s) => $(s));
  const [start, roll, back, auto] = buttons;
  start.addEventListener("click", () => run(() => tab.start()));
  roll.addEventListener("click", () => run(async () => { await tab.take(); tab.show(); }));
  back.addEventListener("click", () => run(() => tab.back()));
  auto.addEventListener("click", () => run(() => tab.auto()));
  $("#sampler-tickets").addEventListener("click", (e) => {
    const button = e.target.closest("button.ticket");
    if (button) run(async () => { await tab.take(button.dataset.token); tab.show(); });
  });
  for (const slider of [tab.temperature, tab.topK, tab.topP]) {
    for (const input of [slider.range, slider.box]) input.addEventListener("change", () => run(async () => tab.refresh()));
  }
  app.sampler = tab;
  return buttons;
}
