"""Continue a prompt with a saved model, from the command line.

    python generate.py --model assets/oz-lstm --prompt "The lion was afraid, but" --temperature 0.7 --seed 1
    python generate.py --model assets/oz-lstm --prompt "Dorothy" --temperature 0.25 0.5 1.0 1.8

One temperature: the text streams to stdout as it is written (`lm.stream`), the prompt first. Several:
a sweep (`lm.sweep`: all of them in one batched pass per step, row i the same as a single run at that
temperature with the same seed), one block per temperature. The seed (random unless --seed is given)
goes to stderr, with prompt words the model does not know: pass it back with --seed to get the same
text again. Bad arguments are one line on stderr and exit status 2.
"""

import argparse
import sys

from lm.cli import Parser, add_model_arguments, run_main


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(prog="generate.py", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
               description="Continue a prompt with a saved LSTM language model: one temperature streams the text; "
                           "several print one block each, all from the same seed.")
    add_model_arguments(p)
    p.add_argument("--prompt", default="", help="text to continue; empty starts a new paragraph")
    p.add_argument("--temperature", type=float, nargs="+", default=[1.0], metavar="T",
                   help="one or more temperatures; 0 = greedy. Several print one block each (a classic sweep: "
                        "0.25 0.3 0.5 0.7 0.75 0.8 1.0 1.8 1.9 2.1 3.1415)")
    p.add_argument("--top-k", type=int, default=None, help="draw only from the k most likely tokens (0 or unset = off)")
    p.add_argument("--top-p", type=float, default=None,
                   help="draw only from the smallest set of tokens whose probability reaches p (1 or unset = off)")
    p.add_argument("--max-new-tokens", type=int, default=100, help="at most this many new tokens")
    p.add_argument("--seed", type=int, default=None, help="seed for sampling (default: a fresh random one, printed)")
    p.add_argument("--no-stop-at-eos", dest="stop_at_eos", action="store_false",
                   help="carry on past the end of a paragraph (<eos>, printed as a blank line) instead of stopping")
    return p.parse_args(argv)


def stream_one(model, vocab, args, out) -> None:
    import lm

    out.write(args.prompt)
    out.flush()
    for item in lm.stream(model, vocab, args.prompt, max_new_tokens=args.max_new_tokens,
                          temperature=args.temperature[0], top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                          stop_at_eos=args.stop_at_eos):
        out.write(item.text)
        out.flush()
    out.write("\n")


def run(args) -> int:
    import torch

    import lm
    from lm.sampling import check_sampling, check_temperatures

    # lm's own checks, before the model is loaded: a bad value fails at once.
    check_temperatures(args.temperature, name="temperature")  # the flag's name in messages
    *_, args.seed = check_sampling(args.max_new_tokens, args.top_k, args.top_p, args.seed)
    model, vocab = lm.load_pretrained(args.model, revision=args.revision)
    model = model.to(getattr(torch, args.dtype))
    unknown = [w for w in lm.tokenize(args.prompt) if w not in vocab]
    print(f"seed {args.seed}" + (f" (prompt words read as <unk>: {', '.join(unknown)})" if unknown else ""),
          file=sys.stderr, flush=True)
    if len(args.temperature) == 1:
        stream_one(model, vocab, args, sys.stdout)
        return 0
    rows = lm.sweep(model, vocab, args.prompt, args.temperature, max_new_tokens=args.max_new_tokens,
                    top_k=args.top_k, top_p=args.top_p, seed=args.seed, stop_at_eos=args.stop_at_eos)
    sys.stdout.write("\n".join(f"temperature {g.temperature:g}\n{g.text}\n" for g in rows))
    return 0


def main(argv=None) -> int:
    return run_main("generate.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
