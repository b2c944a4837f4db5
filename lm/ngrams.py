"""Which 4-grams of token ids the training text holds: a Bloom filter, to tell a student how much of a
generated text the model copied from the books it read.

    >>> index = NgramIndex.build(corpus.train, n=4, fp_rate=0.01)
    >>> index.copied(vocab.encode(["the", "cowardly", "lion", "said", "the"]))   # one bool per 4-gram
    tensor([ True, False])

How it works: each distinct 4-gram is hashed twice (h1, h2: `hash_ngrams`), and sets k bits of an
m-bit array, at (h1 + i * h2) mod m for i < k (double hashing: Kirsch and Mitzenmacher, 2006). A
4-gram is "in the text" when all its k bits are set. There are no false negatives; a 4-gram never
seen is reported as seen with probability about `fp_rate`, for which m = -n ln p / (ln 2)^2 bits and
k = round(m / n * ln 2): 9.6 bits a 4-gram and k = 7 at 1%. The bits are stored packed, 8 a byte.

It is NOT a way to rebuild the text, and that is why shipping it beside the model is harmless: it
holds no words, only bits set by hashes, and it can only answer "was this exact 4-gram there?". To
walk it you would have to guess each next word: after a 3-word context all ~7,000 words of the
vocabulary are candidates, and at 1% false positives about 70 of them answer "yes" besides the true
one or two. A walk through it is noise after the first step.

The hash is a chain of murmur3's 32-bit finaliser over the 4 ids, computed exactly in int64: every
product is of a 16-bit and a 32-bit number, so nothing overflows (signed overflow in C++ is undefined,
and torch does not promise to wrap), and the same ids give the same bits on every platform.
tests/test_ngrams.py pins known hashes.
"""

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .checks import check_int, check_number
from .files import atomic_write, local_folder

NGRAMS_NAME = "ngrams.safetensors"
NGRAMS_FORMAT = "lm-ngrams"
NGRAMS_VERSION = 1
HASH_NAME = "fmix32-chain-v1"  # changing the hash changes every bit: a new name, and old files refused
MAX_NGRAMS_BYTES = 2**30  # 1 GiB of bits: ~900 million distinct 4-grams at 1%, far beyond any book shelf
MAX_N, MAX_K = 16, 64
SEEDS = (0x9747B28C, 0x5BD1E995)  # h1 and h2 differ only in where the chain starts
_M32 = 0xFFFFFFFF


# ------------------------------------------------------------------------------------ hashing
def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """(x * c) mod 2**32 for x in [0, 2**32), without overflow: x = hi * 2**16 + lo, and
    hi * c * 2**16 mod 2**32 only needs (hi * c) mod 2**16. Each product is under 2**48."""
    lo, hi = x & 0xFFFF, x >> 16
    return (lo * c + (((hi * c) & 0xFFFF) << 16)) & _M32


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    """murmur3's finaliser: a bijection of 32-bit numbers in which every input bit moves every output bit."""
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def hash_ngrams(grams: torch.Tensor, seed: int) -> torch.Tensor:
    """One 32-bit hash (in an int64) per row of `grams` (N, n): h = fmix32(h ^ id) along the row, from
    `seed`. Each step is a bijection of the id, so two rows that differ only in their last id never collide."""
    h = torch.full((grams.size(0),), seed, dtype=torch.int64)  # (N,)
    for j in range(grams.size(1)):
        h = _fmix32(h ^ (grams[:, j] & _M32))  # (N,)
    return _fmix32(h ^ grams.size(1))  # (N,) the length too: a 3-gram and a 4-gram differ


def ngrams_of(ids, n: int) -> torch.Tensor:
    """The n-grams of a 1-D id sequence, one a row: [5, 6, 7, 8, 9], n=4 -> [[5, 6, 7, 8], [6, 7, 8, 9]]."""
    ids = torch.as_tensor(ids, dtype=torch.int64).reshape(-1)  # (L,)
    if ids.numel() < n:
        return ids.new_zeros((0, n))
    return ids.unfold(0, n, 1)  # (L - n + 1, n)


def vocab_digest(vocab) -> str:
    """SHA-256 of the vocabulary's token list: an index built with other ids is refused on load."""
    return hashlib.sha256(json.dumps(vocab.itos, ensure_ascii=False).encode("utf-8")).hexdigest()


def bloom_size(items: int, fp_rate: float) -> tuple[int, int]:
    """(m bits, k hashes) for `items` at `fp_rate`: 500,000 at 0.01 -> (4,792,530, 7)."""
    m = max(8, math.ceil(-max(items, 1) * math.log(fp_rate) / math.log(2) ** 2))
    k = max(1, round(m / max(items, 1) * math.log(2)))
    return m, min(k, MAX_K)


