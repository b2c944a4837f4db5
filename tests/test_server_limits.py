"""A Space that runs for a term must not grow or waste: per-visitor state is bounded, uploads are refused,
a closed page stops writing, and the loaded app stays out of Python's garbage collections.

A real server (the app's own `launch`, a tiny model) on a local port, driven over raw HTTP as any
client could.
"""

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from test_app import TIMEOUT, _free_port, _make_model  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from page_client import open_pages  # noqa: E402

import app  # noqa: E402
import lm  # noqa: E402

CAPACITY = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(demo, base url) with a session capacity of CAPACITY and Gradio's temporary files in tmp_path."""
    cache = tmp_path_factory.mktemp("gradio-cache")
    old = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    folder = _make_model(tmp_path_factory.mktemp("model"))
    model, vocab = lm.load_pretrained(folder)
    demo = app.build_demo(model, vocab, lm.model_info(folder))
    port = _free_port()
    app.launch(demo, port=port, prevent_thread_lock=True, quiet=True, state_session_capacity=CAPACITY)
    yield demo, f"http://127.0.0.1:{port}/", cache
    demo.close()
    if old is None:
        os.environ.pop("GRADIO_TEMP_DIR", None)
    else:
        os.environ["GRADIO_TEMP_DIR"] = old


def _call(http: httpx.Client, url: str, endpoint: str, data: list) -> str:
    event = http.post(f"{url}gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
    return http.get(f"{url}gradio_api/call/{endpoint}/{event}").text


def test_the_app_launches_with_bounded_sessions_and_no_uploads():
    """What app.launch passes to Gradio (its defaults: 10,000 sessions, uploads of any size)."""
    assert 0 < app.MAX_SESSIONS <= 1000 and app.CACHE_MAX_AGE <= 3600


def test_per_visitor_state_is_bounded(server):
    demo, url, _ = server
    with httpx.Client(timeout=TIMEOUT) as http:
        for i in range(4 * CAPACITY):  # every call is a new visitor (a new session)
            stream = _call(http, url, "generate", ["the lion", 1.0, 0, 1.0, 3, str(i), False])
            assert "event: complete" in stream
    sessions = demo.state_holder.session_data
    assert len(sessions) == CAPACITY  # filled to the bound, never past it


def test_uploads_are_refused_and_nothing_is_stored(server):
    _, url, cache = server
    before = sorted(p for p in cache.rglob("*") if p.is_file())
    with httpx.Client(timeout=TIMEOUT) as http:
        r = http.post(f"{url}gradio_api/upload", files={"files": ("big.bin", b"x" * 100_000)})
    assert r.status_code == 413, r.text  # refused: too large (the limit is 0 bytes)
    after = sorted(p for p in cache.rglob("*") if p.is_file())
    assert [p for p in after if p not in before and p.read_bytes() == b"x" * 100_000] == []


def test_freed_memory_is_handed_back_while_serving(server):
    """glibc keeps freed memory in per-thread arenas; the launched app trims it on a timer (page_server)."""
    import threading

    import page_server

    assert any(t.name == "malloc-trim" and t.is_alive() for t in threading.enumerate())
    assert page_server.trim_memory_every(3600) is True  # this machine's C library is glibc


def test_gradio_does_not_sum_up_its_analytics_after_every_event(server):
    """Gradio's queue sums its kept events' timings with pandas when each ends, for a monitoring page the app
    never serves; the launched app keeps 100 and sums once per 1,000 events (page_server.GRADIO_ANALYTICS)."""
    demo, url, _ = server
    with httpx.Client(timeout=TIMEOUT) as http:
        for i in range(3):
            assert "event: complete" in _call(http, url, "generate", ["the lion", 1.0, 0, 1.0, 3, str(i), False])
    queue = demo._queue  # read, not changed: Gradio has no public view of these
    assert queue.events_recorded >= 3 and queue.cached_event_analytics_summary == {"functions": {}}
    assert queue.ANALYTICS_MAX_EVENTS == 100


def test_what_was_loaded_before_serving_is_left_out_of_garbage_collections(server):
    """A full collection walks every tracked object holding the GIL (~200 ms with the app's half a million);
    the launched app freezes what it loaded (page_server.freeze_what_is_loaded), so collections walk only
    what is made while serving. The page and model, built before launch, are in no generation."""
    import gc

    demo, url, _ = server
    with httpx.Client(timeout=TIMEOUT) as http:
        assert "event: complete" in _call(http, url, "generate", ["the lion", 1.0, 0, 1.0, 3, "1", False])
    gc.collect()  # a full collection: a frozen object stays out of it
    collected = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert gc.is_tracked(demo) and id(demo) not in collected
    assert gc.get_freeze_count() > len(gc.get_objects(generation=2))


def test_a_page_closed_mid_write_leaves_the_batch_at_once(server, monkeypatch):
    """A student closes the tab while Write streams: Gradio cancels the event, and its row leaves the batch
    (lm.batch_row.Row.aread's reader ends) instead of stepping the rest of its 300 words for nobody."""
    import time

    demo, url, _ = server
    write = next(f for f in demo.fns.values() if f.api_name == "generate")
    engine = write.fn.__self__.engine
    step = engine.model.step

    def slow(token, hidden):  # 300 words take 6 s: long enough to see whether the row goes on
        time.sleep(0.02)
        return step(token, hidden)

    monkeypatch.setattr(engine.model, "step", slow)
    rows_before = engine.stats["rows"]

    class TabClosed(Exception):
        pass

    def close(outputs, now):  # the first words are shown: the tab closes, and its stream with it
        raise TabClosed

    async def student():
        http, (page,) = await open_pages(url, 1, open_them=False)  # the browser's queue protocol (bench/)
        try:
            with pytest.raises(TabClosed):
                await page.run(write._id, ["the lion", 1.0, 0, 1.0, 300, "1", False], on_update=close)
        finally:
            await http.aclose()

    asyncio.run(student())
    deadline = time.monotonic() + 3
    while engine.busy() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not engine.busy()
    assert engine.stats["rows"] - rows_before < 100  # far fewer than 300 steps of it
