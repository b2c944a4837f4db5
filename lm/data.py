"""From a text corpus to batches of token ids.

A corpus is a Hugging Face dataset id or a local folder laid out the same way:

    corpus/
      train/*.txt        one or more UTF-8 text files per split;
      validation/*.txt   each line of each file is one example
      test/*.txt

Both go through ``datasets.load_dataset``. Every line is tokenized, empty
lines are dropped, the vocabulary is built from the train split only, and
each split becomes one long stream of ids with ``<eos>`` after every line:

    "The owl flew.\\n\\nIt hooted." -> the owl flew . <eos> it hooted . <eos>

``batchify`` cuts a stream into B parallel rows and ``iter_batches`` walks
along them in chunks of ``seq_len`` (truncated backprop through time).
"""

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

from .checks import check_ids, check_int
from .files import local_folder
from .text import tokenize, tokenize_cased
from .vocab import Vocab

DEFAULT_SOURCE = "KaungHtetCho/Harry_Potter_LSTM"
SPLITS = ("train", "validation", "test")


# ----------------------------------------------------------------------------
# Loading raw lines


def _visible(name: str) -> bool:
    # datasets skips hidden files and folders, and "__pycache__"-like ones.
    return not name.startswith((".", "__"))


def _check_folder(folder: str) -> None:
    """Fail early, naming the split or file, on what load_dataset would report obscurely."""
    for split in SPLITS:
        split_dir = os.path.join(folder, split)
        if not os.path.isdir(split_dir):
            raise ValueError(f"corpus folder {folder!r} has no {split!r} split: {split_dir!r} is not a folder")
        txt_files = []
        for root, dirs, files in os.walk(split_dir):
            dirs[:] = sorted(d for d in dirs if _visible(d))
            txt_files += [os.path.join(root, f) for f in sorted(files) if f.endswith(".txt") and _visible(f)]
        if not txt_files:
            raise ValueError(f"split {split!r} of corpus {folder!r} has no .txt files in {split_dir!r}")
        for file in txt_files:
            with open(file, "rb") as f:
                raw = f.read()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"corpus file {file!r} is not valid UTF-8 (byte {e.start}: {e.reason})") from None


def load_splits(source: str | os.PathLike = DEFAULT_SOURCE) -> dict[str, list[str]]:
    """The raw lines of each split: {"train": [...], "validation": [...], "test": [...]}.

    Blank lines are kept here (as ""); ``encode_lines`` drops them.
    """
    import datasets  # heavy (~1 s), and only needed when a corpus is read

    folder = local_folder(source, "corpus")
    source = os.fspath(source)
    if folder is not None:
        folder = str(folder)
        _check_folder(folder)
        try:
            dataset = datasets.load_dataset(folder)
        except Exception as e:
            raise RuntimeError(f"could not load corpus folder {source!r}: {e}") from e
    else:
        try:
            dataset = datasets.load_dataset(source)
        except datasets.exceptions.DatasetNotFoundError as e:
            raise ValueError(
                f"dataset {source!r} was not found on the Hugging Face Hub, and no local folder has that name"
            ) from e
        except Exception as e:
            raise RuntimeError(
                f"could not load dataset {source!r} from the Hugging Face Hub "
                f"(offline, or the Hub could not be reached?): {e}"
            ) from e

    lines = {}
    for split in SPLITS:
        if split not in dataset:
            raise ValueError(f"corpus {source!r} has no {split!r} split (it has {sorted(dataset)})")
        if "text" not in dataset[split].column_names:
            raise ValueError(f"split {split!r} of corpus {source!r} has no 'text' column")
        # Through Arrow in one go: iterating the column row by row is ~100x slower.
        lines[split] = dataset[split].with_format("arrow")["text"].to_pylist()
    return lines


