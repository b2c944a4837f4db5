"""How the books print the words (``lm.text.Printing``): learned from the train split, kept in vocab.json.

``tokenize`` lowercases the text and drops double quotes, colons and semicolons, and an apostrophe
becomes a token of its own. From the train lines as printed, a vocabulary learns what it takes to write
the model's tokens back as the books print them; none of it changes a token or an id:

- ``display``: each word's usual casing ("dorothy" -> "Dorothy"), from the cased tokens;
- ``colons``: the words after which a paragraph that ends there mostly ends in a colon ("he said:"
  before a quoted paragraph), from the lines;
- ``lower_after``: for . ! and ?, the words mostly printed in lower case right after it ('"Oh!" cried
  Dorothy', whose quotes are dropped), from the cased tokens;
- ``tails``: the words that, after an apostrophe, mostly finish the word before it ("Cap'n", "o'clock",
  "s'pose"), beside the contractions every vocabulary joins ('s 't 've 're 'll 'd 'm), from the lines.

Each rule needs at least ``MIN_COUNT`` places in the books, so a word seen once or twice decides nothing.
"""

from collections import Counter
from collections.abc import Iterable

from .text import SENTENCE_END, SPECIALS, SUFFIXES, Printing, capitalise, is_word, sentence_starts, tokenize

MIN_COUNT = 3


def learn(words: set, cased_lines: list[list[str]] | None = None, lines: list[str] | None = None) -> dict:
    """What the printed lines teach, as ``Vocab``'s keyword arguments (none where the lines are not given)."""
    learned = {}
    if cased_lines is not None:
        learned["display"] = learn_display(cased_lines, words)
        learned["lower_after"] = learn_lower_after(cased_lines, words)
    if lines is not None:
        learned["colons"] = learn_colons(lines, words)
        learned["tails"] = learn_tails(lines, words)
    return learned


def build(display: dict, colons: list, lower_after: dict, tails: list) -> Printing:
    """A checked vocabulary's printing (``problem`` found nothing)."""
    return Printing(display, frozenset(colons), {mark: frozenset(w) for mark, w in lower_after.items() if w},
                    frozenset(tails))


def payload(printing: Printing, order: dict) -> dict:
    """The printing as vocab.json holds it: lists in id order (``order``: token -> id)."""
    ordered = lambda words: sorted(words, key=order.get)
    return {"display": dict(printing.display), "colons": ordered(printing.colons),
            "lower_after": {mark: ordered(words) for mark, words in printing.lower_after.items()},
            "tails": ordered(printing.tails)}


def problem(words: set, display, colons, lower_after, tails) -> str | None:
    """What is wrong with a printing (as vocab.json holds it) for a vocabulary of ``words``, or None."""
    return (display_problem(display, words) or _words_problem("colons", "colon word", colons, words)
            or lower_after_problem(lower_after, words)
            or _words_problem("tails", "apostrophe tail", tails, words))


def _words_problem(key: str, what: str, value, words: set) -> str | None:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return f"{key!r} must be a list of strings"
    bad = next((t for t in value if t not in words or t in SPECIALS), None)
    return None if bad is None else f"{what} {bad!r} is not a word of the vocabulary"


def display_problem(display, words: set) -> str | None:
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


def lower_after_problem(lower_after, words: set) -> str | None:
    """What is wrong with a map of marks to the words kept in lower case after them, or None."""
    if not isinstance(lower_after, dict) or not all(isinstance(v, list) for v in lower_after.values()):
        return "'lower_after' must be an object of lists"
    bad = next((m for m in lower_after if m not in SENTENCE_END), None)
    if bad is not None:
        return f"'lower_after' mark {bad!r} is not one of {sorted(SENTENCE_END)}"
    bad = next((t for v in lower_after.values() for t in v if not isinstance(t, str) or t not in words
                or t in SPECIALS), None)
    return None if bad is None else f"lower-case word {bad!r} is not a word of the vocabulary"


def learn_colons(lines: Iterable[str], words: set, min_count: int = MIN_COUNT) -> frozenset[str]:
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


def learn_lower_after(cased_lines: list[list[str]], words: set, min_count: int = MIN_COUNT) -> dict[str, list[str]]:
    """For each mark that ends a sentence, the words the books print in lower case in most of at least
    ``min_count`` places right after it: '"Oh!" cried Dorothy', '"Where?" asked the Lion'. The quotes
    are dropped by ``tokenize``, and without this the page would write "Oh! Cried Dorothy". A word seen
    fewer times after ! or ? is decided by its places after either: both end a quotation alike."""
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
    quoting = ("!", "?")  # the marks that end a quotation alike: '"Oh!" cried', '"Why?" asked'
    counts = lambda marks, word: [sum(after[m, word, lower] for m in marks) for lower in (True, False)]
    learned = {}
    for mark in sorted(SENTENCE_END):
        alike = quoting if mark in quoting else (mark,)
        for word in sorted({w for m, w, _ in after if m in alike}):
            low, other = counts((mark,), word)
            if low + other < min_count:  # too few places after this mark: its places after either decide
                low, other = counts(alike, word)
            if low + other >= min_count and low > other:
                learned.setdefault(mark, []).append(word)
    return learned


def learn_tails(lines: Iterable[str], words: set, min_count: int = MIN_COUNT) -> frozenset[str]:
    """The words that follow an apostrophe inside a word (a letter or digit on both sides) in most of at
    least ``min_count`` places where they follow one: "n" in "Cap'n", "clock" in "o'clock". ``tokenize``
    makes "cap ' n" of "Cap'n", and without this the page would write "Cap' n"."""
    inside, after = Counter(), Counter()
    for line in lines:
        if "'" not in line:
            continue
        tokens = tokenize(line)
        apostrophes = [i for i, c in enumerate(line) if c == "'"]  # each one is a token of its own, in order
        places = [j for j, t in enumerate(tokens) if t == "'"]
        for i, j in zip(apostrophes, places):
            if j + 1 < len(tokens):
                after[tokens[j + 1]] += 1
                inside[tokens[j + 1]] += 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalnum()
    return frozenset(t for t, n in inside.items()
                     if t in words and t not in SUFFIXES and n >= min_count and n > after[t] / 2)


def learn_display(cased_lines: Iterable[list[str]], words: set) -> dict[str, str]:
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
        if best != word and not display_problem({word: best}, words):
            display[word] = best
    return display
