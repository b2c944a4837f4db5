"""Perplexity of a saved model on one split of a corpus, from the command line.

    python evaluate.py --model assets/oz-lstm --dataset ../shared/corpora/oz --split test
    python evaluate.py --model user/repo --dataset KaungHtetCho/Harry_Potter_LSTM --split test

It prints two figures: the notebook's (`valid()`: the split cut into --batch-size streams, read
--seq-len tokens at a time with the state carried over; batch 128, seq_len 50 by default, so the
figure compares with the notebook's 83.111), and the stricter one papers report (batch 1: the whole
split as one stream). The split's raw lines are encoded with the MODEL's vocabulary, so a model
trained on another corpus still evaluates: words it does not know become `<unk>` (scored as `<unk>`,
as the notebook does); the output says how many tokens that was. Bad input is one line on stderr and
exit status 2.
"""

import argparse
import math
import sys

from lm.cli import Parser, add_model_arguments, run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(prog="evaluate.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
               description="Perplexity of a saved LSTM language model on one split of a corpus, with the notebook's "
                           "batching (batch 128, seq_len 50) and with batch 1 over the whole split.")
    add_model_arguments(p)
    p.add_argument("--dataset", required=True, metavar="ID_OR_FOLDER",
                   help="corpus: a Hub dataset id or a local folder with train/, validation/, test/ text files")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"], help="split to score")
    p.add_argument("--batch-size", type=int, default=128,
                   help="parallel streams for the notebook-style figure (the notebook's valid() used 128)")
    p.add_argument("--seq-len", type=int, default=50,
                   help="tokens per chunk, the state carried from chunk to chunk (the notebook used 50)")
    p.add_argument("--no-batch1", action="store_true",
                   help="skip the batch-1 figure (one stream through the whole split: slower on a big split)")
    return p.parse_args(argv)


def run(args) -> int:
    import datasets
    import torch

    import lm
    from lm.checks import check_int
    from lm.data import batchify, count_unk, encode_lines, load_split_lines, num_chunks

    check_int("batch_size", args.batch_size, 1)
    check_int("seq_len", args.seq_len, 1)
    datasets.disable_progress_bars()
    model, vocab = lm.load_pretrained(args.model, revision=args.revision)
    model = model.to(getattr(torch, args.dtype))
    ids = encode_lines(load_split_lines(args.dataset, args.split), vocab)  # (N,) <eos> after each line
    n, unk = ids.numel(), count_unk(ids, vocab)
    runs = [(args.batch_size, f"batch {args.batch_size}, seq_len {args.seq_len} (the notebook's valid())")]
    if not args.no_batch1:
        runs.append((1, f"batch 1, seq_len {args.seq_len} (the whole split as one stream)"))
    for batch_size, _ in runs:  # fail before printing anything
        if n == 0 or num_chunks(batchify(ids, batch_size).size(1), args.seq_len) == 0:
            raise ValueError(f"{n} tokens are too few to evaluate with batch_size={batch_size}, seq_len={args.seq_len}")
    print(f"model {args.model}: {model.num_parameters():,} parameters, vocab {len(vocab):,}, {args.dtype}")
    print(f"{args.dataset} {args.split}: {n:,} tokens (<eos> included), {unk:,} unknown to the model's vocab "
          f"({unk / n:.2%}), scored as <unk>")
    for batch_size, label in runs:
        ce = lm.evaluate(model, ids, batch_size=batch_size, seq_len=args.seq_len)
        print(f"perplexity {math.exp(ce):.4f}  cross-entropy {ce:.6f} nats/token  {label}", flush=True)
    return 0


def main(argv=None) -> int:
    return run_main("evaluate.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
