"""What keeps the page's server the same size, and as quick, over a term of requests.

Gradio's own limits (sessions kept, upload size, cache age) are set in `app.launch`. What they cannot do:
- glibc keeps memory that Python and torch have freed in its arenas (one per thread that ever allocated,
  and a Gradio server runs many), so a server's resident size creeps up for hours after its live objects
  stop growing. `malloc_trim(0)` hands that memory back, and fewer arenas hold less of it; measured with
  `python bench/bench_soak.py` (the figure is in the README).
- Python's garbage collector now and then walks every object the server holds, the model and Gradio
  included, and everyone waits while it does (freeze_what_is_loaded).
- Gradio sums up its analytics after every event (quiet_analytics).
"""

import ctypes
import ctypes.util
import gc
import os
import threading
import time

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
# Gradio's queue keeps the timings of its last GRADIO_ANALYTICS_MAX_EVENTS events (10,000 by default) and,
# each time an event ends, sums them up with pandas for a monitoring page that only
# `launch(enable_monitoring=True)` serves, which this app never does: ~2.4 ms of the server's time per
# event with 100 kept, ~7.7 ms with 10,000, mostly holding the GIL the batch's worker needs. Few are kept,
# and they are summed once per 1,000 events. Read by `demo.queue()`; the environment's own values win.
GRADIO_ANALYTICS = {"GRADIO_ANALYTICS_MAX_EVENTS": "100", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000"}


def quiet_analytics() -> None:
    """Gradio's event analytics kept small and summed rarely (GRADIO_ANALYTICS); call before demo.queue()."""
    for key, value in GRADIO_ANALYTICS.items():
        os.environ.setdefault(key, value)


def trim_memory_every(seconds: float) -> bool:
    """Start a daemon thread that returns freed heap memory to the system every `seconds`.
    False (and nothing started) where the C library has no malloc_trim (not glibc: macOS, musl)."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return False
    libc.mallopt(M_ARENA_MAX, 2)  # arenas made from now on: fewer half-empty heaps (as MALLOC_ARENA_MAX=2)

    def loop():
        while True:
            time.sleep(seconds)
            trim(0)

    threading.Thread(target=loop, name="malloc-trim", daemon=True).start()
    return True


def freeze_what_is_loaded() -> None:
    """Leave the objects alive now (the modules, the model, the page: ~500,000) out of Python's garbage
    collections from now on. A full collection walks every tracked object while it holds the GIL: in the
    serving app that was ~200 ms, every few dozen requests at first, and a class of 32 pressing Write in that
    moment all waited for it (measured with gc.callbacks over bench/bench_class.py). Objects made later are
    collected as before; these live as long as the server anyway."""
    gc.collect()  # what is already garbage goes now, not into the frozen set
    gc.freeze()


def steady_server(trim_seconds: float) -> None:
    """All three: Gradio's analytics kept small (call before demo.queue()), freed memory handed back every
    `trim_seconds`, and what is loaded by now left out of garbage collections."""
    quiet_analytics()
    trim_memory_every(trim_seconds)
    freeze_what_is_loaded()
