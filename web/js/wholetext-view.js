// How the Whole texts tab shows its results (page_wholetext_view.py): the measures against temperature (an SVG
// panel per measure: the line through the samples' average, the grey band their middle half), the same numbers
// as a table, and the texts with the copied words highlighted. No model here.

import { $, escape, fill } from "./controls.js";
import { perplexity } from "./textstats.js";

export class TemperatureStats {
  constructor(temperature, samples) {
    Object.assign(this, { temperature, samples });
  }

  values(name) {
    return this.samples.map((s) => s[name]).filter((v) => v !== null && v !== undefined && !Number.isNaN(v));
  }

  mean(name) {
    if (name === "perplexity") return this.perplexity;
    const values = this.values(name);
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
  }

  get perplexity() { // over all the samples' tokens together, so a short sample weighs less
    return perplexity(this.samples.flatMap((s) => s.probs));
  }
}

// Python's round() and f"{x:.nf}": ties (an exact half) go to the even neighbour, not up as toFixed does.
const pyRound = (x) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
const fixed = (x, digits) => (pyRound(x * 10 ** digits) / 10 ** digits).toFixed(digits);
const name = (t) => (t === 0 ? "0 (greedy)" : String(t));

// `note` (HTML), if any, stands where the legend would: why the copy measure is missing this time.
export function showResults(app, stats, withCopies, note = null) {
  const S = app.settings.whole_texts;
  const panels = withCopies ? S.panels : S.panels.slice(0, 3);
  $("#whole-title").textContent = S.title;
  $("#whole-plot").innerHTML = panels.map((p) => panelSvg(p, stats, app.settings.temperature_colours)).join("");
  const pct = (x) => (Number.isNaN(x) ? "" : fixed(100 * x, 1));
  fill($("#whole-table"), withCopies ? S.headers : S.headers.slice(0, -1), stats.map((s) => [String(s.temperature), pct(s.mean("distinct2")),
    pct(s.mean("distinct3")), pct(s.mean("repeated")), Number.isNaN(s.perplexity) ? "" : fixed(s.perplexity, 1),
    ...(withCopies ? [pct(s.mean("copy_share"))] : [])]));
  $("#whole-texts-html").innerHTML = (note ?? (withCopies ? S.legend : S.legend_no_index)) + stats.map((s) => section(s, withCopies, S)).join("");
}

// ------------------------------------------------------------------------------------------ the texts
function section(s, withCopies, S) {
  const facts = [`${fixed(100 * s.mean("distinct2"), 0)}% new word pairs`, `${fixed(100 * s.mean("repeated"), 0)}% repeated phrases`,
    `perplexity ${fixed(s.perplexity, 1)}`, ...(withCopies ? [`${fixed(100 * s.mean("copy_share"), 0)}% copied phrases`] : [])];
  const texts = s.samples.map((x) => sampleHtml(x, S));
  const more = texts.length > S.shown_samples
    ? `<details><summary>${texts.length - S.shown_samples} more texts at this temperature</summary>` +
      `${texts.slice(S.shown_samples).join("")}</details>` : "";
  return `<section class="whole-texts-at"><h4>T = ${escape(name(s.temperature))}: ${escape(facts.join(" · "))}</h4>` +
    `${texts.slice(0, S.shown_samples).join("")}${more}</section>`;
}

// page_wholetext_view.sample_html: the prompt in grey, then the new words, each run of copied ones in one <mark>
// (its leading space outside; a paragraph break is never marked).
function sampleHtml(sample, S) {
  const style = S.copied_style;
  const copied = sample.copied ?? sample.pieces.map(() => false);
  let body = "";
  let run = [];
  const close = () => {
    const text = run.join("");
    const lead = text.slice(0, text.length - text.trimStart().length);
    if (run.length) body += `${escape(lead)}<mark style="${style}">${escape(text.slice(lead.length))}</mark>`;
    run = [];
  };
  sample.pieces.forEach((piece, i) => {
    if (copied[i] && !/^:?\s*$/.test(piece)) return run.push(piece);
    close();
    body += escape(piece);
  });
  close();
  return `<p class="whole-text" style="${S.text_style}"><span style="opacity:.7">${escape(sample.prompt)}</span>` +
    `${body.replaceAll("\n", "<br>")}</p>`;
}

// ------------------------------------------------------------------------------------------ the plot
const W = 320, H = 250, L = 66, R = 12, T = 34, B = 44; // one panel's box and margins, in SVG units

function band(s, key) { // the middle half of the samples: their 25th and 75th percentiles, as _band picks them
  const v = s.values(key).sort((a, b) => a - b);
  return v.length ? [v[pyRound(0.25 * (v.length - 1))], v[pyRound(0.75 * (v.length - 1))]] : [NaN, NaN];
}

