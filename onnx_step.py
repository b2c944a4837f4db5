"""One `LSTMLanguageModel.step` as an ONNX graph, its smaller float16/int8 variant, and how far each is from
PyTorch (export.py writes them for the static page; tests/test_export.py checks them).

The graph: token ids (B,) and the state (h, c per layer, each (B, H)) in, logits (B, V) and the new state out.
"""

import copy
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import lm

OPSET = 17
SMALL_KINDS = ("float16", "int8")


# ------------------------------------------------------------------------------------ one step as ONNX
class OneStep(nn.Module):
    """`model.step` with explicit state: (token (B,), h0, c0, h1, c1, ...) -> (logits, h0, c0, ...). One Gemm per
    layer over [x | h], as lm.fast_step packs it; a tied output layer is the embedding matrix, stored once."""

    def __init__(self, model: lm.LSTMLanguageModel):
        super().__init__()
        self.sizes = model.config.layer_sizes()
        self.embedding, self.fc_weight, self.fc_bias = model.embedding.weight, model.fc.weight, model.fc.bias
        with torch.no_grad():
            self.packed = nn.ParameterList(torch.cat([m.weight_ih_l0, m.weight_hh_l0], 1) for m in model.lstm)
            self.bias = nn.ParameterList(m.bias_ih_l0 + m.bias_hh_l0 for m in model.lstm)

    def forward(self, token, *state):
        x, new_state = F.embedding(token, self.embedding), []  # (B, E)
        for i, (w, b, size) in enumerate(zip(self.packed, self.bias, self.sizes)):
            h, c = state[2 * i], state[2 * i + 1]  # (B, H)
            gi, gf, gg, go = torch.split(F.linear(torch.cat([x, h], 1), w, b), size, dim=1)  # PyTorch's gate order
            c = torch.sigmoid(gf) * c + torch.sigmoid(gi) * torch.tanh(gg)
            h = torch.sigmoid(go) * torch.tanh(c)
            new_state += [h, c]
            x = h
        return (F.linear(x, self.fc_weight, self.fc_bias), *new_state)


def io_names(num_layers: int) -> tuple[list[str], list[str]]:
    state = [f"{k}{i}" for i in range(num_layers) for k in "hc"]
    return ["token", *state], ["logits", *[f"{name}_new" for name in state]]


def export_onnx(model: lm.LSTMLanguageModel, path) -> Path:
    """Write the float32 step graph (batch size free) to `path`."""
    step = OneStep(model if model.fc.weight.dtype == torch.float32 else copy.deepcopy(model).float()).eval()
    inputs, outputs = io_names(len(step.sizes))
    args = (torch.tensor([1]), *[torch.zeros(1, n) for n in step.sizes for _ in "hc"])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice: it works offline, on any graph
        torch.onnx.export(step, args, str(path), input_names=inputs, output_names=outputs, opset_version=OPSET,
                          dynamo=False, dynamic_axes={n: {0: "batch"} for n in inputs + outputs})
    return Path(path)


def shrink(src, dst, kind: str) -> Path:
    """A copy of the graph whose matrices are stored as float16, or int8 with a scale per row, and made float32
    again when a session starts (by Cast or DequantizeLinear nodes): the arithmetic stays float32."""
    import onnx
    from onnx import helper, numpy_helper

    if kind not in SMALL_KINDS:
        raise ValueError(f"the small variant must be one of {', '.join(SMALL_KINDS)}, got {kind!r}")
    graph_model = onnx.load(str(src))
    graph, nodes, kept = graph_model.graph, [], []
    for init in graph.initializer:
        w, name = numpy_helper.to_array(init), init.name
        if w.dtype != np.float32 or w.ndim != 2:
            kept.append(init)
        elif kind == "float16":
            kept.append(numpy_helper.from_array(w.astype(np.float16), name + "_f16"))
            nodes.append(helper.make_node("Cast", [name + "_f16"], [name], to=onnx.TensorProto.FLOAT))
        else:
            scale = np.maximum(np.abs(w).max(axis=1), 1e-12).astype(np.float32) / 127  # (rows,)
            q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
            parts = {name + "_q": q, name + "_scale": scale, name + "_zero": np.zeros(len(scale), np.int8)}
            kept += [numpy_helper.from_array(a, n) for n, a in parts.items()]
            nodes.append(helper.make_node("DequantizeLinear", list(parts), [name], axis=0))
    nodes += list(graph.node)
    del graph.initializer[:], graph.node[:]
    graph.initializer.extend(kept)
    graph.node.extend(nodes)
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(dst))
    return Path(dst)


# --------------------------------------------------------------------------------------- measuring
def session(path):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def compare(model, vocab, paths: dict, prompt: str = "The lion was afraid, but", steps: int = 100) -> dict:
    """Feed `<eos> + prompt`, then `steps` greedy tokens (PyTorch's), through `model.step` and each ONNX file,
    each carrying its own state: per file the largest logit and probability differences, and ms per step
    in onnxruntime (Python, one thread)."""
    ids, hidden, ref = [vocab.eos_index] + vocab.encode(lm.tokenize(prompt)), model.init_hidden(1), []
    for t in range(len(ids) + steps):
        logits, hidden = model.step(torch.tensor([ids[t]]), hidden)
        ref.append(logits[0].numpy().copy())
        if len(ids) == t + 1:  # past the prompt: the greedy token, as lm.generate(temperature=0) picks it
            ids.append(int(logits[0].index_fill(0, torch.tensor([vocab.unk_index]), -float("inf")).argmax()))
    ref, sizes, out = np.stack(ref), model.config.layer_sizes(), {}  # (T, V)
    probs = lambda x: torch.from_numpy(x).softmax(-1).numpy()
    for name, path in paths.items():
        sess, state, rows = session(path), [np.zeros((1, n), np.float32) for n in sizes for _ in "hc"], []
        start = time.perf_counter()
        for t in range(len(ref)):
            logits, *state = sess.run(None, dict(zip(io_names(len(sizes))[0], [np.array([ids[t]]), *state])))
            rows.append(logits[0])
        ms, got = 1000 * (time.perf_counter() - start) / len(ref), np.stack(rows)
        out[name] = {"max_logit_diff": float(np.abs(got - ref).max()), "ms_per_step_ort_python": round(ms, 3),
                     "max_prob_diff": float(np.abs(probs(got) - probs(ref)).max()), "steps": len(ref)}
    return out
