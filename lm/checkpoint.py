"""Training checkpoints: what is saved, written atomically and sealed, read back with one clear error,
checked against the run that resumes from it and restored into it.

A checkpoint is one `torch.save`d dict (loaded with `weights_only=True`: tensors and plain data,
nothing executable): the train config, model, optimizer and scheduler states, the position in the
run (epoch, step within it, global step), the history, and per rank the RNG state, the carried LSTM
state and the running train loss. The file is sealed with the SHA-256 of its bytes (in the zip
comment, see `lm.files.seal_zip`), so a changed byte anywhere is found before anything is read; and
every key, type, range and shape is checked, so a crafted or damaged file is one ValueError naming it.
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .checks import is_int, is_number
from .files import atomic_write, read_seal, seal_matches, seal_zip

FORMAT, VERSION = "lm-train-checkpoint", 3  # 2: train_config holds the model's config; 3: sealed, strict keys
NAME = "last.pt"
# Fields that may change between a run and its resumption without changing what is trained so far.
RESUMABLE_CHANGES = {"epochs", "max_minutes", "dataset"}
KEYS = {"format", "version", "train_config", "vocab", "ranks", "model", "optimizer", "scheduler", "epoch", "step",
        "global_step", "best_valid", "history", "elapsed"}
HISTORY_KEYS = {"epoch": is_int, "train_loss": is_number, "valid_loss": is_number, "lr": is_number,
                "seconds": is_number, "steps": is_int, "partial": lambda v: isinstance(v, bool)}
RANK_KEYS = {"rng", "hidden", "cuda_rng", "loss_sum"}
ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}
SCHEDULER_MOVES = {"best", "num_bad_epochs", "cooldown_counter", "last_epoch", "_last_lr"}  # the rest is config


@dataclass
class RunState:
    """Where a run is: everything besides the model and optimiser that a checkpoint must keep."""
    hidden: list  # the carried LSTM state of this rank's streams
    epoch: int = 0
    step: int = 0  # within the epoch
    global_step: int = 0
    loss_sum: float = 0.0  # this rank's summed train loss in the epoch so far
    best_valid: float = math.inf
    history: list = field(default_factory=list)
    elapsed: float = 0.0  # seconds of training so far, over all resumptions


class Malformed(ValueError):
    """What is wrong inside a checkpoint; `load`/`resume` prefix the checkpoint's path."""


