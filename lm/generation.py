"""Writing text with the model: generate, stream, sweep (many temperatures in one batch), and the
next-token distribution.

The prompt is read once, after an `<eos>` (so it starts a new paragraph, as every line did in
training); then one token per step, carrying the LSTM state. (The reference notebook re-fed the whole
prefix at every step on top of the carried state: quadratic time, and the prompt read twice.)

Randomness comes only from one `torch.Generator` per row, seeded from `seed`: the global RNG is never
touched, so concurrent users cannot disturb each other, and row i of a `sweep` draws exactly what
`generate(..., temperature=temperatures[i], seed=seed)` draws. The model's mode is never changed
(prompts go through `model.read`, steps through `model.step`: no dropout in either), so one model can
serve many threads, even while it is in training mode.
"""

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .checks import check_bool, check_int, check_model, check_vocab
from .sampling import (
    MAX_SEED,
    check_sampling,
    check_temperatures,
    entropy_bits,
    filter_logits,
    make_generator,
    pick,
    uniforms,
)
from .text import LOWER_CASE, Detokenizer, Printing, after_typed, shown, tokenize
from .vocab import Vocab


@dataclass
class Generation:
    prompt: str
    prompt_tokens: list[str]  # the prompt as the tokenizer saw it
    tokens: list[str] = field(default_factory=list)  # the new tokens
    probs: list[float] = field(default_factory=list)  # the model's probability of each, before temperature
    ranks: list[int] = field(default_factory=list)  # each one's place in the model's ranking (1 = its favourite)
    uniforms: list[float] = field(default_factory=list, repr=False)  # each step's random number in [0, 1)
    temperature: float = 1.0
    seed: int = 0  # the seed actually used: pass it back to reproduce this result
    unknown_words: list[str] = field(default_factory=list)  # prompt words the model sees as <unk>
    printing: Printing = field(default=LOWER_CASE, repr=False)  # how the vocabulary's books print words
    _detokenizer: Detokenizer | None = field(default=None, init=False, repr=False, compare=False)  # last_piece's
    _detokenized: int = field(default=0, init=False, repr=False, compare=False)  # tokens it has taken

    @property
    def text(self) -> str:
        """The prompt exactly as typed, then the new words as readable text (`<eos>`: a paragraph break)."""
        return self.prompt + self.continuation

    @property
    def continuation(self) -> str:
        """The new words as they follow the prompt: spaced after it, capitalised if it ended a sentence."""
        return "".join(self.pieces())

    def pieces(self) -> list[str]:
        """The text each new token adds to `text`, in order, in one pass."""
        text = Detokenizer(self.printing, self.prompt_tokens)
        return [self._lead(i, text.add(token)) for i, token in enumerate(self.tokens)]

    def piece(self, i: int) -> str:
        """The text that new token i adds to `text`."""
        text = Detokenizer(self.printing, self.prompt_tokens + self.tokens[:i])
        return self._lead(i, text.add(self.tokens[i]))

    def last_piece(self) -> str:
        """piece(len(tokens) - 1), for a stream: the detokenizer is kept between calls, so n tokens cost n
        steps (piece() re-reads the whole text each time: n^2, 2 ms of the GIL per 100 words, 50 ms per 500)."""
        n = len(self.tokens)
        if self._detokenizer is None or self._detokenized != n - 1:  # tokens were added without asking: catch up
            self._detokenizer = Detokenizer(self.printing, self.prompt_tokens + self.tokens[:n - 1])
        self._detokenized = n
        return self._lead(n - 1, self._detokenizer.add(self.tokens[-1]))

    def _lead(self, i: int, text: str) -> str:
        return after_typed(self.prompt, text) if i == 0 else text  # only the first new word meets the prompt


@dataclass
class StreamToken:
    token: str
    prob: float  # the model's probability of this token, before temperature
    text: str = ""  # what it adds to the readable text: "Dorothy" + " said" + ","
    rank: int = 1  # its place among the words the model can write, before temperature (1 = its favourite)


@dataclass
class Distribution:
    temperature: float
    tokens: list[str]  # the most likely next tokens, best first (the same order at every temperature > 0)
    probs: list[float]  # their probability after temperature, top-k and top-p
    entropy: float  # of the whole distribution actually sampled from, in bits
    words: list[str] = field(default_factory=list)  # the tokens as the page shows them ("dorothy" -> "Dorothy")


