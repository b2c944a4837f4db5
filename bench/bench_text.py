"""Does the text read like a book? Line breaks and capitals in the bundled model's stories.

    python bench/bench_text.py                                   # the bundled model
    python bench/bench_text.py --model assets/oz-lstm --model /tmp/old-oz-lstm   # two models, same samples
    python bench/bench_text.py --corpus ../shared/corpora/oz     # and the books' own paragraph ends

For each model: 50 seeds x 4 prompts, 100 new tokens each at temperature 0.8 (stop_at_eos=False).
- Line breaks: the share of generated `<eos>` (a paragraph break) that follow a token other than
  . ! ? ' (a break in the middle of a sentence). Target: at most 10%. And the same share as the page
  shows the text: a break after one of the vocabulary's colon words reads "said:" (lm.Vocab.colons),
  the colon the books print there and the tokenizer drops.
- Casing: words whose display form is capitalised ("Dorothy") that appear in lower case in the
  text ("dorothy"). The one artefact: `tokenize` splits "don't" into don ' t, so a capitalised
  display form of a contraction's tail cannot show; none is counted.
- With --corpus, capitals after ! and ?: on the books' test split, how often the word after one
  shows with the books' case: with the vocabulary's lower-case words after them ('"Oh!" cried
  Dorothy', lm.Vocab.lower_after) and with a capital after every mark, as before they were learned.
- With --corpus, words with an apostrophe inside ("Cap'n", "o'clock"; not 's 't 've 're 'll 'd 'm):
  on the books' test split, how many the page writes as one word (lm.Vocab.tails).
"""

import argparse
import collections
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import lm  # noqa: E402

PROMPTS = ["The wizard looked at the map and said", "The lion was afraid, but",
           "Deep in the dark forest, the girl found", "The scarecrow sat on the fence and"]
ENDS = {".", "!", "?", "'"}


def measure(source: str, seeds: int, tokens: int, temperature: float) -> dict:
    model, vocab = lm.load_pretrained(source)
    breaks = mid = colon = lower = words = 0
    at_prompt = collections.Counter()  # mid-sentence breaks that are the first new token, by prompt
    after = collections.Counter()  # the words mid-sentence breaks come after
    examples = []
    for prompt in PROMPTS:
        for seed in range(seeds):
            g = lm.generate(model, vocab, prompt, tokens, temperature=temperature, seed=seed, stop_at_eos=False)
            before = (g.prompt_tokens[-1:] or ["<eos>"]) + g.tokens[:-1]
            for i, (prev, token) in enumerate(zip(before, g.tokens)):
                if token == "<eos>":
                    breaks += 1
                    if prev not in ENDS:
                        mid += 1
                        colon += prev in vocab.colons  # shown as "said:" and a break (lm.Vocab.colons)
                        after[prev] += 1
                        at_prompt[prompt] += i == 0
            for word in re.findall(r"[^\W\d_][\w'-]*", g.continuation):
                words += 1
                form = vocab.shown(word.lower())
                if form != form.lower() and word == word.lower():
                    lower += 1
                    examples.append(word)
    return {"breaks": breaks, "mid": mid, "colon": colon, "share": mid / max(breaks, 1), "words": words, "lower": lower,
            "examples": sorted(set(examples))[:10],
            "after": after.most_common(5), "at_prompt": dict(at_prompt)}


def books_next(source: str, words: list[str], split: str = "train") -> tuple[int, int]:
    """How often the books end a paragraph right after `words` (a prompt's last words): (breaks, occurrences)."""
    from lm.data import load_split_lines

    n, hits, breaks = len(words), 0, 0
    for tokens in map(lm.tokenize, load_split_lines(source, split)):
        tokens = tokens + ["<eos>"]
        for i in range(len(tokens) - n):
            if tokens[i:i + n] == words:
                hits += 1
                breaks += tokens[i + n] == "<eos>"
    return breaks, hits


def books_share(source: str, split: str = "train") -> tuple[int, int, collections.Counter, collections.Counter]:
    """The books' own paragraphs: how many end in a token other than . ! ? ', how many there are, and for
    those, the counts of their last token and of it where the printed paragraph ends in a colon.
    The measure cannot fairly go below this: "he said" before a quoted paragraph, chapter headings,
    "by L. Frank Baum" end paragraphs in the books too. The colon is the tokenizer's blind spot:
    basic_english drops it, so "he said:" before a quoted paragraph ends in the token "said"."""
    from lm.data import load_split_lines

    ends, colons, total = collections.Counter(), collections.Counter(), 0
    for line in load_split_lines(source, split):
        tokens = lm.tokenize(line)
        total += bool(tokens)
        if tokens and tokens[-1] not in ENDS:
            ends[tokens[-1]] += 1
            colons[tokens[-1]] += line.rstrip().endswith(":")
    return ends.total(), total, ends, colons


