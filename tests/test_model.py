"""Tests for lm.model: size, initialisation, options, and the two ways of running the model.

Pins down:
- the notebook's model with a 9,803-word vocab has exactly 36,879,947 trainable parameters, and a
  tied model counts the shared matrix once;
- initialisation ranges (embedding U(+-0.1), output U(+-1/sqrt(hid_dim)), output bias 0, LSTM at
  PyTorch's default U(+-1/sqrt(hidden_size)));
- option validation (ValueError naming the option);
- `step` (one token, pre-packed weights) gives the logits of `forward` from the same state in eval
  mode, for plain and AWD-style models, from a zero state and from a state carried out of forward;
  its weight cache follows optimiser updates and dtype round trips;
- train-mode behaviour: deterministic without dropout; locked dropout keeps one mask over time;
  word-type dropout drops whole words; weight drop changes train outputs only and leaves the real
  weights alone;
- bfloat16 step logits close to float32 ones.
"""

import copy
import math

import pytest
import torch

from lm import LMConfig, LSTMLanguageModel
from lm.model import locked_dropout


def tiny(vocab_size=30, seed=0, **options):
    torch.manual_seed(seed)
    return LSTMLanguageModel(LMConfig(vocab_size, 16, 24, 2, options.pop("dropout_rate", 0.0), **options))


def expected_count(V, E, H, L, tied=False):
    """Parameter count by hand: embedding, per-layer LSTM (4 gates, two biases), output layer."""
    sizes = [H] * L
    if tied:
        sizes[-1] = E
    n = V * E
    for i, h in enumerate(sizes):
        inp = E if i == 0 else sizes[i - 1]
        n += 4 * h * (inp + h) + 2 * 4 * h
    n += V + (0 if tied else V * sizes[-1])
    return n


# ------------------------------------------------------------------------------------- size
def test_notebook_parameter_count():
    model = LSTMLanguageModel(LMConfig(9803))  # construction only
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert n == 36_879_947
    assert model.num_parameters() == 36_879_947
    assert expected_count(9803, 1024, 1024, 2) == 36_879_947  # the hand formula agrees
    cfg = model.config
    assert (cfg.emb_dim, cfg.hid_dim, cfg.num_layers, cfg.dropout_rate) == (1024, 1024, 2, 0.65)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_parameter_count_formula(layers):
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(50, 12, 20, layers, 0.1))
    assert model.num_parameters() == expected_count(50, 12, 20, layers)


def test_tied_model_shares_the_matrix_and_counts_it_once():
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(50, 16, 24, 2, 0.0, tie_weights=True))
    assert model.fc.weight is model.embedding.weight
    assert model.config.layer_sizes() == [24, 16]  # last layer is emb_dim wide
    assert model.lstm[-1].hidden_size == 16
    assert model.num_parameters() == expected_count(50, 16, 24, 2, tied=True)
    with_duplicates = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    assert model.num_parameters() == with_duplicates - 50 * 16  # the shared matrix once, not twice
    # A change to one is a change to the other (shared storage, not a copy).
    with torch.no_grad():
        model.embedding.weight[3, 0] = 7.0
    assert model.fc.weight[3, 0].item() == 7.0
    # Tying does not let the output init overwrite the embedding's range.
    w = model.embedding.weight.detach().clone()
    w[3, 0] = 0.0
    assert w.abs().max() <= 0.1


# ------------------------------------------------------------------------------------- init
def test_init_ranges():
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(400, 64, 400, 2, 0.5))  # fc bound 1/20 = 0.05, distinct from 0.1
    emb = model.embedding.weight.detach()
    assert emb.abs().max() <= 0.1
    assert emb.abs().max() > 0.099  # uniform over the whole range, not something narrower
    assert abs(emb.mean().item()) < 0.005
    assert emb.std().item() == pytest.approx(0.2 / math.sqrt(12), rel=0.03)  # std of U(-0.1, 0.1)

    bound = 1 / math.sqrt(400)
    fc = model.fc.weight.detach()
    assert fc.abs().max() <= bound
    assert fc.abs().max() > 0.99 * bound
    assert fc.std().item() == pytest.approx(2 * bound / math.sqrt(12), rel=0.03)
    assert torch.count_nonzero(model.fc.bias) == 0

    for lstm in model.lstm:  # PyTorch's default: U(+-1/sqrt(hidden_size)) for weights and biases
        b = 1 / math.sqrt(lstm.hidden_size)
        for p in lstm.parameters():
            assert p.abs().max() <= b
            assert p.abs().max() > 0.9 * b


# ---------------------------------------------------------------------------------- options
DROPOUTS = ["dropout_rate", "dropout_emb", "dropout_in", "dropout_hid", "dropout_out", "weight_drop"]


