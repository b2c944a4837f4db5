"""Tests for lm.checkpoint and lm.files: sealed checkpoints, damaged and crafted ones, stale temporaries.

Every checkpoint here is a real one, written by a real short `train.py` run in tmp_path, then damaged
(a flipped byte, a cut) or crafted (a key removed, added, retyped, a tensor reshaped) and sealed
again through `lm.checkpoint.save`, as someone who knows the format would. What the command line
does with them is checked on real processes (exit status 2, one line on stderr, no traceback,
nothing written); the many structural cases also in-process through `train.main`, which reports
the same way (a traceback there would be an exception escaping `main`).
"""

import hashlib
import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_train import assert_one_line_error, finished_run, run_cli, snapshot  # noqa: E402

import train as train_cli  # noqa: E402
from lm import checkpoint  # noqa: E402
from lm.files import SEAL_LEN, atomic_write, is_temp_of, read_seal, remove_stale_temps, seal_matches  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny run (2 epochs, a checkpoint every 7 steps as well) by a real train.py process."""
    return finished_run(tmp_path_factory.mktemp("ckpt"), "--checkpoint-every", "7", "--no-progress")


def copy_run(finished, tmp_path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    shutil.copytree(finished["out"], out)
    return out, out / "checkpoints" / checkpoint.NAME


def raw(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def resume_in_process(out: Path, capsys) -> tuple[int, str]:
    code = train_cli.main(["--out", str(out), "--resume", "--epochs", "3", "--no-progress"])
    return code, capsys.readouterr().err


# ------------------------------------------------------------------------------------ the seal
def test_a_checkpoint_is_sealed_with_the_sha256_of_its_bytes_and_stays_a_torch_file(finished):
    path = finished["out"] / "checkpoints" / checkpoint.NAME
    data = path.read_bytes()
    comment = zipfile.ZipFile(path).comment  # a valid zip: the seal is its comment
    assert comment == b"lm-sha256:" + read_seal(path).encode() and len(comment) == SEAL_LEN
    # The SHA-256 of the file as torch.save wrote it (comment length 0, no comment).
    assert hashlib.sha256(data[:-SEAL_LEN - 2] + b"\0\0").hexdigest() == read_seal(path)
    assert seal_matches(path)
    state = raw(path)  # torch.load (weights_only) reads it as any checkpoint
    assert (state["format"], state["version"]) == (checkpoint.FORMAT, checkpoint.VERSION) == ("lm-train-checkpoint", 3)
    assert checkpoint.load(path)["global_step"] == state["global_step"] > 0


def byte_positions(path: Path, state: dict) -> dict:
    """Named places in the file: inside a tensor's data, the pickle, the central directory, the seal."""
    data = path.read_bytes()
    weight = state["model"]["fc.weight"].numpy().tobytes()
    eocd = data.rindex(b"PK\x05\x06")
    return {"model tensor data": data.index(weight) + len(weight) // 2, "pickle": data.index(b"train_config"),
            "zip local header": 3, "central directory": data.rindex(b"PK\x01\x02") + 10,
            "comment length": eocd + 20, "the seal itself": len(data) - 5, "last byte": len(data) - 1}


def test_a_flipped_byte_anywhere_is_one_clear_error(finished, tmp_path):
    source = finished["out"] / "checkpoints" / checkpoint.NAME
    data = source.read_bytes()
    named = byte_positions(source, raw(source))
    bad = tmp_path / checkpoint.NAME
    # Every 61st byte (all of them take a minute: done once, all caught) and the named places.
    for where in sorted(set(range(0, len(data), 61)) | set(named.values())):
        damaged = bytearray(data)
        damaged[where] ^= 0x01
        bad.write_bytes(damaged)
        with pytest.raises(ValueError) as e:
            checkpoint.load(bad)
        assert str(bad) in str(e.value) and "corrupt or truncated" in str(e.value), (where, e.value)
        assert "\n" not in str(e.value)
    # Without the seal the flipped tensor byte would have gone unseen: torch reads the file happily.
    damaged = bytearray(data)
    damaged[named["model tensor data"]] ^= 0x01
    bad.write_bytes(damaged)
    flipped = raw(bad)["model"]["fc.weight"]
    assert not torch.equal(flipped, raw(source)["model"]["fc.weight"]) and torch.isfinite(flipped).all()


@pytest.mark.slow  # a subprocess
def test_a_flipped_tensor_byte_stops_a_real_resume_with_one_line(finished, tmp_path):
    out, ckpt = copy_run(finished, tmp_path)
    damaged = bytearray(ckpt.read_bytes())
    damaged[byte_positions(ckpt, raw(ckpt))["model tensor data"]] ^= 0x10
    ckpt.write_bytes(damaged)
    before = snapshot(out)
    proc = run_cli(["--out", out, "--resume", "--epochs", "3", "--no-progress"], tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, str(ckpt), "corrupt or truncated", "SHA-256")
    assert snapshot(out) == before


