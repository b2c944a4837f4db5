"""Many streams, one batch: every active request's next token comes from one batched model step.

A class pressing Write at once is 32 streams. Run one by one (or two at a time) they queue behind
each other; on a CPU one step at batch 32 costs little more than at batch 1, since a step is bound
by reading the weights from memory. `BatchEngine` keeps one worker thread that owns the stepping:
each stream is a row of the batch, and streams join and leave at any step.

Each row is its solo run token for token: its prompt is read as `lm.generation.read_prompt` reads it,
it draws from its own `torch.Generator` seeded as `lm.stream` seeds it, with its own temperature,
top-k and top-p (rows are sampled in groups of equal top-k and top-p, as `lm.sampling` takes one
of each per call), through the same sampling functions. Only the model steps are shared, and a
step's rows do not depend on each other (tests/test_batching.py checks this against `lm.stream`).

The worker reads the prompts too, as their rows join, each distinct prompt once (`lm.prompt_cache`): into
an idle batch those of one length together (`lm.generation.read_prompts`); into a busy one a short prompt
rides along in the batch's own steps, a word a step, so the other rows do not wait for it. A class's 32
prompts, read each in its own request thread, were ~220 single steps fighting for 2 cores and the GIL: the
p95 student waited ~2 s for a first word. The draw itself is `lm.batch_draw`.

Arguments and prompts are checked in the caller's thread, so a bad request raises its ValueError
to its caller alone; a row whose logits go bad fails alone; a failed prompt read or batched
step fails the rows in it, and the engine goes on serving. A closed (or abandoned) stream leaves
the batch at the next step. At most `max_rows` rows step together; later requests wait their turn.
A stream is read in a thread (`chunks`) or on an event loop (`achunks`); `lm.batch_row` holds the row.
"""

import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import torch

from .batch_draw import draw
from .batch_row import Row
from .checks import check_bool, check_int, check_model, check_vocab
from .generation import STEP_PROMPT_MAX, Generation, StreamToken, prompt_ids, prompt_words
from .prompt_cache import PromptCache
from .sampling import check_sampling, check_temperature

UPDATES_PER_SECOND = 100  # lists a second the whole server sends, when many stream (measured: bench/bench_class.py)
MAX_PACE = 0.25  # seconds: the longest a stream waits between lists, however busy the server


