"""The CPU speed path for generation: one token per step over weights pre-packed for oneDNN.

At batch 1 a step is a matrix-vector product per layer, bound by how fast the weights stream from
memory. `F.linear` gets ~60% of the machine's read bandwidth in float32 and ~45% in bfloat16
(oneDNN re-lays the plain weight out on every call); oneDNN's inner product over a weight packed
once into its blocked layout gets close to all of it, and is ~3x faster at the batch of 11 that a
sweep runs. Where oneDNN is unavailable (another device or dtype, a CPU without bfloat16), or
packing fails its probe, `PackedLinear` is plain `F.linear`.
"""

import torch
import torch.nn.functional as F

# oneDNN's weight layout is chosen for a batch size; any hint >= 2 gives the blocked layout that
# streams the weights at close to memory bandwidth for batch 1 and for a sweep's batch of 11 alike.
PACK_BATCH_HINT = 16


def _onednn_ok(weight: torch.Tensor) -> bool:
    if weight.device.type != "cpu" or not torch.backends.mkldnn.is_available() or not torch.backends.mkldnn.enabled:
        return False
    if weight.dtype == torch.float32:
        return True
    return weight.dtype == torch.bfloat16 and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def _pack(weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor | None:
    """The weight in oneDNN's blocked layout, or None if this build cannot pack it faithfully."""
    try:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), PACK_BATCH_HINT)
        probe = weight.new_ones(1, weight.size(1))
        expected = F.linear(probe, weight, bias).float()
        got = torch.ops.mkldnn._linear_pointwise(probe, packed, bias, "none", [], "").float()
    except (RuntimeError, NotImplementedError):  # an unusual build
        return None
    ok = torch.allclose(got, expected, rtol=1e-2, atol=1e-2 * float(expected.abs().max()) + 1e-6)
    return packed if ok else None


class PackedLinear:
    """`F.linear(x, weight, bias)`, with the weight pre-packed for oneDNN where that is possible."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        self.bias = bias
        self.packed = _pack(weight, bias) if _onednn_ok(weight) else None
        self.weight = None if self.packed is not None else weight  # the plain copy is not needed then

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x.contiguous(), self.packed, self.bias, "none", [], "")
        return F.linear(x, self.weight, self.bias)


class StepWeights:
    """Per LSTM layer one linear over [x | h] with ([W_ih | W_hh], b_ih + b_hh), and the output layer.

    Built from a model's current weights; `current(model)` says whether they are still the model's
    (no optimiser step, `load_state_dict`, in-place edit through the tensor, or `.to()` since).
    """

    def __init__(self, model):
        with torch.no_grad():
            self.layers = [
                PackedLinear(torch.cat([layer.weight_ih_l0, layer.weight_hh_l0], dim=1),  # (4H, I + H)
                             layer.bias_ih_l0 + layer.bias_hh_l0)  # (4H,)
                for layer in model.lstm
            ]
            self.head = PackedLinear(model.fc.weight.detach(), model.fc.bias.detach())  # (V, H)
        self.key = weights_key(model)

    def current(self, model) -> bool:
        return self.key == weights_key(model)


def weights_key(model) -> tuple:
    """Changes whenever a step's weights do: an optimiser step, `load_state_dict`, an in-place edit
    through the tensor, or `.to()`. What was computed with equal keys still holds."""
    params = [p for lstm in model.lstm for p in lstm.parameters()]
    params += [model.embedding.weight, model.fc.weight, model.fc.bias]
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)
