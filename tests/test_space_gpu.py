"""space_gpu and its wiring into app.py, with a stand-in `spaces` package (the real one exists only on
Hugging Face Spaces). Each case runs in a fresh interpreter, since the decorators are applied when
app.py is imported. The stand-in does what ZeroGPU does at its worker boundary: it pickles the call's
arguments (`self` included) and every result, so an Actions that cannot cross it fails here.

Pins down: with SPACES_ZERO_GPU set and `spaces` importable, every Actions method that runs the
model is spaces.GPU-decorated with its duration, `device()` is cuda, and the decorated methods give
exactly lm's results (also over HTTP through a real server); without the variable, or without the
package, nothing is decorated, spaces.GPU is never called, and the app builds and serves.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import space_gpu  # noqa: E402

STAND_IN = '''
import inspect, pickle

CALLS = []  # the durations asked for, one per decorated function


def GPU(task=None, *, duration=None, size=None):
    CALLS.append(duration)
    def decorate(fn):
        across = lambda value: pickle.loads(pickle.dumps(value))  # ZeroGPU's worker boundary
        if inspect.isgeneratorfunction(fn):
            def wrapper(*args, **kwargs):
                args, kwargs = across((args, kwargs))
                for item in fn(*args, **kwargs):
                    yield across(item)
        else:
            def wrapper(*args, **kwargs):
                args, kwargs = across((args, kwargs))
                return across(fn(*args, **kwargs))
        wrapper.stand_in_duration = duration
        return wrapper
    return decorate if task is None else decorate(task)
'''

# Run in the child: import app (decorating happens there), then call every action on a tiny model, in
# process and over HTTP, beside lm's own results for the same seed; print what was seen as JSON.
PROBE = '''
import html, inspect, json, re, sys
import app, lm, page_actions, page_lessons, page_sampler, page_wholetext, space_gpu
from gradio_client import Client

device, port = sys.argv[1], int(sys.argv[2])
lines = ["the lion was afraid , but he walked into the dark forest .", "the owl sat on the red gate ."]
vocab = lm.Vocab.build([lm.tokenize(line) for line in lines], min_freq=1)
model = lm.LSTMLanguageModel(lm.LMConfig(vocab_size=len(vocab), emb_dim=16, hid_dim=16, num_layers=2,
                                         dropout_rate=0.0)).eval()
cpu_model = model
model = model.to(device)
actions = page_actions.Actions(model, vocab)
prompt = "The lion was afraid, but"
*_, (text, _, seed, _) = actions.generate(prompt, 0.9, 0, 1.0, 10, "5")
expected = lm.generate(cpu_model, vocab, prompt, max_new_tokens=10, temperature=0.9, seed=5, stop_at_eos=False)
greedy = list(actions.generate(prompt, 0, 0, 1.0, 10, "5"))[-1][0]
compare = actions.compare(prompt, 0, 0.5, 1.0, 1.5, 6, "2")
sweep = lm.sweep(cpu_model, vocab, prompt, [0, 0.5, 1.0, 1.5], max_new_tokens=6, seed=2, stop_at_eos=False)
_, probabilities, entropy = actions.distribution(prompt, [0.5, 1.0], 3)
write = next(f.fn for f in app.build_demo(model, vocab, {}).fns.values() if f.api_name == "generate")
served = None
if port:
    demo = app.build_demo(model, vocab, {})
    app.launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    served = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(prompt, 0.9, 0, 1.0, 10, "5", False,
                                                                         api_name="/generate")[0]
    demo.close()
print(json.dumps({
    "zero_gpu": space_gpu.on_zero_gpu(), "device": space_gpu.device(),
    "gpu_calls": sorted(getattr(sys.modules.get("spaces"), "CALLS", [])),
    "durations": {n: getattr(getattr(page_actions.Actions, n), "stand_in_duration", None)
                  for n in ("generate", "compare", "notebook_preset", "_next_words")},
    "decorated": {f"{c.__name__}.{n}": getattr(getattr(c, n), "stand_in_duration", None)
                  for c in (page_actions.Actions, page_sampler.Sampler, page_wholetext.WholeTexts, page_lessons.Quiz)
                  for n in vars(c) if not n.startswith("__")},
    "gpu_seconds": page_actions.GPU_SECONDS, "text": text, "expected": expected.text, "seed": seed,
    "greedy": greedy, "greedy_expected": lm.generate(cpu_model, vocab, prompt, max_new_tokens=10, temperature=0,
                                                     stop_at_eos=False).text,
    "compare": [html.unescape(re.sub("<[^>]+>", "", c)) for c in compare[:4]], "sweep": [g.text for g in sweep],
    "entropy_rows": len(entropy),
    "write": {"async": inspect.isasyncgenfunction(write), "gpu": getattr(write, "stand_in_duration", None)},
    "served": served}))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(tmp_path, *, env_flag: str | None, stand_in: bool, device: str = "cpu", serve: bool = False) -> dict:
    paths = [str(ROOT)]
    if stand_in:
        (tmp_path / "stand-in" / "spaces").mkdir(parents=True)
        (tmp_path / "stand-in" / "spaces" / "__init__.py").write_text(STAND_IN)
        paths.insert(0, str(tmp_path / "stand-in"))
    env = {k: v for k, v in os.environ.items() if k != space_gpu.ZERO_GPU_ENV}
    env["PYTHONPATH"] = ":".join(paths)
    if env_flag is not None:
        env[space_gpu.ZERO_GPU_ENV] = env_flag
    (tmp_path / "probe.py").write_text(PROBE)
    done = subprocess.run([sys.executable, str(tmp_path / "probe.py"), device, str(free_port() if serve else 0)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_on_zero_gpu_every_model_call_is_decorated_and_still_exact(tmp_path):
    seen = probe(tmp_path, env_flag="true", stand_in=True, serve=True)
    assert seen["zero_gpu"] and seen["device"] == "cuda"
    # Every action that runs the model asks for a GPU, and nothing else does.
    calls = {"Actions." + n for n in ("generate", "compare", "notebook_preset", "_next_words", "inspect",
                                      "inspect_word")}
    calls |= {"Sampler." + n for n in ("start", "roll", "take", "refresh", "back", "auto")}
    calls |= {"WholeTexts._write", "Quiz._write", "Quiz._bars"}
    assert {n for n, d in seen["decorated"].items() if d} == calls
    assert seen["gpu_calls"] == sorted(d for d in seen["decorated"].values() if d)
    assert seen["gpu_seconds"] == space_gpu.gpu_seconds(300) == 11  # MAX_NEW_TOKENS = 300 words
    assert seen["durations"] == {"generate": 11, "compare": 11, "notebook_preset": 11, "_next_words": 5}
    # Across the pickling boundary, the actions give lm's results token for token.
    assert seen["text"] == seen["expected"] and seen["seed"] == "5"
    assert seen["greedy"] == seen["greedy_expected"]
    assert seen["compare"] == seen["sweep"] and seen["entropy_rows"] == 2
    assert seen["served"] == seen["expected"]  # through Gradio's queue and a real server
    # The page's Write is the decorated generator (ZeroGPU's wrappers take plain functions and generators).
    assert seen["write"] == {"async": False, "gpu": 11}


@pytest.mark.parametrize("env_flag, stand_in", [(None, True), ("false", True), ("true", False)],
                         ids=["no-env", "env-false", "no-spaces-package"])
def test_everywhere_else_nothing_changes(tmp_path, env_flag, stand_in):
    seen = probe(tmp_path, env_flag=env_flag, stand_in=stand_in, serve=env_flag == "true")
    # (Gradio itself imports `spaces` where it is installed; space_gpu never calls it there.)
    assert not seen["zero_gpu"] and seen["device"] == "cpu" and seen["gpu_calls"] == []
    assert not any(seen["decorated"].values())
    assert seen["durations"] == dict.fromkeys(("generate", "compare", "notebook_preset", "_next_words"))
    assert seen["text"] == seen["expected"] and seen["compare"] == seen["sweep"]
    assert seen["write"] == {"async": True, "gpu": None}  # the page's Write streams on the server's event loop
    if env_flag == "true":  # the app builds and serves without the spaces package
        assert seen["served"] == seen["expected"]


@pytest.mark.parametrize("words, seconds", [(0, 5), (1, 6), (50, 6), (51, 7), (300, 11)])
def test_gpu_seconds(words, seconds):
    assert space_gpu.gpu_seconds(words) == seconds


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (none on this project's machines)")
def test_on_a_gpu_the_model_runs_on_cuda_and_greedy_text_matches_the_cpu(tmp_path):
    seen = probe(tmp_path, env_flag="true", stand_in=True, device="cuda")
    assert seen["greedy"] == seen["greedy_expected"]  # argmax is the same on both devices
