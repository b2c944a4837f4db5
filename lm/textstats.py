"""Measures of a whole generated text, as pure functions of its tokens (and the model's probabilities).

    tokens = "a b a b a b".split()
    distinct(tokens, 2)        # 2 distinct bigrams of 5 -> 0.4: little variety
    repeated_share(tokens, 4)  # "a b a b" seen again once, of 3 4-grams -> 0.333: a loop
    perplexity([0.5, 0.5])     # 2.0: as unsure as a coin toss, on average

They are measured on the NEW tokens only, never the prompt: the prompt is the user's, and counting it
would make a short text and a long one with the same prompt incomparable. So copy share counts the
4-grams lying wholly inside the generated tokens; one that spans the prompt's end ("... afraid , but" +
"he") is left out, and a text of under 4 new tokens has no 4-gram. A measure with nothing to count is
nan (say "no value", not 0).
"""

import math
from collections.abc import Sequence


def ngrams(tokens: Sequence, n: int) -> list[tuple]:
    """["a", "b", "c"], 2 -> [("a", "b"), ("b", "c")]."""
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct(tokens: Sequence, n: int) -> float:
    """Distinct-n: distinct n-grams / all n-grams (1 = never repeats itself, near 0 = one phrase again and again)."""
    grams = ngrams(tokens, n)
    return len(set(grams)) / len(grams) if grams else math.nan


def repeated_share(tokens: Sequence, n: int = 4) -> float:
    """The share of n-grams that already occurred earlier in the same text: what a loop looks like.
    "a b c d a b c d": of its 5 4-grams only the last "a b c d" came before -> 0.2."""
    grams, seen, again = ngrams(tokens, n), set(), 0
    for g in grams:
        again += g in seen
        seen.add(g)
    return again / len(grams) if grams else math.nan


def perplexity(probs: Sequence[float]) -> float:
    """The model's own perplexity of what it wrote: exp of the mean of -log p, each p being the model's
    probability of the token before temperature (Generation.probs). A p that float32 rounded to 0 counts
    as 1e-45, its smallest positive value, rather than infinity."""
    if not probs:
        return math.nan
    return math.exp(sum(-math.log(max(p, 1e-45)) for p in probs) / len(probs))


def copy_share(copied: Sequence[bool]) -> float:
    """The share of a text's 4-grams found in the training text (NgramIndex.copied's per-4-gram answers)."""
    return sum(map(bool, copied)) / len(copied) if len(copied) else math.nan


def copied_tokens(copied: Sequence[bool], length: int, n: int = 4) -> list[bool]:
    """Per token: whether it lies in any copied n-gram, for highlighting. Gram i covers tokens i .. i+n-1:
    [False, True], length 5 -> [False, True, True, True, True]."""
    if len(copied) != max(length - n + 1, 0):
        raise ValueError(f"copied must have one answer per {n}-gram of {length} tokens, got {len(copied)}")
    mask = [False] * length
    for i, hit in enumerate(copied):
        if hit:
            mask[i:i + n] = [True] * n
    return mask
