"""Pure sampling functions: logits in, tokens out. No model, no state; randomness only through the
`torch.Generator`s passed in, one per row, so a row's draw never depends on the other rows."""

import math
import secrets
from collections.abc import Sequence

import torch

from .checks import check_int, check_number, is_number

# A classic sweep of eleven temperatures (the reference notebook's).
NOTEBOOK_TEMPERATURES = (0.25, 0.3, 0.5, 0.7, 0.75, 0.8, 1.0, 1.8, 1.9, 2.1, 3.1415)
MIN_TEMPERATURE = 1e-6  # positive temperatures below this sample greedily
# Above this, refused. Logits / T must stay finite in float32 (T = 1e39 is inf there, and
# -inf / inf is nan), and meaningful: the logits of a trained model span a few tens, so at T = 1e4
# every logit is within ~0.005 of every other and the draw is uniform to within ~0.5%; a larger T
# changes nothing but the risk of overflow.
MAX_TEMPERATURE = 1e4
# Rows of one sweep: each costs a (V,) float32 logits row per step and a generator. 256 rows of
# the notebook's 9,803-word vocabulary is 10 MB; the notebook's sweep has 11 (people read them).
MAX_TEMPERATURES = 256
MAX_SEED = 2**63 - 1


def filter_logits(logits: torch.Tensor, temperature: torch.Tensor, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Scale by temperature, then keep the top-k, then the top-p nucleus (Hugging Face semantics).

    logits (B, V) float, temperature (B,) > 0. Removed entries become -inf. Top-p keeps the
    smallest set of tokens whose probability mass reaches p, and never fewer than one token.
    """
    x = logits / temperature[:, None]  # (B, V)
    if top_k:
        kth = x.topk(min(top_k, x.size(-1)), dim=-1).values[:, -1:]  # (B, 1)
        x = x.masked_fill(x < kth, -math.inf)
    if top_p is not None and top_p < 1.0:
        # As transformers' TopPLogitsWarper: sort ascending, drop the tail whose mass is <= 1 - p.
        sorted_x, order = torch.sort(x, dim=-1)  # (B, V)
        remove = sorted_x.softmax(dim=-1).cumsum(dim=-1) <= 1 - top_p  # (B, V)
        remove[:, -1] = False  # the most likely token always stays
        x = x.masked_fill(remove.scatter(1, order, remove), -math.inf)
    return x


# The ticket strip: a draw walks the likeliest DRAW_FIRST words first, best first, then every other
# word in id order. So the strip the page draws (ten bars, then "all other words") is the one the
# random number really lands on. A full sort per step would cost ~0.3 ms at 10k words; topk(10) costs
# ~20 us (bench/bench_generate.py measures the sampler with it).
DRAW_FIRST = 10


def make_generator(seed: int) -> torch.Generator:
    """A row's random stream: a generator seeded with `seed`, on the CPU whatever the model's device. The
    numbers are drawn into CPU tensors (`uniforms`), which a CUDA generator cannot fill, and so a seed
    rolls the same numbers on a GPU as on a laptop."""
    return torch.Generator().manual_seed(seed)


def uniforms(generators: Sequence[torch.Generator]) -> torch.Tensor:
    """One random number in [0, 1) per row, from that row's generator: the dice of one step (B,) float64.

    Every row of every step takes exactly one, greedy rows too, so rows seeded alike see the same
    numbers at every step: side-by-side columns differ only by their temperature."""
    return torch.tensor([torch.rand((), generator=g, dtype=torch.float64).item() for g in generators],
                        dtype=torch.float64)


def ticket_order(probs: torch.Tensor, first: int = DRAW_FIRST):
    """The order a draw walks the words: probs (B, V) -> the `first` likeliest (values (B, k), ids
    (B, k), best first) and the rest (B, V): probs with those k set to 0, walked in id order."""
    top = probs.topk(min(first, probs.size(-1)), dim=-1)
    return top.values, top.indices, probs.scatter(1, top.indices, 0.0)


def draw(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One token per row of probs (B, V), with probability probs[r, i] / probs[r].sum(), given u (B,) in [0, 1).

    Inverse CDF along the ticket strip (`ticket_order`): u * total lands on the first word whose
    cumulative mass exceeds it. Zero-mass tokens (<unk>, those cut by top-k or top-p) are never picked.
    (`torch.multinomial` costs an exponential variate per vocabulary entry: ~4x slower here.)
    """
    top_p, top_ids, rest = ticket_order(probs)
    cdf_top = top_p.cumsum(dim=-1, dtype=torch.float64)  # (B, k)
    cdf = rest.cumsum(dim=-1, dtype=torch.float64).add_(cdf_top[:, -1:])  # (B, V): the strip after the k
    total = cdf[:, -1]  # (B,)
    if not bool(torch.isfinite(total).all() and (total > 0).all()):
        raise ValueError("the probabilities hold nan or inf, or no mass")
    # u < 1, but u * total may round up to total: keep the point inside the strip.
    x = torch.minimum(u.to(cdf.device) * total, torch.nextafter(total, torch.zeros_like(total)))[:, None]  # (B, 1)
    in_top = x[:, 0] < cdf_top[:, -1]  # (B,)
    i_top = torch.searchsorted(cdf_top, x, right=True).clamp_(max=top_ids.size(-1) - 1)  # (B, 1)
    i_rest = torch.searchsorted(cdf, x, right=True)[:, 0]  # (B,)
    return torch.where(in_top, top_ids.gather(1, i_top)[:, 0], i_rest)


def pick(logits: torch.Tensor, temperature: Sequence[float], u: torch.Tensor, top_k: int | None = None,
         top_p: float | None = None) -> torch.Tensor:
    """One token per row, given the step's random numbers: logits (B, V), u (B,) -> ids (B,).
    Temperature 0 is greedy (its row's number is left unused)."""
    hot = [b for b, t in enumerate(temperature) if t > 0]
    if len(hot) == len(temperature):  # every row draws (the usual case): no copy of the logits
        probs = filter_logits(logits, logits.new_tensor(list(temperature)), top_k, top_p).softmax(dim=-1)  # (B, V)
        return draw(probs, u)
    ids = logits.argmax(dim=-1)  # (B,)
    if hot:
        temps = logits.new_tensor([temperature[b] for b in hot])  # (b,)
        probs = filter_logits(logits[hot], temps, top_k, top_p).softmax(dim=-1)  # (b, V)
        ids[hot] = draw(probs, u[hot])
    return ids


def sample_next_token(logits: torch.Tensor, temperature: Sequence[float], generators: Sequence[torch.Generator],
                      top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Pick one token per row: logits (B, V) -> ids (B,), each row rolling its own generator once."""
    return pick(logits, temperature, uniforms(generators), top_k, top_p)


def entropy_bits(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in bits along the last dimension (0 log 0 = 0; never -0)."""
    logp = torch.where(probs > 0, probs.log2(), torch.zeros_like(probs))
    return (-(probs * logp).sum(dim=-1)).clamp_(min=0.0)


def random_seed() -> int:
    """A fresh seed from the OS, small enough to read out and type back in."""
    return secrets.randbelow(2**31)


# ------------------------------------------------------------------------------ checking
def check_temperature(t) -> float:
    """A temperature in [0, MAX_TEMPERATURE] as a float; below MIN_TEMPERATURE it is 0 (greedy), as
    logits / T would overflow."""
    value = check_number("temperature", t, 0.0, MAX_TEMPERATURE)
    return 0.0 if value < MIN_TEMPERATURE else value


def check_sampling(max_new_tokens, top_k, top_p, seed) -> tuple[int, int | None, float | None, int]:
    """The checked sampling arguments; top_k 0 and top_p 1 mean off (None); seed None draws one."""
    check_int("max_new_tokens", max_new_tokens)
    if top_k is not None:
        check_int("top_k", top_k)
    if top_p is not None:
        top_p = check_number("top_p", top_p, 0.0, 1.0, low_open=True)
    seed = random_seed() if seed is None else check_int("seed", seed, 0, MAX_SEED)
    return max_new_tokens, top_k or None, (None if top_p == 1.0 else top_p), seed


def check_temperatures(temperatures, name: str = "temperatures") -> list[float]:
    """1 to MAX_TEMPERATURES temperatures, each checked; `name` is the argument's (or flag's) name."""
    if isinstance(temperatures, (str, bytes)) or is_number(temperatures) or not isinstance(temperatures, Sequence):
        raise ValueError(f"{name} must be a list of numbers, got {temperatures!r}")
    if not 1 <= len(temperatures) <= MAX_TEMPERATURES:
        raise ValueError(f"{name} must hold 1 to {MAX_TEMPERATURES} temperatures, got {len(temperatures)}")
    return [check_temperature(t) for t in temperatures]
