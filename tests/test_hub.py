"""Tests for lm.hub: save_pretrained / load_pretrained, from a folder and from a Hub repo id.

Pins down:
- the folder holds exactly model.safetensors, config.json and vocab.json, and no pickle is
  written or read (torch.load and pickle are booby-trapped while loading);
- a save/load round trip gives identical logits (torch.equal) for plain and tied models, and a
  tied model stays tied; dtype=bfloat16 halves the file and loads back as float32, close;
- every broken folder is a clear error naming the file: a missing file, a vocab whose size does
  not match, a config with an unknown key / wrong model_type / bad values, truncated or
  mismatched weights;
- the repo-id path, offline: a Hub cache laid out here by hand exactly as huggingface_hub lays it
  out (models--owner--name/refs/main -> snapshots/<commit>/...) with HF_HUB_OFFLINE=1 loads the
  same model; an uncached repo id is a FileNotFoundError naming the repo; a path-like string or a
  Path that does not exist says the folder does not exist.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from lm import LMConfig, LSTMLanguageModel, Vocab, load_pretrained, save_pretrained
from lm.hub import CONFIG_NAME, MODEL_TYPE, VOCAB_NAME, WEIGHTS_NAME

FILES = {CONFIG_NAME, WEIGHTS_NAME, VOCAB_NAME}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make(vocab, seed=0, **options):
    torch.manual_seed(seed)
    return LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 2, 0.3, **options)).eval()


def logits_of(model, vocab):
    src = torch.tensor([vocab.encode("<eos> the owl sat on the red gate .".split())])
    with torch.no_grad():
        return model.eval()(src)[0]




# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("options", [{}, {"tie_weights": True}, {"tie_weights": True, "locked_dropout": True,
                                                                  "weight_drop": 0.2, "dropout_emb": 0.1}])
def test_round_trip_identical_logits(tmp_path, vocab, no_pickle, options):
    model = make(vocab, **options)
    folder = save_pretrained(model, vocab, tmp_path / "m")
    assert set(os.listdir(folder)) == FILES  # exactly these, no temp files left behind
    loaded, loaded_vocab = load_pretrained(folder)
    assert loaded_vocab == vocab
    assert not loaded.training
    assert loaded.config == model.config
    assert torch.equal(logits_of(loaded, vocab), logits_of(model, vocab))
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    if options.get("tie_weights"):
        assert loaded.fc.weight is loaded.embedding.weight


def test_no_pickle_files_and_readable_config(tmp_path, vocab):
    save_pretrained(make(vocab), vocab, tmp_path / "m")
    written = [p.name for p in (tmp_path / "m").rglob("*")]
    assert not [n for n in written if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    config = json.loads((tmp_path / "m" / CONFIG_NAME).read_text())
    assert config["model_type"] == MODEL_TYPE
    assert config["vocab_size"] == len(vocab) and config["emb_dim"] == 16 and config["hid_dim"] == 24
    with safe_open(str(tmp_path / "m" / WEIGHTS_NAME), "pt") as f:  # a real safetensors file
        assert "embedding.weight" in f.keys()
        assert f.metadata() == {"format": "pt"}


def test_save_keeps_other_files_and_overwrites(tmp_path, vocab):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "README.md").write_text("card")
    save_pretrained(make(vocab, seed=0), vocab, folder)
    second = make(vocab, seed=1)
    save_pretrained(second, vocab, folder)
    assert set(os.listdir(folder)) == FILES | {"README.md"}
    assert (folder / "README.md").read_text() == "card"
    loaded, _ = load_pretrained(folder)
    assert torch.equal(logits_of(loaded, vocab), logits_of(second, vocab))


def test_save_bfloat16(tmp_path, vocab):
    model = make(vocab)
    save_pretrained(model, vocab, tmp_path / "f32")
    save_pretrained(model, vocab, tmp_path / "bf16", dtype=torch.bfloat16)
    with safe_open(str(tmp_path / "bf16" / WEIGHTS_NAME), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.bfloat16}
    size = lambda name: (tmp_path / name / WEIGHTS_NAME).stat().st_size  # noqa: E731
    assert size("bf16") < 0.55 * size("f32")
    assert next(model.parameters()).dtype == torch.float32  # the caller's model is not cast
    loaded, _ = load_pretrained(tmp_path / "bf16")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    ref = logits_of(model, vocab)
    out = logits_of(loaded, vocab)
    assert not torch.equal(out, ref)  # it really went through bfloat16...
    torch.testing.assert_close(out, ref, atol=1e-2, rtol=0)  # ...and is close (logits are O(0.1))


def test_bfloat16_model_saves_and_loads_as_float32(tmp_path, vocab):
    model = make(vocab)
    half = make(vocab).to(torch.bfloat16)
    save_pretrained(half, vocab, tmp_path / "m")
    loaded, _ = load_pretrained(tmp_path / "m")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    torch.testing.assert_close(logits_of(loaded, vocab), logits_of(model, vocab), atol=1e-2, rtol=0)


def test_save_rejects_mismatched_vocab_and_file_target(tmp_path, vocab):
    small = Vocab(["<unk>", "<eos>", "the"])
    with pytest.raises(ValueError, match="vocab"):
        save_pretrained(make(vocab), small, tmp_path / "m")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        save_pretrained(make(vocab), vocab, tmp_path / "file")


# -------------------------------------------------------------------------------- bad folders
@pytest.fixture
def folder(tmp_path, vocab):
    return save_pretrained(make(vocab), vocab, tmp_path / "m")


@pytest.mark.parametrize("name", sorted(FILES))
def test_missing_file_is_named(folder, name):
    (folder / name).unlink()
    with pytest.raises(FileNotFoundError, match=name.replace(".", r"\.")):
        load_pretrained(folder)


def test_vocab_size_mismatch(folder):
    Vocab(["<unk>", "<eos>", "the", "owl"]).save(folder / VOCAB_NAME)
    with pytest.raises(ValueError, match="vocab_size") as e:
        load_pretrained(folder)
    assert VOCAB_NAME in str(e.value)


def test_corrupt_vocab(folder):
    (folder / VOCAB_NAME).write_text("{not json")
    with pytest.raises(ValueError, match=VOCAB_NAME):
        load_pretrained(folder)


def edit_config(folder, change):
    path = folder / CONFIG_NAME
    config = json.loads(path.read_text())
    config = change(config)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("change,problem", [
    (lambda c: {**c, "surprise": 1}, "surprise"),
    (lambda c: {**c, "model_type": "gpt2"}, "model_type"),
    (lambda c: {k: v for k, v in c.items() if k != "model_type"}, "model_type"),
    (lambda c: {k: v for k, v in c.items() if k != "vocab_size"}, "vocab_size"),
    (lambda c: {**c, "dropout_rate": 1.5}, "dropout_rate"),
    (lambda c: {**c, "tie_weights": "false"}, "tie_weights"),
    (lambda c: {**c, "hid_dim": 24.0}, "hid_dim"),
    (lambda c: [c], "JSON object"),
])
def test_bad_config(folder, change, problem):
    edit_config(folder, change)
    with pytest.raises(ValueError, match=problem) as e:
        load_pretrained(folder)
    assert CONFIG_NAME in str(e.value)


def test_config_not_json(folder):
    (folder / CONFIG_NAME).write_text("model_type: lstm")
    with pytest.raises(ValueError, match=CONFIG_NAME):
        load_pretrained(folder)


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_truncated_weights(folder, keep):
    path = folder / WEIGHTS_NAME
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=WEIGHTS_NAME):
        load_pretrained(folder)


def test_weights_not_matching_config(tmp_path, vocab, folder):
    edit_config(folder, lambda c: {**c, "hid_dim": 32})  # shapes differ
    with pytest.raises(ValueError, match=WEIGHTS_NAME):
        load_pretrained(folder)
    torch.manual_seed(0)
    three = LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 3, 0.3))  # an extra layer: unexpected keys
    save_pretrained(three, vocab, tmp_path / "three")
    shutil.copy(tmp_path / "three" / WEIGHTS_NAME, folder / WEIGHTS_NAME)
    edit_config(folder, lambda c: {**c, "hid_dim": 24})
    with pytest.raises(ValueError, match=WEIGHTS_NAME):
        load_pretrained(folder)


# ----------------------------------------------------------------------------------- Hub ids
def lay_out_hub_cache(cache: Path, repo_id: str, source: Path, commit: str = COMMIT, files=FILES) -> Path:
    """Write `repo_id` into a Hub cache as huggingface_hub does: refs/main names the commit,
    snapshots/<commit>/ holds the files (real files here; the library's own symlinks into
    blobs/ are an optimisation it does not require when reading)."""
    owner, name = repo_id.split("/")
    repo = cache / f"models--{owner}--{name}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for f in files:
        shutil.copy(source / f, snapshot / f)
    return snapshot


@pytest.fixture
def hub_cache(private_hf_cache, tmp_path, monkeypatch):
    """The isolated, offline Hub cache of conftest.py; the tests run from an empty directory, so
    no local folder can be mistaken for the repo id."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    import huggingface_hub.constants as hc
    assert hc.HF_HUB_OFFLINE and Path(hc.HF_HUB_CACHE) == private_hf_cache
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    return private_hf_cache


