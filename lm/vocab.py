"""The vocabulary: a fixed list of tokens (a token's position is its id) and each word's display form.

Built the way torchtext's ``build_vocab_from_iterator`` builds it, so ids match a model trained
with the original notebook:

    >>> vocab = Vocab.build([["a", "b", "a"]], min_freq=1)
    >>> vocab.itos
    ['<unk>', '<eos>', 'a', 'b']
    >>> vocab.encode(["a", "b", "zebra"])
    [2, 3, 0]

How the books print the words (``lm.text.Printing``) is learned from the training text: from its
cased tokens (``tokenize_cased``), each word's display form ("dorothy" is shown as "Dorothy", "oz" as
"Oz") and the words that stay in lower case after ! or ? ('"Oh!" cried Dorothy', whose quotes the
tokenizer drops); from the lines as printed, the words after which a paragraph that ends there
mostly ends in a colon ("he said:" before a quoted paragraph), which the tokenizer drops too.
They change nothing but what people read.
"""

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .file_checks import MAX_VOCAB_BYTES, read_json
from .files import atomic_write
from .text import SENTENCE_END, SPECIALS, Printing, capitalise, is_word, sentence_starts, shown, tokenize

VOCAB_FORMAT = "lm-vocab"
VOCAB_VERSION = 4  # 2 added "display", 3 "colons", 4 "lower_after"; files of versions 1 to 3 still load


class Vocab:
    """A fixed list of tokens; a token's position in it is its id.

    ``<unk>`` is always id 0 and ``<eos>`` id 1; any token not in the list
    maps to ``<unk>``:

        Vocab(["<unk>", "<eos>", "the", "owl"]).encode(["the", "cat"]) -> [2, 0]

    ``display`` maps a token to the form people see, only where it differs
    (``{"dorothy": "Dorothy", "i": "I"}``); ``colons`` holds the words shown with a colon before a
    paragraph break (``{"said"}``); ``lower_after`` maps a mark that ends a sentence to the words
    shown in lower case after it (``{"!": ["cried"]}``). ``printing`` is all three, for ``detokenize``.
    None of them changes an id, nor ``==``.
    """

    def __init__(self, itos: Iterable[str], min_freq: int | None = None, display: dict[str, str] | None = None,
                 colons: Iterable[str] = (), lower_after: dict[str, Iterable[str]] | None = None):
        itos = list(itos)
        display = {} if display is None else display
        colons = list(colons)
        lower_after = {mark: list(words) for mark, words in (lower_after or {}).items()}
        problem = _printing_problem(itos, display, colons, lower_after)
        if problem:
            raise ValueError(f"invalid vocabulary: {problem}")
        self.itos = itos
        self.stoi = {token: i for i, token in enumerate(itos)}
        self.min_freq = min_freq  # kept only to record how the vocab was built
        self.display = {token: display[token] for token in itos if token in display}  # in id order
        self.colons = frozenset(colons)
        self.lower_after = {mark: frozenset(words) for mark, words in lower_after.items() if words}
        self.printing = Printing(self.display, self.colons, self.lower_after)

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], min_freq: int = 3,
              cased_lines: Iterable[list[str]] | None = None, lines: Iterable[str] | None = None) -> "Vocab":
        """Build from tokenized lines (the train split only, so no test word leaks in).

        Keeps tokens seen at least ``min_freq`` times, most frequent first,
        ties in alphabetical order, after the two specials:

            [["b", "a"], ["b"]], min_freq=1 -> ['<unk>', '<eos>', 'b', 'a']

        ``cased_lines``, the same lines from ``tokenize_cased``, teach the
        display forms (see ``_learn_display``) and the words kept in lower case after
        ! or ? (``_learn_lower_after``); without them display is lower case.
        ``lines``, the same lines as printed, teach the colons (``_learn_colons``).
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
        cased_lines = None if cased_lines is None else list(cased_lines)  # read twice
        display = None if cased_lines is None else _learn_display(cased_lines, set(kept))
        lower_after = None if cased_lines is None else _learn_lower_after(cased_lines, set(kept))
        colons = () if lines is None else _learn_colons(lines, set(kept))
        return cls([*SPECIALS, *kept], min_freq=min_freq, display=display, colons=colons, lower_after=lower_after)

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
                   "display": self.display, "colons": sorted(self.colons, key=self.stoi.get),
                   "lower_after": {mark: sorted(words, key=self.stoi.get) for mark, words in self.lower_after.items()}}
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
        display = payload.get("display") if version >= 2 else {}  # version 1: lower case
        colons = payload.get("colons") if version >= 3 else []  # versions 1 and 2: no colons
        lower_after = payload.get("lower_after") if version >= 4 else {}  # versions 1 to 3: capitals after ! and ?
        problem = _printing_problem(itos, display, colons, lower_after)
        if problem:
            raise ValueError(f"vocabulary file {path!r}: {problem}")
        return cls(itos, min_freq=payload.get("min_freq"), display=display, colons=colons, lower_after=lower_after)


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


def _display_problem(display, words: set) -> str | None:
    """What is wrong with a display map for a vocabulary of ``words``, or None."""
    if not isinstance(display, dict):
        return "'display' must be an object"
    for token, form in display.items():
        if token not in words or token in SPECIALS:
            return f"display key {token!r} is not a word of the vocabulary"
        # A capital sigma lowercases to "σ" or "ς" by what follows it, so lowering could not undo it.
        if not isinstance(form, str) or form == token or form.lower() != token or "\u03a3" in form:
            return f"display form {form!r} of {token!r} must be a different casing of it (and hold no 'Σ')"
    return None


def _printing_problem(itos, display, colons, lower_after) -> str | None:
    """What is wrong with a vocabulary's tokens or how it prints them, or None."""
    problem = _itos_problem(itos)
    words = set() if problem else set(itos)
    return (problem or _display_problem(display, words) or _colons_problem(colons, words)
            or _lower_after_problem(lower_after, words))