def save(path: Path, state: dict) -> None:
    """torch.save to a temp file, seal it, then rename: a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: (torch.save({"format": FORMAT, "version": VERSION, **state}, tmp), seal_zip(tmp)))


def _torch_load(path: Path, mmap: bool):
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:  # in one line: torch's own messages (weights_only refusals) run over many
        first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
        reason = type(e).__name__ + (f": {first}" if first and len(first) <= 100 else "")
        raise ValueError(f"checkpoint {path} is corrupt or truncated ({reason})") from e


def load(path: Path, mmap: bool = False) -> dict:
    """The checkpoint at `path`, its seal and structure checked: any problem is one ValueError naming it.

    mmap=True: tensors are read only when touched."""
    if not path.is_file():
        raise ValueError(f"no checkpoint to resume from at {path}")
    if read_seal(path) is None:
        state = _torch_load(path, mmap)  # unsealed: an older version's, or not a checkpoint at all
        if isinstance(state, dict) and state.get("format") == FORMAT and state.get("version") != VERSION:
            raise ValueError(f"checkpoint {path} has version {state.get('version')!r}, expected {VERSION} "
                             f"(written by an older train.py: start afresh with --overwrite)")
        raise ValueError(f"checkpoint {path} is corrupt or truncated (it carries no SHA-256 seal)")
    if not seal_matches(path):
        raise ValueError(f"checkpoint {path} is corrupt or truncated (its bytes no longer match its SHA-256)")
    state = _torch_load(path, mmap)
    if not isinstance(state, dict) or state.get("format") != FORMAT or state.get("version") != VERSION:
        raise ValueError(f"{path} is not a training checkpoint of version {VERSION}")
    try:
        check_structure(state)
    except Malformed as e:
        raise ValueError(f"checkpoint {path} is malformed: {e}") from None
    return state


# ------------------------------------------------------------------------------- structure
def need(ok: bool, problem: str) -> None:
    if not ok:
        raise Malformed(problem)


_type = lambda v: type(v).__name__  # noqa: E731


def _tensors(name: str, value, dtype=None) -> None:
    need(isinstance(value, torch.Tensor) and (dtype is None or value.dtype == dtype),
         f"{name} must be a {dtype or 'tensor'}, got {_type(value)}" + (
             f" of {value.dtype}" if isinstance(value, torch.Tensor) else ""))


def _count(name: str, v) -> None:
    need(is_int(v) and v >= 0, f"{name!r} must be an integer >= 0, got {v!r}")


def check_structure(state: dict) -> None:
    """Malformed unless `state` has exactly our keys, each of its type, in range and consistent."""
    missing, extra = sorted(KEYS - set(state)), sorted(set(state) - KEYS)
    need(not missing, f"missing key {missing[0]!r}" if missing else "")
    need(not extra, f"unexpected key {extra[0]!r}" if extra else "")
    for key, kind in (("train_config", dict), ("vocab", list), ("ranks", list), ("model", dict),
                      ("optimizer", dict), ("scheduler", dict), ("history", list)):
        need(isinstance(state[key], kind), f"{key!r} must be a {kind.__name__}, got {_type(state[key])}")
    need(len(state["vocab"]) >= 2 and all(isinstance(t, str) for t in state["vocab"]),
         "'vocab' must be a list of strings")
    need(state["model"] and all(isinstance(k, str) for k in state["model"]), "'model' must map names to tensors")
    for k, v in state["model"].items():
        _tensors(f"model tensor {k!r}", v)
    for key in ("epoch", "step", "global_step"):
        _count(key, state[key])
    for key in ("best_valid", "elapsed"):
        need(is_number(state[key]) and not math.isnan(state[key]), f"{key!r} must be a number")
    need(0 <= state["elapsed"] < math.inf, f"'elapsed' must be >= 0 seconds, got {state['elapsed']!r}")
    _check_history(state)
    need(len(state["ranks"]) >= 1, "'ranks' is empty")
    for r, mine in enumerate(state["ranks"]):
        _check_rank(r, mine)
    opt = state["optimizer"]
    need(set(opt) == {"state", "param_groups"}, "'optimizer' must hold exactly 'state' and 'param_groups'")
    need(isinstance(opt["state"], dict) and isinstance(opt["param_groups"], list),
         "'optimizer' state must be a dict and its param_groups a list")


def _check_history(state: dict) -> None:
    history = state["history"]
    for i, h in enumerate(history):
        need(isinstance(h, dict) and set(h) == set(HISTORY_KEYS),
             f"history entry {i} must be a dict with keys {sorted(HISTORY_KEYS)}")
        for key, ok in HISTORY_KEYS.items():
            need(ok(h[key]), f"history entry {i}: {key!r} has the wrong type ({_type(h[key])})")
        need(h["epoch"] == i + 1, f"history entry {i} is for epoch {h['epoch']}, expected {i + 1}")
        need(h["steps"] >= 0 and h["seconds"] >= 0 and h["lr"] >= 0 and not (h["train_loss"] < 0)
             and not (h["valid_loss"] < 0), f"history entry {i} has a negative value")
    need(len(history) == state["epoch"], f"'epoch' is {state['epoch']} but the history has {len(history)} epochs")
    done = sum(h["steps"] for h in history) + state["step"]
    need(state["global_step"] == done, f"'global_step' is {state['global_step']} but the history and 'step' "
                                       f"add up to {done}")
    best = min((h["valid_loss"] for h in history if not math.isnan(h["valid_loss"])), default=math.inf)
    need(state["best_valid"] == best, f"'best_valid' is {state['best_valid']!r}, the history's best is {best!r}")


def _check_rank(r: int, mine) -> None:
    need(isinstance(mine, dict) and set(mine) == RANK_KEYS, f"rank {r}'s state must have keys {sorted(RANK_KEYS)}")
    _tensors(f"rank {r}'s rng", mine["rng"], torch.uint8)
    need(mine["rng"].shape == torch.get_rng_state().shape, f"rank {r}'s rng state has the wrong size")
    if mine["cuda_rng"] is not None:
        _tensors(f"rank {r}'s cuda_rng", mine["cuda_rng"], torch.uint8)
    need(isinstance(mine["hidden"], list) and all(isinstance(hc, (list, tuple)) and len(hc) == 2
                                                  for hc in mine["hidden"]),
         f"rank {r}'s hidden state must be a list of (h, c) pairs")
    for t in (t for hc in mine["hidden"] for t in hc):
        _tensors(f"rank {r}'s hidden state", t)
    need(is_number(mine["loss_sum"]) and not mine["loss_sum"] < 0, f"rank {r}'s loss_sum must be a number >= 0")


# ---------------------------------------------------------------------------- this run
def read_config(state: dict, cls, path: Path):
    """The run's configuration (a `cls`, i.e. TrainConfig), or one ValueError naming the checkpoint."""
    try:
        cfg = cls.from_dict(state["train_config"])
        if not isinstance(cfg.dataset, str):
            raise ValueError(f"dataset must be a string, got {_type(cfg.dataset)}")
        cfg.validate()
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ValueError(f"checkpoint {path} has an invalid train_config ({' '.join(str(e).split())})") from None
    return cfg


