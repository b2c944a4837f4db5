"""Sampling text from the model: temperature, top-k, top-p, streaming, batched temperature sweeps.

The prompt is fed once, after an `<eos>` (so it starts a new line, as every line did in training);
then one token per step, carrying the LSTM state. (The notebook re-fed the whole prefix at every
step on top of the carried state: quadratic time, and the prompt conditioned on twice.)

Randomness comes only from a `torch.Generator` per sequence, seeded from `seed`: the global RNG is
never touched, so concurrent users cannot disturb each other, and row i of a `sweep` draws exactly
what `generate(..., temperature=temperatures[i], seed=seed)` draws.
"""

import bisect
import math
import numbers
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .text import EOS, UNK, Vocab, detokenize, tokenize


# ------------------------------------------------------------------------------- pure functions
def filter_logits(logits: torch.Tensor, temperature: torch.Tensor, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Scale by temperature, then keep the top-k, then the top-p nucleus (Hugging Face semantics).

    logits (B, V) float, temperature (B,) > 0. Removed entries become -inf. Top-p keeps the
    smallest set of tokens whose probability mass reaches p, and never fewer than one token.
    """
    x = logits / temperature[:, None]  # (B, V)
    if top_k:
        k = min(top_k, x.size(-1))
        kth = x.topk(k, dim=-1).values[:, -1:]  # (B, 1)
        x = x.masked_fill(x < kth, -math.inf)
    if top_p is not None and top_p < 1.0:
        # As transformers' TopPLogitsWarper: sort ascending, drop the tail whose mass is <= 1 - p.
        sorted_x, order = torch.sort(x, dim=-1)  # (B, V)
        cum = sorted_x.softmax(dim=-1).cumsum(dim=-1)
        remove = cum <= 1 - top_p
        remove[:, -1] = False  # the most likely token always stays
        x = x.masked_fill(remove.scatter(1, order, remove), -math.inf)
    return x


def sample_next_token(logits: torch.Tensor, temperature: Sequence[float], generators: Sequence[torch.Generator],
                      top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Pick one token per row: logits (B, V) -> ids (B,).

    Temperature 0 means greedy (argmax; no random draw). Otherwise one uniform number from row b's
    own generator picks the token by inverse CDF, so a row's choice never depends on the other rows.
    """
    hot = [b for b, t in enumerate(temperature) if t > 0]
    if len(hot) == logits.size(0):  # every row samples: no argmax, no row gather
        temps = logits.new_tensor(list(temperature))  # (B,)
        probs = filter_logits(logits, temps, top_k, top_p).softmax(dim=-1)  # (B, V)
        return draw_from(probs, [generators[b] for b in hot])
    ids = logits.argmax(dim=-1)  # (B,)
    if hot:
        temps = logits.new_tensor([temperature[b] for b in hot])  # (b,)
        probs = filter_logits(logits[hot], temps, top_k, top_p).softmax(dim=-1)  # (b, V)
        ids[torch.tensor(hot, device=ids.device)] = draw_from(probs, [generators[b] for b in hot])
    return ids


# draw_from's first level: blocks of this many tokens.
_BLOCK = 128


def draw_from(probs: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """One token per row of probs (b, V), drawn with probability probs[r, i] / probs[r].sum().

    Inverse CDF with one uniform number u per row from that row's own generator: the token at which
    the cumulative mass first exceeds u * (total mass). Tokens with zero mass (<unk>, and those top-k
    or top-p removed) are never picked. In two levels: the masses of blocks of 128 tokens (one
    reduction over the vocabulary), then the tokens of the chosen block; cumulative sums in float64.
    Row r's pick depends only on row r, so a row of a batch draws what it would draw alone.

    (`torch.multinomial` draws an exponential variate for every vocabulary entry, ~0.25 ms a row on
    this CPU; a float64 cumsum over the whole vocabulary, for a sweep of 11, writes ~1 MB of freshly
    allocated memory a step, measured at ~1-2 ms here: each more than the rest of a bfloat16 sweep step.)
    """
    b, V = probs.shape
    us = [torch.rand(1, generator=g, dtype=torch.float64, device=probs.device).item() for g in generators]
    full = V // _BLOCK * _BLOCK
    sums = probs[:, :full].unflatten(1, (-1, _BLOCK)).sum(dim=-1)  # (b, V // K)
    if full < V:
        sums = torch.cat([sums, probs[:, full:].sum(dim=-1, keepdim=True)], dim=1)  # (b, nb)
    cums = sums.cumsum(dim=-1, dtype=torch.float64)  # (b, nb)
    before = cums - sums  # mass before each block (float64)
    starts, rests = [], []
    for u, cum, bef in zip(us, cums.tolist(), before.tolist()):
        total = cum[-1]
        if not (math.isfinite(total) and total > 0):
            raise RuntimeError("probability tensor contains nan, inf or no mass")  # as torch.multinomial
        target = u * total  # in [0, total)
        # The first block whose cumulative mass exceeds the target, never past the last one with mass.
        k = min(bisect.bisect_right(cum, target), bisect.bisect_left(cum, total))
        starts.append(k * _BLOCK)
        rests.append(max(target - bef[k], 0.0))  # the target within block k
    index = torch.tensor(starts, device=probs.device)[:, None] + torch.arange(_BLOCK, device=probs.device)  # (b, K)
    inside = index < V
    # The chosen blocks' cumulative masses (zero past the end of the vocabulary).
    blocks = (probs.gather(1, index.clamp_(max=V - 1)) * inside).cumsum(dim=-1, dtype=torch.float64)  # (b, K)
    ids = []
    for start, rest, cum in zip(starts, rests, blocks.tolist()):
        ids.append(start + min(bisect.bisect_right(cum, rest), bisect.bisect_left(cum, cum[-1])))
    return torch.tensor(ids, device=probs.device)


def entropy_bits(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in bits along the last dimension (0 log 0 = 0)."""
    logp = torch.where(probs > 0, probs.log2(), torch.zeros_like(probs))
    return -(probs * logp).sum(dim=-1)


# ---------------------------------------------------------------------------------- arguments
def random_seed() -> int:
    """A fresh seed from the OS, small enough to read out and type back in."""
    return secrets.randbelow(2**31)


# The reference notebook's temperature sweep.
NOTEBOOK_TEMPERATURES = (0.25, 0.3, 0.5, 0.7, 0.75, 0.8, 1.0, 1.8, 1.9, 2.1, 3.1415)
MIN_TEMPERATURE = 1e-6  # positive temperatures below this sample greedily


def _check_temperature(t) -> float:
    # A string such as "0.7" is refused too, not parsed: float() would accept it.
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise ValueError(f"temperature must be a number, got {t!r}")
    value = float(t)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {t!r}")
    # Far below this, logits / T overflows float32 (and the choice is the argmax anyway): greedy.
    return 0.0 if value < MIN_TEMPERATURE else value


def _check_args(max_new_tokens, top_k, top_p, seed) -> tuple[int, int | None, float | None, int]:
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        raise ValueError(f"top_k must be None or an integer >= 0 (0 = off), got {top_k!r}")
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not (0.0 < top_p <= 1.0):
            raise ValueError(f"top_p must be None or a number in (0, 1], got {top_p!r}")
        top_p = float(top_p)
    if seed is None:
        seed = random_seed()
    elif isinstance(seed, bool) or not isinstance(seed, int) or not (0 <= seed < 2**63):
        raise ValueError(f"seed must be None or an integer in [0, 2**63), got {seed!r}")
    return max_new_tokens, top_k or None, top_p, seed


# ------------------------------------------------------------------------------------ results
@dataclass
class Generation:
    prompt: str
    prompt_tokens: list[str]  # the prompt as the tokenizer saw it
    tokens: list[str] = field(default_factory=list)  # the new tokens
    probs: list[float] = field(default_factory=list)  # the model's probability of each, before temperature
    temperature: float = 1.0
    seed: int = 0  # the seed actually used: pass it back to reproduce this result
    unknown_words: list[str] = field(default_factory=list)  # prompt words the model sees as <unk>

    @property
    def text(self) -> str:
        """Prompt and continuation as readable text."""
        return detokenize(self.prompt_tokens + self.tokens)


@dataclass
class StreamToken:
    token: str
    prob: float  # the model's probability of this token, before temperature


@dataclass
class Distribution:
    temperature: float
    tokens: list[str]  # the most likely next tokens, best first (the same order at every temperature > 0)
    probs: list[float]  # their probability after temperature, top-k and top-p
    entropy: float  # of the whole distribution actually sampled from, in bits


# ----------------------------------------------------------------------------------- the loop
def _mask_unk(logits: torch.Tensor, vocab: Vocab) -> torch.Tensor:
    """A copy of logits (B, V) in which `<unk>` can never be chosen."""
    logits = logits.clone()
    logits[:, vocab.unk_index] = -math.inf
    return logits


# Prompts up to this many tokens (the leading <eos> included) are fed through `model.step`; longer
# ones through `model.forward`, whose fixed cost per call is then repaid (measured on the notebook-size
# model on this CPU: forward and step break even at ~8 tokens in bfloat16, ~16 in float32).
_STEP_PROMPT_MAX = 8


def _prompt_state(model, vocab: Vocab, prompt: str):
    """Feed `<eos> + prompt` once; return the model's last logits (1, V, `<unk>` not masked) and the state."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    words = tokenize(prompt)
    ids = [vocab.eos_index] + vocab.encode(words)
    device = next(model.parameters()).device
    src = torch.tensor([ids], device=device)  # (1, T)
    with torch.no_grad():
        if len(ids) <= _STEP_PROMPT_MAX:
            # A short prompt goes through `step`, a token at a time: the same numbers as forward, but
            # nn.LSTM's call costs several steps' worth on CPU (it re-lays its weights out for oneDNN).
            hidden = model.init_hidden(1)
            for t in range(len(ids)):
                logits, hidden = model.step(src[:, t], hidden)  # (1, V) float32
        else:
            logits, hidden = model(src)  # (1, T, V)
            logits = logits[:, -1].float()  # (1, V)
    unknown = [w for w in words if w not in vocab]
    return words, unknown, logits, hidden


def _run(model, vocab, prompt, temperatures, max_new_tokens, top_k, top_p, seed, stop_at_eos):
    """Sample len(temperatures) continuations in one batch. Yields (generations, [(row, token, prob)])
    once per step, for the rows that produced a token at that step."""
    temps = [_check_temperature(t) for t in temperatures]
    max_new_tokens, top_k, top_p, seed = _check_args(max_new_tokens, top_k, top_p, seed)
    was_training = model.training
    model.eval()
    try:
        words, unknown, logits, hidden = _prompt_state(model, vocab, prompt)
        gens = [Generation(prompt, words, temperature=t, seed=seed, unknown_words=unknown) for t in temps]
        device = logits.device
        rows = list(range(len(temps)))  # rows still generating
        generators = [torch.Generator(device=device).manual_seed(seed) for _ in temps]
        n = len(rows)
        logits = logits.expand(n, -1).clone()  # (B, V): the prompt is the same for every row
        hidden = [(h.expand(-1, n, -1).contiguous(), c.expand(-1, n, -1).contiguous()) for h, c in hidden]
        for step in range(max_new_tokens):
            # The model's own probability of the chosen token (before temperature, of the full
            # distribution, <unk> included) is exp(logit - logsumexp): take the normaliser first,
            # then mask <unk> in place (a chosen token is never <unk>, so its logit is untouched).
            log_norm = logits.logsumexp(dim=-1)  # (B,)
            logits[:, vocab.unk_index] = -math.inf  # <unk> is never emitted
            ids = sample_next_token(logits, [temps[r] for r in rows], [generators[r] for r in rows], top_k, top_p)
            model_probs = (logits.gather(1, ids[:, None])[:, 0] - log_norm).exp()  # (B,)
            ids_list, probs_list = ids.tolist(), model_probs.tolist()
            events, keep = [], []
            for j, (r, tok_id, p) in enumerate(zip(rows, ids_list, probs_list)):
                if tok_id == vocab.eos_index and stop_at_eos:
                    continue
                token = vocab.itos[tok_id]
                gens[r].tokens.append(token)
                gens[r].probs.append(p)
                events.append((r, token, p))
                keep.append(j)
            yield gens, events
            if step == max_new_tokens - 1:
                break  # no need to compute logits nobody will sample from
            if len(keep) < len(rows):  # drop finished rows from the batch
                rows = [rows[j] for j in keep]
                if not rows:
                    break
                index = torch.tensor(keep, device=device)
                ids = ids[index]
                hidden = [(h[:, index], c[:, index]) for h, c in hidden]
            logits, hidden = model.step(ids, hidden)  # (B, V), a fresh tensor: masked in place above
        yield gens, []
    finally:
        model.train(was_training)


# --------------------------------------------------------------------------------- public API
def generate(model, vocab: Vocab, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             stop_at_eos: bool = True) -> Generation:
    """Continue `prompt`. Temperature 0 is greedy; seed None draws a fresh seed (see `.seed`).

    >>> g = generate(model, vocab, "the scarecrow", max_new_tokens=5, temperature=0.7, seed=1)
    >>> g.tokens, g.text   # (['said', ',', ...], 'The scarecrow said, ...')
    """
    gens = None
    for gens, _ in _run(model, vocab, prompt, [temperature], max_new_tokens, top_k, top_p, seed, stop_at_eos):
        pass
    return gens[0]


def stream(model, vocab: Vocab, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
           stop_at_eos: bool = True) -> Iterator[StreamToken]:
    """Like `generate`, but yields each new token (with its probability) as soon as it is sampled.

    Arguments are checked when the first token is asked for. Pass an explicit `seed` to be able to
    report it; with None a fresh one is used.
    """
    for _, events in _run(model, vocab, prompt, [temperature], max_new_tokens, top_k, top_p, seed, stop_at_eos):
        for _, token, p in events:
            yield StreamToken(token, p)


def sweep(model, vocab: Vocab, prompt: str, temperatures: Sequence[float], max_new_tokens: int = 100,
          top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
          stop_at_eos: bool = True) -> list[Generation]:
    """One continuation per temperature, all in one batched forward pass per step.

    Row i equals `generate(..., temperature=temperatures[i], seed=seed)` token for token.
    """
    if len(temperatures) == 0:
        raise ValueError("temperatures must not be empty")
    gens = None
    for gens, _ in _run(model, vocab, prompt, list(temperatures), max_new_tokens, top_k, top_p, seed, stop_at_eos):
        pass
    return gens


@torch.no_grad()
def next_token_distribution(model, vocab: Vocab, prompt: str, temperatures: Sequence[float], top: int = 20,
                            top_k: int | None = None, top_p: float | None = None) -> list[Distribution]:
    """For each temperature, the `top` most likely next tokens with their probabilities after
    temperature/top-k/top-p (what `generate` would sample from), and the entropy in bits."""
    temps = [_check_temperature(t) for t in temperatures]
    _, top_k, top_p, _ = _check_args(0, top_k, top_p, 0)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    was_training = model.training
    model.eval()
    try:
        _, _, logits, _ = _prompt_state(model, vocab, prompt)  # (1, V)
    finally:
        model.train(was_training)
    logits = _mask_unk(logits, vocab)  # what generate samples from
    n = min(top, len(vocab) - 1)  # <unk> is masked, so never listed
    order = logits[0].topk(n).indices  # (n,) temperature does not change the ranking
    tokens = [vocab.itos[i] for i in order.tolist()]
    out = []
    for t in temps:
        if t == 0:
            probs = F.one_hot(logits.argmax(dim=-1), logits.size(-1)).float()  # (1, V)
        else:
            probs = filter_logits(logits, logits.new_tensor([t]), top_k, top_p).softmax(dim=-1)  # (1, V)
        out.append(Distribution(t, tokens, probs[0, order].tolist(), float(entropy_bits(probs[0]))))
    return out


__all__ = ["Generation", "StreamToken", "Distribution", "generate", "stream", "sweep", "next_token_distribution",
           "filter_logits", "sample_next_token", "draw_from", "entropy_bits", "random_seed", "EOS", "UNK"]
