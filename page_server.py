"""What keeps the page's server the same size over a term of requests.

Gradio's own limits (sessions kept, upload size, cache age) are set in `app.launch`. What they cannot
do: glibc keeps memory that Python and torch have freed in its arenas (one per thread that ever
allocated, and a Gradio server runs many), so a server's resident size creeps up for hours after its
live objects stop growing. `malloc_trim(0)` hands that memory back, and fewer arenas hold less of it; measured with
`python bench/bench_soak.py` (the figure is in the README).
"""

import ctypes
import ctypes.util
import threading
import time

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


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
