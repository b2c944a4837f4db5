"""Training speed and memory: our loop (lm.training.train_step) vs the reference notebook's train().

    python bench/bench_train.py                        # notebook size: 1024/1024, 2 layers, batch 128 x 50
    python bench/bench_train.py --emb-dim 64 --hid-dim 64 --batch-size 16 --vocab 500   # a quick look
    python bench/bench_train.py --dataset ../shared/corpora/oz --min-freq 3

Speed: both loops train on the same batches for the same number of steps, in alternating rounds (the
order swapped every round) so that drift in the machine's load hits both alike; the ratio of our
tokens/s to the notebook's is the figure that matters (issue target: >= 0.95). Ours is the step
`train()` runs (lm.training.train_step: forward, cross-entropy, backward, clip, Adam, hidden state
carried; the loss stays on the device, read every 20 steps for the progress bar). The notebook's is
re-implemented here as it was: one `nn.LSTM(num_layers=2, dropout=...)`, `loss.item()` every step.

Memory: the peak resident set (max RSS from getrusage) of a few training steps, each measured in a
fresh Python process so that no other allocation inflates it.
"""

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

IMPLS = ("ours", "notebook")


# ---------------------------------------------------------------------- the notebook, as it was
class NotebookLSTM(nn.Module):
    """The reference notebook's model: embedding -> dropout -> nn.LSTM(num_layers) -> dropout -> linear."""

    def __init__(self, vocab_size, emb_dim, hid_dim, num_layers, dropout_rate):
        super().__init__()
        self.num_layers, self.hid_dim, self.emb_dim = num_layers, hid_dim, emb_dim
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hid_dim, num_layers=num_layers, dropout=dropout_rate, batch_first=True)
        self.dropout = nn.Dropout(dropout_rate)
        self.fc = nn.Linear(hid_dim, vocab_size)
        # The notebook's init (its LSTM loop had no effect, so it is left out).
        self.embedding.weight.data.uniform_(-0.1, 0.1)
        bound = 1 / math.sqrt(hid_dim)
        self.fc.weight.data.uniform_(-bound, bound)
        self.fc.bias.data.zero_()

    def init_hidden(self, batch_size, device):
        hidden = torch.zeros(self.num_layers, batch_size, self.hid_dim).to(device)
        cell = torch.zeros(self.num_layers, batch_size, self.hid_dim).to(device)
        return hidden, cell

    def detach_hidden(self, cells):
        hidden, cell = cells
        return hidden.detach(), cell.detach()

    def forward(self, src, hidden):
        embedding = self.dropout(self.embedding(src))
        output, hidden = self.lstm(embedding, hidden)
        output = self.dropout(output)
        return self.fc(output), hidden


def notebook_get_batch(data, seq_len, idx):
    return data[:, idx:idx + seq_len], data[:, idx + 1:idx + seq_len + 1]


class NotebookLoop:
    """The body of the notebook's train(), one step at a time."""

    def __init__(self, args, vocab_size, data, device):
        torch.manual_seed(args.seed)
        self.model = NotebookLSTM(vocab_size, args.emb_dim, args.hid_dim, args.num_layers, args.dropout).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.criterion = nn.CrossEntropyLoss()
        self.data, self.device, self.seq_len, self.clip = data, device, args.seq_len, args.clip
        self.idx, self.epoch_loss = 0, 0.0
        self.model.train()
        self.hidden = self.model.init_hidden(data.size(0), device)

    def step(self):
        model, seq_len = self.model, self.seq_len
        if self.idx + seq_len >= self.data.size(1):  # next epoch, as the notebook's train() would start
            self.idx, self.hidden = 0, model.init_hidden(self.data.size(0), self.device)
        self.optimizer.zero_grad()
        self.hidden = model.detach_hidden(self.hidden)
        src, target = notebook_get_batch(self.data, seq_len, self.idx)
        src, target = src.to(self.device), target.to(self.device)
        batch_size = src.shape[0]
        prediction, self.hidden = model(src, self.hidden)
        prediction = prediction.reshape(batch_size * seq_len, -1)
        target = target.reshape(-1)
        loss = self.criterion(prediction, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip)
        self.optimizer.step()
        self.epoch_loss += loss.item() * seq_len  # a host sync every step
        self.idx += seq_len

    def finish(self):
        pass


