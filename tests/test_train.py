"""Tests for train.py and lm.training: the notebook's recipe as a resumable, distributed, Hub-ready CLI.

Real `python train.py` (and `torchrun`) subprocesses where the behaviour is about the process: exit
codes, signals, stderr, files. In-process `train.main([...])` where a returned status is the same
proof (a traceback would be an exception escaping `main`) and starting Python again would only cost
time. Every corpus is made of invented sentences in `tmp_path`; nothing touches the network.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import datasets
import pytest
import torch
import yaml
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # train.py is a script at the repository root

import lm  # noqa: E402
import train as train_cli  # noqa: E402
from lm.card import write_results  # noqa: E402
from lm.config import RECIPES, TrainConfig  # noqa: E402
from lm.data import num_chunks  # noqa: E402
from lm.files import is_temp_of, seal_matches  # noqa: E402
from tests.hub_helpers import FakeHub, install_fake_hub  # noqa: E402

MODEL_FILES = {"model.safetensors", "config.json", "vocab.json", "README.md", "training_curve.png",
               "training_results.json", "ngrams.safetensors"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# ------------------------------------------------------------------------------------ corpora
# An invented little world; sentences are drawn from a tiny grammar, so the model has something to learn.
NAMES = ["the glimmerfox", "a tovel", "old brannoch", "the quill-moth", "little yarrowen", "the stoneherd",
         "a pellish wind", "the lantern-crab"]
VERBS = ["hummed at", "wandered past", "folded", "whistled to", "counted", "borrowed", "painted", "buried"]
THINGS = ["the copper moon", "a jar of fog", "seven pebbles", "the sleepy bridge", "a paper boat",
          "the crooked stair", "nine buttons", "the quiet orchard"]
ENDS = [".", "!", "?", ", and then it rained ."]


def sentences(n: int, seed: int) -> str:
    rnd = random.Random(seed)
    return "\n".join(f"{rnd.choice(NAMES)} {rnd.choice(VERBS)} {rnd.choice(THINGS)}{rnd.choice(ENDS)}"
                     for _ in range(n)) + "\n"


def sentences_with_tokens(n_tokens: int, seed: int) -> str:
    """Invented sentences adding up to `n_tokens` tokens or a few more, <eos> included."""
    lines, total, i = [], 0, 0
    while total < n_tokens:
        line = sentences(1, seed * 100_003 + i).strip()
        lines.append(line)
        total += len(lm.tokenize(line)) + 1
        i += 1
    return "\n".join(lines) + "\n"


SPLIT_NUMBER = {"train": 0, "validation": 1, "test": 2}


def make_corpus(root: Path, train: int = 300, validation: int = 60, test: int = 60, seed: int = 0,
                texts: dict | None = None) -> Path:
    """{split}/part.txt with `n` invented sentences each; `texts` overrides a split (None: leave it out)."""
    texts = texts or {}
    for split, n in (("train", train), ("validation", validation), ("test", test)):
        text = texts.get(split, sentences(n, 3 * seed + SPLIT_NUMBER[split]))
        if text is None:
            continue
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "part.txt").write_text(text, encoding="utf-8")
    return root


# A model small enough that a whole run is import time plus a second or two.
TINY = ["--min-freq", "1", "--batch-size", "4", "--seq-len", "8", "--emb-dim", "16", "--hid-dim", "16",
        "--epochs", "2", "--seed", "7"]


def cli_env(tmp: Path) -> dict:
    """Environment of a train.py subprocess: one thread, private caches, offline."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_DATASETS_CACHE=str(tmp / "cache"),
               HF_HUB_OFFLINE="1", HF_HOME=str(tmp / "hf"), PYTHONUNBUFFERED="1", TQDM_MININTERVAL="0")
    env.pop("HF_TOKEN", None)
    env.pop("WORLD_SIZE", None), env.pop("RANK", None), env.pop("LOCAL_RANK", None)
    return env


def run_cli(args, tmp: Path, timeout: float = 180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "train.py", *map(str, args)], cwd=ROOT, env=cli_env(tmp),
                          capture_output=True, text=True, timeout=timeout, **kw)


def start_cli(args, tmp: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "train.py", *map(str, args)], cwd=ROOT, env=cli_env(tmp),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def snapshot(folder: Path) -> dict:
    """Every file under `folder` with its bytes (None if the folder does not exist)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def load_ckpt(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_one_line_error(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and "Generating" not in line]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(autouse=True)
def offline_datasets(tmp_path, monkeypatch):
    """In-process runs: a private datasets cache and no network (datasets reads these at import)."""
    cache = tmp_path / "ds-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    for name in ("HF_TOKEN", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One finished tiny run (progress bars on), shared by the read-only tests below."""
    return finished_run(tmp_path_factory.mktemp("tiny"))


def finished_run(tmp: Path, *flags) -> dict:
    """A tiny run of a real train.py process over a made-up corpus in `tmp`, with `flags` added."""
    corpus = make_corpus(tmp / "corpus")
    out = tmp / "out"
    proc = run_cli(["--dataset", corpus, "--out", out, *TINY, *flags], tmp)
    assert proc.returncode == 0, proc.stderr
    return {"tmp": tmp, "corpus": corpus, "out": out, "proc": proc}


