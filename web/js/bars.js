// The next-word bars as HTML, for both pages: page_bars.bars_html writes the same markup for the Gradio page
// (tests/test_web.py holds them equal), and draw.css draws it. Lying down: a row per word (the likeliest on
// top, then "all other words"), a lane per temperature with its bar and its value after it, so every word
// reads whole, also on a phone. A bar over 0 is never under 1% of the axis (a hot 1.5% on a 70% axis stays
// visible); the top-k / top-p cut-off is a dashed line above the first word it removes.

import { escape } from "./controls.js";
import { EOS } from "./text.js";

export const OTHERS = "all other words";
export const g = (t) => String(t); // Python's f"{t:g}" for the page's temperatures

export const othersShare = (d) => { // page_plots.others_share: what makes the bars add up to 100%
  const rest = 1 - d.probs.reduce((a, b) => a + b, 0);
  return rest > 1e-6 ? rest : 0;
};
const kept = (d) => { const i = d.probs.findIndex((p) => p === 0); return i < 0 ? d.probs.length : i; };
export const tokenLabel = (t, word) => (t === EOS ? "↵ (new line)" : word); // page_format.token_label

// The heading's words: the prompt's last six, as the student typed them.
export function promptTail(prompt) {
  const words = prompt.split(/\s+/).filter(Boolean);
  return words.length ? (words.length > 6 ? "... " : "") + words.slice(-6).join(" ") : "(a new line)";
}

// dists: [{temperature, tokens, words, probs, entropy (bits)}] after `prompt`; colours: by g(t).
export function barsHtml(dists, prompt, colours, { topK = 0, topP = 1 } = {}) {
  const colour = (t) => colours[g(t)] ?? "#888";
  const values = dists.map((d) => [...d.probs, othersShare(d)]);
  const xmax = Math.min(1, Math.max(...values.flat()) * 1.05 + 0.01);
  const step = [0.05, 0.1, 0.2, 0.25].find((s) => xmax / s <= 4.5) ?? 0.25; // 3 to 5 grid lines
  const cuts = new Set(dists.filter((d) => d.temperature > 0 && kept(d) < d.probs.length).map(kept));
  const cutName = [topK ? `top-k ${topK}` : "", topP < 1 ? `top-p ${topP}` : ""].filter(Boolean).join(" and ");
  const labels = [...dists[0].tokens.map((t, i) => tokenLabel(t, dists[0].words[i])), OTHERS];
  const lane = (d, p) => {
    if (p === 0) return '<div class="lane"></div>'; // cut off: no bar (the cut-off line says why)
    // Under 1% goes unlabelled: the bar is a sliver, and "the bars as numbers" holds it.
    const value = p >= 0.01 ? `${Math.round(100 * p)}%` : "";
    return `<div class="lane" style="--w:${Math.max(p / xmax, 0.01).toFixed(4)}"><div class="bar" ` +
      `style="background:${colour(d.temperature)}"></div><span class="value">${value}</span></div>`;
  };
  const rows = labels.map((t, i) => {
    const last = i === labels.length - 1;
    const line = last ? '<div class="line others"></div>' : cutName && cuts.has(i) ? '<div class="line cut"></div>' : "";
    return `${line}<div class="word">${escape(t)}</div><div class="lanes" title="${escape(t)}">` +
      dists.map((d, k) => lane(d, values[k][i])).join("") + "</div>";
  }).join("");
  const ticks = Array.from({ length: Math.floor(xmax / step + 1e-9) + 1 }, (_, k) =>
    `<span style="left:${(100 * k * step / xmax).toFixed(2)}%">${Math.round(100 * k * step)}%</span>`).join("");
  const key = dists.map((d) => `<span><span class="swatch" style="background:${colour(d.temperature)}"></span>` +
    `T = ${d.temperature === 0 ? "0 (greedy)" : g(d.temperature)} (entropy ${Math.max(0, d.entropy).toFixed(2)} bits)</span>`).join("") +
    (cutName && cuts.size ? `<span><span class="cut-key"></span>${cutName}: words below the line are never drawn</span>` : "");
  return `<div class="bars" style="--grid:${(100 * step / xmax).toFixed(3)}%">` +
    `<p class="title">What might come after “${escape(promptTail(prompt))}”</p>` +
    `<div class="plot">${rows}<div></div><div class="axis">${ticks}</div></div>` +
    `<p class="scale">chance of coming next</p><div class="key">${key}</div></div>`;
}
