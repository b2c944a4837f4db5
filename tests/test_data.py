"""Tests for lm.data: loading a corpus folder through datasets, and batching."""

import datasets
import pytest
import torch

from lm.data import (
    Corpus,
    batchify,
    count_unk,
    encode_lines,
    get_batch,
    iter_batches,
    load_corpus,
    load_split_lines,
    num_chunks,
    tokenize_lines,
    trim,
)
from lm.text import EOS, UNK
from lm.vocab import Vocab

# Invented sentences only. Train has blank lines, a line of only quotes and
# padding-only lines, all of which must vanish.
TRAIN = 'The owl sat.\n\n"\n   \nThe owl flew!\n""\nA cat sat.\n'
VALIDATION = "The dragon sat.\n\nA owl.\n"
TEST = "Zebra cat!\n"


# Every test gets its own HF caches with offline mode on: see private_hf_cache in conftest.py.


def make_corpus(root, train=TRAIN, validation=VALIDATION, test=TEST):
    """Write a corpus folder: {split}/part.txt for each split whose text is not None."""
    for split, text in [("train", train), ("validation", validation), ("test", test)]:
        if text is None:
            continue
        (root / split).mkdir(parents=True)
        (root / split / "part.txt").write_text(text, encoding="utf-8")
    return root


def decode(corpus: Corpus, split: str) -> list[str]:
    return corpus.vocab.decode(corpus.split(split).tolist())


# ----------------------------------------------------------------------------
# load_corpus


def test_load_corpus_streams(tmp_path):
    corpus = load_corpus(str(make_corpus(tmp_path / "c")), min_freq=1)
    # Counts: the/owl/sat/. twice, then !/a/cat/flew once; ties alphabetical.
    assert corpus.vocab.itos == [UNK, EOS, ".", "owl", "sat", "the", "!", "a", "cat", "flew"]
    # Blank, whitespace-only and quote-only lines are gone; <eos> ends every line.
    assert decode(corpus, "train") == [
        "the", "owl", "sat", ".", EOS,
        "the", "owl", "flew", "!", EOS,
        "a", "cat", "sat", ".", EOS,
    ]  # fmt: skip
    for split in ("train", "validation", "test"):
        ids = corpus.split(split)
        assert ids.dtype == torch.long and ids.dim() == 1


def test_vocab_comes_from_train_only(tmp_path):
    corpus = load_corpus(str(make_corpus(tmp_path / "c")), min_freq=1)
    assert "dragon" not in corpus.vocab and "zebra" not in corpus.vocab
    assert decode(corpus, "validation") == ["the", UNK, "sat", ".", EOS, "a", "owl", ".", EOS]
    assert decode(corpus, "test") == [UNK, "cat", "!", EOS]


def test_min_freq(tmp_path):
    folder = make_corpus(tmp_path / "c", train="owl owl owl cat cat\nbat\n")
    assert load_corpus(str(folder)).vocab.itos == [UNK, EOS, "owl"]  # default min_freq=3
    assert load_corpus(str(folder), min_freq=2).vocab.itos == [UNK, EOS, "owl", "cat"]


def test_the_vocabulary_learns_how_the_train_split_is_printed(tmp_path):
    train = 'Then Ozma said:\nGo, said Ozma.\nThe owl said:\nAnd Ozma said:\nIt said it\n"Go!" said it. Go! said it\n'
    test = "So it:\nSo it:\nSo it:\nGo! it. Go! it. Go! it.\n"  # never learned from: test lines
    corpus = load_corpus(str(make_corpus(tmp_path / "c", train=train, test=test)), min_freq=1)
    assert corpus.vocab.colons == {"said"} and corpus.vocab.display == {"ozma": "Ozma"}
    assert corpus.vocab.lower_after == {}  # "said" after "!" twice: too few to tell
    train += "No! said Ozma.\n"
    corpus = load_corpus(str(make_corpus(tmp_path / "d", train=train, test=test)), min_freq=1)
    assert corpus.vocab.lower_after == {"!": {"said"}, "?": {"said"}}  # never seen after ?: its places after !
    assert decode(corpus, "train")[:4] == ["then", "ozma", "said", EOS]  # the tokens know no colon


