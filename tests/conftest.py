"""Shared test fixtures: HF cache isolation, and a tiny vocab + model built in-process.

Everything here is offline and deterministic: the vocabulary comes from a few invented sentences,
the model is `LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 2, 0.0))` from a fixed seed, trained on
those sentences so that it has opinions (it predicts `<eos>` after a full stop, for instance), and
every test gets its own Hugging Face caches with offline mode on.
"""

import copy
import pickle

import datasets
import huggingface_hub.constants
import pytest
import torch
import torch.nn.functional as F

from lm import LMConfig, LSTMLanguageModel, Vocab, tokenize
from tests.web_helpers import browser, bundled, space, url  # noqa: F401 (the static page's tests' fixtures)

# Tests that start a browser or a subprocess (train.py, app.py, torchrun, node) are marked "slow", so that
# `pytest -m "not slow"` is a quick loop while editing (CI runs everything): the files where most tests do,
# the tests that take a browser fixture, and, in other files, the tests marked by hand.
SLOW_FILES = {"test_browser.py", "test_classroom.py", "test_cli.py", "test_deploy.py", "test_export.py",
              "test_lessons_browser.py", "test_link.py", "test_space_gpu.py", "test_stream.py", "test_train.py"}
BROWSER_FIXTURES = {"browser", "browser_page", "page"}


def pytest_collection_modifyitems(items):
    for item in items:
        name = item.path.name
        if name in SLOW_FILES or name.startswith("test_web") or BROWSER_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


# Invented sentences only (no corpus text).
SENTENCES = [
    "The brass owl sat on the red gate.",
    "A small fox ran to the red gate!",
    "The fox said, where is the owl?",
    "The owl said, I am on the gate.",
    "A green kettle sang in the kitchen.",
    "The kettle and the owl sang.",
    "Where is the small green fox?",
    "I ran to the kitchen, said the fox.",
]


@pytest.fixture(autouse=True)
def private_hf_cache(tmp_path, monkeypatch):
    """Each test gets its own Hugging Face caches (datasets and Hub), and never touches the network.

    datasets and huggingface_hub read these variables once, at import time, so their module
    constants are patched as well as the environment.
    """
    home = tmp_path / "hf-home"
    hub_cache = home / "hub"
    datasets_cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(datasets_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HOME", str(home))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return hub_cache


@pytest.fixture
def no_pickle(monkeypatch):
    """Fail the test if anything unpickles while it runs (model files are safetensors only)."""
    def trap(*args, **kwargs):
        raise AssertionError("something tried to unpickle")
    monkeypatch.setattr(torch, "load", trap)
    monkeypatch.setattr(pickle, "load", trap)
    monkeypatch.setattr(pickle, "loads", trap)


def build_vocab() -> Vocab:
    return Vocab.build([tokenize(s) for s in SENTENCES], min_freq=1)


def corpus_ids(vocab: Vocab) -> torch.Tensor:
    """The sentences as one stream, `<eos>` after each, as lm.load_corpus lays out a split."""
    ids = []
    for s in SENTENCES:
        ids += vocab.encode(tokenize(s)) + [vocab.eos_index]
    return torch.tensor(ids)


def make_model(vocab_size: int, seed: int = 0, **options) -> LSTMLanguageModel:
    torch.manual_seed(seed)
    return LSTMLanguageModel(LMConfig(vocab_size, 16, 24, 2, 0.0, **options))


@pytest.fixture(scope="session")
def vocab() -> Vocab:
    return build_vocab()


@pytest.fixture(scope="session")
def _trained_model(vocab) -> LSTMLanguageModel:
    ids = corpus_ids(vocab)
    with torch.random.fork_rng(devices=[]):  # leave the global RNG as the other tests find it
        model = make_model(len(vocab), seed=0)
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        src, target = ids[None, :-1], ids[None, 1:]  # (1, T) the whole stream as one sequence
        model.train()
        for _ in range(60):
            opt.zero_grad()
            logits, _ = model(src)
            F.cross_entropy(logits[0], target[0]).backward()
            opt.step()
    return model.eval()


@pytest.fixture
def corpus(vocab) -> torch.Tensor:
    """The invented sentences as one id stream (see corpus_ids)."""
    return corpus_ids(vocab)


@pytest.fixture
def model(_trained_model) -> LSTMLanguageModel:
    """The trained-ish tiny model, in eval mode; a fresh copy per test, so tests may change it."""
    return copy.deepcopy(_trained_model).eval()


@pytest.fixture
def untrained_model(vocab) -> LSTMLanguageModel:
    """A freshly initialised tiny model (near-uniform next-token distributions), in eval mode."""
    with torch.random.fork_rng(devices=[]):
        return make_model(len(vocab), seed=1).eval()