# ------------------------------------------------------------------------- crafted checkpoints
def drop(key):
    return lambda s: s.pop(key)


def put(key, value):
    return lambda s: s.__setitem__(key, value)


def reshape_model(s):
    s["model"]["fc.weight"] = torch.zeros(3, 5)


def set_in(*path_and_value):
    *path, value = path_and_value

    def craft(s):
        d = s
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value(d[path[-1]]) if callable(value) else value
    return craft


def second_rank(s):
    s["ranks"] = s["ranks"] * 2


def pop_model_tensor(s):
    s["model"].pop("fc.bias")


def step_past_an_epoch(s):
    """Consistent in itself (epoch 1 of 2, 500 steps into it), but this run's epochs have 90 steps."""
    s["history"].pop()
    s.update(epoch=1, step=500, global_step=s["history"][0]["steps"] + 500, best_valid=s["history"][0]["valid_loss"])


def pickle_refused(s):  # sealed, so only weights_only stands in the way
    import argparse
    s["ranks"][0]["evil"] = argparse.Namespace(x=1)


# name -> (how to craft it, words of the one-line error)
CRAFTED = {
    "no train_config": (drop("train_config"), ["malformed", "missing key 'train_config'"]),
    "an extra key": (put("note", "hello"), ["malformed", "unexpected key 'note'"]),
    "an extra train_config key": (set_in("train_config", "colour", "blue"), ["train_config", "colour"]),
    "an extra model config key": (set_in("train_config", "model", "colour", "blue"), ["train_config", "colour"]),
    "train_config a string": (put("train_config", "batch_size=4"), ["'train_config' must be a dict", "str"]),
    "train_config with a bad value": (set_in("train_config", "batch_size", "four"), ["train_config", "batch_size"]),
    "a tensor of the wrong shape": (reshape_model, ["does not fit", "'fc.weight' has shape (3, 5)"]),
    "a model tensor missing": (pop_model_tensor, ["does not fit", "fc.bias"]),
    "epoch -5": (put("epoch", -5), ["malformed", "'epoch' must be an integer >= 0, got -5"]),
    "epoch a float": (put("epoch", 2.0), ["malformed", "'epoch' must be an integer"]),
    "epoch past the history": (put("epoch", 1), ["malformed", "history has 2 epochs"]),
    "step past an epoch": (step_past_an_epoch, ["does not fit", "'step' 500 is past an epoch's 90"]),
    "global_step off by one": (set_in("global_step", lambda v: v + 1), ["malformed", "'global_step'"]),
    "history not a list": (put("history", {"epoch": 1}), ["malformed", "'history' must be a list"]),
    "history entry not a dict": (set_in("history", 0, "epoch 1"), ["malformed", "history entry 0"]),
    "history entry without a key": (lambda s: s["history"][1].pop("lr"), ["malformed", "history entry 1"]),
    "best_valid not the history's": (put("best_valid", 0.5), ["malformed", "'best_valid'"]),
    "elapsed negative": (put("elapsed", -1.0), ["malformed", "'elapsed'"]),
    "two ranks for one process": (second_rank, ["does not fit", "2 processes wrote it, now 1"]),
    "ranks empty": (put("ranks", []), ["malformed", "'ranks' is empty"]),
    "a rank without its rng": (lambda s: s["ranks"][0].pop("rng"), ["malformed", "rank 0's state"]),
    "an rng state of the wrong size": (set_in("ranks", 0, "rng", lambda t: t[:100]), ["rng state", "wrong size"]),
    "a hidden state of the wrong shape": (set_in("ranks", 0, "hidden", 0, lambda hc: (hc[0][:, :2], hc[1])),
                                          ["does not fit", "hidden state of layer 0"]),
    "loss_sum negative": (set_in("ranks", 0, "loss_sum", -3.0), ["malformed", "loss_sum"]),
    "optimizer moments of the wrong shape": (set_in("optimizer", "state", 0, "exp_avg", lambda t: t[:1]),
                                             ["does not fit", "optimizer state 0"]),
    "optimizer step not the run's": (set_in("optimizer", "state", 1, "step", lambda t: t + 3),
                                     ["does not fit", "optimizer state 1 is at step"]),
    "optimizer lr negative": (set_in("optimizer", "param_groups", 0, "lr", -1.0), ["does not fit", "lr must be >= 0"]),
    "optimizer betas changed": (set_in("optimizer", "param_groups", 0, "betas", (0.5, 0.5)), ["does not fit", "betas"]),
    "scheduler patience changed": (set_in("scheduler", "patience", 9), ["does not fit", "scheduler 'patience'"]),
    "scheduler count negative": (set_in("scheduler", "num_bad_epochs", -1), ["does not fit", "num_bad_epochs"]),
    "vocab not strings": (set_in("vocab", 3, 7), ["malformed", "'vocab' must be a list of strings"]),
    "a pickle weights_only refuses": (pickle_refused, ["corrupt or truncated", "UnpicklingError"]),
}
CRAFTED_BY_PROCESS = ["no train_config", "an extra key", "an extra train_config key", "a tensor of the wrong shape",
                      "train_config a string", "epoch -5"]


