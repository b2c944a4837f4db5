"""lm.batching's streams read on an event loop (BatchEngine.achunks, lm.batch_row.Row.aread), as the page's
Write reads them: the same oracle as tests/test_batching.py (each stream equals its solo `lm.stream`), and
what a server needs of them: they pace like `chunks`, leave the batch when closed or cancelled, and raise
their own errors."""

import asyncio
import random
import time

import pytest
from test_batching import CASES, fail_one_step, same, slow_steps, solo, wait_idle

from lm.batching import BatchEngine


def _run(coro):
    """asyncio.run, with a deadline: a reader never woken fails the test instead of hanging it."""
    return asyncio.run(asyncio.wait_for(coro, 60))


def _settings(case):
    prompt, n, t, k, p, seed, eos = case
    return {"prompt": prompt, "max_new_tokens": n, "temperature": t, "top_k": k, "top_p": p, "seed": seed,
            "stop_at_eos": eos}


async def _read(engine, case, delay=0.0, interval=0.0):
    """A case's lists, read on the loop after `delay` seconds."""
    await asyncio.sleep(delay)
    return [chunk async for chunk in engine.achunks(**_settings(case), interval=interval)]


def test_streams_on_an_event_loop_equal_their_solo_runs_whenever_they_join(model, vocab, monkeypatch):
    want = [solo(model, vocab, case) for case in CASES]
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    rng = random.Random(1)

    async def class_():
        return await asyncio.gather(*[_read(engine, case, rng.uniform(0, 0.08), interval=rng.choice([0, 0.02]))
                                      for case in CASES])

    got = _run(class_())
    for chunks, w in zip(got, want):
        assert all(chunks)  # no empty list is sent
        same([item for chunk in chunks for item in chunk], w)
    assert engine.stats["peak_rows"] >= 4  # they really shared steps
    wait_idle(engine)


def test_an_async_stream_paces_its_lists_as_chunks_does(model, vocab, monkeypatch):
    """The first word at once, then at most one list per interval, the same tokens as the thread's chunks."""
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    case = ("the owl", 100, 1.0, None, None, 3, False)
    start = time.monotonic()
    chunks = _run(_read(engine, case, interval=0.05))
    elapsed = time.monotonic() - start
    same([item for chunk in chunks for item in chunk], solo(model, vocab, case))
    assert len(chunks) <= elapsed / 0.05 + 2 < 100
    assert len(chunks[0]) <= 2
    threaded = list(engine.chunks(**_settings(case), interval=0.05))
    same([item for chunk in threaded for item in chunk], [item for chunk in chunks for item in chunk])


@pytest.mark.parametrize("how", ["closed", "cancelled"])
def test_an_async_stream_that_stops_being_read_leaves_the_batch(model, vocab, monkeypatch, how):
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    case = ("A small fox", 60, 1.5, 5, None, 3, False)

    async def run():
        # A long interval: the reader is waiting on the loop when it is closed or cancelled.
        endless = engine.achunks("the owl", max_new_tokens=10**6, seed=1, stop_at_eos=False, interval=30.0)
        if how == "closed":
            first = await endless.__anext__()
            await endless.aclose()
        else:  # as a server cancels the request of a page that has gone
            first = await endless.__anext__()
            reading = asyncio.ensure_future(endless.__anext__())
            await asyncio.sleep(0.05)
            reading.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reading
        other = await _read(engine, case)
        return first, other

    first, other = _run(run())
    same(first, solo(model, vocab, ("the owl", len(first), 1.0, None, None, 1, False)))
    same([item for chunk in other for item in chunk], solo(model, vocab, case))  # the others are not disturbed
    wait_idle(engine)  # nobody steps a million tokens
    assert engine.stats["rows"] < 1000


def test_an_async_stream_raises_its_own_errors(model, vocab, monkeypatch):
    engine = BatchEngine(model, vocab)
    with pytest.raises(ValueError, match="temperature"):
        _run(_read(engine, ("the owl", 5, -1.0, None, None, 1, False)))
    fail_one_step(model, monkeypatch, 3)
    with pytest.raises(RuntimeError, match="batched generation step failed: RuntimeError: out of memory"):
        _run(_read(engine, ("the owl", 20, 1.0, None, None, 1, False)))
    wait_idle(engine)
    case = ("the owl", 20, 1.0, None, None, 1, False)
    chunks = _run(_read(engine, case))
    same([item for chunk in chunks for item in chunk], solo(model, vocab, case))