def test_several_files_per_split_in_name_order(tmp_path):
    folder = make_corpus(tmp_path / "c", train="owl\n")
    (folder / "train" / "zz.txt").write_text("cat\n", encoding="utf-8")
    (folder / "train" / "aa.txt").write_text("bat\n", encoding="utf-8")
    corpus = load_corpus(str(folder), min_freq=1)
    assert decode(corpus, "train") == ["bat", EOS, "owl", EOS, "cat", EOS]
    assert torch.equal(load_corpus(folder, min_freq=1).train, corpus.train)  # a pathlib.Path works too


def test_stats(tmp_path):
    stats = load_corpus(str(make_corpus(tmp_path / "c")), min_freq=1).stats()
    assert stats == {
        "vocab_size": 10,
        "train_tokens": 15, "train_unk": 0,
        "validation_tokens": 9, "validation_unk": 1,
        "test_tokens": 4, "test_unk": 1,
    }  # fmt: skip


def test_encode_lines_with_another_vocab(tmp_path):
    folder = make_corpus(tmp_path / "c")
    lines = load_split_lines(str(folder), "validation")
    assert lines == ["The dragon sat.", "", "A owl."]  # raw, blank lines kept
    other = Vocab([UNK, EOS, "the", "owl", "."])
    ids = encode_lines(lines, other)
    assert ids.tolist() == [2, 0, 0, 4, 1, 0, 3, 4, 1]
    assert count_unk(ids, other) == 3
    assert encode_lines([], other).tolist() == []
    assert tokenize_lines(["A b.", "", '"']) == [["a", "b", "."]]
    with pytest.raises(ValueError, match="'dev'"):
        load_split_lines(str(folder), "dev")


# ----------------------------------------------------------------------------
# load_corpus errors: each names the folder, split or file at fault


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match="does not exist") as err:
        load_corpus(str(missing))
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("source", ["./nowhere", "~/surely/not/here", "a/b/c", "data\\oz"])
def test_path_like_sources_are_not_hub_ids(source, monkeypatch):
    def must_not_be_called(*args, **kwargs):
        raise AssertionError("load_dataset should not be called")

    monkeypatch.setattr(datasets, "load_dataset", must_not_be_called)
    with pytest.raises(ValueError, match="does not exist") as err:
        load_corpus(source)
    assert repr(source) in str(err.value)


def test_file_instead_of_folder(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("owl\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is a file") as err:
        load_corpus(str(path))
    assert str(path) in str(err.value)


def test_missing_split(tmp_path):
    folder = make_corpus(tmp_path / "c", test=None)
    with pytest.raises(ValueError, match="'test'") as err:
        load_corpus(str(folder))
    assert str(folder) in str(err.value)


def test_split_without_txt_files(tmp_path):
    folder = make_corpus(tmp_path / "c", validation=None)
    (folder / "validation").mkdir()
    (folder / "validation" / "notes.md").write_text("owl\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'validation'.*no .txt files"):
        load_corpus(str(folder))


def test_empty_train(tmp_path):
    folder = make_corpus(tmp_path / "c", train='\n   \n"\n')
    with pytest.raises(ValueError, match="'train' split .* has no tokens"):
        load_corpus(str(folder))


def test_non_utf8_file(tmp_path):
    folder = make_corpus(tmp_path / "c")
    bad = folder / "test" / "latin1.txt"
    bad.write_bytes("Caf\u00e9 owl\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not valid UTF-8") as err:
        load_corpus(str(folder))
    assert str(bad) in str(err.value)


@pytest.mark.parametrize(
    "error, expected",
    [
        (ConnectionError("offline"), RuntimeError),
        (datasets.exceptions.DatasetNotFoundError("no such dataset"), ValueError),
    ],
)
def test_hub_failures_name_the_id(monkeypatch, error, expected):
    calls = []

    def fake_load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        raise error

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    with pytest.raises(expected, match="'someone/owls'.*Hub") as err:
        load_corpus("someone/owls")
    assert err.value.__cause__ is error
    assert calls == [(("someone/owls",), {})]  # the id goes through unchanged, nothing added


# ----------------------------------------------------------------------------
# batchify / get_batch / iter_batches


def test_batchify_rows_are_contiguous():
    data = batchify(torch.arange(14), 3)
    assert data.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]  # tail 12, 13 dropped
    assert batchify(torch.arange(6), 3).shape == (3, 2)
    assert batchify(torch.arange(5), 1).tolist() == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize("batch_size", [0, -2, 1.0, True])