# ------------------------------------------------------------------------------------ the index
@dataclass(eq=False)  # comparing tensors with == is elementwise, so no generated __eq__
class NgramIndex:
    bits: torch.Tensor  # (ceil(m / 8),) uint8, bit i of the filter = bits[i // 8] >> (i % 8) & 1
    n: int  # tokens an n-gram
    k: int  # bits set per n-gram
    m: int  # bits in the filter
    items: int  # distinct n-grams put in
    fp_rate: float  # the false-positive rate it was sized for
    vocab_size: int
    vocab_sha256: str  # vocab_digest of the vocabulary whose ids it holds ("" when built without one)

    @classmethod
    def build(cls, ids, n: int = 4, fp_rate: float = 0.01, vocab=None) -> "NgramIndex":
        """The index of every n-gram of the id stream `ids` (a list or a 1-D tensor), one filter sized for
        the distinct ones. `vocab`, when given, is recorded so that a mismatched vocabulary is refused later."""
        check_int("n", n, 1, MAX_N)
        check_number("fp_rate", fp_rate, 0.0, 0.5, low_open=True)
        ids = torch.as_tensor(ids, dtype=torch.int64).reshape(-1)  # (L,)
        grams = torch.unique(ngrams_of(ids, n), dim=0)  # (items, n)
        m, k = bloom_size(grams.size(0), fp_rate)
        flat = torch.zeros(math.ceil(m / 8) * 8, dtype=torch.bool)  # (8 * bytes,)
        flat[_positions(grams, m, k).reshape(-1)] = True
        weights = torch.tensor([1 << b for b in range(8)], dtype=torch.int64)  # bit b of each byte
        packed = (flat.view(-1, 8).to(torch.int64) * weights).sum(dim=1).to(torch.uint8)  # (bytes,)
        if vocab is not None:
            return cls(packed, n, k, m, grams.size(0), float(fp_rate), len(vocab), vocab_digest(vocab))
        return cls(packed, n, k, m, grams.size(0), float(fp_rate), int(ids.max()) + 1 if ids.numel() else 0, "")

    def contains(self, grams: torch.Tensor) -> torch.Tensor:
        """Whether each row of `grams` (N, n) is (probably) in the index: (N,) bool. Never False for one that is."""
        grams = torch.as_tensor(grams, dtype=torch.int64)
        if grams.dim() != 2 or grams.size(1) != self.n:
            raise ValueError(f"grams must be an (N, {self.n}) tensor of ids, got shape {tuple(grams.shape)}")
        pos = _positions(grams, self.m, self.k)  # (N, k)
        bit = (self.bits[pos >> 3].to(torch.int64) >> (pos & 7)) & 1  # (N, k)
        return bit.bool().all(dim=1)  # (N,)

    def copied(self, token_ids) -> torch.Tensor:
        """For each n-gram of `token_ids` in order, whether the training text holds it: L ids -> (L - n + 1,)."""
        return self.contains(ngrams_of(token_ids, self.n))

    def check_vocab(self, vocab) -> None:
        """A ValueError unless this index was built with `vocab`'s ids (its size and token list)."""
        if self.vocab_size != len(vocab) or (self.vocab_sha256 and self.vocab_sha256 != vocab_digest(vocab)):
            raise ValueError(f"this n-gram index was built with another vocabulary ({self.vocab_size:,} tokens, "
                             f"sha256 {self.vocab_sha256[:12]}...) than the model's ({len(vocab):,} tokens, "
                             f"sha256 {vocab_digest(vocab)[:12]}...): rebuild it with build_ngram_index.py")

    def metadata(self) -> dict[str, str]:
        return {"format": NGRAMS_FORMAT, "version": str(NGRAMS_VERSION), "hash": HASH_NAME, "n": str(self.n),
                "k": str(self.k), "m_bits": str(self.m), "items": str(self.items), "fp_rate": repr(self.fp_rate),
                "vocab_size": str(self.vocab_size), "vocab_sha256": self.vocab_sha256}

    def save(self, folder) -> Path:
        """Write `folder`/ngrams.safetensors atomically: readers see the old file or the new one, never half."""
        from safetensors.torch import save

        path = Path(folder) / NGRAMS_NAME
        data = save({"bits": self.bits.contiguous()}, metadata=self.metadata())  # bytes: the temp file keeps
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))  # its usual mode (save_file makes it 0600)
        return path

    @classmethod
    def load(cls, path, vocab=None) -> "NgramIndex":
        """Read a file written by `save`; any problem is a ValueError naming the file. With `vocab`, an index
        built with another vocabulary is refused."""
        from safetensors import safe_open

        path = Path(path)
        if path.stat().st_size > MAX_NGRAMS_BYTES + 2**16:
            raise ValueError(f"n-gram index {path} is over {MAX_NGRAMS_BYTES // 2**20} MiB")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta, names = f.metadata() or {}, list(f.keys())
                bits = f.get_tensor("bits") if names == ["bits"] else None
            index = cls._from_file(bits, meta)
        except Exception as e:  # a broken header, a missing or bad field: one message naming the file
            raise ValueError(f"bad n-gram index {path}: {e}") from None
        if vocab is not None:
            try:
                index.check_vocab(vocab)
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None
        return index

    @classmethod
    def _from_file(cls, bits, meta: dict) -> "NgramIndex":
        if meta.get("format") != NGRAMS_FORMAT or meta.get("version") != str(NGRAMS_VERSION):
            raise ValueError(f"not an {NGRAMS_FORMAT!r} file of version {NGRAMS_VERSION}")
        if meta.get("hash") != HASH_NAME:
            raise ValueError(f"hash {meta.get('hash')!r}, this code reads {HASH_NAME!r}")
        n, k, m, items, vocab_size = (int(meta[key]) for key in ("n", "k", "m_bits", "items", "vocab_size"))
        if not (1 <= n <= MAX_N and 1 <= k <= MAX_K and m >= 1 and items >= 0 and vocab_size >= 0):
            raise ValueError(f"n={n}, k={k}, m_bits={m}, items={items}, vocab_size={vocab_size} out of range")
        if bits is None or bits.dtype != torch.uint8 or tuple(bits.shape) != (math.ceil(m / 8),):
            raise ValueError(f"expected one uint8 tensor 'bits' of {math.ceil(m / 8)} bytes for m_bits={m}")
        return cls(bits, n, k, m, items, float(meta["fp_rate"]), vocab_size, meta.get("vocab_sha256", ""))

    @property
    def size_bytes(self) -> int:
        return self.bits.numel()

    def expected_fp_rate(self) -> float:
        """The false-positive rate its fill predicts, (1 - e^(-k items / m))^k: 0.0100 when sized for 1%."""
        return (1 - math.exp(-self.k * self.items / self.m)) ** self.k


