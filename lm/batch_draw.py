"""The batch's draw (lm.batching): one token for each row from its own logits, with its own generator and its
own temperature, top-k and top-p, through lm.sampling, as its solo `lm.stream` draws it; then the token goes
to the row's reader."""

import math

import torch

from .batch_row import END
from .generation import token_ranks
from .sampling import sample_next_token


def draw(rows: list, logits: torch.Tensor, vocab) -> tuple[torch.Tensor, list[int]]:
    """Draw a token for each of `rows` from `logits` (b, V), masked in place, and send it to the row; returns
    the ids drawn (b,) and the positions of the rows that go on (not done, failed or closed)."""
    # As lm.generation._run: the model's own probability needs the normaliser before <unk> is masked.
    log_norm = logits.logsumexp(dim=-1)  # (b,)
    logits[:, vocab.unk_index] = -math.inf
    ids, errors = _sample(rows, logits, ~torch.isfinite(log_norm))  # (b,)
    probs = (logits.gather(1, ids[:, None])[:, 0] - log_norm).exp()  # (b,)
    ranks = token_ranks(logits, ids)  # (b,)
    going = []
    for j, (row, token_id, p, rank) in enumerate(zip(rows, ids.tolist(), probs.tolist(), ranks.tolist())):
        if row.cancelled:
            continue
        if j in errors:
            row.finish(errors[j])
        elif token_id == vocab.eos_index and row.stop_at_eos:
            row.finish(END)
        else:
            row.send((vocab.itos[token_id], p, rank))
            row.left -= 1
            if row.left > 0:
                going.append(j)
            else:
                row.finish(END)
    return ids, going


def _sample(rows, logits, suspect):
    """One token per row, each from its own generator; returns ids (B,) and {row position: error}.

    Rows with equal (top_k, top_p) are drawn in one call. A `suspect` row (B,) bool, one whose
    logits' logsumexp is not finite (a nan or +inf among them, or no finite one), is drawn alone,
    so that its failure (lm.sampling's ValueError, as its solo run would raise) is its own.
    """
    ids = torch.zeros(len(rows), dtype=torch.long, device=logits.device)  # (B,)
    bad = set(suspect.nonzero()[:, 0].tolist())
    groups, errors = {}, {}
    for j, row in enumerate(rows):
        groups.setdefault(("alone", j) if j in bad else (row.top_k, row.top_p), []).append(j)
    for js in groups.values():
        part = logits if len(js) == len(rows) else logits[js]  # (b, V)
        group = [rows[j] for j in js]
        try:
            ids[js] = sample_next_token(part, [r.temperature for r in group], [r.generator for r in group],
                                        group[0].top_k, group[0].top_p)  # (b,)
        except ValueError as e:  # only a lone bad row gets here
            errors.update({j: e for j in js})
    return ids, errors