def craft(ckpt: Path, case: str) -> None:
    state = raw(ckpt)
    CRAFTED[case][0](state)
    checkpoint.save(ckpt, state)  # sealed again: only the checks can tell
    assert seal_matches(ckpt)


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_checkpoint_is_one_line_and_writes_nothing(finished, tmp_path, capsys, case):
    out, ckpt = copy_run(finished, tmp_path)
    craft(ckpt, case)
    before = snapshot(out)
    code, err = resume_in_process(out, capsys)
    assert code == 2
    assert_one_line_error(err, str(ckpt), *CRAFTED[case][1])
    assert snapshot(out) == before


@pytest.mark.slow  # a subprocess
@pytest.mark.parametrize("case", CRAFTED_BY_PROCESS)
def test_a_crafted_checkpoint_stops_a_real_process_with_one_line(finished, tmp_path, case):
    out, ckpt = copy_run(finished, tmp_path)
    craft(ckpt, case)
    before = snapshot(out)
    proc = run_cli(["--out", out, "--resume", "--epochs", "3", "--no-progress"], tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, str(ckpt), *CRAFTED[case][1])
    assert snapshot(out) == before


def test_an_older_unsealed_checkpoint_is_named_by_its_version(finished, tmp_path, capsys):
    out, ckpt = copy_run(finished, tmp_path)
    state = raw(ckpt)
    state["version"] = 2
    torch.save(state, ckpt)  # as train.py wrote checkpoints before the seal
    code, err = resume_in_process(out, capsys)
    assert code == 2
    assert_one_line_error(err, str(ckpt), "version 2, expected 3", "--overwrite")


@pytest.mark.slow  # a subprocess
def test_the_untouched_checkpoint_resumes(finished, tmp_path, capsys):
    """The checks pass a real checkpoint (re-sealed through save, too): the run goes on to epoch 3."""
    out, ckpt = copy_run(finished, tmp_path)
    checkpoint.save(ckpt, raw(ckpt))
    code, _ = resume_in_process(out, capsys)
    assert code == 0
    state = checkpoint.load(ckpt)
    assert (state["epoch"], len(state["history"])) == (3, 3)


# ----------------------------------------------------------------------------- temp files
def test_temp_names_are_recognised_exactly():
    assert is_temp_of(".last.pt.0a1b2c3d.tmp", "last.pt") and is_temp_of(".last.pt.ab_c9xyz.tmp", "last.pt")
    for name in ("last.pt", ".last.pt.tmp", ".last.pt.0a1b2c3.tmp", ".last.pt.0a1b2c3d9.tmp",
                 ".last.pt.0A1B2C3D.tmp", ".last.pt.0a1b-c3d.tmp", "x.last.pt.0a1b2c3d.tmp",
                 ".last.pt.0a1b2c3d.tmpx", ".vocab.json.0a1b2c3d.tmp"):
        assert not is_temp_of(name, "last.pt"), name


def test_atomic_write_names_its_temp_and_leaves_none(tmp_path):
    seen = []
    atomic_write(tmp_path / "x.json", lambda tmp: (seen.append(Path(tmp).name), Path(tmp).write_text("{}")))
    assert is_temp_of(seen[0], "x.json") and os.listdir(tmp_path) == ["x.json"]
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "y.json", lambda tmp: (_ for _ in ()).throw(RuntimeError("disk on fire")))
    assert os.listdir(tmp_path) == ["x.json"]


def test_remove_stale_temps_removes_only_our_temps(tmp_path):
    ours = [".last.pt.0a1b2c3d.tmp", ".last.pt.zz_99xyz.tmp"]
    keep = ["last.pt", ".last.pt.notes.tmp", "notes.tmp", ".other.pt.0a1b2c3d.tmp", ".last.pt.0a1b2c3d.tmp.bak"]
    for name in ours + keep:
        (tmp_path / name).write_bytes(b"PK\x03\x04 partial")
    (tmp_path / ".last.pt.dir00000.tmp").mkdir()  # the right name, but a folder: not ours
    (tmp_path / ".last.pt.link0000.tmp").symlink_to(tmp_path / "last.pt")  # a link: not ours either
    removed = remove_stale_temps(tmp_path, ["last.pt"])
    assert sorted(p.name for p in removed) == sorted(ours)
    assert sorted(os.listdir(tmp_path)) == sorted(keep + [".last.pt.dir00000.tmp", ".last.pt.link0000.tmp"])
    assert (tmp_path / "last.pt").read_bytes() == b"PK\x03\x04 partial"
    assert remove_stale_temps(tmp_path / "missing", ["last.pt"]) == []