def load_split_lines(source: str | os.PathLike, split: str) -> list[str]:
    """The raw lines of one split, e.g. to score a model that has its own vocab:

    ids = encode_lines(load_split_lines("corpus/", "test"), model_vocab)
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    return load_splits(source)[split]


# ----------------------------------------------------------------------------
# Lines to ids


def tokenize_lines(lines: Iterable[str]) -> list[list[str]]:
    """Tokenize each line, dropping lines with no tokens: ['A b.', '', '"'] -> [['a', 'b', '.']]."""
    return [tokens for tokens in map(tokenize, lines) if tokens]


def _encode_token_lists(token_lists: Iterable[list[str]], vocab: Vocab) -> torch.Tensor:
    ids = []
    for tokens in token_lists:
        ids += vocab.encode(tokens)
        ids.append(vocab.eos_index)  # every line ends in <eos>, the last one too
    return torch.tensor(ids, dtype=torch.long)  # (N,)


def encode_lines(lines: Iterable[str], vocab: Vocab) -> torch.Tensor:
    """One 1-D LongTensor of ids, ``<eos>`` after each non-empty line.

    Words the vocab lacks become ``<unk>`` (id 0); ``count_unk`` counts them:

        ['The owl.', '', 'Zzz'] -> [the, owl, ., <eos>, <unk>, <eos>]
    """
    return _encode_token_lists(tokenize_lines(lines), vocab)


def count_unk(ids: torch.Tensor, vocab: Vocab) -> int:
    """How many ids in ``ids`` are ``<unk>``."""
    return int((ids == vocab.unk_index).sum())


@dataclass(eq=False)  # comparing tensors with == is elementwise, so no generated __eq__
class Corpus:
    """A vocabulary and the three splits as 1-D LongTensors of ids."""

    vocab: Vocab
    train: torch.Tensor  # (N_train,)
    validation: torch.Tensor  # (N_validation,)
    test: torch.Tensor  # (N_test,)

    def split(self, name: str) -> torch.Tensor:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {list(SPLITS)}")
        return getattr(self, name)

    def stats(self) -> dict[str, int]:
        """Sizes: {"vocab_size": ..., "train_tokens": ..., "train_unk": ..., ...}."""
        stats = {"vocab_size": len(self.vocab)}
        for name in SPLITS:
            ids = self.split(name)
            stats[f"{name}_tokens"] = ids.numel()  # <eos> included
            stats[f"{name}_unk"] = count_unk(ids, self.vocab)
        return stats


def load_corpus(source: str | os.PathLike = DEFAULT_SOURCE, min_freq: int = 3) -> Corpus:
    """Load a corpus (Hub id or local folder) and turn it into id streams.

    The vocab comes from the train split only, keeping words seen at least
    ``min_freq`` times; validation and test words outside it become ``<unk>``.
    """
    source = os.fspath(source)
    lines = load_splits(source)
    cased = [tokens for tokens in map(tokenize_cased, lines["train"]) if tokens]  # for display forms
    train_tokens = [[w.lower() for w in tokens] for tokens in cased]  # == tokenize_lines(lines["train"])
    if not train_tokens:
        raise ValueError(f"the 'train' split of corpus {source!r} has no tokens")
    vocab = Vocab.build(train_tokens, min_freq=min_freq, cased_lines=cased, lines=lines["train"])
    return Corpus(
        vocab=vocab,
        train=_encode_token_lists(train_tokens, vocab),
        validation=encode_lines(lines["validation"], vocab),
        test=encode_lines(lines["test"], vocab),
    )


# ----------------------------------------------------------------------------
# Ids to batches

# batchify: the stream is cut into B equal rows; each ROW is a contiguous run
# of text, and row b carries on where row b-1's text would have gone.
# With B = 3 and 14 ids:
#
#   a b c d e f g h i j k l m n   ->   N = 14 // 3 = 4 columns, "m n" dropped
#
#        N columns
#   +---------------+
#   | a   b   c   d |  row 0 = ids[0:4]
#   | e   f   g   h |  row 1 = ids[4:8]
#   | i   j   k   l |  row 2 = ids[8:12]
#   +---------------+
#
# The rows are read side by side, so the hidden state of row b after one chunk
# is the right start for row b's next chunk.


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D stream into ``batch_size`` contiguous rows: (N_total,) -> (B, N).

        batchify(torch.arange(7), 2) -> [[0, 1, 2], [3, 4, 5]]
    """
    check_ids("ids", ids)
    check_int("batch_size", batch_size, 1)
    n = ids.numel() // batch_size
    if n < 2:  # one input and its target need two ids per row
        raise ValueError(
            f"{ids.numel()} tokens cannot fill batch_size={batch_size} rows of at least 2 tokens; "
            f"need at least {2 * batch_size} tokens"
        )
    return ids[: n * batch_size].view(batch_size, n)  # (B, N)


# get_batch: the target is the source shifted one step to the right, so each
# position learns to predict the next token. With seq_len = 3 and i = 0:
#
#   data     src (B, T)     target (B, T)
#   a b c d  ->  a b c   ->   b c d
#   e f g h  ->  e f g   ->   f g h
#
# The next chunk starts at i = 3 (src "d ..."), so the last target of one chunk
# is the first input of the next: no token is skipped.


def get_batch(data: torch.Tensor, i: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The chunk of columns starting at ``i``: src = data[:, i:i+T], target one step later.

    Both are (B, seq_len); a chunk whose target would run past the last column
    is a ValueError (use ``trim`` / ``iter_batches`` to get only full chunks).
    """
    check_ids("data", data, dims=2)
    check_int("i", i)
    check_int("seq_len", seq_len, 1)
    n = data.size(1)
    if i + seq_len >= n:
        raise ValueError(f"chunk at column {i} with seq_len={seq_len} needs {i + seq_len + 1} columns, data has {n}")
    src = data[:, i : i + seq_len]  # (B, T)
    target = data[:, i + 1 : i + 1 + seq_len]  # (B, T)
    return src, target


def num_chunks(n_cols: int, seq_len: int) -> int:
    """How many full (src, target) chunks N columns give: (N - 1) // seq_len.

    Only N - 1 columns can be inputs, since the last one has no next token.
    """
    check_int("seq_len", seq_len, 1)
    return max(n_cols - 1, 0) // seq_len


def trim(data: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Drop the last columns that cannot make a full chunk: (B, N) -> (B, N').

    N' = N - (N - 1) % seq_len, so N' - 1 is a multiple of seq_len, as in the
    reference notebook. batchify's N >= 2 guarantees N' >= 1.
    """
    check_ids("data", data, dims=2)
    check_int("seq_len", seq_len, 1)
    n = data.size(1)
    return data[:, : n - (n - 1) % seq_len]  # (B, N')


def iter_batches(data: torch.Tensor, seq_len: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield every full (src, target) chunk of a batchified (B, N) tensor, left to right.

    Gives ``num_chunks(N, seq_len)`` chunks, each (B, seq_len); the columns
    that would make a short last chunk are skipped.
    """
    data = trim(data, seq_len)  # (B, N')
    for i in range(0, data.size(1) - 1, seq_len):
        yield get_batch(data, i, seq_len)
