"""Training: the notebook's loop made resumable, distributed and Hub-ready.

The defaults are the notebook's recipe (Adam 1e-3, clip 0.25, ReduceLROnPlateau(0.5, patience 0) on
validation loss, 50 epochs, batch 128 x seq_len 50, dropout 0.65). `RECIPES["awd"]` is the improved
recipe (AWD-LSTM's regularisation with AdamW and a cosine schedule).

Nothing is lost: a checkpoint (model, optimizer, scheduler, RNG states, carried LSTM state, position,
history) is written atomically at every epoch end and every `checkpoint_every` steps, and a resumed
run continues bit for bit. Under `torchrun` each rank trains on its share of the batch streams with
DistributedDataParallel; only rank 0 writes files.
"""

import contextlib
import math
import os
import signal
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._io import atomic_write
from .data import batchify, iter_batches, load_corpus
from .hub import save_pretrained
from .model import LMConfig, LSTMLanguageModel
from .perplexity import evaluate
from .text import Vocab

CHECKPOINT_FORMAT, CHECKPOINT_VERSION = "lm-train-checkpoint", 1


@dataclass
class TrainConfig:
    dataset: str = "KaungHtetCho/Harry_Potter_LSTM"
    min_freq: int = 3
    batch_size: int = 128  # notebook
    seq_len: int = 50  # notebook: truncated-BPTT length
    eval_batch_size: int | None = None  # None = batch_size (the notebook evaluates with its training batch)
    # model (see LMConfig)
    emb_dim: int = 1024
    hid_dim: int = 1024
    num_layers: int = 2
    dropout_rate: float = 0.65
    tie_weights: bool = False
    locked_dropout: bool = False
    dropout_emb: float = 0.0
    dropout_in: float | None = None
    dropout_hid: float | None = None
    dropout_out: float | None = None
    weight_drop: float = 0.0
    # optimisation
    optimizer: str = "adam"  # adam | adamw
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "plateau"  # plateau: halve lr when validation stops improving; cosine: to 0 over all epochs
    warmup_steps: int = 0  # linear warm-up (cosine schedule only)
    clip: float = 0.25
    epochs: int = 50
    seed: int = 42
    max_minutes: float | None = None  # stop after this much training time (a wall-clock budget)

    def model_config(self, vocab_size: int) -> LMConfig:
        names = [f.name for f in fields(LMConfig) if f.name != "vocab_size"]
        return LMConfig(vocab_size, **{n: getattr(self, n) for n in names})

    def validate(self) -> None:
        """Raise ValueError naming the first bad value."""
        for name in ("min_freq", "batch_size", "seq_len", "epochs", "emb_dim", "hid_dim", "num_layers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.eval_batch_size is not None and self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be a positive integer, got {self.eval_batch_size!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not (self.clip > 0):
            raise ValueError(f"clip must be > 0, got {self.clip!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be adam or adamw, got {self.optimizer!r}")
        if self.schedule not in ("plateau", "cosine"):
            raise ValueError(f"schedule must be plateau or cosine, got {self.schedule!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps!r}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes must be > 0, got {self.max_minutes!r}")
        self.model_config(2)  # dropout ranges and sizes


# Each recipe overrides TrainConfig defaults; explicit flags override the recipe.
RECIPES: dict[str, dict] = {
    "notebook": {},
    # AWD-LSTM's regularisation (its Penn Treebank dropouts; DropConnect 0.3 instead of 0.5, as a
    # short budget has no time to overcome more), tied embeddings, AdamW with a cosine schedule that
    # reaches 0 at the last epoch or at the end of the time budget, and batch 64: on this CPU it
    # costs 22% less time per token than 128 for twice the updates. Evaluation stays the notebook's.
    "awd": dict(batch_size=64, eval_batch_size=128, tie_weights=True, locked_dropout=True, dropout_rate=0.4,
                dropout_in=0.4, dropout_hid=0.25, dropout_out=0.4, dropout_emb=0.1, weight_drop=0.3,
                optimizer="adamw", lr=3e-3, weight_decay=0.01, schedule="cosine", warmup_steps=100, clip=0.25),
}


# ------------------------------------------------------------------------------------ devices
def pick_device(name: str | None = None) -> torch.device:
    """CUDA > MPS > CPU unless `name` forces one (ValueError if that one is unknown or absent)."""
    if name:
        try:
            dev = torch.device(name)
        except (RuntimeError, ValueError):
            raise ValueError(f"unknown device {name!r} (expected cpu, cuda, cuda:N or mps)") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: CUDA is not available on this machine")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"device {name!r}: MPS is not available on this machine")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class Dist:
    """torchrun's environment: world size, rank, and the process group (gloo on CPU, NCCL on GPU)."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1

    def setup(self, device: torch.device) -> torch.device:
        if not self.enabled:
            return device
        import torch.distributed as dist

        if device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def gather(self, obj):
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def any(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Element-wise OR of `flags` over all ranks, so that every rank takes the same branch."""
        if not self.enabled:
            return flags
        import torch.distributed as dist

        t = torch.tensor([int(f) for f in flags], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return [bool(v) for v in t.tolist()]

    def mean(self, value: float, device: torch.device) -> float:
        """Mean of a float over all ranks."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.item() / self.world

    def close(self):
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                # Leave together: a rank whose peer has already torn the group down can block for
                # ever in the group's destructor (seen with gloo on a loaded CPU).
                dist.barrier()
                dist.destroy_process_group()


# -------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temp file, then rename: a crash never leaves half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path, mmap: bool = False) -> dict:
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
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a training checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {path} has version {state.get('version')!r}, expected {CHECKPOINT_VERSION}")
    return state


# Fields that may change between a run and its resumption without changing what is trained so far.
RESUMABLE_CHANGES = {"epochs", "max_minutes", "dataset"}


def _check_resumable(state: dict, cfg: TrainConfig, vocab: Vocab, path: Path) -> None:
    saved = state["train_config"]
    diff = [k for k, v in asdict(cfg).items() if k not in RESUMABLE_CHANGES and saved.get(k) != v]
    if diff:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} != now {getattr(cfg, k)!r}" for k in diff)
        raise ValueError(f"checkpoint {path} is from a different configuration ({detail})")
    if state["vocab"] != vocab.itos:
        raise ValueError(f"checkpoint {path} was trained with a different vocabulary "
                         f"({len(state['vocab'])} tokens, now {len(vocab)})")


# ---------------------------------------------------------------------------------- the loop
def make_optimizer(cfg: TrainConfig, model) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


class CosineWithWarmup:
    """lr factor: linear warm-up over `warmup` steps, then cosine to 0 at `total` steps."""

    def __init__(self, warmup: int, total: int):
        self.warmup, self.total = warmup, max(total, 1)

    def __call__(self, step: int, time_used: float = 0.0) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = max((step - self.warmup) / max(1, self.total - self.warmup), time_used)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train_step(net, model: LSTMLanguageModel, optimizer: torch.optim.Optimizer, src: torch.Tensor,
               target: torch.Tensor, hidden, clip: float, autocast=contextlib.nullcontext()):
    """One truncated-BPTT step, the notebook's: forward, cross-entropy, backward, clip, update.

    `net` is `model` or its DistributedDataParallel wrapper. Returns the loss (a 0-d tensor, still on
    the device: reading it is a host sync, left to the caller) and the carried hidden state.
    """
    hidden = model.detach_hidden(hidden)
    optimizer.zero_grad(set_to_none=True)
    with autocast:
        logits, hidden = net(src, hidden)  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), target.flatten())
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.detach(), hidden


@dataclass
class TrainResult:
    model: LSTMLanguageModel
    vocab: Vocab
    history: list[dict]
    best_valid_loss: float
    test_loss: float | None
    stopped_early: bool  # interrupted or out of time
    wall_seconds: float
    interrupted: bool = False  # by a signal (Ctrl-C, SIGTERM): a checkpoint is saved, --resume continues


class Interrupted(Exception):
    pass


def train(cfg: TrainConfig, out: str | Path, checkpoint_dir: str | Path | None = None, resume: bool = False,
          checkpoint_every: int = 0, device: str | None = None, amp: str | None = None,
          corpus=None, log=print, progress: bool = True, on_epoch_end=None) -> TrainResult:
    """Train, keeping the best model (by validation loss) in `out` as a Hub-ready folder.

    `on_epoch_end(result_so_far)` runs on rank 0 after the best model is written (the CLI writes
    the model card and curve there). `corpus` may be passed in to skip loading.
    """
    cfg.validate()
    out = Path(out)
    ckpt_path = Path(checkpoint_dir or out / "checkpoints") / "last.pt"
    dist_env = Dist()
    dev = dist_env.setup(pick_device(device))
    is_main = dist_env.main
    if amp not in (None, "bf16"):
        raise ValueError(f"amp must be None or 'bf16', got {amp!r}")
    if amp and dev.type != "cuda":
        raise ValueError(f"--amp bf16 needs a CUDA device, got {dev}")

    if corpus is None:
        corpus = load_corpus(cfg.dataset, min_freq=cfg.min_freq)
    vocab = corpus.vocab
    world, rank = dist_env.world, dist_env.rank
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes ({world})")
    eval_bs = cfg.eval_batch_size or cfg.batch_size
    for split, ids, bs in (("train", corpus.train, cfg.batch_size), ("validation", corpus.validation, eval_bs)):
        if ids.numel() // bs < cfg.seq_len + 1:
            raise ValueError(f"the {split} split ({ids.numel()} tokens) cannot fill batch_size={bs} streams "
                             f"of seq_len+1={cfg.seq_len + 1} tokens")
    # Each rank trains on a contiguous block of the B streams; together they are the full batch.
    streams = batchify(corpus.train, cfg.batch_size)  # (B, N)
    share = cfg.batch_size // world
    streams = streams[rank * share:(rank + 1) * share].to(dev)  # (B / world, N)
    chunks = list(iter_batches(streams, cfg.seq_len))
    steps_per_epoch = len(chunks)

    torch.manual_seed(cfg.seed)  # same initial weights on every rank
    model = LSTMLanguageModel(**asdict(cfg.model_config(len(vocab)))).to(dev)
    if rank:  # each rank its own dropout masks over its own streams (rank 0 keeps the 1-process stream)
        torch.manual_seed(cfg.seed + rank)
    optimizer = make_optimizer(cfg, model)
    # plateau: torch's scheduler, stepped on validation loss. cosine: set by hand every step, since
    # under a wall-clock budget its progress is max(steps done, time used) of the whole run.
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    cosine = CosineWithWarmup(cfg.warmup_steps, cfg.epochs * steps_per_epoch)

    epoch, step, global_step, loss_sum = 0, 0, 0, 0.0
    best_valid, history, elapsed = math.inf, [], 0.0
    hidden = model.init_hidden(share)
    if cfg.schedule == "cosine":
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * cosine(0)
    if resume:
        state = load_checkpoint(ckpt_path)
        _check_resumable(state, cfg, vocab, ckpt_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        epoch, step, global_step = state["epoch"], state["step"], state["global_step"]
        loss_sum, best_valid, history, elapsed = state["loss_sum"], state["best_valid"], state["history"], state["elapsed"]
        ranks = state["ranks"]
        if len(ranks) != world:
            raise ValueError(f"checkpoint {ckpt_path} was written by {len(ranks)} processes, now {world}")
        mine = ranks[rank]
        loss_sum = mine.get("loss_sum", loss_sum)  # each rank's own running train loss
        torch.set_rng_state(mine["rng"])
        if dev.type == "cuda" and mine.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(mine["cuda_rng"], dev)
        hidden = [(h.to(dev), c.to(dev)) for h, c in mine["hidden"]]
        if is_main:
            log(f"resumed from {ckpt_path}: epoch {epoch + 1}, step {step}/{steps_per_epoch}")

    net = model
    if dist_env.enabled:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    def checkpoint():
        rank_state = {"rng": torch.get_rng_state(), "hidden": [(h.cpu(), c.cpu()) for h, c in hidden],
                      "cuda_rng": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
                      "loss_sum": loss_sum}
        ranks = dist_env.gather(rank_state)
        if is_main:
            save_checkpoint(ckpt_path, {
                "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "train_config": asdict(cfg),
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step, "global_step": global_step,
                "loss_sum": loss_sum, "best_valid": best_valid, "history": history, "elapsed": elapsed,
                "vocab": vocab.itos, "ranks": ranks})

    # Ctrl-C / SIGTERM: finish the current step, write a checkpoint, stop.
    stop = {"signal": None}

    def on_signal(signum, frame):
        stop["signal"] = signum

    old_handlers = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        try:
            old_handlers[s] = signal.signal(s, on_signal)
        except ValueError:  # not the main thread (e.g. called from a UI worker)
            pass

    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
    test_loss, stopped_early, interrupted_run = None, False, False
    start = time.perf_counter() - elapsed
    try:
        while epoch < cfg.epochs:
            net.train()
            if step == 0:  # as the notebook: every epoch reads the streams from their start with a zero state
                hidden = model.init_hidden(share)
            epoch_start = time.perf_counter()
            bar = tqdm(total=steps_per_epoch, initial=step, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                       disable=not (progress and is_main), leave=False, dynamic_ncols=True)
            running = torch.zeros((), device=dev)  # summed on device: no host sync per step
            out_of_time = False
            while step < steps_per_epoch:
                src, target = chunks[step]  # (B, T) each
                loss, hidden = train_step(net, model, optimizer, src, target, hidden, cfg.clip, autocast)
                if cfg.schedule == "cosine":
                    time_used = elapsed / (cfg.max_minutes * 60) if cfg.max_minutes else 0.0
                    for group in optimizer.param_groups:
                        group["lr"] = cfg.lr * cosine(global_step + 1, time_used)
                running += loss
                step += 1
                global_step += 1
                bar.update(1)
                sync_point = step % 20 == 0 or step == steps_per_epoch
                checkpoint_due = bool(checkpoint_every) and global_step % checkpoint_every == 0
                if sync_point:  # the only host sync: the progress bar
                    loss_sum += running.item()
                    running.zero_()
                    bar.set_postfix(loss=f"{loss_sum / step:.3f}", ppl=f"{math.exp(min(loss_sum / step, 50)):.1f}")
                elapsed = time.perf_counter() - start
                interrupted = stop["signal"] is not None
                out_of_time = bool(cfg.max_minutes) and elapsed > cfg.max_minutes * 60
                if dist_env.enabled:
                    # Ranks see a signal or the clock at different steps; one that stopped alone would
                    # leave the others waiting in a collective. They agree at the steps where all of
                    # them stop anyway (progress sync, scheduled checkpoint), so no extra sync per step.
                    if sync_point or checkpoint_due:
                        interrupted, out_of_time = dist_env.any([interrupted, out_of_time], dev)
                    else:
                        interrupted = out_of_time = False
                if interrupted or out_of_time or checkpoint_due:
                    loss_sum += running.item()
                    running.zero_()
                    checkpoint()
                if interrupted:
                    raise Interrupted()
                if out_of_time:
                    break
            bar.close()
            loss_sum += running.item()
            train_loss = dist_env.mean(loss_sum, dev) / max(step, 1)  # over all ranks' streams
            # Every rank scores the whole split; the mean makes the plateau scheduler's input identical
            # on all ranks even where GPU results differ in the last bits.
            valid_loss = dist_env.mean(evaluate(model, corpus.validation, eval_bs, cfg.seq_len), dev)
            lr = optimizer.param_groups[0]["lr"]
            if cfg.schedule == "plateau":
                scheduler.step(valid_loss)
            improved = valid_loss < best_valid
            epoch_seconds = time.perf_counter() - epoch_start
            history.append({"epoch": epoch + 1, "train_loss": train_loss, "valid_loss": valid_loss, "lr": lr,
                            "seconds": epoch_seconds, "steps": step, "partial": step < steps_per_epoch})
            if improved:
                best_valid = valid_loss
                if is_main:
                    save_pretrained(model, vocab, out)
            if is_main:
                log(f"epoch {epoch + 1:3d}/{cfg.epochs} | train ppl {math.exp(train_loss):9.2f} | "
                    f"valid ppl {math.exp(valid_loss):9.2f}{' *' if improved else '  '} | lr {lr:.2e} | "
                    f"{epoch_seconds:6.1f}s")
            epoch, step, loss_sum = epoch + 1, 0, 0.0
            elapsed = time.perf_counter() - start
            checkpoint()
            if is_main and on_epoch_end:
                on_epoch_end(history, best_valid, None)
            if out_of_time:
                stopped_early = True
                if is_main:
                    log(f"time budget of {cfg.max_minutes} minutes reached")
                break
    except Interrupted:
        stopped_early = interrupted_run = True
        if is_main:
            log(f"interrupted: checkpoint saved to {ckpt_path}; continue with --resume")
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
        net = None  # DDP holds the process group: free it first, then close the group
        dist_env.close()

    wall = time.perf_counter() - start
    if math.isfinite(best_valid) and is_main and not interrupted_run:
        from .hub import load_pretrained

        best, _ = load_pretrained(out, device=dev)
        test_loss = evaluate(best, corpus.test, eval_bs, cfg.seq_len) if corpus.test.numel() // eval_bs > cfg.seq_len else None
        if on_epoch_end:
            on_epoch_end(history, best_valid, test_loss)
    return TrainResult(model, vocab, history, best_valid, test_loss, stopped_early, wall, interrupted_run)