def token_ranks(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Each chosen token's rank in its row (1 = the highest logit): 1 + how many logits beat it. Temperature
    divides every logit alike, so this is the rank before and after it. One comparison per logit, no sort."""
    return (logits > logits.gather(1, ids[:, None])).sum(dim=-1) + 1  # (B,)


# Prompts up to this many tokens (the leading <eos> included) go through `model.step`; longer ones
# through `model.read`, whose fixed cost per call is then repaid (on the notebook-size model on this
# CPU they break even at ~8 tokens in bfloat16, ~16 in float32).
STEP_PROMPT_MAX = 8


def prompt_words(vocab: Vocab, prompt: str) -> tuple[list[str], list[str]]:
    """The prompt's words, and those unknown to the vocabulary (checked: a string)."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    words = tokenize(prompt)
    return words, [w for w in words if w not in vocab]


def _step_through(model, src: torch.Tensor):
    """src (B, T) one step at a time -> the last step's logits (B, V) and the state. Only the last step
    needs the output layer, which at batch 1 costs as much as the LSTM layers together."""
    hidden = model.init_hidden(src.size(0))
    for t in range(src.size(1) - 1):
        hidden = model.step_state(src[:, t], hidden)
    return model.step(src[:, -1], hidden)


def prompt_ids(vocab: Vocab, words: list[str]) -> list[int]:
    """What the model is fed of a prompt's words: `<eos>` (a new paragraph, as every line began in training),
    then the words."""
    return [vocab.eos_index] + vocab.encode(words)


def read_prompt(model, vocab: Vocab, prompt: str):
    """Feed `<eos> + prompt` once: the prompt's words, those unknown to the vocabulary, the last
    logits (1, V) float32 with `<unk>` not yet masked, and the LSTM state."""
    words, unknown = prompt_words(vocab, prompt)
    ids = prompt_ids(vocab, words)
    src = torch.tensor([ids], device=model.fc.weight.device)  # (1, T)
    if len(ids) <= STEP_PROMPT_MAX:
        logits, hidden = _step_through(model, src)  # (1, V)
    else:
        logits, hidden = model.read(src)  # (1, T, V)
        logits = logits[:, -1].float()  # (1, V)
    return words, unknown, logits, hidden


def read_prompts(model, vocab: Vocab, prompts: list[str]) -> list[tuple[torch.Tensor, list]]:
    """`read_prompt`'s logits (1, V) and state for many prompts at once. Prompts of one length (up to
    STEP_PROMPT_MAX tokens) step together as one batch, each row what read_prompt computes alone;
    longer ones are read alone. A class's 32 prompts cost ~7 batched steps instead of ~220 single ones."""
    ids = [prompt_ids(vocab, prompt_words(vocab, p)[0]) for p in prompts]
    groups: dict = {}
    for i, row in enumerate(ids):
        groups.setdefault(len(row) if len(row) <= STEP_PROMPT_MAX else ("alone", i), []).append(i)
    out: list = [None] * len(prompts)
    for key, members in groups.items():
        if isinstance(key, tuple):
            out[key[1]] = read_prompt(model, vocab, prompts[key[1]])[2:]
            continue
        src = torch.tensor([ids[i] for i in members], device=model.fc.weight.device)  # (b, T)
        logits, hidden = _step_through(model, src)  # (b, V)
        for j, i in enumerate(members):
            out[i] = (logits[j:j + 1], [(h[:, j:j + 1], c[:, j:j + 1]) for h, c in hidden])  # (1, V), (1, 1, H)
    return out


def _take(rows: list[int], keep: list[int], ids: torch.Tensor, hidden):
    """Keep only the rows at positions `keep` of the batch."""
    index = torch.tensor(keep, device=ids.device)
    return [rows[j] for j in keep], ids[index], [(h[:, index], c[:, index]) for h, c in hidden]


def _row_seeds(seeds, seed: int, rows: int) -> list[int]:
    """One checked seed per row: `seeds` if given, else `seed` for every row."""
    if seeds is None:
        return [seed] * rows
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) != rows:
        raise ValueError(f"seeds must be a list of {rows} seeds, one per temperature, got {seeds!r}")
    return [check_int("seed", s, 0, MAX_SEED) for s in seeds]


