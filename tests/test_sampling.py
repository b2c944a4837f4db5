"""Tests for lm.sampling: generate, stream, sweep, next_token_distribution and their filters.

Pins down, against real tiny models built in conftest.py:
- oracles: top_k=1 == greedy; temperature 0 is greedy whatever the seed and equals an argmax
  decode written here from `forward`; same seed -> same output; different seeds -> different
  outputs; sweep row i == generate(temperature=temperatures[i]) token for token (rows that stop
  at <eos> early and rows at temperature 0 included); stream == generate;
- `.probs` are the model's own probabilities (softmax of forward's logits, before temperature);
- `<unk>` is never emitted, even when it is the most likely token or has probability ~1;
- prompts: empty prompt starts from the <eos> state; unknown words are fed as <unk> and reported;
  stop_at_eos=False continues past <eos>, shown as a line break;
- filters: top-k and top-p with Hugging Face semantics, checked against hand computations;
  next_token_distribution's probabilities and entropy against a manual computation;
- the empirical distribution of sample_next_token matches softmax(logits / T) (chi-square);
- hygiene: the global RNG is never touched; train mode is restored; bad arguments raise
  ValueError naming the argument and the value; bfloat16 models work.
"""

import copy
import math
import time

import pytest
import torch

from lm import (
    LMConfig,
    LSTMLanguageModel,
    StreamToken,
    Vocab,
    detokenize,
    generate,
    next_token_distribution,
    stream,
    sweep,
    tokenize,
)
from lm import generation as lm_generation
from lm.sampling import draw, entropy_bits, filter_logits, sample_next_token, ticket_order
from lm.text import EOS, UNK, Printing


# --------------------------------------------------------------------------------- helpers
def forward_logits(model, vocab, tokens):
    """Logits (T, V) of `forward` over <eos> + tokens, from a zero state, as float32."""
    ids = [vocab.eos_index] + vocab.encode(tokens)
    with torch.no_grad():
        logits, _ = model.eval()(torch.tensor([ids]))
    return logits[0].float()


def greedy_reference(model, vocab, prompt, n, stop_at_eos=True):
    """Argmax decoding re-done from scratch: re-run forward over the whole prefix each step."""
    tokens = tokenize(prompt)
    out = []
    for _ in range(n):
        logits = forward_logits(model, vocab, tokens + out)[-1].clone()
        logits[vocab.unk_index] = -math.inf
        token = vocab.itos[int(logits.argmax())]
        if token == EOS and stop_at_eos:
            break
        out.append(token)
    return out


def same(a, b):
    """Two Generations agree token for token, with the same probabilities."""
    assert a.tokens == b.tokens
    assert a.probs == pytest.approx(b.probs, abs=1e-6)


# --------------------------------------------------------------------------------- oracles
def test_greedy_equals_argmax_decode(model, vocab):
    g = generate(model, vocab, "the owl", max_new_tokens=20, temperature=0)
    assert g.tokens == greedy_reference(model, vocab, "the owl", 20)
    assert 0 < len(g.tokens) < 20  # the trained-ish model ends its line with <eos>
    g = generate(model, vocab, "the owl", max_new_tokens=20, temperature=0, stop_at_eos=False)
    assert g.tokens == greedy_reference(model, vocab, "the owl", 20, stop_at_eos=False)
    assert len(g.tokens) == 20 and EOS in g.tokens


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5, 10.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_k_1_is_greedy(model, vocab, temperature, seed):
    greedy = generate(model, vocab, "the fox", 20, temperature=0, stop_at_eos=False)
    g = generate(model, vocab, "the fox", 20, temperature=temperature, top_k=1, seed=seed, stop_at_eos=False)
    same(g, greedy)


def test_temperature_0_ignores_seed_and_filters(model, vocab):
    runs = [generate(model, vocab, "a small", 15, temperature=0, seed=s, stop_at_eos=False) for s in (0, 1, 99, None)]
    runs.append(generate(model, vocab, "a small", 15, temperature=0, top_k=3, top_p=0.5, seed=5, stop_at_eos=False))
    for g in runs[1:]:
        same(g, runs[0])


@pytest.mark.parametrize("kwargs", [{}, {"top_k": 5}, {"top_p": 0.9}, {"top_k": 8, "top_p": 0.7}])
def test_same_seed_same_output(model, vocab, kwargs):
    a = generate(model, vocab, "the owl", 25, temperature=1.5, seed=42, stop_at_eos=False, **kwargs)
    b = generate(model, vocab, "the owl", 25, temperature=1.5, seed=42, stop_at_eos=False, **kwargs)
    assert a.tokens == b.tokens and a.probs == b.probs and a.seed == b.seed == 42


def test_different_seeds_differ(untrained_model, vocab):
    """Ten seeds, ten different 20-token continuations.

    The freshly initialised model is near-uniform over its 28 emittable tokens: the check below
    confirms that no token has probability above 0.1 at any step of these runs. Two independent
    runs then agree on all 20 tokens with probability at most about 0.1**20 = 1e-20, so even over
    the 45 pairs a correct sampler fails with probability < 1e-18; a sampler that ignored the seed
    (or used one shared stream badly) would fail with certainty. The seeds are fixed, so the
    outcome is deterministic either way.
    """
    runs = [generate(untrained_model, vocab, "", 20, temperature=1.0, seed=s, stop_at_eos=False) for s in range(10)]
    for g in runs:
        probs = forward_logits(untrained_model, vocab, g.tokens).softmax(-1)
        assert probs.max() < 0.1
    assert len({tuple(g.tokens) for g in runs}) == 10


