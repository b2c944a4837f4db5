"""Does the text read like a book? Line breaks and capitals in the bundled model's stories.

    python bench/bench_text.py                                   # the bundled model
    python bench/bench_text.py --model assets/oz-lstm --model /tmp/old-oz-lstm   # two models, same samples

For each model: 50 seeds x 4 prompts, 100 new tokens each at temperature 0.8 (stop_at_eos=False).
- Line breaks: the share of generated `<eos>` (a paragraph break) that follow a token other than
  . ! ? ' (a break in the middle of a sentence). Target: at most 10%.
- Casing: words whose display form is capitalised ("Dorothy") that appear in lower case in the
  text ("dorothy"). The one artefact: `tokenize` splits "don't" into don ' t, so a capitalised
  display form of a contraction's tail cannot show; none is counted.
"""

import argparse
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
    breaks = mid = lower = words = 0
    examples = []
    for prompt in PROMPTS:
        for seed in range(seeds):
            g = lm.generate(model, vocab, prompt, tokens, temperature=temperature, seed=seed, stop_at_eos=False)
            before = (g.prompt_tokens[-1:] or ["<eos>"]) + g.tokens[:-1]
            for prev, token in zip(before, g.tokens):
                if token == "<eos>":
                    breaks += 1
                    mid += prev not in ENDS
            for word in re.findall(r"[^\W\d_][\w'-]*", g.continuation):
                words += 1
                form = vocab.shown(word.lower())
                if form != form.lower() and word == word.lower():
                    lower += 1
                    examples.append(word)
    return {"breaks": breaks, "mid": mid, "share": mid / max(breaks, 1), "words": words, "lower": lower,
            "examples": sorted(set(examples))[:10]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", help="model folder or Hub id (repeat to compare); "
                                                     "default: assets/oz-lstm")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--tokens", type=int, default=100)
    p.add_argument("--temperature", type=float, default=0.8)
    args = p.parse_args(argv)
    for source in args.model or [str(ROOT / "assets" / "oz-lstm")]:
        r = measure(source, args.seeds, args.tokens, args.temperature)
        print(f"{source}: {r['mid']} of {r['breaks']} generated paragraph breaks mid-sentence ({r['share']:.1%}, "
              f"target <= 10%); {r['lower']} of {r['words']} words in lower case though their display form is "
              f"capitalised{' (' + ', '.join(r['examples']) + ')' if r['examples'] else ''}")


if __name__ == "__main__":
    main()
