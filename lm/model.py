"""The word-level LSTM language model.

The default configuration is the reference notebook's model: embedding -> dropout -> 2-layer LSTM
with dropout between layers -> dropout -> linear, 1024 wide, dropout 0.65 (36,879,947 parameters
with its 9,803-word vocabulary). Options from AWD-LSTM (Merity et al. 2017) are off by default:
weight tying, locked (variational) dropout, embedding (word-type) dropout and DropConnect on the
recurrent weights.

Two ways to run it, with the same numbers:
- `forward(src, hidden)`: whole sequences through `nn.LSTM` (training, evaluation, prompts).
- `step(token, hidden)`: one token per sequence over pre-packed weights, one matmul per layer
  (generation). `nn.LSTM` called one step at a time spends most of its time in per-call overhead.
"""

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

Hidden = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (h, c), each (1, B, H_layer)


@dataclass
class LMConfig:
    vocab_size: int
    emb_dim: int = 1024  # notebook (AWD-LSTM used 400)
    hid_dim: int = 1024  # notebook (AWD-LSTM used 1150)
    num_layers: int = 2  # notebook (AWD-LSTM used 3)
    dropout_rate: float = 0.65  # notebook: one rate for embedding output, between layers, output
    # --- AWD-LSTM options; the defaults reproduce the notebook ---
    tie_weights: bool = False  # share embedding and output matrix; the last LSTM layer is emb_dim wide
    locked_dropout: bool = False  # one dropout mask per sequence instead of one per token
    dropout_emb: float = 0.0  # drop whole word types from the embedding matrix
    dropout_in: float | None = None  # embedding output; None = dropout_rate
    dropout_hid: float | None = None  # between LSTM layers; None = dropout_rate
    dropout_out: float | None = None  # before the output layer; None = dropout_rate
    weight_drop: float = 0.0  # DropConnect on the hidden-to-hidden LSTM weights

    def __post_init__(self):
        for name in ("vocab_size", "emb_dim", "hid_dim", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2 (<unk>, <eos>), got {self.vocab_size}")
        for name in ("tie_weights", "locked_dropout"):  # config.json could say "false", which is truthy
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        for name in ("dropout_rate", "dropout_emb", "dropout_in", "dropout_hid", "dropout_out", "weight_drop"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")

    def layer_sizes(self) -> list[int]:
        """Hidden size of each LSTM layer: hid_dim, except a tied model's last layer is emb_dim."""
        sizes = [self.hid_dim] * self.num_layers
        if self.tie_weights:
            sizes[-1] = self.emb_dim
        return sizes

    @classmethod
    def from_dict(cls, d: dict) -> "LMConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout with one mask per sequence, shared by all time steps (variational dropout)."""
    if not training or p == 0.0:
        return x
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)  # (B, 1, D)
    return x * mask  # (B, T, D)


# oneDNN's weight layout is chosen for a batch size; any hint >= 2 gives the blocked layout that
# streams the weights at close to memory bandwidth for batch 1 and for a sweep's batch of 11 alike.
_PACK_BATCH_HINT = 16


def _onednn_ok(weight: torch.Tensor) -> bool:
    if weight.device.type != "cpu" or not torch.backends.mkldnn.is_available() or not torch.backends.mkldnn.enabled:
        return False
    if weight.dtype == torch.float32:
        return True
    return weight.dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported()


class _Linear:
    """`F.linear(x, weight, bias)` for `step`, with the weight pre-packed for oneDNN on CPU.

    At batch 1 a step is a matrix-vector product per layer, bound by how fast the weights stream
    from memory. `F.linear` gets ~60% of the machine's read bandwidth in float32 and ~45% in
    bfloat16 (oneDNN re-lays the plain weight out on every call); oneDNN's inner product over a
    weight packed once into its blocked layout gets close to all of it, and is ~3x faster at the
    batch of 11 that `sweep` runs. Where oneDNN is unavailable (another device or dtype, a CPU
    without bfloat16 support), or packing fails, this is plain `F.linear`.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        self.weight, self.bias, self.packed = weight, bias, None
        if _onednn_ok(weight):
            try:
                packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), _PACK_BATCH_HINT)
                probe = weight.new_ones(1, weight.size(1))
                expected = F.linear(probe, weight, bias).float()
                got = torch.ops.mkldnn._linear_pointwise(probe, packed, bias, "none", [], "").float()
                if torch.allclose(got, expected, rtol=1e-2, atol=1e-2 * float(expected.abs().max()) + 1e-6):
                    self.weight, self.packed = None, packed  # the plain copy is not needed any more
            except (RuntimeError, NotImplementedError, AttributeError):  # an older or unusual build
                self.packed = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self.packed, self.bias, "none", [], "")
        return F.linear(x, self.weight, self.bias)


class LSTMLanguageModel(nn.Module):
    def __init__(self, vocab_size: int, emb_dim: int = 1024, hid_dim: int = 1024, num_layers: int = 2,
                 dropout_rate: float = 0.65, **options):
        super().__init__()
        self.config = cfg = LMConfig(vocab_size, emb_dim, hid_dim, num_layers, dropout_rate, **options)
        sizes = cfg.layer_sizes()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.emb_dim)
        # One nn.LSTM per layer (not num_layers=N) so dropout between layers can be locked and the
        # last layer can be emb_dim wide for tying; the maths is that of a stacked nn.LSTM.
        self.lstm = nn.ModuleList(
            nn.LSTM(cfg.emb_dim if i == 0 else sizes[i - 1], sizes[i], batch_first=True) for i in range(cfg.num_layers)
        )
        self.fc = nn.Linear(sizes[-1], cfg.vocab_size)
        if cfg.tie_weights:
            self.fc.weight = self.embedding.weight
        self._packed = None  # cache for step(): see _packed_weights
        self.init_weights()

    def init_weights(self):
        # The notebook's intent: embedding U(+-0.1), output U(+-1/sqrt(hid_dim)), bias 0. Its LSTM init
        # loop assigned into a temporary list and had no effect, so the LSTM keeps PyTorch's default
        # U(+-1/sqrt(hid_dim)), which is the range it meant anyway.
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if not self.config.tie_weights:
            bound = 1 / math.sqrt(self.config.hid_dim)
            nn.init.uniform_(self.fc.weight, -bound, bound)
        nn.init.zeros_(self.fc.bias)

    # ----------------------------------------------------------------------------------- state
    def init_hidden(self, batch_size: int) -> Hidden:
        """Zero (h, c) per layer; device and dtype follow the model."""
        w = self.fc.bias
        return [(w.new_zeros(1, batch_size, n), w.new_zeros(1, batch_size, n)) for n in self.config.layer_sizes()]

    @staticmethod
    def detach_hidden(hidden: Hidden) -> Hidden:
        # Truncated backprop through time: keep the state's values, cut the graph at the chunk edge.
        return [(h.detach(), c.detach()) for h, c in hidden]

    # ---------------------------------------------------------------------------------- forward
    def _dropout(self, x: torch.Tensor, p: float) -> torch.Tensor:
        if self.config.locked_dropout:
            return locked_dropout(x, p, self.training)
        return F.dropout(x, p, self.training)

    def _rate(self, name: str) -> float:
        value = getattr(self.config, name)
        return self.config.dropout_rate if value is None else value

    def forward(self, src: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """src (B, T) token ids -> logits (B, T, V) and the new hidden state."""
        cfg = self.config
        if hidden is None:
            hidden = self.init_hidden(src.size(0))
        weight = self.embedding.weight
        if self.training and cfg.dropout_emb > 0:
            # Word-type dropout: a dropped word loses its whole vector, wherever it occurs in the batch.
            keep = weight.new_empty(weight.size(0), 1).bernoulli_(1 - cfg.dropout_emb) / (1 - cfg.dropout_emb)
            weight = weight * keep  # (V, E)
        x = F.embedding(src, weight)  # (B, T, E)
        x = self._dropout(x, self._rate("dropout_in"))
        new_hidden = []
        for i, (lstm, state) in enumerate(zip(self.lstm, hidden)):
            if self.training and cfg.weight_drop > 0:
                # DropConnect on W_hh: one mask per forward call, the same for every time step.
                w_hh = F.dropout(lstm.weight_hh_l0, cfg.weight_drop, training=True)
                x, state = torch.func.functional_call(lstm, {"weight_hh_l0": w_hh}, (x, state))
            else:
                x, state = lstm(x, state)  # (B, T, H_i)
            new_hidden.append(state)
            if i < cfg.num_layers - 1:
                x = self._dropout(x, self._rate("dropout_hid"))
        x = self._dropout(x, self._rate("dropout_out"))
        return self.fc(x), new_hidden  # (B, T, V)

    # ------------------------------------------------------------------------------ generation
    def _packed_weights(self) -> tuple[list["_Linear"], "_Linear"]:
        """Per layer a linear over [x | h] with ([W_ih | W_hh], b_ih + b_hh), and the output layer,
        pre-packed for `step`; rebuilt only when a weight changes (in place, or by `.to()`)."""
        params = [p for lstm in self.lstm for p in lstm.parameters()] + [self.fc.weight, self.fc.bias]
        key = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)
        packed = self._packed
        if packed is None or packed[0] != key:
            with torch.no_grad():
                layers = [
                    _Linear(torch.cat([l.weight_ih_l0, l.weight_hh_l0], dim=1),  # (4H, I + H)
                            l.bias_ih_l0 + l.bias_hh_l0)  # (4H,)
                    for l in self.lstm
                ]
                head = _Linear(self.fc.weight.detach(), self.fc.bias.detach())  # (V, H)
            packed = self._packed = (key, (layers, head))
        return packed[1]

    def __getstate__(self):
        # The packed weights are a cache (and oneDNN's packed tensors cannot be copied or pickled):
        # copy.deepcopy(model) and pickling leave it behind; the copy packs its own on first step.
        state = super().__getstate__()
        state["_packed"] = None
        return state

    @torch.no_grad()
    def step(self, token: torch.Tensor, hidden: Hidden) -> tuple[torch.Tensor, Hidden]:
        """One token per sequence: token (B,) -> logits (B, V) as float32, and the new state.

        Equals `forward(token[:, None], hidden)` in eval mode, with one matmul per layer. The state
        stays float32 even for a bfloat16 model, so long generations do not drift.
        """
        dtype = self.fc.weight.dtype
        layers, head = self._packed_weights()
        x = self.embedding(token)  # (B, E)
        new_hidden = []
        for linear, (h, c) in zip(layers, hidden):
            gates = linear(torch.cat([x, h[0].to(dtype)], dim=1)).float()  # (B, 4H)
            i, f, g, o = gates.chunk(4, dim=1)  # PyTorch's gate order
            c_new = torch.sigmoid(f) * c[0].float() + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)  # (B, H)
            new_hidden.append((h_new[None], c_new[None]))
            x = h_new.to(dtype)
        return head(x).float(), new_hidden  # (B, V)

    def num_parameters(self) -> int:
        # parameters() yields a tied matrix once, so it is counted once.
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def config_dict(self) -> dict:
        return asdict(self.config)
