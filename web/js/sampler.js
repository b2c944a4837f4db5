// lm.sampling in JavaScript: temperature, top-k, top-p (Hugging Face semantics), an inverse-CDF draw.
//
// Reproducible everywhere: the random numbers are torch's (mt19937, 32-bit integer arithmetic), and
// every probability from `expm`, built of + - * / only (IEEE-exact in every engine, unlike Math.exp),
// summed in float64. Temperature 0 is greedy: the first largest logit, as torch.argmax.

export const MIN_TEMPERATURE = 1e-6; // positive temperatures below this sample greedily (lm.sampling)

// torch's CPU generator (mt19937, as lm.sampling.make_generator seeds it): one per seed (an integer 0 ..
// 2**32 - 1); uniform() is torch.rand((), dtype=torch.float64, generator=g): the same numbers as the server
// rolls, so a seed writes the same text here as on the Gradio page and in lm.
const N = 624;
export class Rng {
  constructor(seed) {
    this.mt = new Uint32Array(N);
    this.mt[0] = seed >>> 0; // torch keeps the seed's low 32 bits
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.i = N;
  }

  next32() {
    const mt = this.mt;
    if (this.i >= N) { // the next 624 numbers at once, as mt19937 makes them
      for (let k = 0; k < N; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
        mt[k] = mt[(k + 397) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = mt[this.i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  uniform() { // torch's random64() (the first number high) keeps its low 53 bits, times 2**-53
    const hi = this.next32() & 0x1fffff;
    const lo = this.next32();
    return (hi * 4294967296 + lo) / 9007199254740992;
  }
}

const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
const SCALE = new Float64Array(1);
const SCALE_BITS = new Uint32Array(SCALE.buffer);

// e**x for x <= 0 (a logit minus the largest), to ~1 ulp, the same in every engine.
export function expm(x) {
  if (!(x > -708)) return 0; // -Infinity (a removed token) and anything below the smallest normal
  const k = Math.round(x / Math.LN2);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| <= 0.35
  let p = 1 / 6227020800; // Taylor series to r**13 / 13!
  for (let n = 12; n >= 1; n--) p = p * r + FACTORIAL_INV[n];
  p = p * r + 1;
  SCALE_BITS[0] = 0;
  SCALE_BITS[1] = (k + 1023) << 20; // 2**k, exactly (little-endian: the high word second)
  return p * SCALE[0];
}

const FACTORIAL_INV = (() => {
  const f = [1];
  for (let n = 1; n <= 13; n++) f.push(f[n - 1] / n);
  return f;
})();

export function argmax(x) {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

// filter_logits: divide by temperature, keep the top-k, then the top-p nucleus; removed entries are -Infinity.
export function filterLogits(logits, temperature, topK = 0, topP = 1) {
  const n = logits.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = logits[i] / temperature;
  if (topK > 0 && topK < n) {
    const kth = Float64Array.from(x).sort()[n - topK]; // the k-th largest; ties with it stay
    for (let i = 0; i < n; i++) if (x[i] < kth) x[i] = -Infinity;
  }
  if (topP < 1) {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b] || a - b); // ascending
    const probs = softmax(Float64Array.from(order, (i) => x[i]));
    let mass = 0;
    for (let j = 0; j < n - 1; j++) { // the most likely token always stays
      mass += probs[j];
      if (mass <= 1 - topP) x[order[j]] = -Infinity;
      else break;
    }
  }
  return x;
}

export function softmax(x) {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  const p = new Float64Array(x.length);
  let total = 0;
  for (let i = 0; i < x.length; i++) total += p[i] = expm(x[i] - max);
  for (let i = 0; i < x.length; i++) p[i] /= total;
  return p;
}

// lm.sampling.draw: the first token whose cumulative mass exceeds u * total.
// lm.sampling.ticket_order: the DRAW_FIRST likeliest ids, best first (ties: the lower id first).
export const DRAW_FIRST = 10;

export function ticketOrder(probs, first = DRAW_FIRST) {
  const top = [];
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (top.length === first) {
      if (!(p > probs[top[first - 1]])) continue;
      top.pop();
    }
    let j = top.length;
    top.push(i);
    for (; j > 0 && probs[top[j - 1]] < p; j--) top[j] = top[j - 1];
    top[j] = i;
  }
  return top;
}

// lm.sampling.draw: u * total lands on the ticket strip, the likeliest words first, then the rest in id order.
export function draw(probs, u) {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  if (!(total > 0 && Number.isFinite(total))) throw new Error("the probabilities hold nan or inf, or no mass");
  const target = u * total;
  const top = ticketOrder(probs);
  let cdf = 0;
  let last = top[0];
  for (const i of top) {
    cdf += probs[i];
    if (probs[i] > 0) last = i;
    if (cdf > target) return i;
  }
  const named = new Set(top);
  for (let i = 0; i < probs.length; i++) {
    if (named.has(i) || !(probs[i] > 0)) continue;
    cdf += probs[i];
    last = i;
    if (cdf > target) return i;
  }
  return last; // u * total rounded up to the total: the strip's last word with any chance
}

export function distribution(logits, temperature, topK = 0, topP = 1) {
  if (temperature === 0) {
    const p = new Float64Array(logits.length);
    p[argmax(logits)] = 1;
    return p;
  }
  return softmax(filterLogits(logits, temperature, topK, topP));
}

// One token, rolling `rng` once whatever the temperature (as lm: columns with one seed share their dice);
// at temperature 0 the number is unused and the pick is greedy.
export function sampleNext(logits, temperature, rng, topK = 0, topP = 1) {
  const u = rng.uniform();
  if (temperature === 0) return argmax(logits);
  return draw(distribution(logits, temperature, topK, topP), u);
}

export function entropyBits(probs) {
  let h = 0;
  for (const p of probs) if (p > 0) h -= p * Math.log2(p);
  return Math.max(h, 0);
}

export function checkTemperature(t) {
  return t < MIN_TEMPERATURE ? 0 : t;
}
