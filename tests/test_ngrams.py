"""Tests for lm.ngrams, build_ngram_index.py and train.py's index: a Bloom filter of training 4-grams.

Pins down: the hash against a plain-Python reference and known values (so every platform sets the
same bits); no false negatives on every training 4-gram; a measured false-positive rate near the one
it was sized for; a save/load round trip with identical bits; an index of another vocabulary refused
in words; None when a folder or a Hub repo (an offline cache laid out by hand) has none; the CLI and
train.py writing it. Every corpus is random ids or invented sentences made in tmp_path.
"""

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the CLIs are scripts at the repository root

import build_ngram_index  # noqa: E402
import lm  # noqa: E402
from lm.hub import MODEL_FILES  # noqa: E402
from lm.ngrams import (  # noqa: E402
    NGRAMS_NAME,
    SEEDS,
    NgramIndex,
    bloom_size,
    hash_ngrams,
    is_ngram_index,
    load_ngram_index,
    ngrams_of,
)
from tests.test_hub import COMMIT, lay_out_hub_cache  # noqa: E402

SENTENCES = ["the glimmerfox hummed at the copper moon .", "a tovel wandered past nine buttons !",
             "old brannoch folded a paper boat , and then it rained .", "the quill-moth counted seven pebbles ?"]


def _fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def reference_hash(gram: list[int], seed: int) -> int:
    """The hash in plain Python integers (no overflow anywhere): what the int64 tensor code must equal."""
    h = seed
    for i in gram:
        h = _fmix32(h ^ i)
    return _fmix32(h ^ len(gram))


def random_stream(n: int, vocab_size: int, seed: int) -> torch.Tensor:
    return torch.randint(0, vocab_size, (n,), generator=torch.Generator().manual_seed(seed))  # (n,)


# ------------------------------------------------------------------------------------ the hash
def test_hash_equals_the_reference_and_known_values():
    grams = torch.cat([torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4], [7080, 7080, 7080, 7080], [2**21 - 1] * 4]),
                       torch.randint(0, 2**31, (2000, 4), generator=torch.Generator().manual_seed(0))])
    for seed in SEEDS:
        assert hash_ngrams(grams, seed).tolist() == [reference_hash(g, seed) for g in grams.tolist()]
    # Known answers: a change here changes every bit of every saved index (then HASH_NAME must change).
    assert hash_ngrams(grams[:3], SEEDS[0]).tolist() == [4209411608, 3808925765, 1299246710]
    assert hash_ngrams(grams[:3], SEEDS[1]).tolist() == [2898892862, 299776502, 2892736467]


def test_ngrams_of():
    assert ngrams_of([5, 6, 7, 8, 9], 4).tolist() == [[5, 6, 7, 8], [6, 7, 8, 9]]
    assert ngrams_of([5, 6, 7], 4).shape == (0, 4)


def test_bloom_size_for_one_percent():
    m, k = bloom_size(500_000, 0.01)
    assert k == 7 and m == 4_792_530  # 9.585 bits an item


# ------------------------------------------------------------------------------------ the filter
def test_no_false_negatives_and_a_false_positive_rate_near_one_percent():
    """20,000-odd distinct 4-grams of a random stream over 500 ids, then 200,000 random 4-grams that are
    not among them. At 1% the count of false positives is about binomial(200,000, 0.01): 2,000 +- 45,
    so [0.5%, 2%] fails only if the filter is wrong, never by chance (the fill of a 200,000-bit filter
    varies by well under 1%)."""
    ids = random_stream(20_003, 500, seed=1)
    index = NgramIndex.build(ids, n=4, fp_rate=0.01)
    grams = ngrams_of(ids, 4)
    assert index.contains(grams).all()  # every training 4-gram, none missed
    assert index.k == 7 and index.items == len(set(map(tuple, grams.tolist())))
    assert index.expected_fp_rate() == pytest.approx(0.01, rel=0.02)
    known = set(map(tuple, grams.tolist()))
    probe = torch.randint(0, 500, (200_000, 4), generator=torch.Generator().manual_seed(2))
    probe = probe[torch.tensor([tuple(g) not in known for g in probe.tolist()])]
    rate = index.contains(probe).float().mean().item()
    assert 0.005 <= rate <= 0.02, rate


def test_copied_marks_each_4gram():
    index = NgramIndex.build([2, 3, 4, 5, 6, 7], n=4, fp_rate=0.001)
    assert index.copied([9, 2, 3, 4, 5, 6, 9]).tolist() == [False, True, True, False]
    assert index.copied([2, 3]).tolist() == []
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        index.contains(torch.zeros(3, 2, dtype=torch.long))


@pytest.mark.parametrize("kwargs, message", [({"n": 0}, "n must be"), ({"fp_rate": 0}, "fp_rate must be"),
                                             ({"fp_rate": 1.5}, "fp_rate must be")])
def test_bad_build_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NgramIndex.build([1, 2, 3, 4, 5], **kwargs)


# ------------------------------------------------------------------------------------ files
def tiny_model(folder: Path):
    """A tiny random model folder over the invented sentences; returns its vocab."""
    vocab = lm.Vocab.build([lm.tokenize(s) for s in SENTENCES], min_freq=1)
    torch.manual_seed(0)
    lm.save_pretrained(lm.LSTMLanguageModel(lm.LMConfig(len(vocab), 8, 8, 1, 0.0)), vocab, folder)
    return vocab


