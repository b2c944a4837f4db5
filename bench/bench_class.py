"""A class presses Write at once: N students streaming over the real server, and where the time goes.

    python bench/bench_class.py                                 # 32 clients x 100 words, temperature 1
    python bench/bench_class.py --profile --json bench/out/class.json
    python bench/bench_class.py --app-env CONCURRENCY_LIMIT=4   # try an app setting

Starts `python app.py --model X --port P` (or `--app`, another copy of it) and measures over HTTP, so
every figure includes the server, its queue and the network stack. The students are open pages
(bench/page_client.py: Gradio's queue protocol as the browser speaks it, the whole class in one asyncio
loop; each page opened first, as a student's is before the teacher says "Write"), or with `--client
gradio_client` a gradio_client.Client each, whose threads cost this 2-core machine ~2.7 CPU-seconds
in a 4-second burst that the server then did not get; `--cold` leaves the pages unopened, so each
Write also makes its Gradio session (~18 ms of the event loop each, for this page's 177 components).

- one client alone: time to the first new word and to the last (median of `--lone-repeats`);
- the class: N clients, created first, submit within `--spread` seconds (client i at i/N of it),
  each streaming `--tokens` new words; p50 and p95 time to the first word and to the last (from
  each client's own submit), errors, and the whole class's words per second against one client's;
- CPU seconds of the server and of this process (the clients share the machine) during the burst;
- the same class on `lm.batching` alone in this process (no server), to tell the model's and the
  batch's cost from the server's (skip with `--no-engine`);
- with `--profile`, py-spy samples the server during the burst and the samples are sorted into
  model steps, sampling, prompt reading, text pieces, Gradio (queue, postprocess, diffs), the HTTP
  and event-loop stack, and the rest (py-spy: `pip install py-spy`, or pass `--py-spy PATH`).

Targets from the issue (2-core CPU, bundled model, 32 clients x 100 words at temperature 1):
0 errors, p95 first word <= 0.5 s, p95 last word <= 3x a lone client's last word.
"""

import argparse
import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # lm, for the class on the engine alone
from bench_app import PROMPT, free_port, percentile, start_server, stop_server, write_json

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"p95_first_s": 0.5, "p95_last_over_lone": 3.0}
# --own-prompts: each student writes from the board's prompt and one word of their own, so that no two
# Writes share a prompt (the engine reads a prompt once, lm.prompt_cache): students 0-31 take words 0-31,
# the lone client's runs 32-37, its warm-up 39.
OWN_WORDS = ("then when she he they it so at the in on for as with if all there yet now soon again still also "
             "just only once while before after because though until since or nor we you her his them this that "
             "what").split()
# Profile buckets: the first whose test holds for a frame of a sample's stack wins (func, file). py-spy names
# a method by its qualified name ("LSTMLanguageModel.step"): the tests read the name after the last dot.
# py-spy --nonblocking also samples threads that wait (the event loop in epoll, a worker thread on a
# condition): those are set apart by their innermost frame, as idle.
IDLE = (("select", "selectors.py"), ("wait", "threading.py"), ("_wait_for_tstate_lock", "threading.py"))


def short(func: str) -> str:
    """A frame's function name without its class: "LSTMLanguageModel.step" -> "step"."""
    return func.rsplit(".", 1)[-1]


