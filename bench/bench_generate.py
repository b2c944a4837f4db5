"""Generation speed on this CPU, as ratios measured in one run (the targets of issue 2, section 7).

    python bench/bench_generate.py                       # random-init notebook-size model (36.9M)
    python bench/bench_generate.py --model assets/oz-lstm --dataset ../shared/corpora/oz

Everything compared is measured in the same process, in alternating rounds (bandwidth, fp32 step,
fp32 generate, fp32 sweep, the same in bfloat16, the notebook's algorithm), and each figure is the
best of its rounds, so a machine that is busy with something else slows all of them alike and the
ratios stay meaningful. It prints one markdown table with PASS/FAIL per target, and exits 1 if any
target fails.

What is measured:

- Read bandwidth: `buf.sum()` over a float32 buffer far larger than the last-level cache
  (--bandwidth-mb, 1 GiB by default), best of several, with the same thread count as generation.
- Bytes read per token (the "floor"): a batch-1 step reads every weight once from memory, so its
  time cannot go below (bytes read per token) / bandwidth. Counted: all LSTM weights and biases,
  the output layer's weight and bias, and ONE row of the embedding table (a step looks up one
  token; the rest of the table is not read). The hidden state (a few KB) is not counted. The fp32
  floor uses 4 bytes per value; the bfloat16 target is stated against that same fp32 floor.
- Per-token latency: `lm.generate` of --tokens new tokens (stop_at_eos=False, so every run has the
  same length) divided by the number of new tokens (prompt included in the time); and, for
  information, `model.step` alone in a loop at batch 1.
- The notebook's `generate()` as the baseline: it re-feeds the whole prefix through the model at
  every step, on top of the state carried from the previous step (quadratic time), with the same
  weights, prompt and temperature, under torch.no_grad. For equal lengths it does not stop at
  `<eos>`; its resample-while-`<unk>` loop is kept (capped at 1000 draws, where the notebook would
  hang). The 300-token baseline is timed once (it takes a minute or more); generate at 300 is
  timed just before and just after it.
- `lm.sweep` over the notebook's 11 temperatures against one `lm.generate` of the same length.
- bfloat16: a copy of the model cast with `model.to(torch.bfloat16)`, timed the same way. With
  --model and --dataset, also the perplexity of both models on --split (the model's vocab encodes
  the split's raw lines; unknown words become <unk>) with `lm.evaluate` (batch 128, seq_len 50).
"""

