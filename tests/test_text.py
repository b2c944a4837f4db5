"""Tests for lm.text: basic_english tokenizer, Vocab and its display forms, detokenize."""

import json
import random

import pytest

from lm.generation import Generation
from lm.text import EOS, LOWER_CASE, UNK, Printing, detokenize, ends_open, tokenize, tokenize_cased
from lm.vocab import Vocab

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
    assert [t.lower() for t in tokenize_cased(text)] == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Dorothy's dog, Toto!", ["Dorothy", "'", "s", "dog", ",", "Toto", "!"]),
        ('"Hello," said I.', ["Hello", ",", "said", "I", "."]),
        ("line<BR />Break", ["line", "Break"]),
        ("a<Br  />B", ["a<Br", "/>B"]),
        ("ÉCOLE café İstanbul", ["ÉCOLE", "café", "İstanbul"]),
        # Lowered alone "ΟΔΟΣ" ends in "ς", but in "οδοσ.abc" the sigma is not final: lower case it is.
        ("ΟΔΟΣ.ABC ΟΔΟΣ", ["οδοσ", ".", "ABC", "ΟΔΟΣ"]),
    ],
)
def test_tokenize_cased_known_answers(text, expected):
    assert tokenize_cased(text) == expected


# Characters whose lower case is longer (İ), depends on context (Σ), or is a letter of another
# script or an odd code point; all kinds of whitespace, quotes and the <br /> rule.
ADVERSARIAL = ["İ", "ı", "Σ", "σ", "ς", "ΟΔΟΣ", "ß", "ẞ", "Ǆ", "ǅ", "ǆ", "\u212a", "\u2126", "ﬁ", "ΐ", "\u0307",
               "Ⅻ", "Ａ", "\U00010400", "A", "a", "Oz", "<BR />", "<Br />", "<br />", "<br", "/>", "'", '"', ".",
               ",", "(", ")", "!", "?", ";", ":", "\u201c", "\u2019", " ", "  ", "\t", "\n", "\u00a0", "\u2028",
               "\x85", "\x1c", "\u3000", "<unk>", "<EOS>", "7"]


def _adversarial_text(rng: random.Random) -> str:
    return "".join(rng.choice(ADVERSARIAL) for _ in range(rng.randint(0, 30)))


def test_tokenize_cased_lowers_to_tokenize():
    rng = random.Random(7)
    for _ in range(3000):
        text = _adversarial_text(rng)
        assert [t.lower() for t in tokenize_cased(text)] == tokenize(text), repr(text)


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
    assert payload == {"format": "lm-vocab", "version": 4, "min_freq": 3, "itos": vocab.itos, "display": {},
                       "colons": [], "lower_after": {}, "tails": []}
    assert "café" in path.read_text(encoding="utf-8")  # readable, not \u-escaped
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temp file left
    vocab.save(str(path))  # overwriting works too, with a str path
    assert Vocab.load(str(path)) == vocab


