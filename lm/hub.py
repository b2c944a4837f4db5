"""A model folder: `model.safetensors`, `config.json`, `vocab.json` (and, from training, a card,
`training_results.json` and the curve). Load it from a local folder or a Hugging Face Hub repo id,
save it, push it, and read what it is for people (`model_info`).

Weights are safetensors only: nothing is unpickled. (PyTorchModelHubMixin's loader would fall back to
a pickled `pytorch_model.bin`, and its `push_to_hub` would drop `vocab.json`, hence these few lines.)
A folder is untrusted input: `lm.file_checks` checks every size its files state before the model is
allocated, and loaded weights must be finite.
"""

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from .card import CURVE_NAME, RESULTS_NAME
from .checks import check_device, check_model, check_path, check_vocab
from .file_checks import (
    MAX_CONFIG_BYTES,
    MAX_RESULTS_BYTES,
    SAVE_DTYPES,
    check_config_limits,
    check_finite,
    check_weights_header,
    read_json,
)
from .files import atomic_write, local_folder
from .model import LMConfig, LSTMLanguageModel
from .vocab import Vocab

CONFIG_NAME, WEIGHTS_NAME, VOCAB_NAME = "config.json", "model.safetensors", "vocab.json"
MODEL_FILES = (CONFIG_NAME, WEIGHTS_NAME, VOCAB_NAME)
FACT_FILES = ("README.md", RESULTS_NAME, CURVE_NAME)  # optional: what people read about the model
MODEL_TYPE = "lstm-language-model"
# Never uploaded: training checkpoints (in checkpoints/, or anywhere when --checkpoint-dir is the
# folder itself) and the temp files of interrupted atomic writes.
IGNORE_ON_PUSH = ["checkpoints/*", "*.pt", "*.tmp", "*.tmp.*"]


def save_pretrained(model: LSTMLanguageModel, vocab: Vocab, folder, dtype: torch.dtype | None = None) -> Path:
    """Write the model folder (other files in it, such as a model card, are left alone).

    `dtype=torch.bfloat16` halves the file; it loads back into a float32 model. A model that
    `load_pretrained` would refuse (nan or inf weights, sizes over lm.file_checks' limits) is
    refused here, before anything is written.
    """
    check_model(model)
    check_vocab(vocab, model)
    check_path("folder", folder)
    if dtype is not None and dtype not in SAVE_DTYPES:
        raise ValueError(f"dtype must be None or one of {', '.join(map(str, SAVE_DTYPES))}, got {dtype!r}")
    check_config_limits(model.config)
    check_finite(model, "model must have finite weights")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    to_save = model
    if dtype is not None:  # a cast copy; the model itself is left as it is
        to_save = _shell(model.config)
        to_save.load_state_dict(model.state_dict())
        to_save.to(dtype)
    config = {"model_type": MODEL_TYPE, **model.config_dict()}
    atomic_write(folder / CONFIG_NAME, lambda p: Path(p).write_text(json.dumps(config, indent=2) + "\n"))
    atomic_write(folder / WEIGHTS_NAME, lambda p: save_model(to_save, p, metadata={"format": "pt"}))
    atomic_write(folder / VOCAB_NAME, lambda p: vocab.save(p))
    return folder


def _shell(config: LMConfig) -> LSTMLanguageModel:
    """A model of this shape whose weights are about to be overwritten (the global RNG is left alone)."""
    with torch.random.fork_rng(devices=[]):
        return LSTMLanguageModel(config)


def model_folder(source, revision: str | None = None) -> Path:
    """The local folder of a model: `source` itself, or the Hub repo's snapshot (cache first)."""
    folder = local_folder(source, "model")
    if folder is None:
        from huggingface_hub import snapshot_download

        try:
            folder = Path(snapshot_download(str(source), revision=revision,
                                            allow_patterns=[*MODEL_FILES, *FACT_FILES]))
        except Exception as e:  # offline and not cached, no such repo, network down
            raise FileNotFoundError(f"could not get Hub model {source!r}: {type(e).__name__}: {e}") from e
    missing = [n for n in MODEL_FILES if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"model {source} is missing {', '.join(missing)}")
    return folder