def test_seed_none_is_reported_and_reproducible(model, vocab):
    g = generate(model, vocab, "the owl", 20, temperature=1.3, seed=None, stop_at_eos=False)
    assert isinstance(g.seed, int) and 0 <= g.seed < 2**63
    same(generate(model, vocab, "the owl", 20, temperature=1.3, seed=g.seed, stop_at_eos=False), g)


# ---------------------------------------------------------------------------------- sweep
TEMPS = [0.0, 0.5, 1.0, 1.5, 3.0, 0.0, 1.0, 5.0]


@pytest.mark.parametrize("kwargs", [{}, {"top_k": 6}, {"top_p": 0.8}, {"stop_at_eos": False}])
def test_sweep_rows_equal_single_runs(model, vocab, kwargs):
    rows = sweep(model, vocab, "the owl", TEMPS, max_new_tokens=25, seed=7, **kwargs)
    assert [g.temperature for g in rows] == TEMPS
    for t, row in zip(TEMPS, rows):
        single = generate(model, vocab, "the owl", max_new_tokens=25, temperature=t, seed=7, **kwargs)
        same(row, single)
        assert row.seed == 7
    lengths = [len(g.tokens) for g in rows]
    if kwargs.get("stop_at_eos", True):
        # The case that matters: rows leave the batch at different steps.
        assert min(lengths) < 25 and len(set(lengths)) >= 2, lengths
    else:
        assert lengths == [25] * len(TEMPS)


def test_sweep_with_seed_none_shares_one_seed(model, vocab):
    rows = sweep(model, vocab, "where is", [0.7, 1.0, 2.0], 15)
    assert len({g.seed for g in rows}) == 1
    for g in rows:
        same(generate(model, vocab, "where is", 15, temperature=g.temperature, seed=g.seed), g)


def test_sweep_with_seeds_gives_each_row_its_own_seed(model, vocab):
    # Many samples at one temperature in one batch: row i is what generate writes with seeds[i].
    rows = sweep(model, vocab, "the owl", [1.0, 1.0, 2.0], 20, seeds=[3, 4, 5], stop_at_eos=False)
    assert [g.seed for g in rows] == [3, 4, 5]
    for g in rows:
        same(generate(model, vocab, "the owl", 20, temperature=g.temperature, seed=g.seed, stop_at_eos=False), g)
    assert rows[0].tokens != rows[1].tokens
    for bad in ([1, 2], [1, 2, -1], "123", 7):
        with pytest.raises(ValueError, match="seed"):
            sweep(model, vocab, "the", [1.0, 1.0, 1.0], 5, seeds=bad)


def test_sweep_rejects_empty_or_bad_temperatures(model, vocab):
    with pytest.raises(ValueError, match="temperatures"):
        sweep(model, vocab, "the", [], seed=0)
    with pytest.raises(ValueError, match="temperature"):
        sweep(model, vocab, "the", [1.0, -1.0], seed=0)


# ----------------------------------------------------------------------------- probabilities
@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_probs_are_model_probabilities_before_temperature(model, vocab, temperature):
    g = generate(model, vocab, "the owl", 15, temperature=temperature, seed=3, stop_at_eos=False)
    logits = forward_logits(model, vocab, g.prompt_tokens + g.tokens)  # (T, V), full vocabulary
    start = len(g.prompt_tokens)  # position whose logits predict the first new token
    ids = vocab.encode(g.tokens)
    expected = [logits[start + i].softmax(-1)[tok].item() for i, tok in enumerate(ids)]
    assert g.probs == pytest.approx(expected, abs=1e-5)
    scaled = [(logits[start + i] / temperature).softmax(-1)[tok].item() for i, tok in enumerate(ids)]
    assert max(abs(a - b) for a, b in zip(g.probs, scaled)) > 1e-2  # so "before temperature" is pinned


def test_stream_yields_what_generate_returns(model, vocab):
    for kwargs in ({"temperature": 1.2, "seed": 11}, {"temperature": 0}, {"temperature": 2.0, "seed": 3, "top_p": 0.9}):
        items = list(stream(model, vocab, "the kettle", 20, **kwargs))
        g = generate(model, vocab, "the kettle", 20, **kwargs)
        assert all(isinstance(x, StreamToken) for x in items)
        assert [x.token for x in items] == g.tokens
        assert [x.prob for x in items] == pytest.approx(g.probs, abs=1e-7)


def test_interleaved_streams_do_not_disturb_each_other(model, vocab):
    """Two users streaming at once: each gets exactly what it would get alone."""
    a = stream(model, vocab, "the owl", 20, temperature=1.5, seed=1, stop_at_eos=False)
    b = stream(model, vocab, "a fox", 20, temperature=1.5, seed=2, stop_at_eos=False)
    got_a, got_b = [], []
    for x, y in zip(a, b):
        got_a.append(x.token)
        got_b.append(y.token)
    assert got_a == generate(model, vocab, "the owl", 20, temperature=1.5, seed=1, stop_at_eos=False).tokens
    assert got_b == generate(model, vocab, "a fox", 20, temperature=1.5, seed=2, stop_at_eos=False).tokens


