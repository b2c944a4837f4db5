"""Hostile or broken model folders, and hostile arguments: refused fast, in one clear error.

Every folder here is REAL files in tmp_path: a model saved by save_pretrained, then one file
changed (a crafted config.json or vocab.json, a safetensors file written by safetensors itself with
wrong shapes, wrong dtypes or NaN weights, a header that lies about sizes, a truncated file, huge
sparse files made with truncate). Pins down:
- each problem is one ValueError (FileNotFoundError for a missing file) naming the file and the
  value, raised before the model is allocated: the refusals take milliseconds, and sparse files of
  4 and 8 GB are refused by their size, unread; nothing is unpickled;
- deep nesting (200,000 brackets) is refused without recursion, while brackets inside strings
  (a token "[[[") are just text; the nesting scan agrees with a recursive count on random JSON;
- weights holding nan or inf are refused naming the tensor (and save_pretrained will not write them);
- `app.py --model BADFOLDER`, `generate.py` and `evaluate.py` print one line and no traceback;
- lm.evaluate refuses data that is not a 1-D int64/int32 tensor of ids the model has rows for.
"""

import json
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import lm
from lm import LMConfig, LSTMLanguageModel, Vocab, file_checks, load_pretrained, save_pretrained
from lm.hub import CONFIG_NAME, VOCAB_NAME, WEIGHTS_NAME

ROOT = Path(__file__).resolve().parent.parent
FAST = 3.0  # seconds: every refusal here takes milliseconds; this is a busy machine's margin
GB = 2**30


pytestmark = pytest.mark.usefixtures("no_pickle")  # nothing may unpickle in these tests (conftest)


def make(vocab, **options) -> LSTMLanguageModel:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 2, 0.0, **options)).eval()


@pytest.fixture
def folder(tmp_path, vocab) -> Path:
    return save_pretrained(make(vocab), vocab, tmp_path / "m")


def refused(folder, *mentions, error=ValueError) -> str:
    """load_pretrained(folder) fails fast with `error`, its one-line message mentioning each of `mentions`."""
    start = time.perf_counter()
    with pytest.raises(error) as e:
        load_pretrained(folder)
    assert time.perf_counter() - start < FAST
    message = str(e.value)
    assert "\n" not in message
    for mention in mentions:
        assert str(mention) in message, message
    return message


def edit_config(folder, **changes):
    path = folder / CONFIG_NAME
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def sparse(path: Path, size: int) -> None:
    """A file of `size` bytes that takes (almost) no disk: what `truncate` makes."""
    with open(path, "r+b" if path.exists() else "wb") as f:
        f.truncate(size)
    assert path.stat().st_size == size


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -------------------------------------------------------------------------------- config.json
def test_vocab_size_far_above_the_vocabulary(folder, vocab):
    edit_config(folder, vocab_size=1_500_000)  # was 14 s and 4.9 GB before the mismatch
    refused(folder, VOCAB_NAME, CONFIG_NAME, f"has {len(vocab)} tokens", "vocab_size=1500000")


@pytest.mark.parametrize("name,value,limit", [
    ("vocab_size", 10**12, file_checks.MAX_VOCAB_SIZE),  # was a RuntimeError
    ("vocab_size", file_checks.MAX_VOCAB_SIZE + 1, file_checks.MAX_VOCAB_SIZE),
    ("num_layers", 10**6, file_checks.MAX_LAYERS),  # allocated until memory ran out
    ("num_layers", 65, file_checks.MAX_LAYERS),
    ("emb_dim", 2**16 + 1, file_checks.MAX_WIDTH),
    ("hid_dim", 10**9, file_checks.MAX_WIDTH),
])
def test_config_sizes_beyond_the_limits(folder, name, value, limit):
    edit_config(folder, **{name: value})
    refused(folder, CONFIG_NAME, f"{name} must be at most {limit:,}", f"{value:,}")


def test_config_describing_too_many_parameters(folder):
    edit_config(folder, emb_dim=2**16, hid_dim=2**16, num_layers=64)  # each within its limit
    refused(folder, CONFIG_NAME, "parameters", f"{file_checks.MAX_PARAMETERS:,}")


def test_config_at_the_limits_is_checked_on_the_meta_device(folder):
    edit_config(folder, emb_dim=2**16, hid_dim=2**16, num_layers=1, vocab_size=2)  # 34 billion parameters
    refused(folder, CONFIG_NAME, "34,360,", "parameters")