@pytest.mark.parametrize("name", DROPOUTS)
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan"), "0.5"])
def test_dropout_options_validated(name, value):
    kwargs = {"dropout_rate": 0.0, name: value}
    with pytest.raises(ValueError, match=name):
        LSTMLanguageModel(LMConfig(30, 8, 8, 1, **kwargs))


@pytest.mark.parametrize("name,value", [
    ("vocab_size", 1), ("vocab_size", 0), ("vocab_size", 10.0), ("emb_dim", 0), ("hid_dim", -3),
    ("num_layers", 0), ("num_layers", 1.5), ("num_layers", True),
    ("tie_weights", "false"), ("tie_weights", 1), ("locked_dropout", "yes"),
])
def test_sizes_and_flags_validated(name, value):
    kwargs = {"vocab_size": 30, "emb_dim": 8, "hid_dim": 8, "num_layers": 1, name: value}
    with pytest.raises(ValueError, match=name):
        LMConfig(**kwargs)


def test_dropout_none_means_dropout_rate():
    model = LSTMLanguageModel(LMConfig(30, 8, 8, 1, 0.3, dropout_hid=0.1))
    assert model.config.rate("dropout_in") == 0.3 and model.config.rate("dropout_hid") == 0.1


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="surprise"):
        LMConfig.from_dict({"vocab_size": 30, "surprise": 1})
    cfg = LMConfig.from_dict(LSTMLanguageModel(LMConfig(30, 8, 8, 1, tie_weights=True)).config_dict())
    assert cfg.tie_weights and cfg.emb_dim == 8


# ------------------------------------------------------------------------------------ state
def test_init_hidden_and_detach():
    model = tiny(tie_weights=True)
    hidden = model.init_hidden(3)
    assert [tuple(h.shape) for h, _ in hidden] == [(1, 3, 24), (1, 3, 16)]
    assert all(torch.count_nonzero(h) == 0 and torch.count_nonzero(c) == 0 for h, c in hidden)
    model.train()
    _, hidden = model(torch.randint(0, 30, (3, 4)))
    assert all(h.requires_grad for h, _ in hidden)
    detached = model.detach_hidden(hidden)
    assert all(not h.requires_grad and not c.requires_grad for h, c in detached)
    assert all(torch.equal(h, d) for (h, _), (d, _) in zip(hidden, detached))
    assert model.to(torch.bfloat16).init_hidden(2)[0][0].dtype == torch.bfloat16


# ------------------------------------------------------------------------------ step == forward
MODELS = {
    "plain": {},
    "plain-1-layer": {"num_layers": 1},
    "plain-3-layers": {"num_layers": 3},
    "awd": {"dropout_rate": 0.4, "tie_weights": True, "locked_dropout": True, "weight_drop": 0.5,
            "dropout_emb": 0.1},
}


def make(kind, vocab_size=30, seed=0):
    opts = dict(MODELS[kind])
    layers = opts.pop("num_layers", 2)
    rate = opts.pop("dropout_rate", 0.0)
    torch.manual_seed(seed)
    return LSTMLanguageModel(LMConfig(vocab_size, 16, 24, layers, rate, **opts)).eval()


def run_steps(model, src, hidden):
    """Feed src (B, T) one column at a time through step -> logits (B, T, V), final state."""
    out = []
    for t in range(src.size(1)):
        logits, hidden = model.step(src[:, t], hidden)
        out.append(logits)
    return torch.stack(out, dim=1), hidden