# ------------------------------------------------------------------------------------ <unk>
def biased(model, index, amount):
    m = copy.deepcopy(model)
    with torch.no_grad():
        m.fc.bias[index] += amount
    return m


def test_unk_never_emitted_even_when_most_likely(model, vocab):
    m = biased(model, vocab.unk_index, 20.0)
    p_unk = forward_logits(m, vocab, tokenize("the owl")).softmax(-1)[:, vocab.unk_index]
    assert p_unk.min() > 0.9  # <unk> is by far the most likely token everywhere
    for t in (0, 0.5, 1.0, 2.0, 5.0):
        for kw in ({}, {"top_k": 1}, {"top_k": 3}, {"top_p": 0.5}):
            for seed in range(3):
                g = generate(m, vocab, "the owl", 15, temperature=t, seed=seed, stop_at_eos=False, **kw)
                assert len(g.tokens) == 15 and UNK not in g.tokens, (t, kw, seed)
    for g in sweep(m, vocab, "the owl", [0, 1, 3], 15, seed=0, stop_at_eos=False):
        assert UNK not in g.tokens
    for d in next_token_distribution(m, vocab, "the owl", [0, 1, 3], top=len(vocab)):
        assert UNK not in d.tokens and len(d.tokens) == len(vocab) - 1
        assert sum(d.probs) == pytest.approx(1.0, abs=1e-5)  # all the mass is on real tokens


def test_unk_with_probability_one_still_terminates(model, vocab):
    """The notebook resampled until it drew a non-<unk>: with p(<unk>) ~ 1 that never ends."""
    m = biased(model, vocab.unk_index, 1e4)
    assert forward_logits(m, vocab, ["the"]).softmax(-1)[:, vocab.unk_index].min() == 1.0  # in float32
    start = time.perf_counter()
    g = generate(m, vocab, "the", 200, temperature=1.0, seed=0, stop_at_eos=False)
    assert time.perf_counter() - start < 10
    assert len(g.tokens) == 200 and UNK not in g.tokens
    assert max(g.probs) < 1e-6  # honest: the model itself gives these tokens ~0 probability


# ---------------------------------------------------------------------------------- prompts
def test_stop_at_eos_false_continues_past_eos(model, vocab):
    m = biased(model, vocab.eos_index, 1e3)  # <eos> every time
    assert generate(m, vocab, "the owl", 5, temperature=1.0, seed=0).tokens == []
    g = generate(m, vocab, "the owl", 4, temperature=1.0, seed=0, stop_at_eos=False)
    assert g.tokens == [EOS] * 4
    assert g.text == "the owl" + "\n\n" * 4  # the prompt as typed; each <eos> a paragraph break
    # The unbiased model: something follows an <eos>, and the text shows the paragraph break.
    g = generate(model, vocab, "the owl", 30, temperature=0, stop_at_eos=False)
    i = g.tokens.index(EOS)
    assert i + 1 < len(g.tokens)
    assert g.text.split("\n\n")[0] == "the owl" + detokenize(g.tokens[:i], context=g.prompt_tokens)


@pytest.mark.parametrize("prompt", ["", '"', "   "])  # all tokenize to nothing
def test_empty_prompt_starts_from_eos_state(model, vocab, prompt):
    g = generate(model, vocab, prompt, 10, temperature=0, stop_at_eos=False)
    assert g.prompt_tokens == [] and g.unknown_words == []
    assert g.tokens == greedy_reference(model, vocab, "", 10, stop_at_eos=False)
    first = forward_logits(model, vocab, [])[-1].softmax(-1)  # the state after one <eos>
    assert g.probs[0] == pytest.approx(first[vocab[g.tokens[0]]].item(), abs=1e-6)
    assert g.text == prompt + detokenize(g.tokens)  # the prompt as typed, then the new words


def test_unknown_prompt_words_are_unk(model, vocab):
    g = generate(model, vocab, "The zyzzyva owl", 5, temperature=0.8, seed=0, stop_at_eos=False)
    assert g.prompt_tokens == ["the", "zyzzyva", "owl"]
    assert g.unknown_words == ["zyzzyva"]
    fed_unk = forward_logits(model, vocab, ["the", UNK, "owl"])[-1].softmax(-1)
    assert g.probs[0] == pytest.approx(fed_unk[vocab[g.tokens[0]]].item(), abs=1e-6)
    skipped = forward_logits(model, vocab, ["the", "owl"])[-1].softmax(-1)
    assert abs(g.probs[0] - skipped[vocab[g.tokens[0]]].item()) > 1e-4  # the <unk> was really fed
    assert g.text.startswith("The zyzzyva owl")  # the user's words are kept in the text


def test_max_new_tokens_0(model, vocab):
    g = generate(model, vocab, "the owl", max_new_tokens=0, temperature=1.0, seed=0)
    assert g.tokens == [] and g.probs == [] and g.text == "the owl"  # the prompt as typed
    assert list(stream(model, vocab, "the owl", max_new_tokens=0)) == []
    assert [r.tokens for r in sweep(model, vocab, "the owl", [0, 1], max_new_tokens=0, seed=0)] == [[], []]