@pytest.mark.parametrize("text", [
    '{"model_type": "lstm-language-model", "vocab_size": ' + nested(30_000) + "}",
    nested(30_000),  # 60 KB, under the size limit: refused for its nesting (200,000 was a RecursionError)
    '{"a": ' * 8_000 + "1" + "}" * 8_000,
], ids=["value", "brackets", "objects"])
def test_deeply_nested_config(folder, text):
    (folder / CONFIG_NAME).write_text(text)
    refused(folder, CONFIG_NAME, f"nest more than {file_checks.MAX_JSON_DEPTH} deep")


def test_config_of_200000_nested_brackets(folder):
    (folder / CONFIG_NAME).write_text(nested(200_000))  # was a RecursionError; now over the size limit
    refused(folder, CONFIG_NAME, "400,000 bytes", f"at most {file_checks.MAX_CONFIG_BYTES:,}")


def test_sparse_4gb_config_is_refused_unread(folder):
    sparse(folder / CONFIG_NAME, 4 * GB)  # was a MemoryError
    refused(folder, CONFIG_NAME, f"{4 * GB:,} bytes", f"at most {file_checks.MAX_CONFIG_BYTES:,}")


def test_config_just_over_the_size_limit(folder):
    config = json.loads((folder / CONFIG_NAME).read_text())
    text = json.dumps(config, indent=1)
    (folder / CONFIG_NAME).write_text(text + " " * (file_checks.MAX_CONFIG_BYTES + 1 - len(text)))
    refused(folder, CONFIG_NAME, f"{file_checks.MAX_CONFIG_BYTES + 1:,} bytes")
    (folder / CONFIG_NAME).write_text(text + " " * (file_checks.MAX_CONFIG_BYTES - len(text)))
    load_pretrained(folder)  # exactly at the limit: read


def test_config_with_a_huge_integer(folder):
    (folder / CONFIG_NAME).write_text('{"model_type": "lstm-language-model", "vocab_size": ' + "9" * 5000 + "}")
    refused(folder, CONFIG_NAME, "not valid JSON")


def test_config_that_is_not_utf8(folder):
    (folder / CONFIG_NAME).write_bytes(b'{"model_type": "\xff"}')
    refused(folder, CONFIG_NAME, "UTF-8")


# --------------------------------------------------------------------------------- vocab.json
@pytest.mark.parametrize("text", [
    nested(200_000),
    '{"format": "lm-vocab", "version": 2, "itos": ' + nested(100) + ', "display": {}}',
], ids=["brackets", "itos"])
def test_deeply_nested_vocab(folder, text):
    (folder / VOCAB_NAME).write_text(text)
    refused(folder, VOCAB_NAME, f"nest more than {file_checks.MAX_JSON_DEPTH} deep")


def test_vocab_of_many_containers(folder):
    (folder / VOCAB_NAME).write_text("[" + ",".join(["[]"] * 100_000) + "]")  # shallow, but 100,001 lists
    refused(folder, VOCAB_NAME, f"more than {file_checks.MAX_JSON_CONTAINERS:,} objects and arrays")


def test_sparse_4gb_vocab_is_refused_unread(folder):
    sparse(folder / VOCAB_NAME, 4 * GB)
    refused(folder, VOCAB_NAME, f"{4 * GB:,} bytes", f"at most {file_checks.MAX_VOCAB_BYTES:,}")


def test_brackets_and_quotes_inside_tokens_are_just_text(tmp_path):
    tokens = ["<unk>", "<eos>", "[" * 100, "}" * 100, '"[', "\\", "\\[", '{"a": [[[', "ü[", "]]]"]
    vocab = Vocab(tokens)
    folder = save_pretrained(make(vocab), vocab, tmp_path / "brackets")
    _, loaded = load_pretrained(folder)
    assert loaded.itos == tokens


# ---------------------------------------------------------------------------- model.safetensors
def tensors(folder) -> dict[str, torch.Tensor]:
    return load_file(folder / WEIGHTS_NAME)


