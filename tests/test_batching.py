"""Tests for lm.batching: many streams stepped as one batch, each equal to its solo `lm.stream`.

The oracle is `lm.stream` run alone: every batched stream must give its tokens and text pieces
exactly, and its probabilities to float precision, whatever else shares the batch, whenever it
joins and whenever the others leave. The model's step is slowed a little in most tests so that
streams genuinely overlap (the tiny model would otherwise finish a stream before the next joins).
"""

import math
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import lm
import lm.batching
import lm.prompt_cache
from lm.batching import BatchEngine

LONG_PROMPT = "the fox said , where is the small green kettle and the brass owl on the red gate ?"
CASES = [  # prompt, max_new_tokens, temperature, top_k, top_p, seed, stop_at_eos
    ("the owl", 40, 1.0, None, None, 1, False),
    ("", 25, 0.0, None, None, 2, False),
    ("A small fox", 60, 1.5, 5, None, 3, False),
    (LONG_PROMPT, 30, 0.7, None, 0.9, 4, False),
    ("where is the zebra", 50, 2.0, 0, 1.0, 5, False),  # an unknown word; top-k 0 and top-p 1 are off
    ("the kettle", 20, 1.0, None, None, 6, True),  # may stop early at <eos>
    ("The owl said,", 35, 1e-7, None, None, 7, False),  # below MIN_TEMPERATURE: greedy
    ("the red gate", 1, 1.0, 3, 0.5, 8, False),
    ("I ran", 45, 0.9, 4, 0.8, 9, True),
    ("the owl", 40, 1.0, None, None, 10, False),  # the same prompt as the first, another seed
    ("green", 70, 3.0, None, None, 11, False),
    ("the fox ran to", 15, 0.5, 2, None, 12, True),
]


def solo(model, vocab, case):
    prompt, n, t, k, p, seed, eos = case
    return list(lm.stream(model, vocab, prompt, max_new_tokens=n, temperature=t, top_k=k, top_p=p, seed=seed,
                          stop_at_eos=eos))


def batched(engine, case):
    prompt, n, t, k, p, seed, eos = case
    return list(engine.stream(prompt, max_new_tokens=n, temperature=t, top_k=k, top_p=p, seed=seed, stop_at_eos=eos))


def same(got, want):
    assert [s.token for s in got] == [s.token for s in want]
    assert [s.text for s in got] == [s.text for s in want]
    assert [s.prob for s in got] == pytest.approx([s.prob for s in want], rel=1e-5, abs=1e-7)


def slow_steps(model, monkeypatch, seconds=0.002):
    """Slow the model's step, so that streams started a few milliseconds apart share steps."""
    step = model.step

    def slow(token, hidden):
        time.sleep(seconds)
        return step(token, hidden)

    monkeypatch.setattr(model, "step", slow)


def run_together(engine, cases, delays):
    """Each case in its own thread, started after its delay; returns the results (or errors) in order."""
    results = [None] * len(cases)

    def run(i):
        time.sleep(delays[i])
        try:
            results[i] = batched(engine, cases[i])
        except Exception as e:  # noqa: BLE001 - the test looks at what each caller got
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not any(th.is_alive() for th in threads)
    return results


def wait_idle(engine, timeout=10.0):
    deadline = time.monotonic() + timeout
    while engine.busy():
        assert time.monotonic() < deadline, "the engine did not go idle"
        time.sleep(0.005)


# --------------------------------------------------------------------------------- oracles
def test_one_stream_equals_lm_stream(model, vocab):
    engine = BatchEngine(model, vocab)
    for case in CASES:
        same(batched(engine, case), solo(model, vocab, case))
    wait_idle(engine)


def test_concurrent_streams_joining_at_different_times_equal_their_solo_runs(model, vocab, monkeypatch):
    want = [solo(model, vocab, case) for case in CASES]
    assert any(len(w) < case[1] for w, case in zip(want, CASES))  # some leave early at <eos>
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    rng = random.Random(0)
    got = run_together(engine, CASES, [rng.uniform(0, 0.08) for _ in CASES])
    for g, w in zip(got, want):
        same(g, w)
    assert engine.stats["peak_rows"] >= 4  # they really shared steps
    wait_idle(engine)