def test_non_string_prompt(model, vocab):
    with pytest.raises(ValueError, match="prompt"):
        generate(model, vocab, None, 5, seed=0)


# -------------------------------------------------------------------------------- filtering
def hf_top_p_keep(probs: list[float], p: float) -> set[int]:
    """By hand: the smallest set of most likely tokens whose mass reaches p (at least one)."""
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    keep, mass = set(), 0.0
    for i in order:
        keep.add(i)
        mass += probs[i]
        if mass >= p:
            break
    return keep


def kept(x: torch.Tensor) -> set[int]:
    return {i for i, v in enumerate(x.tolist()) if v != -math.inf}


def test_top_p_hand_cases():
    logits = torch.tensor([[0.6, 0.3, 0.1]]).log()
    one = torch.tensor([1.0])
    assert kept(filter_logits(logits, one, top_p=0.55)[0]) == {0}
    assert kept(filter_logits(logits, one, top_p=0.6 - 1e-4)[0]) == {0}
    assert kept(filter_logits(logits, one, top_p=0.61)[0]) == {0, 1}
    assert kept(filter_logits(logits, one, top_p=0.95)[0]) == {0, 1, 2}
    assert kept(filter_logits(logits, one, top_p=1.0)[0]) == {0, 1, 2}
    assert kept(filter_logits(logits, one, top_p=1e-9)[0]) == {0}  # never fewer than one
    # Exactly on the boundary (0.25 is exact in binary): the mass must *reach* p, so two of four
    # equal tokens make 0.5 and three make 0.75 (Hugging Face removes the tail whose mass is <= 1 - p).
    flat = torch.zeros(1, 4)
    assert len(kept(filter_logits(flat, one, top_p=0.5)[0])) == 2
    assert len(kept(filter_logits(flat, one, top_p=0.75)[0])) == 3
    assert len(kept(filter_logits(flat, one, top_p=0.76)[0])) == 4
    # Temperature first: at T=4 the probabilities are ~[0.40, 0.34, 0.26], so p=0.55 needs two.
    assert kept(filter_logits(logits, torch.tensor([4.0]), top_p=0.55)[0]) == {0, 1}
    # Top-k first, then top-p over the renormalised survivors: [0.4, 0.3] -> [4/7, 3/7].
    four = torch.tensor([[0.4, 0.3, 0.2, 0.1]]).log()
    assert kept(filter_logits(four, one, top_p=0.5)[0]) == {0, 1}
    assert kept(filter_logits(four, one, top_k=2, top_p=0.5)[0]) == {0}
    # Kept entries are the temperature-scaled logits, untouched.
    out = filter_logits(four, torch.tensor([2.0]), top_k=3)
    assert torch.equal(out[0, :3], four[0, :3] / 2) and out[0, 3] == -math.inf


def test_top_p_matches_hand_computation_on_random_rows():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(60, 12, generator=gen) * 2
    logits[:, 0] = -math.inf  # a masked <unk>, as the sampler passes them
    checked = 0
    for p in (0.05, 0.3, 0.5, 0.75, 0.9, 0.99, 1.0):
        out = filter_logits(logits, torch.ones(60), top_p=p)
        for row in range(60):
            probs = logits[row].double().softmax(-1).tolist()
            cum = sorted(probs, reverse=True)
            sums = [sum(cum[: i + 1]) for i in range(len(cum))]
            if p < 1.0 and min(abs(s - p) for s in sums) < 1e-5:
                continue  # too close to the boundary for float32 to decide
            assert kept(out[row]) == hf_top_p_keep(probs, p) - ({0} if probs[0] == 0 else set()), (p, row)
            checked += 1
    assert checked > 400


def test_top_k():
    x = torch.tensor([[3.0, 1.0, 2.0, 0.0, -1.0], [0.0, 1.0, 2.0, 3.0, 4.0]])
    assert [kept(r) for r in filter_logits(x, torch.ones(2), top_k=2)] == [{0, 2}, {3, 4}]
    assert [kept(r) for r in filter_logits(x, torch.ones(2), top_k=50)] == [set(range(5))] * 2
    assert torch.equal(filter_logits(x, torch.ones(2)), x)  # no filter, T=1: unchanged


def test_next_token_distribution_matches_manual(model, vocab):
    temps = [0, 0.5, 1.0, 2.0]
    dists = next_token_distribution(model, vocab, "the owl", temps, top=6)
    logits = forward_logits(model, vocab, ["the", "owl"])[-1]
    logits[vocab.unk_index] = -math.inf
    order = logits.argsort(descending=True)[:6].tolist()
    tokens = [vocab.itos[i] for i in order]
    for t, d in zip(temps, dists):
        assert d.temperature == t and d.tokens == tokens
        if t == 0:
            assert d.probs == [1.0, 0, 0, 0, 0, 0] and d.entropy == 0.0
            continue
        p = (logits.double() / t).softmax(-1)
        assert d.probs == pytest.approx(p[order].tolist(), abs=1e-6)
        nz = p[p > 0]
        assert d.entropy == pytest.approx(-(nz * nz.log2()).sum().item(), abs=1e-5)
    assert dists[1].entropy < dists[2].entropy < dists[3].entropy  # hotter, flatter


