"""One draw at a time, laid open: the ticket strip the sampler walks, the random number and where it lands.

"Be the sampler" writes a text one word at a time: at each step the student takes a word, or rolls the
dice and the sampler takes one. "Inspect a word" shows the draw behind any word already written. Both
need the step exactly as `generate` made it, so everything here replays `generate`'s own path: the prompt
read once, then one `model.step` per word at batch size 1, and the row's generator rolled once per step
whatever word was taken. So a student who only rolls, with seed s, writes what `generate(..., seed=s)`
writes, word for word, and a word they choose themselves does not shift the dice of the steps after it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .checks import check_int, check_model, check_vocab
from .generation import Generation, _run, read_prompt, token_ranks
from .sampling import (
    MAX_SEED,
    check_sampling,
    check_temperature,
    entropy_bits,
    filter_logits,
    make_generator,
    pick,
    ticket_order,
    uniforms,
)
from .text import shown
from .vocab import Vocab


@dataclass
class Ticket:
    """One word's slice of the strip."""
    token: str
    word: str  # as the page shows it ("dorothy" -> "Dorothy")
    prob: float  # after temperature, top-k and top-p: the slice's width (the strip is 1 wide)
    model_prob: float  # the model's own probability, before temperature
    rank: int  # 1 = the model's favourite
    start: float  # where the slice begins on the strip, in [0, 1)


@dataclass
class Step:
    """The draw of word `position` (0 = the first new word) of a text."""
    position: int
    temperature: float
    tickets: list[Ticket]  # the likeliest words, in the order the draw walks them
    others: float  # the slice of "all other words", after the named tickets
    others_count: int  # how many words share it (those with any chance left)
    u: float  # this step's random number: it lands at u on the strip
    drawn: Ticket  # the word u lands on (the sampler's pick; at temperature 0, the favourite)
    entropy: float  # of the distribution drawn from, in bits

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def _ids(vocab: Vocab, tokens: Sequence[str]) -> list[int]:
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        raise ValueError(f"tokens must be a list of the model's tokens, got {tokens!r}")
    unknown = [t for t in tokens if not isinstance(t, str) or t not in vocab.stoi]
    if unknown:
        raise ValueError(f"tokens holds words the model does not know: {unknown[:5]!r}")
    return [vocab.stoi[t] for t in tokens]


def _ticket(vocab, logits, model_probs, probs, i: int, start: float) -> Ticket:
    token = vocab.itos[i]
    rank = int(token_ranks(logits, torch.tensor([i], device=logits.device))[0])
    return Ticket(token, shown(vocab.display, token), float(probs[0, i]), float(model_probs[0, i]), rank, start)


@torch.no_grad()
def next_step(model, vocab: Vocab, prompt: str, tokens: Sequence[str], seed: int, temperature: float,
              top_k: int | None = None, top_p: float | None = None) -> Step:
    """The draw of the word after `prompt` + `tokens` (new tokens written so far), as `generate(prompt,
    seed=seed, ...)` makes it at that step: the strip at `temperature`, this step's random number, the pick."""
    temperature, top_k, top_p, seed = _checked(model, vocab, seed, temperature, top_k, top_p)
    ids = _ids(vocab, tokens)
    logits, _, dice = _replay(model, vocab, prompt, ids, seed)
    return _draw_step(vocab, logits, dice, len(ids), temperature, top_k, top_p)


@torch.no_grad()
def take_step(model, vocab: Vocab, prompt: str, tokens: Sequence[str], seed: int, temperature: float,
              top_k: int | None = None, top_p: float | None = None, token: str | None = None) -> tuple[Step, Step]:
    """One word more, in one replay: the draw after `prompt` + `tokens` (as `next_step`), then, with `token`
    taken (None: the word the dice drew), the draw after that."""
    temperature, top_k, top_p, seed = _checked(model, vocab, seed, temperature, top_k, top_p)
    ids = _ids(vocab, tokens)
    logits, hidden, dice = _replay(model, vocab, prompt, ids, seed)
    step = _draw_step(vocab, logits, dice, len(ids), temperature, top_k, top_p)
    taken = _ids(vocab, [step.drawn.token if token is None else token])
    logits, _ = model.step(torch.tensor(taken, device=logits.device), hidden)  # (1, V)
    return step, _draw_step(vocab, logits, dice, len(ids) + 1, temperature, top_k, top_p)


