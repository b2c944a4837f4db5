"""The vocabulary: a fixed list of tokens (a token's position is its id) and each word's display form.

Built the way torchtext's ``build_vocab_from_iterator`` builds it, so ids match a model trained
with the original notebook:

    >>> vocab = Vocab.build([["a", "b", "a"]], min_freq=1)
    >>> vocab.itos
    ['<unk>', '<eos>', 'a', 'b']
    >>> vocab.encode(["a", "b", "zebra"])
    [2, 3, 0]

How the books print the words (``Vocab.printing``, learned by ``lm.printing`` from the train text:
"Dorothy", "he said:" before a quoted paragraph, '"Oh!" cried Dorothy', "Cap'n") is kept beside the
tokens. It changes nothing but what people read.
"""

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from . import printing
from .file_checks import MAX_VOCAB_BYTES, read_json
from .files import atomic_write
from .text import SPECIALS, shown

VOCAB_FORMAT = "lm-vocab"
VOCAB_VERSION = 4  # 2 added "display", 3 "colons", 4 "lower_after" and "tails"; files of versions 1 to 3 still load
ADDED_IN = {"display": 2, "colons": 3, "lower_after": 4, "tails": 4}  # an older file has none of the key


class Vocab:
    """A fixed list of tokens; a token's position in it is its id.

    ``<unk>`` is always id 0 and ``<eos>`` id 1; any token not in the list
    maps to ``<unk>``:

        Vocab(["<unk>", "<eos>", "the", "owl"]).encode(["the", "cat"]) -> [2, 0]

    How its books print the words (``lm.printing``; all empty: lower case): ``display`` maps a token
    to the form people see, only where it differs (``{"dorothy": "Dorothy", "i": "I"}``); ``colons``
    holds the words shown with a colon before a paragraph break (``{"said"}``); ``lower_after`` maps
    a mark that ends a sentence to the words shown in lower case after it (``{"!": ["cried"]}``);
    ``tails`` the words that finish a word after an apostrophe (``{"n"}``: "Cap'n"). ``printing``
    holds all four, for ``detokenize``. None of them changes an id, nor ``==``.
    """

    def __init__(self, itos: Iterable[str], min_freq: int | None = None, display: dict[str, str] | None = None,
                 colons: Iterable[str] = (), lower_after: dict[str, Iterable[str]] | None = None,
                 tails: Iterable[str] = ()):
        itos = list(itos)
        display = {} if display is None else display
        lower_after = {} if lower_after is None else lower_after
        if isinstance(lower_after, dict):  # sets of words do as well as lists (vocab.json holds lists)
            lower_after = {mark: sorted(w) if isinstance(w, set | frozenset) else w for mark, w in lower_after.items()}
        colons, tails = list(colons), list(tails)
        problem = _itos_problem(itos) or printing.problem(set(itos), display, colons, lower_after, tails)
        if problem:
            raise ValueError(f"invalid vocabulary: {problem}")
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        self.min_freq = min_freq  # kept only to record how the vocab was built
        display = {token: display[token] for token in itos if token in display}  # in id order
        self.printing = printing.build(display, colons, lower_after, tails)

    display = property(lambda self: self.printing.display)
    colons = property(lambda self: self.printing.colons)
    lower_after = property(lambda self: self.printing.lower_after)
    tails = property(lambda self: self.printing.tails)

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], min_freq: int = 3,
              cased_lines: Iterable[list[str]] | None = None, lines: Iterable[str] | None = None) -> "Vocab":
        """Build from tokenized lines (the train split only, so no test word leaks in).

        Keeps tokens seen at least ``min_freq`` times, most frequent first,
        ties in alphabetical order, after the two specials:

            [["b", "a"], ["b"]], min_freq=1 -> ['<unk>', '<eos>', 'b', 'a']

        ``cased_lines``, the same lines from ``tokenize_cased``, and ``lines``, the
        same lines as printed, teach how the books print the words (``lm.printing.learn``);
        without them the vocabulary writes lower case.
        """
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an integer >= 1, got {min_freq!r}")
        counts = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        for special in SPECIALS:  # they get their fixed ids below, never a second one
            counts.pop(special, None)
        # Same two-step sort as torchtext: alphabetical, then a stable sort by
        # count, so equal counts stay alphabetical.
        items = sorted(counts.items(), key=lambda kv: kv[0])
        items.sort(key=lambda kv: kv[1], reverse=True)
        kept = [token for token, count in items if count >= min_freq]
        learned = printing.learn(set(kept), None if cased_lines is None else list(cased_lines),
                                 None if lines is None else list(lines))  # each read twice
        return cls([*SPECIALS, *kept], min_freq=min_freq, **learned)

    def __len__(self) -> int:
        return len(self.itos)

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, 0)  # unknown words read as <unk>

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.itos == other.itos  # min_freq is history, not content

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, min_freq={self.min_freq})"

    def shown(self, token: str) -> str:
        """How ``token`` reads mid-sentence: 'dorothy' -> 'Dorothy', 'the' -> 'the'."""
        return shown(self.display, token)

    @property
    def unk_index(self) -> int:
        return 0

    @property
    def eos_index(self) -> int:
        return 1

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Tokens to ids, unknown tokens to 0: ['the', 'zzz'] -> [2, 0]."""
        stoi = self.stoi
        return [stoi.get(token, 0) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to tokens: [2, 0] -> ['the', '<unk>']. An unknown id is a ValueError."""
        itos = self.itos
        tokens = []
        for i in ids:
            i = int(i)  # accepts tensor elements too
            if not 0 <= i < len(itos):
                raise ValueError(f"token id {i} is out of range for a vocabulary of {len(itos)} tokens")
            tokens.append(itos[i])
        return tokens

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocab and its display forms as readable JSON, one token per line.

        The file is written beside its destination and then renamed over it,
        so a crash never leaves half a vocabulary behind.
        """
        path = os.fspath(path)
        payload = {"format": VOCAB_FORMAT, "version": VOCAB_VERSION, "min_freq": self.min_freq, "itos": self.itos,
                   **printing.payload(self.printing, self.stoi)}
        # One token per line keeps diffs of two vocab files readable.
        body = json.dumps(payload, ensure_ascii=False, indent=1)
        atomic_write(path, lambda tmp: Path(tmp).write_text(body + "\n", encoding="utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a file written by ``save``; any problem is a ValueError naming the file.

        Files over 128 MiB (``lm.file_checks.MAX_VOCAB_BYTES``) are refused unread.
        """
        path = os.fspath(path)
        try:  # refused unread when too big, unparsed when nested too deep
            payload = read_json(path, MAX_VOCAB_BYTES, "vocabulary file")
        except FileNotFoundError:
            raise ValueError(f"vocabulary file {path!r} does not exist") from None
        if not isinstance(payload, dict) or payload.get("format") != VOCAB_FORMAT:
            raise ValueError(f"vocabulary file {path!r} is not an {VOCAB_FORMAT!r} file")
        version = payload.get("version")
        if version not in (1, 2, 3, VOCAB_VERSION) or isinstance(version, bool):
            raise ValueError(
                f"vocabulary file {path!r} has version {version!r}; "
                f"this code reads versions 1 to {VOCAB_VERSION}"
            )
        itos = payload.get("itos")
        empty = {"display": {}, "colons": [], "lower_after": {}, "tails": []}
        shape = [payload.get(key) if version >= ADDED_IN[key] else empty[key] for key in empty]  # older: none
        problem = _itos_problem(itos) or printing.problem(set(itos), *shape)
        if problem:
            raise ValueError(f"vocabulary file {path!r}: {problem}")
        return cls(itos, payload.get("min_freq"), *shape)


def _itos_problem(itos) -> str | None:
    """What is wrong with a token list, or None if it is a valid vocabulary."""
    if not isinstance(itos, list) or not all(isinstance(t, str) for t in itos):
        return "'itos' must be a list of strings"
    if itos[:2] != list(SPECIALS):
        return f"the first two tokens must be {list(SPECIALS)}, got {itos[:2]}"
    seen = set()
    for token in itos:
        if token in seen:
            return f"token {token!r} appears more than once"
        seen.add(token)
    return None