def test_next_token_distribution_with_filters(model, vocab):
    logits = forward_logits(model, vocab, ["a"])[-1]
    logits[vocab.unk_index] = -math.inf
    order = logits.argsort(descending=True).tolist()
    d = next_token_distribution(model, vocab, "a", [1.5], top=8, top_k=3)[0]
    p3 = (logits[order[:3]] / 1.5).softmax(-1).tolist()
    assert d.probs == pytest.approx(p3 + [0.0] * 5, abs=1e-6)
    assert d.entropy == pytest.approx(-sum(q * math.log2(q) for q in p3), abs=1e-5)
    probs = (logits.double() / 1.5).softmax(-1).tolist()
    keep = hf_top_p_keep(probs, 0.7)
    d = next_token_distribution(model, vocab, "a", [1.5], top=len(vocab), top_p=0.7)[0]
    assert {vocab[t] for t, q in zip(d.tokens, d.probs) if q > 0} == keep
    assert sum(d.probs) == pytest.approx(1.0, abs=1e-6)


def test_entropy_bits():
    assert entropy_bits(torch.tensor([0.5, 0.5])).item() == pytest.approx(1.0)
    assert entropy_bits(torch.tensor([0.25] * 4)).item() == pytest.approx(2.0)
    assert entropy_bits(torch.tensor([1.0, 0.0, 0.0])).item() == 0.0


# ------------------------------------------------------------------------------- statistics
# chi-square critical value with 7 degrees of freedom at p = 1e-6 (scipy.stats.chi2.isf(1e-6, 7)).
CHI2_7_1E6 = 40.52


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = probs.double() * counts.sum()
    return float(((counts.double() - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("temperature", [1.0, 3.0, 10.0])
def test_empirical_distribution_matches_softmax_over_t(temperature):
    """20,000 draws from one logits row follow softmax(logits / T), from moderate to high T.

    Pearson's chi-square over the 8 tokens has 7 degrees of freedom under a correct sampler; it
    exceeds 40.52 with probability 1e-6, so the seeded test cannot fail by bad luck in any
    realistic sense (every token expects > 50 draws, so the chi-square approximation holds; the
    observed statistics are ~4-11). Power: the same counts tested against the distribution of a
    temperature off by a factor of 2 either way (and, for T != 1, of T ignored) must be rejected:
    at n = 20,000 those give chi-square > 100 even at T = 10, where all the distributions are
    flattest.
    """
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -0.5, -1.0, -2.0, -3.0])
    n, V = 20_000, logits.numel()
    gen = torch.Generator().manual_seed(1234)
    ids = sample_next_token(logits.expand(n, V), [temperature] * n, [gen] * n)
    counts = torch.bincount(ids, minlength=V)
    target = (logits / temperature).softmax(-1)
    assert target.min() * n > 50
    assert chi_square(counts, target) < CHI2_7_1E6
    wrongs = [(logits / (temperature / 2)).softmax(-1), (logits / (temperature * 2)).softmax(-1)]
    if temperature != 1.0:
        wrongs.append(logits.softmax(-1))
    for wrong in wrongs:
        assert chi_square(counts, wrong) > 2 * CHI2_7_1E6


def test_sample_next_token_rows_are_independent():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 10, generator=gen)
    gens = [torch.Generator().manual_seed(s) for s in (5, 6, 7)]
    states = [g.get_state() for g in gens]
    batch = sample_next_token(logits, [1.0, 0.0, 2.0], gens)
    assert batch[1] == logits[1].argmax()
    rolled = torch.Generator().manual_seed(6)
    torch.rand((), generator=rolled, dtype=torch.float64)
    assert not torch.equal(gens[1].get_state(), states[1])
    assert torch.equal(gens[1].get_state(), rolled.get_state())  # a greedy row rolls once too, as every row
    for b, t, s in ((0, 1.0, 5), (2, 2.0, 7)):
        alone = sample_next_token(logits[b:b + 1], [t], [torch.Generator().manual_seed(s)])
        assert alone[0] == batch[b]


def test_draw_walks_the_ticket_strip_likeliest_words_first():
    # Twelve words: the ten likeliest come first on the strip, best first, then the rest in id order,
    # so u lands where the page draws it.
    probs = torch.tensor([[0.01, 0.2, 0.01, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.1]])
    probs = probs / probs.sum()
    values, ids, rest = ticket_order(probs)
    strip = ids[0].tolist() + [i for i in range(12) if i not in ids[0].tolist()]
    assert strip[:3] == [1, 10, 9] and strip[-2:] == [0, 2]
    assert torch.equal(rest[0, ids[0]], torch.zeros(10))
    edges = torch.cat([torch.zeros(1, dtype=torch.float64), probs[0, strip].double().cumsum(0)])
    for k, word in enumerate(strip):  # a point inside each slice picks that slice's word
        mid = (edges[k] + edges[k + 1]) / 2
        assert draw(probs, mid.reshape(1) / edges[-1]).item() == word
    assert draw(probs, torch.tensor([0.0], dtype=torch.float64)).item() == 1
    assert draw(probs, torch.tensor([1 - 2**-53], dtype=torch.float64)).item() == 2  # never off the strip


