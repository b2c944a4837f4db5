"""Tests for lm.text: basic_english tokenizer, Vocab, detokenize."""

import json
import random

import pytest

from lm.text import EOS, UNK, Vocab, detokenize, tokenize

# Expected outputs written by hand from torchtext's basic_english rules:
# lowercase; ' -> " '  "; " -> ""; . , ( ) ! ? padded; <br /> ; : -> " "; split.
TOKENIZE_CASES = [
    ("", []),
    ("   \t\n ", []),
    ("You've", ["you", "'", "ve"]),
    ("Harry's wand", ["harry", "'", "s", "wand"]),
    ("don't", ["don", "'", "t"]),
    ("dogs' tails", ["dogs", "'", "tails"]),
    ('He said "hi."', ["he", "said", "hi", "."]),
    ('"', []),
    ('""quoted""', ["quoted"]),
    ("a.b", ["a", ".", "b"]),
    ("a,b", ["a", ",", "b"]),
    ("a(b)c", ["a", "(", "b", ")", "c"]),
    ("wow!", ["wow", "!"]),
    ("why?", ["why", "?"]),
    ("...", [".", ".", "."]),
    ("?!", ["?", "!"]),
    ("one;two:three", ["one", "two", "three"]),
    ("x ; y : z", ["x", "y", "z"]),
    ("line<br />break", ["line", "break"]),
    ("line<BR />break", ["line", "break"]),  # lowercased first, so this matches too
    ("a<br/>b", ["a<br/>b"]),  # only the exact "<br />" form is removed
    ("a<br  />b", ["a<br", "/>b"]),
    ("3.14 and 42", ["3", ".", "14", "and", "42"]),
    ("1,000", ["1", ",", "000"]),
    ("mad-eye moody", ["mad-eye", "moody"]),
    ("wait -- what", ["wait", "--", "what"]),
    ("wait--what", ["wait--what"]),
    ("Café naïve ÉCOLE", ["café", "naïve", "école"]),
    # Curly quotes are not in the rules: they stay glued to their words.
    ("\u2018hi\u2019", ["\u2018hi\u2019"]),
    ("\u201cHello,\u201d she said", ["\u201chello", ",", "\u201d", "she", "said"]),
    ("it\u2019s", ["it\u2019s"]),
    ("tab\tsep\nnew\r\nline", ["tab", "sep", "new", "line"]),
    ("  lots   of    space  ", ["lots", "of", "space"]),
    ("<unk> <eos>", ["<unk>", "<eos>"]),
    ("emoji 🦉!", ["emoji", "🦉", "!"]),
]


@pytest.mark.parametrize("text, expected", TOKENIZE_CASES)
def test_tokenize_known_answers(text, expected):
    assert tokenize(text) == expected


# ----------------------------------------------------------------------------
# Vocab


def test_vocab_order_frequency_then_alphabetical():
    lines = [["b", "a", "c", "c"], ["a", "d", "b"], ["c", "e"]]
    # counts: c=3, a=2, b=2, d=1, e=1
    vocab = Vocab.build(lines, min_freq=1)
    assert vocab.itos == [UNK, EOS, "c", "a", "b", "d", "e"]
    assert vocab.stoi == {t: i for i, t in enumerate(vocab.itos)}


def test_vocab_min_freq():
    lines = [["x"] * 3 + ["y"] * 2 + ["z"]]
    assert Vocab.build(lines, min_freq=3).itos == [UNK, EOS, "x"]
    assert Vocab.build(lines, min_freq=2).itos == [UNK, EOS, "x", "y"]
    assert Vocab.build(lines).min_freq == 3  # the notebook's default


@pytest.mark.parametrize("min_freq", [0, -1, 1.5, "3", True])
def test_vocab_bad_min_freq(min_freq):
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([["a"]], min_freq=min_freq)


def test_vocab_specials_in_text_are_not_duplicated():
    vocab = Vocab.build([["<eos>", "<unk>", "a", "<eos>"]], min_freq=1)
    assert vocab.itos == [UNK, EOS, "a"]
    assert vocab.unk_index == 0 and vocab.eos_index == 1


def test_vocab_lookup_encode_decode():
    vocab = Vocab.build([["the", "owl", "the"]], min_freq=1)
    assert len(vocab) == 4
    assert vocab["the"] == 2 and vocab["owl"] == 3
    assert vocab["never-seen"] == 0
    assert "owl" in vocab and "cat" not in vocab
    assert vocab.encode(["the", "cat", "owl", EOS]) == [2, 0, 3, 1]
    assert vocab.decode([2, 0, 3, 1]) == ["the", UNK, "owl", EOS]
    assert vocab.encode([]) == [] and vocab.decode([]) == []


@pytest.mark.parametrize("bad_id", [4, -1, 100])
def test_vocab_decode_out_of_range(bad_id):
    vocab = Vocab.build([["the", "owl"]], min_freq=1)
    with pytest.raises(ValueError, match=str(bad_id)):
        vocab.decode([2, bad_id])


@pytest.mark.parametrize(
    "itos",
    [[], ["a"], ["<eos>", "<unk>", "a"], ["<unk>", "<eos>", "a", "a"], ["<unk>", "<eos>", 3]],
)
def test_vocab_constructor_validates(itos):
    with pytest.raises(ValueError):
        Vocab(itos)