@pytest.mark.parametrize("kind", list(MODELS))
def test_step_equals_forward_from_zero_state(kind):
    model = make(kind)
    torch.manual_seed(1)
    src = torch.randint(0, 30, (3, 9))
    full, full_hidden = model(src)
    inc, inc_hidden = run_steps(model, src, model.init_hidden(3))
    assert inc.dtype == torch.float32 and inc.shape == full.shape
    torch.testing.assert_close(inc, full, atol=1e-5, rtol=1e-5)
    for (h1, c1), (h2, c2) in zip(inc_hidden, full_hidden):
        torch.testing.assert_close(h1, h2, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(c1, c2, atol=1e-6, rtol=1e-5)
    assert (full[:, 1:] - full[:, :1]).abs().max() > 1e-3  # the test data is not degenerate


@pytest.mark.parametrize("kind", list(MODELS))
def test_step_continues_a_forward_prefix(kind):
    model = make(kind)
    torch.manual_seed(2)
    src = torch.randint(0, 30, (2, 10))
    full, _ = model(src)
    _, hidden = model(src[:, :4])  # prompt through forward...
    rest, _ = run_steps(model, src[:, 4:], hidden)  # ...then one token at a time
    torch.testing.assert_close(rest, full[:, 4:], atol=1e-5, rtol=1e-5)
    # The carried state matters: from a zero state the same tokens give other logits.
    fresh, _ = run_steps(model, src[:, 4:], model.init_hidden(2))
    assert (fresh - full[:, 4:]).abs().max() > 1e-3


@pytest.mark.parametrize("kind", list(MODELS))
def test_step_state_is_the_state_of_step(kind):
    """Prompts step through step_state (no output layer) to their last word: the state must be step's, bit for bit."""
    model = make(kind)
    hidden = model.init_hidden(3)
    for token in torch.randint(0, 30, (4, 3)):
        _, want = model.step(token, hidden)
        got = model.step_state(token, hidden)
        for (h1, c1), (h2, c2) in zip(got, want):
            assert torch.equal(h1, h2) and torch.equal(c1, c2)
        hidden = got


def test_step_cache_follows_weight_updates():
    model = make("plain")
    src = torch.randint(0, 30, (2, 5))
    run_steps(model, src, model.init_hidden(2))  # fills the packed-weight cache
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model.train()
    logits, _ = model(src)
    logits.square().sum().backward()
    opt.step()  # in-place update of every LSTM weight
    model.eval()
    full, _ = model(src)
    inc, _ = run_steps(model, src, model.init_hidden(2))
    torch.testing.assert_close(inc, full, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # load_state_dict, the other way weights change in place
        model.load_state_dict(make("plain", seed=5).state_dict())
    full, _ = model(src)
    inc, _ = run_steps(model, src, model.init_hidden(2))
    torch.testing.assert_close(inc, full, atol=1e-5, rtol=1e-5)


def test_step_after_dtype_round_trip():
    model = make("plain")
    src = torch.randint(0, 30, (2, 5))
    run_steps(model, src, model.init_hidden(2))
    model.to(torch.bfloat16)
    run_steps(model, src, model.init_hidden(2))
    model.float()
    full, _ = model(src)
    inc, _ = run_steps(model, src, model.init_hidden(2))
    torch.testing.assert_close(inc, full, atol=1e-5, rtol=1e-5)


def test_bfloat16_step_close_to_float32():
    model = make("plain")
    torch.manual_seed(3)
    src = torch.randint(0, 30, (2, 12))
    ref, _ = run_steps(model, src, model.init_hidden(2))
    half = copy.deepcopy(model).to(torch.bfloat16)
    out, hidden = run_steps(half, src, half.init_hidden(2))
    assert out.dtype == torch.float32
    assert hidden[0][0].dtype == torch.float32  # the state stays float32
    # bfloat16 keeps 8 bits of mantissa (relative error 2^-9 per rounding); these logits are
    # O(0.1), so 1e-2 absolute is loose for rounding noise yet far below a wrong computation
    # (logits of different positions differ by > 1e-2, checked below).
    torch.testing.assert_close(out, ref, atol=1e-2, rtol=0)
    assert (ref[:, 1:] - ref[:, :-1]).abs().max() > 2e-2
    probs, ref_probs = out.softmax(-1), ref.softmax(-1)
    assert (probs - ref_probs).abs().max() < 2e-3


# ----------------------------------------------------------------------------- train mode
def test_train_mode_without_dropout_is_deterministic():
    model = tiny()  # dropout 0, weight_drop 0
    src = torch.randint(0, 30, (2, 6))
    model.eval()
    ref, _ = model(src)
    model.train()
    a, _ = model(src)
    b, _ = model(src)
    assert torch.equal(a, b)
    torch.testing.assert_close(a, ref, atol=1e-6, rtol=1e-6)


def hooked_fc_input(model, src):
    """The tensor the output layer receives, (B, T, H), from one forward call."""
    seen = []
    handle = model.fc.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    try:
        model(src)
    finally:
        handle.remove()
    return seen[0]


def test_locked_dropout_mask_is_constant_over_time():
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(30, 16, 64, 2, 0.0, locked_dropout=True, dropout_out=0.5)).train()
    src = torch.randint(0, 30, (4, 12))
    x = hooked_fc_input(model, src)  # (B, T, H)
    zero = x == 0  # an LSTM output is never exactly 0 otherwise
    assert zero.any() and not zero.all()
    for b in range(x.size(0)):
        assert torch.equal(zero[b], zero[b, :1].expand_as(zero[b])), "a unit dropped at one step only"
    # Kept units are scaled by 1/(1-p): compare with the eval-mode output.
    model.eval()
    ref = hooked_fc_input(model, src)
    torch.testing.assert_close(x[~zero], 2 * ref[~zero])
    # Rows of the batch get different masks.
    assert not torch.equal(zero[0, 0], zero[1, 0])


def test_plain_dropout_mask_changes_over_time():
    """The contrast to the test above: without locking, masks differ between time steps."""
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(30, 16, 64, 2, 0.0, dropout_out=0.5)).train()
    x = hooked_fc_input(model, torch.randint(0, 30, (4, 12)))
    zero = x == 0
    assert any(not torch.equal(zero[b], zero[b, :1].expand_as(zero[b])) for b in range(4))


