"""Training checkpoints: what is saved, written atomically, read back with one clear error, and
whether a run can resume from one.

A checkpoint is one `torch.save`d dict (loaded with `weights_only=True`: tensors and plain data,
nothing executable): the train config, model, optimizer and scheduler states, the position in the
run (epoch, step within it, global step), the history, and per rank the RNG state, the carried LSTM
state and the running train loss.
"""

from pathlib import Path

import torch

from .files import atomic_write
from .vocab import Vocab

FORMAT, VERSION = "lm-train-checkpoint", 2  # 2: train_config holds the model's config as "model"
NAME = "last.pt"
# Fields that may change between a run and its resumption without changing what is trained so far.
RESUMABLE_CHANGES = {"epochs", "max_minutes", "dataset"}


def save(path: Path, state: dict) -> None:
    """torch.save to a temp file, then rename: a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save({"format": FORMAT, "version": VERSION, **state}, tmp))


def load(path: Path, mmap: bool = False) -> dict:
    """The checkpoint at `path` (mmap=True: tensors are read only when touched)."""
    if not path.is_file():
        raise ValueError(f"no checkpoint to resume from at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:
        # One line: torch's own messages (weights_only refusals) run over many lines.
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        reason = type(e).__name__ + (f": {first}" if first and len(first) <= 100 else "")
        raise ValueError(f"checkpoint {path} is corrupt or truncated ({reason})") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a training checkpoint")
    if state.get("version") != VERSION:
        raise ValueError(f"checkpoint {path} has version {state.get('version')!r}, expected {VERSION}")
    return state


def check_resumable(state: dict, saved: dict, now: dict, vocab: Vocab, path: Path) -> None:
    """ValueError unless the run in `state` (flat config `saved`) is this one (`now`) on this vocabulary."""
    diff = [k for k, v in now.items() if k not in RESUMABLE_CHANGES and saved.get(k) != v]
    if diff:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} != now {now[k]!r}" for k in diff)
        raise ValueError(f"checkpoint {path} is from a different configuration ({detail})")
    if state["vocab"] != vocab.itos:
        raise ValueError(f"checkpoint {path} was trained with a different vocabulary "
                         f"({len(state['vocab'])} tokens, now {len(vocab)})")


def rank_state(hidden, loss_sum: float, device: torch.device) -> dict:
    """What each rank keeps of its own: RNG states, the carried LSTM state, its running train loss."""
    return {"rng": torch.get_rng_state(), "hidden": [(h.cpu(), c.cpu()) for h, c in hidden],
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None, "loss_sum": loss_sum}


def restore_rank(mine: dict, device: torch.device) -> tuple[list, float]:
    """Set this rank's RNG states from its saved share; its (hidden, loss_sum)."""
    torch.set_rng_state(mine["rng"])
    if device.type == "cuda" and mine["cuda_rng"] is not None:
        torch.cuda.set_rng_state(mine["cuda_rng"], device)
    return [(h.to(device), c.to(device)) for h, c in mine["hidden"]], mine["loss_sum"]