def test_prompts_read_together_equal_each_read_alone(model, vocab):
    from lm.generation import read_prompt, read_prompts
    prompts = ["the owl", "the fox", "", LONG_PROMPT, "A small fox", "green", "the owl", LONG_PROMPT + " the"]
    got = read_prompts(model, vocab, prompts)
    assert len(got) == len(prompts)
    for prompt, (logits, hidden) in zip(prompts, got):
        _, _, want_logits, want_hidden = read_prompt(model, vocab, prompt)
        assert logits.shape == want_logits.shape == (1, len(vocab))
        torch.testing.assert_close(logits, want_logits, rtol=1e-5, atol=1e-6)
        for (h, c), (wh, wc) in zip(hidden, want_hidden):
            assert h.shape == wh.shape and c.shape == wc.shape
            torch.testing.assert_close(h, wh, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(c, wc, rtol=1e-5, atol=1e-6)
    assert read_prompts(model, vocab, []) == []


def test_prompts_joining_a_busy_batch_are_read_in_its_steps_and_kept(model, vocab, monkeypatch):
    """While the batch steps, a new short prompt is fed through the batch's own steps, a word a step, instead
    of steps of its own that stall every row: each row still equals its solo run, no step runs outside the
    worker, and what is read so is kept (a later class on the same prompts reads nothing)."""
    step, read, steps, reads = model.step, lm.prompt_cache.read_prompts, [], []

    def recorded_step(token, hidden):
        steps.append((threading.current_thread().name, token.numel()))
        time.sleep(0.002)
        return step(token, hidden)

    def recorded_read(model, vocab, prompts):
        reads.append((threading.current_thread().name, list(prompts)))
        return read(model, vocab, prompts)

    prompts = ["the owl", "the kettle", "the gate", "a fox", "the red gate", "green owl", "I ran", "the lion"]
    cases = [(prompt, 10, 1.0, None, None, seed, False) for seed, prompt in enumerate(prompts)]
    want = [solo(model, vocab, case) for case in cases]
    monkeypatch.setattr(model, "step", recorded_step)
    monkeypatch.setattr(lm.prompt_cache, "read_prompts", recorded_read)
    engine = BatchEngine(model, vocab)
    busy = engine.stream("the fox", 60, seed=0, stop_at_eos=False)
    next(busy)  # the batch is stepping when the class joins
    for g, w in zip(run_together(engine, cases, [0.0] * len(cases)), want):
        same(g, w)
    assert reads == [("lm-batch", ["the fox"])]  # only the first, which found the batch idle, was read alone
    assert {name for name, _ in steps} == {"lm-batch"}  # no step in a caller's thread
    assert max(n for _, n in steps) >= 5  # the class's prompts were stepped together with the busy stream
    before = len(steps)
    for g, w in zip(run_together(engine, cases, [0.0] * len(cases)), want):  # the same class again
        same(g, w)
    busy.close()
    assert reads == [("lm-batch", ["the fox"])] and len(steps) - before <= 12  # no prompt read again


def test_a_class_on_one_prompt_reads_it_once_until_the_weights_change(model, vocab, monkeypatch):
    read, reads = lm.prompt_cache.read_prompts, []

    def recorded_read(model, vocab, prompts):
        reads.append(list(prompts))
        return read(model, vocab, prompts)

    monkeypatch.setattr(lm.prompt_cache, "read_prompts", recorded_read)
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    cases = [("the owl", 15, 1.0, None, None, seed, False) for seed in range(6)] + [CASES[2]]
    want = [solo(model, vocab, case) for case in cases]
    # The first owl alone, then the rest once its read is kept; the fox is read alone or in the batch's steps.
    for g, w in zip(run_together(engine, cases, [0.0, 0.05, 0.06, 0.05, 0.07, 0.06, 0.02]), want):
        same(g, w)  # rows handed one read, each written as if alone
    for g, w in zip(run_together(engine, cases[:2], [0.0, 0.0]), want[:2]):  # a later class, the same prompt
        same(g, w)
    read_alone = sorted(p for r in reads for p in r)
    assert read_alone.count("the owl") == 1 and len(read_alone) + engine.stats["prompts_in_batch"] == 2
    with torch.no_grad():
        model.lstm[0].weight_hh_l0.mul_(0.5)  # new weights: an old read would write the old model's text
    case = ("the owl", 15, 1.0, None, None, 0, False)
    same(run_together(engine, [case], [0.0])[0], solo(model, vocab, case))
    assert sorted(p for r in reads for p in r).count("the owl") == 2


def test_many_rounds_of_random_streams(model, vocab, monkeypatch):
    rng = random.Random(1)
    prompts = ["the owl", "", "A green kettle", LONG_PROMPT, "where is", "the fox said"]
    cases = [(rng.choice(prompts), rng.randint(1, 80), rng.choice([0.0, 0.5, 1.0, 1.3, 2.5]),
              rng.choice([None, 3, 10]), rng.choice([None, 0.7, 0.95]), rng.randrange(2**40), rng.random() < 0.5)
             for _ in range(24)]
    want = [solo(model, vocab, case) for case in cases]
    slow_steps(model, monkeypatch, 0.001)
    engine = BatchEngine(model, vocab, max_rows=10)
    got = run_together(engine, cases, [rng.uniform(0, 0.15) for _ in cases])
    for g, w in zip(got, want):
        same(g, w)
    assert 2 <= engine.stats["peak_rows"] <= 10


def test_seed_none_draws_a_seed_per_stream(model, vocab):
    engine = BatchEngine(model, vocab)
    a = [s.token for s in engine.stream("the owl", 30, temperature=2.0, stop_at_eos=False)]
    b = [s.token for s in engine.stream("the owl", 30, temperature=2.0, stop_at_eos=False)]
    assert len(a) == len(b) == 30 and a != b


def test_zero_new_tokens_gives_nothing_and_never_joins(model, vocab):
    engine = BatchEngine(model, vocab)
    assert list(engine.stream("the owl", max_new_tokens=0)) == []
    assert engine.stats["steps"] == 0 and not engine.busy()


def test_chunks_hold_the_same_tokens_in_fewer_updates(model, vocab, monkeypatch):
    case = ("the owl", 100, 1.0, None, None, 3, False)
    want = solo(model, vocab, case)
    slow_steps(model, monkeypatch, 0.003)  # 100 steps: >= 0.3 s
    engine = BatchEngine(model, vocab)
    t0 = time.monotonic()
    chunks = list(engine.chunks("the owl", 100, 1.0, seed=3, stop_at_eos=False, interval=0.05))
    elapsed = time.monotonic() - t0
    same([item for chunk in chunks for item in chunk], want)
    assert all(chunks)
    assert len(chunks) <= elapsed / 0.05 + 2 < 100
    assert len(chunks[0]) <= 2  # the first word comes at once, not after an interval


def test_many_streams_send_fewer_lists_each(model, vocab, monkeypatch):
    """40 streams at once: each is paced near MAX_PACE (the server sends ~UPDATES_PER_SECOND lists in
    all), not 20 lists a second each, and still gets exactly its solo tokens."""
    slow_steps(model, monkeypatch, 0.01)  # 60 steps: >= 0.6 s
    engine = BatchEngine(model, vocab)
    results, times = [None] * 40, [0.0] * 40

    def run(i):
        t0 = time.monotonic()
        results[i] = list(engine.chunks("the owl", 60, 1.0, seed=i, stop_at_eos=False, interval=0.05))
        times[i] = time.monotonic() - t0

    threads = [threading.Thread(target=run, args=(i,)) for i in range(40)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert lm.batching.MAX_PACE > 0.05 and 40 / lm.batching.UPDATES_PER_SECOND >= lm.batching.MAX_PACE
    for i, chunks in enumerate(results):
        assert len(chunks) <= times[i] / lm.batching.MAX_PACE + 3 < 60
        monkeypatch.undo()
        want = solo(model, vocab, ("the owl", 60, 1.0, None, None, i, False))
        same([item for chunk in chunks for item in chunk], want)


# ------------------------------------------------------------------------------ leaving, limits
def test_a_closed_stream_leaves_the_batch(model, vocab, monkeypatch):
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    case = ("A small fox", 60, 1.5, 5, None, 3, False)
    want = solo(model, vocab, case)
    other = {}
    th = threading.Thread(target=lambda: other.update(got=batched(engine, case)))
    th.start()
    endless = engine.stream("the owl", max_new_tokens=10**6, temperature=1.0, seed=1, stop_at_eos=False)
    first = [next(endless) for _ in range(3)]
    endless.close()
    th.join(timeout=30)
    same(other["got"], want)  # the one still writing is not disturbed
    wait_idle(engine)  # the closed one left: nobody steps a million tokens
    assert engine.stats["rows"] < 1000
    same(first, solo(model, vocab, ("the owl", 3, 1.0, None, None, 1, False)))


def test_an_abandoned_stream_leaves_the_batch(model, vocab, monkeypatch):
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    endless = engine.stream("the owl", max_new_tokens=10**6, seed=1, stop_at_eos=False)
    next(endless)
    del endless  # garbage collected: closed
    wait_idle(engine)


def test_load_off_thread_runs_the_load_elsewhere_and_hands_back_its_result_or_its_error():
    here = threading.get_ident()
    assert lm.batching.load_off_thread(lambda a, b=0: (a + b, threading.get_ident()), 1, b=2)[0] == 3
    assert lm.batching.load_off_thread(threading.get_ident) != here
    with pytest.raises(FileNotFoundError, match="no such model"):
        lm.batching.load_off_thread(lm.load_pretrained, "/no such model")


@pytest.mark.slow  # a subprocess
def test_a_program_that_exits_while_the_batch_writes_exits_at_once_and_cleanly():
    """Streams still writing when the program ends (here one kept but no longer read): the worker stops
    at its next step, and the process exits 0, without "terminate called" (a daemon worker ended inside a
    torch call aborts the process)."""
    script = (f"import lm, lm.batching; model, vocab = lm.load_pretrained({str(BUNDLED)!r}); "
              "engine = lm.batching.BatchEngine(model, vocab); "
              "kept = [engine.stream('The lion', max_new_tokens=10**6, seed=s, stop_at_eos=False) for s in range(8)]; "
              "[next(k) for k in kept]; print('exiting', flush=True)")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "exiting"), done.stderr[-2000:]
    assert "terminate called" not in done.stderr
    assert time.monotonic() - start < 60  # not the 10**6 words


def test_rows_are_bounded_and_later_streams_wait_their_turn(model, vocab, monkeypatch):
    want = [solo(model, vocab, case) for case in CASES[:6]]
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab, max_rows=2)
    got = run_together(engine, CASES[:6], [0.0] * 6)
    for g, w in zip(got, want):
        same(g, w)
    assert engine.stats["peak_rows"] == 2


