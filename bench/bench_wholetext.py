"""What the "Whole texts" tab costs and shows, and what the n-gram index weighs and how often it errs.

    python bench/bench_wholetext.py                                    # the bundled model, 40 tokens
    python bench/bench_wholetext.py --dataset ../shared/corpora/oz      # also the measured false-positive rate

Prints: the index's size and stated / predicted false-positive rate; with --dataset, the rate measured on
random 4-grams of the vocabulary that the train split does not hold; the action's time (the batched sweep
and the whole action with the figure rendered to PNG, as Gradio does), median of --runs; and the
measures per temperature. Other load on the machine slows the sweep a lot: the load average is printed.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def false_positive_rate(index, vocab, dataset, samples: int = 400_000) -> tuple[float, int]:
    import torch

    from lm.data import encode_lines, load_split_lines
    from lm.ngrams import ngrams_of

    known = set(map(tuple, ngrams_of(encode_lines(load_split_lines(dataset, "train"), vocab), 4).tolist()))
    probe = torch.randint(0, len(vocab), (samples, 4), generator=torch.Generator().manual_seed(0))  # (N, 4)
    probe = probe[torch.tensor([tuple(g) not in known for g in probe.tolist()])]
    return index.contains(probe).float().mean().item(), probe.size(0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "assets" / "oz-lstm"))
    p.add_argument("--dataset", default=None, help="the corpus the model was trained on (for the measured rate)")
    p.add_argument("--tokens", type=int, default=40)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", default="42")
    args = p.parse_args()

    import lm
    from page_wholetext import DEFAULT_TEMPERATURES, WholeTexts

    model, vocab = lm.load_pretrained(args.model)
    index = lm.load_ngram_index(args.model, vocab)
    if index is not None:
        print(f"index: {index.items:,} distinct 4-grams, {index.size_bytes / 2**20:.2f} MiB, k={index.k}, "
              f"stated fp {index.fp_rate:.2%}, predicted by its fill {index.expected_fp_rate():.3%}")
        if args.dataset:
            rate, n = false_positive_rate(index, vocab, args.dataset)
            print(f"measured fp {rate:.3%} on {n:,} random 4-grams the train split does not hold")
    whole, prompt = WholeTexts(model, vocab, index), "The lion was afraid, but"
    whole.run(prompt, DEFAULT_TEMPERATURES, args.tokens, args.seed)  # warm-up
    sweeps, actions = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        whole._write(prompt, DEFAULT_TEMPERATURES, args.tokens, int(args.seed))
        t1 = time.perf_counter()
        fig, phone_fig, rows, _, _ = whole.run(prompt, DEFAULT_TEMPERATURES, args.tokens, args.seed)
        for figure in (fig, phone_fig):  # the page sends both as PNGs
            figure.savefig(io.BytesIO(), format="png")
        sweeps.append(t1 - t0)
        actions.append(time.perf_counter() - t1)
    print(f"{len(DEFAULT_TEMPERATURES)} temperatures x 20 samples x {args.tokens} tokens: sweep "
          f"{statistics.median(sweeps):.2f} s, whole action {statistics.median(actions):.2f} s (median of "
          f"{args.runs}; min {min(actions):.2f}) | load average {os.getloadavg()[0]:.1f}")
    headers = ["T", "distinct-2 %", "distinct-3 %", "repeated %", "perplexity"] + ["copied %"] * (index is not None)
    print(" | ".join(headers))
    for row in rows:
        print(" | ".join(f"{v:g}" for v in row))


if __name__ == "__main__":
    main()
