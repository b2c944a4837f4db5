"""The Gradio app, driven over HTTP with gradio_client exactly as a remote user would.

One real server (a tiny random model from tmp_path, the app's own queue settings) serves the
whole module. Every endpoint is checked against `lm` computed in-process with the same seed, and
bad input must come back as a readable gr.Error message, after which the server still serves.
"""

import asyncio
import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gradio as gr  # noqa: E402
import torch  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

import app  # noqa: E402
import lm  # noqa: E402
import page_actions  # noqa: E402
import page_bars  # noqa: E402
import page_format  # noqa: E402
import page_input  # noqa: E402
from lm.card import write_results  # noqa: E402

TIMEOUT = 60  # seconds for any one request: a hang fails the test instead of blocking it
PROMPT = "The lion was afraid, but"
LINES = [
    "the lion was afraid , but he walked into the dark forest with the girl .",
    "the little dragon opened the door and looked out at the garden .",
    "the wizard looked at the map and said , we must go north before the moon rises !",
    "once upon a time , in a castle made of glass , there lived a wise old owl .",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_model(folder: Path, *, results: bool = True, history: bool = False) -> Path:
    """A tiny random model folder; with `results`, training facts as train.py writes them (and the
    training curve when there is a `history`)."""
    vocab = lm.Vocab.build([lm.tokenize(line) for line in LINES], min_freq=1)
    with torch.random.fork_rng():  # the same weights whichever tests ran before (a seed's story is known)
        torch.manual_seed(0)
        model = lm.LSTMLanguageModel(lm.LMConfig(vocab_size=len(vocab), emb_dim=24, hid_dim=24, num_layers=2,
                                                 dropout_rate=0.0))
    lm.save_pretrained(model, vocab, folder)
    if results:
        epochs = [{"epoch": e, "train_loss": 5.0 - e / 2, "valid_loss": 5.2 - e / 3, "lr": 1e-3} for e in (1, 2)]
        write_results(folder, {
            "dataset_name": "Tiny invented lines", "parameters": model.num_parameters(), "vocab_size": len(vocab),
            "minutes": 0.1, "hardware": "CPU", "best_valid_ppl": 41.5, "test_ppl": 43.25,
            "train_config": {"dataset": "tiny/invented-lines", "min_freq": 1, "epochs": 2, "batch_size": 4,
                             "eval_batch_size": 4, "seq_len": 8},
            "history": epochs if history else [], "tokens": None})
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(client, model, vocab, base url) for one app served on a free local port."""
    folder = _make_model(tmp_path_factory.mktemp("model"))
    model, vocab = lm.load_pretrained(folder)
    demo = app.build_demo(model, vocab, lm.model_info(folder))
    port = _free_port()
    app.launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    yield Client(url, verbose=False), model, vocab, url
    demo.close()


@pytest.fixture
def client(served):
    return served[0]


def _call(client, *args, api_name):
    return client.submit(*args, api_name=api_name).result(timeout=TIMEOUT)


def _error(client, *args, api_name) -> str:
    """The message of the error a request gets (it must get one)."""
    with pytest.raises(AppError) as caught:
        _call(client, *args, api_name=api_name)
    return str(caught.value)


def _generate(client, prompt=PROMPT, temperature=0.8, top_k=0, top_p=1.0, max_new_tokens=12, seed="7"):
    return _call(client, prompt, temperature, top_k, top_p, max_new_tokens, seed, api_name="/generate")


class _Story(HTMLParser):
    """The coloured story as a browser reads it: all its text, and each word span's (text, classes, tip)."""

    def __init__(self, story_html: str):
        super().__init__()
        self.text, self.words, self._word = "", [], None
        self.feed(story_html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "w" in (attrs.get("class") or "").split():
            self._word = ["", attrs["class"].split(), attrs.get("data-tip"), attrs.get("tabindex")]

    def handle_endtag(self, tag):
        if self._word is not None:
            self.words.append(tuple(self._word))
            self._word = None

    def handle_data(self, data):
        self.text += data
        if self._word is not None:
            self._word[0] += data


def _plain(column_html: str) -> str:
    """A Side by side column's text, as a reader sees it."""
    return _Story(column_html).text


def _reference(model, vocab, prompt, max_new_tokens, temperature, seed, top_k=None, top_p=None):
    return lm.generate(model, vocab, prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                       top_p=top_p, seed=seed, stop_at_eos=False)


# ------------------------------------------------------------------------------------- endpoints
def test_every_action_has_a_named_endpoint(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/generate", "/compare", "/notebook_preset", "/distribution", "/model_info"} <= names


def test_generate_streams_token_by_token(served):
    client, model, vocab, _ = served
    job = client.submit(PROMPT, 0.9, 0, 1.0, 25, "1234", api_name="/generate")
    seen, first_at = [], None
    for output in job:  # yields each streamed output as it arrives
        first_at = first_at or time.monotonic()
        seen.append(output)
    done_at = time.monotonic()
    final = job.result(timeout=TIMEOUT)
    expected = _reference(model, vocab, PROMPT, 25, 0.9, 1234)
    assert final[0] == expected.text
    assert final[2] == "1234"
    outputs = job.outputs()
    assert len(outputs) > 1 and first_at <= done_at  # intermediate outputs, not one final blob
    texts = [o[0] for o in outputs]
    for shorter, longer in zip(texts, texts[1:]):  # the text only ever grows
        assert longer.startswith(shorter) and len(longer) >= len(shorter)
    assert texts[0].startswith("The lion was afraid, but") and texts[-1] == expected.text


def test_generate_colours_each_token_by_its_probability(served):
    client, model, vocab, _ = served
    text, story_html, seed = _generate(client, max_new_tokens=15, seed="99")
    expected = _reference(model, vocab, PROMPT, 15, 0.8, 99)
    story = _Story(story_html)
    assert story.text == text == expected.text
    new = [(t, p, r) for t, p, r in zip(expected.tokens, expected.probs, expected.ranks) if t != "<eos>"]
    assert len(story.words) == len(new)  # the prompt and paragraph breaks are not coloured words
    for (_, classes, tip, tabindex), (_, p, r) in zip(story.words, new):
        assert f"p{page_format.prob_bin(p)}" in classes and f"r{page_format.rank_bin(r)}" in classes
        assert tip == f"{page_format.percent(p)} likely · the model's {page_format.ordinal(r)} choice"
        assert tabindex == "0"  # reachable by keyboard, so the tip shows on focus too


def test_blank_seed_is_drawn_shown_and_reproducible(client):
    text, _, seed = _generate(client, temperature=1.5, max_new_tokens=20, seed="")
    assert seed.isdigit()
    again, _, seed_again = _generate(client, temperature=1.5, max_new_tokens=20, seed=seed)
    assert (again, seed_again) == (text, seed)
    assert _generate(client, temperature=1.5, max_new_tokens=20, seed=int(seed))[0] == text  # a number works too


def test_greedy_is_the_same_whatever_the_seed(client):
    assert _generate(client, temperature=0, seed="1")[0] == _generate(client, temperature=0, seed="2")[0]


def test_top_k_and_top_p_reach_lm(served):
    client, model, vocab, _ = served
    text = _generate(client, temperature=1.2, top_k=3, top_p=0.6, max_new_tokens=20, seed="5")[0]
    assert text == _reference(model, vocab, PROMPT, 20, 1.2, 5, top_k=3, top_p=0.6).text


def test_compare_columns_equal_generate_at_each_temperature(served):
    client, model, vocab, _ = served
    temps = [0.0, 0.6, 1.0, 2.5]
    *columns, seed = _call(client, PROMPT, *temps, 18, "321", api_name="/compare")
    assert seed == "321"
    assert [_plain(c) for c in columns] == [_reference(model, vocab, PROMPT, 18, t, 321).text for t in temps]
    words = [_Story(c).words for c in columns]
    assert all(w[1][:2] == ["w", "plain"] and w[3] == "0" for col in words for w in col)  # clickable, uncoloured


def test_notebook_preset_is_a_grid_of_eleven(served):
    client, model, vocab, _ = served
    table, seed = _call(client, PROMPT, 10, "11", api_name="/notebook_preset")
    assert seed == "11" and table["headers"] == ["temperature", "text"]
    assert [row[0] for row in table["data"]] == list(lm.NOTEBOOK_TEMPERATURES)
    assert [row[1] for row in table["data"]] == [
        _reference(model, vocab, PROMPT, 10, t, 11).text for t in lm.NOTEBOOK_TEMPERATURES]


def test_distribution_bars_table_and_entropy(served):
    client, model, vocab, _ = served
    bars, table, entropy = _call(client, PROMPT, [2.0, 0.5, 1.0], 6, api_name="/distribution")
    expected = lm.next_token_distribution(model, vocab, PROMPT, [0.5, 1.0, 2.0], top=6)
    assert bars == page_bars.bars_html(expected, PROMPT)  # the chart of what lm computes, coldest first
    assert table["headers"] == ["next word", "T = 0.5 (%)", "T = 1 (%)", "T = 2 (%)"]
    *words, others = table["data"]
    assert [row[0] for row in words] == [page_format.token_label(t) for t in expected[0].tokens]
    assert others[0] == "all other words"
    for col, dist in enumerate(expected, start=1):
        assert [row[col] for row in words] == pytest.approx([100 * p for p in dist.probs], abs=0.006)
        assert sum(row[col] for row in table["data"]) == pytest.approx(100, abs=0.05)  # the bars add up
    assert [row[0] for row in entropy["data"]] == [0.5, 1.0, 2.0]
    assert [row[1] for row in entropy["data"]] == pytest.approx([d.entropy for d in expected], abs=1e-3)
    assert entropy["data"][0][1] < entropy["data"][2][1]  # hotter is more open


def test_distribution_bars_take_any_text(client):
    for prompt in ("it cost $x^{2$", "a $\\frac{$ b", "🐉", "<script>alert(1)</script>",
                   "a" * page_actions.MAX_PROMPT_CHARS):
        bars, _, _ = _call(client, prompt, [0.5, 2.0], 5, api_name="/distribution")
        assert bars.startswith('<div class="bars"') and "<script>" not in bars


def test_distribution_greedy_is_certain(client):
    _, table, entropy = _call(client, PROMPT, [0], 5, api_name="/distribution")
    assert [row[1] for row in table["data"]] == [100.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # the last: all other words
    assert entropy["data"][0][1] == 0


def test_model_info_endpoint(served):
    client, model, vocab, _ = served
    info = _call(client, api_name="/model_info")
    assert set(info) == {"name", "dataset", "parameters", "vocab_size", "test_ppl", "best_valid_ppl", "architecture"}
    assert info["name"].startswith("model") and info["dataset"] == "Tiny invented lines"
    assert info["parameters"] == model.num_parameters() and info["vocab_size"] == len(vocab)
    assert info["test_ppl"] == 43.25 and info["best_valid_ppl"] == 41.5
    assert "2-layer LSTM" in info["architecture"]


# ------------------------------------------------------------------------------------- bad input
HUGE = 10**400  # a valid JSON integer, far past any float
BAD = [  # (endpoint, arguments, words the error message must contain)
    ("/generate", (PROMPT, 99, 0, 1, 5, ""), "Temperature must be a number from 0 to 3.5; got 99."),
    ("/generate", (PROMPT, -1, 0, 1, 5, ""), "Temperature must be a number from 0 to 3.5; got -1."),
    ("/generate", (PROMPT, HUGE, 0, 1, 5, ""), "Temperature must be a number from 0 to 3.5; got 10000"),
    ("/generate", (PROMPT, "abc", 0, 1, 5, ""), "Temperature must be a number from 0 to 3.5; got 'abc'."),
    ("/generate", (PROMPT, "0.5", 0, 1, 5, ""), "Temperature must be a number"),  # a number as text is text
    ("/generate", (PROMPT, None, 0, 1, 5, ""), "Temperature must be"),
    ("/generate", (PROMPT, True, 0, 1, 5, ""), "Temperature must be"),
    ("/generate", (PROMPT, [1], 0, 1, 5, ""), "Temperature must be"),
    ("/generate", (PROMPT, 1, -1, 1, 5, ""), "Top-k must be a whole number from 0 to 200"),
    ("/generate", (PROMPT, 1, 10**9, 1, 5, ""), "Top-k must be"),
    ("/generate", (PROMPT, 1, HUGE, 1, 5, ""), "Top-k must be a whole number from 0 to 200; got 10000"),
    ("/generate", (PROMPT, 1, True, 1, 5, ""), "Top-k must be"),
    ("/generate", (PROMPT, 1, 0, 2, 5, ""), "Top-p must be a number from 0.01 to 1"),
    ("/generate", (PROMPT, 1, 0, 0, 5, ""), "Top-p must be"),
    ("/generate", (PROMPT, 1, 0, "x", 5, ""), "Top-p must be"),
    ("/generate", (PROMPT, 1, 0, 1, -1, ""), "New tokens must be a whole number from 0 to 300"),
    ("/generate", (PROMPT, 1, 0, 1, 10**9, ""), "New tokens must be"),
    ("/generate", (PROMPT, 1, 0, 1, HUGE, ""), "New tokens must be"),
    ("/generate", (PROMPT, 1, 0, 1, 5, "x"), "Seed must be a whole number from 0 to 4294967295"),
    ("/generate", (PROMPT, 1, 0, 1, 5, "-1"), "Seed must be"),
    ("/generate", (PROMPT, 1, 0, 1, 5, 2**64), "Seed must be"),
    ("/generate", (PROMPT, 1, 0, 1, 5, HUGE), "Seed must be"),
    ("/generate", (PROMPT, 1, 0, 1, 5, "1e3"), "Seed must be"),
    ("/generate", (PROMPT, 1, 0, 1, 5, 3.5), "Seed must be"),
    ("/generate", (PROMPT, 1, 0, 1, 5, "١٢"), "Seed must be"),  # digits, but not 0-9
    ("/compare", (PROMPT, 0, 1, 99, 1, 5, ""), "Temperature must be a number from 0 to 3.5"),
    ("/compare", (PROMPT, 0, 1, 2, 1, -5, ""), "New tokens per column must be a whole number from 0 to 300"),
    ("/notebook_preset", (PROMPT, 5, "seed"), "Seed must be"),
    ("/notebook_preset", (PROMPT, "five", ""), "New tokens per column must be"),
    ("/distribution", (PROMPT, [], 5), "Choose at least one temperature"),
    ("/distribution", (PROMPT, [0.1, 0.2], 5), "Temperatures to compare must be a list of values among 0, 0.25,"),
    ("/distribution", (PROMPT, ["abc"], 5), "Temperatures to compare must be"),
    ("/distribution", (PROMPT, 0.5, 5), "Temperatures to compare must be"),
    ("/distribution", (PROMPT, None, 5), "Temperatures to compare must be"),
    ("/distribution", (PROMPT, [1.0], 0), "Words to show must be a whole number from 1 to 20"),
    ("/distribution", (PROMPT, [1.0], "many"), "Words to show must be"),
]


@pytest.mark.parametrize("endpoint, args, message", BAD, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(BAD)])
def test_bad_input_is_a_clear_error_and_the_server_keeps_serving(client, endpoint, args, message):
    error = _error(client, *args, api_name=endpoint)
    assert message in error
    assert "Traceback" not in error and len(error) < 300  # a huge value is shown cut short
    assert _generate(client, max_new_tokens=3)[0].startswith("The lion")  # still serving


def test_error_messages_are_html_safe(client):
    error = _error(client, PROMPT, 1, 0, 1, 5, "<script>", api_name="/generate")
    assert "&lt;script&gt;" in error and "<script>" not in error


def test_whole_number_sliders_round_as_gradio_does(served):
    """precision=0: Gradio rounds a fractional value for top-k and the number of tokens."""
    client, model, vocab, _ = served
    text, _, _ = _generate(client, temperature=1.2, top_k=2.6, max_new_tokens=9.4, seed="6")
    assert text == _reference(model, vocab, PROMPT, 9, 1.2, 6, top_k=3).text


def test_a_number_prompt_is_read_as_text(served):
    client, model, vocab, _ = served
    assert _generate(client, prompt=12345, seed="2")[0] == _reference(model, vocab, "12345", 12, 0.8, 2).text


ODD_BUT_VALID = [  # prompts that get a valid result
    "",
    "   \n\t ",
    "🐉🔥 the lion 👑",
    "\x00\x07the\x1b[31m lion\x7f",
    "zorblax quifflewump",  # only unknown words
    "ü" * page_actions.MAX_PROMPT_CHARS,  # exactly at the cap
]


@pytest.mark.parametrize("prompt", ODD_BUT_VALID, ids=range(len(ODD_BUT_VALID)))
def test_odd_prompts_get_a_valid_result(client, prompt):
    text, story_html, seed = _generate(client, prompt=prompt, max_new_tokens=8, seed="3")
    assert seed == "3" and isinstance(text, str)
    story = _Story(story_html)
    assert story.text == text
    assert len(story.words) >= 1  # new words were written


def _raw_generate(url: str, body: str) -> str:
    """POST a hand-made JSON body to /generate; the event stream of its answer."""
    import httpx

    with httpx.Client(timeout=TIMEOUT) as http:
        event = http.post(f"{url}gradio_api/call/generate", content=body,
                          headers={"Content-Type": "application/json"}).json()["event_id"]
        return http.get(f"{url}gradio_api/call/generate/{event}").text


def test_a_lone_surrogate_from_a_raw_http_client(served):
    """gradio_client cannot even encode a lone surrogate; a hand-made JSON body can."""
    stream = _raw_generate(served[3], json.dumps({"data": ["the \ud83d lion", 1.0, 0, 1.0, 5, "8", False]},
                                                  ensure_ascii=True))
    assert "event: complete" in stream and "event: error" not in stream
    final = json.loads(stream.split("event: complete")[1].split("data:", 1)[1].strip())
    assert final[0].startswith("the   lion") and final[2] == "8"  # as typed, the surrogate made a space


@pytest.mark.parametrize("data, message", [
    ('["the", NaN, 0, 1.0, 5, "8", false]', "temperature must be a finite number"),  # Gradio's range check lets NaN by
    ('["the", 1, 0, Infinity, 5, "8", false]', "Top-p must be a number from 0.01 to 1; got inf."),
    ('["the", 1, 0, 1.0, NaN, "8", false]', "New tokens must be a whole number from 0 to 300; got nan."),
])
def test_not_a_number_from_a_raw_http_client(served, data, message):
    """JSON has no NaN or Infinity, but Python's parser takes them; gradio_client cannot send them."""
    stream = _raw_generate(served[3], '{"data": ' + data + '}')
    assert "event: error" in stream and message in stream


def test_a_prompt_over_the_limit_is_cut_at_a_word_end(served):
    client, model, vocab, _ = served
    long = "the owl sat on the gate " * 50  # 1,200 characters
    cut = page_input.cut_prompt(long, page_actions.MAX_PROMPT_CHARS)
    assert len(cut) <= page_actions.MAX_PROMPT_CHARS and long.startswith(cut) and long[len(cut)] == " "
    assert _generate(client, prompt=long, seed="4")[0] == _reference(model, vocab, cut, 12, 0.8, 4).text
    table, _ = _call(client, "y" * 5000, 5, "3", api_name="/notebook_preset")  # no word end: cut at the limit
    texts, limit = [row[1] for row in table["data"]], page_actions.MAX_PROMPT_CHARS
    assert all(t.startswith("y" * limit) and "y" * (limit + 1) not in t for t in texts)


@pytest.mark.parametrize("text, limit, cut", [
    ("the lion ran", 10, "the lion"),  # not "the lion r"
    ("x" * 20, 10, "x" * 10),  # no word end: cut at the limit
    ("the lion  ", 9, "the lion"),
    ("a b", 10, "a b"),
    ("a bcdefghijklmn", 10, "a bcdefghi"),  # the only word end is too far back
])
def test_cut_prompt(text, limit, cut):
    assert page_input.cut_prompt(text, limit) == cut


def test_empty_prompt_starts_a_new_line(served):
    client, model, vocab, _ = served
    assert _generate(client, prompt="", seed="4")[0] == _reference(model, vocab, "", 12, 0.8, 4).text


@pytest.mark.parametrize("args", [
    (0.0, 0, 1.0, 0, "0"),  # no new tokens: just the prompt
    (0.0, 0, 0.05, 1, "0"),
    (3.0, app.MAX_TOP_K, 0.05, app.MAX_NEW_TOKENS, str(page_input.MAX_SEED)),
    (3.0, 1, 1.0, app.MAX_NEW_TOKENS, "0"),
    (0.5, 3, 0.9, 7, "  12  "),  # spaces around the seed
])
def test_controls_at_their_extremes(client, args):
    text, story_html, seed = _generate(client, PROMPT, *args)
    assert text.startswith("The lion was afraid, but")
    assert seed == args[-1].strip()
    if args[3] == 0:
        assert text == "The lion was afraid, but" and _Story(story_html).words == []


def test_other_endpoints_at_their_extremes(client):
    for temps in ([0, 0, 0, 0], [3, 3, 3, 3]):
        *columns, _ = _call(client, "", *temps, app.MAX_NEW_TOKENS, "0", api_name="/compare")
        assert len({_plain(c).strip() for c in columns}) == 1  # equal temperatures, equal seed: equal columns
    *columns, _ = _call(client, PROMPT, 0, 1, 2, 3, 0, "1", api_name="/compare")
    assert [_plain(c) for c in columns] == ["The lion was afraid, but"] * 4
    table, _ = _call(client, "🐉", app.MAX_NEW_TOKENS, "", api_name="/notebook_preset")
    assert len(table["data"]) == 11
    _, probs, entropy = _call(client, "", list(app.PLOT_TEMPERATURE_CHOICES), app.MAX_TOP_WORDS,
                              api_name="/distribution")
    assert len(entropy["data"]) == 8 and len(probs["headers"]) == 9
    _, probs, _ = _call(client, PROMPT, [1], 1, api_name="/distribution")
    assert len(probs["data"]) == 2  # one word, then all other words


def test_unknown_words_are_warned_about():
    vocab = lm.Vocab.build([lm.tokenize(line) for line in LINES], min_freq=1)
    with pytest.warns(UserWarning, match="knows none of the words"):
        assert page_input.notice_prompt("zorblax quifflewump", vocab) == ["zorblax", "quifflewump"]
    with pytest.warns(UserWarning, match="does not know 1 word.*&lt;b&gt;zorblax&lt;/b&gt;"):  # HTML-safe
        assert page_input.notice_prompt("the lion and a <b>zorblax</b>", vocab) == ["<b>zorblax</b>"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert page_input.notice_prompt("the lion", vocab) == []


# ------------------------------------------------------------------------------------ many users
def test_sixteen_clients_at_once_get_what_they_would_get_alone(served):
    _, model, vocab, url = served
    requests = [(f"{PROMPT} {LINES[i % 4].split()[1]}", 0.5 + 0.1 * i, 30, 1000 + i) for i in range(16)]
    alone = [_reference(model, vocab, p, n, t, s).text for p, t, n, s in requests]
    compare_alone = [[_reference(model, vocab, p, 12, t, s).text for t in (0.0, 0.7, 1.3, 2.0)]
                     for p, _, _, s in requests]
    clients = [Client(url, verbose=False) for _ in requests]
    start = threading.Barrier(len(requests))

    def user(i):
        prompt, temp, n, seed = requests[i]
        start.wait()
        streamed = clients[i].submit(prompt, temp, 0, 1.0, n, str(seed), api_name="/generate")
        compared = clients[i].submit(prompt, 0.0, 0.7, 1.3, 2.0, 12, str(seed), api_name="/compare")
        return streamed.result(timeout=TIMEOUT)[0], [_plain(c) for c in compared.result(timeout=TIMEOUT)[:4]]

    with ThreadPoolExecutor(len(requests)) as pool:
        results = list(pool.map(user, range(len(requests))))
    assert [r[0] for r in results] == alone
    assert [r[1] for r in results] == compare_alone


# ------------------------------------------------------------------------------ pieces and model facts
def test_streamed_pieces_rebuild_the_generated_text(model, vocab):
    prompt = "The owl said, "  # as typed, trailing space included
    story = page_format.StoryText(prompt)
    for item in lm.stream(model, vocab, prompt, 40, temperature=1.5, seed=3, stop_at_eos=False):
        story.add(item)
    assert story.text == lm.generate(model, vocab, prompt, 40, temperature=1.5, seed=3, stop_at_eos=False).text
    assert "".join(piece for piece, _ in story.spans) == story.text
    assert all(label is None for piece, label in story.spans if piece.isspace())  # a paragraph break is not coloured


def test_prob_labels_cover_zero_to_one():
    labels = [label for _, label, _ in page_format.PROB_BINS]
    assert [page_format.prob_label(p) for p in (1.0, 0.3, 0.29, 0.1, 0.05, 0.01, 0.001, 0.0)] == [
        labels[0], labels[0], labels[1], labels[1], labels[2], labels[2], labels[3], labels[3]]


def _model_tab_text(demo: gr.Blocks) -> str:
    return next(b.value for b in demo.blocks.values() if getattr(b, "elem_id", None) == "model-info")


def test_model_tab_shows_the_name_and_facts(tmp_path):
    folder = _make_model(tmp_path / "oz-tiny", history=True)
    model, vocab = lm.load_pretrained(folder)
    demo = app.build_demo(model, vocab, lm.model_info(folder))
    text = _model_tab_text(demo)
    assert "| Name | **oz-tiny** |" in text and str(tmp_path) not in text  # the name, not a path
    assert "| Read while learning | Tiny invented lines |" in text and "2-layer LSTM" in text
    assert f"| Numbers it learned (parameters) | {model.num_parameters():,} |" in text
    assert "| 43.25: on average as unsure as choosing among about 43 words |" in text
    assert "A perplexity of about 43 means" in text
    curves = ("training-curve", "training-curve-phone")
    plots = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) in curves]
    assert [type(b) for b in plots] == [gr.Plot, gr.Plot]  # the student's curve (perplexity per epoch), and a phone's
    assert not [b for b in demo.blocks.values() if isinstance(b, gr.Image)]  # not the card's (learning rate)


def test_model_facts_unknown_without_training_results(tmp_path):
    folder = _make_model(tmp_path / "bare", results=False)
    model, vocab = lm.load_pretrained(folder)
    demo = app.build_demo(model, vocab, lm.model_info(folder))
    text = _model_tab_text(demo)
    assert "| Read while learning | unknown |" in text
    assert "| On a book it never trained on (perplexity) | unknown |" in text
    assert f"| Words it knows (vocabulary) | {len(vocab):,} |" in text
    pictures = [b for b in demo.blocks.values() if isinstance(b, (gr.Image, gr.Plot))]
    assert "training-curve" not in [b.elem_id for b in pictures]  # no curve, no picture
    assert not any(isinstance(b, gr.Image) for b in pictures)
    assert "| Name | unknown |" in _model_tab_text(app.build_demo(model, vocab))  # no facts at all


def test_example_prompts_file():
    prompts = page_format.load_prompts()
    assert 10 <= len(prompts) <= 15
    assert all(0 < len(p) <= page_actions.MAX_PROMPT_CHARS for p in prompts)


# ------------------------------------------------------------------------------------------- CLI
def test_every_flag_has_help():
    for action in app.build_parser()._actions:
        assert action.help, action.option_strings


def test_parse_args(monkeypatch):
    monkeypatch.delenv("LM_MODEL", raising=False)
    args = app.parse_args([])
    assert (Path(args.model), args.host, args.port, args.share) == (app.DEFAULT_MODEL, "127.0.0.1", 7860, False)
    args = app.parse_args(["--model", "user/repo", "--host", "0.0.0.0", "--port", "8000", "--share"])
    assert (args.model, args.host, args.port, args.share) == ("user/repo", "0.0.0.0", 8000, True)
    monkeypatch.setenv("LM_MODEL", "some/folder")
    assert app.parse_args([]).model == "some/folder"
    with pytest.raises(SystemExit):
        app.parse_args(["--port", "70000"])


def test_main_loads_the_model_and_launches(tmp_path, monkeypatch):
    folder = _make_model(tmp_path / "my-model")
    seen = {}
    monkeypatch.setattr(app, "launch", lambda demo, **kw: seen.update(demo=demo, **kw))
    app.main(["--model", str(folder), "--port", "0"])
    assert isinstance(seen["demo"], gr.Blocks) and seen["port"] == 0 and seen["host"] == "127.0.0.1"
    assert "| Name | **my-model** |" in _model_tab_text(seen["demo"])


def _run_app(*args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.mark.slow  # a subprocess
def test_missing_model_is_a_one_line_error(tmp_path):
    done = _run_app("--model", str(tmp_path / "no-such-model"), "--port", "0")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("app.py: error: cannot load the model"), done.stderr
    assert "does not exist" in lines[0] and "Traceback" not in done.stderr


LIMITS = ("MAX_PROMPT_CHARS", "MAX_NEW_TOKENS", "MAX_TEMPERATURE", "MAX_TOP_K", "MAX_TOP_WORDS", "CONCURRENCY_LIMIT",
          "MAX_QUEUE_SIZE")


def _limits_at_import(env: dict) -> str:
    """The app's limits as a fresh `import page_actions` reads them from environment `env`."""
    code = f"import page_actions as p; print([getattr(p, n) for n in {LIMITS!r}])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.slow  # a subprocess
def test_limits_follow_the_environment():
    clean = {k: v for k, v in os.environ.items() if k not in LIMITS}
    assert _limits_at_import(clean) == "[1000, 300, 3.5, 200, 20, 2, 100]"
    env = {"MAX_PROMPT_CHARS": "50", "MAX_NEW_TOKENS": "5", "MAX_TEMPERATURE": "2.5", "MAX_TOP_K": "7",
           "MAX_TOP_WORDS": "4", "CONCURRENCY_LIMIT": "3", "MAX_QUEUE_SIZE": "9"}
    assert _limits_at_import({**clean, **env}) == "[50, 5, 2.5, 7, 4, 3, 9]"


@pytest.mark.parametrize("bad", ["lots", "-3", "0", "inf"])
def test_a_bad_limit_stops_the_app(monkeypatch, bad):
    monkeypatch.setenv("MAX_NEW_TOKENS", bad)
    with pytest.raises(ValueError) as caught:
        page_input.env_number("MAX_NEW_TOKENS", 300)
    assert f"environment variable MAX_NEW_TOKENS must be a positive int, got {bad!r}" in str(caught.value)


def test_stop_at_the_end_of_the_paragraph(served):
    client, model, vocab, _ = served
    for stop in (False, True):
        text = client.predict(PROMPT, 1.0, 0, 1.0, 80, "11", stop, api_name="/generate")[0]
        expected = lm.generate(model, vocab, PROMPT, max_new_tokens=80, temperature=1.0, seed=11, stop_at_eos=stop)
        assert text == expected.text
    assert "\n\n" not in text  # stopped: one paragraph


def test_a_paragraph_that_ends_at_once_still_shows_the_prompt(served, capsys):
    """Stop at the end of the paragraph on, and the first word drawn ends it: the story is the prompt (it was
    Gradio's None: a stream that yields nothing), and the page says why. Both ways of writing (on the event
    loop, and in a thread as on ZeroGPU) send it."""
    client, model, vocab, _ = served
    seed = next(s for s in range(2000)
                if not lm.generate(model, vocab, PROMPT, max_new_tokens=9, seed=s, stop_at_eos=True).tokens)
    sent = client.predict(PROMPT, 1.0, 0, 1.0, 9, str(seed), True, api_name="/generate")
    assert sent[0] == PROMPT and sent[2] == str(seed)
    actions = page_actions.Actions(model, vocab)
    (text, *_), = actions.generate(PROMPT, 1.0, 0, 1.0, 9, str(seed), True)
    assert text == PROMPT
    assert "The first word drawn was the end of the paragraph" in capsys.readouterr().out  # gr.Info, outside a page


def test_a_class_writing_at_once_gets_what_each_would_get_alone(served):
    """32 students press Write together: every stream is a row of one batch, and each equals its solo run."""
    client, model, vocab, url = served

    def student(i):
        return Client(url, verbose=False).predict(PROMPT, 0.5 + i / 20, 0, 1.0, 30, str(i), api_name="/generate")[0]

    with ThreadPoolExecutor(32) as pool:
        texts = list(pool.map(student, range(32)))
    assert texts == [_reference(model, vocab, PROMPT, 30, 0.5 + i / 20, i).text for i in range(32)]


@pytest.mark.parametrize("endpoint, data, message", [
    ("generate", ["the", 1.0, 0, 1.0, 5], "/generate takes 7 values (Prompt"),
    ("generate", [], "got 0."),
    ("generate", ["the", 1.0, 0, 1.0, 5, "8", False, 7], "/generate takes 7 values"),
    ("compare", ["the", 0, 1], "/compare takes 7 values"),
    ("distribution", ["the"], "/distribution takes 5 values (Prompt: the start of a story, Temperatures to compare, "
                              "Words to show, Top-k, Top-p); got 1."),
])
def test_a_request_with_too_few_or_too_many_values_is_told_how_many(served, endpoint, data, message):
    """Gradio refuses too few values with an empty error (and a traceback in the log) and drops extra ones."""
    import httpx

    with httpx.Client(timeout=TIMEOUT) as http:
        event = http.post(f"{served[3]}gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
        stream = http.get(f"{served[3]}gradio_api/call/{endpoint}/{event}").text
    assert "event: error" in stream and message in stream


def test_every_font_face_the_page_declares_holds_every_letter(served):
    """A face missing letters is filled in from another: Gradio's own SemiBold files hold only "A", "B" and a few
    more, so its default theme's bold text mixed two faces ("Be the sampler" with a thin B). Fetched from the
    server as a browser does: theme.css's @font-face rules, then each font file."""
    import io
    import re
    import string

    import httpx
    from fontTools.ttLib import TTFont

    url = served[3]
    css = httpx.get(f"{url}theme.css", timeout=TIMEOUT).text
    faces = re.findall(r"@font-face\s*{[^}]*?url\('([^']+)'\)[^}]*?font-weight:\s*(\d+)", css)
    assert len(faces) == 4 and "400" in {w for _, w in faces}, faces  # text and mono, regular and bold
    for path, weight in faces:
        data = httpx.get(url + path, timeout=TIMEOUT)
        assert data.status_code == 200, path
        letters = TTFont(io.BytesIO(data.content)).getBestCmap()
        missing = [c for c in string.ascii_letters + string.digits + ".,;:!?'\"()-" if ord(c) not in letters]
        assert missing == [], f"{path} (weight {weight}) lacks {''.join(missing)}"


@pytest.mark.parametrize("kind", ["function", "generator", "async generator"])
def test_shown_to_user_turns_lms_value_error_into_a_message_and_keeps_the_functions_kind(kind):
    """The one place a ValueError becomes gr.Error (the page's Write is an async generator, Compare a function)."""
    def bad(temperature):
        lm.sampling.check_temperature(temperature)  # lm's own check: ValueError naming the value
        return "written"

    def gen(temperature):
        yield bad(temperature)

    async def agen(temperature):
        yield bad(temperature)

    fn = page_input.shown_to_user({"function": bad, "generator": gen, "async generator": agen}[kind])

    def run(temperature):
        if kind == "function":
            return [fn(temperature)]
        if kind == "generator":
            assert inspect.isgeneratorfunction(fn)
            return list(fn(temperature))
        assert inspect.isasyncgenfunction(fn)
        return asyncio.run(_collect(fn(temperature)))

    assert run(1.0) == ["written"]
    with pytest.raises(gr.Error, match="-1") as caught:
        run(-1.0)
    assert "emperature" in caught.value.message


async def _collect(agen):
    return [item async for item in agen]


def test_write_hands_gradio_its_updates_ready_to_send(served):
    """The Write event skips Gradio's per-update postprocessing (a thread hop per output per update, for a
    str() of a str): so everything Write yields must already be what the page takes, strings and the State."""
    _, model, vocab, _ = served
    write = next(f for f in app.build_demo(model, vocab, {}).fns.values() if f.api_name == "generate")
    assert write.postprocess is False and inspect.isasyncgenfunction(write.fn)
    updates = asyncio.run(_collect(page_actions.Actions(model, vocab).write(PROMPT, 0.8, 0, 1.0, 40, "3", False)))
    assert len(updates) >= 1
    for text, words, seed, written in updates:
        assert type(text) is str and type(words) is str and seed == "3" and isinstance(written, dict)
    assert text == _reference(model, vocab, PROMPT, 40, 0.8, 3).text
