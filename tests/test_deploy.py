"""deploy.py against a local fake Hub (tests/hub_helpers.py: only huggingface_hub's HTTP transport is
replaced). Pins down: the Space gets exactly the files it runs, byte for byte, in one commit; its front
matter is valid YAML with the Spaces config keys (sdk, app_file, python_version; models and
preload_from_hub with --model); ZeroGPU adds `spaces` to the requirements and asks for ZeroGPU
hardware; --static uploads export.py's static Space; bad input is one line and sends nothing; and
the uploaded Gradio app starts from a fresh folder holding only those files and answers over HTTP.
"""

import json
import socket
import sys
from pathlib import Path

import gradio
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_app import start_server  # noqa: E402

import deploy  # noqa: E402
import export  # noqa: E402
from tests.hub_helpers import install_fake_hub  # noqa: E402
from tests.node_helpers import need  # noqa: E402

SPACE = "someone/playground"
# Every key the Spaces configuration reference (huggingface.co/docs/hub/spaces-config-reference) lists
# that these Spaces may use, and `license`, which every Hub repo card takes.
CONFIG_KEYS = {"title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version", "app_file",
               "short_description", "license", "models", "datasets", "preload_from_hub", "tags", "pinned"}
NEVER = ("tests/", "bench/", "web/", "docs/", "runs/", "node_modules/", "__pycache__", ".pyc", ".git/")


@pytest.fixture
def fake_hub(monkeypatch):
    hub, undo = install_fake_hub(monkeypatch)
    yield hub
    undo()


def deployed(hub, tmp_path, *argv) -> tuple[dict, dict[str, bytes]]:
    """Run deploy.py; returns the Space's front matter and the files of its one commit."""
    assert deploy.main([SPACE, *argv]) == 0
    assert hub.unexpected == []
    assert len(hub.commits) == 1 and hub.commit_repos == [("space", SPACE)]
    files = hub.rebuild(hub.commits[0], tmp_path / "space")
    meta, _ = deploy.front_matter(files["README.md"].decode())
    return meta, files


def one_line_error(err: str, *needles) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("deploy.py: error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# -------------------------------------------------------------------------------- the Gradio Space
def test_gradio_space_is_exactly_the_files_it_runs(fake_hub, tmp_path):
    meta, files = deployed(fake_hub, tmp_path)
    [created] = fake_hub.created
    assert created["type"] == "space" and created["sdk"] == "gradio" and created["name"] == "playground"
    lm_files = {f"lm/{p.name}" for p in (ROOT / "lm").glob("*.py")}
    top = {"app.py", "lessons.py", "space_gpu.py", "requirements.txt", "README.md", ".gitattributes"} | {
        p.name for p in ROOT.glob("page_*.py")}  # the page's modules beside app.py
    assert lm_files <= set(files) and {"page_input.py", "page_format.py"} <= top <= set(files)
    assert {n for n in files if n.startswith("assets/")} == {
        str(p.relative_to(ROOT)) for p in (ROOT / "assets").rglob("*") if p.is_file()}
    assert not [n for n in files if any(bad in n for bad in NEVER)]
    assert set(files) - lm_files - {n for n in files if n.startswith("assets/")} == top
    for name, data in files.items():  # as in the repository, but the two files deploy.py writes
        if name not in ("README.md", "requirements.txt"):
            assert data == (ROOT / name).read_bytes(), name
    # The 21.6 MB weights went through LFS, as a Space requires for files over 10 MB.
    lfs = {op["value"]["path"] for op in fake_hub.commits[0][1:] if op["key"] == "lfsFile"}
    assert "assets/oz-lstm/model.safetensors" in lfs


def test_front_matter_is_a_valid_spaces_config(fake_hub, tmp_path):
    meta, files = deployed(fake_hub, tmp_path)
    assert set(meta) <= CONFIG_KEYS, set(meta) - CONFIG_KEYS
    assert meta["sdk"] == "gradio" and meta["app_file"] in files
    assert meta["python_version"] == "3.10"  # a string: YAML would read 3.10 unquoted as the number 3.1
    assert meta["sdk_version"] == gradio.__version__  # the Space runs the Gradio the tests ran
    assert len(meta["short_description"]) <= 60 and meta["license"] == "mit"
    assert "models" not in meta and "preload_from_hub" not in meta  # the bundled model is in the Space itself
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert deploy.front_matter(readme)[0] == meta  # the repository's own front matter, as it is


def test_zero_gpu_is_the_default_and_needs_spaces(fake_hub, tmp_path):
    _, files = deployed(fake_hub, tmp_path)
    assert fake_hub.hardware == {SPACE: "zero-a10g"}
    repo_requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert files["requirements.txt"].decode().splitlines() == [*repo_requirements, "spaces"]
    assert fake_hub.variables == {}  # no --model: the app's default, the bundled model


def test_a_hub_model_on_cpu(fake_hub, tmp_path):
    fake_hub.models["someone/hp-lstm"] = {"files": ["config.json", "model.safetensors", "vocab.json", "README.md"],
                                          "datasets": ["KaungHtetCho/Harry_Potter_LSTM"]}
    meta, files = deployed(fake_hub, tmp_path, "--model", "someone/hp-lstm", "--hardware", "cpu", "--private")
    assert meta["models"] == ["someone/hp-lstm"] and meta["preload_from_hub"] == ["someone/hp-lstm"]
    assert meta["datasets"] == ["KaungHtetCho/Harry_Potter_LSTM"]  # from the model's card
    assert fake_hub.variables == {SPACE: {"LM_MODEL": "someone/hp-lstm"}}
    assert fake_hub.hardware == {SPACE: "cpu-basic"} and fake_hub.created[0]["visibility"] == "private"
    assert files["requirements.txt"] == (ROOT / "requirements.txt").read_bytes()  # no `spaces` off ZeroGPU


def test_dry_run_sends_nothing_and_shows_the_files(fake_hub, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")  # not needed for a dry run
    assert deploy.main([SPACE, "--model", "someone/hp-lstm", "--dry-run"]) == 0
    assert fake_hub.requests == []
    out = capsys.readouterr().out
    assert "  assets/oz-lstm/model.safetensors\n" in out and "  lm/batching.py\n" in out and "tests/" not in out
    meta = yaml.safe_load(out.split("---\n")[1])
    assert meta["models"] == ["someone/hp-lstm"] and meta["sdk"] == "gradio"
    assert out.rstrip().endswith("dry run: nothing uploaded")


# ------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("argv, needles", [
    (["not a repo id!"], ["USER/SPACE", "not a repo id!"]),
    (["no-owner"], ["USER/SPACE", "OWNER/NAME"]),
    ([SPACE, "--model", "a/b/c"], ["--model", "a/b/c"]),
    ([SPACE, "--hardware", "tpu"], ["--hardware", "tpu"]),
    ([SPACE, "--static", "--hardware", "zero-gpu"], ["--hardware", "static"]),
    ([SPACE, "--model", "someone/missing"], ["--model", "someone/missing", "cannot read it"]),
    ([SPACE, "--model", "someone/not-ours"], ["--model", "someone/not-ours", "vocab.json"]),
], ids=["bad-space", "no-owner", "bad-model", "bad-hardware", "static-hardware", "model-missing", "not-a-model"])
def test_bad_input_is_one_line_and_uploads_nothing(fake_hub, capsys, argv, needles):
    fake_hub.models["someone/not-ours"] = {"files": ["config.json", "model.safetensors"]}
    assert exit_code(argv) == 2
    one_line_error(capsys.readouterr().err, *needles)
    assert fake_hub.created == [] and fake_hub.commits == []