def _write(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


GOOD = {"format": "lm-vocab", "version": 1, "min_freq": 3, "itos": ["<unk>", "<eos>", "a"]}
V4 = {**GOOD, "version": 4, "display": {}, "colons": [], "lower_after": {}, "tails": []}


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ([1, 2], "lm-vocab"),
        ({**GOOD, "format": "something-else"}, "lm-vocab"),
        ({**GOOD, "version": 5}, "version 5"),
        ({**GOOD, "version": True}, "version True"),
        ({**GOOD, "version": 2}, "'display' must be an object"),  # version 2 has display forms
        ({**GOOD, "version": 2, "display": ["a"]}, "'display' must be an object"),
        ({**GOOD, "version": 2, "display": {"b": "B"}}, "display key 'b'"),
        ({**GOOD, "version": 2, "display": {"<unk>": "<UNK>"}}, "display key '<unk>'"),
        ({**GOOD, "version": 2, "display": {"a": 1}}, "display form 1 of 'a'"),
        ({**GOOD, "version": 2, "display": {"a": "a"}}, "display form 'a' of 'a'"),
        ({**GOOD, "version": 2, "display": {"a": "B"}}, "display form 'B' of 'a'"),
        ({**GOOD, "version": 2, "display": {"a": "Ab"}}, "display form 'Ab' of 'a'"),
        ({**GOOD, "itos": ["<unk>", "<eos>", "ας"], "version": 2, "display": {"ας": "ΑΣ"}}, "'ΑΣ'"),
        ({**GOOD, "version": 3, "display": {}}, "'colons' must be a list"),  # version 3 has colon words
        ({**GOOD, "version": 3, "display": {}, "colons": "a"}, "'colons' must be a list"),
        ({**GOOD, "version": 3, "display": {}, "colons": [1]}, "'colons' must be a list"),
        ({**GOOD, "version": 3, "display": {}, "colons": ["b"]}, "colon word 'b'"),
        ({**GOOD, "version": 3, "display": {}, "colons": ["<eos>"]}, "colon word '<eos>'"),
        ({**GOOD, "version": 4, "display": {}, "colons": [], "tails": []}, "'lower_after' must be an object of lists"),
        ({**GOOD, "version": 4, "display": {}, "colons": [], "lower_after": {}}, "'tails' must be a list"),
        ({**GOOD, "version": 4, "display": {}, "colons": [], "lower_after": {}, "tails": ["b"]}, "apostrophe tail 'b'"),
        ({**V4, "lower_after": {"!": "a"}}, "must be an object of lists"),
        ({**V4, "lower_after": {",": ["a"]}}, "mark ','"),
        ({**V4, "lower_after": {"!": ["b"]}}, "lower-case word 'b'"),
        ({**V4, "lower_after": {"?": [1]}}, "lower-case word 1"),
        ({**V4, "lower_after": {"?": ["<unk>"]}}, "word '<unk>'"),
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


def test_vocab_load_version_1_has_lower_case_display(tmp_path):
    vocab = Vocab.load(_write(tmp_path, {**GOOD, "display": {"a": "A"}}))  # version 1 had no display
    assert vocab == Vocab(GOOD["itos"]) and vocab.display == {} and vocab.shown("a") == "a"


def test_vocab_constructor_validates_display():
    assert Vocab([UNK, EOS, "oz", "the"], display={"oz": "OZ"}).display == {"oz": "OZ"}
    for bad in [{"oz": "Of"}, {"cat": "Cat"}, {EOS: "<EOS>"}, {"the": "the"}, ["oz"]]:
        with pytest.raises(ValueError, match="display"):
            Vocab([UNK, EOS, "oz", "the"], display=bad)


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
    # <eos> ends a paragraph: a blank line, and the next word starts a sentence.
    (["one", "<eos>", "two", "<eos>"], "One\n\nTwo\n\n"),
    (["end", ".", "<eos>", "<eos>", "next"], "End.\n\n\n\nNext"),
    (["<eos>", "(", "hi", ")"], "\n\n(Hi)"),
    (["a", "<unk>", "ran", "."], "A <unk> ran."),
    (["<unk>", "ran"], "<unk> ran"),
    (["(", "hush", ")", "said", "i"], "(Hush) said I"),
    (["it", "is", "in", "the", "inn"], "It is in the inn"),  # only "i" alone is the pronoun
    (["3", "owls", ".", "café", "time"], "3 owls. Café time"),
    # Opening quotes and brackets inside a word: the letter after them is capitalised.
    (["\u201chi", ",", "\u201d", "she", "said", ".", "\u2018ß", "[no"], "\u201cHi, \u201d she said. \u2018ß [no"),
    (["\u201c", "well", ".", "["], "\u201c Well. ["),
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


# ----------------------------------------------------------------------------
# Display forms, learned from a small made-up corpus

CORPUS = [
    "Yesterday Mirela met the baker of Quillby, and I waved.",
    "The baker said I was late. Walking home, Mirela laughed!",
    "Walking is slow. 'Zounds,' said the baker to Mirela. 'Zounds' is old.",
    "NASA? NASA sent the Kip and the kip to Quillby, i think. (Honestly) yes.",
    "(Honestly) the QUILLBY road is long, Mirela.",
]


@pytest.fixture
def cased_vocab():
    cased = [tokenize_cased(line) for line in CORPUS]
    return Vocab.build([tokenize(line) for line in CORPUS], min_freq=1, cased_lines=cased)


def test_display_known_answers(cased_vocab):
    shown = {word: cased_vocab.shown(word) for word in cased_vocab.itos}
    assert shown["mirela"] == "Mirela"  # capitalised mid-sentence, at a sentence start too
    assert shown["quillby"] == "Quillby"  # "QUILLBY" once, "Quillby" twice
    assert shown["i"] == "I"  # "I" twice mid-sentence, "i" once
    assert shown["the"] == "the"  # "The" only starts a sentence
    assert shown["walking"] == "walking"  # seen only at sentence starts, simply capitalised
    assert shown["zounds"] == "zounds"  # only after an opening quote that starts a sentence
    assert shown["honestly"] == "honestly"  # only after a "(" that starts a sentence
    assert shown["nasa"] == "NASA"  # only at sentence starts, but never as a start explains it
    assert shown["kip"] == "kip"  # a tie between "Kip" and "kip": lower case
    assert cased_vocab.shown("zebra") == "zebra" and cased_vocab.shown("<unk>") == "<unk>"
    assert cased_vocab.display == {w: f for w, f in shown.items() if f != w}  # in id order
    assert list(cased_vocab.display) == sorted(cased_vocab.display, key=cased_vocab.stoi.get)


def test_display_changes_no_id(cased_vocab):
    plain = Vocab.build([tokenize(line) for line in CORPUS], min_freq=1)
    assert plain == cased_vocab and plain.itos == cased_vocab.itos and plain.display == {}
    assert plain.shown("mirela") == "mirela" and plain.shown("i") == "I"  # the pronoun, as before display forms


def test_display_only_for_kept_words():
    lines = ["Ozma and Ozma met Ozma and ozma.", "Ozma Ran."]
    vocab = Vocab.build(map(tokenize, lines), min_freq=2, cased_lines=map(tokenize_cased, lines))
    assert vocab.display == {"ozma": "Ozma"}  # "Ran" is under min_freq
    vocab = Vocab.build(map(tokenize, lines), min_freq=6, cased_lines=map(tokenize_cased, lines))
    assert vocab.itos == [UNK, EOS] and vocab.display == {}


def test_display_save_load_round_trip(tmp_path, cased_vocab):
    path = tmp_path / "vocab.json"
    cased_vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == cased_vocab and loaded.display == cased_vocab.display and loaded.shown("mirela") == "Mirela"
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["version"] == 4 and payload["display"] == cased_vocab.display


# ----------------------------------------------------------------------------
# Colons before a paragraph break, learned from the lines as printed

COLON_LINES = [
    "Then the baker said:", "'Zounds,' he cried.", "Mirela said:", "Mirela said: go.",  # "said" ends 3, 2 colon
    "The owl cried:", "Everyone cried", "The fox cried", "It rained:", "It rained:",  # cried: 1 of 3; rained: 2
    "The gate said:", "Then he said",
]


def test_colons_known_answers(tmp_path):
    vocab = Vocab.build(map(tokenize, COLON_LINES), min_freq=1, lines=COLON_LINES)
    # "said" ends four lines, three with a colon; "cried" ends three, one with a colon; "rained" ends only
    # two (too few to tell); "go" and "." never end on a colon.
    assert vocab.colons == {"said"}
    assert Vocab.build(map(tokenize, COLON_LINES), min_freq=1).colons == frozenset()  # no lines: none
    assert Vocab.build(map(tokenize, COLON_LINES), min_freq=7, lines=COLON_LINES).colons == frozenset()  # not kept
    assert detokenize(tokenize("mirela said") + [EOS, "go"], vocab.printing) == "Mirela said:\n\nGo"
    assert detokenize(tokenize("mirela cried") + [EOS], vocab.printing) == "Mirela cried\n\n"
    assert detokenize(["said", "."], vocab.printing) == "Said."  # only before a break
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json").colons == {"said"}
    payload = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert payload["colons"] == ["said"]


def test_a_version_2_vocabulary_loads_with_no_colons(tmp_path):
    vocab = Vocab.load(_write(tmp_path, {**GOOD, "version": 2, "display": {"a": "A"}}))
    assert vocab.display == {"a": "A"} and vocab.colons == frozenset()


def test_colons_change_no_token_and_the_round_trip_holds():
    colons = {"said", "cried"}
    for tokens in (tokenize("the owl said") + [EOS, "go", "."], ["cried", EOS, EOS, "said", EOS]):
        text = detokenize(tokens, Printing(colons=frozenset(colons)))
        assert tokenize(text) == [t for t in tokens if t != EOS]  # tokenize drops the colon it shows
        assert text.count(":") == sum(a in colons and b == EOS for a, b in zip(tokens, tokens[1:]))


def test_a_prompt_typed_with_its_colon_gets_no_second_one():
    for prompt in ("The owl said:", "The owl said: ", "The owl said"):
        g = Generation(prompt, tokenize(prompt), tokens=[EOS, "go"], printing=Printing(colons=frozenset({"said"})))
        assert g.text == prompt.rstrip(" ").rstrip(":") + ":" + (" " if prompt.endswith(" ") else "") + "\n\nGo"
        assert g.pieces() == [g.piece(0), g.piece(1)] and g.continuation == "".join(g.pieces())


# ----------------------------------------------------------------------------
# Lower case after ! or ?, learned from the cased lines ('"Oh!" cried Mirela': tokenize drops the quotes)

LOWER_LINES = [
    '"Oh!" cried Mirela.', "'Run!' cried the baker.", '"No!" cried the fox!',  # "cried" after !: 3 in lower case
    '"Why?" asked Mirela.', '"Who?" asked the owl.', '"Where?" asked he.',  # "asked" after ?: 3
    "Stop! The gate shut.", "Stop! The owl sat.", '"Go!" the fox said.',  # "the" after !: 1 of 3
    '"Well?" Cried Mirela.',  # "cried" after ?: once, in capitals: too few, so its places after ! or ? decide
    "It rained. cried nobody.",  # after a full stop: once, too few (and ! and ? do not speak for it)
    "Well? Then go. Why? Then stay. How? Then run.",  # "then" after ?: 3 capitals
]


def test_lower_case_after_a_mark_known_answers(tmp_path):
    vocab = Vocab.build(map(tokenize, LOWER_LINES), min_freq=1, cased_lines=map(tokenize_cased, LOWER_LINES))
    # "asked" is never seen after !, and its 3 places after ? decide; "cried" after ?: 3 of 4 after either.
    assert vocab.lower_after == {"!": {"cried", "asked"}, "?": {"asked", "cried"}}
    assert Vocab.build(map(tokenize, LOWER_LINES), min_freq=1).lower_after == {}  # no cased lines: none
    shown = detokenize(tokenize("oh!' cried mirela. why? asked the owl. run! the owl asked. well? then go. so!"),
                       vocab.printing)
    assert shown == "Oh!' cried Mirela. Why? asked the owl. Run! The owl asked. Well? Then go. So!"
    assert detokenize(["cried", "!", EOS, "cried"], vocab.printing) == "Cried!\n\nCried"  # a paragraph's start
    assert detokenize(["asked", "?", "asked"], vocab.printing, context=["so", "?"]) == " asked? asked"
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json").printing == vocab.printing
    payload = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert payload["lower_after"] == {"!": ["cried", "asked"], "?": ["cried", "asked"]}  # in id order
    again = Vocab(vocab.itos, display=vocab.display, colons=vocab.colons, lower_after=vocab.lower_after)  # sets do
    assert again.printing == vocab.printing


# ----------------------------------------------------------------------------
# Words joined after an apostrophe, learned from the lines as printed ("Cap'n": tokenize makes cap ' n)

TAIL_LINES = ["Cap'n Bill and Cap'n Ozma.", "It is one o'clock, Cap'n.", "The 'n' sign.", "Rock 'n roll, o'clock!",
              "Two o'clock and three o' clock.", "Yes, ma'am."]


def test_apostrophe_tails_known_answers(tmp_path):
    vocab = Vocab.build(map(tokenize, TAIL_LINES), min_freq=1, lines=TAIL_LINES,
                        cased_lines=map(tokenize_cased, TAIL_LINES))
    # "n" follows an apostrophe inside a word 3 times of 5; "clock" 3 of 4 (once after a space);
    # "am" once (too few to tell); "sign" never inside a word.
    assert vocab.tails == {"n", "clock"}
    assert Vocab.build(map(tokenize, TAIL_LINES), min_freq=1).tails == frozenset()  # no lines: none
    tokens = tokenize("cap'n bill, o'clock, ma'am, i'm, the 'n' sign")
    # The tokens cannot tell "the 'n'" from "Cap'n": a tail joins wherever it follows an apostrophe.
    assert detokenize(tokens, vocab.printing) == "Cap'n Bill, o'clock, ma' am, I'm, the'n' sign"
    assert detokenize(tokens) == "Cap' n bill, o' clock, ma' am, I'm, the' n' sign"  # lower case: as before
    assert tokenize(detokenize(tokens, vocab.printing)) == tokens
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json").printing == vocab.printing
    assert json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))["tails"] == ["n", "clock"]


