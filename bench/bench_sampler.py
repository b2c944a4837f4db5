"""What the ticket strip costs: the sampler's draw walking the ten likeliest words first (lm.sampling.draw)
against the plain draw in id order it replaced, and both against one model step, in one run.

    python bench/bench_sampler.py                     # notebook-size vocabulary (9,803), batch 1 and 11
    python bench/bench_sampler.py --model assets/oz-lstm

The strip is what "Be the sampler" shows: if it orders words by probability, the sampler must draw in that
order too, or the landing point on the page would not be the one that picked the word. A full sort per step
would do it too; its cost is printed for comparison. Prints a markdown table of best-of-rounds times and
ratios; the target (issue 12) is that the sampler's share of a step stays small and the speed targets of
bench_generate.py still hold.
"""

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import lm  # noqa: E402
from lm.sampling import draw, filter_logits  # noqa: E402


def id_order_draw(probs, u):
    """The draw before the strip: inverse CDF in id order."""
    cdf = probs.cumsum(dim=-1, dtype=torch.float64)  # (B, V)
    x = (u * cdf[:, -1])[:, None]  # (B, 1)
    return torch.searchsorted(cdf, x, right=True)[:, 0].clamp_(max=probs.size(-1) - 1)


def sorted_draw(probs, u):
    """A strip of every word by probability: a full sort per step."""
    values, order = probs.sort(dim=-1, descending=True)  # (B, V)
    return order.gather(1, id_order_draw(values, u)[:, None])[:, 0]


def best(fn, n=200, rounds=5) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return min(times)


def row(model, b: int, V: int) -> str:
    """One table row: batch b, every time per step."""
    gen = torch.Generator().manual_seed(b)
    logits = torch.randn(b, V, generator=gen) * 4  # (B, V) spread like a trained model's
    u = torch.rand(b, generator=gen, dtype=torch.float64)  # (B,)
    temps = torch.full((b,), 0.8)
    hidden, ids = model.init_hidden(b), torch.zeros(b, dtype=torch.long)
    with torch.no_grad():
        step = best(lambda: model.step(ids, hidden), n=20)
    strip = best(lambda: draw(filter_logits(logits, temps).softmax(dim=-1), u))
    plain = best(lambda: id_order_draw(filter_logits(logits, temps).softmax(dim=-1), u))
    full = best(lambda: sorted_draw(filter_logits(logits, temps).softmax(dim=-1), u))
    return (f"| {b} | {step * 1e3:.2f} ms | {strip * 1e6:.0f} us | {plain * 1e6:.0f} us | {full * 1e6:.0f} us | "
            f"{100 * strip / step:.1f}% (+{100 * (strip - plain) / step:.1f}% over id order) |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model folder (default: a random notebook-size model)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model:
        model, _ = lm.load_pretrained(args.model)
    else:
        model = lm.LSTMLanguageModel(lm.LMConfig(vocab_size=9803, emb_dim=400, hid_dim=1150, num_layers=3)).eval()
    V = model.config.vocab_size
    print(f"vocabulary {V:,}, {args.threads} thread(s), times per step (best of rounds)\n")
    print("| batch | model.step | softmax + draw (strip) | id-order draw | full-sort draw | strip / step |")
    print("|---|---|---|---|---|---|")
    for b in (1, 11):
        print(row(model, b, V))


if __name__ == "__main__":
    main()
