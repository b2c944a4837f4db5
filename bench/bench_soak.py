"""Does the playground's server stay the same size under a long stream of requests?

    python bench/bench_soak.py                       # 10,000 mixed requests, the bundled model
    python bench/bench_soak.py --requests 500        # a quick smoke run
    python bench/bench_soak.py --json bench/out/soak.json

Starts `python app.py --model X --port P` (127.0.0.1 only) with a private TMPDIR, so that every file
the server writes (Gradio's cache and uploads, any temporary file) lands where it can be counted. It
then sends mixed requests from a few threads: every endpoint (few tokens each, so the run is about
the server, not the model), most of them over Gradio's plain HTTP API without a session hash (each
such call is a new session, as a stream of visitors is), some through one long-lived gradio_client
Client, a few uploads (one empty, the rest larger than the app accepts), and some malformed requests
(a huge integer, too few or too many values, a wrong type). Each kind has an expected outcome; any
other outcome is counted as unexpected.

The server's resident memory (VmRSS from /proc/PID/status) is read after the first `--checkpoint`
requests (default 1,000) and after the last; the target from issue 9 is |last / first - 1| <= 10%.
"""

import argparse
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import free_port, start_server, stop_server, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HUGE = 10**400  # a valid JSON integer, far past any float
TARGET = 0.10  # |ratio - 1| at most this


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid`, in MB (10**6 bytes), from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS for process {pid}")


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


# ------------------------------------------------------------------------------ the requests
def call(http, url: str, api: str, data) -> tuple[str, str]:
    """One call over Gradio's plain HTTP API: ('complete' | 'error' | 'http NNN', message or data)."""
    body = json.dumps({"data": data})
    answer = http.post(f"{url}gradio_api/call/{api}", content=body, headers={"Content-Type": "application/json"})
    if answer.status_code != 200:
        return f"http {answer.status_code}", answer.text[:200]
    stream = http.get(f"{url}gradio_api/call/{api}/{answer.json()['event_id']}").text
    kind = "complete" if "event: complete" in stream else "error" if "event: error" in stream else "other"
    last = stream.strip().rsplit("data:", 1)[-1].strip()
    if kind == "error":
        try:
            last = json.loads(last).get("error") or ""
        except (ValueError, AttributeError):
            pass
    return kind, last


def upload(http, url: str, size: int) -> tuple[str, str]:
    answer = http.post(f"{url}gradio_api/upload", files={"files": ("notes.txt", b"x" * size, "text/plain")})
    return f"http {answer.status_code}", answer.text[:200]


def plan(prompts: list[str], tokens: int) -> list:
    """One cycle of 50 requests: (name, expected outcome, what to send)."""
    p = lambda i: prompts[i % len(prompts)]
    good = [
        *[(f"generate-{i}", "complete", ("generate", [p(i), 0.5 + 0.1 * i, 0, 1.0, tokens, str(i), False]))
          for i in range(9)],
        *[(f"client-generate-{i}", "complete", ("client", [p(i), 0.9, 5, 0.9, tokens, str(i)])) for i in range(4)],
        *[(f"compare-{i}", "complete", ("compare", [p(i), 0, 0.5, 1.0, 1.5, tokens, str(i)])) for i in range(5)],
        *[(f"preset-{i}", "complete", ("notebook_preset", [p(i), tokens, str(i)])) for i in range(3)],
        *[(f"distribution-{i}", "complete", ("distribution", [p(i), [0.5, 1.0, 2.0][: 1 + i % 3], 5 + i, 0, 1.0]))
          for i in range(6)],
        *[(f"model-info-{i}", "complete", ("model_info", [])) for i in range(10)],
    ]
    bad = [
        ("huge-temperature", "error", ("generate", [p(0), HUGE, 0, 1.0, tokens, "1", False])),
        ("huge-words", "error", ("distribution", [p(0), [1.0], HUGE, 0, 1.0])),
        ("too-few", "error", ("compare", [p(0), 0, 1, 2])),
        ("too-many", "error", ("notebook_preset", [p(0), tokens, "1", "extra"])),
        ("wrong-type", "error", ("generate", [p(0), "hot", 0, 1.0, tokens, "1", False])),
        ("not-a-list", "http 422", ("generate", {"prompt": p(0)})),
        ("bad-seed", "error", ("notebook_preset", [p(0), tokens, "seed"])),
        ("long-prompt", "complete", ("generate", ["x" * 5000, 1.0, 0, 1.0, tokens, "1", False])),  # cut, said so
    ]
    uploads = [("upload-empty", "upload", ("upload", 0)), ("upload-big", "upload", ("upload", 200_000))]
    # 43 good + 8 bad + 2 uploads = 53; drop a few model_info calls to make an even 50
    cycle = good[:40] + bad + uploads
    return cycle


class Soak:
    def __init__(self, url: str, pid: int, tmp: Path, total: int, checkpoint: int, workers: int, tokens: int):
        import httpx
        from gradio_client import Client

        self.url, self.pid, self.tmp, self.total, self.checkpoint = url, pid, tmp, total, checkpoint
        prompts = [line.strip() for line in (ROOT / "assets" / "prompts.txt").read_text().splitlines()
                   if line.strip() and not line.startswith("#")]
        self.cycle = plan(prompts, tokens)
        self.counter, self.done = itertools.count(), 0
        self.lock = threading.Lock()
        self.samples: list[dict] = []
        self.unexpected: list[str] = []
        self.outcomes: dict[str, int] = {}
        self.local = threading.local()
        self.client = Client(url, verbose=False)  # one long-lived session, as a browser tab is
        self.workers, self.httpx = workers, httpx
        self.t0 = time.perf_counter()
        self.sample()

    def sample(self) -> None:
        self.samples.append({"requests": self.done, "rss_mb": round(rss_mb(self.pid), 1),
                             "files": count_files(self.tmp), "seconds": round(time.perf_counter() - self.t0, 1)})

    def one(self, i: int) -> None:
        http = getattr(self.local, "http", None)
        if http is None:
            http = self.local.http = self.httpx.Client(timeout=120)
        name, expected, (api, data) = self.cycle[i % len(self.cycle)]
        try:
            if api == "upload":
                outcome, message = upload(http, self.url, data)
                ok = outcome in ("http 413", "http 200") and (data == 0) == (outcome == "http 200")
            elif api == "client":
                self.client.submit(*data, api_name="/generate").result(timeout=120)
                outcome, message, ok = "complete", "", True
            else:
                outcome, message = call(http, self.url, api, data)
                ok = outcome == expected and (outcome != "error" or bool(message))  # an error says what
        except Exception as e:  # counted, not raised: the point is to see how many
            outcome, message, ok = "exception", f"{type(e).__name__}: {e}", False
        with self.lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            if not ok and len(self.unexpected) < 20:
                self.unexpected.append(f"{name}: {outcome}: {message[:150]}")
            elif not ok:
                self.unexpected.append("")
            self.done += 1
            if self.done == self.checkpoint or self.done % max(1, self.total // 10) == 0 or self.done == self.total:
                self.sample()

    def run(self) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(self.one, range(self.total)))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "assets" / "oz-lstm"),
                        help="model folder to serve (default: the bundled assets/oz-lstm)")
    parser.add_argument("--requests", type=int, default=10_000, help="requests in all (default: 10,000)")
    parser.add_argument("--checkpoint", type=int, default=1_000,
                        help="the first memory figure is taken after this many requests (default: 1,000)")
    parser.add_argument("--workers", type=int, default=4, help="threads sending requests (default: 4)")
    parser.add_argument("--tokens", type=int, default=3, help="new tokens per generating request (default: 3)")
    parser.add_argument("--cache-seconds", type=int, default=60,
                        help="the app's CACHE_MAX_AGE for this run: temporary files older than this are "
                             "deleted (default: 60, so that clean-up happens during the run)")
    parser.add_argument("--start-timeout", type=float, default=120.0, help="seconds to wait for the app (default: 120)")
    parser.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app to start (default: app.py here)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if not 1 <= args.checkpoint < args.requests or min(args.workers, args.tokens, args.cache_seconds) < 1:
        parser.error("need 1 <= --checkpoint < --requests, and --workers, --tokens, --cache-seconds >= 1")

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        tmp = Path(tmp)
        # A private TMPDIR: every file the server writes (Gradio's cache, uploads, temporaries) is counted.
        env = {"TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio"), "CACHE_MAX_AGE": str(args.cache_seconds)}
        proc, url, _ = start_server(args.model, free_port(), args.start_timeout, app=args.app, env=env)
        try:
            soak = Soak(url, proc.pid, tmp, args.requests, args.checkpoint, args.workers, args.tokens)
            soak.run()
            wall = time.perf_counter() - soak.t0
        finally:
            stop_server(proc, 15)
        left_after_exit = count_files(tmp)

    first = next(s for s in soak.samples if s["requests"] == args.checkpoint)
    last = soak.samples[-1]
    ratio = last["rss_mb"] / first["rss_mb"]
    results = {"model": args.model, "requests": args.requests, "workers": args.workers, "tokens": args.tokens,
               "cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "wall_s": round(wall, 1),
               "requests_per_s": round(args.requests / wall, 1), "rss_start_mb": soak.samples[0]["rss_mb"],
               "rss_first_mb": first["rss_mb"], "rss_last_mb": last["rss_mb"], "ratio": round(ratio, 4),
               "target_met": abs(ratio - 1) <= TARGET, "files_after_exit": left_after_exit,
               "outcomes": soak.outcomes, "unexpected": len(soak.unexpected),
               "first_unexpected": [u for u in soak.unexpected if u][:10], "samples": soak.samples}

    print(f"model {args.model} | {os.cpu_count()} CPUs | load average {results['load_average'][0]:.2f} | "
          f"{args.requests:,} requests from {args.workers} threads in {wall:.0f} s "
          f"({results['requests_per_s']} requests/s)")
    print(f"{'requests':>9s} {'RSS MB':>8s} {'files':>6s} {'seconds':>8s}")
    for s in soak.samples:
        print(f"{s['requests']:9,d} {s['rss_mb']:8.1f} {s['files']:6d} {s['seconds']:8.1f}")
    print(f"RSS after {args.checkpoint:,}: {first['rss_mb']:.1f} MB; after {args.requests:,}: {last['rss_mb']:.1f} MB; "
          f"ratio {ratio:.3f} (target {1 - TARGET:.2f}..{1 + TARGET:.2f}: "
          f"{'met' if results['target_met'] else 'MISSED'})")
    print(f"files in the server's temp dir: {first['files']} after {args.checkpoint:,}, {last['files']} at the end, "
          f"{left_after_exit} after it exited")
    print("outcomes:", ", ".join(f"{k} {v}" for k, v in sorted(soak.outcomes.items())),
          f"| unexpected: {len(soak.unexpected)}")
    for u in results["first_unexpected"]:
        print("  unexpected:", u)
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["target_met"] else 1)
