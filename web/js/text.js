// lm.text.detokenize and lm.Generation's continuation/piece in JavaScript: model tokens back to text.
//
// Words take their forms from words.json (export.py): `shown` (lm.text.shown: "dorothy" -> "Dorothy")
// and `capital` (lm.text.capitalise of that form, for a sentence start), by token id; `colons`: the words
// shown with a colon before a paragraph break (lm.Vocab.colons: "said" -> "said:"); `lower_after`: by mark,
// the words shown in lower case after it (lm.Vocab.lower_after: "Oh! cried Dorothy"); `tails`: the words
// that finish the word before an apostrophe, as 's 't 've ... do (lm.Vocab.tails: "Cap'n").

export const EOS = "<eos>";
const NO_SPACE_BEFORE = new Set([".", ",", "!", "?", ")", ";", ":", "'"]);
const NO_SPACE_AFTER = new Set(["("]);
const SENTENCE_END = new Set([".", "!", "?"]);
const SUFFIXES = new Set(["s", "t", "ve", "re", "ll", "d", "m"]);
const OPENING = /^[\[{«‹‘‚‛“„‟]*$/u;

// lm.text.ends_open: typed text that ends with a bracket, an opening quote, or a straight quote with nothing
// or a space before it ('he said, "') opens what comes next, so no space follows it.
const OPENS = /^[\[{«‹‘‚‛“„‟(]$/u;
export function endsOpen(prompt, tokenizer) {
  const chars = Array.from(prompt);
  const last = chars.at(-1);
  if (last === undefined) return false;
  if (OPENS.test(last)) return true;
  return (last === '"' || last === "'") && (chars.length === 1 || tokenizer.isSpace(chars.at(-2)));
}

export function isWord(token) {
  return !NO_SPACE_BEFORE.has(token) && !NO_SPACE_AFTER.has(token) && !OPENING.test(token);
}

export class Words {
  constructor(payload) {
    if (!payload || payload.format !== "lm-web-words") throw new Error("not an lm-web-words file");
    this.itos = payload.itos;
    this.shownForms = payload.shown;
    this.capitalForms = payload.capital;
    this.unk = payload.unk_index;
    this.eos = payload.eos_index;
    this.colons = new Set(payload.colons ?? []);
    this.tails = new Set(payload.tails ?? []);
    this.lowerAfter = new Map(Object.entries(payload.lower_after ?? {}).map(([mark, w]) => [mark, new Set(w)]));
    this.stoi = new Map(this.itos.map((t, i) => [t, i]));
  }

  get size() {
    return this.itos.length;
  }

  encode(tokens) {
    return tokens.map((t) => this.stoi.get(t) ?? this.unk);
  }

  has(token) {
    return this.stoi.has(token);
  }

  form(token, capital) {
    const id = this.stoi.get(token);
    if (id === undefined) return token === "i" ? "I" : token; // a prompt word: its text is never written
    return capital ? this.capitalForms[id] : this.shownForms[id];
  }
}

// detokenize's state machine: the text of each token in turn, with the space before it.
export class Detokenizer {
  constructor(words) {
    this.words = words;
    this.capitaliseNext = true;
    this.glueNext = true;
    this.previous = null;
    this.mark = null; // the . ! or ? that ended the last sentence (null: a paragraph's start)
  }

  piece(token) {
    if (token === EOS) {
      const colon = this.words.colons?.has(this.previous) ? ":" : ""; // "he said:" before a quoted paragraph
      this.capitaliseNext = this.glueNext = true;
      this.previous = this.mark = null;
      return colon + "\n\n";
    }
    const suffix = this.previous === "'" && (SUFFIXES.has(token) || !!this.words.tails?.has(token));
    const space = this.glueNext || suffix || NO_SPACE_BEFORE.has(token) ? "" : " ";
    let word = token;
    if (!suffix && isWord(token)) {
      const lower = this.words.lowerAfter?.get(this.mark)?.has(token); // not '"Oh!" Cried Dorothy'
      word = this.words.form(token, this.capitaliseNext && !lower);
      this.capitaliseNext = false;
    }
    if (SENTENCE_END.has(token)) {
      this.capitaliseNext = true;
      this.mark = token;
    }
    this.glueNext = NO_SPACE_AFTER.has(token) || (token === "'" && this.glueNext); // "'Course" opens a paragraph
    this.previous = token;
    return space + word;
  }
}

export function detokenize(tokens, words, context = []) {
  const d = new Detokenizer(words);
  context.forEach((t) => d.piece(t));
  return tokens.map((t) => d.piece(t)).join("");
}

// The text a stream shows: the prompt as typed, then each new token's piece (lm.Generation.piece).
export class Story {
  constructor(prompt, promptTokens, words, tokenizer) {
    this.prompt = prompt;
    this.text = prompt;
    this.count = 0;
    this.stripFirst = prompt.length > 0 && (tokenizer.isSpace(Array.from(prompt).pop()) || endsOpen(prompt, tokenizer));
    this.typedColon = /:\s*$/u.test(prompt); // lm.Generation._lead: the prompt brings its own colon
    this.detok = new Detokenizer(words);
    promptTokens.forEach((t) => this.detok.piece(t));
  }

  add(token) {
    let piece = this.detok.piece(token);
    if (this.count === 0 && this.typedColon) piece = piece.replace(/^:/, "");
    if (this.count === 0 && this.stripFirst) piece = piece.replace(/^ +/, "");
    this.count += 1;
    this.text += piece;
    return piece;
  }
}
