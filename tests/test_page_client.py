"""bench/page_client.py, the class bench's students: Gradio's queue protocol as the browser speaks it.

Its figures are only as good as its reading of the stream, so: against a real server, a Write read
through it (first update whole, then diffs) ends with the story that gradio_client gets for the same
settings, its updates grow word by word to that story, and opening a page makes the visitor's session.
"""

import asyncio
import sys
from pathlib import Path

import pytest
import torch
from gradio_client import Client
from page_helpers import call, serve

import app
import lm
from lm.model import LMConfig, LSTMLanguageModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from page_client import event_of, open_pages  # noqa: E402


@pytest.fixture(scope="module")
def server():
    vocab = lm.Vocab.build([lm.tokenize("the owl and the fox ran to the green gate . the kettle sang .")] * 3)
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(len(vocab), 16, 16, 2, 0.0)).eval()
    demo = app.build_demo(model, vocab)
    url = serve(demo)
    yield demo, url
    demo.close()


def test_a_write_read_as_the_page_reads_it_equals_gradio_clients(server):
    demo, url = server
    inputs = ["the owl", 1.0, 0, 1.0, 40, "7", False]  # /generate: prompt, T, top-k, top-p, words, seed, stop
    want = call(Client(url, verbose=False), *inputs, api_name="/generate")

    async def write():
        http, (page,) = await open_pages(url, 1)
        try:
            assert page.session in demo.state_holder  # opening the page made its session, as a browser's does
            fn, dep = event_of(page.config, api_name="generate")
            seen = []
            final = await page.run(fn, inputs, lambda outputs, now: seen.append(list(outputs)))
        finally:
            await http.aclose()
        return final, seen

    final, seen = asyncio.run(write())
    assert final[:3] == list(want[:3])  # story text, coloured words, seed used
    assert len(seen) >= 2 and seen[-1][:2] == final[:2]  # the diffs, applied, end at the whole story
    assert all(b[0].startswith(a[0]) for a, b in zip(seen, seen[1:]))  # and grow word by word


def test_an_unknown_event_name_is_a_key_error(server):
    _, url = server

    async def names():
        http, (page,) = await open_pages(url, 1, open_them=False)
        await http.aclose()
        return page

    page = asyncio.run(names())
    with pytest.raises(KeyError, match="no-such-event"):
        event_of(page.config, api_name="no-such-event")
