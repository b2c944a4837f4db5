"""One stream in lm.batching's batch: what the worker keeps of it, and how its reader waits for its tokens.

The worker (a thread) sends each drawn token to the row's outbox; the reader takes them in lists, one per
pace (`lm.batching.BatchEngine._pace`): the first token as soon as it is drawn, the last as soon as the row
ends. The reader is a plain generator (`read`, for a thread) or an async one (`aread`, for an event loop:
woken from the worker only for the first token and the end, it sleeps on the loop in between, so a server
need not hand each list from a thread to its loop).
"""

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

from .generation import Generation, StreamToken
from .sampling import make_generator

END = object()  # a row's last message: no more tokens


class Row:
    """One request in the batch: its settings, its random stream and the queue its tokens go to."""

    def __init__(self, prompt, ids, temperature, top_k, top_p, seed, max_new_tokens, stop_at_eos):
        self.prompt, self.ids = prompt, ids  # read by the worker as the row joins; ids: what the model is fed
        self.logits = self.hidden = None  # then (1, V), per layer (1, 1, H): the prompt's, until the batch holds them
        self.temperature, self.top_k, self.top_p, self.stop_at_eos = temperature, top_k, top_p, stop_at_eos
        self.generator = make_generator(seed)  # as lm.stream seeds it
        self.left = max_new_tokens
        self.outbox = queue.SimpleQueue()  # (token, prob, rank), then END or an exception
        self.ended = threading.Event()  # set with the last message: its reader stops waiting out the pace
        self.cancelled = False  # set by the reader when it stops listening
        self.feed: list[int] = []  # prompt ids the batch has still to step through before drawing (BatchEngine._read)
        self.key = None  # with feed: the weights' key as the read began (the read goes to the PromptCache)
        # An async reader's wake-ups, called in the worker's thread: on_end with the last message, on_message
        # with any message while the reader waits for one (the first token, or a step slower than the pace).
        self.on_end: Callable[[], None] | None = None
        self.on_message: Callable[[], None] | None = None

    # ------------------------------------------------------------------------------ the worker's side
    def send(self, message) -> None:
        """A token (token, prob, rank), or the last message (through finish)."""
        self.outbox.put(message)
        wake, self.on_message = self.on_message, None  # once per wait: the reader takes every message then
        if wake is not None:
            wake()

    def finish(self, message) -> None:
        """The row's last message: END or an exception."""
        self.send(message)
        self.ended.set()
        if self.on_end is not None:
            self.on_end()

    # ------------------------------------------------------------------------------ the reader's side
    def read(self, gen: Generation, pace: Callable[[], float]) -> Iterator[list[StreamToken]]:
        """The row's tokens as lists, added to `gen`, at most one list per `pace()` seconds."""
        due = 0.0
        while True:
            if (wait := due - time.monotonic()) > 0:
                self.ended.wait(wait)  # the end is not held back by up to a pace
            chunk, ended = self._take(gen, [self.outbox.get()])
            if chunk:
                yield chunk
            if ended:
                return
            due = time.monotonic() + pace()

    async def aread(self, gen: Generation, pace: Callable[[], float]) -> AsyncIterator[list[StreamToken]]:
        """`read` on the running event loop."""
        loop, wake = asyncio.get_running_loop(), asyncio.Event()

        def notify():  # in the worker's thread
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop has closed: nobody is listening
                pass

        self.on_end = notify
        due = 0.0
        while True:
            wake.clear()
            if (wait := due - time.monotonic()) > 0 and not self.ended.is_set():
                try:
                    await asyncio.wait_for(wake.wait(), wait)  # woken early by the end alone
                except asyncio.TimeoutError:
                    pass
            while self.outbox.empty():  # the first token, or a step slower than the pace
                wake.clear()
                self.on_message = notify
                if self.outbox.empty():  # looked at after on_message is set: a message sent now wakes us
                    await wake.wait()
                self.on_message = None  # (send has cleared it, unless the message came before the wait)
            chunk, ended = self._take(gen, [])
            if chunk:
                yield chunk
            if ended:
                return
            due = time.monotonic() + pace()

    def _take(self, gen: Generation, messages: list) -> tuple[list[StreamToken], bool]:
        """`messages` and the rest of the outbox as StreamTokens added to `gen`, and whether the row has
        ended. A failure the worker sent is raised here, to this row's reader alone."""
        while not self.outbox.empty():
            messages.append(self.outbox.get())
        chunk = []
        for message in messages:
            if message is END:
                return chunk, True
            if isinstance(message, BaseException):
                raise message
            gen.tokens.append(message[0])
            gen.probs.append(message[1])
            gen.ranks.append(message[2])
            chunk.append(StreamToken(message[0], message[1], gen.last_piece(), message[2]))
        return chunk, False