# --------------------------------------------------------------------------------------- ours
class OurLoop:
    """train()'s inner loop: lm.training.train_step over iter_batches, loss summed on the device."""

    def __init__(self, args, vocab_size, data, device):
        from lm.config import TrainConfig
        from lm.data import iter_batches
        from lm.model import LMConfig, LSTMLanguageModel
        from lm.training import make_optimizer, train_step

        model_config = LMConfig(vocab_size, args.emb_dim, args.hid_dim, args.num_layers, args.dropout)
        cfg = TrainConfig(batch_size=data.size(0), seq_len=args.seq_len, model=model_config, lr=args.lr,
                          clip=args.clip, seed=args.seed)
        torch.manual_seed(cfg.seed)
        self.model = LSTMLanguageModel(cfg.model).to(device)
        self.optimizer = make_optimizer(cfg, self.model)
        self.chunks = list(iter_batches(data.to(device), cfg.seq_len))
        self.train_step, self.clip = train_step, cfg.clip
        self.step_no, self.loss_sum = 0, 0.0
        self.running = torch.zeros((), device=device)
        self.model.train()
        self.hidden = self.model.init_hidden(data.size(0))

    def step(self):
        i = self.step_no % len(self.chunks)
        if i == 0:
            self.hidden = self.model.init_hidden(self.chunks[0][0].size(0))
        src, target = self.chunks[i]
        loss, self.hidden = self.train_step(self.model, self.model, self.optimizer, src, target, self.hidden, self.clip)
        self.running += loss
        self.step_no += 1
        if self.step_no % 20 == 0:  # the progress bar's host sync
            self.finish()

    def finish(self):
        self.loss_sum += self.running.item()
        self.running.zero_()


LOOPS = {"ours": OurLoop, "notebook": NotebookLoop}


# --------------------------------------------------------------------------------------- data
def make_data(args) -> tuple[torch.Tensor, int]:
    """(B, N) token streams and the vocab size: a corpus's train split, or random tokens."""
    from lm.data import batchify

    need = args.batch_size * ((args.warmup + args.steps * args.rounds) * args.seq_len + 1)
    if args.dataset:
        from lm.data import load_corpus

        corpus = load_corpus(args.dataset, min_freq=args.min_freq)
        return batchify(corpus.train, args.batch_size), len(corpus.vocab)
    g = torch.Generator().manual_seed(args.seed)
    ids = torch.randint(0, args.vocab, (max(need, 2 * args.batch_size),), generator=g)
    return batchify(ids, args.batch_size), args.vocab


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -------------------------------------------------------------------------------------- speed
def bench_speed(args, device) -> dict:
    data, vocab_size = make_data(args)
    loops = {name: LOOPS[name](args, vocab_size, data, device) for name in IMPLS}
    tokens_per_step = data.size(0) * args.seq_len
    for name, loop in loops.items():  # warm-up: allocator, kernels, Adam state
        t = time.perf_counter()
        for _ in range(args.warmup):
            loop.step()
        loop.finish()
        sync(device)
        print(f"warm-up {name}: {args.warmup} steps in {time.perf_counter() - t:.1f}s", flush=True)
    rates = {name: [] for name in IMPLS}
    for r in range(args.rounds):
        order = IMPLS if r % 2 == 0 else IMPLS[::-1]
        for name in order:
            loop = loops[name]
            sync(device)
            t = time.perf_counter()
            for _ in range(args.steps):
                loop.step()
            loop.finish()  # both loops end on a host sync, so both timings cover all their work
            sync(device)
            seconds = time.perf_counter() - t
            rates[name].append(tokens_per_step * args.steps / seconds)
            print(f"round {r + 1}/{args.rounds} {name:8s}: {rates[name][-1]:10,.0f} tokens/s "
                  f"({seconds / args.steps:.3f} s/step)", flush=True)
    # Total tokens over total time per loop (equal step counts): the mean rate, weighted properly.
    total = {name: len(v) / sum(1 / x for x in v) for name, v in rates.items()}
    per_round = [o / n for o, n in zip(rates["ours"], rates["notebook"])]
    return {"tokens_per_step": tokens_per_step, "vocab_size": vocab_size, "rates": rates,
            "ours_tokens_per_s": total["ours"], "notebook_tokens_per_s": total["notebook"],
            "ratio": total["ours"] / total["notebook"], "ratio_per_round": per_round,
            "ratio_median": statistics.median(per_round)}


# ------------------------------------------------------------------------------------- memory
def max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024  # KiB on Linux, bytes on macOS


