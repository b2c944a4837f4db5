"""A model folder's files are untrusted input: check every size they state before anything is allocated.

A folder from the Hub, or a broken one, must be refused fast and in one clear ValueError naming the
file and the value, not by running out of memory or into a RecursionError. In order:
- JSON files (config.json, vocab.json, training_results.json) are refused by size before they are
  read, and by bracket nesting and count before they are parsed (a scan that never recurses);
- the config's sizes are bounded, and so is the number of parameters they describe;
- the safetensors header (its first 8 + N bytes) must name exactly the tensors the config implies,
  with their shapes and a float dtype, packed so that they fill the file exactly: so no tensor is
  allocated that the file does not really hold;
- after loading, every tensor must be finite.
"""

import json
import math
import os

import torch

from .model import LMConfig, LSTMLanguageModel

# A config.json is ~400 bytes (twelve keys); 64 KiB leaves room for anything a person would write.
MAX_CONFIG_BYTES = 64 * 1024
# vocab.json: ~13 bytes a token for a lower-case vocabulary (assets/oz-lstm), ~35 with display
# forms; 128 MiB is 64 bytes a token at the largest vocabulary allowed below. Parsing JSON costs up
# to ~12 bytes of Python objects a byte of file (`"ab",`: a 59-byte str), so ~1.5 GB at most.
MAX_VOCAB_BYTES = 128 * 1024**2
MAX_RESULTS_BYTES = 16 * 1024**2  # training_results.json: ~200 bytes an epoch
MAX_JSON_DEPTH = 32  # these files nest 2 (config, vocab) or 3 (results) deep
# Objects and arrays in one file: a 64-layer model's safetensors header has ~800, the results of
# 10,000 epochs ~10,000; a file of 128 MiB of "[]," would otherwise be 45 million lists (3.6 GB).
MAX_JSON_CONTAINERS = 2**16
# 2,097,152 words: fastText's 2M-word crawl vocabulary, 2.6 times the One Billion Word benchmark's
# 793k; a word-level softmax this LSTM could train is far smaller.
MAX_VOCAB_SIZE = 2**21
# 65,536 units: eight times the widest published LSTM language model (8,192, Jozefowicz et al.
# 2016); one such layer alone is 34 billion parameters, above the cap below.
MAX_WIDTH = 2**16
MAX_LAYERS = 64  # published LSTM language models use 1 to 4 layers
# 8.6 billion parameters (34 GB in float32): the most one 141 GB GPU could train with Adam
# (weights, gradients and two moments: 16 bytes a parameter). A sparse weights file can state any
# size without holding it, so this cap, not the file size, bounds what loading allocates.
MAX_PARAMETERS = 2**33
# The header of a 64-layer model is ~30 KB (about 100 bytes a tensor); safetensors itself allows 100 MB.
MAX_HEADER_BYTES = 2**20
DTYPE_BYTES = {"F32": 4, "BF16": 2, "F16": 2, "F64": 8}  # float tensors only: they load as float32
SAVE_DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.float64)

_SCAN_BYTES = 2**24  # the nesting scan reads the text's brackets and quotes in pieces of 16 MiB
# Bytes as the scan reads them (as int8): an opening bracket +1, a closing one -1, a quote 0. It
# keeps only those five bytes: UTF-8 never uses an ASCII byte inside a multi-byte character.
_STEP = bytes.maketrans(b'[{]}"', bytes([1, 1, 255, 255, 0]))
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[{]}"'))


def structure_problem(raw: bytes) -> str | None:
    """What makes the JSON text `raw` too deep or too many-containered to parse, or None.

    One pass, no recursion, vectorised (a 150 MB vocabulary takes about a second); brackets in
    strings do not count. In JSON a backslash occurs only in a string, as the first byte of an
    escape pair, so once the pairs are dropped every quote left opens or closes a string.
    """
    steps = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_STEP, _NOT_STRUCTURE)
    quotes = depth = containers = 0
    for start in range(0, len(steps), _SCAN_BYTES):
        step = torch.frombuffer(bytearray(steps[start:start + _SCAN_BYTES]), dtype=torch.int8)
        is_quote = step == 0
        n_quotes = int(is_quote.sum())
        if n_quotes == len(step):  # only quotes (most of a vocabulary): no bracket to count
            quotes += n_quotes
            continue
        if quotes % 2 or n_quotes:  # mask what is inside strings (a string's opening quote on)
            step = step.masked_fill((is_quote.cumsum(0, dtype=torch.int32) + quotes) % 2 == 1, 0)
        level = step.cumsum(0, dtype=torch.int32) + depth
        quotes, depth, containers = quotes + n_quotes, int(level[-1]), containers + int((step == 1).sum())
        if int(level.max()) > MAX_JSON_DEPTH:
            return f"its brackets nest more than {MAX_JSON_DEPTH} deep"
        if containers > MAX_JSON_CONTAINERS:
            return f"it holds more than {MAX_JSON_CONTAINERS:,} objects and arrays"
    return None