def test_the_engine_checks_its_model_vocab_and_max_rows(model, vocab):
    with pytest.raises(ValueError, match="max_rows must be an integer >= 1"):
        BatchEngine(model, vocab, max_rows=0)
    with pytest.raises(ValueError, match="model must be an LSTMLanguageModel"):
        BatchEngine("model", vocab)
    with pytest.raises(ValueError, match="vocab must be a Vocab"):
        BatchEngine(model, None)


# ------------------------------------------------------------------------------------ errors
BAD = [
    {"temperature": -1.0}, {"temperature": math.nan}, {"max_new_tokens": -1}, {"max_new_tokens": 2.5},
    {"top_k": -2}, {"top_p": 0.0}, {"top_p": 1.5}, {"seed": -1}, {"seed": "1"}, {"prompt": None},
    {"stop_at_eos": "no"}, {"temperature": [1.0]},
]


@pytest.mark.parametrize("bad", BAD, ids=[next(iter(b)) + "=" + repr(next(iter(b.values()))) for b in BAD])
def test_bad_arguments_raise_lm_streams_error_to_that_caller_only(model, vocab, monkeypatch, bad):
    kwargs = {"prompt": "the owl", "max_new_tokens": 10, "temperature": 1.0, "seed": 1} | bad
    with pytest.raises(ValueError) as expected:
        list(lm.stream(model, vocab, **kwargs))
    case = ("A small fox", 60, 1.5, 5, None, 3, False)
    want = solo(model, vocab, case)
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    other = {}
    th = threading.Thread(target=lambda: other.update(got=batched(engine, case)))
    th.start()
    time.sleep(0.02)
    with pytest.raises(ValueError) as got:
        list(engine.stream(**kwargs))
    assert str(got.value) == str(expected.value)
    th.join(timeout=30)
    same(other["got"], want)