def proc_status_mb(field: str) -> float | None:
    """VmRSS (now) or VmHWM (peak) of this process from /proc (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def memory_child(args, device) -> None:
    """In a fresh process: RSS after imports and data, then the peak over a few training steps."""
    data, vocab_size = make_data(args)
    base = proc_status_mb("VmRSS") or max_rss_mb()
    loop = LOOPS[args.child](args, vocab_size, data, device)
    for _ in range(args.memory_steps):
        loop.step()
    loop.finish()
    sync(device)
    print(json.dumps({"baseline_mb": base, "peak_mb": max_rss_mb(), "vm_hwm_mb": proc_status_mb("VmHWM")}))


def bench_memory(args) -> dict:
    # Run before the speed bench: Linux carries a process's ru_maxrss over fork + exec, so a child of
    # a parent that had already trained would report the parent's peak (seen: 2,983 MB for both).
    results = {}
    for name in IMPLS:
        argv = [sys.executable, __file__, "--child", name]
        for key, value in vars(args).items():
            if key in ("child", "no_memory", "json") or value is None or value is False:
                continue
            argv += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"memory measurement of {name} failed:\n{proc.stderr}")
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        hwm = results[name]["vm_hwm_mb"]
        print(f"peak RSS {name:8s}: {results[name]['peak_mb']:,.0f} MB (getrusage)"
              + (f", {hwm:,.0f} MB (VmHWM)" if hwm else "")
              + f"; before the model: {results[name]['baseline_mb']:,.0f} MB", flush=True)
    return results


# ---------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--emb-dim", type=int, default=1024, help="embedding size (notebook: 1024)")
    p.add_argument("--hid-dim", type=int, default=1024, help="LSTM hidden size (notebook: 1024)")
    p.add_argument("--num-layers", type=int, default=2, help="LSTM layers (notebook: 2)")
    p.add_argument("--dropout", type=float, default=0.65, help="dropout rate (notebook: 0.65)")
    p.add_argument("--batch-size", type=int, default=128, help="parallel streams per step (notebook: 128)")
    p.add_argument("--seq-len", type=int, default=50, help="tokens per step and stream (notebook: 50)")
    p.add_argument("--vocab", type=int, default=9803,
                   help="vocabulary size of the random tokens (notebook's vocab: 9803); ignored with --dataset")
    p.add_argument("--dataset", default=None, help="train on this corpus's train split (Hub id or folder) "
                                                   "instead of random tokens")
    p.add_argument("--min-freq", type=int, default=3, help="vocabulary threshold with --dataset (notebook: 3)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (notebook: 1e-3)")
    p.add_argument("--clip", type=float, default=0.25, help="gradient-norm clip (notebook: 0.25)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the random tokens")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps per loop before timing")
    p.add_argument("--steps", type=int, default=10, help="timed steps per loop and round")
    p.add_argument("--rounds", type=int, default=2,
                   help="alternating rounds (ours, notebook, then notebook, ours, ...)")
    p.add_argument("--memory-steps", type=int, default=3, help="training steps of each peak-memory measurement")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurements")
    p.add_argument("--device", default="cpu", help="cpu or cuda (memory is host RSS either way)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's, which follows OMP_NUM_THREADS)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--child", choices=IMPLS, default=None,
                   help="internal: measure one loop's peak memory in this (fresh) process and print JSON")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("emb_dim", "hid_dim", "num_layers", "batch_size", "seq_len", "vocab", "steps", "rounds",
                 "memory_steps"):
        if getattr(args, name) < 1:
            build_parser().error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        build_parser().error("--warmup must be >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.child:
        memory_child(args, device)
        return 0
    print(f"config: emb {args.emb_dim}, hid {args.hid_dim}, {args.num_layers} layers, dropout {args.dropout}, "
          f"batch {args.batch_size} x seq_len {args.seq_len}, "
          f"{'dataset ' + args.dataset if args.dataset else f'vocab {args.vocab} (random tokens)'}; "
          f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}", flush=True)
    memory = None if args.no_memory else bench_memory(args)
    speed = bench_speed(args, device)
    print()
    print(f"tokens/s   ours {speed['ours_tokens_per_s']:,.0f} | notebook {speed['notebook_tokens_per_s']:,.0f}")
    print(f"ratio      ours / notebook = {speed['ratio']:.3f} overall, {speed['ratio_median']:.3f} median of rounds "
          f"({', '.join(f'{r:.3f}' for r in speed['ratio_per_round'])}); target >= 0.95")
    if memory:
        print(f"peak RSS   ours {memory['ours']['peak_mb']:,.0f} MB | notebook {memory['notebook']['peak_mb']:,.0f} MB "
              f"| ratio {memory['ours']['peak_mb'] / memory['notebook']['peak_mb']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "speed": speed, "memory": memory}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