def test_a_version_3_vocabulary_loads_with_capitals_after_every_mark(tmp_path):
    vocab = Vocab.load(_write(tmp_path, {**GOOD, "version": 3, "display": {}, "colons": ["a"]}))
    assert vocab.colons == {"a"} and vocab.lower_after == {} and detokenize(["a", "!", "a"], vocab.printing) == "A! A"


@pytest.mark.parametrize("prompt, opens", [
    ('He said, "', True), ("He said, “", True), ("He said (", True), ("He said, '", True), ('"', True),
    ('"Why?"', False), ("the dogs'", False), ("He said", False), ("", False), ("He said, \u00a0'", True),
])
def test_a_prompt_that_ends_open_gets_no_space_after_it(prompt, opens):
    g = Generation(prompt, tokenize(prompt), tokens=["go", "on"])
    assert ends_open(prompt) is opens
    assert g.pieces()[0].lower() == ("go" if opens or not prompt else " go") and g.text.startswith(prompt)


def test_detokenize_with_display(cased_vocab):
    tokens = tokenize("yesterday mirela met the baker . walking home , i said ' the nasa ' s mirela ' s")
    assert detokenize(tokens, cased_vocab.printing) == (
        "Yesterday Mirela met the baker. Walking home, I said' the NASA's Mirela's")
    assert detokenize(["nasa", "said", "<eos>", "the", "nasa"], Printing({"nasa": "NASA"})) == "NASA said\n\nThe NASA"
    assert detokenize(["i", "'", "d"], Printing({"d": "D"})) == "I'd"  # the rest of a word keeps its case