def loads(raw: bytes, what: str):
    """Parse untrusted JSON bytes (UTF-8, see `structure_problem`); `what` names the file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} is not valid JSON: it is not UTF-8 ({e})") from None
    problem = structure_problem(raw)
    if problem:
        raise ValueError(f"{what} is not valid JSON for this package: {problem}")
    try:
        return json.loads(text)
    except ValueError as e:  # JSONDecodeError, or an integer of over 4,300 digits
        raise ValueError(f"{what} is not valid JSON: {e}") from None


def read_json(path, max_bytes: int, what: str):
    """The JSON in file `path`, refused unread above `max_bytes`; `what` starts every message.

    A missing file is a FileNotFoundError. At most max_bytes + 1 bytes are read, whatever the file
    says its size is (a file that grows, a device).
    """
    path = os.fspath(path)
    size, raw = os.stat(path).st_size, b""
    if size <= max_bytes:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    if size > max_bytes or len(raw) > max_bytes:
        shown = f"{size:,} bytes" if size > max_bytes else f"more than {max_bytes:,} bytes"
        raise ValueError(f"{what} {path!r} is {shown}; this package reads at most {max_bytes:,}")
    return loads(raw, f"{what} {path!r}")


def check_config_limits(config: LMConfig) -> None:
    """Sizes this package builds a model for (see the limits above), checked without building it."""
    if config.vocab_size is None:
        raise ValueError("vocab_size must be set to build a model, got None")
    for name, limit in (("vocab_size", MAX_VOCAB_SIZE), ("emb_dim", MAX_WIDTH), ("hid_dim", MAX_WIDTH),
                        ("num_layers", MAX_LAYERS)):
        if getattr(config, name) > limit:
            raise ValueError(f"{name} must be at most {limit:,}, got {getattr(config, name):,}")
    parameters = shape_model(config).num_parameters()
    if parameters > MAX_PARAMETERS:
        raise ValueError(f"the config describes {parameters:,} parameters, more than the {MAX_PARAMETERS:,} "
                         "this package loads")


def shape_model(config: LMConfig) -> LSTMLanguageModel:
    """The model on the meta device: every name and shape, no memory for the weights."""
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        return LSTMLanguageModel(config)


def expected_tensors(config: LMConfig) -> tuple[dict[str, list[int]], list[list[str]]]:
    """The tensors a weights file for `config` holds: {name: shape}, and the groups of names of one
    tensor (a tied model's embedding.weight and fc.weight: the file holds one name of each group)."""
    groups: dict[int, list[str]] = {}
    shapes = {}
    for name, tensor in shape_model(config).state_dict(keep_vars=True).items():
        shapes[name] = list(tensor.shape)
        groups.setdefault(id(tensor), []).append(name)
    return shapes, list(groups.values())


def read_header(path) -> tuple[dict, int]:
    """The safetensors header of `path` as {name: entry} (metadata left out) and the data size the
    file leaves after it. Reads 8 + N bytes, N at most MAX_HEADER_BYTES."""
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"it is {size} bytes, too short for a safetensors file")
        n = int.from_bytes(head, "little")
        if not 0 < n <= min(MAX_HEADER_BYTES, size - 8):
            raise ValueError(f"its header size field says {n:,} bytes, but the file is {size:,} bytes "
                             f"and a header may be at most {MAX_HEADER_BYTES:,}")
        header = loads(f.read(n), "its header")
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    if not isinstance(header.pop("__metadata__", {}), dict):
        raise ValueError("its header's __metadata__ is not a JSON object")
    return header, size - 8 - n


def _entry(name: str, entry) -> tuple[str, list[int], int, int]:
    """(dtype, shape, begin, end) of one header entry, each checked for type."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"tensor {name!r}: the entry must hold exactly dtype, shape and data_offsets, got {entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"tensor {name!r} has dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}")
    if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                            for d in shape)):
        raise ValueError(f"tensor {name!r} has shape {shape!r}, not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        raise ValueError(f"tensor {name!r} has data_offsets {offsets!r}, not [begin, end] with 0 <= begin <= end")
    return dtype, shape, offsets[0], offsets[1]


def check_weights_header(path, config: LMConfig, config_path) -> None:
    """The header of the weights file `path` against `config` (read from `config_path`), and its
    layout against the file's size, before a single tensor is allocated."""
    try:
        header, data_size = read_header(path)
        entries = {name: _entry(name, entry) for name, entry in header.items()}
        shapes, groups = expected_tensors(config)
        unexpected = sorted(set(entries) - set(shapes))
        missing = [group[0] for group in groups if not any(name in entries for name in group)]
        if unexpected or missing:
            raise ValueError(f"its tensors do not match {config_path}: missing {missing or 'none'}, "
                             f"unexpected {unexpected or 'none'}")
        for name, (_, shape, _, _) in entries.items():
            if shape != shapes[name]:
                raise ValueError(f"tensor {name!r} has shape {shape}, but {config_path} implies {shapes[name]}")
        position = 0  # tensors must fill the data exactly, in order, without gaps or overlaps
        for name, (dtype, shape, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
            need = math.prod(shape) * DTYPE_BYTES[dtype]
            if begin != position or end - begin != need:
                raise ValueError(f"tensor {name!r} ({dtype} {shape}: {need:,} bytes) is at data bytes "
                                 f"{begin:,}..{end:,}, expected {position:,}..{position + need:,}")
            position = end
        if position != data_size:
            raise ValueError(f"its header describes {position:,} bytes of tensors, but the file holds "
                             f"{data_size:,} after the header (truncated, or a header that lies)")
    except ValueError as e:
        raise ValueError(f"cannot load weights {path}: {e}") from None


def check_finite(model: torch.nn.Module, where) -> None:
    """Refuse weights holding nan or inf, naming the first such tensor: every output would be nan."""
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise ValueError(f"{where}: tensor {name!r} holds nan or inf values")