def test_save_load_round_trip_is_identical(tmp_path):
    vocab = tiny_model(tmp_path)
    index = NgramIndex.build(random_stream(3000, len(vocab), seed=3), vocab=vocab)
    path = index.save(tmp_path)
    assert path == tmp_path / NGRAMS_NAME and is_ngram_index(path)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # no temp left behind
    loaded = load_ngram_index(tmp_path, vocab)
    assert torch.equal(loaded.bits, index.bits) and loaded.bits.dtype == torch.uint8
    assert loaded.metadata() == index.metadata()
    assert loaded.metadata()["fp_rate"] == "0.01" and loaded.metadata()["k"] == "7"


def test_an_index_of_another_vocabulary_is_refused(tmp_path):
    vocab = tiny_model(tmp_path)
    NgramIndex.build(random_stream(100, len(vocab), 4), vocab=vocab).save(tmp_path)
    same_size = lm.Vocab(vocab.itos[:2] + vocab.itos[:1:-1])  # the same words, other ids
    other_size = lm.Vocab(vocab.itos + ["zebra"])
    for other in (same_size, other_size):
        with pytest.raises(ValueError, match="another vocabulary.*rebuild it with build_ngram_index.py") as e:
            load_ngram_index(tmp_path, other)
        assert NGRAMS_NAME in str(e.value)


@pytest.mark.parametrize("damage", ["empty", "not safetensors", "other tensors", "bits too short"])
def test_a_damaged_file_is_one_error_naming_it(tmp_path, damage):
    from safetensors.torch import save_file

    index = NgramIndex.build([1, 2, 3, 4, 5, 6], n=4)
    path = index.save(tmp_path)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "not safetensors":
        path.write_text("the glimmerfox hummed")
    elif damage == "other tensors":
        save_file({"weights": torch.zeros(3)}, path, metadata=index.metadata())
    else:
        save_file({"bits": index.bits[:-1].clone()}, path, metadata=index.metadata())
    with pytest.raises(ValueError, match=f"bad n-gram index .*{NGRAMS_NAME}"):
        load_ngram_index(tmp_path)


def test_none_when_a_folder_has_no_index(tmp_path):
    tiny_model(tmp_path)
    assert load_ngram_index(tmp_path) is None
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ngram_index(tmp_path / "nope")


def test_hub_repo_offline_with_and_without_an_index(private_hf_cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no local folder can pass for the repo id
    vocab = tiny_model(tmp_path / "m")
    lay_out_hub_cache(private_hf_cache, "someone/no-index", tmp_path / "m")
    assert load_ngram_index("someone/no-index", vocab) is None
    assert load_ngram_index("nobody/not-cached", vocab) is None
    index = NgramIndex.build(random_stream(500, len(vocab), 5), vocab=vocab)
    index.save(tmp_path / "m")
    lay_out_hub_cache(private_hf_cache, "someone/indexed", tmp_path / "m", files={*MODEL_FILES, NGRAMS_NAME})
    loaded = load_ngram_index("someone/indexed", vocab)
    assert torch.equal(loaded.bits, index.bits)
    assert torch.equal(load_ngram_index("someone/indexed", vocab, revision=COMMIT).bits, index.bits)


# ------------------------------------------------------------------------------------ the CLIs
def invented_corpus(root: Path) -> Path:
    for split in ("train", "validation", "test"):
        (root / split).mkdir(parents=True)
        (root / split / "part.txt").write_text("\n\n".join(SENTENCES * 3) + "\n", encoding="utf-8")
    return root


def test_build_ngram_index_cli(tmp_path, capsys):
    vocab = tiny_model(tmp_path / "m")
    corpus = invented_corpus(tmp_path / "corpus")
    assert build_ngram_index.main(["--model", str(tmp_path / "m"), "--dataset", str(corpus)]) == 0
    assert NGRAMS_NAME in capsys.readouterr().out
    index = load_ngram_index(tmp_path / "m", vocab)
    # The stream as training reads it: <eos> after each line (blank lines dropped), so 4-grams cross line ends.
    stream = []
    for s in SENTENCES:
        stream += vocab.encode(lm.tokenize(s)) + [vocab.eos_index]
    assert index.copied(stream * 2).all()
    assert not index.copied(vocab.encode("the glimmerfox counted nine buttons".split())).any()


@pytest.mark.parametrize("args, message", [(["--fp-rate", "0"], "--fp-rate must be"),
                                           (["--model", "someone/repo"], "must be a local folder")])
def test_build_ngram_index_cli_errors(tmp_path, capsys, args, message):
    tiny_model(tmp_path / "m")
    code = build_ngram_index.main(["--model", str(tmp_path / "m"), "--dataset", str(tmp_path), *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "m" / NGRAMS_NAME).exists()


def test_train_writes_the_index_unless_told_not_to(tmp_path, monkeypatch):
    import datasets

    import train

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "ds")
    corpus = invented_corpus(tmp_path / "corpus")
    tiny = ["--dataset", str(corpus), "--min-freq", "1", "--batch-size", "2", "--seq-len", "4", "--emb-dim", "8",
            "--hid-dim", "8", "--epochs", "1", "--no-progress"]
    assert train.main([*tiny, "--out", str(tmp_path / "a")]) == 0
    _, vocab = lm.load_pretrained(tmp_path / "a")
    index = load_ngram_index(tmp_path / "a", vocab)
    assert index is not None and index.copied(vocab.encode(lm.tokenize(SENTENCES[0]))).all()
    assert train.main([*tiny, "--out", str(tmp_path / "b"), "--no-ngram-index"]) == 0
    assert load_ngram_index(tmp_path / "b") is None
