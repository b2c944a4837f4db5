"""Argument checks shared by the package: one ValueError naming the argument, before any work.

Every message starts with the argument's name ("seed must be ..."), so the command-line tools can
show it as the flag the user typed (`lm.cli.flag_message`: "--seed must be ...").
"""

import math
import os

import torch

ID_DTYPES = (torch.int64, torch.int32)  # what nn.Embedding takes


def is_int(value) -> bool:
    """An int that is not a bool (True is not a number of things)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """An int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(name: str, value, low: int = 0, high: int | None = None) -> int:
    """`value` as an int in [low, high] (high None: no upper bound), else a ValueError naming `name`."""
    if not is_int(value) or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def check_number(name: str, value, low: float, high: float = math.inf, low_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (or (low, high]), else a ValueError naming `name`."""
    ok = is_number(value) and math.isfinite(value) and low <= value <= high and not (low_open and value == low)
    if not ok:
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
        where = "in " if math.isfinite(high) else ""
        raise ValueError(f"{name} must be a finite number {where}{bounds}, got {value!r}")
    return float(value)


def check_bool(name: str, value) -> bool:
    """True or False only: "no" and 0 are not answers to a yes/no question."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_path(name: str, value) -> None:
    """A str or os.PathLike (None, numbers and bytes are not paths here)."""
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path (str or os.PathLike), got {value!r}")


def check_model(model) -> None:
    from .model import LSTMLanguageModel  # here: model.py imports this module

    if not isinstance(model, LSTMLanguageModel):
        raise ValueError(f"model must be an LSTMLanguageModel, got {type(model).__name__}")


def check_vocab(vocab, model) -> None:
    """A Vocab with exactly the model's number of tokens (a bigger one would feed ids it has no row for)."""
    from .vocab import Vocab

    if not isinstance(vocab, Vocab):
        raise ValueError(f"vocab must be a Vocab, got {type(vocab).__name__}")
    if len(vocab) != model.config.vocab_size:
        raise ValueError(f"vocab must have the model's {model.config.vocab_size:,} tokens, got {len(vocab):,}")


def check_ids(name: str, ids, vocab_size: int | None = None, dims: int = 1) -> None:
    """A `dims`-D int64/int32 tensor of token ids, each in [0, vocab_size) (any ids when vocab_size is None)."""
    shape = "1-D" if dims == 1 else f"{dims}-D (rows, columns)"
    if not isinstance(ids, torch.Tensor):
        raise ValueError(f"{name} must be a {shape} tensor of token ids, got {type(ids).__name__}")
    if ids.dtype not in ID_DTYPES:
        raise ValueError(f"{name} must hold integer token ids (torch.int64 or torch.int32), got {ids.dtype}")
    if ids.dim() != dims:
        raise ValueError(f"{name} must be a {shape} tensor of token ids, got shape {tuple(ids.shape)}")
    if vocab_size is not None and ids.numel():
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab_size:
            raise ValueError(f"{name} must hold token ids in [0, {vocab_size}), got ids from {low} to {high}")


def check_device(device) -> torch.device:
    """A torch.device (or its name) that exists here: "cuda" on a machine without CUDA is refused now."""
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device must be a str or torch.device, got {device!r}")
    try:
        d = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must name a torch device ('cpu', 'cuda', 'cuda:1', ...), got {device!r}") from None
    if d.type == "cuda" and not (torch.cuda.is_available() and (d.index or 0) < torch.cuda.device_count()):
        raise ValueError(f"device must be available on this machine, got {device!r} "
                         f"({torch.cuda.device_count()} CUDA devices here)")
    return d