def _checked(model, vocab, seed, temperature, top_k, top_p):
    check_model(model)
    check_vocab(vocab, model)
    temperature = check_temperature(temperature)
    _, top_k, top_p, seed = check_sampling(0, top_k, top_p, check_int("seed", seed, 0, MAX_SEED))
    return temperature, top_k, top_p, seed


def _replay(model, vocab, prompt, ids, seed):
    """The logits (1, V) and LSTM state after `prompt` + `ids`, and the row's generator, all as generate
    leaves them there: one roll per step, then the step on the word taken."""
    _, _, logits, hidden = read_prompt(model, vocab, prompt)  # (1, V)
    dice = make_generator(seed)
    for i in ids:
        uniforms([dice])
        logits, hidden = model.step(torch.tensor([i], device=logits.device), hidden)  # (1, V)
    return logits, hidden, dice


def _draw_step(vocab, logits, dice, position, temperature, top_k, top_p) -> Step:
    """The draw from `logits` (1, V), rolling `dice` once, exactly as _run and pick treat a row: the model's
    own probabilities (before temperature) from the raw logits, <unk> masked, the same filter, the same draw."""
    model_probs = logits.float().softmax(dim=-1)  # (1, V)
    masked = logits.clone()
    masked[:, vocab.unk_index] = -math.inf  # never written: not on the strip
    u = uniforms([dice])  # (1,)
    drawn = int(pick(masked, [temperature], u, top_k, top_p)[0])
    if temperature == 0:
        probs = torch.nn.functional.one_hot(masked.argmax(dim=-1), logits.size(-1)).float()  # (1, V)
    else:
        probs = filter_logits(masked, masked.new_tensor([temperature]), top_k, top_p).softmax(dim=-1).float()  # (1, V)
    return _strip(vocab, position=position, temperature=temperature, ranks=masked.float(), model_probs=model_probs,
                  probs=probs, u=float(u[0]), drawn=drawn)


def _strip(vocab, *, position, temperature, ranks, model_probs, probs, u, drawn) -> Step:
    """The strip as `draw` walks it: the named tickets, then "all other words" (in id order)."""
    values, top_ids, rest = ticket_order(probs)  # the order draw walks
    tickets, start = [], 0.0
    for i, p in zip(top_ids[0].tolist(), values[0].tolist()):
        if p > 0:
            tickets.append(_ticket(vocab, ranks, model_probs, probs, i, start))
            start += p
    by_id = {t.token: t for t in tickets}
    word = vocab.itos[drawn]
    chosen = by_id.get(word) or _ticket(vocab, ranks, model_probs, probs, drawn, start + float(rest[0, :drawn].sum()))
    count = int((rest > 0).sum())
    # What the named words leave, or none when no other word has a chance (top-k): not float32's rounding residue.
    others = max(0.0, 1.0 - start) if count else 0.0
    return Step(position, temperature, tickets, others=others, others_count=count, u=u, drawn=chosen,
                entropy=float(entropy_bits(probs[0])))


def inspect(model, vocab: Vocab, generation: Generation, i: int, top_k: int | None = None,
            top_p: float | None = None) -> Step:
    """The draw behind new word i of `generation` (made by generate/sweep with these top_k/top_p)."""
    check_int("word", i, 0, max(len(generation.tokens) - 1, 0))
    if not generation.tokens:
        raise ValueError("the text has no new words to inspect")
    return next_step(model, vocab, generation.prompt, generation.tokens[:i], generation.seed,
                     generation.temperature, top_k, top_p)


def continue_text(model, vocab: Vocab, prompt: str, tokens: Sequence[str], seed: int, temperature: float,
                  max_new_tokens: int, top_k: int | None = None, top_p: float | None = None) -> Generation:
    """`tokens` as written so far, then `max_new_tokens` more drawn by the sampler from there, on the same
    dice: from a text of rolls only, what `generate(..., seed=seed)` writes."""
    ids = _ids(vocab, tokens)
    check_int("max_new_tokens", max_new_tokens)
    *_, (gens, _) = _run(model, vocab, prompt, [temperature], len(ids) + max_new_tokens, top_k, top_p, seed,
                         stop_at_eos=False, forced=ids)
    return gens[0]