def header_of(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_raw(path: Path, header: dict, data: bytes, header_size: int | None = None) -> None:
    """A safetensors file written by hand: 8-byte little-endian header size, header JSON, data."""
    raw = json.dumps(header).encode()
    path.write_bytes((len(raw) if header_size is None else header_size).to_bytes(8, "little") + raw + data)


def test_wrong_shape(folder):
    weights = tensors(folder)
    weights["lstm.0.weight_hh_l0"] = torch.zeros(96, 25)
    save_file(weights, folder / WEIGHTS_NAME)
    refused(folder, WEIGHTS_NAME, "'lstm.0.weight_hh_l0'", "[96, 25]", "[96, 24]", CONFIG_NAME)


def test_config_and_weights_disagree_on_the_vocabulary(tmp_path, vocab):
    small = Vocab(vocab.itos[:10])
    folder = save_pretrained(make(vocab), vocab, tmp_path / "m")
    small.save(folder / VOCAB_NAME)
    edit_config(folder, vocab_size=10)  # config and vocab agree; the weights are for 39 tokens
    refused(folder, WEIGHTS_NAME, "'embedding.weight'", f"[{len(vocab)}, 16]", "[10, 16]")


def test_missing_and_unexpected_tensors(folder):
    weights = tensors(folder)
    del weights["fc.bias"]
    weights["lstm.2.weight_ih_l0"] = torch.zeros(3)
    save_file(weights, folder / WEIGHTS_NAME)
    refused(folder, WEIGHTS_NAME, "missing ['fc.bias']", "unexpected ['lstm.2.weight_ih_l0']")


@pytest.mark.parametrize("dtype,name", [(torch.int64, "I64"), (torch.bool, "BOOL"), (torch.uint8, "U8")])
def test_non_float_dtype(folder, dtype, name):
    weights = tensors(folder)
    weights["fc.bias"] = weights["fc.bias"].to(dtype)
    save_file(weights, folder / WEIGHTS_NAME)
    refused(folder, WEIGHTS_NAME, "'fc.bias'", f"dtype '{name}'")


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_other_float_dtypes_load_as_float32(folder, vocab, dtype):
    reference, _ = load_pretrained(folder)
    save_file({k: v.to(dtype) for k, v in tensors(folder).items()}, folder / WEIGHTS_NAME)
    loaded, _ = load_pretrained(folder)
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    for (_, a), (_, b) in zip(reference.named_parameters(), loaded.named_parameters()):
        torch.testing.assert_close(a, b, atol=1e-3, rtol=0)


def test_header_that_lies_about_the_data_size(folder):
    header, data = header_of(folder / WEIGHTS_NAME)
    last = max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][1])
    begin, end = header[last]["data_offsets"]
    header[last]["shape"][0] *= 1000  # claims far more than the file holds...
    header[last]["data_offsets"] = [begin, begin + (end - begin) * 1000]  # ...consistently
    write_raw(folder / WEIGHTS_NAME, header, data)
    refused(folder, WEIGHTS_NAME, repr(last))  # the shape no longer matches the config
    header[last]["shape"][0] //= 1000  # the right shape, offsets still lying
    write_raw(folder / WEIGHTS_NAME, header, data)
    refused(folder, WEIGHTS_NAME, repr(last), f"{begin:,}..{begin + (end - begin) * 1000:,}")


def test_overlapping_tensors(folder):
    header, data = header_of(folder / WEIGHTS_NAME)
    names = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"])
    a, b = names[0], names[1]
    header[b]["data_offsets"] = list(header[a]["data_offsets"])  # b reads a's bytes (if sizes agree)
    write_raw(folder / WEIGHTS_NAME, header, data)
    refused(folder, WEIGHTS_NAME, "data bytes")


@pytest.mark.parametrize("size_field,problem", [
    (2**60, "header size field says 1,152,921,504,606,846,976 bytes"),
    (2**32, "header size field"),
    (0, "header size field says 0 bytes"),
])
def test_header_size_field_out_of_range(folder, size_field, problem):
    header, data = header_of(folder / WEIGHTS_NAME)
    write_raw(folder / WEIGHTS_NAME, header, data, header_size=size_field)
    refused(folder, WEIGHTS_NAME, problem)


def test_header_larger_than_the_limit(folder):
    header, data = header_of(folder / WEIGHTS_NAME)
    header["__metadata__"]["padding"] = "x" * file_checks.MAX_HEADER_BYTES
    write_raw(folder / WEIGHTS_NAME, header, data)
    refused(folder, WEIGHTS_NAME, f"at most {file_checks.MAX_HEADER_BYTES:,}")