def books_case_after_marks(source: str, printing: lm.text.Printing, split: str = "test") -> tuple[int, int, int]:
    """The words right after ! or ? in the books (past quotes and brackets), and how many of them
    `printing` shows in the books' case (capital or not): with its lower-case words, and without them."""
    from lm.data import load_split_lines

    capitals = lm.text.Printing(printing.display, printing.colons)  # a capital after every mark
    n = right = right_before = 0
    for line in load_split_lines(source, split):
        cased = lm.tokenize_cased(line)
        shown = [lm.text.Detokenizer(p) for p in (printing, capitals)]
        mark = None
        for token in cased:
            pieces = [d.add(token.lower()).lstrip() for d in shown]
            if token in ("!", "?", "."):
                mark = token if token != "." else None
            elif lm.text.is_word(token):
                if mark and token[:1].isalpha():
                    n += 1
                    right += pieces[0][:1].isupper() == token[:1].isupper()
                    right_before += pieces[1][:1].isupper() == token[:1].isupper()
                mark = None
    return n, right, right_before


def books_tails(source: str, printing: lm.text.Printing, split: str = "test") -> tuple[int, int]:
    """Words of the books with an apostrophe inside but not a contraction every vocabulary joins ("Cap'n"),
    and how many of them `printing` writes as one word."""
    from lm.data import load_split_lines

    tails = [t.lower() for line in load_split_lines(source, split) for t in re.findall(r"(?<=\w)'(\w+)", line)]
    tails = [t for t in tails if t not in lm.text.SUFFIXES]
    return len(tails), sum(t in printing.tails for t in tails)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", help="model folder or Hub id (repeat to compare); "
                                                     "default: assets/oz-lstm")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--tokens", type=int, default=100)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--corpus", help="also measure the books themselves (a corpus folder or dataset id), e.g. "
                                    "../shared/corpora/oz")
    args = p.parse_args(argv)
    if args.corpus:
        for split in ("train", "test"):
            mid, total, ends, colons = books_share(args.corpus, split)
            print(f"the books ({args.corpus}, {split}): {mid} of {total} paragraphs end mid-sentence "
                  f"({mid / total:.1%}); {colons.total()} of those end in a colon as printed, which the "
                  f"tokenizer drops (after 'said': {colons['said']} of {ends['said']})")
    for source in args.model or [str(ROOT / "assets" / "oz-lstm")]:
        if args.corpus:
            printing = lm.load_pretrained(source)[1].printing
            n, right, before = books_case_after_marks(args.corpus, printing)
            print(f"{source}: the books' test split, words after ! or ?: {right} of {n} shown in the books' case "
                  f"({right / max(n, 1):.1%}); with a capital after every mark {before} ({before / max(n, 1):.1%})")
            n, joined = books_tails(args.corpus, printing)
            print(f"  words with an apostrophe inside, not 's 't 've 're 'll 'd 'm (Cap'n, o'clock): {joined} of {n} "
                  f"written as one word ({joined / max(n, 1):.0%}); before tails were learned, none")
        r = measure(source, args.seeds, args.tokens, args.temperature)
        print(f"{source}: {r['mid']} of {r['breaks']} generated paragraph breaks mid-sentence ({r['share']:.1%}, "
              f"target <= 10%); {r['lower']} of {r['words']} words in lower case though their display form is "
              f"capitalised{' (' + ', '.join(r['examples']) + ')' if r['examples'] else ''}")
        print("  mid-sentence breaks most often follow: " + ", ".join(f"{w} ({n})" for w, n in r["after"]))
        rest = r["mid"] - r["colon"]
        print(f"  {r['colon']} of them follow a word the page shows with a colon before a break (\"said:\"; "
              f"lm.Vocab.colons); as shown, {rest} of {r['breaks']} breaks are mid-sentence "
              f"({rest / max(r['breaks'], 1):.1%})")
        first = sum(r["at_prompt"].values())
        print(f"  of them right after the prompt (the first new token): {first}; inside the new text: "
              f"{r['mid'] - first} of {r['breaks'] - first} ({(r['mid'] - first) / max(r['breaks'] - first, 1):.1%})")
        for prompt, n in r["at_prompt"].items():
            if n and args.corpus:
                last = lm.tokenize(prompt)[-2:]
                b, hits = books_next(args.corpus, last)
                print(f"  after {prompt!r}: {n} of {args.seeds} stories start with a break; the books break "
                      f"after {' '.join(last)!r} {b} of {hits} times ({b / max(hits, 1):.0%})")


if __name__ == "__main__":
    main()
