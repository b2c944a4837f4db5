// The exported step graph in onnxruntime-web: token ids (B,) and the LSTM state in, logits and the new
// state out. One thread, the wasm backend: a static page cannot be cross-origin isolated.

import * as ort from "../ort/ort.wasm.min.mjs";

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmPaths = new URL("../ort/", import.meta.url).href;
ort.env.logLevel = "error";

// onnxruntime's wasm, gzipped by export.py (14.8 MB -> 3.8 MB): fetched and unpacked here, then handed over,
// so ort does not fetch the plain file. Without DecompressionStream (or the .gz), ort fetches the plain one.
async function wasmBinary() {
  if (typeof DecompressionStream === "undefined") return null;
  try {
    const response = await fetch(new URL("../ort/ort-wasm-simd-threaded.wasm.gz", import.meta.url));
    if (!response.ok) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes; // the server unpacked it on the way
    return new Uint8Array(await new Response(new Blob([bytes]).stream()
      .pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
  } catch (e) {
    console.warn("fetching onnxruntime's plain wasm instead", e);
    return null;
  }
}

export class StepModel {
  static async load(bytes, manifest) {
    const wasm = await wasmBinary();
    if (wasm) ort.env.wasm.wasmBinary = wasm;
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"], graphOptimizationLevel: "all",
    });
    return new StepModel(session, manifest);
  }

  constructor(session, manifest) {
    this.session = session;
    this.inputs = manifest.inputs;
    this.outputs = manifest.outputs;
    this.sizes = manifest.layer_sizes;
    this.vocabSize = manifest.vocab_size;
  }

  // The zero state for a batch of `batch`: per layer h and c, each a Float32Array (batch * H).
  zeroState(batch) {
    return this.sizes.flatMap((n) => [new Float32Array(batch * n), new Float32Array(batch * n)]);
  }

  // The same state repeated for `batch` rows (every row starts from the prompt).
  repeatState(state, batch) {
    return state.map((s) => {
      const out = new Float32Array(s.length * batch);
      for (let b = 0; b < batch; b++) out.set(s, b * s.length);
      return out;
    });
  }

  // One step for ids (an array of B token ids): {logits: B Float32Array rows, state}.
  async step(ids, state) {
    const batch = ids.length;
    const feeds = { [this.inputs[0]]: new ort.Tensor("int64", BigInt64Array.from(ids, (i) => BigInt(i)), [batch]) };
    state.forEach((s, j) => {
      feeds[this.inputs[j + 1]] = new ort.Tensor("float32", s, [batch, this.sizes[j >> 1]]);
    });
    const result = await this.session.run(feeds);
    const flat = result[this.outputs[0]].data;
    const V = this.vocabSize;
    const logits = Array.from({ length: batch }, (_, b) => flat.slice(b * V, (b + 1) * V));
    const next = this.outputs.slice(1).map((name) => result[name].data.slice());
    Object.values(result).forEach((t) => t.dispose?.());
    return { logits, state: next };
  }
}