def test_locked_dropout_function():
    x = torch.ones(3, 50, 40)
    torch.manual_seed(0)
    y = locked_dropout(x, 0.25, training=True)
    assert torch.equal(y, y[:, :1].expand_as(y))
    assert y.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert torch.equal(locked_dropout(x, 0.25, training=False), x)
    assert torch.equal(locked_dropout(x, 0.0, training=True), x)


def test_embedding_dropout_drops_whole_words():
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(30, 16, 24, 1, 0.0, dropout_emb=0.5)).train()
    seen = []
    model.lstm[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    src = torch.tensor([[5, 6, 5, 7, 6, 5, 8, 9, 10, 11, 12, 13]])
    model(src)
    x = seen[0][0]  # (T, E)
    emb = model.embedding.weight.detach()
    dropped = set()
    for t, tok in enumerate(src[0].tolist()):
        if torch.count_nonzero(x[t]) == 0:
            dropped.add(tok)
        else:
            torch.testing.assert_close(x[t], 2 * emb[tok])
    assert dropped  # some word was dropped, and...
    for t, tok in enumerate(src[0].tolist()):  # ...then at every place it occurs
        assert (torch.count_nonzero(x[t]) == 0) == (tok in dropped)


def test_weight_drop_in_train_only_and_weights_untouched():
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(30, 16, 24, 2, 0.0, weight_drop=0.5))
    torch.manual_seed(1)
    plain = LSTMLanguageModel(LMConfig(30, 16, 24, 2, 0.0))
    plain.load_state_dict(model.state_dict())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    src = torch.randint(0, 30, (2, 8))
    model.eval()
    e1, _ = model(src)
    torch.testing.assert_close(e1, plain.eval()(src)[0], atol=0, rtol=0)  # no effect in eval
    model.train()
    t1, _ = model(src)
    t2, _ = model(src)
    assert (t1 - e1).abs().max() > 1e-3  # changes outputs in train mode
    assert (t1 - t2).abs().max() > 1e-3  # a fresh mask per forward call
    t1.square().sum().backward()
    g = model.lstm[0].weight_hh_l0.grad
    assert g is not None and torch.count_nonzero(g) > 0  # the real weight still learns
    model.eval()
    e2, _ = model(src)
    assert torch.equal(e1, e2)  # the dropped weight did not stay in the LSTM
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_per_layer_lstms_equal_one_stacked_nn_lstm(layers):
    """model.py's claim: one nn.LSTM per layer computes what nn.LSTM(num_layers=N) computes."""
    model = LSTMLanguageModel(LMConfig(30, 16, 16, layers, 0.0)).eval()
    stacked = torch.nn.LSTM(16, 16, num_layers=layers, batch_first=True)
    with torch.no_grad():
        for i, lstm in enumerate(model.lstm):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(stacked, f"{name}_l{i}").copy_(getattr(lstm, f"{name}_l0"))
    src = torch.randint(0, 30, (3, 11))
    x = model.embedding(src)  # (B, T, E)
    hidden = [(torch.randn(1, 3, 16), torch.randn(1, 3, 16)) for _ in range(layers)]
    with torch.no_grad():
        ours = x
        for lstm, state in zip(model.lstm, hidden):
            ours, _ = lstm(ours, state)
        theirs, _ = stacked(x, (torch.cat([h for h, _ in hidden]), torch.cat([c for _, c in hidden])))
        logits, _ = model.read(src, hidden)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits, model.fc(theirs), rtol=1e-5, atol=1e-6)


def test_forward_can_return_the_last_layers_output_before_and_after_dropout():
    torch.manual_seed(0)
    model = LSTMLanguageModel(LMConfig(30, 8, 12, 2, 0.0, dropout_out=0.5)).train()
    src = torch.randint(0, 30, (2, 5))
    torch.manual_seed(1)
    logits, _, (raw, dropped) = model(src, return_outputs=True)
    assert raw.shape == dropped.shape == (2, 5, 12)
    torch.testing.assert_close(logits, model.fc(dropped))
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], raw[kept] * 2)  # inverted dropout at p = 0.5
    torch.manual_seed(1)
    assert torch.equal(model(src)[0], logits)  # the same numbers without the extra outputs