@pytest.mark.parametrize("where", ["size field", "header", "data", "last byte"])
def test_truncated_weights(folder, where):
    path = folder / WEIGHTS_NAME
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    cut = {"size field": 5, "header": 8 + n // 2, "data": 8 + n + (len(raw) - 8 - n) // 2, "last byte": len(raw) - 1}
    path.write_bytes(raw[:cut[where]])
    refused(folder, WEIGHTS_NAME)


def test_trailing_bytes_after_the_data(folder):
    with open(folder / WEIGHTS_NAME, "ab") as f:
        f.write(b"\0" * 4)
    refused(folder, WEIGHTS_NAME, "bytes of tensors", "after the header")


def test_sparse_8gb_weights_are_refused_unread(folder):
    sparse(folder / WEIGHTS_NAME, 8 * GB)  # the real header, then 8 GB the header does not describe
    refused(folder, WEIGHTS_NAME, "bytes of tensors", "8,589,93")  # 8 GB - 8 - the header


@pytest.mark.parametrize("header", [b"not json at all", nested(200_000).encode(), b"[1, 2]",
                                    b'{"__metadata__": [1]}', b'{"fc.bias": {"dtype": "F32"}}'],
                         ids=["not-json", "nested", "list", "metadata", "entry"])
def test_header_that_is_not_a_safetensors_header(folder, header):
    (folder / WEIGHTS_NAME).write_bytes(len(header).to_bytes(8, "little") + header)
    refused(folder, WEIGHTS_NAME)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_non_finite_weights_are_refused_naming_the_tensor(folder, value, dtype):
    weights = {k: v.to(dtype) for k, v in tensors(folder).items()}
    weights["lstm.1.weight_hh_l0"][3, 4] = value
    save_file(weights, folder / WEIGHTS_NAME)
    refused(folder, WEIGHTS_NAME, "'lstm.1.weight_hh_l0'", "nan or inf")


def test_save_pretrained_refuses_non_finite_weights(tmp_path, vocab):
    model = make(vocab)
    with torch.no_grad():
        model.fc.bias[0] = math.nan
    with pytest.raises(ValueError, match="model must have finite weights") as e:
        save_pretrained(model, vocab, tmp_path / "m")
    assert "'fc.bias'" in str(e.value)
    assert not (tmp_path / "m").exists()  # refused before anything was written


def test_tied_model_stays_loadable_and_checked(tmp_path, vocab):
    folder = save_pretrained(make(vocab, tie_weights=True), vocab, tmp_path / "tied")
    loaded, _ = load_pretrained(folder)
    assert loaded.fc.weight is loaded.embedding.weight
    weights = tensors(folder)  # the file holds one name of the shared matrix
    assert ("embedding.weight" in weights) != ("fc.weight" in weights)
    next(iter(w for k, w in weights.items() if k in ("embedding.weight", "fc.weight")))[0, 0] = math.inf
    save_file(weights, folder / WEIGHTS_NAME)
    refused(folder, WEIGHTS_NAME, "'embedding.weight'", "nan or inf")


def test_missing_file_is_file_not_found(folder):
    (folder / WEIGHTS_NAME).unlink()
    refused(folder, WEIGHTS_NAME, error=FileNotFoundError)


# ------------------------------------------------------------------------------- the nesting scan
def _depth(value) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    return 1 + max(map(_depth, value), default=0) if isinstance(value, list) else 0


def _containers(value) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    return 1 + sum(map(_containers, value)) if isinstance(value, list) else 0


def _random_json(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 12 or r < 0.3:
        return rng.choice(['a"[{\\', "]]}\\\\", 1, None, '\\"[', "", "é[ü}", '\\\\"', 2.5])
    if r < 0.65:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["k", "[", '{"', "\\\\", "]"]) + str(i): _random_json(rng, depth + 1)
            for i in range(rng.randint(0, 3))}


def test_nesting_scan_agrees_with_a_recursive_count(monkeypatch):
    rng = random.Random(0)
    for depth_limit, container_limit in [(1, 10**9), (3, 10**9), (6, 10**9), (10**9, 3), (10**9, 20)]:
        monkeypatch.setattr(file_checks, "MAX_JSON_DEPTH", depth_limit)
        monkeypatch.setattr(file_checks, "MAX_JSON_CONTAINERS", container_limit)
        for _ in range(300):
            value = _random_json(rng)
            raw = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
            too_much = _depth(value) > depth_limit or _containers(value) > container_limit
            assert (file_checks.structure_problem(raw) is not None) == too_much, raw


