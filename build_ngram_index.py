"""Give a model folder its n-gram index (ngrams.safetensors): which 4-grams its training text holds.

    python build_ngram_index.py --model assets/oz-lstm --dataset ../shared/corpora/oz
    python build_ngram_index.py --model runs/mine --dataset KaungHtetCho/Harry_Potter_LSTM --fp-rate 0.001

The train split is encoded with the MODEL's vocabulary, as training read it, so the page's "copied from
the books" share counts what the model really saw. The file holds bits of hashes, not text (lm.ngrams says
why it cannot give the text back), and is written atomically: never half a file. Train.py writes it too.
"""

import argparse
import sys

from lm.cli import Parser, run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(prog="build_ngram_index.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
               description="Write the n-gram index of a corpus's train split into a local model folder.")
    p.add_argument("--model", required=True, metavar="FOLDER", help="local model folder (made by train.py)")
    p.add_argument("--dataset", required=True, metavar="ID_OR_FOLDER",
                   help="the corpus the model was trained on: a Hub dataset id or a local folder")
    p.add_argument("--fp-rate", type=float, default=0.01,
                   help="false-positive rate to size the filter for (0.01: 9.6 bits a 4-gram)")
    return p.parse_args(argv)


def run(args) -> int:
    import datasets

    import lm
    from lm.checks import check_number
    from lm.files import local_folder
    from lm.ngrams import index_corpus

    check_number("fp_rate", args.fp_rate, 0.0, 0.5, low_open=True)  # before the corpus is read
    if local_folder(args.model, "model") is None:
        raise ValueError(f"model must be a local folder (the index is written into it), got {args.model!r}")
    datasets.disable_progress_bars()
    _, vocab = lm.load_pretrained(args.model)
    index = index_corpus(args.dataset, vocab, fp_rate=args.fp_rate)
    path = index.save(args.model)
    print(f"{path}: {index.items:,} distinct {index.n}-grams, {index.m:,} bits ({index.size_bytes / 2**20:.2f} MiB), "
          f"k={index.k}, false positives {index.expected_fp_rate():.2%} expected")
    return 0


def main(argv=None) -> int:
    return run_main("build_ngram_index.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
