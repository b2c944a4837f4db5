"""Each generated token's rank (1 = the model's favourite, before temperature), as the page's "colour by rank"
shows it: checked against a full sort of the model's next-token distribution at every step."""

import pytest

import lm
from lm.batching import BatchEngine


def _sorted_rank(model, vocab, words: list[str], token: str) -> int:
    """The oracle: `token`'s place in next_token_distribution's ranking of every word after `words`."""
    prefix = " ".join(words)
    assert lm.tokenize(prefix) == words  # the prefix reads back as the same tokens
    (dist,) = lm.next_token_distribution(model, vocab, prefix, [1.0], top=len(vocab))
    return dist.tokens.index(token) + 1


@pytest.mark.parametrize("temperature, top_k", [(2.0, None), (1.0, 3), (0.0, None)])
def test_each_rank_is_the_tokens_place_in_the_sorted_distribution(model, vocab, temperature, top_k):
    g = lm.generate(model, vocab, "the owl", max_new_tokens=12, temperature=temperature, top_k=top_k, seed=5)
    assert len(g.ranks) == len(g.tokens) > 0
    for i, token in enumerate(g.tokens):
        assert g.ranks[i] == _sorted_rank(model, vocab, g.prompt_tokens + g.tokens[:i], token), i
    if temperature == 0:
        assert set(g.ranks) == {1}  # greedy always takes the favourite
    if top_k:
        assert max(g.ranks) <= top_k  # top-k draws only from the k best: the ranks say so


def test_a_hot_run_writes_words_that_were_not_the_favourite(untrained_model, vocab):
    g = lm.generate(untrained_model, vocab, "the fox", max_new_tokens=30, temperature=3.0, seed=2, stop_at_eos=False)
    assert max(g.ranks) > 1  # the test above is not only about rank 1


def test_stream_sweep_and_the_batch_engine_give_the_same_ranks(model, vocab):
    args = dict(max_new_tokens=15, temperature=1.5, seed=11, stop_at_eos=False)
    want = lm.generate(model, vocab, "a small fox", **args).ranks
    assert [t.rank for t in lm.stream(model, vocab, "a small fox", **args)] == want
    rest = {k: v for k, v in args.items() if k != "temperature"}
    assert lm.sweep(model, vocab, "a small fox", [0.5, 1.5], **rest)[1].ranks == want  # row 1 is T = 1.5
    assert [t.rank for t in BatchEngine(model, vocab).stream("a small fox", **args)] == want
