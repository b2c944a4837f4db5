"""Generate text from a saved model, from the command line.

    python -m lm.generate --model assets/oz-lstm --prompt "the scarecrow said" --temperature 0.7 --seed 1
    python -m lm.generate --model assets/oz-lstm --prompt "dorothy" --temperature 0.25 0.5 1.0 1.8

One temperature: the text is streamed to stdout as it is generated (`lm.stream`), the prompt first,
detokenized as it grows so that it reads as text. Several temperatures: the notebook's sweep
(`lm.sweep`: all of them in one batched pass per step, row i the same as a single run at that
temperature with the same seed), printed as one block per temperature, headed by the temperature.
The seed (drawn at random unless --seed is given) is printed to stderr, with prompt words the model
does not know; pass it back with --seed to get the same text again.

Bad arguments (a negative temperature, top-p outside (0, 1], a missing model, ...) are one line on
stderr and exit status 2.

Run it as a program (`python -m lm.generate`), never `import lm.generate`: the package exports a
FUNCTION `lm.generate` (from lm.sampling), and importing this submodule would rebind the name
`lm.generate` to the module. For the same reason `lm/__init__.py` does not import it.
"""

import argparse
import math
import sys

from lm._cli import EXIT_BAD_INPUT, Parser, one_line


def _parsed(kind, ok, requirement: str):
    """An argparse type: `kind(text)`, refused with a one-line reason unless `ok(value)`."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}")
        return value
    return parse


_temperature = _parsed(float, lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0 (0 = greedy)")
_non_negative_int = _parsed(int, lambda v: v >= 0, ">= 0")
_top_p = _parsed(float, lambda v: 0.0 < v <= 1.0, "in (0, 1]")
_seed = _parsed(int, lambda v: 0 <= v < 2**63, "in [0, 2**63)")


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(
        prog="python -m lm.generate",
        description="Continue a prompt with a saved LSTM language model: one temperature streams the text as "
                    "it is generated; several print the notebook's temperature sweep, one block each.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, metavar="FOLDER_OR_REPO",
                   help="model folder (model.safetensors, config.json, vocab.json) or Hugging Face Hub repo id")
    p.add_argument("--prompt", default="", help="text to continue; empty starts a new line")
    p.add_argument("--temperature", type=_temperature, nargs="+", default=[1.0], metavar="T",
                   help="one or more temperatures; 0 = greedy. Several print one block per temperature "
                        "(the notebook's sweep: 0.25 0.3 0.5 0.7 0.75 0.8 1.0 1.8 1.9 2.1 3.1415)")
    p.add_argument("--top-k", type=_non_negative_int, default=None,
                   help="sample only from the k most likely tokens (0 or unset = off)")
    p.add_argument("--top-p", type=_top_p, default=None,
                   help="sample only from the smallest set of tokens whose probability reaches p (1 or unset = off)")
    p.add_argument("--max-new-tokens", type=_non_negative_int, default=100, help="at most this many new tokens")
    p.add_argument("--seed", type=_seed, default=None, help="seed for sampling (default: a fresh random one, printed)")
    p.add_argument("--no-stop-at-eos", dest="stop_at_eos", action="store_false",
                   help="carry on past the end of a line (<eos>, printed as a line break) instead of stopping")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                   help="run the model in this dtype (bfloat16: about twice as fast on CPUs with AVX512-BF16)")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of --model")
    return p.parse_args(argv)


def _stream_one(model, vocab, args, out) -> None:
    from .sampling import stream
    from .text import detokenize, tokenize

    prompt_tokens = tokenize(args.prompt)
    tokens = stream(model, vocab, args.prompt, max_new_tokens=args.max_new_tokens, temperature=args.temperature[0],
                    top_k=args.top_k, top_p=args.top_p, seed=args.seed, stop_at_eos=args.stop_at_eos)
    new: list[str] = []
    shown = detokenize(prompt_tokens)
    out.write(shown)
    out.flush()
    for item in tokens:
        new.append(item.token)
        text = detokenize(prompt_tokens + new)
        # detokenize only ever appends as tokens are added (no trailing spaces, capitals decided by
        # what came before), so the new text is what follows what is already on the screen.
        if text.startswith(shown):
            out.write(text[len(shown):])
        else:  # not expected; never garble the line
            out.write("\n" + text)
        shown = text
        out.flush()
    out.write("\n")


def _sweep(model, vocab, args, out) -> None:
    from .sampling import sweep

    rows = sweep(model, vocab, args.prompt, args.temperature, max_new_tokens=args.max_new_tokens, top_k=args.top_k,
                 top_p=args.top_p, seed=args.seed, stop_at_eos=args.stop_at_eos)
    for i, g in enumerate(rows):
        if i:
            out.write("\n")
        out.write(f"temperature {g.temperature:g}\n{g.text}\n")
    out.flush()


def run(args) -> int:
    import torch

    from .hub import load_pretrained
    from .sampling import random_seed
    from .text import tokenize

    model, vocab = load_pretrained(args.model, revision=args.revision)
    model = model.to(getattr(torch, args.dtype)).eval()
    if args.seed is None:
        args.seed = random_seed()
    unknown = [w for w in tokenize(args.prompt) if w not in vocab]
    print(f"seed {args.seed}" + (f" (prompt words read as <unk>: {', '.join(unknown)})" if unknown else ""),
          file=sys.stderr, flush=True)
    if len(args.temperature) == 1:
        _stream_one(model, vocab, args, sys.stdout)
    else:
        _sweep(model, vocab, args, sys.stdout)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: stop quietly (and let the final flush go nowhere)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FileNotFoundError, ValueError, RuntimeError, OSError) as e:
        print(f"python -m lm.generate: error: {one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