def test_draw_never_picks_a_word_without_mass_past_the_strip():
    probs = torch.tensor([[0.0] * 5 + [0.5, 0.5] + [0.0] * 20])
    assert draw(probs, torch.tensor([1 - 2**-53], dtype=torch.float64)).item() == 6


def test_side_by_side_columns_roll_the_same_dice_at_every_step(model, vocab):
    # Same dice, different temperature: one seed, so at each step every column's draw uses the same
    # random number, greedy columns included; the texts differ by the temperature alone.
    temps = [0.0, 0.5, 1.0, 2.0]
    gens = sweep(model, vocab, "the fox", temps, max_new_tokens=12, seed=9, stop_at_eos=False)
    assert len({tuple(g.uniforms) for g in gens}) == 1
    dice = torch.Generator().manual_seed(9)
    expected = [torch.rand((), generator=dice, dtype=torch.float64).item() for _ in range(12)]
    assert gens[0].uniforms == expected
    assert len({tuple(g.tokens) for g in gens}) > 1  # the temperatures did change the words


# ---------------------------------------------------------------------------------- hygiene
def test_global_rng_untouched(vocab):
    torch.manual_seed(0)
    m = LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 2, 0.5, dropout_emb=0.2, locked_dropout=True)).train()
    state = torch.get_rng_state()
    generate(m, vocab, "the owl", 10, temperature=1.0, seed=None)
    generate(m, vocab, "the owl", 10, temperature=1.0, seed=5, top_k=4, top_p=0.9)
    sweep(m, vocab, "the owl", [0, 1, 2], 10, seed=None)
    list(stream(m, vocab, "the owl", 10, seed=3))
    next_token_distribution(m, vocab, "the owl", [0.5, 1.0])
    assert torch.equal(torch.get_rng_state(), state)
    assert m.training  # and the model is back in train mode


def test_train_mode_restored(model, vocab):
    model.train()
    generate(model, vocab, "the", 5, seed=0)
    assert model.training
    sweep(model, vocab, "the", [0, 1], 5, seed=0)
    assert model.training
    assert len(list(stream(model, vocab, "the", 5, seed=0, stop_at_eos=False))) == 5
    assert model.training
    s = stream(model, vocab, "the", 5, seed=0)
    next(s)
    s.close()  # a consumer that stops early
    assert model.training
    next_token_distribution(model, vocab, "the", [1.0])
    assert model.training
    with pytest.raises(ValueError):
        generate(model, vocab, 42, 5, seed=0)
    assert model.training
    model.eval()
    generate(model, vocab, "the", 5, seed=0)
    assert not model.training


NAN, INF = float("nan"), float("inf")
BAD_ARGS = [
    ("temperature", -0.1), ("temperature", -1), ("temperature", NAN), ("temperature", INF), ("temperature", -INF),
    ("temperature", "0.7"), ("temperature", "hot"), ("temperature", None), ("temperature", True),
    ("top_k", -1), ("top_k", 1.5), ("top_k", 2.0), ("top_k", "3"), ("top_k", True),
    ("top_p", 0), ("top_p", 0.0), ("top_p", 1.5), ("top_p", -0.2), ("top_p", NAN), ("top_p", "0.9"),
    ("max_new_tokens", -1), ("max_new_tokens", 2.5), ("max_new_tokens", "10"), ("max_new_tokens", None),
    ("seed", 1.5), ("seed", "3"), ("seed", -1), ("seed", True), ("seed", 2**63),
]


@pytest.mark.parametrize("name,value", BAD_ARGS)
def test_bad_arguments_raise_value_error_naming_them(model, vocab, name, value):
    kwargs = {"max_new_tokens": 5, "temperature": 1.0, "seed": 0, name: value}
    with pytest.raises(ValueError, match=name) as e:
        generate(model, vocab, "the owl", **kwargs)
    assert repr(value) in str(e.value)
    with pytest.raises(ValueError, match=name):
        list(stream(model, vocab, "the owl", **kwargs))
    temps = [kwargs.pop("temperature")]
    with pytest.raises(ValueError, match=name):
        sweep(model, vocab, "the owl", temps, **kwargs)


@pytest.mark.parametrize("name,value", [("temperature", -1), ("temperature", NAN), ("temperature", "1"),
                                        ("top_k", -2), ("top_p", 0), ("top", 0), ("top", 2.5)])
def test_next_token_distribution_bad_arguments(model, vocab, name, value):
    kwargs = {"temperatures": [1.0], name: value}
    if name == "temperature":
        kwargs["temperatures"] = [1.0, kwargs.pop(name)]
    with pytest.raises(ValueError, match=name):
        next_token_distribution(model, vocab, "the", **kwargs)


def test_numeric_types_accepted(model, vocab):
    g = generate(model, vocab, "the", 5, temperature=1, top_k=0, top_p=1, seed=0)  # ints; top_k 0 = off
    same(g, generate(model, vocab, "the", 5, temperature=1.0, seed=0))