@pytest.mark.parametrize(
    "context, tokens, expected",
    [
        ([], ["the", "nasa"], "The NASA"),
        (["the"], ["nasa", "said"], " NASA said"),
        (["so", "."], ["the", "nasa"], " The NASA"),
        (["so", ".", "'"], ["the"], " The"),  # the quote does not end the sentence start
        (["so", "("], ["the"], "the"),  # "(" hugs the word after
        (["so", "<eos>"], ["the"], "The"),  # a new paragraph
        (["i", "'"], ["m", "here"], "m here"),
        (["so"], [".", "'"], ".'"),
        ([], ["'", "course", "not"], "'Course not"),  # nothing before the apostrophe: it opens the word
        (["so", "<eos>"], ["'", "tis"], "'Tis"),
        (["so", "("], ["'", "tis"], "'tis"),
        (["so"], ["'", "tis"], "' tis"),  # after a word it hugs the word before
        (["so"], [], ""),
        ([], [], ""),
    ],
)
def test_detokenize_context_known_answers(context, tokens, expected):
    display = Printing({"nasa": "NASA"})
    assert detokenize(tokens, display, context=context) == expected
    assert detokenize(context, display) + expected == detokenize(context + tokens, display)
    assert detokenize(iter(tokens), display, context=iter(context)) == expected  # any iterables