def load_off_thread(load: Callable, *args, **kwargs):
    """`load(*args, **kwargs)` run in a short-lived thread: its result, or its exception raised here.

    Load a served model this way. torch's OpenMP helper threads belong to the thread that first runs a
    parallel op, and end with it. A model loaded in the main thread leaves it a team for the life of the
    server; with a second team (the batch's worker) on 2 cores, libgomp runs more threads than cores
    and stops its helpers spinning between parallel regions, so each of the worker's steps waits for
    its helper to wake. Loaded here, the worker's team is the only one: with the bundled model, a lone
    stream ~15% and a class of 32 ~25% faster (bench/bench_gil.py --load main|thread).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lm-load") as pool:
        return pool.submit(load, *args, **kwargs).result()


class BatchEngine:
    """Streams for one model and vocabulary, all stepped as one batch by a worker thread.

    >>> engine = BatchEngine(model, vocab)
    >>> for item in engine.stream("the lion", max_new_tokens=20, seed=1): print(item.text, end="")
    """

    def __init__(self, model, vocab, max_rows: int = 64):
        check_model(model)
        check_vocab(vocab, model)
        self.model, self.vocab = model, vocab
        self.max_rows = check_int("max_rows", max_rows, 1)
        self._lock = threading.Lock()
        self._waiting: deque[Row] = deque()  # read, not yet in the batch
        self._worker: threading.Thread | None = None  # alive while there is work; started on demand
        self._writing = 0  # streams between their first row and their last list
        self._prompts = PromptCache(model, vocab)  # the worker's alone
        # Counters for benches: batched steps, rows stepped, the largest batch, seconds in each part.
        self.stats = {"steps": 0, "rows": 0, "peak_rows": 0, "step_s": 0.0, "sample_s": 0.0, "prompts_in_batch": 0}

    def busy(self) -> bool:
        """Whether any stream is waiting or writing."""
        with self._lock:
            return self._worker is not None

    def stream(self, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, stop_at_eos: bool = True) -> Iterator[StreamToken]:
        """`lm.stream(model, vocab, ...)`, token for token, written in the shared batch."""
        for chunk in self.chunks(prompt, max_new_tokens, temperature, top_k, top_p, seed, stop_at_eos, interval=0.0):
            yield from chunk

    def chunks(self, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0, top_k: int | None = None,
               top_p: float | None = None, seed: int | None = None, stop_at_eos: bool = True,
               interval: float = 0.05) -> Iterator[list[StreamToken]]:
        """The same tokens as `stream`, in lists: the first token as soon as it is drawn, then at most
        one list per `interval` seconds holding every token drawn since. A page that redraws once per
        list pays its per-update cost ~20 times a second instead of once per token, and at 20 updates
        a second the text still reads as written word by word."""
        gen, row = self._start(prompt, max_new_tokens, temperature, top_k, top_p, seed, stop_at_eos)
        if row is None:
            return
        try:
            yield from row.read(gen, lambda: self._pace(interval))
        finally:
            self._stop(row)

    async def achunks(self, prompt: str, max_new_tokens: int = 100, temperature: float = 1.0,
                      top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                      stop_at_eos: bool = True, interval: float = 0.05) -> AsyncIterator[list[StreamToken]]:
        """`chunks` for an event loop: the same lists at the same pace, waited for on the loop (Row.aread).
        A server runs a plain generator in a thread and hands each list from it to its loop; for a class of
        32 at once, the p95 last word came ~25% sooner without those threads (bench/bench_class.py)."""
        gen, row = self._start(prompt, max_new_tokens, temperature, top_k, top_p, seed, stop_at_eos)
        if row is None:
            return
        try:
            async for chunk in row.aread(gen, lambda: self._pace(interval)):
                yield chunk
        finally:
            self._stop(row)

    def _start(self, prompt, max_new_tokens, temperature, top_k, top_p, seed, stop_at_eos):
        """A stream's checks, in lm's order (a bad request raises the ValueError that lm.stream raises), and
        its row in the queue: (its Generation, its Row), or (None, None) when it has no tokens to write."""
        check_bool("stop_at_eos", stop_at_eos)
        temperature = check_temperature(temperature)
        max_new_tokens, top_k, top_p, seed = check_sampling(max_new_tokens, top_k, top_p, seed)
        words, unknown = prompt_words(self.vocab, prompt)
        if max_new_tokens == 0:
            return None, None
        gen = Generation(prompt, words, temperature=temperature, seed=seed, unknown_words=unknown,
                         printing=self.vocab.printing)
        row = Row(prompt, prompt_ids(self.vocab, words), temperature, top_k, top_p, seed, max_new_tokens, stop_at_eos)
        self._enqueue(row)
        with self._lock:
            self._writing += 1
        return gen, row

    def _stop(self, row: Row) -> None:
        row.cancelled = True  # closed, failed or done: the worker drops the row at its next step
        with self._lock:
            self._writing -= 1

    def _pace(self, interval: float) -> float:
        """Seconds until a stream's next list: `interval`, stretched when many streams write at once.
        Each list costs the server a fixed amount (Gradio's postprocessing, diff and send), so 32 streams
        at 20 lists a second cost more than the model; the whole server is held near
        UPDATES_PER_SECOND lists, but never more than MAX_PACE between a stream's lists."""
        if interval <= 0:
            return 0.0
        with self._lock:
            writing = self._writing
        return min(max(interval, writing / UPDATES_PER_SECOND), max(interval, MAX_PACE))

    # ---------------------------------------------------------------------------------- the worker
    def _enqueue(self, row: Row) -> None:
        with self._lock:
            self._waiting.append(row)
            if self._worker is None:
                # Not a daemon: Python would end a daemon at exit inside a torch call, which aborts the
                # process ("terminate called without an active exception"). It stops at the next step
                # once the main thread has finished, and Python waits for that.
                self._worker = threading.Thread(target=self._work, name="lm-batch")
                self._worker.start()

    def _work(self) -> None:
        rows, logits, hidden = [], None, None  # the batch: its rows, logits (B, V), per layer (1, B, H)
        while True:
            with self._lock:
                if not threading.main_thread().is_alive():  # the program is exiting: end every stream here
                    for row in rows + list(self._waiting):
                        row.finish(RuntimeError("the program exited before this text was written"))
                    rows = []
                    self._waiting.clear()
                if not rows and not self._waiting:
                    self._worker = None  # under the lock: the next _enqueue starts a new worker
                    return
                joining = [self._waiting.popleft() for _ in range(min(len(self._waiting), self.max_rows - len(rows)))]
            joining = self._read(joining, busy=bool(rows))
            try:
                rows, logits, hidden = self._join(rows, logits, hidden, joining)
                rows, logits, hidden = self._advance(rows, logits, hidden)
            except Exception as e:  # a failed batched step: fail its rows, keep serving the rest
                for row in dict.fromkeys(rows + joining):  # a joined row is in both
                    failure = RuntimeError(f"the batched generation step failed: {type(e).__name__}: {e}")
                    failure.__cause__ = e
                    row.finish(failure)
                rows, logits, hidden = [], None, None

    def _read(self, joining: list[Row], busy: bool) -> list[Row]:
        """The prompts of the rows about to join, each distinct one read once (PromptCache). While the batch
        is `busy` stepping, a short prompt it has not read is read in the batch's own steps, a word a step
        (Row.feed), rather than in steps of its own that every row waits for: a class writing its own
        prompts stalled the batch ~8 ms a student. Else those of one length are read in one batch
        (read_prompts). If a read fails, the rows joining fail, and the batch goes on."""
        joining = [row for row in joining if not row.cancelled]
        if not joining:
            return []
        try:
            for row in joining if busy else []:
                if len(row.ids) <= STEP_PROMPT_MAX and self._prompts.cached(row.prompt) is None:
                    row.feed, row.key = list(row.ids), self._prompts.key()
                    row.logits = torch.zeros(1, len(self.vocab), device=self.model.fc.weight.device)  # (1, V): unread
                    row.hidden = self.model.init_hidden(1)
                    self.stats["prompts_in_batch"] += 1
            rest = [row for row in joining if not row.feed]
            reads = self._prompts.read([row.prompt for row in rest])
        except Exception as e:
            for row in joining:
                row.finish(e)
            return []
        for row, (logits, hidden) in zip(rest, reads):
            row.logits, row.hidden = logits, hidden  # shared with the cache: _join copies them into the batch
        return joining

    @staticmethod
    def _join(rows, logits, hidden, joining):
        """The batch with the rows in `joining` added at the end (each starts from its own prompt)."""
        joining = [row for row in joining if not row.cancelled]
        if not joining:
            return rows, logits, hidden
        new_logits = torch.cat([row.logits for row in joining])  # (b, V)
        new_hidden = [(torch.cat([row.hidden[i][0] for row in joining], dim=1),  # (1, b, H)
                       torch.cat([row.hidden[i][1] for row in joining], dim=1)) for i in range(len(joining[0].hidden))]
        for row in joining:
            row.logits = row.hidden = None  # the batch holds them now
        if not rows:
            return joining, new_logits, new_hidden
        logits = torch.cat([logits, new_logits])  # (B + b, V)
        hidden = [(torch.cat([h, nh], dim=1), torch.cat([c, nc], dim=1))  # (1, B + b, H)
                  for (h, c), (nh, nc) in zip(hidden, new_hidden)]
        return rows + joining, logits, hidden

    def _advance(self, rows, logits, hidden):
        """Draw one token for every row whose prompt is read and send it; step the rows that go on, a row still
        reading its prompt on the prompt's next word (its logits are drawn from once the prompt is read)."""
        t0 = time.perf_counter()
        ready = [j for j, row in enumerate(rows) if not row.feed]  # the rows whose prompt is read
        ids = torch.zeros(len(rows), dtype=torch.long, device=logits.device)  # (B,): each row's next input
        keep = []
        if ready:
            index = torch.tensor(ready, device=logits.device)  # (b,)
            drawn, going = draw([rows[j] for j in ready], logits if len(ready) == len(rows) else logits[index],
                                self.vocab)  # (b,): logits is the step's (or the join's) fresh tensor
            ids[index] = drawn
            keep = [ready[j] for j in going]
        if len(ready) < len(rows):  # rows still reading their prompt step on its next word
            for j, row in enumerate(rows):
                if row.feed and not row.cancelled:
                    ids[j] = row.feed.pop(0)
                    keep.append(j)
            keep.sort()
        t1 = time.perf_counter()
        self.stats["sample_s"] += t1 - t0
        if not keep:
            return [], None, None  # no logits that nobody will sample from
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=logits.device)  # (B',)
            rows, ids = [rows[j] for j in keep], ids[index]  # (B',)
            hidden = [(h[:, index], c[:, index]) for h, c in hidden]  # (1, B', H)
        logits, hidden = self.model.step(ids, hidden)  # (B', V): a fresh tensor, masked in place above
        self._keep_reads(rows, logits, hidden)
        s = self.stats
        s["steps"], s["rows"], s["peak_rows"] = s["steps"] + 1, s["rows"] + len(rows), max(s["peak_rows"], len(rows))
        s["step_s"] += time.perf_counter() - t1
        return rows, logits, hidden

    def _keep_reads(self, rows, logits, hidden) -> None:
        """The rows that fed the last word of their prompt in this step: their read, to the cache."""
        for j, row in enumerate(rows):
            if row.key is not None and not row.feed:
                self._prompts.keep(row.prompt, logits[j:j + 1], [(h[:, j:j + 1], c[:, j:j + 1]) for h, c in hidden],
                                   row.key)
                row.key = None