def copy_run(tiny_run, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(tiny_run["out"], out)
    return out


# ------------------------------------------------------------------------ 1. the notebook's defaults
def test_defaults_are_the_notebook_recipe():
    args = train_cli.build_parser().parse_args([])
    cfg = train_cli.config_from_args(args)
    assert args.recipe == "notebook"
    expected = dict(dataset="KaungHtetCho/Harry_Potter_LSTM", min_freq=3, batch_size=128, seq_len=50,
                    optimizer="adam", lr=1e-3, weight_decay=0.0, clip=0.25, schedule="plateau", epochs=50, seed=42,
                    max_minutes=None)
    assert {k: getattr(cfg, k) for k in expected} == expected
    model_expected = dict(emb_dim=1024, hid_dim=1024, num_layers=2, dropout_rate=0.65, tie_weights=False,
                          locked_dropout=False, dropout_emb=0.0, weight_drop=0.0)
    assert {k: getattr(cfg.model, k) for k in model_expected} == model_expected
    # The notebook evaluates with its training batch and one dropout rate everywhere.
    m = cfg.model
    assert cfg.eval_batch_size is None and m.dropout_in is m.dropout_hid is m.dropout_out is None
    model = lm.LSTMLanguageModel(replace(cfg.model, vocab_size=9803))
    assert model.num_parameters() == 36_879_947  # the notebook's printed count


def test_flags_are_named_after_the_notebook_and_all_have_help():
    parser = train_cli.build_parser()
    options = {o for a in parser._actions for o in a.option_strings}
    for flag in ("--dataset", "--min-freq", "--batch-size", "--seq-len", "--emb-dim", "--hid-dim", "--num-layers",
                 "--dropout-rate", "--lr", "--clip", "--epochs", "--seed", "--out", "--resume", "--checkpoint-every",
                 "--device", "--amp", "--push-to-hub", "--recipe"):
        assert flag in options, flag
    for action in parser._actions:
        assert action.help and action.help.strip(), action.option_strings


def test_recipe_awd_applies_its_values_and_explicit_flags_override_it():
    parser = train_cli.build_parser()
    cfg = train_cli.config_from_args(parser.parse_args(["--recipe", "awd"]))
    assert cfg == RECIPES["awd"]
    assert (cfg.batch_size, cfg.model.tie_weights, cfg.model.weight_drop) == (64, True, 0.3)
    assert cfg.model.emb_dim == 1024  # not in the recipe: LMConfig's default
    cfg = train_cli.config_from_args(parser.parse_args(["--recipe", "awd", "--lr", "0.01", "--batch-size", "32",
                                                        "--tie-weights", "false"]))
    assert (cfg.lr, cfg.batch_size, cfg.model.tie_weights) == (0.01, 32, False)
    assert cfg.model.weight_drop == RECIPES["awd"].model.weight_drop


# ------------------------------------------------------------------------------ 2. what a run makes
def test_run_writes_a_hub_ready_folder(tiny_run):
    out, proc = tiny_run["out"], tiny_run["proc"]
    assert MODEL_FILES <= {p.name for p in out.iterdir()}
    assert (out / "training_curve.png").read_bytes()[:8] == PNG_MAGIC
    # Console: a line per epoch, and tqdm bars with the live loss on stderr.
    epoch_lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and all("train ppl" in e and "valid ppl" in e and "lr" in e for e in epoch_lines)
    assert "epoch 1/2" in proc.stderr and "loss=" in proc.stderr and "Traceback" not in proc.stderr

    results = json.loads((out / "training_results.json").read_text())
    history = results["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    best = min(h["valid_loss"] for h in history)

    # The folder loads, and its weights are the best epoch's: the same validation loss.
    model, vocab = lm.load_pretrained(out)
    corpus = lm.load_corpus(str(tiny_run["corpus"]), min_freq=1)
    assert vocab.itos == corpus.vocab.itos
    assert lm.evaluate(model, corpus.validation, 4, 8) == best  # same weights, data, thread count: exact
    assert results["best_valid_ppl"] == pytest.approx(2.718281828459045 ** best)
    assert results["test_ppl"] is not None and results["parameters"] == model.num_parameters()


def test_model_card_has_metadata_results_and_usage(tiny_run):
    out = tiny_run["out"]
    card = (out / "README.md").read_text()
    results = json.loads((out / "training_results.json").read_text())
    assert card.startswith("---\n")
    meta, body = card[4:].split("\n---\n", 1)
    for line in ("library_name: lm", "license: mit", "tags:", "- lstm", "pipeline_tag: text-generation"):
        assert line in meta.splitlines(), line
    assert str(tiny_run["corpus"]) not in card  # a local folder is not a Hub dataset id, nor named by its path
    assert f"| `dataset` | {tiny_run['corpus'].name} (a local folder) |" in body
    for name, value in TrainConfig.from_dict(results["train_config"]).flat().items():  # every hyperparameter
        assert name == "dataset" or f"| `{name}` | {value} |" in body, name
    assert f"{results['parameters']:,}" in body
    assert f"| best validation perplexity | {results['best_valid_ppl']:.2f} |" in body
    assert f"| test perplexity (best weights) | {results['test_ppl']:.2f} |" in body
    assert "| epochs run | 2 of 2 |" in body and "| wall time |" in body and "| hardware | CPU" in body
    assert "lm.load_pretrained(" in body and "](training_curve.png)" in body
    assert "Intended use and limits" in body


def test_a_time_budget_stops_the_run_and_the_card_says_where(tmp_path):
    """--max-minutes ends training mid-epoch (here after its first step): the model of that point is saved and
    scored, the epoch is kept as partial, and the card and the curve count only whole epochs."""
    run = finished_run(tmp_path, "--max-minutes", "0.000001")
    assert "time budget of 1e-06 minutes reached" in run["proc"].stdout + run["proc"].stderr
    results = json.loads((run["out"] / "training_results.json").read_text())
    (epoch,) = results["history"]
    assert (epoch["epoch"], epoch["steps"], epoch["partial"]) == (1, 1, True) and results["epochs"] == 0
    assert results["test_ppl"] is not None and lm.load_pretrained(run["out"])[1] is not None
    body = (run["out"] / "README.md").read_text()
    assert "| epochs run | 0 of 2, then 1 step of epoch 1 before the time budget ran out |" in body
    assert (run["out"] / "training_curve.png").read_bytes()[:8] == PNG_MAGIC


def test_model_card_names_a_hub_dataset_in_its_metadata(tmp_path):
    history = [{"epoch": 1, "train_loss": 5.0, "valid_loss": 4.5, "lr": 1e-3, "seconds": 2.0}]
    write_results(tmp_path, {"dataset_name": "Harry Potter", "parameters": 123, "vocab_size": 10, "minutes": 0.1,
                             "hardware": "CPU", "best_valid_ppl": 90.0, "test_ppl": None, "tokens": None,
                             "train_config": asdict(TrainConfig()), "history": history}, repo_id="someone/hp-lstm")
    card = (tmp_path / "README.md").read_text()
    meta = card.split("\n---\n", 1)[0]
    assert "datasets:\n- KaungHtetCho/Harry_Potter_LSTM" in meta
    assert 'lm.load_pretrained("someone/hp-lstm")' in card
    assert "| test perplexity (best weights) | n/a |" in card
    assert (tmp_path / "training_curve.png").read_bytes()[:8] == PNG_MAGIC


# ---------------------------------------------------------------------------------- 3. never lose work
# Big enough that an epoch has 20 steps of a few tens of ms, so a poll can land in the middle of one.
RESUME_ARGS = ["--min-freq", "1", "--batch-size", "16", "--seq-len", "20", "--emb-dim", "48", "--hid-dim", "96",
               "--epochs", "2", "--dropout-rate", "0.3", "--seed", "3", "--checkpoint-every", "2", "--no-progress"]
RESUME_STEPS = 20


@pytest.fixture(scope="module")
def resume_setup(tmp_path_factory):
    """The corpus of the resume tests and an uninterrupted reference run over it."""
    tmp = tmp_path_factory.mktemp("resume")
    # 16 streams of 20 x 20 + 1 tokens and a few spare: 20 steps per epoch.
    corpus = make_corpus(tmp / "corpus", validation=120, test=60,
                         texts={"train": sentences_with_tokens(16 * (20 * RESUME_STEPS + 1) + 40, seed=11)})
    ids = lm.load_corpus(str(corpus), min_freq=1)
    assert num_chunks(ids.train.numel() // 16, 20) == RESUME_STEPS, ids.train.numel()
    ref = tmp / "reference"
    proc = run_cli(["--dataset", corpus, "--out", ref, *RESUME_ARGS], tmp)
    assert proc.returncode == 0, proc.stderr
    return {"tmp": tmp, "corpus": corpus, "reference": ref}


def assert_same_weights(out: Path, ref: Path) -> None:
    """Bitwise: the best model and the final weights (in the last checkpoint)."""
    got, want = load_file(out / "model.safetensors"), load_file(ref / "model.safetensors")
    assert got.keys() == want.keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k
    got, want = load_ckpt(out / "checkpoints" / "last.pt"), load_ckpt(ref / "checkpoints" / "last.pt")
    assert (got["epoch"], got["step"]) == (want["epoch"], want["step"]) == (2, 0)
    for k in want["model"]:
        assert torch.equal(got["model"][k], want["model"][k]), k
    assert [h["valid_loss"] for h in got["history"]] == [h["valid_loss"] for h in want["history"]]


def wait_for_checkpoint(proc, path: Path, ready, timeout: float = 120) -> dict:
    """Poll `path` until `ready(state)`; returns that state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"run ended before the checkpoint was ready: {proc.communicate()}"
        try:
            state = load_ckpt(path)
        except Exception:  # not written yet (the rename is atomic, so never half a file)
            state = None
        if state is not None and ready(state):
            return state
        time.sleep(0.005)
    proc.kill()
    pytest.fail("no checkpoint in time")


def test_sigkill_mid_epoch_then_resume_is_bitwise_identical(resume_setup, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--dataset", resume_setup["corpus"], "--out", out, *RESUME_ARGS]
    proc = start_cli(args, tmp_path)
    ckpt = out / "checkpoints" / "last.pt"
    try:
        # Any epoch will do, as long as the kill lands well inside it (a checkpoint every 2 steps).
        wait_for_checkpoint(proc, ckpt, lambda s: 2 < s["step"] <= RESUME_STEPS - 4)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    state = load_ckpt(ckpt)  # what the resumed run starts from: the middle of an epoch
    assert 0 < state["step"] < RESUME_STEPS, (state["epoch"], state["step"])
    for key in ("model", "optimizer", "scheduler", "ranks", "vocab", "best_valid", "global_step"):
        assert key in state
    assert state["ranks"][0]["rng"].dtype == torch.uint8

    # The resumed run may as well be in this process (one thread, as the subprocesses): same numbers.
    assert train_cli.main([*map(str, args), "--resume"]) == 0
    resumed_at = f"resumed from {ckpt}: epoch {state['epoch'] + 1}, step {state['step']}/{RESUME_STEPS}"
    assert resumed_at in capsys.readouterr().out
    assert_same_weights(out, resume_setup["reference"])


def test_ctrl_c_saves_a_checkpoint_exits_130_and_resumes_identically(resume_setup, tmp_path):
    out = tmp_path / "out"
    args = ["--dataset", resume_setup["corpus"], "--out", out, *RESUME_ARGS]
    proc = start_cli(args, tmp_path)
    ckpt = out / "checkpoints" / "last.pt"
    try:
        wait_for_checkpoint(proc, ckpt, lambda s: s["step"] >= 2 or s["epoch"] >= 1)  # the loop is running
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted: checkpoint saved" in stdout
    assert load_ckpt(ckpt)["epoch"] < 2

    assert train_cli.main([*map(str, args), "--resume"]) == 0
    assert_same_weights(out, resume_setup["reference"])


def test_truncated_checkpoint_is_a_clear_error_and_the_model_stays(tiny_run, tmp_path):
    """Through the command line (the interpreter's own error path: no traceback), the best model stays."""
    out = copy_run(tiny_run, tmp_path)
    ckpt = out / "checkpoints" / "last.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    before = snapshot(out)
    proc = run_cli(["--dataset", tiny_run["corpus"], "--out", out, *TINY, "--epochs", "3", "--resume"], tmp_path)
    assert proc.returncode != 0
    assert_one_line_error(proc.stderr, str(ckpt), "corrupt or truncated")
    assert snapshot(out) == before


def test_resume_needs_only_out_the_configuration_comes_from_the_checkpoint(tiny_run, tmp_path):
    """`--out DIR --resume` (plus --epochs to go further) continues with the saved recipe and dataset."""
    out = copy_run(tiny_run, tmp_path)
    proc = run_cli(["--out", out, "--resume", "--epochs", "3", "--no-progress"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "training_results.json").read_text())
    assert [h["epoch"] for h in results["history"]] == [1, 2, 3]
    assert results["train_config"]["model"]["hid_dim"] == 16 and results["train_config"]["batch_size"] == 4


def test_a_fresh_run_into_a_finished_run_is_refused_unless_overwrite(tiny_run, tmp_path):
    """Without --resume or --overwrite an --out that holds a run is left exactly as it was."""
    out = copy_run(tiny_run, tmp_path)
    (out / "notes.txt").write_text("the user's own notes beside the run\n")
    before = snapshot(out)
    proc = run_cli(["--dataset", tiny_run["corpus"], "--out", out, *TINY], tmp_path)
    assert proc.returncode != 0
    assert_one_line_error(proc.stderr, "already holds a run", "--resume", "--overwrite")
    assert snapshot(out) == before
    proc = run_cli(["--dataset", tiny_run["corpus"], "--out", out, *TINY, "--overwrite", "--seed", "8"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    after = snapshot(out)
    assert after["model.safetensors"] != before["model.safetensors"]
    assert after["notes.txt"] == before["notes.txt"] and set(after) == set(before)  # replaced ours, kept theirs


@pytest.mark.parametrize("content", [b"", b"this is not a checkpoint\n" * 20, "pickled"],
                         ids=["empty", "garbage", "pickled"])
def test_corrupt_checkpoint_is_a_clear_error_in_process(tiny_run, tmp_path, capsys, content):
    out = copy_run(tiny_run, tmp_path)
    ckpt = out / "checkpoints" / "last.pt"
    if content == "pickled":  # a pickle that weights_only refuses: torch's message runs over many lines
        torch.save({"format": "lm-train-checkpoint", "evil": argparse.Namespace(x=1)}, ckpt)
    else:
        ckpt.write_bytes(content)
    before = snapshot(out)
    code = train_cli.main(["--dataset", str(tiny_run["corpus"]), "--out", str(out), *TINY, "--resume"])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, "corrupt or truncated")
    assert snapshot(out) == before


# --------------------------------------------------------------- 3b. never someone else's files
# A run of ours: any file a run writes that is recognisably ours (see train.run_files): config.json
# with our model_type (and model.safetensors beside it), vocab.json or training_results.json in our
# formats (training_curve.png beside the latter), a README.md card with `library_name: lm`, or a
# checkpoint sealed by us. No test loads data: --dataset names no folder, so a refusal that came
# after loading would say "does not exist" instead.
def refused(args, tmp: Path, capsys=None, cwd: Path | None = None) -> str:
    """Run train.py with `args` (a real process, or in-process when `capsys` is given); its one error line."""
    if capsys is not None:
        assert train_cli.main([*map(str, args)]) == 2
        err = capsys.readouterr().err
    else:
        proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *map(str, args)], cwd=cwd or ROOT,
                              env=cli_env(tmp), capture_output=True, text=True, timeout=180)
        assert proc.returncode == 2, proc.stderr
        err = proc.stderr
    assert_one_line_error(err)
    return err.strip()


NO_DATA = ["--dataset", "no-such-corpus-folder", *TINY]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_a_folder_with_someone_elses_readme_is_refused_before_any_data(tmp_path, overwrite):
    """`mkdir d; echo notes > d/README.md; train.py --out d` would have replaced the notes with a card."""
    out = tmp_path / "d"
    out.mkdir()
    (out / "README.md").write_text("notes\n")
    line = refused([*NO_DATA, "--out", out, *overwrite], tmp_path)
    assert "README.md is not from a run of train.py" in line and "not even with --overwrite" in line
    assert snapshot(out) == {"README.md": b"notes\n"}
    assert sorted(os.listdir(tmp_path)) == ["d"]  # no cache, no checkpoint folder: nothing was made


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_out_dot_in_a_project_never_replaces_its_readme(tmp_path, overwrite):
    """`--out .` from a project's root (here a copy of this project's README and app.py)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("README.md", "app.py"):
        shutil.copy(ROOT / name, project / name)
    before = snapshot(project)
    line = refused([*NO_DATA, "--out", ".", *overwrite], tmp_path, cwd=project)
    assert "README.md is not from a run of train.py" in line
    assert snapshot(project) == before


def test_a_folder_with_other_files_needs_overwrite_and_keeps_them(tiny_run, tmp_path, capsys):
    out = tmp_path / "d"
    (out / "data").mkdir(parents=True)
    (out / "notes.txt").write_text("mine\n")
    (out / "data" / "table.csv").write_text("a,b\n1,2\n")
    before = snapshot(out)
    line = refused([*NO_DATA, "--out", out], tmp_path)
    assert "is not empty and holds no run of train.py" in line and "--overwrite" in line and "notes.txt" in line
    assert snapshot(out) == before
    # With --overwrite the run is written beside them; they stay as they were.
    assert train_cli.main(["--dataset", str(tiny_run["corpus"]), "--out", str(out), *TINY, "--no-progress",
                           "--overwrite"]) == 0
    after = snapshot(out)
    assert {k: after[k] for k in before} == before and MODEL_FILES <= set(after)


def foreign_file(out: Path, name: str, tiny_out: Path) -> None:
    """Put something that is not ours where a run writes `name`."""
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    contents = {"config.json": '{"model_type": "bert", "hidden_size": 8}\n', "vocab.json": '{"hello": 0}\n',
                "training_results.json": '{"accuracy": 0.9}\n',
                "README.md": "---\nlibrary_name: transformers\n---\n# someone else's model\n"}
    if name in contents:
        path.write_text(contents[name])
    elif name == "checkpoints/last.pt":
        torch.save({"epoch": 3, "weights": torch.zeros(2)}, path)  # someone's own torch checkpoint
    elif name == "README.md (a link to our card)":
        (out / "README.md").symlink_to(tiny_out / "README.md")  # we never write links
    else:  # model.safetensors without our config.json, training_curve.png without our results
        shutil.copy(tiny_out / name, path)


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "vocab.json", "training_results.json",
                                  "training_curve.png", "README.md", "README.md (a link to our card)",
                                  "checkpoints/last.pt"])
def test_a_file_of_someone_else_where_a_run_writes_is_never_replaced(tiny_run, tmp_path, capsys, name):
    out = tmp_path / "d"
    out.mkdir()
    foreign_file(out, name, tiny_run["out"])
    before = snapshot(out)
    line = refused([*NO_DATA, "--out", out, "--overwrite"], tmp_path, capsys)
    assert f"{name.split(' ')[0]} is not from a run of train.py" in line, line
    assert snapshot(out) == before and (out / "README.md").is_symlink() == name.endswith("card)")


@pytest.mark.parametrize("mode", [["--overwrite"], ["--resume"]])
def test_a_run_whose_readme_the_user_rewrote_keeps_it(tiny_run, tmp_path, capsys, mode):
    """The rest of the run is ours, the README is not any more: neither --overwrite nor --resume replaces it."""
    out = copy_run(tiny_run, tmp_path)
    (out / "README.md").write_text("# My notes on this run\n")
    before = snapshot(out)
    line = refused([*NO_DATA, "--out", out, *mode], tmp_path, capsys)
    assert "--out" in line and ": README.md is not from a run of train.py" in line
    assert snapshot(out) == before


def test_checkpoints_in_out_itself_are_part_of_the_run(tiny_run, tmp_path, capsys):
    """--checkpoint-dir may be --out: last.pt (and a stale temp of it) beside the model count as the run's."""
    out = tmp_path / "d"
    args = ["--dataset", str(tiny_run["corpus"]), "--out", str(out), "--checkpoint-dir", str(out), *TINY,
            "--epochs", "1", "--no-progress"]
    assert train_cli.main(args) == 0
    (out / ".last.pt.0a1b2c3d.tmp").write_bytes(b"PK\x03\x04")
    line = refused(args, tmp_path, capsys)
    assert "already holds a run" in line
    assert train_cli.main([*args, "--overwrite"]) == 0
    assert not (out / ".last.pt.0a1b2c3d.tmp").exists() and (out / "last.pt").is_file()


# ------------------------------------------------------------ 3c. what a killed write leaves
# A model whose checkpoint (about 150 MB: 12.7 M parameters, Adam's two moments) takes a good part
# of a second to write and seal, written at every step: most of the run is spent inside a write.
BIG_ARGS = ["--min-freq", "1", "--batch-size", "4", "--seq-len", "8", "--emb-dim", "16", "--hid-dim", "1024",
            "--epochs", "1", "--seed", "7", "--no-progress"]


def our_temps(folder: Path, name: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if is_temp_of(p.name, name)) if folder.is_dir() else []


def test_sigkill_mid_write_leaves_a_temp_that_resume_removes(tmp_path, capsys):
    corpus = make_corpus(tmp_path / "corpus", train=40, validation=20, test=20)
    out, ckpt_dir = tmp_path / "out", tmp_path / "out" / "checkpoints"
    args = ["--dataset", corpus, "--out", out, *BIG_ARGS]
    proc = start_cli([*args, "--checkpoint-every", "1"], tmp_path)
    try:  # a real SIGKILL, while a checkpoint is being written (and one is already there to resume from)
        deadline = time.monotonic() + 300
        while not ((ckpt_dir / "last.pt").is_file() and any(p.stat().st_size for p in our_temps(ckpt_dir, "last.pt"))):
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint write to interrupt"
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    [stale] = our_temps(ckpt_dir, "last.pt")  # half a checkpoint (or a whole one, unsealed), never renamed
    assert 0 < stale.stat().st_size and not seal_matches(stale)
    # Beside it, things that are not our temps: they stay.
    decoys = {ckpt_dir / "notes.tmp": b"mine", ckpt_dir / ".last.pt.keep.tmp": b"mine too",
              out / ".README.md.backup.tmp": b"and this"}
    for path, data in decoys.items():
        path.write_bytes(data)
    assert train_cli.main([*map(str, args), "--resume"]) == 0
    assert f"removed {stale}, left by an interrupted write" in capsys.readouterr().out
    assert our_temps(ckpt_dir, "last.pt") == [] and not stale.exists()
    assert {p: p.read_bytes() for p in decoys} == decoys
    assert lm.checkpoint.load(ckpt_dir / "last.pt")["epoch"] == 1


def test_a_fresh_run_removes_stale_temps_of_ours_and_nothing_else(tiny_run, tmp_path, capsys):
    """Stale temps made as a killed write leaves them (the first half of a real file, under the name
    atomic_write gives it), in --out and in the checkpoint folder; then a fresh --overwrite run."""
    out = copy_run(tiny_run, tmp_path)
    ckpt = (out / "checkpoints" / "last.pt").read_bytes()
    stale = {out / "checkpoints" / ".last.pt.0a1b2c3d.tmp": ckpt[:len(ckpt) // 2],
             out / ".model.safetensors.9f8e7d6c.tmp": (out / "model.safetensors").read_bytes()[:100],
             out / ".README.md.k2j4h6g8.tmp": b"---\nlibrary_name: lm\n"}
    kept = {out / ".last.pt.0a1b2c3d.tmp": b"not in the checkpoint folder", out / "notes.tmp": b"mine",
            out / "checkpoints" / ".last.pt.0a1b2c3d.tmp.orig": b"mine too"}
    for path, data in {**stale, **kept}.items():
        path.write_bytes(data)
    assert train_cli.main(["--dataset", str(tiny_run["corpus"]), "--out", str(out), *TINY, "--no-progress",
                           "--overwrite"]) == 0
    log = capsys.readouterr().out
    assert all(f"removed {p}, left by an interrupted write" in log for p in stale)
    assert not any(p.exists() for p in stale) and {p: p.read_bytes() for p in kept} == kept


# ------------------------------------------------------------------------------------ 4. distributed
# Writes a log of every file opened for writing, renamed or made under WATCH, one file per rank.
AUDIT_WRAPPER = r'''
import atexit, json, os, runpy, sys
watch, rank = os.path.realpath(os.environ["AUDIT_WATCH"]), os.environ.get("RANK", "0")
events = []
def under(p):
    return isinstance(p, (str, bytes, os.PathLike)) and os.path.realpath(os.fsdecode(p)).startswith(watch)
def hook(event, args):
    if event == "open" and under(args[0]):
        mode, flags = args[1] or "", args[2] or 0
        if any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            events.append([event, os.fsdecode(args[0])])
    elif event in ("os.rename", "os.mkdir", "os.remove", "os.chmod") and under(args[0]):
        events.append([event, os.fsdecode(args[0])])
sys.addaudithook(hook)
atexit.register(lambda: open(os.path.join(os.environ["AUDIT_DIR"], f"rank{rank}.json"), "w").write(json.dumps(events)))
sys.argv = [os.path.join(os.environ["TRAIN_ROOT"], "train.py")] + sys.argv[1:]
sys.path.insert(0, os.environ["TRAIN_ROOT"])
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def test_torchrun_two_cpu_processes_match_one_process(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", train=120, validation=40, test=40)
    args = ["--dataset", corpus, "--min-freq", "1", "--batch-size", "4", "--seq-len", "8", "--emb-dim", "16",
            "--hid-dim", "16", "--epochs", "2", "--dropout-rate", "0", "--seed", "5", "--no-progress"]
    assert train_cli.main([*map(str, args), "--out", str(tmp_path / "single")]) == 0  # one process, in this one

    wrapper = tmp_path / "audit_train.py"
    wrapper.write_text(AUDIT_WRAPPER)
    audit = tmp_path / "audit"
    audit.mkdir()
    env = cli_env(tmp_path)
    # gloo on the loopback interface only (the hostname may resolve to an interface that is not up).
    env.update(AUDIT_WATCH=str(tmp_path / "ddp"), AUDIT_DIR=str(audit), TRAIN_ROOT=str(ROOT), GLOO_SOCKET_IFNAME="lo")
    # Fill the datasets cache first, so the two ranks do not both build it at once.
    subprocess.run([sys.executable, "-c", "import lm, sys; lm.load_corpus(sys.argv[1], min_freq=1)", str(corpus)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
           str(wrapper), *map(str, args), "--out", str(tmp_path / "ddp")]
    # No retry: a hang is a bug (rank 1 once hung in the process group's teardown after its peer had
    # left; Dist leaves the group at a barrier since). The output is kept for the report.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both ranks
        pytest.fail("torchrun hung:\n" + proc.communicate()[0])
    assert proc.returncode == 0, output

    # Only rank 0 writes: rank 1 opened nothing for writing under --out.
    rank0, rank1 = (json.loads((audit / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank1 == [] and len(rank0) > 0
    assert MODEL_FILES <= {p.name for p in (tmp_path / "ddp").iterdir()}

    # Each rank ran 2 of the 4 streams and DDP averaged the gradients: the same sums in another order.
    # float32 rounding (~1e-7 relative per operation) then compounds over 72 Adam steps, whose update
    # lr * m / sqrt(v) can magnify it where a gradient is near 0 (measured: max |diff| 6e-8, but 5e-4
    # relative on a weight near 0, hence atol). rtol 1e-4 / atol 1e-5 leaves room for that, while a
    # real mismatch (a stream missed, gradients summed instead of averaged, another initialisation)
    # moves weights by up to lr = 1e-3 per step.
    got = load_ckpt(tmp_path / "ddp" / "checkpoints" / "last.pt")
    want = load_ckpt(tmp_path / "single" / "checkpoints" / "last.pt")
    assert len(got["ranks"]) == 2 and got["global_step"] == want["global_step"] > 10
    for k, w in want["model"].items():
        torch.testing.assert_close(got["model"][k], w, rtol=1e-4, atol=1e-5, msg=k)
    for g, w in zip(got["history"], want["history"]):  # the train loss is over all streams, not rank 0's
        assert g["train_loss"] == pytest.approx(w["train_loss"], rel=1e-4)
        assert g["valid_loss"] == pytest.approx(w["valid_loss"], rel=1e-4)


# ------------------------------------------------------------------------------------- 5. bad input
def bad_input_cases(tmp: Path, good: Path) -> dict:
    """name -> (extra argv, words the one-line error must contain)."""
    (tmp / "a-file").write_text("not a folder\n")
    make_corpus(tmp / "no-test", texts={"test": None})
    make_corpus(tmp / "empty", texts={"train": "\n   \n\n"})
    return {
        "missing dataset folder": (["--dataset", tmp / "nowhere" / "corpus"], ["does not exist"]),
        "missing split": (["--dataset", tmp / "no-test"], ["'test'"]),
        "empty corpus": (["--dataset", tmp / "empty"], ["no tokens"]),
        "batch size 0": (["--batch-size", "0"], ["--batch-size"]),
        "seq_len 0": (["--seq-len", "0"], ["--seq-len"]),
        "epochs 0": (["--epochs", "0"], ["--epochs"]),
        "hid-dim -1": (["--hid-dim", "-1"], ["--hid-dim"]),
        "dropout 1.0": (["--dropout-rate", "1.0"], ["--dropout-rate", "[0, 1)"]),
        "dropout -0.1": (["--dropout-rate", "-0.1"], ["--dropout-rate", "[0, 1)"]),
        "batch the data cannot fill": (["--batch-size", "5000"], ["cannot fill", "5000"]),
        "eval batch the data cannot fill": (["--eval-batch-size", "5000"], ["validation", "cannot fill"]),
        "out is a file": (["--out", tmp / "a-file"], ["not a folder"]),
        "resume without checkpoint": (["--resume"], ["no checkpoint"]),
        "negative checkpoint-every": (["--checkpoint-every", "-1"], ["--checkpoint-every"]),
        "bad repo id": (["--push-to-hub", "not a repo id!"], ["--push-to-hub"]),
        "push without token": (["--push-to-hub", "someone/model"], ["token"]),
    } | ({} if torch.cuda.is_available() else {"cuda absent": (["--device", "cuda"], ["CUDA is not available"])})


BAD_INPUT_NAMES = ["missing dataset folder", "missing split", "empty corpus", "batch size 0", "seq_len 0",
                   "epochs 0", "hid-dim -1", "dropout 1.0", "dropout -0.1", "batch the data cannot fill",
                   "eval batch the data cannot fill", "out is a file", "resume without checkpoint",
                   "negative checkpoint-every", "bad repo id", "push without token", "cuda absent"]


@pytest.mark.parametrize("case", BAD_INPUT_NAMES)
def test_bad_input_is_one_line_and_writes_nothing(tiny_run, tmp_path, capsys, case):
    cases = bad_input_cases(tmp_path, tiny_run["corpus"])
    if case not in cases:
        pytest.skip("this machine has CUDA")
    extra, needles = cases[case]
    out, a_file = tmp_path / "out", tmp_path / "a-file"
    before = a_file.read_bytes()
    code = train_cli.main(["--dataset", str(tiny_run["corpus"]), "--out", str(out), *TINY, *map(str, extra)])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, *needles)
    assert not out.exists() and a_file.read_bytes() == before


@pytest.mark.parametrize("change, needles", [
    (["--hid-dim", "24"], ["different configuration", "hid_dim"]),
    (["--min-freq", "2"], ["different configuration", "min_freq"]),
    ("other corpus", ["different vocabulary"]),
])
def test_resume_from_another_config_or_vocab_is_refused(tiny_run, tmp_path, capsys, change, needles):
    out = copy_run(tiny_run, tmp_path)
    dataset = tiny_run["corpus"]
    if change == "other corpus":  # same flags, other words: only the vocab differs (dataset may change)
        dataset = make_corpus(tmp_path / "other", texts={"train": "zip zap zop .\n" * 400})
        change = []
    before = snapshot(out)
    code = train_cli.main(["--dataset", str(dataset), "--out", str(out), *TINY, *change, "--epochs", "3", "--resume"])
    assert code != 0
    assert_one_line_error(capsys.readouterr().err, *needles)
    assert snapshot(out) == before


# ------------------------------------------------------------------------------------ 6. --push-to-hub
@pytest.fixture
def fake_hub(monkeypatch):
    """huggingface_hub's HTTP transport routed to a local FakeHub (tests/hub_helpers.py)."""
    hub, undo = install_fake_hub(monkeypatch)
    yield hub
    undo()


def test_push_to_hub_uploads_the_whole_folder_in_one_commit(tmp_path, fake_hub, capsys):
    corpus = make_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    code = train_cli.main(["--dataset", str(corpus), "--out", str(out), *TINY, "--no-progress",
                           "--push-to-hub", "someone/tiny-lstm"])
    assert code == 0, capsys.readouterr().err
    assert fake_hub.unexpected == []
    assert "pushed" in capsys.readouterr().out
    assert len(fake_hub.commits) == 1
    header, *ops = fake_hub.commits[0]
    assert header["key"] == "header" and header["value"]["summary"]

    rebuilt = tmp_path / "from-hub"
    fake_hub.rebuild(fake_hub.commits[0], rebuilt)
    uploaded = {op["value"]["path"] for op in ops}
    assert uploaded == MODEL_FILES  # checkpoints stay local
    assert (out / "checkpoints" / "last.pt").is_file()
    assert {op["value"]["path"] for op in ops if op["key"] == "lfsFile"} == {"model.safetensors", "training_curve.png",
                                                                             "ngrams.safetensors"}
    for name in MODEL_FILES:
        assert (rebuilt / name).read_bytes() == (out / name).read_bytes(), name
    assert 'lm.load_pretrained("someone/tiny-lstm")' in (rebuilt / "README.md").read_text()

    model, vocab = lm.load_pretrained(rebuilt)
    local, local_vocab = lm.load_pretrained(out)
    assert vocab.itos == local_vocab.itos
    for (k, a), (_, b) in zip(model.state_dict().items(), local.state_dict().items()):
        assert torch.equal(a, b), k
    assert any(r.startswith("POST https://huggingface.co/api/repos/create") for r in fake_hub.requests)
    meta = yaml.safe_load(fake_hub.validated[0].split("---\n")[1])
    assert meta["library_name"] == "lm" and meta["license"] == "mit" and "lstm" in meta["tags"]


def test_a_failed_push_is_one_line_and_keeps_the_model(tmp_path, fake_hub, capsys, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    import httpx2

    fake_hub_call = FakeHub.__call__
    monkeypatch.setattr(FakeHub, "__call__", lambda self, r: httpx2.Response(401, json={"error": "Invalid token"})
                        if "/commit/" in r.url.path else fake_hub_call(self, r))
    code = train_cli.main(["--dataset", str(corpus), "--out", str(out), *TINY, "--epochs", "1", "--no-progress",
                           "--push-to-hub", "someone/tiny-lstm"])
    assert code == 1
    err = capsys.readouterr().err  # (stderr also has the upload's progress bars)
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.startswith("train.py:")]
    assert "push to someone/tiny-lstm failed" in line and "401" in line and str(out) in line
    assert MODEL_FILES <= {p.name for p in out.iterdir()}


def test_activation_penalty_is_awd_lstms_ar_and_tar():
    from lm.training import activation_penalty

    raw = torch.tensor([[[1.0, 2.0], [3.0, 5.0]]])  # (B=1, T=2, H=2)
    dropped = torch.tensor([[[0.0, 4.0], [6.0, 0.0]]])
    ar = (0 + 16 + 36 + 0) / 4  # mean square of the dropped output
    tar = ((3 - 1) ** 2 + (5 - 2) ** 2) / 2  # mean square step-to-step change of the raw output
    assert activation_penalty(raw, dropped, 2.0, 1.0).item() == pytest.approx(2 * ar + tar)
    assert activation_penalty(raw, dropped, 0.0, 0.0).item() == 0.0
