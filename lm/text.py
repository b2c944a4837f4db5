"""Text to tokens and back: the tokenizer and `detokenize` (the vocabulary is in `lm.vocab`).

The tokenizer is torchtext's ``basic_english`` normaliser, re-implemented here
because torchtext cannot be installed beside torch >= 2.4. It lowercases the
line, pads a few punctuation marks with spaces, drops double quotes, ``;``
and ``:``, and splits on whitespace:

    >>> tokenize('He said "you\\'ve won!"')
    ['he', 'said', 'you', "'", 've', 'won', '!']

``tokenize_cased`` gives the same tokens with their case kept; from those the
vocabulary learns how the books print what the tokenizer lowercases and drops
(``Printing``: "dorothy" -> "Dorothy", "said:" before a quoted paragraph, '"Oh!"
cried Dorothy'), which ``detokenize`` uses to turn model output back into text
for people to read.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

UNK = "<unk>"
EOS = "<eos>"
SPECIALS = (UNK, EOS)  # always ids 0 and 1, in this order

# torchtext's basic_english rules, applied in this order after lowercasing.
# The order matters: quotes go before "<br />" is removed, and "\s+" last
# collapses the padding the others add. "<[bB][rR] />" is "<br />" after
# lowercasing, and finds the same places in text that is not lowercased.
_PATTERNS = [
    (re.compile(pattern), replacement)
    for pattern, replacement in zip(
        [r"\'", r"\"", r"\.", r"<[bB][rR] \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"],
        [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "],
    )
]

def tokenize(text: str) -> list[str]:
    """Split one line into lowercase word and punctuation tokens (basic_english).

    Apostrophes become their own token, double quotes vanish, ``; :`` become
    spaces and ``<br />`` is removed; hyphens, digits and curly quotes are
    left inside words.

        "You've got 2 owls." -> ['you', "'", 've', 'got', '2', 'owls', '.']
    """
    return _split(text.lower())


def tokenize_cased(text: str) -> list[str]:
    """The tokens of ``tokenize`` with their case kept: "Oz's" -> ['Oz', "'", 's'].

    Always ``[t.lower() for t in tokenize_cased(x)] == tokenize(x)``: lowercasing
    adds or removes no character the rules look at, and a token whose lower case
    differs alone (a capital sigma is a final "ς" only at a word's end) is given lowercased.
    """
    lower = tokenize(text)
    cased = _split(text)
    if len(cased) != len(lower):  # never seen; lower case is always right
        return lower
    return [c if c.lower() == t else t for c, t in zip(cased, lower)]


def _split(line: str) -> list[str]:
    for pattern, replacement in _PATTERNS:
        line = pattern.sub(replacement, line)
    return line.split()


# Tokens that hug the word before them, and the one that hugs the word after.
_NO_SPACE_BEFORE = {".", ",", "!", "?", ")", ";", ":", "'"}
_NO_SPACE_AFTER = {"("}
SENTENCE_END = {".", "!", "?"}
# After an apostrophe these finish a word: you've, harry's, don't, i'm.
SUFFIXES = {"s", "t", "ve", "re", "ll", "d", "m"}


_OPENING = re.compile(r"[\[{«‹‘‚‛“„‟]*")  # quotes and brackets that open; tokenize leaves them on words


def is_word(token: str) -> bool:  # what can start a sentence: not punctuation, nor only opening quotes
    return token not in _NO_SPACE_BEFORE and token not in _NO_SPACE_AFTER and not _OPENING.fullmatch(token)


def sentence_starts(tokens: list[str]) -> list[bool]:
    """For each token of a line (a paragraph), whether it starts a sentence: the first word
    of the line or after . ! ? ; punctuation in between (a quote, a bracket) passes it on."""
    starts, start = [], True
    for token in tokens:
        starts.append(start)
        if token in SENTENCE_END:
            start = True
        elif is_word(token):
            start = False
    return starts


def shown(display: dict[str, str], token: str) -> str:
    # The pronoun is "I" even with no display learned (an old vocabulary), as before display forms.
    return display.get(token) or ("I" if token == "i" else token)


def capitalise(word: str) -> str:
    # The first character after any opening quotes and brackets ("“hi" -> "“Hi"), and only when
    # lowercasing undoes it (not for 'ß' -> 'SS'), so tokenize() gives the same tokens back.
    i = _OPENING.match(word).end()
    head = word[i:i + 1].upper()
    if len(head) == 1 and head.lower() == word[i]:
        return word[:i] + head + word[i + 1:]
    return word


def ends_open(typed: str) -> bool:
    """Whether typed text ends with a mark that opens what comes next, so no space follows it: a bracket,
    an opening quote, or a straight quote with nothing or a space before it ('he said, "'), which
    ``tokenize`` drops or keeps alone, so the tokens cannot tell."""
    last = typed[-1:]
    if last and (last == "(" or _OPENING.fullmatch(last)):
        return True
    return last in ('"', "'") and (len(typed) == 1 or typed[-2].isspace())


def after_typed(prompt: str, piece: str) -> str:
    """The first new word's piece as it follows the prompt exactly as typed: no second colon after a typed
    one ("said:" + break), and no space where the prompt brings its own or ends open ('said, "')."""
    if prompt.rstrip().endswith(":"):
        piece = piece.removeprefix(":")
    return piece.lstrip(" ") if prompt[-1:].isspace() or ends_open(prompt) else piece


def is_break(piece: str) -> bool:
    """Whether a piece of detokenized text is a paragraph break (its colon included): not a word to colour."""
    return piece.lstrip(":").isspace()


@dataclass(frozen=True)
class Printing:
    """How the books print what ``tokenize`` lowercases or drops; learned by ``Vocab.build``, display only.

    ``display``: a word's usual form where it differs ({"dorothy": "Dorothy"}). ``colons``: the words
    shown with a colon before a paragraph break ({"said"}: "he said:" before a quoted paragraph).
    ``lower_after``: the words that stay in lower case after a mark that ends a sentence
    ({"!": {"cried"}}): the books print '"Oh!" cried Dorothy', and the quotes are dropped.
    ``tails``: the words that finish the word before an apostrophe, as 's 't 've 're 'll 'd 'm always
    do ({"n", "clock"}: "Cap'n", "o'clock"). ``lm.printing`` learns them all from the books.
    """
    display: Mapping[str, str] = field(default_factory=dict)
    colons: frozenset[str] = frozenset()
    lower_after: Mapping[str, frozenset[str]] = field(default_factory=dict)
    tails: frozenset[str] = frozenset()


LOWER_CASE = Printing()  # no vocabulary's learning: lower case but "I", no colons


class Detokenizer:
    """detokenize one token at a time: `add(token)` is the text the token adds, with the space before it.
    A stream of n tokens costs n steps this way, not the n^2 of detokenizing the whole text at each one."""

    def __init__(self, printing: Printing = LOWER_CASE, context: Iterable[str] = ()):
        self.printing = printing
        self.capitalise_next = True  # the first word of the text
        self.glue_next = True  # no space before the next token: at the start of a paragraph and after "("
        self.previous = None
        self.mark = None  # the . ! or ? that ended the last sentence (None: a paragraph's start)
        for token in context:
            self.add(token)

    def add(self, token: str) -> str:
        if token == EOS:  # the end of a paragraph; the next word starts a sentence
            colon = ":" if self.previous in self.printing.colons else ""  # "he said:" before a quoted paragraph
            self.capitalise_next, self.glue_next, self.previous, self.mark = True, True, None, None
            return colon + "\n\n"
        suffix = self.previous == "'" and (token in SUFFIXES or token in self.printing.tails)
        space = "" if self.glue_next or suffix or token in _NO_SPACE_BEFORE else " "
        if suffix:
            word = token  # the rest of a word: never capitalised ("I'm", not "I'M")
        elif is_word(token):
            word = shown(self.printing.display, token)
            if self.capitalise_next and token not in self.printing.lower_after.get(self.mark, ()):
                word = capitalise(word)  # not '"Oh!" Cried Dorothy'
            self.capitalise_next = False
        else:
            word = token
        if token in SENTENCE_END:
            self.capitalise_next, self.mark = True, token
        # An apostrophe where nothing comes before it opens: "'Course", a quote; elsewhere it hugs the word before.
        self.glue_next = token in _NO_SPACE_AFTER or (token == "'" and self.glue_next)
        self.previous = token
        return space + word


def detokenize(tokens: Iterable[str], printing: Printing = LOWER_CASE, context: Iterable[str] = ()) -> str:
    """Join tokens into readable text: the inverse of ``tokenize`` up to case.

        ['i', 'don', "'", 't', 'know', '.', 'who', '?'] -> "I don't know. Who?"
        ['dogs', "'", 'tails', '<eos>', 'hi'] -> "Dogs' tails\\n\\nHi"

    Punctuation hugs the word before it, ``(`` the word after; an apostrophe
    joins a contraction or possessive (``'s 't 've 're 'll 'd 'm``, and the
    words in ``printing.tails``: "Cap'n") to its word, otherwise it hugs the word
    before only (``dogs'``), or the word after where nothing comes before it (a
    paragraph's ``'Course``). ``<eos>`` ends a paragraph (a line of the corpus):
    a blank line. ``printing`` (a vocabulary's
    ``Vocab.printing``; by default lower case) says how the books print the rest:
    a colon before the break after a word in ``printing.colons`` ("he said:"),
    each word's form from ``printing.display`` ("Dorothy"; the pronoun "i" is "I"
    in any case), and a capital for the first word of the text, of each paragraph
    and after . ! ?, except the words ``printing.lower_after`` keeps in lower case
    after that mark ("Oh! cried Dorothy"). ``<unk>`` stays ``<unk>``.

    ``context``: tokens already shown before ``tokens`` (a prompt, say); the
    text of ``tokens`` alone is returned, as it continues that text, so
    ``detokenize(c, p) + detokenize(t, p, context=c) == detokenize(c + t, p)``.

    For any ``t`` that ``tokenize`` produced,
    ``tokenize(detokenize(t, p)) == [x for x in t if x != "<eos>"]``, with one
    exception: a token ending in ``<br`` followed by one starting with ``/>``
    (from text like ``"<br  />"``) is joined into ``"<br />"``, which
    ``tokenize`` then deletes.
    """
    text = Detokenizer(printing, context)
    return "".join(text.add(token) for token in tokens)
