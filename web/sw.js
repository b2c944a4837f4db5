// Offline after the first visit: every file of the page, onnxruntime-web and the model, kept in the Cache API.
// export.py --space writes the folder's content hash into VERSION, so a new export is a new cache; dev
// (web/ served as it is) asks the network first and falls back on the cache.
const VERSION = "dev";
const CACHE = `lm-web-${VERSION}`;
const SHELL = ["./", "index.html", "style.css", "js/page.js", "js/bars.js", "js/controls.js", "js/generate.js", "js/input.js",
  "js/inspect.js", "js/lessons.js", "js/link.js", "js/model.js", "js/sampler.js", "js/sampler-tab.js", "js/text.js",
  "js/tokenizer.js", "js/views.js", "js/ngrams.js", "js/textstats.js", "js/wholetext.js", "js/wholetext-view.js", "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.mjs", "model/manifest.json",
  "model/draw.css"];

self.addEventListener("install", (event) => {
  // The small files now; the model and onnxruntime's wasm when the page fetches them (once, through here).
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("lm-web-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function fromNetwork(request, cache) {
  const response = await fetch(request);
  if (response.ok && response.status === 200) await cache.put(request, response.clone());
  return response;
}

async function answer(request) {
  const cache = await caches.open(CACHE);
  const options = { ignoreSearch: request.mode === "navigate" };
  if (VERSION === "dev") {
    try {
      return await fromNetwork(request, cache);
    } catch (e) {
      const kept = await cache.match(request, options);
      if (kept) return kept;
      throw e;
    }
  }
  return (await cache.match(request, options)) ?? fromNetwork(request, cache);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(answer(event.request));
});
