"""What the page tests share: a real app server on a free local port, a call with a time limit, and the
headless Debian Chromium they drive (its path and flags)."""

import socket

import app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT = 60  # seconds for any one request: a hang fails the test instead of blocking it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(demo) -> str:
    """Launch `demo` with the app's own queue and limits on a free port; its URL. Close it with demo.close()."""
    port = free_port()
    app.launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


def call(client, *args, api_name, timeout=TIMEOUT):
    return client.submit(*args, api_name=api_name).result(timeout=timeout)


def chromium(playwright):
    """Headless Chromium, as every browser test launches it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
