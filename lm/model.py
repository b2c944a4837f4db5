"""The word-level LSTM language model.

The default configuration is the reference notebook's model: embedding -> dropout -> 2-layer LSTM
with dropout between layers -> dropout -> linear, 1024 wide, dropout 0.65 (36,879,947 parameters
with its 9,803-word vocabulary). Options from AWD-LSTM (Merity et al. 2017) are off by default:
weight tying, locked (variational) dropout, embedding (word-type) dropout and DropConnect on the
recurrent weights.

Three ways to run it, with the same numbers in eval mode:
- `forward(src, hidden)`: whole sequences through `nn.LSTM`, dropout in training mode (training).
- `read(src, hidden)`: the same without dropout in any mode (evaluation, prompts), so a model that
  someone is training can be read from many threads without touching its mode.
- `step(token, hidden)`: one token per sequence over pre-packed weights (`lm.fast_step`), one matrix
  product per layer (generation): `nn.LSTM` called one step at a time is mostly per-call overhead.
"""

import math
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checks import is_int, is_number
from .fast_step import StepWeights

Hidden = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (h, c), each (1, B, H_layer)


def setting(default, help: str):
    """A config field with its command-line help beside it (train.py builds its flags from these)."""
    return field(default=default, metadata={"help": help})


@dataclass
class LMConfig:
    vocab_size: int | None = setting(None, "number of tokens; set from the corpus when training")
    emb_dim: int = setting(1024, "embedding size (notebook 1024; AWD-LSTM 400)")
    hid_dim: int = setting(1024, "LSTM hidden size; a tied model's last layer is emb_dim wide")
    num_layers: int = setting(2, "number of LSTM layers")
    dropout_rate: float = setting(0.65, "dropout on the embedding output, between layers and before the output")
    # AWD-LSTM options; the defaults reproduce the notebook.
    tie_weights: bool = setting(False, "share the embedding and output matrices")
    locked_dropout: bool = setting(False, "one dropout mask per sequence (variational) instead of per token")
    dropout_emb: float = setting(0.0, "probability of dropping a whole word type from the embedding matrix")
    dropout_in: float | None = setting(None, "dropout on the embedding output (default: dropout_rate)")
    dropout_hid: float | None = setting(None, "dropout between LSTM layers (default: dropout_rate)")
    dropout_out: float | None = setting(None, "dropout before the output layer (default: dropout_rate)")
    weight_drop: float = setting(0.0, "DropConnect probability on the LSTM hidden-to-hidden weights")

    def __post_init__(self):
        if self.vocab_size is not None and not (is_int(self.vocab_size) and self.vocab_size >= 2):
            raise ValueError(f"vocab_size must be an integer >= 2 (<unk>, <eos>), got {self.vocab_size!r}")
        for name in ("emb_dim", "hid_dim", "num_layers"):
            if not (is_int(getattr(self, name)) and getattr(self, name) >= 1):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("tie_weights", "locked_dropout"):  # config.json could say "false", which is truthy
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("dropout_rate", "dropout_emb", "dropout_in", "dropout_hid", "dropout_out", "weight_drop"):
            value = getattr(self, name)
            if value is not None and not (is_number(value) and 0.0 <= value < 1.0):
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")

    def rate(self, name: str) -> float:
        """A dropout rate: dropout_in/hid/out default to dropout_rate."""
        value = getattr(self, name)
        return self.dropout_rate if value is None else value

    def layer_sizes(self) -> list[int]:
        """Hidden size of each LSTM layer: hid_dim, except a tied model's last layer is emb_dim."""
        sizes = [self.hid_dim] * self.num_layers
        if self.tie_weights:
            sizes[-1] = self.emb_dim
        return sizes

    @classmethod
    def from_dict(cls, d: dict) -> "LMConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout with one mask per sequence, shared by all time steps (variational dropout)."""
    if not training or p == 0.0:
        return x
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)  # (B, 1, D)
    return x * mask  # (B, T, D)