def test_batchify_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        batchify(torch.arange(10), batch_size)


def test_batchify_too_little_data():
    with pytest.raises(ValueError, match="5 tokens .*batch_size=3"):
        batchify(torch.arange(5), 3)
    with pytest.raises(ValueError, match="1-D"):
        batchify(torch.zeros(2, 8, dtype=torch.long), 2)


def test_get_batch_target_is_shifted_by_one():
    data = batchify(torch.arange(20), 2)  # rows 0..9 and 10..19
    src, target = get_batch(data, 3, 4)
    assert src.tolist() == [[3, 4, 5, 6], [13, 14, 15, 16]]
    assert target.tolist() == [[4, 5, 6, 7], [14, 15, 16, 17]]
    src, target = get_batch(data, 5, 4)  # the last chunk that fits: target ends at column 9
    assert target[:, -1].tolist() == [9, 19]
    with pytest.raises(ValueError, match="column 6"):
        get_batch(data, 6, 4)


@pytest.mark.parametrize("n_cols", [2, 3, 10, 11, 12, 50, 51])
@pytest.mark.parametrize("seq_len", [1, 3, 5, 10, 60])
def test_iter_batches_matches_notebook_layout(n_cols, seq_len):
    data = torch.arange(2 * n_cols).view(2, n_cols)
    # The reference notebook's formulas, written out independently.
    trimmed_cols = n_cols - (n_cols - 1) % seq_len
    expected = len(range(0, trimmed_cols - 1, seq_len))
    assert trim(data, seq_len).shape == (2, trimmed_cols)
    assert num_chunks(n_cols, seq_len) == expected

    chunks = list(iter_batches(data, seq_len))
    assert len(chunks) == expected
    for src, target in chunks:
        assert src.shape == target.shape == (2, seq_len)  # every chunk is full length
        assert torch.equal(target[:, :-1], src[:, 1:])
    if chunks:  # together the chunks cover the trimmed data, no column skipped
        assert torch.equal(torch.cat([s for s, _ in chunks], dim=1), data[:, : trimmed_cols - 1])
        assert torch.equal(torch.cat([t for _, t in chunks], dim=1), data[:, 1:trimmed_cols])


@pytest.mark.parametrize("seq_len", [0, -1, 2.5])
def test_bad_seq_len(seq_len):
    with pytest.raises(ValueError, match="seq_len"):
        list(iter_batches(torch.zeros(2, 10, dtype=torch.long), seq_len))


@pytest.mark.parametrize("call, match", [
    (lambda: batchify([0, 1, 2, 3], 2), "ids must be a 1-D tensor of token ids, got list"),
    (lambda: batchify(torch.arange(8.0), 2), "ids must hold integer token ids .* got torch.float32"),
    (lambda: batchify(torch.arange(8), "2"), "batch_size must be an integer"),
    (lambda: get_batch([[0, 1, 2]], 0, 1), "data must be a 2-D .* got list"),
    (lambda: get_batch(torch.arange(8), 0, 2), r"data must be a 2-D .* got shape \(8,\)"),
    (lambda: get_batch(torch.zeros(2, 8), 0, 2), "data must hold integer token ids"),
    (lambda: get_batch(torch.zeros(2, 8, dtype=torch.long), 1.0, 2), "i must be an integer >= 0, got 1.0"),
    (lambda: get_batch(torch.zeros(2, 8, dtype=torch.long), -1, 2), "i must be an integer >= 0, got -1"),
    (lambda: get_batch(torch.zeros(2, 8, dtype=torch.long), 0, None), "seq_len must be an integer >= 1, got None"),
    (lambda: list(iter_batches(torch.zeros(2, 8, dtype=torch.bool), 2)), "data must hold integer token ids"),
    (lambda: list(iter_batches(None, 2)), "data must be a 2-D .* got NoneType"),
    (lambda: trim(torch.zeros(2, 3, 4, dtype=torch.long), 2), r"got shape \(2, 3, 4\)"),
])
def test_bad_tensors_and_indices_are_named(call, match):
    """A ValueError naming the argument before any work, not a TypeError or IndexError from inside torch."""
    with pytest.raises(ValueError, match=match):
        call()
