// lm.ngrams in JavaScript: which 4-grams of token ids the books hold, from model/ngrams.safetensors (a Bloom
// filter: k bits per 4-gram at (h1 + i * h2) mod m, no false negatives, ~1% false positives). The hash is
// murmur3's 32-bit finaliser chained over the ids, as lm.ngrams.hash_ngrams computes it exactly in int64;
// Math.imul is the same product mod 2**32. tests/test_web_wholetext.py checks every answer against lm's.

const FORMAT = "lm-ngrams";
const HASH = "fmix32-chain-v1";
const SEEDS = [0x9747b28c, 0x5bd1e995];

function fmix32(h) {
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function hashGram(ids, start, n, seed) { // lm.ngrams.hash_ngrams for ids[start .. start + n - 1]
  let h = seed >>> 0;
  for (let j = start; j < start + n; j++) h = fmix32((h ^ ids[j]) >>> 0);
  return fmix32((h ^ n) >>> 0); // the length too
}

export class NgramIndex {
  // The file's bytes (safetensors: an 8-byte header length, a JSON header, then the tensor "bits"). Anything
  // not written by lm's NgramIndex.save for a vocabulary of `vocabSize` is an Error naming what is wrong.
  static parse(bytes, vocabSize) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
    const meta = header.__metadata__ ?? {};
    if (meta.format !== FORMAT || meta.hash !== HASH) throw new Error(`not an n-gram index of ${HASH} (${meta.format}, ${meta.hash})`);
    const [n, k, m, size] = ["n", "k", "m_bits", "vocab_size"].map((key) => Number(meta[key]));
    const bits = header.bits;
    if (!bits || bits.dtype !== "U8" || bits.shape[0] !== Math.ceil(m / 8)) throw new Error(`expected ${Math.ceil(m / 8)} bytes of bits`);
    if (size !== vocabSize) throw new Error(`the n-gram index was built with another vocabulary (${size} tokens, not ${vocabSize})`);
    const [a, b] = bits.data_offsets;
    return new NgramIndex(bytes.subarray(8 + length + a, 8 + length + b), n, k, m);
  }

  constructor(bits, n, k, m) {
    Object.assign(this, { bits, n, k, m });
  }

  // Whether ids[start .. start + n - 1] is (probably) in the books: all its k bits set.
  contains(ids, start) {
    const h1 = hashGram(ids, start, this.n, SEEDS[0]);
    const h2 = (hashGram(ids, start, this.n, SEEDS[1]) % Math.max(this.m - 1, 1)) + 1; // never 0: k distinct bits
    for (let i = 0; i < this.k; i++) {
      const pos = (h1 + i * h2) % this.m; // under 2**38: exact in a double
      if (!((this.bits[Math.floor(pos / 8)] >> (pos % 8)) & 1)) return false;
    }
    return true;
  }

  // NgramIndex.copied: for each n-gram of `ids` in order, whether the books hold it (L ids -> L - n + 1 answers).
  copied(ids) {
    return Array.from({ length: Math.max(ids.length - this.n + 1, 0) }, (_, i) => this.contains(ids, i));
  }
}
