// lm.tokenize (torchtext's basic_english) in JavaScript, equal to Python's for every string.
//
// Python's str.lower(), its final-sigma rule and its `\s` come from tables that export.py writes from
// the Python that exported the model (tokenizer.json), not from the browser's own Unicode data, so
// every browser splits text exactly as that Python does.

const SIGMA = 0x3a3;

function inRanges(ranges, c) {
  let lo = 0, hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < ranges[mid][0]) hi = mid - 1;
    else if (c > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function escapeClass(c) {
  return "\\u{" + c.toString(16) + "}";
}

export class Tokenizer {
  constructor(tables) {
    if (!tables || tables.format !== "lm-web-tokenizer") throw new Error("not an lm-web-tokenizer table");
    this.lowerMap = new Map(Object.entries(tables.lower).map(([k, v]) => [Number(k), v]));
    this.ignorable = tables.case_ignorable;
    this.cased = tables.cased;
    this.spaceSet = new Set(tables.space);
    const cls = "[" + tables.space.map(escapeClass).join("") + "]+";
    // basic_english's rules, in lm.text's order, after lower-casing; the last collapses whitespace.
    this.rules = [
      [/'/g, " '  "], [/"/g, ""], [/\./g, " . "], [/<[bB][rR] \/>/g, " "], [/,/g, " , "], [/\(/g, " ( "],
      [/\)/g, " ) "], [/!/g, " ! "], [/\?/g, " ? "], [/;/g, " "], [/:/g, " "], [new RegExp(cls, "gu"), " "],
    ];
  }

  // Python's str.isspace() of one character (a code point).
  isSpace(ch) {
    return ch.length > 0 && this.spaceSet.has(ch.codePointAt(0));
  }

  // Python's str.lower(): a capital sigma is final when a cased letter comes before it and none after
  // (case-ignorable characters skipped either way).
  lower(text) {
    const cps = Array.from(text, (ch) => ch.codePointAt(0));
    let out = "";
    for (let i = 0; i < cps.length; i++) {
      const c = cps[i];
      if (c === SIGMA) out += this.finalSigma(cps, i) ? "ς" : "σ";
      else out += this.lowerMap.get(c) ?? String.fromCodePoint(c);
    }
    return out;
  }

  finalSigma(cps, i) {
    let j = i - 1;
    while (j >= 0 && inRanges(this.ignorable, cps[j])) j--;
    if (j < 0 || !this.isCased(cps[j])) return false;
    j = i + 1;
    while (j < cps.length && inRanges(this.ignorable, cps[j])) j++;
    return j === cps.length || !this.isCased(cps[j]);
  }

  isCased(c) {
    return inRanges(this.cased, c) || c === SIGMA; // cased ranges leave out characters that are also ignorable
  }

  tokenize(text) {
    let line = this.lower(text);
    for (const [pattern, replacement] of this.rules) line = line.replace(pattern, replacement);
    return line.split(" ").filter((t) => t.length > 0);
  }
}