def _positions(grams: torch.Tensor, m: int, k: int) -> torch.Tensor:
    """The k bit positions of each n-gram (N, n) -> (N, k): (h1 + i * h2) mod m, with h2 in [1, m - 1] so
    the k positions never all coincide. h1, h2 < 2**32 and i < 64: no overflow."""
    h1, h2 = hash_ngrams(grams, SEEDS[0]), hash_ngrams(grams, SEEDS[1])  # (N,) each
    h2 = h2 % max(m - 1, 1) + 1  # (N,)
    steps = torch.arange(k, dtype=torch.int64)  # (k,)
    return (h1[:, None] + steps[None, :] * h2[:, None]) % m  # (N, k)


# ------------------------------------------------------------------------------------ building, finding
def index_corpus(dataset, vocab, fp_rate: float = 0.01, n: int = 4) -> NgramIndex:
    """The index of a corpus's train split encoded with the MODEL's vocabulary, as training read it: one
    stream with <eos> after every line, words it does not know as <unk> (so n-grams cross line ends too)."""
    from .data import encode_lines, load_split_lines

    ids = encode_lines(load_split_lines(dataset, "train"), vocab)  # (N,)
    return NgramIndex.build(ids, n=n, fp_rate=fp_rate, vocab=vocab)


def is_ngram_index(path) -> bool:
    """Whether `path` is a file of this format (its header says so), whatever else is wrong with it."""
    from safetensors import safe_open

    try:
        with safe_open(os.fspath(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == NGRAMS_FORMAT
    except Exception:  # not a safetensors file at all
        return False


def load_ngram_index(source, vocab=None, revision: str | None = None) -> NgramIndex | None:
    """The n-gram index of a model folder or Hub repo id, or None when it has none (a model trained before
    indexes existed, or with --no-ngram-index). With `vocab`, an index of another vocabulary is refused."""
    folder = local_folder(source, "model")
    if folder is not None:
        path = folder / NGRAMS_NAME
        return NgramIndex.load(path, vocab) if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        path = hf_hub_download(str(source), NGRAMS_NAME, revision=revision)
    except (EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError):
        return None  # not there, or offline and not cached: the page shows the other measures
    return NgramIndex.load(os.fspath(path), vocab)
