"""Save and load a model folder: `model.safetensors`, `config.json`, `vocab.json`.

The folder is what goes to the Hugging Face Hub, so `load_pretrained` takes a local folder or a Hub
repo id (downloaded with `hf_hub_download`, which also serves the local cache under
`HF_HUB_OFFLINE=1`). Weights are safetensors only: nothing is unpickled. (PyTorchModelHubMixin's
loader would fall back to a pickled `pytorch_model.bin`, and its `push_to_hub` would drop
`vocab.json`, hence these few lines instead.)
"""

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from ._io import atomic_write
from .model import LMConfig, LSTMLanguageModel
from .text import Vocab

CONFIG_NAME, WEIGHTS_NAME, VOCAB_NAME = "config.json", "model.safetensors", "vocab.json"
MODEL_TYPE = "lstm-language-model"


def save_pretrained(model: LSTMLanguageModel, vocab: Vocab, folder, dtype: torch.dtype | None = None) -> Path:
    """Write the model folder (other files in it, such as a model card, are left alone).

    `dtype=torch.bfloat16` halves the file; it loads back into a float32 model.
    """
    if len(vocab) != model.config.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} tokens but the model expects {model.config.vocab_size}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    to_save = model if dtype is None else _cast_copy(model, dtype)
    config = {"model_type": MODEL_TYPE, **model.config_dict()}
    atomic_write(folder / CONFIG_NAME, lambda p: Path(p).write_text(json.dumps(config, indent=2) + "\n"))
    atomic_write(folder / WEIGHTS_NAME, lambda p: save_model(to_save, p, metadata={"format": "pt"}))
    atomic_write(folder / VOCAB_NAME, lambda p: vocab.save(p))
    return folder


def _cast_copy(model: LSTMLanguageModel, dtype: torch.dtype) -> LSTMLanguageModel:
    with torch.random.fork_rng(devices=[]):  # building a model draws init weights: keep the global RNG as it was
        copy = LSTMLanguageModel(**model.config_dict())
    copy.load_state_dict(model.state_dict())
    return copy.to(dtype)


def _looks_like_path(s: str) -> bool:
    return s.startswith((".", "/", "~")) or "\\" in s or s.count("/") != 1 or os.path.exists(s)


def _resolve(source, revision: str | None) -> dict[str, str]:
    """Local paths of the three files, from a folder or a Hub repo (cache first, then network).

    A Path (any os.PathLike) is always a folder, never a repo id; "~" is expanded."""
    names = (CONFIG_NAME, WEIGHTS_NAME, VOCAB_NAME)
    is_path = isinstance(source, os.PathLike)
    source = os.path.expanduser(os.fspath(source) if is_path else str(source))
    if os.path.isdir(source):
        paths = {n: os.path.join(source, n) for n in names}
        missing = [n for n, p in paths.items() if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"model folder {source} is missing {', '.join(missing)}")
        return paths
    if is_path or _looks_like_path(source):
        raise FileNotFoundError(f"model folder {source} does not exist")
    from huggingface_hub import hf_hub_download

    paths = {}
    for name in names:
        try:
            paths[name] = hf_hub_download(source, name, revision=revision)
        except Exception as e:  # offline and not cached, no such repo, no such file, network down
            raise FileNotFoundError(f"could not get {name} of Hub model {source!r}: {type(e).__name__}: {e}") from e
    return paths


def load_pretrained(source, revision: str | None = None, device: str | torch.device = "cpu"
                    ) -> tuple[LSTMLanguageModel, Vocab]:
    """Load (model, vocab) from a local folder or a Hub repo id, in eval mode.

    >>> model, vocab = load_pretrained("assets/oz-lstm")
    """
    paths = _resolve(source, revision)
    try:
        config = json.loads(Path(paths[CONFIG_NAME]).read_text())
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
        model_type = config.pop("model_type", None)
        if model_type != MODEL_TYPE:
            raise ValueError(f"model_type is {model_type!r}, expected {MODEL_TYPE!r}")
        with torch.random.fork_rng(devices=[]):  # the init draws are overwritten: leave the global RNG alone
            model = LSTMLanguageModel(**LMConfig.from_dict(config).__dict__)
    except (ValueError, TypeError) as e:
        raise ValueError(f"bad model config {paths[CONFIG_NAME]}: {e}") from e
    vocab = Vocab.load(paths[VOCAB_NAME])
    if len(vocab) != model.config.vocab_size:
        raise ValueError(f"{paths[VOCAB_NAME]} has {len(vocab)} tokens but {paths[CONFIG_NAME]} says "
                         f"vocab_size={model.config.vocab_size}")
    try:
        load_model(model, paths[WEIGHTS_NAME], strict=True, device=str(device))
    except Exception as e:  # missing/unexpected keys, wrong shapes, truncated file
        raise ValueError(f"cannot load weights {paths[WEIGHTS_NAME]}: {e}") from e
    return model.to(device).eval(), vocab


# Never uploaded: training checkpoints (in checkpoints/, or anywhere when --checkpoint-dir is the
# folder itself) and the temp files of interrupted atomic writes (model files, vocab, card, curve).
IGNORE_ON_PUSH = ["checkpoints/*", "*.pt", "*.tmp", "*.tmp.*"]


def push_folder(folder, repo_id: str, token: str | None = None, private: bool | None = None,
                commit_message: str = "Upload LSTM language model") -> str:
    """Create the Hub repo if needed and upload the whole folder (weights, vocab, card, curve) in one
    commit; checkpoints stay local. Returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                             commit_message=commit_message, ignore_patterns=IGNORE_ON_PUSH)
    return str(getattr(info, "commit_url", info))
