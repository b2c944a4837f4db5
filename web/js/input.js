// What the page reads from its users, checked and worded as the Gradio page words it (page_input.py).

export class UserError extends Error {}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function shown(value, limit = 40) {
  const text = `'${value}'`;
  return text.length <= limit ? text : text.slice(0, limit - 3) + "...";
}

function fmt(n) {
  return n.toLocaleString("en-US");
}

// The prompt under the length cap (in characters, as Python counts them), control characters as spaces.
export function readPrompt(text, maxChars) {
  text = text ?? "";
  const length = Array.from(text).length;
  if (length > maxChars) {
    throw new UserError(`The prompt is ${fmt(length)} characters long; the limit is ${fmt(maxChars)} characters ` +
      "(MAX_PROMPT_CHARS). Please shorten it.");
  }
  return text.replace(CONTROL, " ");
}

// Blank draws a fresh random seed; otherwise a whole number in [0, maxSeed].
export function readSeed(text, maxSeed) {
  text = (text ?? "").trim();
  if (!text) return randomSeed();
  if (!/^[0-9]+$/.test(text) || text.length > String(maxSeed).length || Number(text) > maxSeed) {
    throw new UserError(`Seed must be a whole number from 0 to ${maxSeed}, or blank for a random one; got ${shown(text)}.`);
  }
  return Number(text);
}

export function randomSeed() {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] >>> 1; // below 2**31, like lm.random_seed
}

// A slider's value: a number in [min, max] (a whole one when `whole`, rounded as Gradio's precision=0 does).
export function readNumber(label, raw, min, max, whole = false) {
  const text = String(raw ?? "").trim();
  const value = Number(text);
  const kind = whole ? "a whole number" : "a number";
  if (text === "" || !Number.isFinite(value) || value < min || value > max) {
    throw new UserError(`${label} must be ${kind} from ${min} to ${max}; got ${shown(text)}.`);
  }
  return whole ? Math.round(value) : value;
}

// The notice about an empty prompt or words the model does not know: {kind, message} or null.
export function promptNotice(tokens, words) {
  if (tokens.length === 0) return { kind: "info", message: "The prompt is empty, so the model starts a new line of its own." };
  const unknown = [...new Set(tokens.filter((w) => !words.has(w)))];
  if (unknown.length === 0) return null;
  let list = unknown.slice(0, 8).map((w) => `“${w.length <= 30 ? w : w.slice(0, 27) + "..."}”`).join(", ");
  if (unknown.length > 8) list += " ...";
  if (unknown.length === new Set(tokens).size) {
    return { kind: "warning", message: `The model knows none of the words in the prompt (${list}). It reads each one as ` +
      "<unk> (unknown), so it is writing almost from scratch." };
  }
  return { kind: "warning", message: `The model does not know ${unknown.length} word(s) of the prompt: ${list}. ` +
    "It reads them as <unk> (unknown)." };
}