class LSTMLanguageModel(nn.Module):
    def __init__(self, config: LMConfig):
        super().__init__()
        if config.vocab_size is None:
            raise ValueError("LMConfig.vocab_size must be set to build a model")
        self.config = config
        sizes = config.layer_sizes()
        self.embedding = nn.Embedding(config.vocab_size, config.emb_dim)
        # One nn.LSTM per layer (not num_layers=N) so dropout between layers can be locked and the
        # last layer can be emb_dim wide for tying; the maths is that of a stacked nn.LSTM (tested).
        inputs = [config.emb_dim] + sizes[:-1]
        self.lstm = nn.ModuleList(nn.LSTM(i, h, batch_first=True) for i, h in zip(inputs, sizes))
        self.fc = nn.Linear(sizes[-1], config.vocab_size)
        if config.tie_weights:
            self.fc.weight = self.embedding.weight
        self._step_weights = None  # StepWeights cache for step()
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

    def init_hidden(self, batch_size: int) -> Hidden:
        """Zero (h, c) per layer; device and dtype follow the model."""
        w = self.fc.bias
        return [(w.new_zeros(1, batch_size, n), w.new_zeros(1, batch_size, n)) for n in self.config.layer_sizes()]

    @staticmethod
    def detach_hidden(hidden: Hidden) -> Hidden:
        # Truncated backprop through time: keep the state's values, cut the graph at the chunk edge.
        return [(h.detach(), c.detach()) for h, c in hidden]

    def forward(self, src: torch.Tensor, hidden: Hidden | None = None, return_outputs: bool = False):
        """src (B, T) token ids -> logits (B, T, V) and the new state; dropout in training mode.

        return_outputs=True adds the last LSTM layer's output before and after its dropout, each
        (B, T, H): what activation regularisation (AR/TAR) penalises.
        """
        logits, hidden, outputs = self._run(src, hidden, self.training)
        return (logits, hidden, outputs) if return_outputs else (logits, hidden)

    @torch.no_grad()
    def read(self, src: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """`forward` without dropout, whatever the mode: what evaluation and prompts use."""
        return self._run(src, hidden, False)[:2]

    def _run(self, src: torch.Tensor, hidden: Hidden | None, drop: bool):
        cfg = self.config
        hidden = self.init_hidden(src.size(0)) if hidden is None else hidden
        dropout = locked_dropout if cfg.locked_dropout else F.dropout
        weight = self.embedding.weight
        if drop and cfg.dropout_emb > 0:
            # Word-type dropout: a dropped word loses its whole vector, wherever it occurs in the batch.
            keep = weight.new_empty(weight.size(0), 1).bernoulli_(1 - cfg.dropout_emb) / (1 - cfg.dropout_emb)
            weight = weight * keep  # (V, E)
        x = dropout(F.embedding(src, weight), cfg.rate("dropout_in"), drop)  # (B, T, E)
        new_hidden = []
        for i, (lstm, state) in enumerate(zip(self.lstm, hidden)):
            if drop and cfg.weight_drop > 0:
                # DropConnect on W_hh: one mask per forward call, the same for every time step.
                w_hh = F.dropout(lstm.weight_hh_l0, cfg.weight_drop, training=True)
                x, state = torch.func.functional_call(lstm, {"weight_hh_l0": w_hh}, (x, state))
            else:
                x, state = lstm(x, state)  # (B, T, H_i)
            new_hidden.append(state)
            if i < cfg.num_layers - 1:
                x = dropout(x, cfg.rate("dropout_hid"), drop)
        dropped = dropout(x, cfg.rate("dropout_out"), drop)
        return self.fc(dropped), new_hidden, (x, dropped)  # logits (B, T, V)

    @torch.no_grad()
    def step(self, token: torch.Tensor, hidden: Hidden) -> tuple[torch.Tensor, Hidden]:
        """One token per sequence: token (B,) -> logits (B, V) as float32, and the new state.

        Equals `read(token[:, None], hidden)`, with one matrix product per layer. The state stays
        float32 even for a bfloat16 model, so long generations do not drift.
        """
        new_hidden = self.step_state(token, hidden)
        x = new_hidden[-1][0][0].to(self.fc.weight.dtype)  # (B, H): the last layer's output
        return self._step_weights.head(x).float(), new_hidden  # (B, V)

    @torch.no_grad()
    def step_state(self, token: torch.Tensor, hidden: Hidden) -> Hidden:
        """`step` without the output layer: the new state alone. A prompt's words before its last need
        no logits, and at batch 1 the output layer is half a step (it reads the V x H matrix)."""
        weights = self._step_weights
        if weights is None or not weights.current(self):
            weights = self._step_weights = StepWeights(self)
        dtype = self.fc.weight.dtype
        x = self.embedding(token)  # (B, E)
        new_hidden = []
        for linear, (h, c) in zip(weights.layers, hidden):
            gates = linear(torch.cat([x, h[0].to(dtype)], dim=1)).float()  # (B, 4H)
            i, f, g, o = gates.chunk(4, dim=1)  # PyTorch's gate order
            c_new = torch.sigmoid(f) * c[0].float() + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)  # (B, H)
            new_hidden.append((h_new[None], c_new[None]))
            x = h_new.to(dtype)
        return new_hidden

    def __getstate__(self):
        # The packed weights are a cache (and oneDNN's packed tensors cannot be copied or pickled):
        # copy.deepcopy(model) and pickling leave it behind; the copy packs its own on first step.
        state = super().__getstate__()
        state["_step_weights"] = None
        return state

    def num_parameters(self) -> int:
        # parameters() yields a tied matrix once, so it is counted once.
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def config_dict(self) -> dict:
        return asdict(self.config)