POISON = "poison " + LONG_PROMPT  # longer than lm.generation.STEP_PROMPT_MAX: always read by read_prompts


def poison(logits: torch.Tensor, how: str) -> torch.Tensor:
    if how == "nan":
        return torch.full_like(logits, math.nan)
    bad = logits.clone()
    bad[0, 7] = math.inf  # one word's logit: the softmax is nan, as it is in the solo run
    return bad


@pytest.mark.parametrize("how", ["nan", "one +inf"])
def test_a_row_with_bad_logits_fails_alone(model, vocab, monkeypatch, how):
    read = lm.prompt_cache.read_prompts

    def poisoned(model, vocab, prompts):
        return [(poison(logits, how) if prompt == POISON else logits, hidden)
                for prompt, (logits, hidden) in zip(prompts, read(model, vocab, prompts))]

    monkeypatch.setattr(lm.prompt_cache, "read_prompts", poisoned)
    want = [solo(model, vocab, case) for case in CASES[:4]]
    slow_steps(model, monkeypatch)
    engine = BatchEngine(model, vocab)
    cases = CASES[:2] + [(POISON, 20, 1.0, None, None, 1, False)] + CASES[2:4]
    got = run_together(engine, cases, [0.0, 0.0, 0.01, 0.01, 0.01])
    assert isinstance(got[2], ValueError) and "nan" in str(got[2])
    for g, w in zip(got[:2] + got[3:], want):
        same(g, w)