def exit_code(argv) -> int:
    try:
        return deploy.main(argv)
    except SystemExit as e:  # argparse's own refusals (a choice, a flag that does not go with another)
        return e.code


def test_a_missing_token_is_one_line(fake_hub, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")  # conftest gives every test an empty HF_HOME: no saved login either
    assert deploy.main([SPACE]) == 2
    one_line_error(capsys.readouterr().err, "token", "HF_TOKEN")
    assert fake_hub.requests == []


def test_a_refused_upload_is_one_line(fake_hub, capsys, monkeypatch):
    import httpx2

    real = type(fake_hub).__call__
    refused = httpx2.Response(401, json={"error": "Invalid token"})
    monkeypatch.setattr(type(fake_hub), "__call__", lambda self, r: refused if "/commit/" in r.url.path
                        else real(self, r))
    assert deploy.main([SPACE]) == 1
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if line.startswith("deploy.py:")]
    assert f"deploying to {SPACE} failed" in line and "401" in line and "Traceback" not in err


# ----------------------------------------------------------------------------------- the static Space
def test_static_space_is_the_export(fake_hub, tmp_path):
    need((export.ORT_DIST / export.ORT_FILES[-1]).is_file(), "node_modules/onnxruntime-web is missing (run `npm ci`)")
    meta, files = deployed(fake_hub, tmp_path, "--static")
    assert fake_hub.created[0]["sdk"] == "static" and fake_hub.hardware == {} and fake_hub.variables == {}
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html" and set(meta) <= CONFIG_KEYS
    manifest = json.loads(files["model/manifest.json"])
    web = {str(p.relative_to(ROOT / "web")) for p in (ROOT / "web").rglob("*") if p.is_file()
           and p.parts[len((ROOT / "web").parts)] not in ("model", "ort") and p.name != "space-readme.md"
           and not p.name.startswith(".")}
    expected = web | {f"ort/{n}" for n in export.ORT_FILES} | {f"model/{n}" for n in manifest["files"].values()}
    packed = {f"model/{n}" for n in manifest["packed"].values()} | {f"ort/{export.WASM}.gz"}  # what the page fetches
    assert set(files) == expected | packed | {"model/manifest.json", "README.md"}
    assert files["index.html"] == (ROOT / "web" / "index.html").read_bytes()
    assert {"model/model.onnx.gz", "ort/ort-wasm-simd-threaded.wasm.gz", "model/model.onnx"} <= set(files)


# ------------------------------------------------------------------------- the uploaded app starts
def test_the_uploaded_app_starts_from_a_folder_of_only_its_files(fake_hub, tmp_path):
    """The Space's files alone, in a fresh folder, serve the page: a file deploy.py forgot fails here.
    `lm` is installed in editable mode on this machine, so a guard `lm` on PYTHONPATH (which comes after
    the app's own folder) makes a Space without lm/ fail as it would on the Hub."""
    _, files = deployed(fake_hub, tmp_path)
    space = tmp_path / "space"
    assert {str(p.relative_to(space)) for p in space.rglob("*") if p.is_file()} == set(files)
    guard = tmp_path / "guard" / "lm"
    guard.mkdir(parents=True)
    (guard / "__init__.py").write_text("raise ImportError('lm/ is not in the Space folder')\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tmp_path / "guard"), "SPACES_ZERO_GPU": ""}
    proc, url, _ = start_server("assets/oz-lstm", port, timeout=180, app=space / "app.py", env=env)
    try:
        from gradio_client import Client

        info = Client(url, verbose=False).predict(api_name="/model_info")
        assert info["name"] == "oz-lstm" and info["vocab_size"] == 7081
        text, _, seed = Client(url, verbose=False).predict("The lion was afraid, but", 0.8, 0, 1.0, 8, "3", False,
                                                           api_name="/generate")
        assert text.startswith("The lion was afraid, but ") and seed == "3"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