// Where a temperature (x) and a value (y) go in a panel; y is a share (-3% to 103%) or, with `log`, a perplexity
// on a log scale around `ys` (10 always in sight).
function scales(stats, log, ys) {
  const ts = stats.map((s) => s.temperature);
  const [t0, t1] = [Math.min(...ts), Math.max(...ts)];
  const pad = t1 > t0 ? (t1 - t0) * 0.06 : 0.5;
  const x = (t) => L + ((t - t0 + pad) / (t1 - t0 + 2 * pad)) * (W - L - R);
  const finite = ys.filter((v) => v > 0 && Number.isFinite(v));
  const [lo, hi] = log ? [Math.log10(Math.min(...finite, 10) / 1.3), Math.log10(Math.max(...finite, 10) * 1.3)]
    : [-0.03, 1.03];
  const y = (v) => T + (1 - ((log ? Math.log10(v) : v) - lo) / (hi - lo)) * (H - T - B);
  const steps = hi - lo > 2 ? [1] : [1, 2, 5]; // over two decades, the powers of ten alone
  const ticks = log ? [0, 1, 2, 3, 4, 5, 6].flatMap((e) => steps.map((m) => m * 10 ** e))
    .filter((v) => Math.log10(v) >= lo && Math.log10(v) <= hi) : [0, 0.25, 0.5, 0.75, 1];
  return { x, y, ticks, ts, label: log ? String : (v) => `${Math.round(100 * v)}%` };
}

const f1 = (v) => v.toFixed(1); // SVG coordinates, to a tenth of a unit
const dashed = (line) => (line.label === "pairs" ? " dashed" : ""); // pairs dashed, triples solid, as in matplotlib's

// One measure's panel: the grid and its ticks, each series (band, line, a dot per temperature), the legend,
// the axis labels; its aria-label says every value, for a screen reader.
function panelSvg(panel, stats, colours) {
  const log = panel.series[0].name === "perplexity";
  const lines = panel.series.map((series) => ({ ...series, ys: stats.map((s) => s.mean(series.name)) }));
  const sc = scales(stats, log, lines.flatMap((l) => l.ys));
  const body = axesSvg(sc) + lines.map((line) => seriesSvg(line, stats, sc, log, colours)).join("") + legendSvg(lines);
  const value = (v) => (log ? fixed(v, 1) : `${fixed(100 * v, 0)}%`);
  const said = lines.map((l) => `${l.label ?? panel.title}: ` +
    stats.map((s, i) => `T ${s.temperature} ${value(l.ys[i])}`).join(", "));
  return `<svg class="whole-panel" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escape(`${panel.title}. ${said.join("; ")}`)}">` +
    `<text class="title" x="4" y="18">${escape(panel.title)}</text>${body}` +
    `<text class="axis" x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">temperature</text>` +
    `<text class="axis" transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">` +
    `${escape(panel.ylabel)}</text></svg>`;
}

function axesSvg(sc) { // a grid line and a label per y tick; a label per temperature under the x axis
  const ys = sc.ticks.map((v) => `<line class="grid" x1="${L}" x2="${W - R}" y1="${f1(sc.y(v))}" y2="${f1(sc.y(v))}"/>` +
    `<text class="tick" x="${L - 6}" y="${f1(sc.y(v) + 4)}" text-anchor="end">${sc.label(v)}</text>`);
  const xs = sc.ts.map((t) => `<text class="tick" x="${f1(sc.x(t))}" y="${H - B + 16}" text-anchor="middle">${t}</text>`);
  return ys.join("") + xs.join("");
}

function seriesSvg(line, stats, sc, log, colours) { // the middle-half band, the line through the means, the dots
  const xy = (t, v) => `${f1(sc.x(t))},${f1(sc.y(v))}`;
  const points = stats.map((s, i) => [s.temperature, line.ys[i], s]).filter(([, v]) => Number.isFinite(v) && (!log || v > 0));
  let out = "";
  if (!log) {
    const bands = points.map(([t, , s]) => [t, band(s, line.name)]);
    const edge = [...bands.map(([t, [low]]) => xy(t, low)), ...bands.reverse().map(([t, [, high]]) => xy(t, high))];
    out += `<polygon class="band" points="${edge.join(" ")}"/>`;
  }
  out += `<polyline class="line${dashed(line)}" points="${points.map(([t, v]) => xy(t, v)).join(" ")}"/>`;
  return out + points.map(([t, v]) => `<circle r="6" cx="${f1(sc.x(t))}" cy="${f1(sc.y(v))}" ` +
    `fill="${colours[String(t)] ?? "#888"}" data-series="${line.name}" data-t="${t}" data-v="${v}">` +
    `<title>T = ${t}: ${log ? v.toFixed(1) : `${(100 * v).toFixed(0)}%`}</title></circle>`).join("");
}

function legendSvg(lines) { // bottom right (hot texts' variety is near 100%): only for panels with named series
  if (!lines.some((l) => l.label)) return "";
  const y = (i) => H - B - 14 - 18 * (lines.length - 1 - i);
  return lines.map((l, i) => `<line class="line${dashed(l)}" x1="${W - R - 92}" x2="${W - R - 66}" y1="${y(i)}" ` +
    `y2="${y(i)}"/><text class="tick" x="${W - R - 60}" y="${y(i) + 5}">${escape(l.label)}</text>`).join("");
}