@pytest.mark.parametrize("tied", [False, True])
def test_load_from_repo_id_offline(hub_cache, tmp_path, vocab, no_pickle, tied):
    model = make(vocab, seed=3, tie_weights=tied)
    save_pretrained(model, vocab, tmp_path / "m")
    snapshot = lay_out_hub_cache(hub_cache, "someone/tiny-lstm", tmp_path / "m")
    loaded, loaded_vocab = load_pretrained("someone/tiny-lstm")
    assert loaded_vocab == vocab
    assert torch.equal(logits_of(loaded, vocab), logits_of(model, vocab))
    # By commit too, and the files really came from the snapshot we laid out.
    loaded, _ = load_pretrained("someone/tiny-lstm", revision=COMMIT)
    assert torch.equal(logits_of(loaded, vocab), logits_of(model, vocab))
    (snapshot / WEIGHTS_NAME).write_bytes(b"")
    with pytest.raises(ValueError, match=WEIGHTS_NAME):
        load_pretrained("someone/tiny-lstm")


def test_uncached_repo_id_offline(hub_cache, tmp_path, vocab):
    with pytest.raises(FileNotFoundError, match="nobody/missing-model"):
        load_pretrained("nobody/missing-model")


def test_repo_missing_a_file(hub_cache, tmp_path, vocab):
    save_pretrained(make(vocab), vocab, tmp_path / "m")
    lay_out_hub_cache(hub_cache, "someone/partial", tmp_path / "m", files={CONFIG_NAME, WEIGHTS_NAME})
    with pytest.raises(FileNotFoundError, match=VOCAB_NAME) as e:
        load_pretrained("someone/partial")
    assert "someone/partial" in str(e.value)


