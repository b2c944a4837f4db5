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


def small_text(page, min_px: float, root: str = ".gradio-container .contain") -> list[str]:
    """Visible text inside `root` (words, and what inputs hold) set smaller than `min_px`: [] when all is larger.
    Text in an SVG counts at the size it is drawn: its font size times the drawing's scale."""
    return page.evaluate("""async ([min, selector]) => {
        const transitions = document.getAnimations().filter((a) => a instanceof CSSTransition);
        await Promise.all(transitions.map((a) => a.finished));  // sizes after their transitions (which all end)
        const root = document.querySelector(selector), small = [];
        const shown = (el) => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
            return r.width > 0 && r.height > 0 && s.visibility !== "hidden"; };
        const scale = (el) => { const m = el instanceof SVGGraphicsElement && el.getScreenCTM();
            return m ? Math.hypot(m.a, m.b) : 1; };  // rotated text too
        const size = (el) => Math.round(10 * parseFloat(getComputedStyle(el).fontSize) * scale(el)) / 10;
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const el = node.parentElement;
            if (node.textContent.trim() && shown(el) && size(el) < min)
                small.push(`${size(el)}px "${node.textContent.trim().slice(0, 40)}"`);
        }
        const fields = "textarea, select, input:not([type=checkbox], [type=radio], [type=range])";
        for (const el of root.querySelectorAll(fields)) {
            if (shown(el) && size(el) < min) small.push(`${size(el)}px ${el.closest("[id]")?.id} "${el.value}"`);
        }
        return small;
    }""", [min_px, root])


# The next-word bars (draw.css) as laid out, on either page: each word's label whole and its full width, each
# bar's value apart from the others, each bar as long as its chance (its lane is the axis), the cut-off line
# above the first word removed.
BARS_LAYOUT = """box => {
  const r = (e) => e.getBoundingClientRect();
  const words = [...box.querySelectorAll('.word')].map((w) => ({ text: w.innerText,
    whole: w.scrollWidth <= w.clientWidth, inside: r(w).left >= r(box).left && r(w).right <= r(box).right }));
  const values = [...box.querySelectorAll('.value')].filter((v) => v.innerText).map(r);
  const overlaps = values.filter((a, i) => values.slice(i + 1).some((b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length;
  const lanes = [...box.querySelectorAll('.lanes')].map((l) => [...l.querySelectorAll('.lane')].map((lane) => {
    const bar = lane.querySelector('.bar');
    return bar ? r(bar).width / r(lane).width : 0;
  }));
  const cut = box.querySelector('.line.cut');
  return { words, overlaps, lanes, scrolls: box.scrollWidth > box.clientWidth,
    cutBefore: cut ? cut.nextElementSibling.innerText : null };
}"""
