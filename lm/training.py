"""Training: the notebook's loop, made resumable, distributed and Hub-ready.

The defaults are the notebook's recipe (Adam 1e-3, clip 0.25, ReduceLROnPlateau(0.5, patience 0) on
validation loss, 50 epochs, batch 128 x seq_len 50, dropout 0.65). `RECIPES["awd"]` is the improved
recipe (AWD-LSTM's regularisation with AdamW and a cosine schedule).

Nothing is lost: a checkpoint is written atomically at every epoch end and every `checkpoint_every`
steps, Ctrl-C and SIGTERM write one and stop, and a resumed run continues bit for bit. (What a write
killed mid-way leaves, a temp file of ours, is removed when the next run starts.) Under
`torchrun` each rank trains on its share of the batch streams with DistributedDataParallel; only
rank 0 writes files.
"""

import contextlib
import math
import signal
import time
import types
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import checkpoint
from .checkpoint import RunState
from .config import TrainConfig
from .data import Corpus, batchify, iter_batches, load_corpus
from .distributed import Dist, pick_device
from .files import remove_stale_temps
from .hub import FACT_FILES, MODEL_FILES, load_pretrained, save_pretrained
from .model import LSTMLanguageModel
from .perplexity import evaluate

RUN_FILES = (*MODEL_FILES, *FACT_FILES)  # what a run writes into its folder


@dataclass
class TrainResult:
    model: LSTMLanguageModel
    history: list[dict]
    best_valid_loss: float
    test_loss: float | None
    stopped_early: bool  # interrupted or out of time
    interrupted: bool  # by a signal (Ctrl-C, SIGTERM): a checkpoint is saved, --resume continues
    wall_seconds: float


class Interrupted(Exception):
    pass


