"""Perplexity of a saved model on a corpus split, from the command line.

    python -m lm.evaluate --model assets/oz-lstm --dataset ../shared/corpora/oz --split test
    python -m lm.evaluate --model user/repo --dataset KaungHtetCho/Harry_Potter_LSTM --split test

It prints two figures: the notebook's (`valid()`: the split cut into --batch-size streams, read
--seq-len tokens at a time with the state carried over; batch 128, seq_len 50 by default, so the
figure compares with the notebook's 83.111), and the stricter one papers report (batch 1: the
whole split as one stream). The split's raw lines are encoded with the MODEL's vocabulary, so a
model trained on another corpus still evaluates: words it does not know become `<unk>` (and are
scored as `<unk>`, as the notebook does); the output says how many tokens that was.

Bad input (a missing model or corpus, a missing split, a split too short for the batch) is one
line on stderr and exit status 2.

Run it as a program (`python -m lm.evaluate`), never `import lm.evaluate`: the package exports a
FUNCTION `lm.evaluate` (from lm.perplexity), and importing this submodule would rebind the name
`lm.evaluate` to the module. For the same reason `lm/__init__.py` does not import it.
"""

import argparse
import math
import sys

from lm._cli import EXIT_BAD_INPUT, Parser, one_line

DTYPES = ("float32", "bfloat16")


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(
        prog="python -m lm.evaluate",
        description="Perplexity of a saved LSTM language model on one split of a corpus, with the notebook's "
                    "batching (batch 128, seq_len 50) and with batch 1 over the whole split.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, metavar="FOLDER_OR_REPO",
                   help="model folder (model.safetensors, config.json, vocab.json) or Hugging Face Hub repo id")
    p.add_argument("--dataset", required=True, metavar="ID_OR_FOLDER",
                   help="corpus: a Hub dataset id or a local folder with train/, validation/, test/ text files")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"], help="split to score")
    p.add_argument("--batch-size", type=int, default=128,
                   help="parallel streams for the notebook-style figure (the notebook's valid() used 128)")
    p.add_argument("--seq-len", type=int, default=50,
                   help="tokens per chunk, the state carried from chunk to chunk (the notebook used 50)")
    p.add_argument("--no-batch1", action="store_true",
                   help="skip the batch-1 figure (one stream through the whole split: slower on a big split)")
    p.add_argument("--dtype", default="float32", choices=DTYPES,
                   help="evaluate the model cast to this dtype (bfloat16: faster on CPUs with AVX512-BF16)")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of --model")
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.seq_len < 1:
        p.error(f"--seq-len must be >= 1, got {args.seq_len}")
    return args


def _quiet_datasets() -> None:
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except Exception:  # an older datasets: progress bars are only noise
        pass


def run(args) -> int:
    import torch

    from .data import batchify, count_unk, encode_lines, load_split_lines, num_chunks
    from .hub import load_pretrained
    from .perplexity import evaluate

    _quiet_datasets()
    model, vocab = load_pretrained(args.model, revision=args.revision)
    model = model.to(getattr(torch, args.dtype)).eval()
    ids = encode_lines(load_split_lines(args.dataset, args.split), vocab)  # (N,) <eos> after each line
    n, unk = ids.numel(), count_unk(ids, vocab)
    if n == 0:
        raise ValueError(f"the {args.split!r} split of {args.dataset!r} has no tokens")
    runs = [(args.batch_size, f"batch {args.batch_size}, seq_len {args.seq_len} (the notebook's valid())")]
    if not args.no_batch1:
        runs.append((1, f"batch 1, seq_len {args.seq_len} (the whole split as one stream)"))
    for batch_size, _ in runs:  # fail before printing anything
        if num_chunks(batchify(ids, batch_size).size(1), args.seq_len) == 0:
            raise ValueError(f"{n} tokens are too few to evaluate with batch_size={batch_size}, seq_len={args.seq_len}")
    print(f"model {args.model}: {model.num_parameters():,} parameters, vocab {len(vocab):,}, {args.dtype}")
    print(f"{args.dataset} {args.split}: {n:,} tokens (<eos> included), {unk:,} unknown to the model's vocab "
          f"({unk / n:.2%}), scored as <unk>")
    for batch_size, label in runs:
        ce = evaluate(model, ids, batch_size=batch_size, seq_len=args.seq_len)
        print(f"perplexity {math.exp(ce):.4f}  cross-entropy {ce:.6f} nats/token  {label}", flush=True)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as e:
        print(f"python -m lm.evaluate: error: {one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