def check_fits(state: dict, trainer) -> None:
    """Malformed unless the checkpoint's shapes, sizes and positions are those of `trainer`'s run."""
    saved = trainer.saved_cfg
    need(state["epoch"] <= saved.epochs, f"'epoch' {state['epoch']} is past the run's {saved.epochs} epochs")
    need(state["step"] <= len(trainer.chunks), f"'step' {state['step']} is past an epoch's {len(trainer.chunks)}")
    world = trainer.dist.world
    need(len(state["ranks"]) == world, f"{len(state['ranks'])} processes wrote it, now {world}")
    _same_tensors("model", state["model"], trainer.model.state_dict())
    fresh = trainer.model.init_hidden(trainer.share)
    for r, mine in enumerate(state["ranks"]):
        need(len(mine["hidden"]) == len(fresh), f"rank {r}'s hidden state has {len(mine['hidden'])} layers")
        for layer, (got, want) in enumerate(zip(mine["hidden"], fresh)):  # (any float: bf16 under --amp)
            for t, w in zip(got, want):
                need(t.is_floating_point() and t.shape == w.shape,
                     f"rank {r}'s hidden state of layer {layer} has shape {tuple(t.shape)}, not {tuple(w.shape)}")
        if mine["cuda_rng"] is not None and trainer.device.type == "cuda":
            need(mine["cuda_rng"].shape == torch.cuda.get_rng_state(trainer.device).shape,
                 f"rank {r}'s cuda_rng state has the wrong size")
    _check_optimizer(state, trainer.optimizer)
    _same_settings("scheduler", state["scheduler"], trainer.plateau.state_dict(), SCHEDULER_MOVES)


def _same_tensors(what: str, got: dict, want: dict) -> None:
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    need(not missing and not extra, f"{what} lacks {missing}" if missing else f"{what} has unknown {extra}")
    for k, w in want.items():
        _tensors(f"{what} {k!r}", got[k], w.dtype)
        need(got[k].shape == w.shape, f"{what} {k!r} has shape {tuple(got[k].shape)}, this run's is {tuple(w.shape)}")


def _same_settings(what: str, got: dict, want: dict, moves=()) -> None:
    """Same keys as `want`, the same values but for those in `moves` (same kind, not NaN)."""
    need(set(got) == set(want), f"{what} keys {sorted(map(str, got))} != this run's {sorted(map(str, want))}")
    for k, w in want.items():
        g = got[k]
        if k in moves:  # a count stays a count >= 0, a number a number
            need(is_int(g) and g >= 0 if is_int(w) else type(g) is type(w) or is_number(g) and is_number(w),
                 f"{what} {k!r} has the wrong type or is negative: {g!r}")
            need(not (is_number(g) and math.isnan(g)), f"{what} {k!r} is NaN")
        else:
            need(g == w and type(g) is type(w) or (is_number(g) and is_number(w) and g == w),
                 f"{what} {k!r} is {g!r}, this run's is {w!r}")