import argparse
import copy
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/bench_generate.py` from anywhere

import torch  # noqa: E402

import lm  # noqa: E402
from lm.sampling import NOTEBOOK_TEMPERATURES  # noqa: E402
from lm.text import tokenize  # noqa: E402
from lm.vocab import Vocab  # noqa: E402

NOTEBOOK_PROMPT = "Harry Potter is"

# Targets (issue 2, section 7).
FLOOR_RATIO_MAX = 1.5  # fp32 per-token latency / fp32 floor
SPEEDUP_MIN = {100: 10.0, 300: 30.0}  # generate vs the notebook's algorithm, by new tokens
SWEEP_RATIO_MAX = 4.0  # fp32 sweep of 11 / one fp32 generate
BF16_FLOOR_RATIO_MAX = 0.75  # bf16 per-token latency / fp32 floor
BF16_SWEEP_RATIO_MAX = 2.0  # bf16 sweep of 11 / one bf16 generate
BF16_PPL_REL_MAX = 0.01  # |ppl_bf16 / ppl_fp32 - 1|


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description="Benchmark lm.generate / lm.sweep / model.step against the memory-bandwidth floor, the "
                    "notebook's generate() and bfloat16, on CPU; prints a table of ratios with PASS/FAIL.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None, metavar="FOLDER_OR_REPO",
                   help="model folder or Hub repo id to bench (lm.load_pretrained); default: a randomly "
                        "initialised notebook-size model, LSTMLanguageModel(LMConfig(--vocab-size)))")
    p.add_argument("--vocab-size", type=int, default=9803,
                   help="vocabulary size of the random-init model (9803 = the notebook's, 36.9M parameters)")
    p.add_argument("--dataset", default=None, metavar="ID_OR_FOLDER",
                   help="corpus for the bfloat16 perplexity check (needs --model), e.g. ../shared/corpora/oz")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"],
                   help="split of --dataset for the perplexity check")
    p.add_argument("--eval-batch-size", type=int, default=128, help="perplexity batch size (the notebook's)")
    p.add_argument("--eval-seq-len", type=int, default=50, help="perplexity chunk length (the notebook's)")
    p.add_argument("--prompt", default=NOTEBOOK_PROMPT, help="prompt for every generation")
    p.add_argument("--temperature", type=float, default=0.7,
                   help="temperature of the single-sequence runs (generate, step loop, baseline)")
    p.add_argument("--tokens", type=int, default=100,
                   help="new tokens per timed generation (latency, sweep and the first baseline comparison)")
    p.add_argument("--long-tokens", type=int, default=300,
                   help="new tokens for the second baseline comparison (0 = skip it; it takes a minute or more)")
    p.add_argument("--repeats", type=int, default=7, help="alternating rounds; each figure is the best of them")
    p.add_argument("--baseline-repeats", type=int, default=2,
                   help="rounds (of --repeats) that also time the notebook's algorithm at --tokens (it is slow)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch.set_num_threads for everything timed (bandwidth included); 0 = leave torch's "
                        "default. Batch-1 generation is bound by one core's memory bandwidth, and a second "
                        "thread on a 2-core machine that is busy elsewhere makes oneDNN stall")
    p.add_argument("--bandwidth-mb", type=int, default=1024,
                   help="size of the buffer read to measure memory bandwidth (much larger than the L3 cache)")
    p.add_argument("--no-bf16", action="store_true", help="skip the bfloat16 measurements")
    p.add_argument("--seed", type=int, default=0, help="seed for the random-init weights and for sampling")
    args = p.parse_args(argv)
    if args.dataset and not args.model:
        p.error("--dataset needs --model (a random model's perplexity means nothing)")
    for name in ("tokens", "repeats", "baseline_repeats", "bandwidth_mb", "vocab_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.long_tokens < 0 or args.threads < 0:
        p.error("--long-tokens and --threads must be >= 0")
    return args


# ---------------------------------------------------------------------------------- measurements
def best_time(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def read_bandwidth(buf: torch.Tensor, repeats: int = 3) -> float:
    """Bytes per second that `buf.sum()` reads, best of `repeats`."""
    return buf.numel() * buf.element_size() / best_time(buf.sum, repeats)


def bytes_per_token(model, element_size: int) -> int:
    """What one batch-1 step reads: LSTM weights and biases, output layer, one embedding row."""
    n = sum(p.numel() for lstm in model.lstm for p in lstm.parameters())
    n += model.fc.weight.numel() + model.fc.bias.numel()
    n += model.embedding.weight.size(1)  # one row of the table
    return n * element_size


@torch.no_grad()
def step_loop(model, n: int, token_id: int) -> float:
    """Seconds per `model.step` at batch 1, feeding its own argmax back in."""
    hidden = model.init_hidden(1)
    token = torch.tensor([token_id])
    t0 = time.perf_counter()
    for _ in range(n):
        logits, hidden = model.step(token, hidden)
        token = logits.argmax(dim=-1)
    return (time.perf_counter() - t0) / n


@torch.no_grad()
def notebook_generate(prompt, max_seq_len, temperature, model, vocab, seed):
    """The notebook's generate(), on our model: the whole prefix is fed again at every step, on top
    of the state carried from the previous step. Changes for timing only: no stop at <eos> (equal
    lengths), a local generator instead of the global seed, the <unk> resample loop capped."""
    model.eval()
    indices = [vocab[t] for t in tokenize(prompt)]
    gen = torch.Generator().manual_seed(seed)
    hidden = model.init_hidden(1)
    for _ in range(max_seq_len):
        src = torch.LongTensor([indices])
        prediction, hidden = model(src, hidden)
        probs = torch.softmax(prediction[:, -1] / temperature, dim=-1)
        token = torch.multinomial(probs, num_samples=1, generator=gen).item()
        for _ in range(1000):  # the notebook: `while prediction == vocab['<unk>']` (may never end)
            if token != vocab.unk_index:
                break
            token = torch.multinomial(probs, num_samples=1, generator=gen).item()
        indices.append(token)
    return [vocab.itos[i] for i in indices]


# --------------------------------------------------------------------------------------- setup
def build_model(args):
    if args.model:
        model, vocab = lm.load_pretrained(args.model)
        return model.eval(), vocab, args.model
    torch.manual_seed(args.seed)
    model = lm.LSTMLanguageModel(lm.LMConfig(args.vocab_size)).eval()
    # A made-up vocabulary holding the prompt's words, so the prompt is not all <unk>.
    words = list(dict.fromkeys(w for w in tokenize(args.prompt) if w not in ("<unk>", "<eos>")))
    words = words[: args.vocab_size - 2]
    filler = [f"w{i}" for i in range(args.vocab_size - 2 - len(words))]
    vocab = Vocab(["<unk>", "<eos>"] + words + filler)
    return model, vocab, f"random init (seed {args.seed})"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


class Table:
    def __init__(self):
        self.rows, self.failed = [], []

    def add(self, what, value, target="", ratio="", ok=None):
        result = "" if ok is None else ("PASS" if ok else "FAIL")
        if ok is False:
            self.failed.append(what)
        self.rows.append((what, value, target, ratio, result))

    def print(self):
        head = ("measure", "value", "target", "ratio", "result")
        widths = [max(len(str(r[i])) for r in [head] + self.rows) for i in range(5)]
        line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
        print(line(head))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for r in self.rows:
            print(line(r))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model, vocab, source = build_model(args)
    prompt, n, T, seed = args.prompt, args.tokens, args.temperature, args.seed
    token_id = vocab.encode(tokenize(prompt))[-1] if tokenize(prompt) else vocab.eos_index
    bf16 = None if args.no_bf16 else copy.deepcopy(model).to(torch.bfloat16).eval()

    print(f"model: {source}, {model.num_parameters():,} parameters, vocab {len(vocab)}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, load average {os.getloadavg()[0]:.1f} at start")
    print(f"prompt {prompt!r}, {n} new tokens, temperature {T}, {args.repeats} rounds", flush=True)

    buf = torch.ones(args.bandwidth_mb * 2**20 // 4, dtype=torch.float32)  # touched: no page faults timed

    def gen(m, tokens):
        return lm.generate(m, vocab, prompt, max_new_tokens=tokens, temperature=T, seed=seed, stop_at_eos=False)

    def swp(m, tokens):
        return lm.sweep(m, vocab, prompt, list(NOTEBOOK_TEMPERATURES), max_new_tokens=tokens, seed=seed,
                        stop_at_eos=False)

    # Warm-up: packs the weights, allocates, and checks the lengths are what is timed.
    for m in (model, bf16):
        if m is not None:
            assert len(gen(m, n).tokens) == n
            assert all(len(g.tokens) == n for g in swp(m, n))
            step_loop(m, 3, token_id)
    notebook_generate(prompt, 2, T, model, vocab, seed)

    timings = {}

    def record(name, seconds):
        timings[name] = min(timings.get(name, math.inf), seconds)

    bandwidth = 0.0
    for r in range(args.repeats):
        bandwidth = max(bandwidth, read_bandwidth(buf))
        record("step32", step_loop(model, n, token_id))
        record("gen32", best_time(lambda: gen(model, n), 1))
        record("sweep32", best_time(lambda: swp(model, n), 1))
        if bf16 is not None:
            record("step16", step_loop(bf16, n, token_id))
            record("gen16", best_time(lambda: gen(bf16, n), 1))
            record("sweep16", best_time(lambda: swp(bf16, n), 1))
        if r < args.baseline_repeats:
            record("base", best_time(lambda: notebook_generate(prompt, n, T, model, vocab, seed), 1))
        bandwidth = max(bandwidth, read_bandwidth(buf))
        print(f"  round {r + 1}/{args.repeats} done", flush=True)
    del buf

    if args.long_tokens:
        record("gen32_long", best_time(lambda: gen(model, args.long_tokens), 1))
        print(f"  timing the notebook's algorithm at {args.long_tokens} tokens once ...", flush=True)
        record("base_long", best_time(lambda: notebook_generate(prompt, args.long_tokens, T, model, vocab, seed), 1))
        record("gen32_long", best_time(lambda: gen(model, args.long_tokens), 1))

    ppl = None
    if args.model and args.dataset and bf16 is not None:
        import datasets

        from lm.data import count_unk, encode_lines, load_split_lines

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()

        print(f"  perplexity on {args.dataset} {args.split} (fp32, then bf16) ...", flush=True)
        ids = encode_lines(load_split_lines(args.dataset, args.split), vocab)
        ce32 = lm.evaluate(model, ids, args.eval_batch_size, args.eval_seq_len)
        ce16 = lm.evaluate(bf16, ids, args.eval_batch_size, args.eval_seq_len)
        ppl = (math.exp(ce32), math.exp(ce16), ids.numel(), count_unk(ids, vocab))

    # --------------------------------------------------------------------------------- table
    nbytes = bytes_per_token(model, 4)
    floor = nbytes / bandwidth
    t = Table()
    t.add("read bandwidth (buf.sum, best)", f"{bandwidth / 1e9:.1f} GB/s")
    t.add("bytes read per token, fp32", f"{nbytes / 1e6:.1f} MB")
    t.add("fp32 floor per token", fmt_ms(floor))
    g32 = timings["gen32"] / n
    t.add(f"fp32 generate per token ({n} tok)", fmt_ms(g32), f"<= {FLOOR_RATIO_MAX}x floor",
          f"{g32 / floor:.2f}x", g32 / floor <= FLOOR_RATIO_MAX)
    t.add("fp32 model.step per token (loop)", fmt_ms(timings["step32"]), "info", f"{timings['step32'] / floor:.2f}x")
    base = timings["base"]
    t.add(f"notebook generate(), {n} tok", f"{base:.2f} s")
    t.add(f"generate speed-up at {n} tok", f"{timings['gen32'] * 1e3:.0f} ms",
          f">= {SPEEDUP_MIN.get(n, 10.0):g}x", f"{base / timings['gen32']:.1f}x",
          base / timings["gen32"] >= SPEEDUP_MIN.get(n, 10.0))
    if args.long_tokens:
        L = args.long_tokens
        bl, gl = timings["base_long"], timings["gen32_long"]
        t.add(f"notebook generate(), {L} tok (once)", f"{bl:.2f} s")
        t.add(f"generate speed-up at {L} tok", f"{gl * 1e3:.0f} ms", f">= {SPEEDUP_MIN.get(L, 30.0):g}x",
              f"{bl / gl:.1f}x", bl / gl >= SPEEDUP_MIN.get(L, 30.0))
    s32 = timings["sweep32"]
    t.add(f"fp32 sweep of 11 / generate ({n} tok)", f"{s32 * 1e3:.0f} ms", f"<= {SWEEP_RATIO_MAX:g}x",
          f"{s32 / timings['gen32']:.2f}x", s32 / timings["gen32"] <= SWEEP_RATIO_MAX)
    if bf16 is not None:
        g16 = timings["gen16"] / n
        t.add(f"bf16 generate per token ({n} tok)", fmt_ms(g16), f"<= {BF16_FLOOR_RATIO_MAX}x fp32 floor",
              f"{g16 / floor:.2f}x", g16 / floor <= BF16_FLOOR_RATIO_MAX)
        t.add("bf16 model.step per token (loop)", fmt_ms(timings["step16"]), "info",
              f"{timings['step16'] / floor:.2f}x")
        s16 = timings["sweep16"]
        t.add(f"bf16 sweep of 11 / generate ({n} tok)", f"{s16 * 1e3:.0f} ms", f"<= {BF16_SWEEP_RATIO_MAX:g}x",
              f"{s16 / timings['gen16']:.2f}x", s16 / timings["gen16"] <= BF16_SWEEP_RATIO_MAX)
        if ppl is not None:
            p32, p16, count, unk = ppl
            rel = abs(p16 / p32 - 1)
            t.add(f"{args.split} perplexity fp32 ({count:,} tokens, {unk:,} <unk>)", f"{p32:.3f}")
            t.add(f"{args.split} perplexity bf16", f"{p16:.3f}", f"within {BF16_PPL_REL_MAX:.0%} of fp32",
                  f"{rel:.2%}", rel <= BF16_PPL_REL_MAX)
        else:
            t.add("bf16 perplexity vs fp32", "not measured", f"within {BF16_PPL_REL_MAX:.0%}",
                  "needs --model and --dataset")
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    print()
    t.print()
    if t.failed:
        print(f"\nFAILED: {', '.join(t.failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
