"""Be the sampler and inspect a word (lm.stepping): every step is the step `generate` made.

Oracles: only rolling with seed s writes `generate(..., seed=s)`; a word taken by hand leaves the dice of
the later steps as they were; the strip's named slices are the likeliest words in the order `draw` walks
them, and the random number lands inside the slice of the word drawn; inspecting word i of a generation
finds that word drawn.
"""

import pytest

import lm
from lm.stepping import continue_text, inspect, next_step


def _roll(model, vocab, prompt, n, seed, t, top_k=None, top_p=None):
    tokens = []
    for _ in range(n):
        tokens.append(next_step(model, vocab, prompt, tokens, seed, t, top_k, top_p).drawn.token)
    return tokens


@pytest.mark.parametrize("t, top_k, top_p", [(1.0, None, None), (0.7, 5, None), (1.5, None, 0.9), (0.0, None, None)])
def test_only_rolling_writes_what_generate_writes(model, vocab, t, top_k, top_p):
    for seed in (0, 7):
        made = lm.generate(model, vocab, "the fox", 15, t, top_k, top_p, seed=seed, stop_at_eos=False)
        assert _roll(model, vocab, "the fox", 15, seed, t, top_k, top_p) == made.tokens


def test_only_rolling_a_long_prompt_writes_what_generate_writes(model, vocab):
    prompt = "the owl said , i am on the gate . the fox ran to the red gate and"  # read by model.read
    made = lm.generate(model, vocab, prompt, 12, 1.3, seed=3, stop_at_eos=False)
    assert _roll(model, vocab, prompt, 12, 3, 1.3) == made.tokens


def test_a_word_taken_by_hand_leaves_the_later_dice_alone(model, vocab):
    mine = ["kettle"]
    after = _roll(model, vocab, "the", 0, 5, 1.0)  # nothing yet
    steps = [next_step(model, vocab, "the", mine, 5, 1.0)]
    assert steps[0].position == 1
    rolled = lm.generate(model, vocab, "the", 8, 1.0, seed=5, stop_at_eos=False)
    assert rolled.uniforms[1] == steps[0].u  # the second word's roll, whatever the first word was
    cont = continue_text(model, vocab, "the", mine, 5, 1.0, 6)
    assert cont.tokens[0] == "kettle" and len(cont.tokens) == 7 and cont.uniforms == rolled.uniforms[:7]
    tokens = list(mine)
    for _ in range(6):
        tokens.append(next_step(model, vocab, "the", tokens, 5, 1.0).drawn.token)
    assert tokens == cont.tokens and after == []


def test_rolls_only_then_continue_is_generate(model, vocab):
    tokens = _roll(model, vocab, "a small fox", 4, 11, 0.9)
    assert continue_text(model, vocab, "a small fox", tokens, 11, 0.9, 10).tokens == \
        lm.generate(model, vocab, "a small fox", 14, 0.9, seed=11, stop_at_eos=False).tokens


def test_the_strip_is_the_likeliest_words_and_the_number_lands_on_the_pick(model, vocab):
    for seed in range(12):
        step = next_step(model, vocab, "the", [], seed, 1.4)
        probs = [t.prob for t in step.tickets]
        assert probs == sorted(probs, reverse=True) and len(step.tickets) == 10
        assert step.tickets[0].rank == 1 and step.tickets[0].start == 0
        assert abs(sum(probs) + step.others - 1) < 1e-5 and step.others_count == len(vocab) - 1 - 10
        d = step.drawn
        assert d.start - 1e-6 <= step.u < d.start + d.prob + 1e-6
        nexts = lm.next_token_distribution(model, vocab, "the", [1.4], top=10)[0]
        assert [t.token for t in step.tickets] == nexts.tokens
        assert probs == pytest.approx(nexts.probs, abs=1e-6)


def test_temperature_changes_the_slices_not_the_number(model, vocab):
    cold, hot = (next_step(model, vocab, "the fox", ["said"], 4, t) for t in (0.3, 2.5))
    assert cold.u == hot.u
    assert cold.tickets[0].prob > hot.tickets[0].prob and cold.others < hot.others
    assert cold.tickets[0].model_prob == pytest.approx(hot.tickets[0].model_prob)


def test_greedy_and_cut_offs_leave_only_the_words_that_can_be_drawn(model, vocab):
    greedy = next_step(model, vocab, "the", [], 1, 0)
    assert greedy.greedy and [t.prob for t in greedy.tickets] == [1.0] and greedy.others == 0
    assert greedy.drawn.rank == 1
    cut = next_step(model, vocab, "the", [], 1, 1.0, top_k=3)
    assert len(cut.tickets) == 3 and cut.others_count == 0
    # No "all other words" when none is left, whatever float32 makes of 1 - the sum of the named slices
    for k, seed in [(k, seed) for k in (2, 3, 5, 8) for seed in range(4)]:
        cut = next_step(model, vocab, "the", ["fox"], seed, 1.3, top_k=k)
        assert cut.others == 0 and cut.others_count == 0, (k, seed)


def test_inspect_finds_each_word_drawn(model, vocab):
    for t in (0.0, 0.8, 2.0):
        made = lm.generate(model, vocab, "the owl", 10, t, seed=2, stop_at_eos=False)
        for i, token in enumerate(made.tokens):
            step = inspect(model, vocab, made, i)
            assert step.drawn.token == token and step.u == made.uniforms[i]
            assert step.drawn.rank == made.ranks[i]
            assert step.drawn.model_prob == pytest.approx(made.probs[i], rel=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda m, v: next_step(m, v, "the", ["zzzunknown"], 1, 1.0), "does not know"),
    (lambda m, v: next_step(m, v, "the", "said", 1, 1.0), "tokens must be a list"),
    (lambda m, v: next_step(m, v, "the", [], -1, 1.0), "seed"),
    (lambda m, v: next_step(m, v, "the", [], 1, -2), "temperature"),
    (lambda m, v: inspect(m, v, lm.generate(m, v, "the", 3, seed=1, stop_at_eos=False), 3), "word"),
    (lambda m, v: continue_text(m, v, "the", [], 1, 1.0, -1), "max_new_tokens"),
])
def test_bad_input_is_named(model, vocab, call, message):
    with pytest.raises(ValueError, match=message):
        call(model, vocab)