@pytest.mark.parametrize("source", ["./no-such-model", "no/such/model", "../no-such-model", "~/no-such-model-here"])
def test_missing_path_like_string(hub_cache, source):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pretrained(source)


def test_missing_absolute_path_and_path_objects(hub_cache, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pretrained(str(tmp_path / "nope"))
    # A Path is a folder even when it looks like "owner/name".
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_pretrained(Path("someone") / "tiny-lstm")


def test_home_folder_is_expanded(tmp_path, vocab, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    model = make(vocab)
    save_pretrained(model, vocab, tmp_path / "my-model")
    loaded, _ = load_pretrained("~/my-model")
    assert torch.equal(logits_of(loaded, vocab), logits_of(model, vocab))


# --------------------------------------------------------------------------- hostile arguments
@pytest.mark.parametrize("kwargs,problem", [
    ({"source": None}, "source must be a model folder or a Hub repo id (str or os.PathLike), got None"),
    ({"source": 42}, "source must be a model folder or a Hub repo id (str or os.PathLike), got 42"),
    ({"revision": ""}, "revision must be None or a branch, tag or commit name, got ''"),
    ({"revision": 3}, "revision must be None or a branch, tag or commit name, got 3"),
    ({"device": "nonsense"}, "device must name a torch device ('cpu', 'cuda', 'cuda:1', ...), got 'nonsense'"),
    ({"device": None}, "device must be a str or torch.device, got None"),
    ({"device": 0}, "device must be a str or torch.device, got 0"),
])
def test_load_pretrained_bad_arguments(folder, kwargs, problem):
    with pytest.raises(ValueError) as e:
        load_pretrained(**{"source": folder, **kwargs})
    assert str(e.value) == problem


def test_load_pretrained_on_a_device_that_is_not_here(folder):
    missing = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU (cuda:0 on a CPU machine)
    with pytest.raises(ValueError, match=rf"^device must be available on this machine, got '{missing}'"):
        load_pretrained(folder, device=missing)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_load_pretrained_onto_the_gpu(folder, vocab):
    model, _ = load_pretrained(folder, device="cuda")
    assert model.fc.weight.is_cuda
    reference, _ = load_pretrained(folder)
    torch.testing.assert_close(logits_of(model, vocab).cpu(), logits_of(reference, vocab), atol=1e-4, rtol=0)


def test_save_pretrained_bad_arguments(tmp_path, vocab):
    model = make(vocab)
    cases = [
        ((None, vocab, tmp_path / "m"), {}, "model must be an LSTMLanguageModel, got NoneType"),
        ((model, None, tmp_path / "m"), {}, "vocab must be a Vocab, got NoneType"),
        ((model, vocab.itos, tmp_path / "m"), {}, "vocab must be a Vocab, got list"),
        ((model, vocab, None), {}, "folder must be a path (str or os.PathLike), got None"),
        ((model, vocab, tmp_path / "m"), {"dtype": torch.int8}, "dtype must be None or one of"),
        ((model, vocab, tmp_path / "m"), {"dtype": "bfloat16"}, "dtype must be None or one of"),
    ]
    for args, kwargs, problem in cases:
        with pytest.raises(ValueError) as e:
            save_pretrained(*args, **kwargs)
        assert str(e.value).startswith(problem)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("content", ["[" * 200_000 + "]" * 200_000, "{not json", '"a string, not an object"'],
                         ids=["nested", "not-json", "string"])
def test_model_info_ignores_a_broken_results_file(folder, vocab, content):
    from lm import model_info
    from lm.card import RESULTS_NAME

    (folder / RESULTS_NAME).write_text(content)
    info = model_info(folder)
    assert info["test_ppl"] is None and info["history"] == [] and info["vocab_size"] == len(vocab)