# --------------------------------------------------------------------------------- bfloat16
def test_bfloat16_model_generates(model, vocab):
    half = copy.deepcopy(model).to(torch.bfloat16)
    g = generate(half, vocab, "the owl", 20, temperature=1.0, seed=0, stop_at_eos=False)
    assert len(g.tokens) == 20 and UNK not in g.tokens and all(t in vocab for t in g.tokens)
    assert all(0 < p <= 1 for p in g.probs)
    # Greedy decoding agrees with float32: this model's top choices have clear margins.
    greedy = generate(half, vocab, "the owl", 20, temperature=0)
    assert greedy.tokens == generate(model, vocab, "the owl", 20, temperature=0).tokens
    rows = sweep(half, vocab, "the owl", [0, 0.7, 2.0], 15, seed=1)
    assert rows[0].tokens == greedy.tokens[:15]
    assert all(UNK not in r.tokens for r in rows)
    d16 = next_token_distribution(half, vocab, "the owl", [0, 1.0, 2.0], top=5)
    d32 = next_token_distribution(model, vocab, "the owl", [0, 1.0, 2.0], top=5)
    for a, b in zip(d16, d32):
        assert a.tokens[:2] == b.tokens[:2]
        assert a.probs == pytest.approx(b.probs, abs=0.02)
        assert a.entropy == pytest.approx(b.entropy, abs=0.05)


@pytest.mark.parametrize("t", [1e-300, 1e-45, 1e-7, 1e-5])
def test_tiny_temperatures_are_greedy_or_sharp_not_nan(model, vocab, t):
    """float32 logits / 1e-45 overflow: tiny temperatures must still give a valid, near-greedy result."""
    greedy = generate(model, vocab, "the owl", max_new_tokens=8, temperature=0, seed=0, stop_at_eos=False)
    g = generate(model, vocab, "the owl", max_new_tokens=8, temperature=t, seed=0, stop_at_eos=False)
    assert g.tokens == greedy.tokens
    d = next_token_distribution(model, vocab, "the owl", [t])[0]
    assert math.isfinite(d.entropy) and d.entropy < 1e-3
    assert d.probs[0] > 0.999


# ------------------------------------------------------------------------- the prompt as typed
@pytest.mark.parametrize("prompt", ["The OWL sat", "the owl said ", "Where is the owl?", "  the\tfox,", "Zebra!"])
def test_text_starts_with_the_prompt_exactly_as_typed(model, vocab, prompt):
    g = generate(model, vocab, prompt, 12, temperature=1.0, seed=5, stop_at_eos=False)
    assert g.text.startswith(prompt)
    rest = g.text[len(prompt):]
    assert rest == g.continuation
    # The model's input is unchanged by how the prompt is shown: the same tokens as the lower-cased prompt.
    assert g.tokens == generate(model, vocab, prompt.lower(), 12, temperature=1.0, seed=5, stop_at_eos=False).tokens
    assert tokenize(rest) == [t for t in g.tokens if t != EOS]
    assert "  " not in rest.replace("\n\n", " ").strip(" ")  # no double space where prompt and words meet
    if prompt.endswith(" "):
        assert not rest.startswith(" ")


def test_continuation_capitalises_after_a_sentence_and_uses_display_forms(model, vocab):
    display = Printing({"owl": "Owl", "fox": "Fox"})
    g = lm_generation.Generation("It sat.", ["it", "sat", "."], tokens=["the", "owl", "and", "fox", "ran", "."],
                                 printing=display)
    assert g.text == "It sat. The Owl and Fox ran."
    g = lm_generation.Generation("It sat and", ["it", "sat", "and"], tokens=["the", "owl", EOS, "the", "fox"],
                                 printing=display)
    assert g.text == "It sat and the Owl\n\nThe Fox"  # <eos> is a paragraph break, which starts a sentence


def test_generation_leaves_a_training_model_in_training_mode_from_many_threads(model, vocab):
    from concurrent.futures import ThreadPoolExecutor

    expected = [generate(model, vocab, "the owl said , where", 15, temperature=1.0, seed=s).tokens for s in range(16)]
    model.train()  # dropout is 0 in this model, so only the mode is at stake; generation must not change it
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda s: generate(model, vocab, "the owl said , where", 15, temperature=1.0,
                                               seed=s).tokens, range(16)))
    assert got == expected and model.training


def test_dropout_never_runs_during_generation(vocab):
    torch.manual_seed(0)
    m = LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 2, 0.5, dropout_emb=0.2, locked_dropout=True))
    long_prompt = "the owl said , where is the small green fox ? i ran to the kitchen"  # through model.read
    evaluated = [generate(m.eval(), vocab, long_prompt, 10, temperature=1.0, seed=s).tokens for s in range(5)]
    assert [generate(m.train(), vocab, long_prompt, 10, temperature=1.0, seed=s).tokens for s in range(5)] == evaluated
    assert m.training