def _check_optimizer(state: dict, optimizer) -> None:
    got, want = state["optimizer"], optimizer.state_dict()
    need(len(got["param_groups"]) == len(want["param_groups"]), "the optimizer has another number of groups")
    for i, (g, w) in enumerate(zip(got["param_groups"], want["param_groups"])):
        need(isinstance(g, dict), f"optimizer group {i} must be a dict")
        _same_settings(f"optimizer group {i}", g, w, {"lr"})
        need(0 <= g["lr"] < math.inf, f"optimizer group {i} lr must be >= 0, got {g['lr']!r}")
    params = dict(enumerate(p for group in optimizer.param_groups for p in group["params"]))
    for i, s in got["state"].items():
        need(i in params, f"optimizer state for parameter {i!r}, which this model does not have")
        need(isinstance(s, dict) and set(s) == ADAM_STATE, f"optimizer state {i} must have keys {sorted(ADAM_STATE)}")
        _same_tensors(f"optimizer state {i}", {k: s[k] for k in ("exp_avg", "exp_avg_sq")},
                      {"exp_avg": params[i].detach(), "exp_avg_sq": params[i].detach()})
        step = s["step"].item() if isinstance(s["step"], torch.Tensor) and s["step"].dim() == 0 else s["step"]
        need(is_number(step) and step == state["global_step"],
             f"optimizer state {i} is at step {step!r}, the run at {state['global_step']}")


# -------------------------------------------------------------------- write and restore a run
def rank_state(hidden, loss_sum: float, device: torch.device) -> dict:
    """What each rank keeps of its own: RNG states, the carried LSTM state, its running train loss."""
    return {"rng": torch.get_rng_state(), "hidden": [(h.cpu(), c.cpu()) for h, c in hidden],
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None, "loss_sum": loss_sum}


def write(trainer) -> None:
    """Checkpoint `trainer` (a lm.training.Trainer): every rank gives its share, rank 0 writes."""
    s = trainer.s
    ranks = trainer.dist.gather(rank_state(s.hidden, s.loss_sum, trainer.device))
    if trainer.dist.main:
        save(trainer.ckpt_path, {
            "train_config": asdict(trainer.cfg), "vocab": trainer.corpus.vocab.itos, "ranks": ranks,
            "model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
            "scheduler": trainer.plateau.state_dict(), "epoch": s.epoch, "step": s.step,
            "global_step": s.global_step, "best_valid": s.best_valid, "history": s.history, "elapsed": s.elapsed})


def resume(trainer, log) -> None:
    """Load `trainer`'s checkpoint, check that it is this run's (config, vocabulary, shapes), restore it."""
    path = trainer.ckpt_path
    state = load(path)
    trainer.saved_cfg = read_config(state, type(trainer.cfg), path)
    check_resumable(state, trainer.saved_cfg.flat(), trainer.cfg.flat(), trainer.corpus.vocab.itos, path)
    try:
        check_fits(state, trainer)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.plateau.load_state_dict(state["scheduler"])
        s = trainer.s
        s.hidden, s.loss_sum = restore_rank(state["ranks"][trainer.dist.rank], trainer.device)
    except (Malformed, RuntimeError, KeyError, TypeError) as e:  # (the last three: what the checks missed)
        raise ValueError(f"checkpoint {path} does not fit this run: {' '.join(str(e).split())}") from None
    s.epoch, s.step, s.global_step = state["epoch"], state["step"], state["global_step"]
    s.best_valid, s.history, s.elapsed = state["best_valid"], state["history"], state["elapsed"]
    if trainer.dist.main:
        log(f"resumed from {path}: epoch {s.epoch + 1}, step {s.step}/{len(trainer.chunks)}")


def check_resumable(state: dict, saved: dict, now: dict, itos: list, path: Path) -> None:
    """ValueError unless the run in `state` (flat config `saved`) is this one (`now`) on this vocabulary."""
    diff = [k for k, v in now.items() if k not in RESUMABLE_CHANGES and saved.get(k) != v]
    if diff:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} != now {now[k]!r}" for k in diff)
        raise ValueError(f"checkpoint {path} is from a different configuration ({detail})")
    if state["vocab"] != itos:
        raise ValueError(f"checkpoint {path} was trained with a different vocabulary "
                         f"({len(state['vocab'])} tokens, now {len(itos)})")


def restore_rank(mine: dict, device: torch.device) -> tuple[list, float]:
    """Set this rank's RNG states from its saved share; its (hidden, loss_sum)."""
    torch.set_rng_state(mine["rng"])
    if device.type == "cuda" and mine["cuda_rng"] is not None:
        torch.cuda.set_rng_state(mine["cuda_rng"], device)
    return [(h.to(device), c.to(device)) for h, c in mine["hidden"]], mine["loss_sum"]