def read_config(path: Path) -> LMConfig:
    """The LMConfig of a config.json, within lm.file_checks' limits; else a ValueError naming the file."""
    config = read_json(path, MAX_CONFIG_BYTES, "model config")
    try:
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
        model_type = config.pop("model_type", None)
        if model_type != MODEL_TYPE:
            raise ValueError(f"model_type is {model_type!r}, expected {MODEL_TYPE!r}")
        config = LMConfig.from_dict(config)
        check_config_limits(config)
        return config
    except (ValueError, TypeError) as e:
        raise ValueError(f"bad model config {path}: {e}") from e


def load_pretrained(source, revision: str | None = None, device: str | torch.device = "cpu"
                    ) -> tuple[LSTMLanguageModel, Vocab]:
    """Load (model, vocab) from a local folder or a Hub repo id, in eval mode.

    >>> model, vocab = load_pretrained("assets/oz-lstm")

    Everything cheap is checked before the model is allocated: the files' sizes, the config's
    values, the vocabulary's length, the weights' header against the config and the file's size.
    Then weights holding nan or inf are refused. Each problem is one ValueError naming the file
    (FileNotFoundError for a missing one).
    """
    device = check_device(device)
    check_source(source, revision)
    folder = model_folder(source, revision)
    config = read_config(folder / CONFIG_NAME)
    vocab = Vocab.load(folder / VOCAB_NAME)
    if len(vocab) != config.vocab_size:
        raise ValueError(f"{folder / VOCAB_NAME} has {len(vocab)} tokens but {folder / CONFIG_NAME} says "
                         f"vocab_size={config.vocab_size}")
    weights = folder / WEIGHTS_NAME
    check_weights_header(weights, config, folder / CONFIG_NAME)
    model = _shell(config)
    try:
        load_model(model, weights, strict=True)
    except Exception as e:  # what the header check cannot see (safetensors checks the same again)
        raise ValueError(f"cannot load weights {weights}: {e}") from e
    check_finite(model, f"cannot load weights {weights}")
    return model.to(device).eval(), vocab


def check_source(source, revision) -> None:
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be a model folder or a Hub repo id (str or os.PathLike), got {source!r}")
    if revision is not None and not (isinstance(revision, str) and revision):
        raise ValueError(f"revision must be None or a branch, tag or commit name, got {revision!r}")


def push_folder(folder, repo_id: str, token: str | None = None, private: bool | None = None,
                commit_message: str = "Upload LSTM language model") -> str:
    """Create the Hub repo if needed and upload the folder (weights, vocab, card, curve) in one commit;
    checkpoints stay local. Returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                             commit_message=commit_message, ignore_patterns=IGNORE_ON_PUSH)
    return info.commit_url


def model_info(source, revision: str | None = None) -> dict:
    """What a model is, for people: its name, dataset, size, perplexities and training curve.

    From the folder's (or repo's) `config.json` and, when training wrote one, `training_results.json`;
    facts that are not known are None.
    """
    check_source(source, revision)
    folder = model_folder(source, revision)
    config = read_config(folder / CONFIG_NAME)
    results = {}
    if (folder / RESULTS_NAME).is_file():
        try:  # optional facts: a broken, huge or deeply nested file is just not read
            results = read_json(folder / RESULTS_NAME, MAX_RESULTS_BYTES, "training results")
        except (OSError, ValueError):
            results = {}
    results = results if isinstance(results, dict) else {}
    with torch.device("meta"):  # shapes only: counting needs no memory for the weights
        parameters = LSTMLanguageModel(config).num_parameters()
    is_local = local_folder(source, "model") is not None
    return {
        "name": folder.name if is_local else str(source),
        "dataset": results.get("dataset_name"),
        "parameters": parameters,
        "vocab_size": config.vocab_size,
        "test_ppl": results.get("test_ppl"),
        "best_valid_ppl": results.get("best_valid_ppl"),
        "architecture": f"{config.num_layers}-layer LSTM, {config.emb_dim}-wide word vectors, "
                        f"{config.hid_dim} hidden units" + (", tied input/output weights" * config.tie_weights),
        "history": results.get("history") or [],
        "training_curve": str(folder / CURVE_NAME) if (folder / CURVE_NAME).is_file() else None,
    }
