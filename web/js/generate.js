// lm.generation in JavaScript: read the prompt once after <eos>, then one token per step carrying the state.
// No DOM here: page.js shows what these yield.

import { EOS, Story } from "./text.js";
import { stepOf } from "./inspect.js";
import { Rng, argmax, distribution, draw, entropyBits } from "./sampler.js";

export async function readPrompt(model, words, tokenizer, prompt) {
  const tokens = tokenizer.tokenize(prompt);
  const ids = [words.eos, ...words.encode(tokens)];
  let state = model.zeroState(1);
  let logits;
  for (const id of ids) ({ logits: [logits], state } = await model.step([id], state));
  return { tokens, unknown: tokens.filter((t) => !words.has(t)), logits, state };
}

export function masked(logits, unk) { // <unk> is never written
  const x = Float32Array.from(logits);
  x[unk] = -Infinity;
  return x;
}

// The draw of one word from the model's `logits` with the step's random number `u`, as lm.stepping makes it
// (rolled at every step, greedy ones too): the word drawn is `.drawn`, the rest is what the page shows of it.
export function drawStep(words, logits, u, temperature, topK, topP, position) {
  const x = masked(logits, words.unk);
  const probs = temperature === 0 ? null : distribution(x, temperature, topK, topP);
  const id = probs === null ? argmax(x) : draw(probs, u);
  return stepOf(words, logits, x, probs, u, id, temperature, position);
}

// Like lm.stream: yields {token, prob, rank, text (its piece), story (the text so far), step (the draw:
// inspect.js)}; prob is the model's own chance of the token (before temperature), rank its place. With
// `stopAtEos` it ends when the paragraph does (the <eos> drawn is not yielded).
export async function* stream(model, words, tokenizer, prompt, { maxNewTokens, temperature, topK = 0, topP = 1, seed,
  stopAtEos = false }) {
  const start = await readPrompt(model, words, tokenizer, prompt);
  const rng = new Rng(seed);
  const story = new Story(prompt, start.tokens, words, tokenizer);
  let { logits, state } = start;
  for (let step = 0; step < maxNewTokens; step++) {
    const drawn = drawStep(words, logits, rng.uniform(), temperature, topK, topP, step); // kept: "inspect a word"
    const { token, modelProb: prob, rank } = drawn.drawn;
    if (stopAtEos && token === EOS) break;
    yield { token, prob, rank, text: story.add(token), story: story.text, step: drawn };
    if (step === maxNewTokens - 1) break;
    ({ logits: [logits], state } = await model.step(words.encode([token]), state));
  }
}

// Like lm.sweep(..., stop_at_eos=False): one row per temperature, each with its own generator seeded
// alike, so at every step all rows use the same random number. Yields {texts} for the prompt, then after each
// step {texts, pieces, steps}: each row's text so far, its new piece and its draw (inspect.js).
export async function* sweep(model, words, tokenizer, prompt, temperatures, { maxNewTokens, seed }) {
  const start = await readPrompt(model, words, tokenizer, prompt);
  const rows = temperatures.length;
  const rngs = temperatures.map(() => new Rng(seed));
  const stories = temperatures.map(() => new Story(prompt, start.tokens, words, tokenizer));
  let logits = temperatures.map(() => start.logits);
  let state = model.repeatState(start.state, rows);
  yield { texts: stories.map((s) => s.text) };
  for (let step = 0; step < maxNewTokens; step++) {
    const steps = temperatures.map((t, r) => drawStep(words, logits[r], rngs[r].uniform(), t, 0, 1, step));
    const pieces = steps.map((d, r) => stories[r].add(d.drawn.token));
    yield { texts: stories.map((s) => s.text), pieces, steps };
    if (step === maxNewTokens - 1) break;
    ({ logits, state } = await model.step(words.encode(steps.map((d) => d.drawn.token)), state));
  }
}

// Like lm.next_token_distribution: the `top` likeliest next tokens and, per temperature, their
// probabilities after temperature (and top-k/top-p) and the entropy of all it would draw from.
export async function nextTokenDistribution(model, words, tokenizer, prompt, temperatures, top, { topK = 0, topP = 1 } = {}) {
  const { logits } = await readPrompt(model, words, tokenizer, prompt);
  const x = masked(logits, words.unk);
  const order = Array.from(x.keys()).sort((a, b) => x[b] - x[a] || a - b).slice(0, Math.min(top, x.length - 1));
  const tokens = order.map((i) => words.itos[i]);
  const shown = tokens.map((t) => words.form(t, false)); // "dorothy" -> "Dorothy", as lm's Distribution.words
  return temperatures.map((t) => {
    const probs = distribution(x, t, topK, topP); // temperature 0: all on the favourite
    return { temperature: t, tokens, words: shown, probs: order.map((i) => probs[i]), entropy: entropyBits(probs) };
  });
}