def test_vocab_equality():
    a = Vocab([UNK, EOS, "x"], min_freq=1)
    assert a == Vocab([UNK, EOS, "x"], min_freq=5)
    assert a != Vocab([UNK, EOS, "y"])
    assert a != ["<unk>", "<eos>", "x"]


def test_vocab_save_load_round_trip(tmp_path):
    vocab = Vocab.build([tokenize("Café, naïve \u201cowl\u201d you've! " * 3)], min_freq=3)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.min_freq == 3
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload == {"format": "lm-vocab", "version": 1, "min_freq": 3, "itos": vocab.itos}
    assert "café" in path.read_text(encoding="utf-8")  # readable, not \u-escaped
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temp file left
    vocab.save(str(path))  # overwriting works too, with a str path
    assert Vocab.load(str(path)) == vocab


def _write(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


GOOD = {"format": "lm-vocab", "version": 1, "min_freq": 3, "itos": ["<unk>", "<eos>", "a"]}


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ([1, 2], "lm-vocab"),
        ({**GOOD, "format": "something-else"}, "lm-vocab"),
        ({**GOOD, "version": 2}, "version 2"),
        ({k: v for k, v in GOOD.items() if k != "version"}, "version None"),
        ({k: v for k, v in GOOD.items() if k != "itos"}, "itos"),
        ({**GOOD, "itos": ["<unk>", "<eos>", "a", "a"]}, "'a' appears more than once"),
        ({**GOOD, "itos": ["<eos>", "<unk>", "a"]}, "first two tokens"),
        ({**GOOD, "itos": ["a"]}, "first two tokens"),
    ],
)
def test_vocab_load_rejects_bad_files(tmp_path, content, problem):
    path = _write(tmp_path, content)
    with pytest.raises(ValueError, match=problem) as err:
        Vocab.load(path)
    assert str(path) in str(err.value)


def test_vocab_load_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(ValueError, match="does not exist") as err:
        Vocab.load(path)
    assert str(path) in str(err.value)


# ----------------------------------------------------------------------------
# detokenize

DETOKENIZE_CASES = [
    ([], ""),
    (["hello", "world"], "Hello world"),
    (["you", "'", "ve", "won", "."], "You've won."),
    (["harry", "'", "s", "wand"], "Harry's wand"),
    (["i", "don", "'", "t", "know", ",", "i", "'", "m", "sure", "."], "I don't know, I'm sure."),
    (["they", "'", "re", "here", "and", "we", "'", "ll", "go", "."], "They're here and we'll go."),
    (["he", "'", "d", "said", "so"], "He'd said so"),
    (["the", "dogs", "'", "tails"], "The dogs' tails"),
    (["yes", "!", "no", "?", "maybe", ".", "ok"], "Yes! No? Maybe. Ok"),
    (["a", "(", "small", ")", "owl"], "A (small) owl"),
    (["wait", "--", "what", "?"], "Wait -- what?"),
    (["one", "<eos>", "two", "<eos>"], "One\ntwo\n"),
    (["end", ".", "<eos>", "<eos>", "next"], "End.\n\nNext"),
    (["a", "<unk>", "ran", "."], "A <unk> ran."),
    (["<unk>", "ran"], "<unk> ran"),
    (["(", "hush", ")", "said", "i"], "(Hush) said I"),
    (["it", "is", "in", "the", "inn"], "It is in the inn"),  # only "i" alone is the pronoun
    (["3", "owls", ".", "café", "time"], "3 owls. Café time"),
]


@pytest.mark.parametrize("tokens, expected", DETOKENIZE_CASES)
def test_detokenize_known_answers(tokens, expected):
    assert detokenize(tokens) == expected


WORDS = ["the", "owl", "i", "you", "harry", "mad-eye", "café", "naïve", "42", "dogs", "--"]
WORDS += ["<unk>", "<eos>", "ß", "\u201chi\u201d"]
PUNCT = [".", ",", "!", "?", "(", ")", ";", ":", "'", '"', "<br />", "\n", "\t"]
PUNCT += ["'s", "'t", "'ve", "'re", "'ll", "'d", "'m"]


def _random_text(rng: random.Random) -> str:
    pieces = [rng.choice(WORDS if rng.random() < 0.6 else PUNCT) for _ in range(rng.randint(0, 25))]
    # Random capitals and glue (no space) exercise more of the rules.
    pieces = [p.upper() if rng.random() < 0.1 else p for p in pieces]
    return "".join(p + rng.choice(["", " ", " ", "  "]) for p in pieces)


def test_detokenize_round_trip_property():
    rng = random.Random(1234)
    for _ in range(500):
        tokens = tokenize(_random_text(rng))
        # Sprinkle line ends in, as a model's output would have them.
        for _ in range(rng.randint(0, 3)):
            tokens.insert(rng.randint(0, len(tokens)), EOS)
        text = detokenize(tokens)
        assert tokenize(text) == [t for t in tokens if t != EOS], (tokens, text)


def test_detokenize_round_trip_exception_br():
    # The documented exception: "<br" then "/>" re-form "<br />", which tokenize deletes.
    tokens = tokenize("a<br  />b")
    assert tokens == ["a<br", "/>b"]
    assert tokenize(detokenize(tokens)) == ["a", "b"]
