"""A class of open pages, as the server sees them: Gradio's queue protocol over HTTP, one asyncio loop.

A student's browser talks to the page's server in three ways, and so does `Page`:
- opening the page fetches `/config` and runs the page's load events (here: the share-link reader), which
  is when Gradio makes the visitor's session (`SessionState`, a copy of every component's config);
- pressing a button posts `/gradio_api/queue/join` with the event's inputs and the session's hash;
- the results come back as server-sent events on `/gradio_api/queue/data` (process_starts, then
  process_generating with diffs of the outputs, then process_completed).

gradio_client speaks the same protocol, but with threads per client (an SSE reader, a heartbeat, a job
pool) that a bench polls from yet another thread: on a 2-core machine 32 of them took 2.7 CPU-seconds
during a 4-second burst, time the server did not get. Here a whole class is one thread and a few
hundred parsed messages, and each arrival is timed when it is read.
"""

import asyncio
import json
import time
import uuid

import httpx
from gradio_client.utils import apply_diff

API = "/gradio_api"


def event_of(config: dict, api_name: str | None = None, trigger: str | None = None) -> tuple[int, dict]:
    """(fn_index, dependency) of the event with this api_name, or the first with this trigger ("load")."""
    for i, dep in enumerate(config["dependencies"]):
        if api_name is not None and dep.get("api_name") == api_name:
            return dep.get("id", i), dep
        if trigger is not None and any(t[1] == trigger for t in dep.get("targets", [])):
            return dep.get("id", i), dep
    raise KeyError(f"the page has no event {api_name or trigger!r}")


class Page:
    """One student's open page: its own session hash, its events by name, its server-sent events."""

    def __init__(self, http: httpx.AsyncClient, url: str, config: dict):
        self.http, self.url, self.config = http, url.rstrip("/"), config
        self.session = uuid.uuid4().hex[:11]

    async def open(self) -> None:
        """What the browser does when the page opens: fetch the config, run the load events."""
        (await self.http.get(f"{self.url}/config")).raise_for_status()
        for i, dep in enumerate(self.config["dependencies"]):
            if any(t[1] == "load" for t in dep.get("targets", [])) and dep.get("backend_fn", True):
                await self.run(dep.get("id", i), [])

    async def run(self, fn_index: int, data: list, on_update=None) -> list:
        """Join the queue with one event and read its messages to the end; returns the final outputs.
        `on_update(outputs, now)` is called at each process_generating message, with the outputs so far."""
        body = {"data": data, "fn_index": fn_index, "session_hash": self.session, "event_data": None,
                "trigger_id": None}
        joined = await self.http.post(f"{self.url}{API}/queue/join", json=body)
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        outputs = None
        async with self.http.stream("GET", f"{self.url}{API}/queue/data",
                                    params={"session_hash": self.session}) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (None, event_id):
                    continue
                kind = message.get("msg")
                if kind == "process_generating":
                    outputs = self._apply(outputs, message["output"]["data"])
                    if on_update is not None:
                        on_update(outputs, time.perf_counter())
                elif kind == "process_completed":
                    if not message.get("success", False):
                        raise RuntimeError(f"the server failed the event: {message.get('output')}")
                    return message["output"]["data"]  # the whole outputs, not a diff
                elif kind == "close_stream":
                    break
        raise RuntimeError("the stream closed before the event completed")

    @staticmethod
    def _apply(outputs: list | None, data: list) -> list:
        """The first streamed update holds the outputs; each later one, per output, its diff against the last."""
        return list(data) if outputs is None else [apply_diff(old, diff) for old, diff in zip(outputs, data)]


async def open_pages(url: str, count: int, open_them: bool = True) -> tuple[httpx.AsyncClient, list[Page]]:
    """`count` pages of the app at `url`, each with its own session; opened (load events run) unless told not."""
    http = httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=httpx.Limits(max_connections=4 * count + 8))
    config = (await http.get(f"{url.rstrip('/')}/config")).json()
    pages = [Page(http, url, config) for _ in range(count)]
    if open_them:
        await asyncio.gather(*(page.open() for page in pages))
    return http, pages
