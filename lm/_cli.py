"""What the command-line tools share: one-line errors with exit status 2, never a traceback."""

import argparse

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def one_line(e: BaseException) -> str:
    """An exception's message on one line (some of torch's and the Hub's span several)."""
    return " ".join(str(e).split()) or type(e).__name__