@torch.no_grad()
def _run(model, vocab, prompt, temperatures, max_new_tokens, top_k, top_p, seed, stop_at_eos, seeds=None,
         forced=()):
    """Sample one continuation per temperature in one batch, row i seeded with seeds[i] (default: all
    with `seed`). Yields (generations, events) once per step, events being (row, token, prob, rank) for
    the rows that produced a token at that step. The first len(forced) steps take the token ids in
    `forced` instead of the drawn ones (a student's own choices), still rolling the dice, so the steps
    after them draw exactly what they would have drawn."""
    check_model(model)
    check_vocab(vocab, model)
    check_bool("stop_at_eos", stop_at_eos)
    temps = check_temperatures(temperatures)
    max_new_tokens, top_k, top_p, seed = check_sampling(max_new_tokens, top_k, top_p, seed)
    seeds = _row_seeds(seeds, seed, len(temps))
    words, unknown, logits, hidden = read_prompt(model, vocab, prompt)
    gens = [Generation(prompt, words, temperature=t, seed=s, unknown_words=unknown,
                       printing=vocab.printing) for t, s in zip(temps, seeds)]
    generators = [make_generator(s) for s in seeds]
    rows = list(range(len(temps)))  # rows still writing
    logits = logits.expand(len(rows), -1).clone()  # (B, V): every row starts from the same prompt
    hidden = [(h.expand(-1, len(rows), -1).contiguous(), c.expand(-1, len(rows), -1).contiguous()) for h, c in hidden]
    for step in range(max_new_tokens):
        # The model's own probability of the chosen token (before temperature, <unk> included) is
        # exp(logit - logsumexp): take the normaliser, then mask <unk> in place (it is never chosen).
        log_norm = logits.logsumexp(dim=-1)  # (B,)
        logits[:, vocab.unk_index] = -math.inf
        u = uniforms([generators[r] for r in rows])  # (B,) every row rolls once per step, greedy or forced too
        ids = pick(logits, [temps[r] for r in rows], u, top_k, top_p)  # (B,)
        if step < len(forced):
            ids = torch.full_like(ids, forced[step])
        probs = (logits.gather(1, ids[:, None])[:, 0] - log_norm).exp()  # (B,)
        ranks = token_ranks(logits, ids)  # (B,) <unk> is masked: ranked among the words it can write
        events, keep = [], []
        for j, (r, token_id, p, rank, x) in enumerate(zip(rows, ids.tolist(), probs.tolist(), ranks.tolist(),
                                                           u.tolist())):
            if token_id == vocab.eos_index and stop_at_eos:
                continue
            gens[r].tokens.append(vocab.itos[token_id])
            gens[r].probs.append(p)
            gens[r].ranks.append(rank)
            gens[r].uniforms.append(x)
            events.append((r, vocab.itos[token_id], p, rank))
            keep.append(j)
        yield gens, events
        if step == max_new_tokens - 1 or not keep:
            break  # no logits that nobody will sample from
        if len(keep) < len(rows):
            rows, ids, hidden = _take(rows, keep, ids, hidden)
        logits, hidden = model.step(ids, hidden)  # (B, V), a fresh tensor: masked in place above
    yield gens, []


def generate(model, vocab: Vocab, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             stop_at_eos: bool = True) -> Generation:
    """Continue `prompt`. Temperature 0 is greedy; seed None draws a fresh seed (see `.seed`).

    >>> g = generate(model, vocab, "the scarecrow", max_new_tokens=5, temperature=0.7, seed=1)
    >>> g.tokens, g.text   # (['said', ',', ...], 'The scarecrow said, ...')
    """
    return sweep(model, vocab, prompt, [temperature], max_new_tokens, top_k, top_p, seed, stop_at_eos)[0]


def stream(model, vocab: Vocab, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
           stop_at_eos: bool = True) -> Iterator[StreamToken]:
    """Like `generate`, but yields each new token (with its probability) as soon as it is drawn.

    Arguments are checked when the first token is asked for. Pass an explicit `seed` to be able to
    report it; with None a fresh one is used.
    """
    for gens, events in _run(model, vocab, prompt, [temperature], max_new_tokens, top_k, top_p, seed, stop_at_eos):
        for _, token, p, rank in events:
            yield StreamToken(token, p, gens[0].last_piece(), rank)


def sweep(model, vocab: Vocab, prompt: str, temperatures: Sequence[float], max_new_tokens: int = 100,
          top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
          stop_at_eos: bool = True, seeds: Sequence[int] | None = None) -> list[Generation]:
    """One continuation per temperature, all in one batched step per token.

    Row i equals `generate(..., temperature=temperatures[i], seed=seed)` token for token; with `seeds`
    (one per temperature) row i is seeded with seeds[i] instead: many samples at one temperature in one batch.
    """
    *_, (gens, _) = _run(model, vocab, prompt, temperatures, max_new_tokens, top_k, top_p, seed, stop_at_eos,
                         seeds)
    return gens


@torch.no_grad()
def next_token_distribution(model, vocab: Vocab, prompt: str, temperatures: Sequence[float], top: int = 20,
                            top_k: int | None = None, top_p: float | None = None) -> list[Distribution]:
    """For each temperature, the `top` most likely next tokens with their probabilities after
    temperature/top-k/top-p (what `generate` would draw from), and the entropy in bits."""
    check_model(model)
    check_vocab(vocab, model)
    temps = check_temperatures(temperatures)
    _, top_k, top_p, _ = check_sampling(0, top_k, top_p, 0)
    check_int("top", top, 1)
    _, _, logits, _ = read_prompt(model, vocab, prompt)  # (1, V)
    logits[:, vocab.unk_index] = -math.inf  # what generate draws from
    order = logits[0].topk(min(top, len(vocab) - 1)).indices  # (n,) temperature keeps the ranking
    tokens = [vocab.itos[i] for i in order.tolist()]
    words = [shown(vocab.display, t) for t in tokens]
    out = []
    for t in temps:
        if t == 0:
            probs = F.one_hot(logits.argmax(dim=-1), logits.size(-1)).float()  # (1, V)
        else:
            probs = filter_logits(logits, logits.new_tensor([t]), top_k, top_p).softmax(dim=-1)  # (1, V)
        out.append(Distribution(t, tokens, probs[0, order].tolist(), float(entropy_bits(probs[0])), words))
    return out