BUCKETS = [
    ("model steps", lambda f, p: p.endswith(("lm/model.py", "lm/fast_step.py"))),
    ("sampling", lambda f, p: p.endswith(("lm/sampling.py", "lm/batch_draw.py")) or short(f) == "token_ranks"),
    ("prompt reading", lambda f, p: short(f) in ("read_prompt", "read_prompts", "feed")),
    ("text pieces and story", lambda f, p: p.endswith(("lm/text.py", "page_format.py")) or short(f) == "piece"),
    ("batch engine, other", lambda f, p: p.endswith(("lm/batching.py", "lm/batch_row.py"))),
    ("gradio", lambda f, p: any(p.startswith(g) or "/" + g in p for g in ("gradio/", "gradio_client/"))),
    ("http and event loop", lambda f, p: any(m in p for m in ("uvicorn", "starlette", "anyio", "asyncio", "h11",
                                                                    "httptools", "fastapi", "selectors"))),
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def submit(client, tokens: int, seed: int, temperature: float):
    return client.submit(PROMPT, temperature, 0, 1.0, tokens, str(seed), api_name="/generate")


def new_tokens(words_html: str) -> int:
    """New tokens in /generate's coloured story: a span with a tip per word, a blank line per paragraph break."""
    return words_html.count('data-tip="') + words_html.count("\n\n")


def watch(jobs: list, starts: list[float], tokens: int, timeout: float) -> list[dict]:
    """Poll the jobs (one thread, every 5 ms) for their first output with new words and their end."""
    out = [{"first_s": None, "last_s": None, "updates": 0, "error": None} for _ in jobs]
    pending = set(range(len(jobs)))
    deadline = time.perf_counter() + timeout
    while pending and time.perf_counter() < deadline:
        now = time.perf_counter()
        for i in list(pending):
            job = jobs[i]
            if job is None:
                continue
            outputs = job.outputs()
            if out[i]["first_s"] is None and any(new_tokens(o[1]) for o in outputs if isinstance(o, tuple)):
                out[i]["first_s"] = now - starts[i]
            if job.done():
                out[i]["last_s"] = now - starts[i]
                out[i]["updates"] = len(outputs)
                try:
                    story, words, _ = job.result(timeout=1)
                    if new_tokens(words) != tokens:
                        out[i]["error"] = f"got {new_tokens(words)} new words, wanted {tokens}"
                except Exception as e:  # counted, not raised: the point is to see how many
                    out[i]["error"] = f"{type(e).__name__}: {e}"
                pending.discard(i)
        time.sleep(0.005)
    for i in pending:
        out[i]["error"] = f"no result within {timeout:.0f} s"
    return out


def lone(url: str, tokens: int, temperature: float, repeats: int) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False)
    submit(client, 5, 0, temperature).result(timeout=60)  # warm up
    runs = []
    for r in range(repeats):
        start = time.perf_counter()
        runs.append(watch([submit(client, tokens, 500 + r, temperature)], [start], tokens, 120)[0])
    firsts, lasts = sorted(r["first_s"] or 0 for r in runs), sorted(r["last_s"] or 0 for r in runs)
    return {"first_s": firsts[len(runs) // 2], "last_s": lasts[len(runs) // 2], "updates": runs[0]["updates"],
            "errors": sum(r["error"] is not None for r in runs)}


def class_burst(url: str, clients: int, tokens: int, temperature: float, spread: float, timeout: float,
                server_pid: int, between=None) -> dict:
    """N clients, created first; client i submits at i/N of `spread` seconds; each streams `tokens` words.
    Each Client's session is made by its Write (the clients open no page first)."""
    from gradio_client import Client

    users = [Client(url, verbose=False) for _ in range(clients)]
    if between is not None:
        between()
    jobs, starts = [None] * clients, [0.0] * clients
    t0 = time.perf_counter() + 0.2

    def press_write(i):
        time.sleep(max(0.0, t0 + spread * i / clients - time.perf_counter()))
        starts[i] = time.perf_counter()
        jobs[i] = submit(users[i], tokens, 1000 + i, temperature)

    cpu0, self0 = cpu_seconds(server_pid), time.process_time()
    threads = [threading.Thread(target=press_write, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    runs = watch(jobs, starts, tokens, timeout)
    for th in threads:
        th.join()
    return summarise(runs, starts, clients, tokens, (cpu_seconds(server_pid) - cpu0, time.process_time() - self0))


def summarise(runs: list[dict], starts: list[float], clients: int, tokens: int, cpu: tuple[float, float]) -> dict:
    """The class's figures from each student's run: percentiles, errors, words per second, CPU seconds."""
    done = [r for r in runs if r["error"] is None]
    wall = max(s + r["last_s"] for s, r in zip(starts, runs) if r["last_s"] is not None) - min(starts)
    firsts, lasts = [r["first_s"] for r in done], [r["last_s"] for r in done]
    stat = lambda values, q: percentile(values, q) if values else None
    return {"clients": clients, "tokens": tokens, "spread_s": max(starts) - min(starts), "errors": clients - len(done),
            "first_errors": [r["error"] for r in runs if r["error"]][:3],
            "p50_first_s": stat(firsts, 0.5), "p95_first_s": stat(firsts, 0.95),
            "p50_last_s": stat(lasts, 0.5), "p95_last_s": stat(lasts, 0.95), "max_last_s": max(lasts, default=None),
            "updates_per_client": stat([r["updates"] for r in done], 0.5), "wall_s": wall,
            "words_per_s": len(done) * tokens / wall, "server_cpu_s": cpu[0], "clients_cpu_s": cpu[1]}


def prompt_of(who: int, own: bool) -> str:
    """The board's prompt, or (`own`, --own-prompts) student `who`'s own: the board's and OWN_WORDS[who]."""
    return f"{PROMPT} {OWN_WORDS[who]}" if own else PROMPT


def write_inputs(tokens: int, seed: int, temperature: float, prompt: str = PROMPT) -> list:
    """/generate's inputs as the page sends them: prompt, temperature, top-k, top-p, new words, seed, stop."""
    return [prompt, temperature, 0, 1.0, tokens, str(seed), False]


async def _write(page, fn: int, tokens: int, seed: int, temperature: float, at: float | None = None,
                 prompt: str = PROMPT) -> dict:
    """One student presses Write (at perf_counter `at`, if given): first and last word from the press."""
    if at is not None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
    run = {"first_s": None, "last_s": None, "updates": 0, "error": None, "start": time.perf_counter()}

    def on_update(outputs, now):
        run["updates"] += 1
        if run["first_s"] is None and new_tokens(outputs[1]):
            run["first_s"] = now - run["start"]

    try:
        outputs = await page.run(fn, write_inputs(tokens, seed, temperature, prompt), on_update)
        run["last_s"] = time.perf_counter() - run["start"]
        if new_tokens(outputs[1]) != tokens:
            run["error"] = f"got {new_tokens(outputs[1])} new words, wanted {tokens}"
    except Exception as e:  # counted, not raised: the point is to see how many
        run["error"] = f"{type(e).__name__}: {e}"
    return run


async def _pages_lone_and_class(url: str, args, server_pid: int, between=None) -> tuple[dict, dict]:
    from page_client import event_of, open_pages

    http, pages = await open_pages(url, args.clients + 1, open_them=not args.cold)
    try:
        fn, _ = event_of(pages[0].config, api_name="generate")
        solo = pages[-1]
        own = args.own_prompts
        await _write(solo, fn, 5, 0, args.temperature, prompt=prompt_of(39, own))  # warm up
        runs = [await _write(solo, fn, args.tokens, 500 + r, args.temperature, prompt=prompt_of(32 + r, own))
                for r in range(args.lone_repeats)]
        firsts, lasts = sorted(r["first_s"] or 0 for r in runs), sorted(r["last_s"] or 0 for r in runs)
        lone_result = {"first_s": firsts[len(runs) // 2], "last_s": lasts[len(runs) // 2],
                       "updates": runs[0]["updates"], "errors": sum(r["error"] is not None for r in runs)}
        if between is not None:
            between()  # e.g. start the profiler: the burst alone is sampled
        t0 = time.perf_counter() + 0.2
        cpu0, self0 = cpu_seconds(server_pid), time.process_time()
        runs = await asyncio.gather(*(_write(page, fn, args.tokens, 1000 + i, args.temperature,
                                             t0 + args.spread * i / args.clients, prompt_of(i, own))
                                      for i, page in enumerate(pages[:args.clients])))
        cpu = (cpu_seconds(server_pid) - cpu0, time.process_time() - self0)
    finally:
        await http.aclose()
    return lone_result, summarise(runs, [r["start"] for r in runs], args.clients, args.tokens, cpu)


def engine_alone(model: str, clients: int, tokens: int, temperature: float, spread: float, own: bool = False) -> dict:
    """The same class on `lm.batching.BatchEngine` in this process, with no server: what the model and the
    batch cost, to tell them apart from the server's own overhead. Threads stand for the students."""
    import lm
    from lm.batching import BatchEngine, load_off_thread

    engine = BatchEngine(*load_off_thread(lm.load_pretrained, model), max_rows=64)  # as app.py loads it

    def write(seed, n, who):  # (seconds to the first list, to the last), with the page's interval
        start, first = time.perf_counter(), None
        for _ in engine.chunks(prompt_of(who, own), max_new_tokens=n, temperature=temperature,
                               seed=seed, stop_at_eos=False, interval=0.1):
            first = first or time.perf_counter() - start
        return first, time.perf_counter() - start

    write(0, 5, 39)  # warm up
    solo = sorted(write(500 + r, tokens, 32 + r)[1] for r in range(3))[1]
    runs, t0 = [None] * clients, time.perf_counter() + 0.1

    def student(i):
        time.sleep(max(0.0, t0 + spread * i / clients - time.perf_counter()))
        runs[i] = write(1000 + i, tokens, i)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {"lone_last_s": solo, "p95_first_s": percentile([r[0] for r in runs], 0.95),
            "p95_last_s": percentile([r[1] for r in runs], 0.95)}


def start_profiler(py_spy: str, pid: int, path: Path):
    proc = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                             "--nonblocking", "--output", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # attached
    if proc.poll() is not None:
        raise SystemExit(f"py-spy could not record the server: {proc.stderr.read().strip()}")
    return proc


def frames(stack: str) -> list[tuple[str, str]]:
    """py-spy's raw frames "func (file:line)", outermost first, as (func, file)."""
    out = []
    for frame in stack.split(";"):
        func, _, where = frame.partition(" (")
        out.append((func.strip(), where.rsplit(":", 1)[0]))
    return out


def read_profile(path: Path) -> dict:
    """Share of the server's samples in each bucket, and the innermost Gradio functions."""
    buckets, inner_gradio, total = collections.Counter(), collections.Counter(), 0
    gradio_test = dict(BUCKETS)["gradio"]
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        fs, n = frames(stack), int(count)
        if any(fs[-1][0].endswith(f) and fs[-1][1].endswith(p) for f, p in IDLE):
            buckets["idle"] += n
            continue
        total += n
        name = next((b for b, test in BUCKETS if any(test(f, p) for f, p in fs)), "other")
        buckets[name] += n
        if name == "gradio":
            f, p = next((f, p) for f, p in reversed(fs) if gradio_test(f, p))
            inner_gradio[f"{f} ({p.split('gradio/', 1)[-1]})"] += n
    names = [b for b, _ in BUCKETS] + ["other"]
    shares = {b: buckets[b] / total for b in names} if total else {}
    return {"samples": total, "idle_samples": buckets["idle"], "shares": shares,
            "top_gradio": [(k, v / total) for k, v in inner_gradio.most_common(8)]}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.environ.get("LM_MODEL") or str(ROOT / "assets" / "oz-lstm"),
                        help="model folder or Hub repo id to serve (default: $LM_MODEL, else assets/oz-lstm)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app to start (default: app.py here)")
    parser.add_argument("--app-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for the app, e.g. CONCURRENCY_LIMIT=4 (repeatable)")
    parser.add_argument("--client", choices=["page", "gradio_client"], default="page",
                        help="page: each student an open page speaking Gradio's queue protocol, the class in one "
                             "asyncio loop (bench/page_client.py); gradio_client: a gradio_client.Client each, "
                             "with its threads (default: page)")
    parser.add_argument("--cold", action="store_true",
                        help="page client: do not open the pages first, so each Write also makes its session")
    parser.add_argument("--own-prompts", action="store_true",
                        help="page client: each student adds a word of their own to the prompt, so that no two "
                             "Writes share one (the engine reads each distinct prompt once)")
    parser.add_argument("--clients", type=int, default=32, help="students pressing Write (default: 32)")
    parser.add_argument("--tokens", type=int, default=100, help="new words each (default: 100)")
    parser.add_argument("--temperature", type=float, default=1.0, help="(default: 1)")
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the class submits (default: 1)")
    parser.add_argument("--lone-repeats", type=int, default=5, help="lone-client runs; the median is kept (default: 5)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the class (default: 300)")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="seconds for the app to answer")
    parser.add_argument("--no-engine", action="store_true", help="skip the class on lm.batching alone (no server)")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy during the class burst")
    parser.add_argument("--profile-out", type=Path, help="also keep py-spy's raw samples in this file")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy executable (default: on PATH)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.own_prompts and (args.client != "page" or args.clients > 32 or args.lone_repeats > 6):
        parser.error("--own-prompts is for the page client, with at most 32 clients and 6 lone repeats")
    if min(args.clients, args.tokens, args.lone_repeats) < 1 or args.spread < 0:
        parser.error("--clients, --tokens and --lone-repeats must be at least 1, --spread at least 0")
    if any("=" not in kv for kv in args.app_env):
        parser.error("--app-env takes KEY=VALUE")
    if args.profile and not args.py_spy:
        parser.error("--profile needs py-spy (pip install py-spy, or pass --py-spy PATH)")
    return args


def report(results: dict) -> None:
    solo, crowd = results["lone"], results["class"]
    ratio = crowd["p95_last_s"] / solo["last_s"] if crowd["p95_last_s"] else float("inf")
    pages = "" if results["client"] != "page" else " (pages not opened first)" if results["cold"] else " (pages open)"
    pages += ", each student's own prompt" if results.get("own_prompts") else ""
    print(f"app {results['app']} {' '.join(results['app_env'])} | clients: {results['client']}{pages} | "
          f"{os.cpu_count()} CPUs | "
          f"load average before {results['load_average'][0]:.2f}")
    print(f"lone client: first word {solo['first_s']:.3f} s, last word {solo['last_s']:.3f} s "
          f"({solo['updates']} updates, {results['tokens'] / solo['last_s']:.0f} words/s)")
    print(f"class: {crowd['clients']} clients over {crowd['spread_s']:.2f} s, {crowd['errors']} errors, "
          f"{crowd['updates_per_client']} updates each, wall {crowd['wall_s']:.2f} s, "
          f"{crowd['words_per_s']:.0f} words/s ({crowd['words_per_s'] * solo['last_s'] / results['tokens']:.1f}x "
          "one client alone)")
    if crowd["p95_first_s"] is not None:
        first_ok = crowd["p95_first_s"] <= TARGETS["p95_first_s"]
        last_ok = ratio <= TARGETS["p95_last_over_lone"]
        print(f"  first word p50 {crowd['p50_first_s']:.3f} s  p95 {crowd['p95_first_s']:.3f} s   "
              f"target <= {TARGETS['p95_first_s']} s  {'ok' if first_ok else 'MISSED'}")
        print(f"  last word  p50 {crowd['p50_last_s']:.3f} s  p95 {crowd['p95_last_s']:.3f} s = {ratio:.1f}x lone   "
              f"target <= {TARGETS['p95_last_over_lone']:g}x  {'ok' if last_ok else 'MISSED'}")
    print(f"  CPU during the burst: server {crowd['server_cpu_s']:.2f} s, clients (this process) "
          f"{crowd['clients_cpu_s']:.2f} s, of {2 * crowd['wall_s']:.2f} core-seconds on 2 cores")
    for e in crowd["first_errors"]:
        print("  error:", e)
    if "engine_alone" in results:
        e = results["engine_alone"]
        print(f"the same class on lm.batching alone (no server, this process): p95 first word "
              f"{e['p95_first_s']:.3f} s, "
              f"p95 last {e['p95_last_s']:.3f} s = {e['p95_last_s'] / e['lone_last_s']:.1f}x its lone "
              f"{e['lone_last_s']:.3f} s")
    if "profile" in results:
        prof = results["profile"]
        print(f"where the server's time goes ({prof['samples']} py-spy samples of busy threads; "
              f"{prof['idle_samples']} more of threads waiting):")
        for name, share in prof["shares"].items():
            print(f"  {name:24s} {100 * share:5.1f}%")
        print("  innermost Gradio functions: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in prof["top_gradio"]))


def main(argv=None) -> dict:
    args = parse_args(argv)
    env = dict(kv.split("=", 1) for kv in args.app_env)
    results = {"app": str(args.app), "app_env": args.app_env, "client": args.client, "cold": args.cold,
               "own_prompts": args.own_prompts, "model": args.model, "tokens": args.tokens,
               "temperature": args.temperature, "cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    port = free_port()
    proc, url, _ = start_server(args.model, port, args.start_timeout, app=args.app, env=env)
    profiler, profile = None, Path(tempfile.mkdtemp()) / "profile.txt"

    def start_profiling():  # after the lone runs and the class's pages are open: the burst alone is sampled
        nonlocal profiler
        if args.profile:
            profiler = start_profiler(args.py_spy, proc.pid, profile)

    try:
        if args.client == "page":
            results["lone"], results["class"] = asyncio.run(_pages_lone_and_class(url, args, proc.pid, start_profiling))
        else:
            results["lone"] = lone(url, args.tokens, args.temperature, args.lone_repeats)
            results["class"] = class_burst(url, args.clients, args.tokens, args.temperature, args.spread,
                                           args.timeout, proc.pid, start_profiling)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
            profiler.wait(timeout=60)
            results["profile"] = read_profile(profile)
            if args.profile_out:
                shutil.copyfile(profile, args.profile_out)
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
        stop_server(proc)
        shutil.rmtree(profile.parent, ignore_errors=True)
    if not args.no_engine:  # after the server has gone: nothing else on the cores
        results["engine_alone"] = engine_alone(args.model, args.clients, args.tokens, args.temperature, args.spread,
                                               args.own_prompts)
    report(results)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
