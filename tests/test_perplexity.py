"""Tests for lm.perplexity.evaluate: the notebook's valid() semantics, re-implemented here by hand.

Pins down:
- evaluate == a from-scratch re-implementation of the notebook's valid() loop (batchify -> trim
  to N - (N-1) % seq_len columns -> chunks of seq_len read left to right from a zero state carried
  across chunks -> mean token cross-entropy), for several batch sizes and sequence lengths,
  including batch_size=1; and its relation to the notebook's own figure (which divides by N);
- a model that predicts uniformly scores exactly log(V);
- the carried state matters (the no-carry variant gives another number);
- too little data is a ValueError, and train/eval mode is left as it was, errors included;
- the global RNG is not touched, and a bfloat16 model gives a close figure.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from lm import evaluate


def notebook_valid(model, data, batch_size, seq_len, carry=True):
    """The notebook's valid(), written out again without lm.data.

    Returns (mean cross-entropy per predicted token, the notebook's own figure).
    """
    n = data.numel() // batch_size
    streams = data[: n * batch_size].view(batch_size, n)  # batchify: contiguous rows
    num_batches = streams.shape[-1]
    streams = streams[:, : num_batches - (num_batches - 1) % seq_len]  # the notebook's trim
    num_batches = streams.shape[-1]
    model.eval()
    hidden = model.init_hidden(batch_size)
    total, count, notebook_loss = 0.0, 0, 0.0
    with torch.no_grad():
        for idx in range(0, num_batches - 1, seq_len):
            src = streams[:, idx: idx + seq_len]
            target = streams[:, idx + 1: idx + 1 + seq_len]
            if not carry:
                hidden = model.init_hidden(batch_size)
            prediction, hidden = model(src, hidden)
            loss = F.cross_entropy(prediction.reshape(batch_size * seq_len, -1), target.reshape(-1))
            notebook_loss += loss.item() * seq_len
            total += loss.item() * target.numel()
            count += target.numel()
    return total / count, notebook_loss / num_batches


@pytest.fixture
def data(vocab):
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, len(vocab), (1000,), generator=gen)


@pytest.mark.parametrize("batch_size,seq_len", [(4, 7), (3, 50), (1, 13), (1, 998), (10, 5), (16, 1)])
def test_evaluate_equals_notebook_valid(model, data, batch_size, seq_len):
    got = evaluate(model, data, batch_size=batch_size, seq_len=seq_len)
    mean_ce, notebook = notebook_valid(model, data, batch_size, seq_len)
    assert got == pytest.approx(mean_ce, rel=1e-6)
    # The notebook divided the same sum by N columns instead of N - 1 predicted positions.
    n = data.numel() // batch_size
    n_trim = n - (n - 1) % seq_len
    assert got == pytest.approx(notebook * n_trim / (n_trim - 1), rel=1e-6)


def test_real_corpus_stream(model, corpus):
    """On the sentences the model was trained on, with the <eos> layout load_corpus produces."""
    ids = corpus
    got = evaluate(model, ids, batch_size=2, seq_len=5)
    assert got == pytest.approx(notebook_valid(model, ids, 2, 5)[0], rel=1e-6)
    assert got < 1.0  # it has learnt these sentences: perplexity < e, far below V = 29


def test_state_is_carried_across_chunks(model, data):
    carried, _ = notebook_valid(model, data, 4, 7, carry=True)
    fresh, _ = notebook_valid(model, data, 4, 7, carry=False)
    assert abs(carried - fresh) > 1e-3  # so the equality above pins the carrying
    assert evaluate(model, data, 4, 7) == pytest.approx(carried, rel=1e-6)


def test_uniform_model_scores_log_v(model, data, vocab):
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.zero_()
    assert evaluate(model, data, batch_size=5, seq_len=9) == pytest.approx(math.log(len(vocab)), rel=1e-6)


def test_batch_size_1(model, data):
    got = evaluate(model, data, batch_size=1, seq_len=50)
    assert got == pytest.approx(notebook_valid(model, data, 1, 50)[0], rel=1e-6)
    assert got != pytest.approx(evaluate(model, data, batch_size=8, seq_len=50), rel=1e-4)


@pytest.mark.parametrize("n,batch_size,seq_len", [
    (7, 4, 5),    # fewer than 2 tokens per row: batchify refuses
    (10, 4, 5),   # 2 columns, 1 predictable position < seq_len: no full chunk
    (40, 4, 10),  # 10 columns: 9 predictable positions < 10
])
@pytest.mark.parametrize("training", [True, False])
def test_too_little_data(model, n, batch_size, seq_len, training):
    model.train(training)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(model, torch.arange(n) % 5, batch_size=batch_size, seq_len=seq_len)
    assert model.training == training


def test_exactly_enough_data(model):
    data = torch.arange(44) % 7  # 11 columns of 4 rows: 10 predictable positions, one chunk
    assert evaluate(model, data, 4, 10) == pytest.approx(notebook_valid(model, data, 4, 10)[0], rel=1e-6)


@pytest.mark.parametrize("seq_len", [0, -1, 2.5, "50", True])
def test_bad_seq_len(model, data, seq_len):
    with pytest.raises(ValueError, match="seq_len"):
        evaluate(model, data, 4, seq_len)


@pytest.mark.parametrize("training", [True, False])
def test_mode_left_as_it_was(model, data, training):
    model.train(training)
    evaluate(model, data, 4, 10)
    assert model.training == training


def test_evaluates_in_eval_mode_without_touching_the_rng(vocab, data):
    torch.manual_seed(0)
    from lm import LMConfig, LSTMLanguageModel

    m = LSTMLanguageModel(LMConfig(len(vocab), 16, 24, 2, 0.5, dropout_emb=0.2)).train()
    state = torch.get_rng_state()
    a = evaluate(m, data, 4, 10)
    b = evaluate(m, data, 4, 10)
    assert a == b  # no dropout noise
    assert torch.equal(torch.get_rng_state(), state)
    assert a == pytest.approx(notebook_valid(copy.deepcopy(m), data, 4, 10)[0], rel=1e-6)
    assert m.training


def test_bfloat16_close(model, data):
    ref = evaluate(model, data, 4, 25)
    half = copy.deepcopy(model).to(torch.bfloat16)
    got = evaluate(half, data, 4, 25)
    assert got == pytest.approx(ref, rel=0.01)