def _random_display_vocab(rng: random.Random):
    texts = [_random_text(rng) for _ in range(30)] + [_adversarial_text(rng) for _ in range(30)]
    cased = [tokenize_cased(text) for text in texts]
    return Vocab.build([[t.lower() for t in line] for line in cased], min_freq=1, cased_lines=cased)


def _random_printing(rng: random.Random) -> Printing:
    """A random vocabulary's display forms, with colons and lower case after each mark on some of its words."""
    vocab = _random_display_vocab(rng)
    words = vocab.itos[2:]
    return Printing(vocab.display, frozenset(rng.sample(words, 10)),
                    {mark: frozenset(rng.sample(words, 20)) for mark in ".!?"}, frozenset(rng.sample(words, 20)))


def test_detokenize_properties_with_display():
    rng = random.Random(99)
    vocab = _random_display_vocab(rng)
    printing = _random_printing(rng)
    assert len(vocab.display) > 10
    for _ in range(500):
        tokens = tokenize(_random_text(rng) if rng.random() < 0.5 else _adversarial_text(rng))
        for _ in range(rng.randint(0, 3)):
            tokens.insert(rng.randint(0, len(tokens)), EOS)
        for display in (vocab.printing, printing, LOWER_CASE):
            text = detokenize(tokens, display)
            if "<br />" not in text.lower():  # the documented exception
                assert tokenize(text) == [t for t in tokens if t != EOS], (tokens, text)
            cut = rng.randint(0, len(tokens))
            head, tail = tokens[:cut], tokens[cut:]
            assert detokenize(head, display) + detokenize(tail, display, context=head) == text


