"""Prompts read once: a class mostly writes from the one prompt on the board, so the batch's worker keeps
the last prompts' reads (`lm.generation.read_prompts`) and hands each row a read it has already made.
A read is only kept for the weights it was made with (lm.fast_step.weights_key)."""

from collections import OrderedDict

from .fast_step import weights_key
from .generation import read_prompts

PROMPT_CACHE = 64  # prompts kept, the least recently used dropped first (~30 kB each with the bundled model)


class PromptCache:
    """`read_prompts(model, vocab, prompts)`, each distinct prompt read once while the weights stay the same."""

    def __init__(self, model, vocab, size: int = PROMPT_CACHE):
        self.model, self.vocab, self.size = model, vocab, size
        self._reads: OrderedDict = OrderedDict()  # prompt -> (logits (1, V), per layer (h, c) (1, 1, H))
        self._key = None

    def read(self, prompts: list[str]) -> list[tuple]:
        """Each prompt's logits (1, V) and state, as read_prompts gives them. The same tensors go to every
        caller of one prompt: they are to be copied (the batch's torch.cat does), not written to."""
        key = self._current()
        new = list(dict.fromkeys(p for p in prompts if p not in self._reads))
        for prompt, (logits, hidden) in zip(new, read_prompts(self.model, self.vocab, new) if new else []):
            self.keep(prompt, logits, hidden, key, trim=False)  # not before every prompt here is handed out
        for prompt in prompts:
            self._reads.move_to_end(prompt)
        out = [self._reads[p] for p in prompts]
        self._trim()
        return out

    def cached(self, prompt: str) -> tuple | None:
        """The read of `prompt` if one is kept for the weights as they are, else None."""
        self._current()
        if (read := self._reads.get(prompt)) is not None:
            self._reads.move_to_end(prompt)
        return read

    def keep(self, prompt: str, logits, hidden, key: tuple, trim: bool = True) -> None:
        """Keep a read made elsewhere (the batch reads a prompt in its own steps too), if the weights are still
        those it was made with (`key`, lm.fast_step.weights_key)."""
        if key != self._current():
            return
        self._reads[prompt] = logits.clone(), [(h.clone(), c.clone()) for h, c in hidden]  # not views of a batch
        self._reads.move_to_end(prompt)
        if trim:
            self._trim()

    def key(self) -> tuple:
        """The weights' key now: hand it back to `keep` with a read begun now."""
        return self._current()

    def _current(self) -> tuple:
        if (key := weights_key(self.model)) != self._key:
            self._reads.clear()
            self._key = key
        return key

    def _trim(self) -> None:
        while len(self._reads) > self.size:
            self._reads.popitem(last=False)
