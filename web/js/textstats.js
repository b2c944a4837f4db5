// lm.textstats in JavaScript: measures of a whole generated text, on its NEW tokens only (never the prompt).
// A measure with nothing to count is NaN ("no value", not 0), as in lm.

const key = (tokens, i, n) => tokens.slice(i, i + n).join("\u0000");

function grams(tokens, n) {
  return Array.from({ length: Math.max(tokens.length - n + 1, 0) }, (_, i) => key(tokens, i, n));
}

// Distinct-n: distinct n-grams / all n-grams (1 = never repeats itself).
export function distinct(tokens, n) {
  const all = grams(tokens, n);
  return all.length ? new Set(all).size / all.length : NaN;
}

// The share of n-grams that already occurred earlier in the same text: what a loop looks like.
export function repeatedShare(tokens, n = 4) {
  const all = grams(tokens, n);
  const seen = new Set();
  let again = 0;
  for (const g of all) {
    if (seen.has(g)) again += 1;
    seen.add(g);
  }
  return all.length ? again / all.length : NaN;
}

// exp of the mean -log p of the model's own probabilities (before temperature); a p of 0 counts as 1e-45.
export function perplexity(probs) {
  if (!probs.length) return NaN;
  return Math.exp(probs.reduce((sum, p) => sum - Math.log(Math.max(p, 1e-45)), 0) / probs.length);
}

export function copyShare(copied) {
  return copied.length ? copied.filter(Boolean).length / copied.length : NaN;
}

// Per token: whether it lies in any copied n-gram (gram i covers tokens i .. i + n - 1), for highlighting.
export function copiedTokens(copied, length, n = 4) {
  const mask = new Array(length).fill(false);
  copied.forEach((hit, i) => { if (hit) mask.fill(true, i, i + n); });
  return mask;
}
