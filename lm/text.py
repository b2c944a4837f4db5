"""Words in, ids out: the tokenizer, the vocabulary and the way back to text.

The tokenizer is torchtext's ``basic_english`` normaliser, re-implemented here
because torchtext cannot be installed beside torch >= 2.4. It lowercases the
line, pads a few punctuation marks with spaces, drops double quotes, ``;``
and ``:``, and splits on whitespace:

    >>> tokenize('He said "you\\'ve won!"')
    ['he', 'said', 'you', "'", 've', 'won', '!']

The vocabulary is built the way torchtext's ``build_vocab_from_iterator``
builds it, so ids match a model trained with the original notebook:

    >>> vocab = Vocab.build([["a", "b", "a"]], min_freq=1)
    >>> vocab.itos
    ['<unk>', '<eos>', 'a', 'b']
    >>> vocab.encode(["a", "b", "zebra"])
    [2, 3, 0]

``detokenize`` turns model output back into text for people to read.
"""

import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ._io import atomic_write

UNK = "<unk>"
EOS = "<eos>"
SPECIALS = (UNK, EOS)  # always ids 0 and 1, in this order

# torchtext's basic_english rules, applied in this order after lowercasing.
# The order matters: quotes go before "<br />" is removed, and "\s+" last
# collapses the padding the others add.
_PATTERNS = [
    (re.compile(pattern), replacement)
    for pattern, replacement in zip(
        [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"],
        [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "],
    )
]

VOCAB_FORMAT = "lm-vocab"
VOCAB_VERSION = 1


def tokenize(text: str) -> list[str]:
    """Split one line into lowercase word and punctuation tokens (basic_english).

    Apostrophes become their own token, double quotes vanish, ``; :`` become
    spaces and ``<br />`` is removed; hyphens, digits and curly quotes are
    left inside words.

        "You've got 2 owls." -> ['you', "'", 've', 'got', '2', 'owls', '.']
    """
    line = text.lower()
    for pattern, replacement in _PATTERNS:
        line = pattern.sub(replacement, line)
    return line.split()


class Vocab:
    """A fixed list of tokens; a token's position in it is its id.

    ``<unk>`` is always id 0 and ``<eos>`` id 1; any token not in the list
    maps to ``<unk>``:

        Vocab(["<unk>", "<eos>", "the", "owl"]).encode(["the", "cat"]) -> [2, 0]
    """

    def __init__(self, itos: Iterable[str], min_freq: int | None = None):
        itos = list(itos)
        problem = _itos_problem(itos)
        if problem:
            raise ValueError(f"invalid vocabulary: {problem}")
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        self.min_freq = min_freq  # kept only to record how the vocab was built

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], min_freq: int = 3) -> "Vocab":
        """Build from tokenized lines (the train split only, so no test word leaks in).

        Keeps tokens seen at least ``min_freq`` times, most frequent first,
        ties in alphabetical order, after the two specials:

            [["b", "a"], ["b"]], min_freq=1 -> ['<unk>', '<eos>', 'b', 'a']
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
        return cls([*SPECIALS, *kept], min_freq=min_freq)

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
        """Write the vocab as readable JSON, one token per line.

        The file is written beside its destination and then renamed over it,
        so a crash never leaves half a vocabulary behind.
        """
        path = os.fspath(path)
        payload = {"format": VOCAB_FORMAT, "version": VOCAB_VERSION, "min_freq": self.min_freq, "itos": self.itos}
        # One token per line keeps diffs of two vocab files readable.
        body = json.dumps(payload, ensure_ascii=False, indent=1)
        atomic_write(path, lambda tmp: Path(tmp).write_text(body + "\n", encoding="utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a file written by ``save``; any problem is a ValueError naming the file."""
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                payload = json.load(f)
        except FileNotFoundError:
            raise ValueError(f"vocabulary file {path!r} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"vocabulary file {path!r} is not valid JSON: {e}") from e
        if not isinstance(payload, dict) or payload.get("format") != VOCAB_FORMAT:
            raise ValueError(f"vocabulary file {path!r} is not an {VOCAB_FORMAT!r} file")
        version = payload.get("version")
        if version != VOCAB_VERSION or isinstance(version, bool):
            raise ValueError(
                f"vocabulary file {path!r} has version {version!r}; "
                f"this code reads version {VOCAB_VERSION}"
            )
        itos = payload.get("itos")
        problem = _itos_problem(itos)
        if problem:
            raise ValueError(f"vocabulary file {path!r}: {problem}")
        return cls(itos, min_freq=payload.get("min_freq"))


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


# Tokens that hug the word before them, and the one that hugs the word after.
_NO_SPACE_BEFORE = {".", ",", "!", "?", ")", ";", ":", "'"}
_NO_SPACE_AFTER = {"("}
_SENTENCE_END = {".", "!", "?"}
# After an apostrophe these finish a word: you've, harry's, don't, i'm.
_SUFFIXES = {"s", "t", "ve", "re", "ll", "d", "m"}


def _capitalise(word: str) -> str:
    # Only when lowercasing undoes it (not for 'ß' -> 'SS'), so tokenize()
    # gives the same tokens back.
    if not word:
        return word
    head = word[0].upper()
    if len(head) == 1 and head.lower() == word[0]:
        return head + word[1:]
    return word


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens into readable text: the inverse of ``tokenize`` up to case.

        ['i', 'don', "'", 't', 'know', '.', 'who', '?'] -> "I don't know. Who?"
        ['dogs', "'", 'tails', '<eos>', 'hi'] -> "Dogs' tails\\nhi"

    Punctuation hugs the word before it, ``(`` the word after; an apostrophe
    joins a contraction or possessive (``'s 't 've 're 'll 'd 'm``) to its
    word, otherwise it hugs the word before only (``dogs'``). ``<eos>`` is a
    line break. The first word of the text and of each sentence, and the
    pronoun "i", are capitalised (a line break alone does not start a
    sentence: in line-wrapped books it often falls mid-sentence). ``<unk>`` stays ``<unk>``.

    For any ``t`` that ``tokenize`` produced,
    ``tokenize(detokenize(t)) == [x for x in t if x != "<eos>"]``, with one
    exception: a token ending in ``<br`` followed by one starting with ``/>``
    (from text like ``"<br  />"``) is joined into ``"<br />"``, which
    ``tokenize`` then deletes.
    """
    out: list[str] = []
    capitalise_next = True  # the first word of the text
    glue_next = False  # no space before the next token: after "(" and at the start of a line
    previous = None
    for token in tokens:
        if token == EOS:
            # Trailing spaces are never emitted, so the line break needs no trimming.
            out.append("\n")
            # A line break starts a sentence only after . ! ? : in line-wrapped books it often
            # falls mid-sentence ("the cavern and\nthe little man").
            glue_next, previous = True, None
            continue
        suffix = previous == "'" and token in _SUFFIXES
        if out and not glue_next and not suffix and token not in _NO_SPACE_BEFORE:
            out.append(" ")
        if suffix:
            word = token  # the rest of a word: never capitalised ("I'm", not "I'M")
        elif token not in _NO_SPACE_BEFORE and token not in _NO_SPACE_AFTER:
            word = _capitalise(token) if capitalise_next or token == "i" else token
            capitalise_next = False
        else:
            word = token
        out.append(word)
        if token in _SENTENCE_END:
            capitalise_next = True
        glue_next = token in _NO_SPACE_AFTER
        previous = token
    return "".join(out)