# ------------------------------------------------------------------- extreme values, hostile arguments
def _all_four(model, vocab, **kwargs):
    """Call generate, stream, sweep and next_token_distribution with these arguments, each expected to
    raise: yields the four ValueErrors."""
    temperature = kwargs.pop("temperature", 1.0)
    args = {"model": model, "vocab": vocab, "prompt": kwargs.pop("prompt", "the owl")}
    calls = [
        lambda: generate(**args, max_new_tokens=5, temperature=temperature, seed=0, **kwargs),
        lambda: list(stream(**args, max_new_tokens=5, temperature=temperature, seed=0, **kwargs)),
        lambda: sweep(**args, temperatures=[temperature], max_new_tokens=5, seed=0, **kwargs),
        lambda: next_token_distribution(**args, temperatures=[temperature],
                                        **{k: v for k, v in kwargs.items() if k != "stop_at_eos"}),
    ]
    for call in calls:
        with pytest.raises(ValueError) as e:
            call()
        yield str(e.value)


@pytest.mark.parametrize("t", [1e39, 1e300, 10000.001, 3.5e38, float("inf")])
def test_temperatures_above_the_maximum_are_refused(model, vocab, t):
    """1e39 is inf in float32 (and -inf / inf is nan): it used to say "probability tensor contains nan"."""
    for message in _all_four(model, vocab, temperature=t):
        assert message == f"temperature must be a finite number in [0, 10000], got {t!r}"


def test_the_maximum_temperature_samples_nearly_uniformly(model, vocab):
    from lm.sampling import MAX_TEMPERATURE

    g = generate(model, vocab, "the owl", 30, temperature=MAX_TEMPERATURE, seed=0, stop_at_eos=False)
    assert len(g.tokens) == 30 and UNK not in g.tokens and all(0 < p <= 1 for p in g.probs)
    d = next_token_distribution(model, vocab, "the owl", [MAX_TEMPERATURE], top=len(vocab))[0]
    assert all(math.isfinite(p) for p in d.probs)
    uniform = 1 / (len(vocab) - 1)  # <unk> is never drawn
    assert max(abs(p - uniform) for p in d.probs) < 0.01 * uniform
    assert d.entropy == pytest.approx(math.log2(len(vocab) - 1), abs=1e-3)


@pytest.mark.parametrize("name,value,problem", [
    ("model", None, "model must be an LSTMLanguageModel, got NoneType"),
    ("model", "assets/oz-lstm", "model must be an LSTMLanguageModel, got str"),
    ("vocab", None, "vocab must be a Vocab, got NoneType"),
    ("vocab", ["<unk>", "<eos>"], "vocab must be a Vocab, got list"),
    ("prompt", None, "prompt must be a string, got NoneType"),
    ("prompt", ["the", "owl"], "prompt must be a string, got list"),
])
def test_none_and_wrong_types_are_value_errors(model, vocab, name, value, problem):
    """sweep(None) and friends used to raise AttributeError or TypeError."""
    args = {"model": model, "vocab": vocab, "prompt": "the owl", name: value}
    for message in _all_four(**args):
        assert message == problem


def test_a_vocabulary_of_another_size_is_refused(model, vocab):
    from lm import Vocab

    bigger = Vocab(vocab.itos + ["zebra"])  # its id would index past the model's rows
    for message in _all_four(model, bigger, prompt="zebra"):
        assert message == f"vocab must have the model's {len(vocab):,} tokens, got {len(vocab) + 1:,}"


@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_stop_at_eos_must_be_a_bool(model, vocab, value):
    for call in (lambda: generate(model, vocab, "the", 5, seed=0, stop_at_eos=value),
                 lambda: list(stream(model, vocab, "the", 5, seed=0, stop_at_eos=value)),
                 lambda: sweep(model, vocab, "the", [1.0], 5, seed=0, stop_at_eos=value)):
        with pytest.raises(ValueError, match="^stop_at_eos must be True or False") as e:
            call()
        assert repr(value) in str(e.value)


@pytest.mark.parametrize("temperatures,problem", [
    ([], "temperatures must hold 1 to 256 temperatures, got 0"),
    ([1.0] * 257, "temperatures must hold 1 to 256 temperatures, got 257"),
    (None, "temperatures must be a list of numbers, got None"),
    (0.7, "temperatures must be a list of numbers, got 0.7"),
    ("0.7", "temperatures must be a list of numbers, got '0.7'"),
    ([0.5, None], "temperature must be a finite number in [0, 10000], got None"),
    ([0.5, 1e39], "temperature must be a finite number in [0, 10000], got 1e+39"),
])
def test_sweep_and_distribution_refuse_the_same_temperature_lists(model, vocab, temperatures, problem):
    """next_token_distribution([]) used to return [] while sweep([]) raised."""
    for call in (lambda: sweep(model, vocab, "the", temperatures, 5, seed=0),
                 lambda: next_token_distribution(model, vocab, "the", temperatures)):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value) == problem


def test_checks_come_before_any_work(model, vocab, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("the prompt was read before the arguments were checked")
    monkeypatch.setattr(lm_generation, "read_prompt", no_work)
    for message in _all_four(model, vocab, temperature=1e39):
        assert message.startswith("temperature must")
    for message in _all_four(None, vocab):
        assert message.startswith("model must")


def test_the_next_word_bars_show_display_forms(model, vocab):
    shown = Vocab(vocab.itos, display={t: t.upper() for t in vocab.itos[2:] if t.upper() != t})  # all in capitals
    (d,) = next_token_distribution(model, shown, "the", [1.0], top=5)
    assert d.words == [shown.display.get(t, t) for t in d.tokens] and d.words != d.tokens
