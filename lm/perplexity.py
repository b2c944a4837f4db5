"""Perplexity with the notebook's `valid()` layout, so figures compare with its 83.111.

The split is cut into `batch_size` streams (`batchify`), trimmed to whole `seq_len` chunks, and read
chunk by chunk from a zero state carried across chunks. The result is the mean cross-entropy per
predicted token (perplexity = exp of it). The notebook divided the summed loss by the number of
columns N instead of the N - 1 predicted positions: a bias of 1/N (< 0.02% on its data), not kept.
`batch_size=1` reads the whole split as one stream: the stricter figure papers report.
"""

import torch
import torch.nn.functional as F

from .checks import check_ids, check_int, check_model
from .data import batchify, iter_batches


@torch.no_grad()
def evaluate(model, data: torch.Tensor, batch_size: int = 128, seq_len: int = 50) -> float:
    """Mean token cross-entropy (nats) of `model` on the 1-D token ids `data` (no dropout, in any mode).

    `data` is an int64 or int32 tensor of ids the model has rows for; anything else is a ValueError
    naming the argument, before any work.
    """
    check_model(model)
    check_ids("data", data, model.config.vocab_size)
    check_int("batch_size", batch_size, 1)
    check_int("seq_len", seq_len, 1)
    streams = batchify(data.long(), batch_size).to(model.fc.weight.device)  # (B, N); int64 for the loss
    total, count, hidden = torch.zeros((), dtype=torch.float64, device=streams.device), 0, None
    for src, target in iter_batches(streams, seq_len):  # (B, T) each
        logits, hidden = model.read(src, hidden)  # (B, T, V)
        total += F.cross_entropy(logits.flatten(0, 1).float(), target.flatten(), reduction="sum").double()
        count += target.numel()
    if count == 0:
        raise ValueError(f"{data.numel()} tokens are too few to evaluate with batch_size={batch_size}, "
                         f"seq_len={seq_len}")
    return float(total) / count
