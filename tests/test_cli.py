"""The command-line tools `evaluate.py` and `generate.py` (scripts beside train.py), run as subprocesses.

Checked: the printed perplexities equal `lm.evaluate` in-process (the notebook's batch 128 /
seq_len 50, batch 1, and other settings), the unknown-token count with a model whose vocabulary
lacks some of the split's words, greedy output equals `lm.generate`, a sampled stream equals
`lm.generate` with the printed seed, several temperatures print one block each equal to `lm.sweep`,
and bad input is one line on stderr with exit status 2. Everything offline, in tmp_path, with
invented sentences.
"""

import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lm
from lm.data import count_unk, encode_lines, load_split_lines

ROOT = Path(__file__).resolve().parent.parent

# Words of the test model's vocabulary (conftest's invented sentences) ...
KNOWN = "the owl fox kettle sang ran sat gate red green small brass kitchen where is said".split()
# ... and invented words it has never seen.
UNKNOWN = ["lantern", "purple", "zebra", "teapot"]


def run_cli(script: str, *args: str, env_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(ROOT),
        "HF_HOME": str(env_dir / "hf-home"),
        "HF_HUB_CACHE": str(env_dir / "hf-home" / "hub"),
        "HF_DATASETS_CACHE": str(env_dir / "hf-datasets"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    })
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def write_corpus(root: Path, lines_per_split: int = 900, seed: int = 0, splits=("train", "validation", "test")) -> Path:
    """A corpus folder of invented sentences, ~7,000 tokens a split: enough for batch 128 x seq_len 50."""
    rng = random.Random(seed)
    words = KNOWN + UNKNOWN
    for split in splits:
        lines = []
        for _ in range(lines_per_split):
            sentence = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8)))
            lines.append(sentence.capitalize() + rng.choice([".", "!", "?", ", said the owl."]))
            if rng.random() < 0.1:
                lines.append("")  # blank lines are dropped
        (root / split).mkdir(parents=True)
        (root / split / "part.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory, _trained_model, vocab):
    """(model folder, corpus folder, scratch folder for HF caches)."""
    base = tmp_path_factory.mktemp("cli")
    model_dir = lm.save_pretrained(_trained_model, vocab, base / "model")
    corpus = write_corpus(base / "corpus")
    return model_dir, corpus, base


def perplexity_lines(stdout: str) -> dict[int, tuple[float, float, int]]:
    """{batch size: (perplexity, cross-entropy, seq_len)} from the tool's output."""
    found = {}
    for m in re.finditer(r"^perplexity (\S+)  cross-entropy (\S+) nats/token  batch (\d+), seq_len (\d+)", stdout,
                         re.MULTILINE):
        found[int(m.group(3))] = (float(m.group(1)), float(m.group(2)), int(m.group(4)))
    return found


def in_process(model_dir, corpus, split="test"):
    model, vocab = lm.load_pretrained(model_dir)
    ids = encode_lines(load_split_lines(corpus, split), vocab)
    return model, vocab, ids


# ------------------------------------------------------------------------------------ evaluate
def test_evaluate_prints_notebook_and_batch1_perplexity(folders):
    model_dir, corpus, base = folders
    r = run_cli("evaluate.py", "--model", str(model_dir), "--dataset", str(corpus), "--split", "test", env_dir=base)
    assert r.returncode == 0, r.stderr
    model, vocab, ids = in_process(model_dir, corpus)
    assert ids.numel() >= 128 * 51  # the defaults (batch 128, seq_len 50) really are exercised
    printed = perplexity_lines(r.stdout)
    assert sorted(printed) == [1, 128], r.stdout
    for batch_size, (ppl, ce, seq_len) in printed.items():
        assert seq_len == 50
        expected = lm.evaluate(model, ids, batch_size=batch_size, seq_len=50)
        assert ce == pytest.approx(expected, abs=2e-6)
        assert ppl == pytest.approx(math.exp(expected), rel=1e-5)
    assert printed[1][1] != printed[128][1]  # two different figures, not one printed twice


def test_evaluate_counts_tokens_unknown_to_the_model(folders):
    """The model's vocab lacks some of the split's words: they are scored as <unk>, and counted."""
    model_dir, corpus, base = folders
    r = run_cli("evaluate.py", "--model", str(model_dir), "--dataset", str(corpus), "--split", "validation",
                "--batch-size", "4", "--seq-len", "7", "--no-batch1", env_dir=base)
    assert r.returncode == 0, r.stderr
    model, vocab, ids = in_process(model_dir, corpus, "validation")
    unk = count_unk(ids, vocab)
    assert unk > 0 and all(w not in vocab for w in UNKNOWN)
    m = re.search(r"([\d,]+) tokens \(<eos> included\), ([\d,]+) unknown to the model's vocab \(([\d.]+)%\)", r.stdout)
    assert m, r.stdout
    assert int(m.group(1).replace(",", "")) == ids.numel()
    assert int(m.group(2).replace(",", "")) == unk
    assert float(m.group(3)) == pytest.approx(100 * unk / ids.numel(), abs=0.006)
    printed = perplexity_lines(r.stdout)
    assert list(printed) == [4]  # --no-batch1
    assert printed[4][2] == 7
    assert printed[4][1] == pytest.approx(lm.evaluate(model, ids, batch_size=4, seq_len=7), abs=2e-6)


# ------------------------------------------------------------------------------------ generate
def test_generate_greedy_equals_lm_generate(folders):
    model_dir, _, base = folders
    prompt = "The owl"
    r = run_cli("generate.py", "--model", str(model_dir), "--prompt", prompt, "--temperature", "0",
                "--max-new-tokens", "15", "--seed", "11", "--no-stop-at-eos", env_dir=base)
    assert r.returncode == 0, r.stderr
    model, vocab = lm.load_pretrained(model_dir)
    g = lm.generate(model, vocab, prompt, max_new_tokens=15, temperature=0, stop_at_eos=False)
    assert len(g.tokens) == 15
    assert r.stdout == g.text + "\n"
    assert "seed 11" in r.stderr


def test_generate_stream_with_printed_seed_equals_lm_generate(folders):
    """No --seed: a fresh one is printed, and lm.generate with it gives exactly the streamed text."""
    model_dir, _, base = folders
    prompt = "the purple fox"  # 'purple' is not in the model's vocab
    r = run_cli("generate.py", "--model", str(model_dir), "--prompt", prompt, "--temperature", "1.3",
                "--top-k", "6", "--top-p", "0.95", "--max-new-tokens", "25", env_dir=base)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^seed (\d+)", r.stderr, re.MULTILINE)
    assert m, r.stderr
    assert "purple" in r.stderr  # the unknown prompt word is reported
    model, vocab = lm.load_pretrained(model_dir)
    g = lm.generate(model, vocab, prompt, max_new_tokens=25, temperature=1.3, top_k=6, top_p=0.95,
                    seed=int(m.group(1)))
    assert r.stdout == g.text + "\n"


def test_generate_several_temperatures_print_the_sweep(folders):
    model_dir, _, base = folders
    temps = ["0", "0.8", "1.5"]
    r = run_cli("generate.py", "--model", str(model_dir), "--prompt", "where is", "--temperature", *temps,
                "--max-new-tokens", "12", "--seed", "3", "--no-stop-at-eos", env_dir=base)
    assert r.returncode == 0, r.stderr
    model, vocab = lm.load_pretrained(model_dir)
    rows = lm.sweep(model, vocab, "where is", [float(t) for t in temps], max_new_tokens=12, seed=3, stop_at_eos=False)
    assert re.findall(r"^temperature (\S+)$", r.stdout, re.MULTILINE) == ["0", "0.8", "1.5"]
    assert r.stdout == "\n".join(f"temperature {t}\n{g.text}\n" for t, g in zip(temps, rows))
    greedy = lm.generate(model, vocab, "where is", max_new_tokens=12, temperature=0, stop_at_eos=False)
    assert rows[0].text == greedy.text


# -------------------------------------------------------------------------------------- errors
def _corpus_without_test(base: Path) -> Path:
    folder = base / "no-test-split"
    if not folder.exists():
        write_corpus(folder, lines_per_split=5, splits=("train", "validation"))
    return folder


def _tiny_corpus(base: Path) -> Path:
    folder = base / "tiny-corpus"
    if not folder.exists():
        write_corpus(folder, lines_per_split=3)
    return folder


ERRORS = {
    "evaluate: missing model": ("evaluate.py", lambda m, c, b: ["--model", str(b / "nowhere"), "--dataset", str(c)],
                                "nowhere"),
    "evaluate: missing split": ("evaluate.py", lambda m, c, b: ["--model", str(m), "--dataset",
                                                                str(_corpus_without_test(b))], "'test' split"),
    "evaluate: split too short": ("evaluate.py", lambda m, c, b: ["--model", str(m), "--dataset",
                                                                  str(_tiny_corpus(b))], "batch_size=128"),
    "evaluate: bad batch size": ("evaluate.py", lambda m, c, b: ["--model", str(m), "--dataset", str(c),
                                                                 "--batch-size", "0"], "--batch-size"),
    "generate: missing model": ("generate.py", lambda m, c, b: ["--model", str(b / "nowhere"), "--prompt", "x"],
                                "nowhere"),
    "generate: negative temperature": ("generate.py", lambda m, c, b: ["--model", str(m), "--temperature", "0.5",
                                                                       "-1"], "--temperature"),
    "generate: top-p above 1": ("generate.py", lambda m, c, b: ["--model", str(m), "--top-p", "1.5"], "--top-p"),
    "generate: unknown option": ("generate.py", lambda m, c, b: ["--model", str(m), "--frobnicate"], "frobnicate"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_line_and_exit_2(folders, case):
    model_dir, corpus, base = folders
    module, make_args, mentions = ERRORS[case]
    r = run_cli(module, *make_args(model_dir, corpus, base), env_dir=base)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"{module}: error: ")
    assert mentions in lines[0]
    assert r.stdout == ""


# ---------------------------------------------------------------------------------- help
def test_help_lists_every_flag(folders):
    _, _, base = folders
    for script, flags in (("evaluate.py", ["--model", "--dataset", "--split", "--batch-size", "--seq-len"]),
                          ("generate.py", ["--model", "--prompt", "--temperature", "--top-k", "--top-p",
                                           "--max-new-tokens", "--seed"])):
        r = run_cli(script, "--help", env_dir=base)
        assert r.returncode == 0, r.stderr
        for flag in flags:
            assert flag in r.stdout
