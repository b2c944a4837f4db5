"""How fast the playground feels: cold start, first streamed token, 100 tokens, 16 users at once.

    python bench/bench_app.py                          # the bundled model, assets/oz-lstm
    python bench/bench_app.py --model runs/mine --json bench/out/app.json

Starts `python app.py --model X --port P` as a user would and measures over HTTP with
gradio_client, so every figure includes the server, the queue and the network stack:

- cold start: from launching the process to the first successful API call;
- first token: from submitting a playground request to the first streamed output (one token);
- 100 tokens: from submitting to the finished result, at temperature 1;
- burst: N clients in threads, each sending R playground requests back to back.

Targets from the issue (2-core CPU, bundled model): cold start <= 10 s, first token <= 0.3 s,
100 tokens <= 1 s, burst with 0 errors. Other load on the machine slows all of these; the load
average is printed with the results.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "The lion was afraid, but"
TARGETS = {"cold_start_s": 10.0, "first_token_s": 0.3, "tokens_100_s": 1.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: q=0.95 of 160 values is the 152nd smallest."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


def start_server(model: str, port: int, timeout: float, app: Path = ROOT / "app.py", env: dict | None = None):
    """Launch `app` (app.py, or another copy of it) on 127.0.0.1 with `env` added to the environment;
    return (process, url, seconds until an API call first succeeded)."""
    from gradio_client import Client

    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(app), "--model", model, "--port", str(port), "--host", "127.0.0.1"],
                            cwd=app.parent, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{app.name} exited with code {proc.returncode}: {proc.stderr.read().strip()}")
        if time.perf_counter() - t0 > timeout:
            proc.terminate()
            raise SystemExit(f"{app.name} did not answer within {timeout:.0f} s")
        try:
            Client(url, verbose=False).predict(api_name="/model_info")
            return proc, url, time.perf_counter() - t0
        except Exception:  # not listening yet
            time.sleep(0.05)


def stop_server(proc, timeout: float = 10) -> None:
    """End a server from start_server: politely, then for sure."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def write_json(path: Path | None, results: dict) -> None:
    """`--json PATH`: the results, for a later look."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1) + "\n")


def playground(client, max_new_tokens: int, seed: int, temperature: float = 1.0):
    return client.submit(PROMPT, temperature, 0, 1.0, max_new_tokens, str(seed), api_name="/generate")


def first_token_latency(client, seed: int) -> float:
    t0 = time.perf_counter()
    job = playground(client, 100, seed)
    for _ in job:  # the first streamed output carries the first new token
        elapsed = time.perf_counter() - t0
        break
    job.result(timeout=120)  # let it finish before the next measurement
    return elapsed


def full_latency(client, tokens: int, seed: int) -> float:
    t0 = time.perf_counter()
    playground(client, tokens, seed).result(timeout=120)
    return time.perf_counter() - t0


def burst(url: str, clients: int, requests: int, tokens: int) -> dict:
    from gradio_client import Client

    users = [Client(url, verbose=False) for _ in range(clients)]
    gate = threading.Barrier(clients)
    latencies, errors = [], []
    lock = threading.Lock()

    def user(i):
        gate.wait()
        for r in range(requests):
            t0 = time.perf_counter()
            try:
                playground(users[i], tokens, seed=1000 * i + r).result(timeout=300)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as e:  # counted, not raised: the point is to see how many
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(user, range(clients)))
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests_each": requests, "tokens": tokens, "errors": len(errors),
            "first_errors": errors[:3], "p50_s": percentile(latencies, 0.5) if latencies else None,
            "p95_s": percentile(latencies, 0.95) if latencies else None,
            "max_s": max(latencies) if latencies else None, "wall_s": wall,
            "requests_per_s": len(latencies) / wall}


def in_process_100_tokens(model_source: str, repeats: int) -> float:
    """lm.generate alone, no server: what the model costs without Gradio."""
    sys.path.insert(0, str(ROOT))
    import lm

    model, vocab = lm.load_pretrained(model_source)
    lm.generate(model, vocab, PROMPT, max_new_tokens=5, seed=0)  # warm up
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        lm.generate(model, vocab, PROMPT, max_new_tokens=100, temperature=1.0, seed=i, stop_at_eos=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.environ.get("LM_MODEL") or str(ROOT / "assets" / "oz-lstm"),
                        help="model folder or Hub repo id to serve (default: $LM_MODEL, else assets/oz-lstm)")
    parser.add_argument("--port", type=int, default=0, help="port for the app (default: 0 = any free port)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="measurements per latency figure; the median is reported (default: 5)")
    parser.add_argument("--tokens", type=int, default=100,
                        help="new tokens for the full-generation figure (default: 100)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients in the burst (default: 16)")
    parser.add_argument("--requests", type=int, default=10, help="requests per client in the burst (default: 10)")
    parser.add_argument("--burst-tokens", type=int, default=60,
                        help="new tokens per burst request, the playground's default (default: 60)")
    parser.add_argument("--start-timeout", type=float, default=120.0,
                        help="seconds to wait for the app to answer before giving up (default: 120)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if min(args.repeats, args.tokens, args.clients, args.requests, args.burst_tokens) < 1:
        parser.error("--repeats, --tokens, --clients, --requests and --burst-tokens must be at least 1")

    from gradio_client import Client

    port = args.port or free_port()
    proc, url, cold = start_server(args.model, port, args.start_timeout)
    try:
        client = Client(url, verbose=False)
        full_latency(client, 5, seed=0)  # warm up the server's first request
        first = statistics.median(first_token_latency(client, seed=i) for i in range(args.repeats))
        full = statistics.median(full_latency(client, args.tokens, seed=i) for i in range(args.repeats))
        crowd = burst(url, args.clients, args.requests, args.burst_tokens)
    finally:
        stop_server(proc)
    alone = in_process_100_tokens(args.model, args.repeats)

    results = {"model": args.model, "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
               "cold_start_s": cold, "first_token_s": first, f"tokens_{args.tokens}_s": full,
               "lm_generate_100_tokens_s": alone, "burst": crowd}
    rows = [("cold start to first response", cold, TARGETS["cold_start_s"]),
            ("first streamed token", first, TARGETS["first_token_s"]),
            (f"{args.tokens} new tokens, streamed", full, TARGETS["tokens_100_s"] if args.tokens == 100 else None),
            ("100 new tokens, lm.generate alone", alone, None),
            (f"burst p50 ({args.burst_tokens} tokens)", crowd["p50_s"], None),
            (f"burst p95 ({args.burst_tokens} tokens)", crowd["p95_s"], None)]
    print(f"model {args.model} | {os.cpu_count()} CPUs | load average {results['load_average'][0]:.2f}")
    print(f"{'measure':40s} {'seconds':>9s}  target")
    for name, value, target in rows:
        verdict = "" if target is None else f"<= {target:g} s  {'ok' if value <= target else 'MISSED'}"
        print(f"{name:40s} {value:9.3f}  {verdict}")
    print(f"burst: {crowd['clients']} clients x {crowd['requests_each']} requests, {crowd['errors']} errors, "
          f"{crowd['requests_per_s']:.1f} requests/s, wall {crowd['wall_s']:.1f} s")
    for e in crowd["first_errors"]:
        print("  error:", e)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