def _lower_after_problem(lower_after, words: set) -> str | None:
    """What is wrong with a map of marks to the words kept in lower case after them, or None."""
    if not isinstance(lower_after, dict) or not all(isinstance(v, list) for v in lower_after.values()):
        return "'lower_after' must be an object of lists"
    bad = next((m for m in lower_after if m not in SENTENCE_END), None)
    if bad is not None:
        return f"'lower_after' mark {bad!r} is not one of {sorted(SENTENCE_END)}"
    bad = next((t for v in lower_after.values() for t in v if not isinstance(t, str) or t not in words
                or t in SPECIALS), None)
    return None if bad is None else f"lower-case word {bad!r} is not a word of the vocabulary"


def _colons_problem(colons, words: set) -> str | None:
    """What is wrong with a list of colon words for a vocabulary of ``words``, or None."""
    if not isinstance(colons, list) or not all(isinstance(t, str) for t in colons):
        return "'colons' must be a list of strings"
    bad = next((t for t in colons if t not in words or t in SPECIALS), None)
    return None if bad is None else f"colon word {bad!r} is not a word of the vocabulary"


def _learn_colons(lines: Iterable[str], words: set, min_count: int = 3) -> frozenset[str]:
    """The words after which the books end a paragraph with a colon in most of at least ``min_count``
    paragraphs that end on them: "said", in "he said:" before a quoted paragraph. ``tokenize`` drops
    the colon, so without it the page would show "he said" and a break, as if a sentence broke off."""
    ends, colons = Counter(), Counter()
    for line in lines:
        tokens = tokenize(line)
        if tokens and tokens[-1] in words:
            ends[tokens[-1]] += 1
            colons[tokens[-1]] += line.rstrip().endswith(":")
    return frozenset(word for word, n in ends.items() if n >= min_count and colons[word] > n / 2)


def _learn_lower_after(cased_lines: list[list[str]], words: set, min_count: int = 3) -> dict[str, list[str]]:
    """For each mark that ends a sentence, the words the books print in lower case in most of at least
    ``min_count`` places right after it: '"Oh!" cried Dorothy', '"Where?" asked the Lion'. The quotes
    are dropped by ``tokenize``, and without this the page would write "Oh! Cried Dorothy"."""
    after = Counter()  # (mark, word, printed in lower case)
    for tokens in cased_lines:
        mark = None  # the last mark, while no word has come after it (a quote or bracket may: "!' cried")
        for token in tokens:
            if token in SENTENCE_END:
                mark = token
            elif is_word(token):
                if mark and token.lower() in words:
                    after[mark, token.lower(), token.islower()] += 1
                mark = None
    lower = {}
    for (mark, word, is_lower), n in after.items():
        if is_lower and n >= min_count and n > after[mark, word, False]:
            lower.setdefault(mark, []).append(word)
    return lower


def _learn_display(cased_lines: Iterable[list[str]], words: set) -> dict[str, str]:
    """Each word's display form, from its cased occurrences, where it differs from the word.

    The form most often seen where no sentence starts ("Dorothy", "Oz", "I", "the"); ties go to
    lower case. A word seen only at sentence starts keeps lower case (the capital is the
    sentence's), unless it is never seen there in lower case nor simply capitalised ("NASA",
    "McGee" each time): then its most frequent form is kept.
    """
    counts = Counter()
    for tokens in cased_lines:
        counts.update(zip(tokens, sentence_starts(tokens)))
    forms: dict[str, dict[str, list[int]]] = {}  # word -> form -> [count mid-sentence, count at starts]
    for (form, start), n in counts.items():
        if form.lower() in words:
            forms.setdefault(form.lower(), {}).setdefault(form, [0, 0])[start] += n
    display = {}
    for word, seen in forms.items():
        pick = {form: mid for form, (mid, _) in seen.items() if mid}
        if not pick:
            if word in seen or capitalise(word) in seen:
                continue
            pick = {form: at_start for form, (_, at_start) in seen.items()}
        best = max(pick, key=lambda form: (pick[form], form == word, form))
        if best != word and not _display_problem({word: best}, words):
            display[word] = best
    return display