def test_nesting_scan_reads_big_files_in_pieces(monkeypatch):
    monkeypatch.setattr(file_checks, "_SCAN_BYTES", 7)  # strings and brackets cut across pieces
    assert file_checks.structure_problem(json.dumps({"a[": ["]]]]", [["{{{{"]], '\\"['] * 5}).encode()) is None
    assert file_checks.structure_problem(('["[[[[[[[[[[[[[[[", ' + nested(33) + "]").encode()) is not None


# ------------------------------------------------------------------------ one line, no traceback
def run_script(script: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _break(folder: Path, how: str) -> str:
    """Break the folder one way; returns what the message must mention."""
    if how == "layers":
        edit_config(folder, num_layers=10**6)
        return "num_layers must be at most 64"
    if how == "nesting":
        (folder / VOCAB_NAME).write_text(nested(200_000))
        return "nest more than 32 deep"
    weights = tensors(folder)
    weights["fc.bias"][0] = math.nan
    save_file(weights, folder / WEIGHTS_NAME)
    return "'fc.bias' holds nan or inf"


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize("how", ["layers", "nesting", "nan"])
def test_app_prints_one_line(folder, tmp_path, how):
    mention = _break(folder, how)
    done = run_script("app.py", "--model", str(folder), "--port", "0", tmp_path=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("app.py: error: cannot load the model"), done.stderr
    assert mention in lines[0]


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize("script,how", [("generate.py", "nan"), ("generate.py", "nesting"),
                                        ("evaluate.py", "layers")])
def test_cli_prints_one_line_for_a_hostile_folder(folder, tmp_path, script, how):
    mention = _break(folder, how)
    done = run_script(script, "--model", str(folder), "--dataset", "unused", tmp_path=tmp_path) \
        if script == "evaluate.py" else run_script(script, "--model", str(folder), tmp_path=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}: error: ") and mention in lines[0], done.stderr
    assert done.stdout == ""


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize("value", ["1e300", "1e39", "10000.5", "inf"])
def test_generate_refuses_a_huge_temperature_as_the_flag(folder, tmp_path, value):
    done = run_script("generate.py", "--model", str(folder), "--temperature", "0.7", value, tmp_path=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"generate.py: error: --temperature must be a finite number in [0, 10000], got {float(value)!r}"]


# ---------------------------------------------------------------------------- lm.evaluate's data
@pytest.mark.parametrize("data,problem", [
    (torch.rand(200), "integer token ids"),
    (torch.ones(200, dtype=torch.int16), "integer token ids"),
    (torch.ones(200, dtype=torch.bool), "integer token ids"),
    (torch.ones(20, 10, dtype=torch.long), "shape (20, 10)"),
    (torch.tensor(5), "shape ()"),
    (list(range(200)), "got list"),
    (None, "got NoneType"),
    (torch.arange(200), "ids from 0 to 199"),
    (-torch.ones(200, dtype=torch.long), "ids from -1 to -1"),
])
def test_evaluate_refuses_bad_data(model, data, problem):
    with pytest.raises(ValueError, match="^data must") as e:
        lm.evaluate(model, data, batch_size=2, seq_len=5)
    assert problem in str(e.value)


@pytest.mark.parametrize("name,value", [("batch_size", None), ("batch_size", True), ("batch_size", "2"),
                                        ("batch_size", 0), ("seq_len", 2.0), ("seq_len", None)])
def test_evaluate_refuses_bad_sizes(model, corpus, name, value):
    with pytest.raises(ValueError, match=f"^{name} must") as e:
        lm.evaluate(model, corpus, **{"batch_size": 2, "seq_len": 5, name: value})
    assert repr(value) in str(e.value)


def test_evaluate_refuses_a_non_model(corpus):
    with pytest.raises(ValueError, match="^model must be an LSTMLanguageModel, got NoneType"):
        lm.evaluate(None, corpus)


def test_evaluate_takes_int32_ids(model, corpus):
    assert lm.evaluate(model, corpus.int(), 2, 5) == lm.evaluate(model, corpus, 2, 5)