@contextlib.contextmanager
def stop_signals():
    """Ctrl-C and SIGTERM set `.signal` instead of ending the process: the loop checkpoints and stops."""
    stop = types.SimpleNamespace(signal=None)
    old = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        try:
            old[s] = signal.signal(s, lambda signum, frame: setattr(stop, "signal", signum))
        except ValueError:  # not the main thread (e.g. called from a UI worker): signals stay as they are
            pass
    try:
        yield stop
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def make_optimizer(cfg: TrainConfig, model) -> torch.optim.Optimizer:
    kind = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return kind(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def cosine_factor(step: int, warmup: int, total: int, time_used: float = 0.0) -> float:
    """lr factor: linear warm-up over `warmup` steps, then cosine to 0 at max(step / total, time used)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = max((step - warmup) / max(1, total - warmup), time_used)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def activation_penalty(raw: torch.Tensor, dropped: torch.Tensor, ar: float, tar: float) -> torch.Tensor:
    """AWD-LSTM's AR (large outputs) and TAR (outputs that jump between steps) on the last layer (B, T, H)."""
    penalty = ar * dropped.float().pow(2).mean()
    return penalty + tar * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()


def train_step(net, model: LSTMLanguageModel, optimizer: torch.optim.Optimizer, src: torch.Tensor,
               target: torch.Tensor, hidden, clip: float, autocast=None, ar: float = 0.0, tar: float = 0.0):
    """One truncated-BPTT step, the notebook's: forward, cross-entropy (+ AR/TAR), backward, clip, update.

    `net` is `model` or its DistributedDataParallel wrapper. Returns the cross-entropy (a 0-d tensor,
    still on the device: reading it is a host sync, left to the caller) and the carried hidden state.
    """
    hidden = model.detach_hidden(hidden)
    optimizer.zero_grad(set_to_none=True)
    with autocast or contextlib.nullcontext():
        logits, hidden, (raw, dropped) = net(src, hidden, return_outputs=True)  # logits (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), target.flatten())
        total = loss + activation_penalty(raw, dropped, ar, tar) if ar or tar else loss
    total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.detach(), hidden


def check_sizes(cfg: TrainConfig, corpus: Corpus, world: int) -> None:
    """ValueError unless the splits can fill the batches (before any model is built)."""
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be divisible by the number of processes ({world})")
    eval_bs = cfg.eval_batch_size or cfg.batch_size
    for split, ids, bs in (("train", corpus.train, cfg.batch_size), ("validation", corpus.validation, eval_bs)):
        if ids.numel() // bs < cfg.seq_len + 1:
            raise ValueError(f"the {split} split ({ids.numel()} tokens) cannot fill batch_size={bs} streams "
                             f"of seq_len+1={cfg.seq_len + 1} tokens")


def train(cfg: TrainConfig, out: str | Path, checkpoint_dir: str | Path | None = None, resume: bool = False,
          checkpoint_every: int = 0, device: str | None = None, amp: str | None = None,
          corpus: Corpus | None = None, log=print, progress: bool = True, on_epoch_end=None) -> TrainResult:
    """Train, keeping the best model (by validation loss) in `out` as a Hub-ready folder.

    `on_epoch_end(history, best_valid_loss, test_loss)` runs on rank 0 after each epoch (once the
    best model is written; test_loss None) and once more at the end with the test loss (the CLI
    writes the model card there). `corpus` may be passed in to skip loading.
    """
    cfg.validate()
    if amp not in (None, "bf16"):
        raise ValueError(f"amp must be None or 'bf16', got {amp!r}")
    with Dist() as dist:
        dev = dist.setup(pick_device(device))
        if amp and dev.type != "cuda":
            raise ValueError(f"--amp bf16 needs a CUDA device, got {dev}")
        corpus = corpus or load_corpus(cfg.dataset, min_freq=cfg.min_freq)
        check_sizes(cfg, corpus, dist.world)
        ckpt_path = Path(checkpoint_dir or Path(out) / "checkpoints") / checkpoint.NAME
        trainer = Trainer(cfg, corpus, dist, dev, amp, ckpt_path)
        if resume:
            checkpoint.resume(trainer, log)
        if dist.main:  # what a write killed mid-way (SIGKILL, power cut) left: ours, and never read
            for tmp in remove_stale_temps(out, RUN_FILES) + remove_stale_temps(ckpt_path.parent, [checkpoint.NAME]):
                log(f"removed {tmp}, left by an interrupted write")
        stopped_early, interrupted = trainer.run(Path(out), checkpoint_every, progress, on_epoch_end, log)
    s, test_loss = trainer.s, None
    if math.isfinite(s.best_valid) and dist.main and not interrupted:
        test_loss = trainer.test_loss(Path(out))
        if on_epoch_end:
            on_epoch_end(s.history, s.best_valid, test_loss)
    return TrainResult(trainer.model, s.history, s.best_valid, test_loss, stopped_early, interrupted,
                       time.perf_counter() - trainer.start)


class Trainer:
    """One run's objects: this rank's batches, the model, its optimiser and schedules, the run state."""

    def __init__(self, cfg: TrainConfig, corpus: Corpus, dist: Dist, device: torch.device, amp: str | None,
                 ckpt_path: Path):
        self.cfg, self.corpus, self.dist, self.device, self.ckpt_path = cfg, corpus, dist, device, ckpt_path
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()
        # Each rank trains on a contiguous block of the B streams; together they are the full batch.
        self.share = cfg.batch_size // dist.world
        streams = batchify(corpus.train, cfg.batch_size)[dist.rank * self.share:(dist.rank + 1) * self.share]
        self.chunks = list(iter_batches(streams.to(device), cfg.seq_len))  # [(B / world, T) pairs]
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.model = LSTMLanguageModel(replace(cfg.model, vocab_size=len(corpus.vocab))).to(device)
        if dist.rank:  # each rank its own dropout masks over its own streams (rank 0 keeps the 1-process stream)
            torch.manual_seed(cfg.seed + dist.rank)
        self.optimizer = make_optimizer(cfg, self.model)
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimizer, factor=0.5, patience=0)
        self.net = self.model  # or its DDP wrapper, while run() runs
        self.s = RunState(hidden=self.model.init_hidden(self.share))
        self.saved_cfg = cfg  # the configuration the checkpoint was written with, once resumed
        self.start = time.perf_counter()
        if cfg.schedule == "cosine":
            self.set_cosine_lr(0)

    def set_cosine_lr(self, step: int) -> None:
        # By hand every step: under a wall-clock budget its progress is max(steps done, time used).
        cfg = self.cfg
        time_used = self.s.elapsed / (cfg.max_minutes * 60) if cfg.max_minutes else 0.0
        factor = cosine_factor(step, cfg.warmup_steps, cfg.epochs * len(self.chunks), time_used)
        for group in self.optimizer.param_groups:
            group["lr"] = cfg.lr * factor

    # ---------------------------------------------------------------------------- the loop
    def run(self, out: Path, checkpoint_every: int, progress: bool, on_epoch_end, log) -> tuple[bool, bool]:
        """The epoch loop, to the last epoch, the time budget or a signal: (stopped_early, interrupted)."""
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.start = time.perf_counter() - self.s.elapsed
        try:
            with stop_signals() as stop:
                while self.s.epoch < self.cfg.epochs:
                    epoch_start = time.perf_counter()
                    bar = tqdm(total=len(self.chunks), initial=self.s.step, leave=False, dynamic_ncols=True,
                               desc=f"epoch {self.s.epoch + 1}/{self.cfg.epochs}",
                               disable=not (progress and self.dist.main))
                    out_of_time = self.train_epoch(stop, checkpoint_every, bar)
                    bar.close()
                    self.end_epoch(out, time.perf_counter() - epoch_start, on_epoch_end, log)
                    if out_of_time:
                        if self.dist.main:
                            log(f"time budget of {self.cfg.max_minutes} minutes reached")
                        return True, False
            return False, False
        except Interrupted:
            if self.dist.main:
                log(f"interrupted: checkpoint saved to {self.ckpt_path}; continue with --resume")
            return True, True
        finally:
            self.net = None  # DDP holds the process group: let it go before the group is closed

    def train_epoch(self, stop, checkpoint_every: int, bar) -> bool:
        """Train to the end of the epoch; True if the time budget ran out first. Raises Interrupted."""
        cfg, s = self.cfg, self.s
        self.net.train()
        if s.step == 0:  # as the notebook: every epoch reads the streams from their start with a zero state
            s.hidden = self.model.init_hidden(self.share)
        running = torch.zeros((), device=self.device)  # summed on the device: no host sync per step
        while s.step < len(self.chunks):
            src, target = self.chunks[s.step]  # (B, T) each
            loss, s.hidden = train_step(self.net, self.model, self.optimizer, src, target, s.hidden, cfg.clip,
                                        self.autocast, cfg.ar, cfg.tar)
            if cfg.schedule == "cosine":
                self.set_cosine_lr(s.global_step + 1)
            running += loss
            s.step, s.global_step = s.step + 1, s.global_step + 1
            bar.update(1)
            sync_point = s.step % 20 == 0 or s.step == len(self.chunks)
            checkpoint_due = bool(checkpoint_every) and s.global_step % checkpoint_every == 0
            if sync_point:  # the only host sync: the progress bar
                s.loss_sum += running.item()
                running.zero_()
                bar.set_postfix(loss=f"{s.loss_sum / s.step:.3f}")
            s.elapsed = time.perf_counter() - self.start
            interrupted, out_of_time = self.should_stop(stop, sync_point or checkpoint_due)
            if interrupted or out_of_time or checkpoint_due:
                s.loss_sum += running.item()
                running.zero_()
                checkpoint.write(self)
            if interrupted:
                raise Interrupted()
            if out_of_time:
                return True
        s.loss_sum += running.item()
        return False

    def should_stop(self, stop, agree_now: bool) -> tuple[bool, bool]:
        """(interrupted, out of time), the same on every rank."""
        interrupted = stop.signal is not None
        out_of_time = bool(self.cfg.max_minutes) and self.s.elapsed > self.cfg.max_minutes * 60
        if not self.dist.enabled:
            return interrupted, out_of_time
        # Ranks see a signal or the clock at different steps; one that stopped alone would leave the
        # others waiting in a collective. They agree at the steps where all of them stop anyway
        # (progress sync, scheduled checkpoint), so no extra sync per step.
        if not agree_now:
            return False, False
        interrupted, out_of_time = self.dist.any([interrupted, out_of_time], self.device)
        return interrupted, out_of_time

    def end_epoch(self, out: Path, seconds: float, on_epoch_end, log) -> None:
        """Validation, the learning-rate plateau, the best model, the log line and a checkpoint."""
        cfg, s, dist, dev = self.cfg, self.s, self.dist, self.device
        train_loss = dist.mean(s.loss_sum, dev) / max(s.step, 1)  # over all ranks' streams
        # Every rank scores the whole split; the mean makes the plateau scheduler's input identical
        # on all ranks even where GPU results differ in the last bits.
        eval_bs = cfg.eval_batch_size or cfg.batch_size
        valid_loss = dist.mean(evaluate(self.model, self.corpus.validation, eval_bs, cfg.seq_len), dev)
        lr = self.optimizer.param_groups[0]["lr"]
        if cfg.schedule == "plateau":
            self.plateau.step(valid_loss)
        improved = valid_loss < s.best_valid
        s.history.append({"epoch": s.epoch + 1, "train_loss": train_loss, "valid_loss": valid_loss, "lr": lr,
                          "seconds": seconds, "steps": s.step, "partial": s.step < len(self.chunks)})
        if improved:
            s.best_valid = valid_loss
            if dist.main:
                save_pretrained(self.model, self.corpus.vocab, out)
        if dist.main:
            log(f"epoch {s.epoch + 1:3d}/{cfg.epochs} | train ppl {math.exp(train_loss):9.2f} | "
                f"valid ppl {math.exp(valid_loss):9.2f}{' *' if improved else '  '} | lr {lr:.2e} | {seconds:6.1f}s")
        s.epoch, s.step, s.loss_sum = s.epoch + 1, 0, 0.0
        s.elapsed = time.perf_counter() - self.start
        checkpoint.write(self)
        if dist.main and on_epoch_end:
            on_epoch_end(s.history, s.best_valid, None)

    def test_loss(self, out: Path) -> float | None:
        """Test loss of the best weights (as saved in `out`), or None if the test split is too short."""
        cfg = self.cfg
        eval_bs = cfg.eval_batch_size or cfg.batch_size
        if self.corpus.test.numel() // eval_bs <= cfg.seq_len:
            return None
        best, _ = load_pretrained(out, device=self.device)
        return evaluate(best, self.corpus.test, eval_bs, cfg.seq_len)
