// One draw laid open, as the Gradio page shows it (lm.stepping's Step, drawn by page_strip): `stepOf` keeps
// the few numbers of a step (the likeliest words' tickets, the dice's number, the word drawn) for "inspect a
// word" (`stream` keeps one per word, so a click replays nothing) and for Be the sampler (sampler-tab.js).

import { escape, ordinal, percent } from "./controls.js";
import { expm, ticketOrder } from "./sampler.js";
import { EOS } from "./text.js";

// lm.stepping._draw_step and _strip: `logits` the model's raw ones (the model's own chances, <unk> in the
// normaliser), `x` with <unk> masked (the ranks), `probs` what the draw walked (null: greedy, all on `id`).
export function stepOf(words, logits, x, probs, u, id, temperature, position) {
  if (probs === null) {
    probs = new Float64Array(x.length);
    probs[id] = 1;
  }
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let total = 0;
  for (const v of logits) total += expm(v - max);
  const top = ticketOrder(probs).filter((i) => probs[i] > 0);
  const named = new Set(top);
  const ids = named.has(id) ? top : [...top, id];
  // A rank is 1 + how many words the model likes better. The named words are the likeliest ones (temperature,
  // top-k and top-p keep the logits' order), so only they can beat a named word; the word drawn from "all
  // other words" is counted over the whole vocabulary.
  const ranks = top.map((i) => top.reduce((n, j) => n + (x[j] > x[i] ? 1 : 0), 1));
  if (!named.has(id)) ranks.push(x.reduce((n, v) => n + (v > x[id] ? 1 : 0), 1));
  let start = 0;
  let othersCount = -top.length; // the words with any chance left, less the named ones
  let before = 0; // the mass of "all other words" before the word drawn, in id order (as draw walks them)
  for (let j = 0; j < probs.length; j++) if (probs[j] > 0) othersCount += 1;
  if (!named.has(id)) for (let j = 0; j < id; j++) if (!named.has(j)) before += probs[j];
  const ticket = (i, k) => ({ token: words.itos[i], word: words.form(words.itos[i], false), prob: probs[i],
    modelProb: expm(logits[i] - max) / total, rank: ranks[k] });
  const tickets = top.map((i, k) => { const t = { ...ticket(i, k), start }; start += t.prob; return t; });
  const drawn = named.has(id) ? tickets[top.indexOf(id)] : { ...ticket(id, ids.length - 1), start: start + before };
  const others = othersCount > 0 ? Math.max(0, 1 - start) : 0; // none when top-k left no other word
  return { position, temperature, tickets, others, othersCount, u, drawn };
}

export const label = (t) => (t.token === EOS ? "↵ (new line)" : t.word); // page_format.token_label

// page_strip.strip_html: a slice per named word as wide as its chance, "all other words", where the dice landed;
// `taken`: the token the student took by hand instead, if any.
export function stripHtml(step, taken = null, title = "The last roll.") {
  const slice = (t, cls, name) => `<div class="slice${cls}" style="width:${(100 * t.prob).toFixed(3)}%" ` +
    `title="${escape(name)}: ${percent(t.prob)}"><span>${escape(name)}</span></div>`;
  let slices = step.tickets.map((t) => slice(t, t === step.drawn ? " hit" : "", label(t))).join("");
  if (step.others > 0) {
    const hit = step.tickets.includes(step.drawn) ? "" : " hit";
    slices += slice({ prob: step.others }, ` others${hit}`, "all other words");
  }
  const d = step.drawn;
  const said = step.temperature === 0
    ? `Temperature 0 is greedy: no dice. The likeliest word, <b>${escape(label(d))}</b>, is taken (the dice still ` +
      `rolled ${step.u.toFixed(3)}, unused, so the next steps keep their numbers).`
    : `The dice rolled <b>${step.u.toFixed(3)}</b>. It landed on <b>${escape(label(d))}</b>, whose ticket runs from ` +
      `${d.start.toFixed(3)} to ${(d.start + d.prob).toFixed(3)} (${percent(d.prob)} of the strip; the model's ` +
      `${ordinal(d.rank)} choice).`;
  const took = taken !== null && taken !== d.token
    ? ` You took <b>${escape(label({ token: taken, word: taken }))}</b> instead.` : "";
  return `<p class="strip-head"><b>${title}</b> Each word's ticket is as wide as its chance; the ` +
    `dice landed at the black line.</p><div class="strip" role="img" aria-label="ticket strip; the dice landed on ` +
    `${escape(label(d))}">${slices}<div class="landing" style="left:${(100 * step.u).toFixed(3)}%" aria-hidden="true">` +
    `</div></div><p class="strip-note">${said}${took}</p>`;
}

// page_strip.inspector_html: the word's rank and chances, the strip, and the step's likeliest words as a table.
export function inspectorHtml(step) {
  const d = step.drawn;
  const word = label(d);
  const shown = step.tickets.includes(d) ? step.tickets : [...step.tickets, d];
  let rows = shown.map((t) => `<tr${t === d ? ' class="hit"' : ""}><td>${escape(label(t))}</td><td>${percent(t.prob)}` +
    `</td><td>${percent(t.modelProb)}</td><td>${ordinal(t.rank)}</td></tr>`).join("");
  if (step.others > 0) {
    rows += `<tr class="others"><td>all other words (${step.othersCount.toLocaleString("en-US")})</td>` +
      `<td>${percent(step.others)}</td><td></td><td></td></tr>`;
  }
  const heat = step.temperature === 0 ? "greedy (temperature 0)" : `temperature ${step.temperature}`;
  const head = `<p class="inspect-head"><b>${escape(word)}</b> (new word ${step.position + 1}): the model's ` +
    `${ordinal(d.rank)} choice; ${percent(d.modelProb)} likely before temperature, ${percent(d.prob)} at ${heat}.</p>`;
  return `<div class="inspector" role="region" aria-label="how ${escape(word)} was drawn">${head}` +
    `${stripHtml(step, null, "The roll for this word.")}<table class="inspect-table"><thead><tr><th>word</th>` +
    "<th>chance drawn from</th><th>before temperature</th><th>rank</th></tr></thead>" +
    `<tbody>${rows}</tbody></table></div>`;
}