def fail_one_step(model, monkeypatch, which: int) -> None:
    """The model's step number `which` (from 1) raises, as an out-of-memory error would; the others run."""
    step, calls = model.step, []

    def failing_once(token, hidden):
        calls.append(1)
        if len(calls) == which:
            raise RuntimeError("out of memory")
        return step(token, hidden)

    monkeypatch.setattr(model, "step", failing_once)


def test_a_failed_step_fails_its_rows_and_the_engine_goes_on(model, vocab, monkeypatch):
    fail_one_step(model, monkeypatch, 5)
    engine = BatchEngine(model, vocab)
    with pytest.raises(RuntimeError, match="batched generation step failed: RuntimeError: out of memory"):
        list(engine.stream("the owl", 20, seed=1, stop_at_eos=False))
    wait_idle(engine)
    case = ("the owl", 20, 1.0, None, None, 1, False)
    same(batched(engine, case), solo(model, vocab, case))


# --------------------------------------------------------------------------- the bundled model
BUNDLED = Path(__file__).resolve().parent.parent / "assets" / "oz-lstm"


@pytest.mark.skipif(not (BUNDLED / "model.safetensors").exists(), reason="no bundled model")
def test_a_class_of_32_on_the_bundled_model_equals_solo_runs():
    """The app's model at the app's batch size: oneDNN's packed step at batch 32 must give each row
    what it gives at batch 1 (tokens exactly; probabilities to float precision)."""
    model, vocab = lm.load_pretrained(BUNDLED)
    prompts = ["The lion was afraid, but", "Dorothy", "", "The Scarecrow said", "Once upon a time the wizard"]
    cases = [(prompts[i % 5], 20 + i % 9, [1.0, 0.7, 1.5, 0.0][i % 4], [None, 40][i % 2], [None, 0.9][i % 3 == 0],
              100 + i, False) for i in range(32)]
    want = [solo(model, vocab, case) for case in cases]
    engine = BatchEngine(model, vocab)
    got = run_together(engine, cases, [0.0] * 32)
    for g, w in zip(got, want):
        same(g, w)
    assert engine.stats["peak_rows"] >= 16
