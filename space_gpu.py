"""ZeroGPU, when the app runs there; nothing at all everywhere else.

On a Hugging Face Space with ZeroGPU hardware the `spaces` package is installed and the Space sets
`SPACES_ZERO_GPU=true` (spaces/config.py reads that variable; `spaces.GPU` itself returns the function
untouched without it). There a GPU is lent per call: a function decorated with `spaces.GPU` runs in
a worker process forked for it, with a real CUDA device, for at most `duration` seconds, and the
model moved to "cuda" at start-up is on that device inside the call. Elsewhere (a laptop, a CPU Space,
the tests, a GPU machine that is not ZeroGPU) `gpu(...)` is the identity, `device()` is "cpu" and
`spaces` is never imported, so it need not be installed.

    from space_gpu import device, gpu

    @gpu(duration=gpu_seconds(MAX_NEW_TOKENS))
    def write(...): ...
"""

import importlib.util
import math
import os

ZERO_GPU_ENV = "SPACES_ZERO_GPU"  # what the spaces package reads (spaces/config.py, spaces 0.51.3)
# Seconds a call may ask for: ZeroGPU queues longer requests behind shorter ones and stops a call
# that runs past its duration. A word is one model step plus sampling and a streamed update: about
# 1 ms on a GPU for this model; 20 ms a word leaves room for a slow first call (CUDA start-up) and a
# busy shared GPU. BASE_SECONDS covers the prompt, the worker's start and the hand-over of results.
SECONDS_PER_WORD = 0.02
BASE_SECONDS = 5


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space: its environment says so and the `spaces` package is importable."""
    flag = os.environ.get(ZERO_GPU_ENV, "").strip().lower() in ("1", "t", "true")  # spaces' own `boolean()`
    return flag and importlib.util.find_spec("spaces") is not None


def gpu_seconds(words: int) -> int:
    """A duration (seconds) that fits a request writing at most `words` words: 300 words -> 11 s."""
    return BASE_SECONDS + math.ceil(words * SECONDS_PER_WORD)


def gpu(duration: int):
    """`spaces.GPU(duration=duration)` on ZeroGPU, else a decorator that returns the function as it is.
    (spaces.GPU keeps a generator a generator: what it yields in the worker is streamed from the Space.)"""
    if not on_zero_gpu():
        return lambda fn: fn
    import spaces  # only here: it patches torch when imported, and exists only on Spaces

    return spaces.GPU(duration=duration)


def device() -> str:
    """Where the model lives: "cuda" on ZeroGPU (moved there once, at start-up, as ZeroGPU expects), else "cpu"."""
    return "cuda" if on_zero_gpu() else "cpu"
