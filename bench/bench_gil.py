"""What a busy server costs the batch's worker: its cores, or the GIL? The class on lm.batching alone.

    python bench/bench_gil.py                 # 32 streams x 100 words, 3 alternating rounds
    python bench/bench_gil.py --duty 0.3      # the neighbour busy 30% of the time
    python bench/bench_gil.py --load main     # the model loaded in the main thread (not as app.py loads it)

In the server the worker thread shares the process with Gradio's threads (the event loop, the request
threads), which run Python. Here 32 streams start at once on a `BatchEngine`, and each round runs them
three ways, one after another: alone; beside a Python *thread* that spins for `--on` ms and sleeps the
rest of each period (it takes a core's share and the GIL: each torch call the worker makes gives up the
GIL, and the worker must wait to get it back); beside a *process* doing the same (a core's share, no
GIL). The thread's extra time over the process's is the GIL's part. Printed: the p95 time to the last
word, and the worker's own timers (ms per batched step and per sampling), each as a ratio to alone.
"""

import argparse
import multiprocessing
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lm  # noqa: E402
from lm.batching import BatchEngine, load_off_thread  # noqa: E402

PROMPT = "The Scarecrow walked into the forest, and"


def neighbour(stop, on: float, off: float) -> None:
    """Pure Python, busy `on` seconds then asleep `off` seconds, until `stop` is set."""
    while not stop.is_set():
        until = time.perf_counter() + on
        while time.perf_counter() < until:
            pass
        time.sleep(off)


def class_of(engine: BatchEngine, clients: int, tokens: int) -> dict:
    """`clients` streams started at once; the p95 seconds to the last word, and the worker's timers."""
    before, done = dict(engine.stats), []

    def student(seed):
        start = time.perf_counter()
        for _ in engine.stream(PROMPT, max_new_tokens=tokens, seed=seed, stop_at_eos=False):
            pass
        done.append(time.perf_counter() - start)

    threads = [threading.Thread(target=student, args=(1000 + i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    steps = engine.stats["steps"] - before["steps"]
    return {"p95_last_s": sorted(done)[max(0, round(0.95 * clients) - 1)],
            "step_ms": 1000 * (engine.stats["step_s"] - before["step_s"]) / steps,
            "sample_ms": 1000 * (engine.stats["sample_s"] - before["sample_s"]) / steps}


def with_neighbour(kind: str, engine, args) -> dict:
    on, off = args.on / 1000, args.on / 1000 * (1 - args.duty) / args.duty
    stop = multiprocessing.Event() if kind == "process" else threading.Event()
    helper = None
    if kind != "alone":
        start = multiprocessing.Process if kind == "process" else threading.Thread
        helper = start(target=neighbour, args=(stop, on, off), daemon=True)
        helper.start()
        time.sleep(0.2)  # the neighbour is running before the class starts
    try:
        return class_of(engine, args.clients, args.tokens)
    finally:
        stop.set()
        if helper is not None:
            helper.join()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "oz-lstm"), help="model folder or Hub repo id")
    parser.add_argument("--clients", type=int, default=32, help="streams started at once (default: 32)")
    parser.add_argument("--tokens", type=int, default=100, help="new words each (default: 100)")
    parser.add_argument("--duty", type=float, default=0.5, help="share of time the neighbour is busy (default: 0.5)")
    parser.add_argument("--on", type=float, default=1.0, help="ms the neighbour spins each time (default: 1)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is kept (default: 3)")
    parser.add_argument("--load", choices=["thread", "main"], default="thread",
                        help="load the model in a short-lived thread, as app.py does (lm.batching.load_off_thread), "
                             "or in the main thread (default: thread)")
    args = parser.parse_args(argv)
    if not 0 < args.duty <= 1 or min(args.clients, args.tokens, args.rounds) < 1 or args.on <= 0:
        parser.error("--duty must be in (0, 1]; --clients, --tokens, --rounds at least 1; --on above 0")
    load = (lambda name: load_off_thread(lm.load_pretrained, name)) if args.load == "thread" else lm.load_pretrained
    engine = BatchEngine(*load(args.model), max_rows=64)
    class_of(engine, args.clients, 5)  # warm up
    kinds = ("alone", "thread", "process")
    runs = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            runs[kind].append(with_neighbour(kind, engine, args))
    median = {k: {m: sorted(r[m] for r in rs)[len(rs) // 2] for m in rs[0]} for k, rs in runs.items()}
    where = "a short-lived thread" if args.load == "thread" else "the main thread"
    print(f"{args.clients} streams x {args.tokens} words; the neighbour busy {100 * args.duty:.0f}% "
          f"({args.on:g} ms on); model loaded in {where}; median of {args.rounds} alternating rounds")
    lone = sorted(class_of(engine, 1, args.tokens)["p95_last_s"] for _ in range(5))[2]
    print(f"  one stream alone: last word {lone:.3f} s")
    for kind in kinds:
        m, a = median[kind], median["alone"]
        print(f"  {kind:8s} p95 last word {m['p95_last_s']:.2f} s ({m['p95_last_s'] / a['p95_last_s']:.2f}x)   "
              f"step {m['step_ms']:.2f} ms ({m['step_ms'] / a['step_ms']:.2f}x)   "
              f"sampling {m['sample_ms']:.2f} ms ({m['sample_ms'] / a['sample_ms']:.2f}x)")
    gil = median["thread"]["p95_last_s"] - median["process"]["p95_last_s"]
    cores = median["process"]["p95_last_s"] - median["alone"]["p95_last_s"]
    print(f"  of the thread's extra {gil + cores:.2f} s: the GIL {gil:.2f} s, the cores {cores:.2f} s")


if __name__ == "__main__":
    main()
