"""What the command-line tools share: one-line errors with exit status 2, never a traceback."""

import argparse
import os
import re
import sys

EXIT_BAD_INPUT = 2


class CLIError(Exception):
    """A message for the user and the exit status that goes with it."""

    def __init__(self, message: str, status: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--model, --dtype and --revision: how every tool that reads a saved model names it."""
    p.add_argument("--model", required=True, metavar="FOLDER_OR_REPO",
                   help="model folder (model.safetensors, config.json, vocab.json) or Hugging Face Hub repo id")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                   help="run the model in this dtype (bfloat16: about twice as fast on CPUs with AVX512-BF16)")
    p.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) of --model")


def one_line(e: BaseException) -> str:
    """An exception's message on one line (some of torch's and the Hub's span several)."""
    return " ".join(str(e).split()) or type(e).__name__


def flag_message(e: BaseException) -> str:
    """lm's "batch_size must be ..." as "--batch-size must be ...": name the flag the user typed."""
    message = one_line(e)
    m = re.match(r"([a-z_]+) must ", message)
    return "--" + m.group(1).replace("_", "-") + message[m.end(1):] if m else message


def run_main(prog: str, run, args) -> int:
    """`run(args)` as a program: bad input (ValueError, OSError, CLIError) is one line on stderr and
    exit status 2 (or the CLIError's); Ctrl-C is status 130; a closed pipe (`| head`) ends quietly."""
    try:
        return run(args)
    except CLIError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # let the final flush go nowhere
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as e:  # FileNotFoundError is an OSError
        print(f"{prog}: error: {flag_message(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