def test_a_generations_pieces_are_detokenize_however_they_are_asked_for():
    """Generation.pieces() (one pass), piece(i) and a stream's last_piece() (its detokenizer kept between
    calls, catching up on tokens added without asking) all give what detokenize gives for each new token."""
    rng = random.Random(7)
    display = _random_printing(rng)
    for _ in range(200):
        prompt = rng.choice(["", "so ", "the owl", "said. ", "(well"])
        tokens = tokenize(_random_text(rng))
        for _ in range(rng.randint(0, 2)):
            tokens.insert(rng.randint(0, len(tokens)), EOS)
        context = tokenize(prompt)
        expected = [detokenize(tokens[i:i + 1], display, context=context + tokens[:i]) for i in range(len(tokens))]
        if expected and prompt.endswith(" "):
            expected[0] = expected[0].lstrip(" ")  # the prompt brings its own space
        whole = Generation(prompt, context, tokens=list(tokens), printing=display)
        assert whole.pieces() == expected == [whole.piece(i) for i in range(len(tokens))]
        assert whole.continuation == "".join(expected)
        growing = Generation(prompt, context, printing=display)
        for i, token in enumerate(tokens):
            growing.tokens.append(token)
            if rng.random() < 0.7:
                assert growing.last_piece() == expected[i], (prompt, tokens, i)
